/**
 * `icrl tasks`: task libraries. `propose` asks an LLM for new tasks of a family (goal-directed toward
 * a target, or exploratory), validates them against the task space, keeps those the environment's
 * oracle can solve, and adds them with provenance to a library file; `show` lists a library.
 */
import { intFlag } from '../options.js';
import type { Command } from 'commander';
import { z } from 'zod';
import { ConfigError, IcrlError } from '../../core/errors.js';
import { loadConfig, validateConfig } from '../../core/config.js';
import { LlmClient, llmConfigSchema } from '../../core/llm/client.js';
import { getFamily, familyNames } from '../../envs/index.js';
import { loadLibrary, saveLibrary, proposeTasks, type ProposalMode, type SolvabilityCheck, type Task, type TaskSpace } from '../../tasks/index.js';

/** Config of `icrl tasks propose --config` (every field can also be given as a flag). */
export const proposeConfigSchema = z
  .object({
    family: z.string().min(1),
    options: z.record(z.string(), z.unknown()).default({}),
    library: z.string().min(1),
    mode: z.enum(['explore', 'goal']).default('explore'),
    /** Target task parameters (goal mode). */
    target: z.record(z.string(), z.unknown()).optional(),
    count: z.number().int().min(1).max(10_000).default(5),
    perRequest: z.number().int().min(1).max(100).optional(),
    maxRequests: z.number().int().min(1).optional(),
    /** A task is solvable when the oracle's expected return exceeds this. */
    minOracleValue: z.number().default(0),
    temperature: z.number().min(0).max(2).default(0.7),
    llm: llmConfigSchema.default({} as never),
  })
  .strict();

export type ProposeConfig = z.output<typeof proposeConfigSchema>;

/** The solvability check by the family's oracle: expected optimal return > minValue. */
export function oracleSolvable(family: string, options: Record<string, unknown>, minValue: number): (t: Task) => SolvabilityCheck {
  const env = getFamily(family).make(1, options);
  return (t: Task) => {
    env.setTasks([t]);
    env.reset(0);
    const v = env.oracleValue(0);
    return { ok: v > minValue, value: v, reason: `oracle value ${v} is not above ${minValue}` };
  };
}

/** Parses a JSON-object flag value; an error names the flag. */
export function parseJsonFlag(text: string, flag: string): Record<string, unknown> {
  try {
    const v = JSON.parse(text) as unknown;
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('expected a JSON object');
    return v as Record<string, unknown>;
  } catch (e) {
    throw new ConfigError(`${flag}: ${(e as Error).message}`, undefined, flag);
  }
}

interface ProposeFlags {
  config?: string;
  family?: string;
  options?: string;
  library?: string;
  mode?: 'explore' | 'goal';
  target?: string;
  count?: number;
  maxRequests?: number;
  baseUrl?: string;
  model?: string;
  cacheDir?: string;
}

export async function runPropose(flags: ProposeFlags, log: (l: string) => void = (l) => process.stderr.write(`${l}\n`)): Promise<{ added: number; total: number; file: string }> {
  const raw = (flags.config ? (loadConfig(proposeConfigSchema, flags.config) as Record<string, unknown>) : {}) as Record<string, unknown>;
  const llm = { ...((raw.llm as Record<string, unknown>) ?? {}) };
  if (flags.baseUrl) llm.baseUrl = flags.baseUrl;
  if (flags.model) llm.model = flags.model;
  if (flags.cacheDir) llm.cacheDir = flags.cacheDir;
  const merged = {
    ...raw,
    ...(flags.family ? { family: flags.family } : {}),
    ...(flags.options ? { options: parseJsonFlag(flags.options, '--options') } : {}),
    ...(flags.library ? { library: flags.library } : {}),
    ...(flags.mode ? { mode: flags.mode } : {}),
    ...(flags.target ? { target: parseJsonFlag(flags.target, '--target') } : {}),
    ...(flags.count !== undefined ? { count: flags.count } : {}),
    ...(flags.maxRequests !== undefined ? { maxRequests: flags.maxRequests } : {}),
    llm,
  };
  const source = flags.config ?? 'icrl tasks propose';
  const cfg = validateConfig(proposeConfigSchema, merged, source);
  if (!familyNames().includes(cfg.family)) getFamily(cfg.family); // throws, listing the known families
  const space: TaskSpace = getFamily(cfg.family).taskSpace(cfg.options);
  let mode: ProposalMode = { kind: 'explore' };
  if (cfg.mode === 'goal') {
    if (!cfg.target) throw new ConfigError(`${source}.target: goal mode needs a target task (--target '{"...": ...}')`, source, 'target');
    mode = { kind: 'goal', target: space.check({ family: cfg.family, params: cfg.target as Task['params'] }) };
  }
  const client = LlmClient.fromConfig(cfg.llm, process.env, `${source}: llm`);
  const library = loadLibrary(cfg.library, space);
  const before = library.entries.length;
  log(`tasks propose: ${cfg.mode} mode, ${cfg.count} ${cfg.family} tasks from ${client.model} at ${client.url}; library ${cfg.library} holds ${before}`);
  const out = await proposeTasks({
    client,
    space,
    library,
    mode,
    count: cfg.count,
    solvable: oracleSolvable(cfg.family, cfg.options, cfg.minOracleValue),
    perRequest: cfg.perRequest,
    maxRequests: cfg.maxRequests,
    temperature: cfg.temperature,
  });
  if (out.added.length > 0) saveLibrary(cfg.library, library);
  const rejected = Object.entries(out.counts)
    .map(([r, n]) => `${r}: ${n}`)
    .join(', ');
  log(`tasks propose: ${out.requests} requests, ${out.added.length} added, rejected ${rejected || 'none'}; library now holds ${library.entries.length}`);
  for (const r of out.rejected.slice(0, 10)) log(`  rejected (${r.reason}): ${r.detail}`);
  const s = client.stats();
  log(`tasks propose: ${s.promptTokens} prompt + ${s.completionTokens} completion tokens, $${s.costUsd.toFixed(4)}, ${s.cacheHits} cache hits`);
  if (out.added.length === 0 && cfg.count > 0) throw new IcrlError(`tasks propose: no valid new task after ${out.requests} requests (${rejected || 'no answers'}); the library is unchanged`);
  return { added: out.added.length, total: library.entries.length, file: cfg.library };
}

