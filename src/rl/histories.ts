/**
 * The training-and-recording loop behind deep learners' learning histories: one SAC learner per
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
 * Used by `collectSacHistories` (one file) and by the `sac` collection kind (`icrl collect`,
 * ./collectKinds.ts).
 */
import { existsSync } from 'node:fs';
import { IcrlError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import type { BatchedEnv } from '../envs/types.js';
import * as nn from '../nn/index.js';
import type { NamedArray } from '../nn/index.js';
import type { SacAgent } from './sac.js';

export interface TrainRecordOptions {
  /** the training environment: one instance (and one learner) per history, tasks already set */
  env: BatchedEnv;
  /** a copy of the environment with the same tasks for evaluations (needed when evalEvery > 0) */
  evalEnv?: BatchedEnv;
  agent: SacAgent;
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
  /** [N, T, obsDim], [N, T, actDim] (in the environment's box), [N, T], [N, T] */
  observations: Float32Array;
  actions: Float32Array;
  rewards: Float32Array;
  dones: Uint8Array;
  /** [N, T] (families with discrete states only) */
  states?: Int32Array;
  /** [N, T, actDim]: each learner's final greedy action on every observation of its history */
  expertActions: Float32Array;
  /** steps per instance at each evaluation, and the mean greedy return [N, E] (task-major) */
  evalSteps: Int32Array;
  evalReturns: Float32Array;
}

/** mean return of each instance's greedy policy over `episodes` episodes of `evalEnv`, reset with `seed` */
export function evaluateGreedySeeded(agent: SacAgent, evalEnv: BatchedEnv, episodes: number, seed: number): Float64Array {
  const n = evalEnv.numEnvs;
  evalEnv.reset(seed);
  const ret = new Float64Array(n);
  const out = new Float32Array(n * evalEnv.actDim);
  for (let t = 0; t < episodes * evalEnv.horizon; t++) {
    agent.actGreedy(evalEnv.obs, out);
    evalEnv.step(out);
    for (let i = 0; i < n; i++) ret[i] += evalEnv.rewards[i];
  }
  for (let i = 0; i < n; i++) ret[i] /= episodes;
  return ret;
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
  const { obsDim: D, actDim: A } = env;
  if (env.numActions > 0) throw new IcrlError(`deep-learner histories: ${env.family} has discrete actions; the sac kind needs a continuous action box`, 'CONFIG');
  const obs = new Float32Array(N * T * D);
  const act = new Float32Array(N * T * A);
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
    const extra = o.agent.restoreCheckpoint(o.resume);
    if (JSON.stringify(extra.run) !== JSON.stringify(o.runId)) throw new IcrlError(`${o.resume}: a resume point of another run (${JSON.stringify(extra.run)}); delete it to start over`, 'CONFIG');
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
  const actions = new Float32Array(N * A);
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
        part[`act.${i}`] = { shape: [done, A], data: act.subarray(i * T * A, (i * T + done) * A) };
        part[`rew.${i}`] = { shape: [done], data: rew.subarray(i * T, i * T + done) };
        part[`dones.${i}`] = { shape: [done], data: Float32Array.from(dones.subarray(i * T, i * T + done)) };
        if (states) part[`states.${i}`] = { shape: [done], data: Float32Array.from(states.subarray(i * T, i * T + done)) };
      }
      if (evalAt.length > 0) part.evalReturns = { shape: [evalAt.length, N], data: Float32Array.from(evalRet.flat()) };
      o.agent.saveCheckpoint(o.resume, { t: done, run: o.runId as never, evalSteps: evalAt as never }, part);
    }
    o.onStep?.(t);
  }
  const expert = new Float32Array(N * T * A);
  o.agent.learners!.greedyActions(obs, T, expert);
  const E = evalAt.length;
  const evalReturns = new Float32Array(N * E);
  for (let k = 0; k < E; k++) for (let i = 0; i < N; i++) evalReturns[i * E + k] = evalRet[k][i];
  return { observations: obs, actions: act, rewards: rew, dones, states, expertActions: expert, evalSteps: Int32Array.from(evalAt), evalReturns };
}
