/**
 * `icrl tasks`: task libraries. `propose` asks an LLM for new tasks of a family (bottom-up from the
 * library, toward a target task, or top-down from a description), checks each in stages (parses,
 * loads, runs, solvable, novel) and adds those that pass, with provenance and stage results, to a
 * library file; `show` lists a library; `export` writes its tasks as a tasks file.
 */
import { intFlag, numberFlag } from '../options.js';
import { LIBRARY_TEACHERS, runLibraryCurriculum, type LibraryTeacher } from '../../experiments/libraryCurriculum.js';
import type { Command } from 'commander';
import { z } from 'zod';
import { ConfigError, IcrlError } from '../../core/errors.js';
import { loadConfig, validateConfig } from '../../core/config.js';
import { LlmClient, llmConfigSchema } from '../../core/llm/client.js';
import { writeFileAtomic, writeJsonAtomic } from '../../core/atomic.js';
import { getFamily, familyNames, prepareFamily, proposalChecks, oracleSolvable as oracleValueCheck } from '../../envs/index.js';
import {
  PROPOSAL_STAGES,
  addToLibrary,
  loadLibrary,
  proposeTasks,
  saveLibrary,
  serializeTasks,
  splitTasks,
  stagePassRates,
  type ProposalMode,
  type ProposalOutcome,
  type RoundStats,
  type SolvabilityCheck,
  type Task,
  type TaskLibrary,
  type TaskSpace,
} from '../../tasks/index.js';

/** Config of `icrl tasks propose --config` (every field can also be given as a flag). */
export const proposeConfigSchema = z
  .object({
    family: z.string().min(1),
    options: z.record(z.string(), z.unknown()).default({}),
    library: z.string().min(1),
    /** explore = bottom-up (from the library); goal: toward `target`; top-down: toward `description`. */
    mode: z.enum(['explore', 'bottom-up', 'goal', 'top-down']).default('explore'),
    /** Target task parameters (goal mode). */
    target: z.record(z.string(), z.unknown()).optional(),
    /** Target description in words (top-down mode). */
    description: z.string().min(1).optional(),
    count: z.number().int().min(1).max(10_000).default(5),
    perRequest: z.number().int().min(1).max(100).optional(),
    maxRequests: z.number().int().min(1).optional(),
    /** A task is solvable when the oracle's expected return exceeds this. */
    minOracleValue: z.number().default(0),
    /** Random steps of the runs stage. */
    runSteps: z.number().int().min(1).max(100_000).default(64),
    /** Seed of the runs stage. */
    seed: z.number().int().min(0).default(0),
    /** An empty library first receives the training tasks of this split of the family's task space (source generator). */
    initSplit: z.object({ seed: z.number().int().min(0), heldOut: z.number().positive(), train: z.number().int().min(1) }).strict().optional(),
    /** JSON file for the statistics of the run (proposals, stage pass rates, library growth per round). */
    stats: z.string().min(1).optional(),
    temperature: z.number().min(0).max(2).default(0.7),
    llm: llmConfigSchema.default({} as never),
  })
  .strict();

export type ProposeConfig = z.output<typeof proposeConfigSchema>;

/** The solvability check by the family's oracle: expected optimal return > minValue. */
export function oracleSolvable(family: string, options: Record<string, unknown>, minValue: number): (t: Task) => SolvabilityCheck {
  return oracleValueCheck(getFamily(family), options, minValue);
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
  mode?: string;
  target?: string;
  describe?: string;
  count?: number;
  perRequest?: number;
  maxRequests?: number;
  runSteps?: number;
  initSplit?: string;
  stats?: string;
  baseUrl?: string;
  model?: string;
  cacheDir?: string;
}

/** What `icrl tasks propose` measured: the figures of the GenSim-style statistics. */
export interface ProposeStats {
  family: string;
  mode: string;
  model: string;
  requests: number;
  proposals: number;
  accepted: number;
  libraryBefore: number;
  libraryAfter: number;
  stages: ProposalOutcome['stages'];
  passRates: ReturnType<typeof stagePassRates>;
  /** Accepted / proposals. */
  acceptRate: number | null;
  counts: ProposalOutcome['counts'];
  rounds: RoundStats[];
  /** Every rejection: round, reason, detail. */
  rejected: { round: number; reason: string; detail: string }[];
  tokens: { prompt: number; completion: number; cacheHits: number };
}