export function register(program: Command): void {
  const tasks = program.command('tasks').description('Task libraries: propose new tasks with an LLM (validated, oracle-checked, deduplicated) and list libraries');

  tasks
    .command('propose')
    .description('Ask an LLM for new task parameters and add the valid, solvable, new ones to a task-library file')
    .option('-c, --config <file>', 'YAML/JSON config (family, options, library, mode, target, count, llm: {...}); flags override it')
    .option('-f, --family <name>', `environment family (${familyNames().join(', ')})`)
    .option('--options <json>', 'family options as JSON, e.g. \'{"arms": 5}\'')
    .option('-l, --library <file>', 'task-library JSON file (created if missing)')
    .option('-m, --mode <mode>', 'explore (tasks unlike the library\'s) or goal (stepping stones toward --target)')
    .option('-t, --target <json>', 'target task parameters as JSON (goal mode)')
    .option('-n, --count <n>', 'number of new tasks wanted', intFlag('--count', 1))
    .option('--max-requests <n>', 'most LLM requests', intFlag('--max-requests', 1))
    .option('--base-url <url>', 'OpenAI-compatible endpoint (default ICRL_LLM_BASE_URL)')
    .option('--model <name>', 'model (default ICRL_LLM_MODEL)')
    .option('--cache-dir <dir>', 'response cache folder (reruns replay the same answers)')
    .addHelpText(
      'after',
      `
Each proposal is checked against the family's task space (a zod schema built from it), must be
solvable (the environment's oracle value above minOracleValue, default 0), and must not already be in
the library; accepted tasks are stored with provenance (model, prompt hash, mode, target, time, oracle
value). The file is written atomically. Teachers draw from it with drawFromLibrary (src/tasks).

Examples:
  icrl tasks propose -f darkroom -l runs/tasks/darkroom.json -m explore -n 5
  icrl tasks propose -f bandit -l runs/tasks/bandit.json -m goal -t '{"means":[0.5,0.52,0.49,0.51,0.5]}'
  icrl llm serve-fake --port 0 --run "icrl tasks propose -f darkroom -l runs/tasks/dr.json -n 5"   # scripted, no LLM`,
    )
    .action(async (o: ProposeFlags) => {
      const r = await runPropose(o);
      process.stdout.write(`${r.file}: ${r.added} added, ${r.total} tasks\n`);
    });

  tasks
    .command('show')
    .description('List the tasks of a task-library file with their provenance')
    .argument('<library>', 'task-library JSON file')
    .option('-f, --family <name>', 'environment family (default: the one in the file)')
    .option('--options <json>', 'family options as JSON (for validation), e.g. \'{"size": 20}\'')
    .action((file: string, o: { family?: string; options?: string }) => {
      let family = o.family;
      if (!family) {
        // read the family from the file itself; loadLibrary validates everything after that
        const peek = loadLibraryFamily(file);
        family = peek;
      }
      const space = getFamily(family).taskSpace(o.options ? parseJsonFlag(o.options, '--options') : {});
      const lib = loadLibrary(file, space);
      process.stdout.write(`${file}: ${lib.entries.length} ${lib.family} tasks\n`);
      for (const e of lib.entries) {
        const p = e.provenance;
        const who = p.source === 'llm' ? `llm ${p.model ?? '?'} (${p.mode ?? '?'}${p.oracleValue !== undefined ? `, oracle ${p.oracleValue.toFixed(3)}` : ''})` : p.source;
        process.stdout.write(`${JSON.stringify(e.params)}  ${who}  ${p.time}\n`);
      }
    });
}

function loadLibraryFamily(file: string): string {
  // minimal read of the family name: the full validation happens in loadLibrary
  const schema = z.object({ family: z.string() }).loose();
  return (loadConfig(schema, file) as { family: string }).family;
}
