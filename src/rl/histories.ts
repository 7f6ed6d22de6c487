/**
 * The training-and-recording loop behind deep learners' learning histories: one learner per
 * environment instance, all trained at once, every step of each recorded, the greedy policies
 * evaluated every `evalEvery` steps on a copy of the environment, `expert_actions` relabelled at
 * the end by each learner's final greedy policy, and resume points (learners, counters, the
 * histories and evaluations so far) written at episode starts.
 *
 * Identical resume: at every resume point, taken when every instance has just started an episode,
 * the training environment is reset with a seed drawn from the run's stream for that step, in the
 * uninterrupted run as in a resumed one; evaluations reset the
 * evaluation environment with a seed of their own step. So a resumed run equals the uninterrupted
 * one bit for bit, MuJoCo families (random initial states) included.
 *
 * Used by `collectSacHistories` (one file) and by the `sac` and `ppo` collection kinds (`icrl
 * collect`, ./collectKinds.ts). Resume points need hooks that save the learner's checkpoint with
 * the history so far in it (`resumable`: sacHooks, ppoHooks).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IcrlError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import type { ActionArray, BatchedEnv } from '../envs/types.js';
import type { StepOutcome } from '../algorithms/agent.js';
import * as nn from '../nn/index.js';
import type { NamedArray } from '../nn/index.js';
import type { SacAgent } from './sac.js';
import type { PpoAgent } from './ppo.js';

/** a batched learner the loop can train and record (SacAgent, PpoAgent): one learner per instance */
export interface DeepLearner {
  readonly name: string;
  reset(env: BatchedEnv, rng: Rng): void;
  act(obs: Float32Array, out: ActionArray): void;
  observe(o: StepOutcome): void;
  /** every learner's greedy action (evaluations; the labels, unless `relabel` is given) */
  actGreedy(obs: Float32Array, out: ActionArray): void;
}

/** how a learner saves and restores a resume point (SacAgent's saveCheckpoint / restoreCheckpoint) */
export interface ResumeHooks {
  save(file: string, extra: Record<string, unknown>, tensors: Record<string, NamedArray>): void;
  /** restores after reset() and returns the saved `extra` */
  restore(file: string): Record<string, unknown>;
}

export interface TrainRecordOptions {
  /** the training environment: one instance (and one learner) per history, tasks already set */
  env: BatchedEnv;
  /** a copy of the environment with the same tasks for evaluations (needed when evalEvery > 0) */
  evalEnv?: BatchedEnv;
  agent: DeepLearner;
  /** needed for checkpointEvery > 0 */
  resumable?: ResumeHooks;
  /**
   * the labels: each learner's final greedy action on its T recorded observations (obs [N, T,
   * obsDim] -> out [N, T(, actDim)]); default: actGreedy step by step
   */
  relabel?: (obs: Float32Array, T: number, out: ActionArray) => void;
  /** steps per instance (the length of each history) */
  steps: number;
  /** the run's stream (the agent's, the resets' and the evaluations' seeds are split from it) */
  rng: Rng;
  /** the resume point file (used only when checkpointEvery > 0) */
  resume: string;
  /** identity of the run (JSON): a resume point of another run is refused */
  runId: unknown;
  /** write a resume point every this many steps, where every instance has just started an episode (0: none) */
  checkpointEvery?: number;
  /** evaluate every learner's greedy policy every this many steps (and at 0 and at the end; 0: never) */
  evalEvery?: number;
  /** whole episodes per evaluation */
  evalEpisodes?: number;
  onStep?: (t: number) => void;
}

export interface RecordedTraining {
  /** [N, T, obsDim], [N, T] discrete or [N, T, actDim] continuous (in the environment's box), [N, T], [N, T] */
  observations: Float32Array;
  actions: Int32Array | Float32Array;
  rewards: Float32Array;
  dones: Uint8Array;
  /** [N, T] (families with discrete states only) */
  states?: Int32Array;
  /** each learner's final greedy action on every observation of its history (shaped as actions) */
  expertActions: Int32Array | Float32Array;
  /** steps per instance at each evaluation, and the mean greedy return [N, E] (task-major) */
  evalSteps: Int32Array;
  evalReturns: Float32Array;
}

/** Learner i's part of a recording: T steps of obsDim D and action width A (1 for discrete actions). */
export function learnerRecord(r: RecordedTraining, i: number, T: number, D: number, A: number) {
  const E = r.evalSteps.length;
  return {
    observations: r.observations.slice(i * T * D, (i + 1) * T * D),
    states: r.states ? r.states.slice(i * T, (i + 1) * T) : undefined,
    actions: r.actions.slice(i * T * A, (i + 1) * T * A),
    rewards: r.rewards.slice(i * T, (i + 1) * T),
    dones: r.dones.slice(i * T, (i + 1) * T),
    expertActions: r.expertActions.slice(i * T * A, (i + 1) * T * A),
    evaluation: E > 0 ? { steps: r.evalSteps, returns: r.evalReturns.slice(i * E, (i + 1) * E) } : undefined,
  };
}

