/**
 * Collection: runs a source algorithm on N tasks and records whole learning histories, or generates
 * DPT samples, in shards. A shard is a fixed block of `shardSize` consecutive task indices whose
 * content depends only on the config and the shard index (its random streams are split from the seed
 * by shard and batch), so shards can be computed in any order, by any worker, and recomputed after a
 * crash with the same result.
 *
 * Output folder:
 *   manifest.json        { format, configHash, config, numTasks, numShards, shards: { "<i>": {file,
 *                          tasks: [first, end), transitions} }, complete }; rewritten atomically after
 *                          each finished shard
 *   tasks.json           the task list (serializeTasks format)
 *   shard-00000.h5 ...   histories (one group per task, store.ts layout) or DPT samples
 * A shard file is written under a temporary name and renamed when complete; a run that was killed
 * (even with SIGKILL) is resumed by running the same command again: shards listed in the manifest
 * are kept, the others are computed again, so every task ends up in exactly one shard, once.
 */
import { z } from 'zod';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { isAtomicTemp, makeDir, writeJsonAtomic } from '../core/atomic.js';
import { fileDigest, verifyFile } from '../core/digest.js';
import { lockFolder } from '../core/lock.js';
import { join, dirname, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { runPool } from '../core/pool.js';
import { loadConfig, validateConfig } from '../core/config.js';
import { ConfigError, CorruptFileError, IcrlError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import { LIMITS, checkMemory } from '../core/limits.js';
import { Registry, type RegistryEntry } from '../core/registry.js';
import { Progress } from '../core/progress.js';
import { getFamily, prepareFamily } from '../envs/index.js';
import type { BatchedEnv } from '../envs/types.js';
import { deserializeTasks, serializeTasks, splitTasks, type Task, type TaskSpace } from '../tasks/taskSpace.js';
import { makeAgent } from '../algorithms/index.js';
import { h5ready } from './h5.js';
import { HistoryReader, readDpt, writeDpt, writeHistories, writeXLand, type History, type XLandGroup } from './store.js';
import { defaultRollin, generateDptSamples, RollinSchema } from './dpt.js';
import { concatDpt, type DptDataset } from './datasets.js';

export const collectConfigSchema = z
  .object({
    /** `histories`: whole learning histories of `algorithm`; `dpt`: DPT samples. */
    kind: z.enum(['histories', 'dpt']),
    family: z.string(),
    envOptions: z.record(z.string(), z.unknown()).default({}),
    tasks: z
      .object({
        /** Number of tasks (= histories per run, or DPT samples); a finite split is cycled through. */
        count: z.number().int().min(1).max(LIMITS.count),
        /** Which side of the family's train / held-out split to draw from. */
        split: z.enum(['train', 'heldOut', 'all']).default('train'),
        /** Held-out size: fraction (finite spaces) or count (infinite spaces). */
        heldOut: z.number().positive().max(LIMITS.heldOut).default(0.2),
        seed: z.number().int().min(0).default(0),
        /**
         * split: train of an infinite space: `random` (unset) draws the training tasks one by one,
         * `stratified` as one Latin hypercube sample (every 1/count of each parameter's range holds
         * one task); the held-out tasks do not change.
         */
        draw: z.enum(['random', 'stratified']).optional(),
        /** A tasks JSON file (e.g. chosen by a teacher) instead of the split. */
        file: z.string().optional(),
      })
      .strict(),
    algorithm: z.record(z.string(), z.unknown()).optional(),
    /** histories: steps per history. */
    steps: z.number().int().min(1).max(LIMITS.steps).optional(),
    /** histories: runs per task stored in one group (XLand-100B's N). */
    historiesPerTask: z.number().int().min(1).max(1e4).default(1),
    /**
     * histories: file layout. `icrl` (the default) keeps float observations and the task; `xland`
     * writes XLand-100B's datasets (states uint8 (N, T, V, V), actions, rewards, dones,
     * expert_actions) for families whose observations are square grids of byte codes (xland).
     */
    layout: z.enum(['icrl', 'xland']).optional(),
    /**
     * histories of deep learners (a source algorithm with a registered recorder: sac): resume points
     * every `checkpointEvery` steps (taken at episode starts; a killed shard continues from its last
     * one), the learners' greedy policies evaluated every `evalEvery` steps over `evalEpisodes`
     * episodes (stored with the histories). 0: none.
     */
    training: z
      .object({
        checkpointEvery: z.number().int().min(0).max(LIMITS.steps).default(0),
        evalEvery: z.number().int().min(0).max(LIMITS.steps).default(0),
        evalEpisodes: z.number().int().min(1).max(1e4).default(1),
      })
      .strict()
      .optional(),
    /** dpt: transitions per in-context dataset. */
    contextLength: z.number().int().min(1).max(LIMITS.contextLength).optional(),
    /** dpt: roll-in policy (src/data/dpt.ts): dirichlet | dirichlet-flat | uniform | { algorithm } | { mixture }. */
    rollin: RollinSchema.optional(),
    /** Instances stepped together. */
    numEnvs: z.number().int().min(1).max(1e6).default(256),
    shardSize: z.number().int().min(1).max(LIMITS.count).default(1000),
    /** Threads computing shards: this one plus workers - 1 worker threads. */
    workers: z.number().int().min(0).max(1024).default(2),
    /** gzip level of the shards (6 as in XLand-100B; 1 writes faster at nearly the same size for float data; 0 = none). */
    compression: z.number().int().min(0).max(9).default(6),
    seed: z.number().int().min(0).default(0),
    out: z.string().optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.kind === 'histories') {
      if (!c.algorithm) ctx.addIssue({ code: 'custom', path: ['algorithm'], message: 'required for kind "histories" (e.g. { kind: q-learning })' });
      if (!c.steps) ctx.addIssue({ code: 'custom', path: ['steps'], message: 'required for kind "histories" (steps per history)' });
    } else if (!c.contextLength) ctx.addIssue({ code: 'custom', path: ['contextLength'], message: 'required for kind "dpt"' });
    if (c.layout === 'xland' && c.kind !== 'histories') ctx.addIssue({ code: 'custom', path: ['layout'], message: 'the xland layout is for learning histories (kind "histories")' });
  });

export type CollectConfig = z.output<typeof collectConfigSchema>;

export interface Manifest {
  format: 'icrl-collection-1';
  configHash: string;
  config: CollectConfig;
  numTasks: number;
  numShards: number;
  /** Finished shards: file, tasks, transitions, and the file's size and SHA-256 (checked on resume). */
  shards: Record<string, { file: string; tasks: [number, number]; transitions: number; bytes?: number; sha256?: string }>;
  complete: boolean;
}

/** Settings that change what is collected (not how: workers and out are excluded). */
export function configHash(c: CollectConfig): string {
  const { workers: _w, out: _o, ...rest } = c;
  return createHash('sha256').update(JSON.stringify(rest)).digest('hex').slice(0, 16);
}

export function loadCollectConfig(file: string, overrides: readonly string[] = []): CollectConfig {
  // Paths in a config (out, tasks.file) are relative to the working directory, as in every icrl config.
  const c = loadConfig(collectConfigSchema, file, overrides);
  checkFamily(c, file);
  return c;
}

/** Validates a collection config object as a config file is (schema, family, source algorithm). */
export function parseCollectConfig(data: unknown, source = 'collect config'): CollectConfig {
  const c = validateConfig(collectConfigSchema, data, source);
  checkFamily(c, source);
  return c;
}

function checkFamily(c: CollectConfig, source: string): void {
  try {
    getFamily(c.family).taskSpace(c.envOptions);
  } catch (e) {
    throw new ConfigError(`${source}: family: ${(e as Error).message}`, source, 'family');
  }
  if (c.algorithm) makeAgent(c.algorithm, `${source}: algorithm`);
  if (c.training && !(c.algorithm && historyRecorders.has(String(c.algorithm.kind)))) {
    throw new ConfigError(`${source}: training: only for source algorithms that record their own histories (${historyRecorders.names().join(', ') || 'none registered'}), not ${c.algorithm ? JSON.stringify(c.algorithm.kind) : 'DPT samples'}`, source, 'training');
  }
}

/** What a history recorder is told about the batch it records (resume points, where to write extras). */
export interface RecorderContext {
  /** resume point file of this batch of the shard (kept across a kill; deleted once the shard is written) */
  resume: string;
  /** the collection folder (recorders may write per-task files named by OWN_FILE there) */
  outDir: string;
  /** collection index of the batch's first task */
  firstTask: number;
  /** the batch's tasks (each instance of env is tasks[floor(i / historiesPerTask)]) */
  tasks: Task[];
}

/**
 * Source algorithms that train and record their own histories (deep learners: src/rl registers
 * `sac` and `ppo`): `record` gets the batch's environment (tasks set, one instance per task and
 * run) and returns one run per instance. Registered from a layer above this one, with the URL of the
 * module that registers it, which collection worker threads import before they start.
 */
export interface HistoryRecorderEntry extends RegistryEntry {
  /** `name` is the source algorithm's kind; `options` its schema (the agent kind's) */
  record(env: BatchedEnv, c: CollectConfig, rng: Rng, ctx: RecorderContext): Promise<RecordedRun[]> | RecordedRun[];
  /** URL of the module that registers this entry (collection worker threads import it) */
  module: string;
}
export const historyRecorders = new Registry<HistoryRecorderEntry>('history recorder');

/**
 * Modules that register history recorders, as the collection workers import them: compiled
 * JavaScript (running from TypeScript sources, as the tests do, the same module's build in dist/).
 */
export function historyRecorderModules(): string[] {
  return [...new Set(historyRecorders.list().map((r) => r.module))].map((url) => {
    if (!url.endsWith('.ts')) return url;
    const file = fileURLToPath(url);
    const rel = relative(resolve(dirname(fileURLToPath(import.meta.url)), '..'), file);
    const js = join(resolve(dirname(fileURLToPath(import.meta.url)), '..', '..'), 'dist', rel.replace(/\.ts$/, '.js'));
    if (!existsSync(js)) throw new IcrlError(`collect: ${js} (the build of ${file}) not found; run \`npm run build\` first (or set workers: 0)`);
    return pathToFileURL(js).href;
  });
}

/** the resume point file of batch k of shard `index` */
export function shardResumeFile(outDir: string, index: number, k: number): string {
  return join(outDir, `${shardFile(index)}.resume-${k}.safetensors`);
}

/** the final-policy file a recorder writes for task `taskIndex` */
export function policyFile(outDir: string, taskIndex: number): string {
  return join(outDir, `policy-${String(taskIndex).padStart(5, '0')}.safetensors`);
}

/** The ordered task list of a collection (deterministic from the config). */
export function resolveTasks(c: CollectConfig): Task[] {
  const space: TaskSpace = getFamily(c.family).taskSpace(c.envOptions);
  if (c.tasks.draw === 'stratified' && (c.tasks.file || space.finite || c.tasks.split !== 'train')) {
    throw new ConfigError(`tasks.draw: stratified draws the training tasks of an infinite space (split: train, no tasks.file); ${c.family} ${c.tasks.file ? 'reads a tasks file' : space.finite ? 'is finite' : `has split: ${c.tasks.split}`}`, undefined, 'tasks.draw');
  }
  if (c.tasks.file) {
    const list = deserializeTasks(space, readFileSync(c.tasks.file, 'utf8'), c.tasks.file);
    return Array.from({ length: c.tasks.count }, (_, i) => list[i % list.length]);
  }
  if (space.finite) {
    const pool = c.tasks.split === 'all' ? space.enumerate() : (() => {
      const s = splitTasks(space, { seed: c.tasks.seed, heldOut: c.tasks.heldOut });
      return c.tasks.split === 'train' ? s.train : s.heldOut;
    })();
    return Array.from({ length: c.tasks.count }, (_, i) => pool[i % pool.length]);
  }
  if (c.tasks.split === 'all') return space.sampleMany(new Rng(c.tasks.seed).split('all'), c.tasks.count);
  const heldOut = Math.max(1, Math.round(c.tasks.heldOut < 1 ? 200 : c.tasks.heldOut));
  const s = splitTasks(space, { seed: c.tasks.seed, heldOut, train: c.tasks.split === 'train' ? c.tasks.count : 1, draw: c.tasks.draw });
  if (c.tasks.split === 'train') return s.train;
  return Array.from({ length: c.tasks.count }, (_, i) => s.heldOut[i % s.heldOut.length]);
}

export function shardFile(i: number): string {
  return `shard-${String(i).padStart(5, '0')}.h5`;
}

/** Computes shard `index` and writes it (atomically) into `outDir`; returns the transitions taken. */
export async function computeShard(c: CollectConfig, tasks: Task[], index: number, outDir: string): Promise<number> {
  await h5ready();
  await prepareFamily(c.family); // once per thread (MuJoCo: the WebAssembly module)
  const first = index * c.shardSize;
  const end = Math.min(tasks.length, first + c.shardSize);
  const root = new Rng(c.seed).split(`shard-${index}`);
  const fam = getFamily(c.family);
  let transitions = 0;
  const file = join(outDir, shardFile(index));
  if (c.kind === 'dpt') {
    const parts = [];
    for (let b = first, k = 0; b < end; b += c.numEnvs, k++) {
      const batch = tasks.slice(b, Math.min(end, b + c.numEnvs));
      const rng = root.split(k);
      const env = fam.make(batch.length, c.envOptions, rng.split('make'));
      parts.push(generateDptSamples(env, batch, c.contextLength!, c.rollin ?? defaultRollin(c.family), rng, b));
      transitions += batch.length * c.contextLength!;
    }
    writeDpt(file, concatDpt(parts), tasks.slice(first, end), { 'config-hash': configHash(c), shard: index, family: c.family }, c.compression);
    return transitions;
  }
  const histories: History[] = [];
  const R = c.historiesPerTask;
  const recorder = c.algorithm && historyRecorders.has(String(c.algorithm.kind)) ? historyRecorders.get(String(c.algorithm.kind)) : undefined;
  const resumes: string[] = [];
  for (let b = first, k = 0; b < end; b += c.numEnvs, k++) {
    const batch = tasks.slice(b, Math.min(end, b + c.numEnvs));
    // one instance per (task, run)
    const inst: Task[] = [];
    for (const t of batch) for (let r = 0; r < R; r++) inst.push(t);
    const rng = root.split(k);
    const env = fam.make(inst.length, c.envOptions, rng.split('make'));
    env.setTasks(inst);
    let hs: RecordedRun[];
    if (recorder) {
      const resume = shardResumeFile(outDir, index, k);
      resumes.push(resume);
      hs = await recorder.record(env, c, rng, { resume, outDir, firstTask: b, tasks: batch });
    } else hs = await recordHistories(env, c, rng);
    for (let j = 0; j < batch.length; j++) {
      histories.push(mergeRuns(hs.slice(j * R, (j + 1) * R), batch[j], b + j, c, rng, env));
    }
    transitions += inst.length * c.steps!;
  }
  if (c.layout === 'xland') writeXLand(file, histories.map((h) => toXLandGroup(h, c)), c.compression);
  else writeHistories(file, histories, c.compression);
  for (const f of resumes) rmSync(f, { force: true });
  return transitions;
}

/** A history as an XLand-100B group: byte-coded square views, uint8 actions; ruleset-id and benchmark-id from an xland ruleset. */
function toXLandGroup(h: History, c: CollectConfig): XLandGroup {
  const cells = h.obsDim;
  const V = Math.round(Math.sqrt(cells));
  if (V * V !== cells || h.numActions < 1 || h.numActions > 256) {
    throw new ConfigError(`collect: layout xland needs square byte-coded views and at most 256 discrete actions; ${c.family} has obsDim ${cells} and ${h.numActions} actions`, undefined, 'layout');
  }
  const states = new Uint8Array(h.observations.length);
  for (let k = 0; k < states.length; k++) {
    const v = h.observations[k];
    if (!(Number.isInteger(v) && v >= 0 && v <= 255)) throw new ConfigError(`collect: layout xland stores observations as bytes; ${c.family} gave ${v} (task ${h.taskIndex})`, undefined, 'layout');
    states[k] = v;
  }
  // the family names its tasks in such files (xland: the ruleset's id and benchmark)
  const ids = getFamily(c.family).datasetIds?.(h.task, c.envOptions) ?? { rulesetId: h.taskIndex, benchmarkId: '', envId: c.family };
  return {
    name: String(h.taskIndex),
    attrs: { task: JSON.stringify(h.task.params), 'source-algorithm': JSON.stringify(h.algorithm) },
    ...ids,
    numHistories: h.numHistories,
    length: h.length,
    states,
    actions: Uint8Array.from(h.actions as Int32Array),
    rewards: h.rewards,
    dones: h.dones,
    expertActions: Uint8Array.from((h.expertActions as Int32Array | undefined) ?? new Int32Array(h.actions.length)),
  };
}

/** One instance's recorded run. */
export interface RecordedRun {
  observations: Float32Array;
  states?: Int32Array;
  /** [T] discrete or [T, actDim] continuous */
  actions: Int32Array | Float32Array;
  rewards: Float32Array;
  dones: Uint8Array;
  expert: Int32Array | Float32Array;
  /** deep learners: greedy evaluations over training (steps [E], mean returns [E]) */
  evaluation?: { steps: Int32Array; returns: Float32Array };
}

/** Plays the source algorithm on every instance of `env` for `steps` steps, recording each instance's run. */
async function recordHistories(env: BatchedEnv, c: CollectConfig, rng: Rng): Promise<RecordedRun[]> {
  const n = env.numEnvs;
  const T = c.steps!;
  const d = env.obsDim;
  const A = env.numActions > 0 ? 1 : env.actDim;
  const continuous = env.numActions === 0;
  const agent = makeAgent(c.algorithm, 'algorithm');
  env.reset(rng.split('env').nextU32());
  await agent.reset(env, rng.split('agent'));
  const runs: RecordedRun[] = Array.from({ length: n }, () => ({
    observations: new Float32Array(T * d),
    states: env.numStates > 0 ? new Int32Array(T) : undefined,
    actions: continuous ? new Float32Array(T * A) : new Int32Array(T),
    rewards: new Float32Array(T),
    dones: new Uint8Array(T),
    expert: continuous ? new Float32Array(T * A) : new Int32Array(T),
  }));
  const actions = continuous ? new Float32Array(n * A) : new Int32Array(n);
  const buf = new Float32Array(Math.max(2, A));
  for (let t = 0; t < T; t++) {
    const obs = env.obs;
    for (let i = 0; i < n; i++) {
      const r = runs[i];
      for (let q = 0; q < d; q++) r.observations[t * d + q] = obs[i * d + q];
      if (r.states) r.states[t] = env.stateIndex[i];
      if (continuous) {
        env.oracleAction(i, buf);
        for (let q = 0; q < A; q++) r.expert[t * A + q] = buf[q];
      } else r.expert[t] = env.oracleAction(i);
    }
    const p = agent.act(env.obs, actions);
    if (p instanceof Promise) await p;
    env.step(actions);
    for (let i = 0; i < n; i++) {
      const r = runs[i];
      for (let q = 0; q < A; q++) r.actions[t * A + q] = actions[i * A + q];
      r.rewards[t] = env.rewards[i];
      r.dones[t] = env.terminated[i] | env.truncated[i];
    }
    agent.observe({ actions, rewards: env.rewards, obs: env.obs, terminated: env.terminated, truncated: env.truncated });
  }
  return runs;
}

function mergeRuns(runs: RecordedRun[], task: Task, taskIndex: number, c: CollectConfig, rng: Rng, probe: BatchedEnv): History {
  const T = c.steps!;
  const R = runs.length;
  const d = runs[0].observations.length / T;
  const A = probe.numActions > 0 ? 1 : probe.actDim;
  const cat = <X extends Float32Array | Int32Array | Uint8Array>(make: (n: number) => X, get: (r: RecordedRun) => X, per: number): X => {
    const out = make(R * T * per);
    runs.forEach((r, k) => out.set(get(r), k * T * per));
    return out;
  };
  const actArray = (n: number): Int32Array | Float32Array => (probe.numActions > 0 ? new Int32Array(n) : new Float32Array(n));
  return {
    task,
    taskIndex,
    seed: rng.getState().key[0],
    algorithm: c.algorithm as History['algorithm'],
    numHistories: R,
    length: T,
    obsDim: d,
    numActions: probe.numActions,
    actDim: probe.numActions > 0 ? 0 : probe.actDim,
    numStates: probe.numStates,
    horizon: probe.horizon,
    observations: cat((n) => new Float32Array(n), (r) => r.observations, d),
    states: runs[0].states ? cat((n) => new Int32Array(n), (r) => r.states!, 1) : undefined,
    actions: cat(actArray, (r) => r.actions, A),
    rewards: cat((n) => new Float32Array(n), (r) => r.rewards, 1),
    dones: cat((n) => new Uint8Array(n), (r) => r.dones, 1),
    expertActions: cat(actArray, (r) => r.expert, A),
    evaluation: mergeEvaluations(runs),
  };
}

function mergeEvaluations(runs: RecordedRun[]): History['evaluation'] {
  const first = runs[0].evaluation;
  if (!first) return undefined;
  const E = first.steps.length;
  const returns = new Float32Array(runs.length * E);
  runs.forEach((r, k) => returns.set(r.evaluation!.returns, k * E));
  return { steps: first.steps, returns };
}


export function readManifest(outDir: string): Manifest | null {
  const f = join(outDir, 'manifest.json');
  if (!existsSync(f)) return null;
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(f, 'utf8'));
  } catch (e) {
    throw new CorruptFileError(f, `cannot read the collection manifest: ${(e as Error).message}`);
  }
  const m = doc as Partial<Manifest> | null;
  if (!m || typeof m !== 'object' || m.format !== 'icrl-collection-1') throw new CorruptFileError(f, `not an icrl collection manifest (format ${JSON.stringify(m?.format)})`);
  if (typeof m.shards !== 'object' || m.shards === null || Array.isArray(m.shards)) throw new CorruptFileError(f, 'field shards must be an object of finished shards');
  for (const [k, s] of Object.entries(m.shards)) {
    if (!/^\d+$/.test(k) || !s || typeof s !== 'object' || typeof s.file !== 'string' || !SHARD_FILE.test(s.file) || !Array.isArray(s.tasks) || s.tasks.length !== 2 || !s.tasks.every((x) => Number.isSafeInteger(x) && x >= 0) || s.tasks[0] > s.tasks[1])
      throw new CorruptFileError(f, `shards.${k}: expected { file: "shard-<n>.h5", tasks: [first, end], transitions }`);
    if ((s.bytes !== undefined && !(Number.isSafeInteger(s.bytes) && s.bytes >= 0)) || (s.sha256 !== undefined && !(typeof s.sha256 === 'string' && /^[0-9a-f]{64}$/.test(s.sha256))))
      throw new CorruptFileError(f, `shards.${k}: bytes must be a size and sha256 a hex SHA-256`);
  }
  if (!Number.isSafeInteger(m.numShards) || (m.numShards as number) < 0 || !Number.isSafeInteger(m.numTasks) || (m.numTasks as number) < 0) throw new CorruptFileError(f, 'fields numTasks and numShards must be counts');
  if (typeof m.configHash !== 'string' || typeof m.complete !== 'boolean' || !m.config || typeof m.config !== 'object') throw new CorruptFileError(f, 'fields configHash, config and complete are required');
  const cfg = collectConfigSchema.safeParse(m.config);
  if (!cfg.success) throw new CorruptFileError(f, `field config is not a collection config: ${cfg.error.issues[0].path.join('.')}: ${cfg.error.issues[0].message}`);
  if (configHash(cfg.data) !== m.configHash) throw new CorruptFileError(f, `field config does not match configHash ${m.configHash} (edited?)`);
  m.config = cfg.data;
  // each listed shard is the block of tasks its index names (an edited entry would read another shard)
  for (const [k, s] of Object.entries(m.shards)) {
    const i = Number(k);
    const first = i * cfg.data.shardSize;
    const end = Math.min(m.numTasks as number, first + cfg.data.shardSize);
    if (i >= (m.numShards as number) || s.file !== shardFile(i) || s.tasks[0] !== first || s.tasks[1] !== end)
      throw new CorruptFileError(f, `shards.${k}: expected { file: "${shardFile(i)}", tasks: [${first}, ${end}] } for shard ${i} of ${m.numShards}`);
  }
  if (m.complete !== (Object.keys(m.shards).length === m.numShards)) throw new CorruptFileError(f, `field complete is ${m.complete} but ${Object.keys(m.shards).length} of ${m.numShards} shards are listed`);
  if (m.numShards !== Math.ceil((m.numTasks as number) / cfg.data.shardSize) || m.numTasks !== cfg.data.tasks.count) throw new CorruptFileError(f, `fields numTasks (${m.numTasks}) and numShards (${m.numShards}) do not match the config (${cfg.data.tasks.count} tasks in shards of ${cfg.data.shardSize})`);
  return m as Manifest;
}

