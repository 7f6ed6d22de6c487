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
import { summarizeEpisodes, summarizeSteps, type BanditSummary, type EpisodeSummary } from './metrics.js';
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
   * Runs the evaluation's units elsewhere (the job queue, src/queue) instead of in this thread; the
   * results are assembled here exactly as for a local run.
   */
  executor?: EvalExecutor;
  /**
   * Resume an interrupted run (default true): when the output folder holds the incomplete
   * results.json of the same config, its finished agents are kept and only the others evaluated.
   */
  resume?: boolean;
}

/** The config without what does not change the figures (the output folder): equal keys, the same evaluation. */
export function evalConfigKey(cfg: unknown): string {
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
  if (prev.config === undefined || evalConfigKey(prev.config) !== evalConfigKey(cfg)) {
    log(`eval: ${file} holds an interrupted run of another config; evaluating every agent again`);
    return null;
  }
  return prev;
}

/**
 * A part of an evaluation that runs on its own and is a pure function of the config and itself: an
 * online agent (index into the agents, then the references) on one chunk of the held-out tasks, or
 * an offline agent on all of them.
 */
export type EvalUnit = { part: 'online'; agent: number; chunk: number } | { part: 'offline'; agent: number };

/** What a unit returns: what the summaries need, as plain JSON (it may travel through Redis). */
export type UnitOutcome =
  | { part: 'online'; mode: 'steps'; steps: number; best: number[]; expected: number[][]; wallSeconds: number; diagnostics?: Record<string, unknown> }
  | { part: 'online'; mode: 'episodes'; episodes: number; returns: number[][]; lengths: number[][]; oracle: number[] | null; successes?: number[][] | null; totalSteps: number; wallSeconds: number; diagnostics?: Record<string, unknown> }
  | { part: 'offline'; sizes: number[]; subopt: number[][] };

