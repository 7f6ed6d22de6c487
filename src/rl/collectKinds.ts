/**
 * Deep learners as `icrl collect` source algorithms. src/data sits below the engine and cannot build
 * these learners, so this module registers history recorders for the `sac` and `ppo` kinds with the collection
 * (`historyRecorders`, with this module's URL: collection worker threads import it before
 * they start). A shard's batch of tasks trains one learner per task (and run) all at once
 * (./histories.ts), stores the histories with `expert_actions` relabelled by each learner's final
 * greedy policy and its evaluations over training, and writes each task's final policy weights to
 * `policy-<task>.safetensors` in the collection folder. With `training.checkpointEvery` a killed
 * shard continues from its last resume point, identically. PPO: the same (its policy file holds the
 * actor and, continuous, the log-std).
 */
import { configHash, historyRecorders, policyFile, type CollectConfig, type RecordedRun, type RecorderContext } from '../data/index.js';
import { IcrlError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import type { Task } from '../tasks/taskSpace.js';
import { getFamily } from '../envs/index.js';
import type { ActionArray, BatchedEnv } from '../envs/types.js';
import * as nn from '../nn/index.js';
import type { NamedArray, Tensor } from '../nn/index.js';
import { SacAgent, SacLearners, sacOptionsSchema, type SacSpec } from './sac.js';
import { PpoAgent, PpoLearners, ppoOptionsSchema, type PpoOptionsInput, type PpoSpec } from './ppo.js';
import { learnerRecord, ppoHooks, sacHooks, trainAndRecord, type DeepLearner, type TrainRecordOptions } from './histories.js';

/** Records SAC learning histories for one batch of a collection shard (see the module note). */
export function recordSacHistories(env: BatchedEnv, c: CollectConfig, rng: Rng, ctx: RecorderContext): RecordedRun[] {
  const { kind: _kind, ...spec } = c.algorithm ?? {};
  const agent = new SacAgent(sacOptionsSchema.parse(spec));
  const R = c.historiesPerTask;
  return recordBatch(env, c, rng, ctx, agent, sacHooks(agent), () => {
    ctx.tasks.forEach((task, j) => saveSacPolicy(policyFile(ctx.outDir, ctx.firstTask + j), agent.learners!, j * R, R, { task: task.params, taskIndex: ctx.firstTask + j }));
  });
}

/** Records PPO learning histories for one batch (see the module note). */
export function recordPpoHistories(env: BatchedEnv, c: CollectConfig, rng: Rng, ctx: RecorderContext): RecordedRun[] {
  const { kind: _kind, ...spec } = c.algorithm ?? {};
  ppoOptionsSchema.parse(spec);
  const agent = new PpoAgent(spec);
  const R = c.historiesPerTask;
  return recordBatch(env, c, rng, ctx, agent, ppoHooks(agent), () => {
    ctx.tasks.forEach((task, j) => savePpoPolicy(policyFile(ctx.outDir, ctx.firstTask + j), agent.learners!, j * R, R, { task: task.params, taskIndex: ctx.firstTask + j }));
  });
}

function recordBatch(env: BatchedEnv, c: CollectConfig, rng: Rng, ctx: RecorderContext, agent: DeepLearner, hooks: Partial<Pick<TrainRecordOptions, 'resumable' | 'relabel'>>, finish: () => void): RecordedRun[] {
  const N = env.numEnvs;
  const R = c.historiesPerTask;
  const inst: Task[] = [];
  for (const t of ctx.tasks) for (let r = 0; r < R; r++) inst.push(t);
  if (inst.length !== N) throw new IcrlError(`collect ${agent.name}: ${N} instances for ${ctx.tasks.length} tasks x ${R} runs`, 'STATE');
  const tr = c.training ?? { checkpointEvery: 0, evalEvery: 0, evalEpisodes: 1 };
  let evalEnv: BatchedEnv | undefined;
  if (tr.evalEvery > 0) {
    evalEnv = getFamily(c.family).make(N, c.envOptions, rng.split('eval-env'));
    evalEnv.setTasks(inst);
  }
  const T = c.steps!;
  const r = trainAndRecord({
    env,
    evalEnv,
    agent,
    ...hooks,
    steps: T,
    rng,
    resume: ctx.resume,
    runId: { config: configHash(c), firstTask: ctx.firstTask, instances: N },
    checkpointEvery: tr.checkpointEvery,
    evalEvery: tr.evalEvery,
    evalEpisodes: tr.evalEpisodes,
  });
  finish();
  const D = env.obsDim;
  const A = env.numActions > 0 ? 1 : env.actDim;
  return Array.from({ length: N }, (_, i) => {
    const { expertActions: expert, ...rest } = learnerRecord(r, i, T, D, A);
    return { ...rest, expert };
  });
}

/**
 * Writes learners [first, first + count) of `L`'s actors (their weights with a leading learner axis
 * of `count`), the options and the action box to one safetensors file (atomically).
 */
export function saveSacPolicy(file: string, L: SacLearners, first: number, count: number, extra: Record<string, unknown> = {}): void {
  const meta = { kind: 'sac-policy', learners: count, spec: { obsDim: L.spec.obsDim, actDim: L.spec.actDim, low: Array.from(L.spec.low), high: Array.from(L.spec.high) }, options: L.opts, extra };
  nn.saveSafetensors(file, learnerSlices(L.actor.parameters(), L.n, first, count), { icrl_rl: JSON.stringify(meta) });
}

/** The same for PPO: the actor (and, continuous, the log-std) of learners [first, first + count). */
export function savePpoPolicy(file: string, L: PpoLearners, first: number, count: number, extra: Record<string, unknown> = {}): void {
  const params = [...L.actor.parameters(), ...(L.logStd ? [L.logStd] : [])];
  const spec = { ...L.spec, low: L.spec.low ? Array.from(L.spec.low) : undefined, high: L.spec.high ? Array.from(L.spec.high) : undefined };
  const meta = { kind: 'ppo-policy', learners: count, spec, options: L.opts, extra };
  nn.saveSafetensors(file, learnerSlices(params, L.n, first, count), { icrl_rl: JSON.stringify(meta) });
}

/** learners [first, first + count) of parameters with a leading learner axis of n */
function learnerSlices(params: Tensor[], n: number, first: number, count: number): Record<string, NamedArray> {
  const out: Record<string, NamedArray> = {};
  for (const p of params) {
    const per = p.size / n;
    out[p.name!] = { shape: [count, ...p.shape.slice(1)], data: p.data.subarray(first * per, (first + count) * per) };
  }
  return out;
}

/** copies a policy file's tensors into freshly built parameters of the same names and shapes */
function fillParams(file: string, f: ReturnType<typeof nn.loadSafetensors>, params: Tensor[]): void {
  for (const p of params) {
    const src = f.tensors.get(p.name!);
    if (!src || src.data.length !== p.size) throw new IcrlError(`${file}: tensor "${p.name}" missing or not of shape [${p.shape.join(', ')}]`, 'CORRUPT_FILE');
    p.data.set(src.data);
  }
}

/** A saved policy (SAC or PPO): its learners' greedy actions (SAC: tanh of the mean, in the box; PPO: the most probable action, or the mean clipped to the box). */
export interface SavedPolicy {
  kind: 'sac' | 'ppo';
  learners: number;
  obsDim: number;
  /** floats per action (continuous) or 1 (discrete) */
  actDim: number;
  discrete: boolean;
  extra: Record<string, unknown>;
  /** obs [learners, obsDim] -> out [learners, actDim] (Int32Array when discrete) */
  actGreedy(obs: Float32Array, out: ActionArray): void;
}
/** the SAC case of {@link SavedPolicy} (kept for callers of loadSacPolicy) */
export type SacPolicy = SavedPolicy;

/** Loads a file written by saveSacPolicy or savePpoPolicy (each `policy-<task>.safetensors` of a sac or ppo collection). */
export function loadPolicy(file: string): SavedPolicy {
  const f = nn.loadSafetensors(file);
  const raw = f.metadata.icrl_rl;
  const meta = raw ? (JSON.parse(raw) as { kind: string; learners: number; spec: Record<string, unknown>; options: unknown; extra: Record<string, unknown> }) : null;
  if (!meta || (meta.kind !== 'sac-policy' && meta.kind !== 'ppo-policy')) throw new IcrlError(`${file}: not a policy file (no icrl_rl metadata of kind sac-policy or ppo-policy)`, 'CORRUPT_FILE');
  const n = meta.learners;
  const rngs = Array.from({ length: n }, (_, i) => new Rng(0).split(`policy-${i}`));
  if (meta.kind === 'sac-policy') {
    const spec = meta.spec as unknown as SacSpec;
    const L = new SacLearners(spec, rngs, sacOptionsSchema.parse(meta.options));
    fillParams(file, f, L.actor.parameters());
    const unit = new Float32Array(n * spec.actDim);
    return {
      kind: 'sac',
      learners: n,
      obsDim: spec.obsDim,
      actDim: spec.actDim,
      discrete: false,
      extra: meta.extra,
      actGreedy(obs, out) {
        L.act(obs, unit, true);
        L.toBox(unit, out as Float32Array);
      },
    };
  }
  const spec = meta.spec as unknown as PpoSpec;
  const L = new PpoLearners(spec, rngs, meta.options as PpoOptionsInput);
  fillParams(file, f, [...L.actor.parameters(), ...(L.logStd ? [L.logStd] : [])]);
  return { kind: 'ppo', learners: n, obsDim: spec.obsDim, actDim: L.discrete ? 1 : spec.actDim, discrete: L.discrete, extra: meta.extra, actGreedy: (obs, out) => L.actGreedy(obs, out) };
}

/** Loads a SAC policy file (saveSacPolicy); a PPO file is refused. */
export function loadSacPolicy(file: string): SavedPolicy {
  const p = loadPolicy(file);
  if (p.kind !== 'sac') throw new IcrlError(`${file}: a ${p.kind} policy, not sac`, 'CONFIG');
  return p;
}

historyRecorders.register({ name: 'sac', description: 'SAC learners, one per task, trained at once; final-policy labels, evaluations, policy files, resume points', options: sacOptionsSchema, record: recordSacHistories, module: import.meta.url });
historyRecorders.register({ name: 'ppo', description: 'PPO learners, one per task, trained at once; final-policy labels, evaluations, policy files, resume points', options: ppoOptionsSchema, record: recordPpoHistories, module: import.meta.url });