/** Names of the files a collection writes into its folder (anything else there is not ours). */
const OWN_FILE = /^(shard-\d+\.h5|shard-\d+\.h5\.resume-\d+\.safetensors|policy-\d+\.safetensors|manifest\.json|tasks\.json|\.icrl\.lock)$/;
const LEARNER_FILE = /^(shard-\d+\.h5\.resume-\d+\.safetensors|policy-\d+\.safetensors)$/;
const SHARD_FILE = /^shard-(\d+)\.h5$/;

/** Whether a listed shard is on disk as it was written (size and checksum, when the manifest has them). */
function shardIntact(outDir: string, s: Manifest['shards'][string]): boolean {
  const file = join(outDir, s.file);
  if (!existsSync(file)) return false;
  if (s.bytes === undefined) return true; // manifests of older versions hold no digest
  if (statSync(file).size !== s.bytes) return false;
  return s.sha256 === undefined || fileDigest(file).sha256 === s.sha256;
}

/** Refuses, before any work, a collection whose task list or shards would not fit in memory. */
function checkCollectMemory(c: CollectConfig, workers: number): void {
  const source = 'collect config';
  // a task is an object of a few parameters (about 256 bytes with its array)
  checkMemory(256 * c.tasks.count, `a list of ${c.tasks.count} tasks`, source, 'tasks.count');
  const probe = getFamily(c.family).make(1, c.envOptions, new Rng(0));
  const per = 2 * probe.obsDim + Math.max(1, probe.actDim) * 2 + 3;
  const shardTasks = Math.min(c.shardSize, c.tasks.count);
  const perShard = c.kind === 'dpt' ? 2 * 4 * shardTasks * c.contextLength! * per : 2 * 4 * shardTasks * c.historiesPerTask * c.steps! * per;
  checkMemory(perShard * Math.max(1, workers), `${Math.max(1, workers)} shard(s) of ${shardTasks} tasks in memory at once`, source, 'shardSize');
}

