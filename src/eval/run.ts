/**
 * Runs an evaluation config: held-out tasks, every agent online (and offline), the references, and
 * results.json in the output folder (rewritten after every agent). The report is drawn from these
 * results by the caller (`evaluateAndReport` of src/experiments).
 */
import { readFileSync, existsSync } from 'node:fs';
import { join, resolve, isAbsolute, relative } from 'node:path';
import { getFamily, prepareFamily } from '../envs/index.js';
import { Rng } from '../core/rng.js';
import { ConfigError, IcrlError } from '../core/errors.js';
import { splitTasks, deserializeTasks, type Task } from '../tasks/taskSpace.js';
import type { BatchedEnv } from '../envs/types.js';
import { validateConfig } from '../core/config.js';
import { provenance } from '../core/provenance.js';
import { lockFolder } from '../core/lock.js';
import { evalConfigSchema, type EvalConfig, type EvalConfigInput } from './config.js';
import { agentLabel, makeEvalAgent, type AgentSpec } from './agents.js';
import { evaluateOnline } from './evaluator.js';
import { summarizeEpisodes, summarizeSteps } from './metrics.js';
import { evaluateOffline, makeOfflineDataset } from './offline.js';
import { bandOverTasks } from './stats.js';
import { writeResults, type AgentResult, type EvalResults, type OfflineAgentResult } from './results.js';

export interface RunEvalOptions {
  /** Where the config came from (file name), for error messages. */
  source?: string;
  /** Folder that relative paths of the config (tasks file, checkpoints) resolve against. */
  baseDir?: string;
  /** Progress bars on stderr (default true). */
  progress?: boolean;
  /** Notes to put at the top of the results and report. */
  notes?: string[];
  /** Write results.json to config.out (default true). */
  write?: boolean;
  /** Messages about what is being done (default: stderr lines). */
  log?: (line: string) => void;
}

export interface EvalRunOutput {
  results: EvalResults;
  resultsPath?: string;
  /** The output folder (config.out resolved). */
  outDir: string;
  /** The config as it ran (validated, defaults filled in). */
  config: EvalConfig;
}

function resolveFrom(base: string, p: string): string {
  return isAbsolute(p) ? p : resolve(base, p);
}

/** The held-out tasks of a config. */
export function heldOutTasks(cfg: EvalConfig, baseDir: string): { tasks: Task[]; source: string } {
  const space = getFamily(cfg.env.family).taskSpace(cfg.env.options);
  let tasks: Task[];
  let source: string;
  if (cfg.tasks.file) {
    const file = resolveFrom(baseDir, cfg.tasks.file);
    if (!existsSync(file)) throw new ConfigError(`tasks.file: ${file} not found`, file, 'tasks.file');
    tasks = deserializeTasks(space, readFileSync(file, 'utf8'), file);
    source = `file ${cfg.tasks.file}`;
  } else {
    tasks = splitTasks(space, { seed: cfg.tasks.seed, heldOut: cfg.tasks.heldOut!, train: space.finite ? undefined : 0 }).heldOut;
    source = `held-out split, seed ${cfg.tasks.seed}`;
  }
  if (cfg.tasks.limit !== undefined) tasks = tasks.slice(0, cfg.tasks.limit);
  if (tasks.length === 0) throw new ConfigError('tasks: no tasks to evaluate on', undefined, 'tasks');
  return { tasks, source };
}

function makeEnv(cfg: EvalConfig, n: number, options: Record<string, unknown>, label: string): BatchedEnv {
  return getFamily(cfg.env.family).make(n, options, new Rng(cfg.seed).split(label));
}

/** Runs a validated config (or a raw object, validated here). */
export async function runEvaluation(config: EvalConfig | EvalConfigInput, opts: RunEvalOptions = {}): Promise<EvalRunOutput> {
  const source = opts.source ?? 'eval config';
  const cfg = validateConfig(evalConfigSchema, config, source);
  if (opts.write === false) return evaluateLocked(cfg, opts, source);
  // one evaluation at a time writes into an output folder (core/lock.ts)
  const release = lockFolder(resolveFrom(opts.baseDir ?? process.cwd(), cfg.out), 'icrl eval');
  try {
    return await evaluateLocked(cfg, opts, source);
  } finally {
    release();
  }
}

