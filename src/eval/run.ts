/**
 * Runs an evaluation config: held-out tasks, every agent online (and offline), the references, and
 * results.json in the output folder (rewritten after every agent). The report is drawn from these
 * results by the caller (`evaluateAndReport` of src/experiments).
 */
import { readFileSync, existsSync, readdirSync } from 'node:fs';
import { join, resolve, isAbsolute, relative } from 'node:path';
import { getFamily, prepareFamily } from '../envs/index.js';
import { Rng } from '../core/rng.js';
import { ConfigError, CorruptFileError, IcrlError } from '../core/errors.js';
import { canonicalJson } from '../core/json.js';
import { checkMemory } from '../core/limits.js';
import { isAtomicTemp, removeIfExists } from '../core/atomic.js';
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
import { confinedMetricsPath, readResults, writeResults, type AgentResult, type EvalResults, type OfflineAgentResult } from './results.js';

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
  /**
   * Resume an interrupted run (default true): when the output folder holds the incomplete
   * results.json of the same config, its finished agents are kept and only the others evaluated.
   */
  resume?: boolean;
}

/** The config without what does not change the figures (the output folder). */
function configKey(cfg: unknown): string {
  const { out: _o, ...rest } = JSON.parse(JSON.stringify(cfg)) as Record<string, unknown>;
  return canonicalJson(rest);
}