export interface CollectOptions {
  /** Overrides config.out. */
  out?: string;
  /** Overrides config.workers (0 = in this thread). */
  workers?: number;
  /** Start over even if the folder holds a collection of another config. */
  force?: boolean;
  silent?: boolean;
  /** Stop after this many shards (tests, benchmarks). */
  maxShards?: number;
  /** Compute every shard in worker threads (`workers` of them); this thread only coordinates. */
  workerThreadsOnly?: boolean;
  /** Computes the shards elsewhere (the job queue, src/queue) into the same folder; this thread keeps the manifest. */
  executor?: ShardExecutor;
}

/**
 * Computes shards somewhere else, into `outDir` as seen by every machine (a shared folder). For each
 * finished shard it calls `accept` with what the computer reported; `accept` digests the file as
 * this process sees it and records it in the manifest when both agree ('ok'; the first call per
 * shard only), or answers 'mismatch' (the file is missing or differs: not the same folder, or it
 * changed since) and records nothing.
 */
export interface ShardExecutor {
  run(c: CollectConfig, outDir: string, shards: number[], accept: (shard: number, transitions: number, digest: { bytes: number; sha256: string }) => 'ok' | 'duplicate' | 'mismatch'): Promise<void>;
}

export interface CollectResult {
  outDir: string;
  manifest: Manifest;
  /** Shards computed by this call (not resumed from before). */
  computed: number;
  /** Of those, shards computed in worker threads. */
  computedByWorkers: number;
  transitions: number;
  seconds: number;
}