/** mean return of each instance's greedy policy over `episodes` episodes of `evalEnv`, reset with `seed` */
export function evaluateGreedySeeded(agent: DeepLearner, evalEnv: BatchedEnv, episodes: number, seed: number): Float64Array {
  const n = evalEnv.numEnvs;
  evalEnv.reset(seed);
  const ret = new Float64Array(n);
  const out = evalEnv.numActions > 0 ? new Int32Array(n) : new Float32Array(n * evalEnv.actDim);
  for (let t = 0; t < episodes * evalEnv.horizon; t++) {
    agent.actGreedy(evalEnv.obs, out);
    evalEnv.step(out);
    for (let i = 0; i < n; i++) ret[i] += evalEnv.rewards[i];
  }
  for (let i = 0; i < n; i++) ret[i] /= episodes;
  return ret;
}

/** SAC's resume points (its checkpoint carries the history so far) and its batched relabelling */
export function sacHooks(agent: SacAgent): { resumable: ResumeHooks; relabel: (obs: Float32Array, T: number, out: ActionArray) => void } {
  return {
    resumable: { save: (file, extra, tensors) => agent.saveCheckpoint(file, extra, tensors), restore: (file) => agent.restoreCheckpoint(file) },
    relabel: (obs, T, out) => agent.learners!.greedyActions(obs, T, out as Float32Array),
  };
}

/**
 * PPO's resume points: its checkpoint (PpoLearners.saveCheckpoint, written to a scratch file first)
 * with the history so far added to it, in one atomic write; restoring reads the learners' tensors
 * and ignores the added ones.
 */
export function ppoHooks(agent: PpoAgent): { resumable: ResumeHooks } {
  return {
    resumable: {
      save: (file, extra, tensors) => {
        const scratch = mkdtempSync(join(tmpdir(), 'icrl-ppo-resume-'));
        try {
          const own = join(scratch, 'learners.safetensors');
          agent.learners!.saveCheckpoint(own, extra);
          const f = nn.loadSafetensors(own);
          const all: Record<string, NamedArray> = Object.fromEntries(f.tensors);
          for (const [k, v] of Object.entries(tensors)) all[`extra.${k}`] = v;
          nn.saveSafetensors(file, all, f.metadata);
        } finally {
          rmSync(scratch, { recursive: true, force: true });
        }
      },
      restore: (file) => agent.learners!.restoreCheckpoint(file),
    },
  };
}

const seedAt = (rng: Rng, what: string, t: number): number => rng.split(`${what}-${t}`).nextU32();