/** The incomplete results of an interrupted run of the same config in `file`, or null. */
function interruptedRun(file: string, cfg: EvalConfig, log: (l: string) => void): EvalResults | null {
  if (!existsSync(file)) return null;
  let prev: EvalResults;
  try {
    prev = readResults(file);
  } catch (e) {
    if (!(e instanceof CorruptFileError)) throw e;
    log(`eval: warning: ${e.message}; evaluating every agent again`);
    return null;
  }
  if (!prev.status || prev.status.complete) return null;
  if (prev.config === undefined || configKey(prev.config) !== configKey(cfg)) {
    log(`eval: ${file} holds an interrupted run of another config; evaluating every agent again`);
    return null;
  }
  return prev;
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
  if (cfg.tasks.heldOut !== undefined && cfg.tasks.heldOut > 1) checkMemory(256 * cfg.tasks.heldOut, `a split of ${cfg.tasks.heldOut} held-out tasks`, source, 'tasks.heldOut');
  const { tasks, source: taskSource } = heldOutTasks(cfg, baseDir);
  const N = tasks.length;
  // before any agent runs: the memory the records take, and every set of environment options
  if (cfg.online) {
    const T = cfg.online.steps ?? cfg.online.episodes!;
    checkMemory(6 * 8 * N * T, `records of ${N} tasks x ${T} ${cfg.online.steps !== undefined ? 'steps' : 'episodes'}`, source, cfg.online.steps !== undefined ? 'online.steps' : 'online.episodes');
  }
  const checkOptions = (options: Record<string, unknown>, field: string) => {
    try {
      makeEnv(cfg, 1, options, 'check');
    } catch (e) {
      if (e instanceof IcrlError) throw new ConfigError(`${source}: ${field}: ${e.message}`, source, field);
      throw e;
    }
  };
  checkOptions(cfg.env.options, 'env.options');
  if (cfg.offline) {
    checkOptions({ ...cfg.env.options, ...cfg.offline.datasetOptions }, 'offline.datasetOptions');
    checkMemory(4 * 8 * N * Math.max(1, ...cfg.offline.sizes), `offline datasets of ${Math.max(...cfg.offline.sizes)} pulls for ${N} tasks`, source, 'offline.sizes');
  }
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
  // metrics files named in the results must stay inside the tree of runs (refused before any work)
  const trainingMetrics = cfg.report.trainingMetrics.map((m) => relative(outDir, resolveFrom(baseDir, m)));
  for (const [k, m] of trainingMetrics.entries()) {
    try {
      confinedMetricsPath(outDir, m, source);
    } catch {
      throw new ConfigError(`${source}: report.trainingMetrics[${k}]: ${cfg.report.trainingMetrics[k]} is outside ${resolve(outDir, '..')} (the folder above the output folder), or not a .jsonl file; put the training run beside the evaluation's output folder`, source, 'report.trainingMetrics');
    }
  }
  if (opts.write !== false && existsSync(outDir)) {
    // temporaries of a killed run (we hold the folder's lock)
    for (const e of readdirSync(outDir)) if (isAtomicTemp(e)) removeIfExists(join(outDir, e));
  }
  const prev = opts.write === false || opts.resume === false ? null : interruptedRun(resultsPath, cfg, log);
  const done: string[] = [];
  const failed: string[] = [];
  const planned: string[] = [];
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
    trainingMetrics,
    notes: [...(opts.notes ?? []), ...failures],
    elapsedSeconds: (performance.now() - t0) / 1000,
    provenance: prov,
    config: cfg,
    status: { complete: false, done: [...done], failed: [...failed], pending: planned.filter((n) => !done.includes(n) && !failed.includes(n)) },
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
      planned.push(`offline: ${name}`);
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
    // online names first in the status, as they run first
    planned.unshift(...built.map((b) => `online: ${b.name}`));
    online = { mode: o.steps !== undefined ? 'steps' : 'episodes', steps: o.steps, episodes: o.episodes, agents };
    // from now on results.json says what is done and what is not (a killed run is marked incomplete)
    if (!prev) checkpoint();
    for (const { spec, reference, name, agent } of built) {
      const kept = prev?.status?.done.includes(`online: ${name}`) ? prev.online?.agents.find((a) => a.name === name) : undefined;
      if (kept) {
        log(`eval: ${name}: kept from the interrupted run in ${resultsPath}`);
        agents.push(kept);
        done.push(`online: ${name}`);
        continue;
      }
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
        failed.push(`online: ${name}`);
        checkpoint();
        continue;
      }
      const summary = rec.mode === 'steps' ? summarizeSteps(rec) : summarizeEpisodes(rec);
      const withDiag = agent as Partial<{ diagnostics(): Record<string, unknown> }>;
      const diagnostics = typeof withDiag.diagnostics === 'function' ? withDiag.diagnostics() : undefined;
      agents.push({ name, spec: { ...spec }, reference: reference || undefined, summary, ...(diagnostics ? { diagnostics } : {}) });
      const fig = summary.mode === 'steps' ? `regret at t=${summary.steps}: ${summary.finalRegret.mean.toFixed(2)} [${summary.finalRegret.lo.toFixed(2)}, ${summary.finalRegret.hi.toFixed(2)}]` : `return, last episode: ${summary.returns.mean[summary.episodes - 1].toFixed(2)}${summary.oracle ? ` (oracle ${summary.oracle.mean.toFixed(2)})` : ''}`;
      log(`  ${name}: ${fig} (${summary.wallSeconds.toFixed(1)} s)`);
      done.push(`online: ${name}`);
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
      const kept = prev?.status?.done.includes(`offline: ${name}`) ? prev.offline?.agents.find((a) => a.name === name) : undefined;
      if (kept) {
        log(`eval offline: ${name}: kept from the interrupted run in ${resultsPath}`);
        agents.push(kept);
        done.push(`offline: ${name}`);
        offline = { sizes: [...off.sizes].sort((a, b) => a - b), datasetOptions: off.datasetOptions, agents };
        continue;
      }
      const env = makeEnv(cfg, N, cfg.env.options, 'offline');
      log(`eval offline: ${name}, dataset sizes ${off.sizes.join(', ')}`);
      let rec;
      try {
        rec = await evaluateOffline(agent, env, tasks, data, off.sizes, { seed: cfg.seed, progress: progress ? `  ${name}` : false });
      } catch (e) {
        const msg = `offline agent ${name} failed: ${(e as Error).message}`;
        log(`  ${msg}`);
        failures.push(msg);
        failed.push(`offline: ${name}`);
        checkpoint();
        continue;
      }
      const band = bandOverTasks(rec.subopt);
      agents.push({ name, spec: { ...spec }, suboptimality: band, perTask: rec.subopt.map((r) => Array.from(r)) });
      log(`  ${name}: suboptimality at n=${rec.sizes[rec.sizes.length - 1]}: ${band.mean[band.mean.length - 1].toFixed(3)}`);
      done.push(`offline: ${name}`);
      offline = { sizes: [...off.sizes].sort((a, b) => a - b), datasetOptions: off.datasetOptions, agents };
      checkpoint();
    }
    offline = { sizes: [...off.sizes].sort((a, b) => a - b), datasetOptions: off.datasetOptions, agents };
  }

  if (!online && !offline) throw new IcrlError(`${source}: nothing to evaluate`);
  const results = snapshot();
  results.status!.complete = true;
  if (failures.length > 0) log(`eval: ${failures.length} agent(s) failed; the others are in the results`);
  if (opts.write === false) return { results, outDir, config: cfg };
  writeResults(resultsPath, results);
  return { results, resultsPath, outDir, config: cfg };
}