/** Path of the compiled worker script (workers always run compiled JavaScript from dist/). */
function workerScript(): string {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.js')) return join(dirname(here), 'collectWorker.js');
  // running from TypeScript sources (tests): use the build in dist/
  const root = resolve(dirname(here), '..', '..');
  const js = join(root, 'dist', 'data', 'collectWorker.js');
  if (!existsSync(js)) throw new IcrlError(`collect: worker script ${js} not found; run \`npm run build\` first (or set workers: 0)`);
  return js;
}

/** Runs (or resumes) a collection; its output folder is locked meanwhile (core/lock.ts). */
export async function collect(config: CollectConfig, opts: CollectOptions = {}): Promise<CollectResult> {
  const c = validateConfig(collectConfigSchema, config, 'collect config');
  const outDir = opts.out ?? c.out;
  if (!outDir) throw new ConfigError('collect: no output folder (set `out` in the config or pass --out)', undefined, 'out');
  const release = lockFolder(outDir, 'icrl collect');
  try {
    return await collectLocked(c, outDir, opts);
  } finally {
    release();
  }
}

async function collectLocked(c: CollectConfig, outDir: string, opts: CollectOptions): Promise<CollectResult> {
  makeDir(outDir);
  const hash = configHash(c);
  await prepareFamily(c.family); // the memory check builds an instance (MuJoCo: the WebAssembly runtime first)
  checkCollectMemory(c, opts.workers ?? c.workers);
  const tasks = resolveTasks(c);
  const numShards = Math.ceil(tasks.length / c.shardSize);
  let manifest = readManifest(outDir);
  if (manifest && manifest.configHash !== hash) {
    if (!opts.force) throw new IcrlError(`${join(outDir, 'manifest.json')}: this folder holds a collection of another config (hash ${manifest.configHash}, now ${hash}); use another --out or --force to start over`);
    manifest = null;
  }
  if (!manifest) {
    // a new collection: the folder must hold nothing of anyone else's; --force starts over but still
    // deletes only files a collection writes
    const foreign = readdirSync(outDir).filter((f) => !OWN_FILE.test(f) && !isAtomicTemp(f));
    if (foreign.length > 0 && !opts.force) {
      throw new IcrlError(`${outDir}: holds files icrl collect did not write (${foreign.slice(0, 5).join(', ')}${foreign.length > 5 ? `, and ${foreign.length - 5} more` : ''}); collect into an empty or new folder, or pass --force (which leaves those files alone)`);
    }
    for (const f of readdirSync(outDir)) if (SHARD_FILE.test(f) || LEARNER_FILE.test(f) || f === 'manifest.json' || f === 'tasks.json' || isAtomicTemp(f)) rmSync(join(outDir, f), { force: true });
    manifest = { format: 'icrl-collection-1', configHash: hash, config: c, numTasks: tasks.length, numShards, shards: {}, complete: false };
    const space = getFamily(c.family).taskSpace(c.envOptions);
    writeJsonAtomic(join(outDir, 'tasks.json'), JSON.parse(serializeTasks(space, tasks)));
    writeJsonAtomic(join(outDir, 'manifest.json'), manifest);
  }
  // a listed shard that was deleted, truncated or changed since is computed again
  const bad = Object.entries(manifest.shards).filter(([, s]) => !shardIntact(outDir, s));
  if (bad.length > 0) {
    for (const [k] of bad) delete manifest.shards[k];
    manifest.complete = false;
    writeJsonAtomic(join(outDir, 'manifest.json'), manifest);
    // a warning, not progress: printed even when silent
    process.stderr.write(`collect: warning: ${bad.length} listed shard(s) missing or changed on disk (${bad.map(([, s]) => s.file).join(', ')}); computing them again\n`);
  }
  // leftovers of a killed run: our temporary files and shard files the manifest does not list (on
  // the queue they may be shards written while no coordinator ran, or files still being written by
  // workers: they stay, and are checked against the workers' reports or replaced atomically)
  if (!opts.executor) {
    for (const f of readdirSync(outDir)) {
      const m = SHARD_FILE.exec(f);
      if (isAtomicTemp(f) || (m && !manifest.shards[String(Number(m[1]))])) rmSync(join(outDir, f), { force: true });
    }
  }
  const pending: number[] = [];
  for (let i = 0; i < numShards; i++) if (!manifest.shards[String(i)]) pending.push(i);
  const todo = opts.maxShards !== undefined ? pending.slice(0, opts.maxShards) : pending;
  const done0 = numShards - pending.length;
  const progress = new Progress(`collect ${c.kind} ${c.family}`, tasks.length, { unit: 'tasks', silent: opts.silent });
  let doneTasks = Object.values(manifest.shards).reduce((a, s) => a + (s.tasks[1] - s.tasks[0]), 0);
  if (doneTasks < tasks.length) progress.update(doneTasks, done0 > 0 ? `(resumed: ${done0} shards done)` : undefined);
  const t0 = Date.now();
  let transitions = 0;
  const m = manifest;
  const finish = (i: number, tr: number, digest = fileDigest(join(outDir, shardFile(i)))): void => {
    const first = i * c.shardSize;
    const end = Math.min(tasks.length, first + c.shardSize);
    m.shards[String(i)] = { file: shardFile(i), tasks: [first, end], transitions: tr, ...digest };
    m.complete = Object.keys(m.shards).length === numShards;
    writeJsonAtomic(join(outDir, 'manifest.json'), m);
    transitions += tr;
    doneTasks += end - first;
    // the last update is drawn by finish() below (update would draw it too)
    if (doneTasks < tasks.length) progress.update(doneTasks);
  };
  // `workers` threads compute shards: this thread and workers - 1 worker threads (0 or 1 = this thread only)
  const threads = Math.min(opts.workers ?? c.workers, todo.length);
  let byWorkers = 0;
  if (opts.executor) {
    const wanted = new Set(todo);
    await opts.executor.run(c, outDir, todo, (i, tr, reported) => {
      if (!wanted.has(i)) return 'duplicate';
      const file = join(outDir, shardFile(i));
      if (!existsSync(file)) return 'mismatch';
      const seen = fileDigest(file);
      if (seen.bytes !== reported.bytes || seen.sha256 !== reported.sha256) return 'mismatch';
      wanted.delete(i);
      finish(i, tr, seen);
      return 'ok';
    });
    byWorkers = todo.length - wanted.size;
    // everything is written: temporary files left by killed workers can go
    if (m.complete) for (const f of readdirSync(outDir)) if (isAtomicTemp(f)) rmSync(join(outDir, f), { force: true });
  } else if (opts.workerThreadsOnly && threads >= 1) {
    byWorkers = await runParallel(threads, false, c, tasks, outDir, todo, finish);
  } else if (threads <= 1) {
    for (const i of todo) finish(i, await computeShard(c, tasks, i, outDir));
  } else {
    byWorkers = await runParallel(threads - 1, true, c, tasks, outDir, todo, finish);
  }
  progress.finish();
  return { outDir, manifest: m, computed: todo.length, computedByWorkers: byWorkers, transitions, seconds: (Date.now() - t0) / 1000 };
}