/** Adds the training tasks of a split to an empty library, each with the solvable stage's statistics. */
function seedLibrary(library: TaskLibrary, space: TaskSpace, split: { seed: number; heldOut: number; train: number }, solvable: (t: Task) => SolvabilityCheck): number {
  const { train } = splitTasks(space, split);
  const time = new Date().toISOString();
  const { added } = addToLibrary(library, train, (t) => {
    const c = solvable(t);
    return { source: 'generator', time, ...(c.value !== undefined ? { oracleValue: c.value } : {}), stages: { solvable: { ok: c.ok, ...(c.value !== undefined ? { oracleValue: c.value } : {}), ...(c.stats ?? {}) } } };
  });
  return added.length;
}

export async function runPropose(flags: ProposeFlags, log: (l: string) => void = (l) => process.stderr.write(`${l}\n`)): Promise<{ added: number; total: number; file: string; stats: ProposeStats }> {
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
    ...(flags.describe ? { description: flags.describe } : {}),
    ...(flags.count !== undefined ? { count: flags.count } : {}),
    ...(flags.perRequest !== undefined ? { perRequest: flags.perRequest } : {}),
    ...(flags.maxRequests !== undefined ? { maxRequests: flags.maxRequests } : {}),
    ...(flags.runSteps !== undefined ? { runSteps: flags.runSteps } : {}),
    ...(flags.initSplit ? { initSplit: parseJsonFlag(flags.initSplit, '--init-split') } : {}),
    ...(flags.stats ? { stats: flags.stats } : {}),
    llm,
  };
  const source = flags.config ?? 'icrl tasks propose';
  const cfg = validateConfig(proposeConfigSchema, merged, source);
  if (!familyNames().includes(cfg.family)) getFamily(cfg.family); // throws, listing the known families
  await prepareFamily(cfg.family);
  const space: TaskSpace = getFamily(cfg.family).taskSpace(cfg.options);
  let mode: ProposalMode = { kind: 'explore' };
  if (cfg.mode === 'goal') {
    if (!cfg.target) throw new ConfigError(`${source}.target: goal mode needs a target task (--target '{"...": ...}')`, source, 'target');
    mode = { kind: 'goal', target: space.check({ family: cfg.family, params: cfg.target as Task['params'] }) };
  } else if (cfg.mode === 'top-down') {
    if (!cfg.description) throw new ConfigError(`${source}.description: top-down mode needs a target description (--describe "...")`, source, 'description');
    mode = { kind: 'top-down', description: cfg.description };
  }
  const client = LlmClient.fromConfig(cfg.llm, process.env, `${source}: llm`);
  const { checks, solvable } = proposalChecks(getFamily(cfg.family), cfg.options, { runSteps: cfg.runSteps, seed: cfg.seed, minOracleValue: cfg.minOracleValue });
  const library = loadLibrary(cfg.library, space);
  if (cfg.initSplit && library.entries.length === 0) {
    const n = seedLibrary(library, space, cfg.initSplit, solvable);
    saveLibrary(cfg.library, library);
    log(`tasks propose: library ${cfg.library} seeded with the ${n} training tasks of the split ${JSON.stringify(cfg.initSplit)}`);
  }
  const before = library.entries.length;
  log(`tasks propose: ${cfg.mode} mode, ${cfg.count} ${cfg.family} tasks from ${client.model} at ${client.url}; library ${cfg.library} holds ${before}`);
  const out = await proposeTasks({
    client,
    space,
    library,
    mode,
    count: cfg.count,
    solvable,
    checks,
    perRequest: cfg.perRequest,
    maxRequests: cfg.maxRequests,
    temperature: cfg.temperature,
    // saved after every accepted task: a killed run keeps every task accepted before the kill
    onAccept: (e, lib) => {
      saveLibrary(cfg.library, lib);
      log(`  accepted (round ${e.provenance.round}): library task ${lib.entries.length - 1}`);
    },
    onRound: (r) =>
      log(
        `tasks propose: round ${r.round}: ${r.proposals} proposals, ${r.accepted} accepted${r.llmError ? ' (request failed)' : ''}, failed ${
          Object.entries(r.failed)
            .map(([k, v]) => `${k} ${v}`)
            .join(', ') || 'none'
        }; library ${r.library}`,
      ),
  });
  const rejected = Object.entries(out.counts)
    .map(([r, n]) => `${r}: ${n}`)
    .join(', ');
  const rates = stagePassRates(out.stages);
  log(`tasks propose: ${out.requests} requests, ${out.proposals} proposals, ${out.added.length} added, rejected ${rejected || 'none'}; library now holds ${library.entries.length}`);
  log(`tasks propose: stages passed / reached: ${PROPOSAL_STAGES.map((s) => `${s} ${out.stages[s].passed}/${out.stages[s].entered}${rates[s] === null ? '' : ` (${(100 * rates[s]!).toFixed(1)}%)`}`).join(', ')}; accepted ${out.added.length} of ${out.proposals} proposals`);
  for (const r of out.rejected.slice(0, 10)) log(`  rejected (${r.reason}): ${r.detail}`);
  const s = client.stats();
  log(`tasks propose: ${s.promptTokens} prompt + ${s.completionTokens} completion tokens, $${s.costUsd.toFixed(4)}, ${s.cacheHits} cache hits`);
  const stats: ProposeStats = {
    family: cfg.family,
    mode: cfg.mode,
    model: client.model,
    requests: out.requests,
    proposals: out.proposals,
    accepted: out.added.length,
    libraryBefore: before,
    libraryAfter: library.entries.length,
    stages: out.stages,
    passRates: rates,
    acceptRate: out.proposals ? out.added.length / out.proposals : null,
    counts: out.counts,
    rounds: out.rounds,
    rejected: out.rejected.map((r) => ({ round: r.round, reason: r.reason, detail: r.detail })),
    tokens: { prompt: s.promptTokens, completion: s.completionTokens, cacheHits: s.cacheHits },
  };
  if (cfg.stats) writeJsonAtomic(cfg.stats, stats);
  if (out.added.length === 0 && cfg.count > 0) throw new IcrlError(`tasks propose: no valid new task after ${out.requests} requests (${rejected || 'no answers'}); the library is unchanged`);
  return { added: out.added.length, total: library.entries.length, file: cfg.library, stats };
}