/** Runs units and returns, in their order, each outcome or the error that stopped it. */
export interface EvalExecutor {
  run(units: EvalUnit[], cfg: EvalConfig): Promise<(UnitOutcome | { error: string })[]>;
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


/** The online agent specs of a config in evaluation order: the agents, then the references. */
function onlineSpecs(cfg: EvalConfig): { spec: AgentSpec; where: string; reference: boolean }[] {
  const o = cfg.online;
  if (!o) return [];
  return [
    ...o.agents.map((s, k) => ({ spec: s as AgentSpec, where: `online.agents[${k}]`, reference: false })),
    ...o.references.map((r, k) => ({ spec: { type: r } as AgentSpec, where: `online.references[${k}]`, reference: true })),
  ];
}

/** Number of task chunks of an evaluation of `numTasks` tasks (1 without `chunkTasks`). */
export function numChunks(cfg: EvalConfig, numTasks: number): number {
  return cfg.chunkTasks === undefined ? 1 : Math.ceil(numTasks / cfg.chunkTasks);
}

/** Every unit of a config: each online agent on each chunk, then each offline agent. */
export function evalUnits(cfg: EvalConfig, numTasks: number): EvalUnit[] {
  const units: EvalUnit[] = [];
  const chunks = numChunks(cfg, numTasks);
  onlineSpecs(cfg).forEach((_, agent) => {
    for (let chunk = 0; chunk < chunks; chunk++) units.push({ part: 'online', agent, chunk });
  });
  cfg.offline?.agents.forEach((_, agent) => units.push({ part: 'offline', agent }));
  return units;
}

/**
 * Chunk `k` of the online evaluation: its tasks, and the seed and environment label of its random
 * streams. Chunk 0 uses the config's seed, so one chunk (no `chunkTasks`) is the evaluation as it
 * always ran; chunk k > 0 gets streams split from the seed by its index.
 */
function chunkOf(cfg: EvalConfig, tasks: Task[], k: number): { tasks: Task[]; seed: number; label: string } {
  const size = cfg.chunkTasks ?? tasks.length;
  const part = tasks.slice(k * size, Math.min(tasks.length, (k + 1) * size));
  if (part.length === 0) throw new IcrlError(`evaluation: chunk ${k} holds no tasks (${tasks.length} tasks in chunks of ${size})`);
  if (k === 0) return { tasks: part, seed: cfg.seed, label: 'online' };
  return { tasks: part, seed: new Rng(cfg.seed).split(`chunk-${k}`).nextU32(), label: `online:chunk-${k}` };
}

function diagnosticsOf(agent: unknown): Record<string, unknown> | undefined {
  const d = agent as Partial<{ diagnostics(): Record<string, unknown> }>;
  return typeof d.diagnostics === 'function' ? d.diagnostics() : undefined;
}

/** Plays `agent` on chunk `k` of the tasks. */
async function runOnlineChunk(cfg: EvalConfig, agent: Awaited<ReturnType<typeof makeEvalAgent>>, tasks: Task[], k: number, progress: string | false): Promise<UnitOutcome> {
  const o = cfg.online!;
  const c = chunkOf(cfg, tasks, k);
  const env = makeEnv(cfg, c.tasks.length, cfg.env.options, c.label);
  const rec = await evaluateOnline(agent, env, c.tasks, { steps: o.steps, episodes: o.episodes, seed: c.seed, progress });
  if (rec.mode === 'steps') return { part: 'online', mode: 'steps', steps: rec.steps, best: Array.from(rec.best), expected: rec.expected.map((e) => Array.from(e)), wallSeconds: rec.wallSeconds };
  return { part: 'online', mode: 'episodes', episodes: rec.episodes, returns: rec.returns.map((r) => Array.from(r)), lengths: rec.lengths.map((r) => Array.from(r)), oracle: rec.oracle ? Array.from(rec.oracle) : null, ...(rec.successes ? { successes: rec.successes.map((r) => Array.from(r)) } : {}), totalSteps: rec.totalSteps, wallSeconds: rec.wallSeconds };
}

/** The logged bandit pulls of the offline protocol (a pure function of the config and the tasks). */
function offlineData(cfg: EvalConfig, tasks: Task[]): ReturnType<typeof makeOfflineDataset> {
  const off = cfg.offline!;
  const dataEnv = makeEnv(cfg, tasks.length, { ...cfg.env.options, ...off.datasetOptions }, 'offline-data');
  return makeOfflineDataset(dataEnv, tasks, Math.max(1, Math.max(...off.sizes)), new Rng(cfg.seed).split('offline-dataset').nextU32());
}

async function runOfflineAgent(cfg: EvalConfig, agent: Awaited<ReturnType<typeof makeEvalAgent>>, tasks: Task[], data: ReturnType<typeof makeOfflineDataset>, progress: string | false): Promise<UnitOutcome> {
  const env = makeEnv(cfg, tasks.length, cfg.env.options, 'offline');
  const rec = await evaluateOffline(agent, env, tasks, data, cfg.offline!.sizes, { seed: cfg.seed, progress });
  return { part: 'offline', sizes: rec.sizes, subopt: rec.subopt.map((r) => Array.from(r)) };
}

/**
 * Runs one unit of a validated config from scratch (its agent built here): what a queue worker does
 * with an evaluation job. The same functions run the units of a local evaluation, so the outcome is
 * the one a local run computes.
 */
export async function evaluateUnit(cfg: EvalConfig, unit: EvalUnit, opts: { baseDir?: string; source?: string } = {}): Promise<UnitOutcome> {
  await prepareFamily(cfg.env.family);
  const baseDir = opts.baseDir ?? process.cwd();
  const source = opts.source ?? 'eval config';
  const { tasks } = heldOutTasks(cfg, baseDir);
  const ctx = (where: string) => ({ family: cfg.env.family, envOptions: cfg.env.options, baseDir, source: `${source}: ${where}` });
  if (unit.part === 'online') {
    const specs = onlineSpecs(cfg);
    const s = specs[unit.agent];
    if (!s) throw new IcrlError(`${source}: online agent ${unit.agent} does not exist (the config has ${specs.length})`);
    if (unit.chunk < 0 || unit.chunk >= numChunks(cfg, tasks.length)) throw new IcrlError(`${source}: chunk ${unit.chunk} does not exist (${numChunks(cfg, tasks.length)} chunks)`);
    const agent = await makeEvalAgent(s.spec, ctx(s.where));
    const out = await runOnlineChunk(cfg, agent, tasks, unit.chunk, false);
    const diagnostics = diagnosticsOf(agent);
    return diagnostics && out.part === 'online' ? { ...out, diagnostics } : out;
  }
  const spec = cfg.offline?.agents[unit.agent] as AgentSpec | undefined;
  if (!spec) throw new IcrlError(`${source}: offline agent ${unit.agent} does not exist`);
  const agent = await makeEvalAgent(spec, ctx(`offline.agents[${unit.agent}]`));
  return runOfflineAgent(cfg, agent, tasks, offlineData(cfg, tasks), false);
}

/** Counters of chunks added up (numbers summed, nested objects merged the same way, anything else from the first). */
export function sumDiagnostics(parts: (Record<string, unknown> | undefined)[]): Record<string, unknown> | undefined {
  const present = parts.filter((p): p is Record<string, unknown> => p !== undefined);
  if (present.length === 0) return undefined;
  const add = (a: unknown, b: unknown): unknown => {
    if (typeof a === 'number' && typeof b === 'number') return a + b;
    if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
      const out: Record<string, unknown> = { ...(a as Record<string, unknown>) };
      for (const [k, v] of Object.entries(b as Record<string, unknown>)) out[k] = k in out ? add(out[k], v) : v;
      return out;
    }
    return a === undefined ? b : a;
  };
  return present.slice(1).reduce<Record<string, unknown>>((acc, p) => add(acc, p) as Record<string, unknown>, structuredClone(present[0]));
}