/**
 * `numWorkers` worker threads (and this thread when `mainComputes`) take shards from one queue
 * (core/pool.ts); returns the number of shards the workers computed.
 */
async function runParallel(numWorkers: number, mainComputes: boolean, c: CollectConfig, tasks: Task[], outDir: string, todo: number[], finish: (i: number, tr: number) => void): Promise<number> {
  return runPool<number, number>({
    script: workerScript(),
    workerData: { config: c, outDir, modules: historyRecorderModules() },
    workers: numWorkers,
    jobs: todo,
    // a shard is a long job: one at a time per worker, so that few shards spread over all threads
    prefetch: 1,
    computeHere: mainComputes ? (i) => computeShard(c, tasks, i, outDir) : undefined,
    onResult: (k, transitions) => finish(todo[k], transitions),
    label: 'collect',
  });
}

function requireManifest(outDir: string, allowIncomplete: boolean): Manifest {
  const m = readManifest(outDir);
  if (!m) throw new IcrlError(`${outDir}: no manifest.json (not a collection folder; run icrl collect first)`);
  if (!m.complete && !allowIncomplete) {
    throw new IcrlError(`${outDir}: the collection is incomplete (${Object.keys(m.shards).length}/${m.numShards} shards); run the same icrl collect command again to finish it`);
  }
  return m;
}