async function evaluateLocked(cfg: EvalConfig, opts: RunEvalOptions, source: string): Promise<EvalRunOutput> {
  await prepareFamily(cfg.env.family);
  const baseDir = opts.baseDir ?? process.cwd();
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const t0 = performance.now();
  const prov = provenance();
  const { tasks, source: taskSource } = heldOutTasks(cfg, baseDir);
  const N = tasks.length;
  const progress = opts.progress ?? true;
  const ctxFor = (where: string) => ({ family: cfg.env.family, envOptions: cfg.env.options, baseDir, source: `${source}: ${where}` });
  const names = new Set<string>();
  const uniqueName = (spec: AgentSpec): string => {
    let name = agentLabel(spec);
    for (let k = 2; names.has(name); k++) name = `${agentLabel(spec)} #${k}`;
    names.add(name);
    return name;
  };

  const failures: string[] = [];
  const outDir = resolveFrom(baseDir, cfg.out);
  const resultsPath = join(outDir, 'results.json');
  let online: EvalResults['online'] = null;
  let offline: EvalResults['offline'] = null;
  const snapshot = (): EvalResults => ({
    format: 'icrl-eval-results',
    version: 1,
    name: cfg.name,
    seed: cfg.seed,
    env: { family: cfg.env.family, options: cfg.env.options },
    tasks: { count: N, source: taskSource },
    online,
    offline,
    // Relative to the output folder, where results.json and report.html live.
    trainingMetrics: cfg.report.trainingMetrics.map((m) => relative(resolveFrom(baseDir, cfg.out), resolveFrom(baseDir, m))),
    notes: [...(opts.notes ?? []), ...failures],
    elapsedSeconds: (performance.now() - t0) / 1000,
    provenance: prov,
    config: cfg,
  });
  // Results so far are written after every agent, so an interrupted run keeps what it finished.
  const checkpoint = (): void => {
    if (opts.write !== false) writeResults(resultsPath, snapshot());
  };

  // Offline agents are built up front too (see the online agents below).
  const offlineBuilt: { spec: AgentSpec; name: string; agent: Awaited<ReturnType<typeof makeEvalAgent>> }[] = [];
  if (cfg.offline) {
    const offNames = new Set<string>();
    for (const [k, s] of cfg.offline.agents.entries()) {
      const spec = s as AgentSpec;
      let name = agentLabel(spec);
      for (let j = 2; offNames.has(name); j++) name = `${agentLabel(spec)} #${j}`;
      offNames.add(name);
      offlineBuilt.push({ spec, name, agent: await makeEvalAgent(spec, ctxFor(`offline.agents[${k}]`)) });
    }
  }

  if (cfg.online) {
    const o = cfg.online;
    const agents: AgentResult[] = [];
    const specs: { spec: AgentSpec; where: string; reference: boolean }[] = [
      ...o.agents.map((s, k) => ({ spec: s as AgentSpec, where: `online.agents[${k}]`, reference: false })),
      ...o.references.map((r, k) => ({ spec: { type: r } as AgentSpec, where: `online.references[${k}]`, reference: true })),
    ];
    // Every agent is built before any is evaluated, so that a bad spec or a checkpoint that does not
    // load fails at once instead of after the agents before it have run.
    const built = [];
    for (const { spec, where, reference } of specs) built.push({ spec, reference, name: uniqueName(spec), agent: await makeEvalAgent(spec, ctxFor(where)) });
    online = { mode: o.steps !== undefined ? 'steps' : 'episodes', steps: o.steps, episodes: o.episodes, agents };
    for (const { spec, reference, name, agent } of built) {
      const env = makeEnv(cfg, N, cfg.env.options, 'online');
      if (reference && spec.type === 'oracle' && env.exactOracle === false) {
        // no exact optimum to compare with (the MuJoCo families): the oracle line, its return and the ratios to it are left out
        const note = `${cfg.env.family} has no exact oracle: the oracle reference, its return and "last / oracle" are left out${typeof env.expertAction === 'function' ? "; the scripted expert is the reference 'expert'" : ' (no scripted expert either: compare with a trained policy)'}`;
        log(`  ${note}`);
        failures.push(note);
        (env as { close?: () => void }).close?.();
        continue;
      }
      log(`eval: ${name} on ${N} ${cfg.env.family} tasks, ${o.steps !== undefined ? `${o.steps} steps` : `${o.episodes} episodes`}`);
      let rec;
      try {
        rec = await evaluateOnline(agent, env, tasks, { steps: o.steps, episodes: o.episodes, seed: cfg.seed, progress: progress ? `  ${name}` : false });
      } catch (e) {
        // One agent failing must not lose the agents already evaluated: note it and go on.
        const msg = `online agent ${name} failed: ${(e as Error).message}`;
        log(`  ${msg}`);
        failures.push(msg);
        continue;
      }
      const summary = rec.mode === 'steps' ? summarizeSteps(rec) : summarizeEpisodes(rec);
      const withDiag = agent as Partial<{ diagnostics(): Record<string, unknown> }>;
      const diagnostics = typeof withDiag.diagnostics === 'function' ? withDiag.diagnostics() : undefined;
      agents.push({ name, spec: { ...spec }, reference: reference || undefined, summary, ...(diagnostics ? { diagnostics } : {}) });
      const fig = summary.mode === 'steps' ? `regret at t=${summary.steps}: ${summary.finalRegret.mean.toFixed(2)} [${summary.finalRegret.lo.toFixed(2)}, ${summary.finalRegret.hi.toFixed(2)}]` : `return, last episode: ${summary.returns.mean[summary.episodes - 1].toFixed(2)}${summary.oracle ? ` (oracle ${summary.oracle.mean.toFixed(2)})` : ''}`;
      log(`  ${name}: ${fig} (${summary.wallSeconds.toFixed(1)} s)`);
      checkpoint();
    }
  }

  if (cfg.offline) {
    const off = cfg.offline;
    const maxSize = Math.max(...off.sizes);
    const dataEnv = makeEnv(cfg, N, { ...cfg.env.options, ...off.datasetOptions }, 'offline-data');
    const data = makeOfflineDataset(dataEnv, tasks, Math.max(1, maxSize), new Rng(cfg.seed).split('offline-dataset').nextU32());
    const agents: OfflineAgentResult[] = [];
    for (const { spec, name, agent } of offlineBuilt) {
      const env = makeEnv(cfg, N, cfg.env.options, 'offline');
      log(`eval offline: ${name}, dataset sizes ${off.sizes.join(', ')}`);
      let rec;
      try {
        rec = await evaluateOffline(agent, env, tasks, data, off.sizes, { seed: cfg.seed, progress: progress ? `  ${name}` : false });
      } catch (e) {
        const msg = `offline agent ${name} failed: ${(e as Error).message}`;
        log(`  ${msg}`);
        failures.push(msg);
        continue;
      }
      const band = bandOverTasks(rec.subopt);
      agents.push({ name, spec: { ...spec }, suboptimality: band, perTask: rec.subopt.map((r) => Array.from(r)) });
      log(`  ${name}: suboptimality at n=${rec.sizes[rec.sizes.length - 1]}: ${band.mean[band.mean.length - 1].toFixed(3)}`);
      offline = { sizes: [...off.sizes].sort((a, b) => a - b), datasetOptions: off.datasetOptions, agents };
      checkpoint();
    }
    offline = { sizes: [...off.sizes].sort((a, b) => a - b), datasetOptions: off.datasetOptions, agents };
  }

  if (!online && !offline) throw new IcrlError(`${source}: nothing to evaluate`);
  const results = snapshot();
  if (failures.length > 0) log(`eval: ${failures.length} agent(s) failed; the others are in the results`);
  if (opts.write === false) return { results, outDir, config: cfg };
  writeResults(resultsPath, results);
  return { results, resultsPath, outDir, config: cfg };
}
