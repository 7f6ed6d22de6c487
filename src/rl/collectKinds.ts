/**
 * Deep learners as `icrl collect` source algorithms. src/data sits below the engine and cannot build
 * these learners, so this module registers history recorders for the `sac` and `ppo` kinds with the collection
 * (`historyRecorders`, with this module's URL: collection worker threads import it before
 * they start). A shard's batch of tasks trains one learner per task (and run) all at once
 * (./histories.ts), stores the histories with `expert_actions` relabelled by each learner's final
 * greedy policy and its evaluations over training, and writes each task's final policy weights to
 * `policy-<task>.safetensors` in the collection folder. With `training.checkpointEvery` a killed
 * shard continues from its last resume point, identically. PPO: the same histories, labels,
 * evaluations and resume points, but no policy files yet.
 */
import { configHash, historyRecorders, policyFile, type CollectConfig, type RecordedRun, type RecorderContext } from '../data/index.js';
import { IcrlError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import type { Task } from '../tasks/taskSpace.js';
import { getFamily } from '../envs/index.js';
import type { BatchedEnv } from '../envs/types.js';
import * as nn from '../nn/index.js';
import type { NamedArray } from '../nn/index.js';
import { SacAgent, SacLearners, sacOptionsSchema } from './sac.js';
import { PpoAgent, ppoOptionsSchema } from './ppo.js';
import { ppoHooks, sacHooks, trainAndRecord, type DeepLearner, type TrainRecordOptions } from './histories.js';

/** Records SAC learning histories for one batch of a collection shard (see the module note). */
export function recordSacHistories(env: BatchedEnv, c: CollectConfig, rng: Rng, ctx: RecorderContext): RecordedRun[] {
  const { kind: _kind, ...spec } = c.algorithm ?? {};
  const agent = new SacAgent(sacOptionsSchema.parse(spec));
  const R = c.historiesPerTask;
  return recordBatch(env, c, rng, ctx, agent, sacHooks(agent), () => {
    ctx.tasks.forEach((task, j) => saveSacPolicy(policyFile(ctx.outDir, ctx.firstTask + j), agent.learners!, j * R, R, { task: task.params, taskIndex: ctx.firstTask + j }));
  });
}

/** Records PPO learning histories for one batch (no policy files yet). */
export function recordPpoHistories(env: BatchedEnv, c: CollectConfig, rng: Rng, ctx: RecorderContext): RecordedRun[] {
  const { kind: _kind, ...spec } = c.algorithm ?? {};
  ppoOptionsSchema.parse(spec);
  const agent = new PpoAgent(spec);
  return recordBatch(env, c, rng, ctx, agent, ppoHooks(agent), () => undefined);
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
  const E = r.evalSteps.length;
  return Array.from({ length: N }, (_, i) => ({
    observations: r.observations.slice(i * T * D, (i + 1) * T * D),
    states: r.states ? r.states.slice(i * T, (i + 1) * T) : undefined,
    actions: r.actions.slice(i * T * A, (i + 1) * T * A),
    rewards: r.rewards.slice(i * T, (i + 1) * T),
    dones: r.dones.slice(i * T, (i + 1) * T),
    expert: r.expertActions.slice(i * T * A, (i + 1) * T * A),
    evaluation: E > 0 ? { steps: r.evalSteps, returns: r.evalReturns.slice(i * E, (i + 1) * E) } : undefined,
  }));
}

/**
 * Writes learners [first, first + count) of `L`'s actors (their weights with a leading learner axis
 * of `count`), the options and the action box to one safetensors file (atomically).
 */
export function saveSacPolicy(file: string, L: SacLearners, first: number, count: number, extra: Record<string, unknown> = {}): void {
  const tensors: Record<string, NamedArray> = {};
  for (const p of L.actor.parameters()) {
    const per = p.size / L.n;
    tensors[p.name!] = { shape: [count, ...p.shape.slice(1)], data: p.data.subarray(first * per, (first + count) * per) };
  }
  const meta = { kind: 'sac-policy', learners: count, spec: { obsDim: L.spec.obsDim, actDim: L.spec.actDim, low: Array.from(L.spec.low), high: Array.from(L.spec.high) }, options: L.opts, extra };
  nn.saveSafetensors(file, tensors, { icrl_rl: JSON.stringify(meta) });
}

/** A saved SAC policy: its learners' greedy actions (tanh of the mean, in the action box). */
export interface SacPolicy {
  learners: number;
  obsDim: number;
  actDim: number;
  extra: Record<string, unknown>;
  /** obs [learners, obsDim] -> out [learners, actDim] */
  actGreedy(obs: Float32Array, out: Float32Array): void;
}

/** Loads a file written by saveSacPolicy (each `policy-<task>.safetensors` of a sac collection). */
export function loadSacPolicy(file: string): SacPolicy {
  const f = nn.loadSafetensors(file);
  const raw = f.metadata.icrl_rl;
  const meta = raw ? (JSON.parse(raw) as { kind: string; learners: number; spec: { obsDim: number; actDim: number; low: number[]; high: number[] }; options: unknown; extra: Record<string, unknown> }) : null;
  if (!meta || meta.kind !== 'sac-policy') throw new IcrlError(`${file}: not a SAC policy file (no icrl_rl metadata of kind sac-policy)`, 'CORRUPT_FILE');
  const n = meta.learners;
  const rngs = Array.from({ length: n }, (_, i) => new Rng(0).split(`policy-${i}`));
  const L = new SacLearners(meta.spec, rngs, sacOptionsSchema.parse(meta.options));
  for (const p of L.actor.parameters()) {
    const src = f.tensors.get(p.name!);
    if (!src || src.data.length !== p.size) throw new IcrlError(`${file}: tensor "${p.name}" missing or not of shape [${p.shape.join(', ')}]`, 'CORRUPT_FILE');
    p.data.set(src.data);
  }
  const unit = new Float32Array(n * meta.spec.actDim);
  return {
    learners: n,
    obsDim: meta.spec.obsDim,
    actDim: meta.spec.actDim,
    extra: meta.extra,
    actGreedy(obs, out) {
      L.act(obs, unit, true);
      L.toBox(unit, out);
    },
  };
}

historyRecorders.register({ name: 'sac', description: 'SAC learners, one per task, trained at once; final-policy labels, evaluations, policy files, resume points', options: sacOptionsSchema, record: recordSacHistories, module: import.meta.url });
historyRecorders.register({ name: 'ppo', description: 'PPO learners, one per task, trained at once; final-policy labels, evaluations, resume points', options: ppoOptionsSchema, record: recordPpoHistories, module: import.meta.url });