/**
 * Shards of a collection in task order, each with the task range it holds. Each shard is checked
 * against the size and SHA-256 the manifest lists before it is returned (a {@link ChecksumError}
 * names the file), so HDF5 never opens a file that changed since it was written.
 */
export function collectionShards(outDir: string, allowIncomplete = false): { file: string; tasks: [number, number] }[] {
  const m = requireManifest(outDir, allowIncomplete);
  return Object.keys(m.shards)
    .map(Number)
    .sort((a, b) => a - b)
    .map((i) => {
      const s = m.shards[String(i)];
      const file = join(outDir, s.file);
      if (!existsSync(file)) throw new CorruptFileError(file, `listed in ${join(outDir, 'manifest.json')} but missing; run the icrl collect command again to recompute it`);
      if (s.sha256 !== undefined) verifyFile(file, { sha256: s.sha256, bytes: s.bytes });
      return { file, tasks: s.tasks };
    });
}

/** Opens every history shard of a collection (streaming readers; close them when done). */
export async function openHistoryCollection(outDir: string, allowIncomplete = false): Promise<{ reader: HistoryReader; groups: string[] }[]> {
  await h5ready();
  const m = requireManifest(outDir, allowIncomplete);
  if (m.config.kind !== 'histories') throw new IcrlError(`${outDir}: holds ${m.config.kind} samples, not learning histories`);
  return collectionShards(outDir, allowIncomplete).map((s) => {
    const reader = new HistoryReader(s.file, `shard of groups ${s.tasks[0]}..${s.tasks[1] - 1}`);
    return { reader, groups: reader.groups() };
  });
}

/** Loads all DPT samples of a collection into memory, in task order. */
export async function loadDptCollection(outDir: string, allowIncomplete = false): Promise<DptDataset> {
  await h5ready();
  const m = requireManifest(outDir, allowIncomplete);
  if (m.config.kind !== 'dpt') throw new IcrlError(`${outDir}: holds learning histories, not DPT samples`);
  return concatDpt(collectionShards(outDir, allowIncomplete).map((s) => readDpt(s.file, {}, `shard of samples ${s.tasks[0]}..${s.tasks[1] - 1}`).ds));
}