export function register(program: Command): void {
  const tasks = program.command('tasks').description('Task libraries: propose new tasks with an LLM (validated, oracle-checked, deduplicated) and list libraries');

  tasks
    .command('propose')
    .description('Ask an LLM for new tasks; check each in stages (parses, loads, runs, solvable, novel) and add the ones that pass to a task-library file')
    .option('-c, --config <file>', 'YAML/JSON config (family, options, library, mode, target, description, count, llm: {...}); flags override it')
    .option('-f, --family <name>', `environment family (${familyNames().join(', ')})`)
    .option('--options <json>', 'family options as JSON, e.g. \'{"arms": 5}\'')
    .option('-l, --library <file>', 'task-library JSON file (created if missing)')
    .option('-m, --mode <mode>', 'bottom-up (= explore: new tasks from and unlike the library\'s), goal (stepping stones toward --target) or top-down (tasks matching --describe)')
    .option('-t, --target <json>', 'target task parameters as JSON (goal mode)')
    .option('-d, --describe <text>', 'target description in words (top-down mode)')
    .option('-n, --count <n>', 'number of new tasks wanted', intFlag('--count', 1))
    .option('--per-request <n>', 'tasks asked for per request (one request is one round)', intFlag('--per-request', 1, 100))
    .option('--max-requests <n>', 'most LLM requests (rounds)', intFlag('--max-requests', 1))
    .option('--run-steps <n>', 'random steps of the runs stage (default 64)', intFlag('--run-steps', 1, 100_000))
    .option('--init-split <json>', 'seed an empty library with the training tasks of a split, e.g. \'{"seed":0,"heldOut":100,"train":1000}\'')
    .option('--stats <file>', 'write the statistics (proposals, stage pass rates, library growth per round) as JSON')
    .option('--json', 'print the statistics as one JSON document on stdout')
    .option('--base-url <url>', 'OpenAI-compatible endpoint (default ICRL_LLM_BASE_URL)')
    .option('--model <name>', 'model (default ICRL_LLM_MODEL)')
    .option('--cache-dir <dir>', 'response cache folder (reruns replay the same answers)')
    .addHelpText(
      'after',
      `
Each proposal is checked in stages and stops at the first it fails (GenSim's counts): parses (its
JSON; one broken object costs one proposal), loads (the family's schema: for xland the ruleset
schema, unknown rule kinds, tiles and colours named), runs (an environment is made with it and
stepped --run-steps random steps; xland checks positions and that every rule can fire here),
solvable (xland: the exact solver within the horizon; other families: the oracle value above
minOracleValue, default 0), novel (not equal to a library task, nor isomorphic: for xland, equal up
to a renaming of colours and the order of rules and tiles). Accepted tasks are stored with their
provenance (model, prompt hash, mode, target or description, time, round) and what each stage
measured; the library file is rewritten atomically after every accepted task. The prompt shows the
library's most recent tasks with their solver statistics and the latest failed checks.

Examples:
  icrl tasks propose -f darkroom -l runs/tasks/darkroom.json -m explore -n 5
  icrl tasks propose -f xland --options '{"preset":"trivial","size":7,"horizon":30}' -l runs/tasks/xland.json -n 20
  icrl tasks propose -f xland -l runs/tasks/xland.json -m top-down -d "hold a key made from two balls" -n 5
  icrl tasks propose -f bandit -l runs/tasks/bandit.json -m goal -t '{"means":[0.5,0.52,0.49,0.51,0.5]}'
  icrl llm serve-fake --port 0 --run "icrl tasks propose -f xland -l runs/tasks/x.json -n 20"   # scripted, no LLM`,
    )
    .action(async (o: ProposeFlags & { json?: boolean }) => {
      const r = await runPropose(o);
      if (o.json) process.stdout.write(`${JSON.stringify(r.stats)}\n`);
      else process.stdout.write(`${r.file}: ${r.added} added, ${r.total} tasks\n`);
    });

  tasks
    .command('curriculum')
    .description('A curriculum over a growing library: a learning-progress teacher (or uniform choice, the baseline) picks library tasks for a tabular student; after each round the LLM is asked for tasks around those with the highest progress, and the student is scored on the held-out tasks of the --init-split split')
    .requiredOption('-f, --family <name>', `environment family with discrete actions (${familyNames().join(', ')})`)
    .option('--options <json>', 'family options as JSON')
    .requiredOption('-l, --library <file>', 'task-library JSON file (grows; rewritten atomically after every accepted task)')
    .option('--init-split <json>', 'seed an empty library with the training tasks of a split, e.g. \'{"seed":0,"heldOut":100,"train":20}\'')
    .option('--rounds <n>', 'rounds (train, then propose)', intFlag('--rounds', 1), 5)
    .option('--episodes <n>', 'training episodes per round', intFlag('--episodes', 1), 300)
    .option('--propose <n>', 'new tasks asked for after each round (0: the library only)', intFlag('--propose', 0, 100), 8)
    .option('--focus <n>', 'library tasks of highest learning progress shown to the LLM', intFlag('--focus', 1, 30), 3)
    .option('--window <n>', 'returns per half of the learning-progress window', intFlag('--window', 1), 5)
    .option('--explore <p>', 'share of uniformly random task choices', numberFlag('--explore', 0, 1), 0.2)
    .option('--epsilon <p>', 'the student\'s exploration rate', numberFlag('--epsilon', 0, 1), 0.1)
    .option('--teacher <name>', `how each episode's library task is chosen: ${LIBRARY_TEACHERS.join(' or ')} (the baseline)`, 'learning-progress')
    .option('--eval-episodes <n>', 'greedy episodes per held-out task of the --init-split split after every round (0: no held-out score)', intFlag('--eval-episodes', 0), 1)
    .option('--seed <n>', 'seed of the student, the teacher and the runs stage', intFlag('--seed', 0), 0)
    .option('--stats <file>', 'write the rounds as JSON')
    .option('--base-url <url>', 'OpenAI-compatible endpoint (default ICRL_LLM_BASE_URL)')
    .option('--model <name>', 'model (default ICRL_LLM_MODEL)')
    .option('--cache-dir <dir>', 'response cache folder')
    .addHelpText('after', '\nExample (no model needed):\n  icrl llm serve-fake --port 0 --run "icrl tasks curriculum -f xland --options \'{\\"preset\\":\\"trivial\\",\\"size\\":7,\\"horizon\\":30}\' -l runs/tasks/cur.json --init-split \'{\\"seed\\":0,\\"heldOut\\":10,\\"train\\":20}\'"')
    .action(async (o: { family: string; options?: string; library: string; initSplit?: string; rounds: number; episodes: number; propose: number; focus: number; window: number; explore: number; epsilon: number; teacher: string; evalEpisodes: number; seed: number; stats?: string; baseUrl?: string; model?: string; cacheDir?: string }) => {
      if (!(LIBRARY_TEACHERS as readonly string[]).includes(o.teacher)) throw new IcrlError(`icrl tasks curriculum: --teacher must be one of ${LIBRARY_TEACHERS.join(', ')}, got "${o.teacher}"`);
      const log = (l: string): void => void process.stderr.write(`${l}\n`);
      const family = getFamily(o.family);
      await prepareFamily(o.family);
      const options = o.options ? parseJsonFlag(o.options, '--options') : {};
      const space = family.taskSpace(options);
      const { checks, solvable } = proposalChecks(family, options, { seed: o.seed });
      const library = loadLibrary(o.library, space);
      const split = o.initSplit ? (parseJsonFlag(o.initSplit, '--init-split') as { seed: number; heldOut: number; train: number }) : null;
      if (split && library.entries.length === 0) {
        log(`tasks curriculum: library seeded with ${seedLibrary(library, space, split, solvable)} training tasks of the split ${o.initSplit}`);
        saveLibrary(o.library, library);
      }
      // the held-out tasks of the split: never trained on, played greedily after every round
      const heldOut = split && o.evalEpisodes > 0 ? splitTasks(space, split).heldOut : [];
      const llm: Record<string, unknown> = { maxTokens: 4096 };
      if (o.baseUrl) llm.baseUrl = o.baseUrl;
      if (o.model) llm.model = o.model;
      if (o.cacheDir) llm.cacheDir = o.cacheDir;
      const client = LlmClient.fromConfig(validateConfig(llmConfigSchema, llm, 'icrl tasks curriculum'), process.env, 'icrl tasks curriculum: llm');
      const out = await runLibraryCurriculum({
        family,
        options,
        space,
        library,
        client,
        checks,
        solvable,
        rounds: o.rounds,
        episodes: o.episodes,
        propose: o.propose,
        focus: o.focus,
        window: o.window,
        explore: o.explore,
        epsilon: o.epsilon,
        alpha: 0.2,
        gamma: 0.95,
        seed: o.seed,
        teacher: o.teacher as LibraryTeacher,
        heldOut,
        evalEpisodes: Math.max(1, o.evalEpisodes),
        temperature: 0.7,
        onAccept: (_e, lib) => saveLibrary(o.library, lib),
        log,
      });
      if (o.stats) writeJsonAtomic(o.stats, { family: o.family, options, library: o.library, teacher: o.teacher, seed: o.seed, heldOut: heldOut.length, evalEpisodes: heldOut.length ? o.evalEpisodes : 0, rounds: out.rounds });
      process.stdout.write(`${o.library}: ${library.entries.length} tasks after ${out.rounds.length} rounds\n`);
    });

  tasks
    .command('export')
    .description('Write the tasks of a library (optionally only one source) as a tasks file that eval configs read (tasks.file)')
    .argument('<library>', 'task-library JSON file')
    .requiredOption('-o, --out <file>', 'tasks file to write')
    .option('--source <name>', 'only entries of this provenance source: llm, generator or manual')
    .option('--mode <mode>', 'only entries proposed in this mode: explore (bottom-up), goal or top-down')
    .option('--options <json>', 'family options as JSON (for validation)')
    .action((file: string, o: { out: string; source?: string; mode?: string; options?: string }) => {
      const space = getFamily(loadLibraryFamily(file)).taskSpace(o.options ? parseJsonFlag(o.options, '--options') : {});
      const lib = loadLibrary(file, space);
      const mode = o.mode === 'bottom-up' ? 'explore' : o.mode;
      const entries = lib.entries.filter((e) => (!o.source || e.provenance.source === o.source) && (!mode || e.provenance.mode === mode));
      if (entries.length === 0) throw new IcrlError(`${file}: no task${o.source ? ` of source ${o.source}` : ''}${mode ? ` proposed in mode ${mode}` : ''} to export`);
      writeFileAtomic(o.out, serializeTasks(space, entries.map((e) => ({ family: lib.family, params: e.params }))));
      process.stdout.write(`${o.out}: ${entries.length} ${lib.family} tasks\n`);
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