/** The summary of an online agent from its chunks' outcomes (in chunk order). */
function summarizeChunks(parts: UnitOutcome[]): BanditSummary | EpisodeSummary {
  const first = parts[0];
  if (first.part !== 'online') throw new IcrlError('evaluation: not an online outcome');
  const wallSeconds = parts.reduce((a, p) => a + (p.part === 'online' ? p.wallSeconds : 0), 0);
  if (first.mode === 'steps') {
    const best: number[] = [];
    const expected: Float64Array[] = [];
    for (const p of parts) {
      if (p.part !== 'online' || p.mode !== 'steps') throw new IcrlError('evaluation: chunks of different modes');
      best.push(...p.best);
      for (const e of p.expected) expected.push(Float64Array.from(e));
    }
    return summarizeSteps({ mode: 'steps', agent: '', family: '', numTasks: best.length, steps: first.steps, actions: [], rewards: [], expected, best: Float64Array.from(best), wallSeconds });
  }
  const returns: Float64Array[] = [];
  const lengths: Int32Array[] = [];
  let oracle: number[] | null = [];
  let successes: Uint8Array[] | null = [];
  let totalSteps = 0;
  for (const p of parts) {
    if (p.part !== 'online' || p.mode !== 'episodes') throw new IcrlError('evaluation: chunks of different modes');
    successes = successes && p.successes ? [...successes, ...p.successes.map((r) => Uint8Array.from(r))] : null;
    for (const r of p.returns) returns.push(Float64Array.from(r));
    for (const l of p.lengths) lengths.push(Int32Array.from(l));
    oracle = oracle && p.oracle ? [...oracle, ...p.oracle] : null;
    totalSteps += p.totalSteps;
  }
  return summarizeEpisodes({ mode: 'episodes', agent: '', family: '', numTasks: returns.length, episodes: first.episodes, returns, lengths, oracle: oracle ? Float64Array.from(oracle) : null, successes, totalSteps, wallSeconds });
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
  const uniqueNames = (specs: AgentSpec[]): string[] => {
    const names = new Set<string>();
    return specs.map((spec) => {
      let name = agentLabel(spec);
      for (let k = 2; names.has(name); k++) name = `${agentLabel(spec)} #${k}`;
      names.add(name);
      return name;
    });
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

  const specs = onlineSpecs(cfg);
  const onNames = uniqueNames(specs.map((s) => s.spec));
  const offSpecs = (cfg.offline?.agents ?? []).map((s) => s as AgentSpec);
  const offNames = uniqueNames(offSpecs);
  if (cfg.online) planned.push(...onNames.map((n) => `online: ${n}`));
  planned.push(...offNames.map((n) => `offline: ${n}`));
  // what an interrupted run of the same config already finished is kept, not run again
  const keptOnline = (a: number): AgentResult | undefined =>
    prev?.status?.done.includes(`online: ${onNames[a]}`) ? prev.online?.agents.find((r) => r.name === onNames[a]) : undefined;
  const keptOffline = (a: number): OfflineAgentResult | undefined =>
    prev?.status?.done.includes(`offline: ${offNames[a]}`) ? prev.offline?.agents.find((r) => r.name === offNames[a]) : undefined;
  const chunks = numChunks(cfg, N);
  type Built = Awaited<ReturnType<typeof makeEvalAgent>>;
  // Outcomes of every unit: computed in this thread below, or all at once by the executor.
  let remote: Map<string, UnitOutcome | { error: string }> | null = null;
  const key = (u: EvalUnit): string => (u.part === 'online' ? `on:${u.agent}:${u.chunk}` : `off:${u.agent}`);
  const onBuilt: Built[] = [];
  const offBuilt: Built[] = [];
  // Every agent is built before any is evaluated (here too when the units run elsewhere), so that a
  // bad spec or a checkpoint that does not load fails at once instead of after the agents before it
  // have run.
  for (const [k, s] of offSpecs.entries()) offBuilt.push(await makeEvalAgent(s, ctxFor(`offline.agents[${k}]`)));
  for (const s of specs) onBuilt.push(await makeEvalAgent(s.spec, ctxFor(s.where)));
  // a family without an exact optimum (MuJoCo) has no oracle line: that reference is left out, with a note
  const probe = makeEnv(cfg, 1, cfg.env.options, 'online');
  const expertAvailable = typeof probe.expertAction === 'function';
  const skipped = new Set(probe.exactOracle === false ? specs.flatMap((s, a) => (s.reference && s.spec.type === 'oracle' ? [a] : [])) : []);
  (probe as { close?: () => void }).close?.();
  // from now on results.json says what is done and what is not (a killed run is marked incomplete)
  if (!prev) checkpoint();
  if (opts.executor) {
    const units = evalUnits(cfg, N).filter((u) => (u.part === 'online' ? !skipped.has(u.agent) && !keptOnline(u.agent) : !keptOffline(u.agent)));
    log(`eval: ${units.length} unit(s) (${specs.length} online agent(s) x ${chunks} chunk(s), ${offSpecs.length} offline) on the queue`);
    const outs = await opts.executor.run(units, cfg);
    remote = new Map(units.map((u, i) => [key(u), outs[i]]));
  }

  if (cfg.online) {
    const o = cfg.online;
    const agents: AgentResult[] = [];
    online = { mode: o.steps !== undefined ? 'steps' : 'episodes', steps: o.steps, episodes: o.episodes, agents };
    for (const [a, { spec, reference }] of specs.entries()) {
      const name = onNames[a];
      const kept = keptOnline(a);
      if (kept) {
        log(`eval: ${name}: kept from the interrupted run in ${resultsPath}`);
        agents.push(kept);
        done.push(`online: ${name}`);
        continue;
      }
      if (skipped.has(a)) {
        // no exact optimum to compare with (the MuJoCo families): the oracle line, its return and the ratios to it are left out
        const note = `${cfg.env.family} has no exact oracle: the oracle reference, its return and "last / oracle" are left out${expertAvailable ? "; the scripted expert is the reference 'expert'" : ' (no scripted expert either: compare with a trained policy)'}`;
        log(`  ${note}`);
        failures.push(note);
        continue;
      }
      log(`eval: ${name} on ${N} ${cfg.env.family} tasks, ${o.steps !== undefined ? `${o.steps} steps` : `${o.episodes} episodes`}`);
      const parts: UnitOutcome[] = [];
      let diagnostics: Record<string, unknown> | undefined;
      try {
        for (let k = 0; k < chunks; k++) {
          const r = remote ? remote.get(key({ part: 'online', agent: a, chunk: k }))! : await runOnlineChunk(cfg, onBuilt[a], tasks, k, progress ? `  ${name}${chunks > 1 ? ` (chunk ${k + 1}/${chunks})` : ''}` : false);
          if ('error' in r) throw new IcrlError(chunks > 1 ? `chunk ${k}: ${r.error}` : r.error);
          parts.push(r);
        }
        diagnostics = remote ? sumDiagnostics(parts.map((p) => (p.part === 'online' ? p.diagnostics : undefined))) : diagnosticsOf(onBuilt[a]);
      } catch (e) {
        // One agent failing must not lose the agents already evaluated: note it and go on.
        const msg = `online agent ${name} failed: ${(e as Error).message}`;
        log(`  ${msg}`);
        failures.push(msg);
        failed.push(`online: ${name}`);
        checkpoint();
        continue;
      }
      const summary = summarizeChunks(parts);
      agents.push({ name, spec: { ...spec }, reference: reference || undefined, summary, ...(diagnostics ? { diagnostics } : {}) });
      const fig = summary.mode === 'steps' ? `regret at t=${summary.steps}: ${summary.finalRegret.mean.toFixed(2)} [${summary.finalRegret.lo.toFixed(2)}, ${summary.finalRegret.hi.toFixed(2)}]` : `return, last episode: ${summary.returns.mean[summary.episodes - 1].toFixed(2)}${summary.oracle ? ` (oracle ${summary.oracle.mean.toFixed(2)})` : ''}${summary.successRate ? `, success rate ${summary.successRate.mean[summary.episodes - 1].toFixed(2)}` : ''}`;
      log(`  ${name}: ${fig} (${summary.wallSeconds.toFixed(1)} s)`);
      done.push(`online: ${name}`);
      checkpoint();
    }
  }

  if (cfg.offline) {
    const off = cfg.offline;
    const needData = !remote && offSpecs.some((_, a) => !keptOffline(a));
    const data = needData ? offlineData(cfg, tasks) : null;
    const agents: OfflineAgentResult[] = [];
    const sizes = [...off.sizes].sort((a, b) => a - b);
    for (const [a, spec] of offSpecs.entries()) {
      const name = offNames[a];
      const kept = keptOffline(a);
      if (kept) {
        log(`eval offline: ${name}: kept from the interrupted run in ${resultsPath}`);
        agents.push(kept);
        done.push(`offline: ${name}`);
        offline = { sizes, datasetOptions: off.datasetOptions, agents };
        continue;
      }
      log(`eval offline: ${name}, dataset sizes ${off.sizes.join(', ')}`);
      let r: UnitOutcome | { error: string };
      try {
        r = remote ? remote.get(key({ part: 'offline', agent: a }))! : await runOfflineAgent(cfg, offBuilt[a], tasks, data!, progress ? `  ${name}` : false);
        if ('error' in r) throw new IcrlError(r.error);
        if (r.part !== 'offline') throw new IcrlError('not an offline outcome');
      } catch (e) {
        const msg = `offline agent ${name} failed: ${(e as Error).message}`;
        log(`  ${msg}`);
        failures.push(msg);
        failed.push(`offline: ${name}`);
        checkpoint();
        continue;
      }
      const band = bandOverTasks(r.subopt);
      agents.push({ name, spec: { ...spec }, suboptimality: band, perTask: r.subopt });
      log(`  ${name}: suboptimality at n=${r.sizes[r.sizes.length - 1]}: ${band.mean[band.mean.length - 1].toFixed(3)}`);
      done.push(`offline: ${name}`);
      offline = { sizes, datasetOptions: off.datasetOptions, agents };
      checkpoint();
    }
    offline = { sizes, datasetOptions: off.datasetOptions, agents };
  }

  if (!online && !offline) throw new IcrlError(`${source}: nothing to evaluate`);
  const results = snapshot();
  results.status!.complete = true;
  if (failures.length > 0) log(`eval: ${failures.length} agent(s) failed; the others are in the results`);
  if (opts.write === false) return { results, outDir, config: cfg };
  writeResults(resultsPath, results);
  return { results, resultsPath, outDir, config: cfg };
}