/** Trains the agent on `env` for `steps` steps per instance, recording everything (see the module note). */
export function trainAndRecord(o: TrainRecordOptions): RecordedTraining {
  const T = o.steps;
  if (!Number.isInteger(T) || T < 1) throw new IcrlError(`deep-learner histories: steps must be a positive integer, got ${T}`, 'CONFIG');
  const every = o.checkpointEvery ?? 0;
  const evalEvery = o.evalEvery ?? 0;
  const evalEpisodes = o.evalEpisodes ?? 1;
  if (evalEvery > 0 && !o.evalEnv) throw new IcrlError('deep-learner histories: evalEvery needs an evaluation environment', 'CONFIG');
  const env = o.env;
  const N = env.numEnvs;
  const D = env.obsDim;
  const discrete = env.numActions > 0;
  const A = discrete ? 1 : env.actDim;
  const actArray = (n: number): Int32Array | Float32Array => (discrete ? new Int32Array(n) : new Float32Array(n));
  if (every > 0 && !o.resumable) throw new IcrlError(`deep-learner histories: ${o.agent.name} cannot write resume points inside a shard yet; set training.checkpointEvery to 0`, 'CONFIG');
  const obs = new Float32Array(N * T * D);
  const act = actArray(N * T * A);
  const rew = new Float32Array(N * T);
  const dones = new Uint8Array(N * T);
  const states = env.numStates > 0 ? new Int32Array(N * T) : undefined;
  const evalAt: number[] = [];
  const evalRet: number[][] = [];
  const evaluate = (t: number): void => {
    evalAt.push(t);
    evalRet.push(Array.from(evaluateGreedySeeded(o.agent, o.evalEnv!, evalEpisodes, seedAt(o.rng, 'eval', t))));
  };
  env.reset(seedAt(o.rng, 'env', 0));
  o.agent.reset(env, o.rng.split('agent'));
  let t0 = 0;
  if (every > 0 && existsSync(o.resume)) {
    const extra = o.resumable!.restore(o.resume);
    if (JSON.stringify(extra.run) !== JSON.stringify(o.runId)) throw new IcrlError(`${o.resume}: a resume point of another collection (${JSON.stringify(extra.run)}); delete it to start over`, 'CONFIG');
    t0 = Number(extra.t);
    const f = nn.loadSafetensors(o.resume);
    const get = (k: string, n: number): Float32Array => {
      const a = f.tensors.get(`extra.${k}`);
      if (!a || a.data.length !== n) throw new IcrlError(`${o.resume}: "${k}" of the run so far is missing or not ${n} values`, 'CORRUPT_FILE');
      return a.data;
    };
    for (let i = 0; i < N; i++) {
      obs.set(get(`obs.${i}`, t0 * D), i * T * D);
      act.set(get(`act.${i}`, t0 * A), i * T * A);
      rew.set(get(`rew.${i}`, t0), i * T);
      dones.set(get(`dones.${i}`, t0), i * T);
      if (states) states.set(get(`states.${i}`, t0), i * T);
    }
    const at = (extra.evalSteps ?? []) as number[];
    if (at.length > 0) {
      const r = get('evalReturns', at.length * N);
      at.forEach((s, k) => {
        evalAt.push(s);
        evalRet.push(Array.from(r.subarray(k * N, (k + 1) * N)));
      });
    }
    // reset exactly as the uninterrupted run reset it at this step
    env.reset(seedAt(o.rng, 'env', t0));
  }
  if (evalEvery > 0 && evalAt.length === 0) evaluate(0);
  const actions = actArray(N * A);
  for (let t = t0; t < T; t++) {
    for (let i = 0; i < N; i++) {
      const k = i * T + t;
      obs.set(env.obs.subarray(i * D, (i + 1) * D), k * D);
      if (states) states[k] = env.stateIndex[i];
    }
    o.agent.act(env.obs, actions);
    env.step(actions);
    for (let i = 0; i < N; i++) {
      const k = i * T + t;
      act.set(actions.subarray(i * A, (i + 1) * A), k * A);
      rew[k] = env.rewards[i];
      dones[k] = env.terminated[i] || env.truncated[i] ? 1 : 0;
    }
    o.agent.observe({ actions, rewards: env.rewards, obs: env.obs, terminated: env.terminated, truncated: env.truncated });
    const done = t + 1;
    if (evalEvery > 0 && (done % evalEvery === 0 || done === T)) evaluate(done);
    if (every > 0 && done % every === 0 && done < T && env.episodeStep.every((s) => s === 0)) {
      env.reset(seedAt(o.rng, 'env', done));
      const part: Record<string, NamedArray> = {};
      for (let i = 0; i < N; i++) {
        part[`obs.${i}`] = { shape: [done, D], data: obs.subarray(i * T * D, (i * T + done) * D) };
        part[`act.${i}`] = { shape: [done, A], data: Float32Array.from(act.subarray(i * T * A, (i * T + done) * A)) };
        part[`rew.${i}`] = { shape: [done], data: rew.subarray(i * T, i * T + done) };
        part[`dones.${i}`] = { shape: [done], data: Float32Array.from(dones.subarray(i * T, i * T + done)) };
        if (states) part[`states.${i}`] = { shape: [done], data: Float32Array.from(states.subarray(i * T, i * T + done)) };
      }
      if (evalAt.length > 0) part.evalReturns = { shape: [evalAt.length, N], data: Float32Array.from(evalRet.flat()) };
      o.resumable!.save(o.resume, { t: done, run: o.runId, evalSteps: evalAt }, part);
    }
    o.onStep?.(t);
  }
  const expert = actArray(N * T * A);
  if (o.relabel) o.relabel(obs, T, expert);
  else {
    const rows = new Float32Array(N * D);
    const out = actArray(N * A);
    for (let t = 0; t < T; t++) {
      for (let i = 0; i < N; i++) rows.set(obs.subarray((i * T + t) * D, (i * T + t + 1) * D), i * D);
      o.agent.actGreedy(rows, out);
      for (let i = 0; i < N; i++) expert.set(out.subarray(i * A, (i + 1) * A), (i * T + t) * A);
    }
  }
  const E = evalAt.length;
  const evalReturns = new Float32Array(N * E);
  for (let k = 0; k < E; k++) for (let i = 0; i < N; i++) evalReturns[i * E + k] = evalRet[k][i];
  return { observations: obs, actions: act, rewards: rew, dones, states, expertActions: expert, evalSteps: Int32Array.from(evalAt), evalReturns };
}
