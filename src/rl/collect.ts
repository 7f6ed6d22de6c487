/**
 * Learning histories of deep learners into the history store: one SAC learner per task, all tasks
 * of a collection trained at once, every step recorded (float32 actions in the environment's box),
 * and `expert_actions` relabelled after training by each learner's final greedy policy on every
 * observation of its history (the XLand-100B practice of labelling with the final policy; the labels
 * DPT-style models are trained on). Optionally the final learners are saved as a checkpoint.
 *
 * Resume: with `checkpointEvery`, a resume point is written at episode starts; a killed collection
 * called again continues from the last one. The continuation is identical to an uninterrupted run
 * for families whose episodes start deterministically (point-robot, Dark Room: the environment is
 * rebuilt and reset, its own random stream is not restored).
 */
import type { JsonValue } from '../core/spaces.js';
import { IcrlError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import type { Task } from '../tasks/taskSpace.js';
import { getFamily } from '../envs/index.js';
import { existsSync, rmSync } from 'node:fs';
import * as nn from '../nn/index.js';
import type { NamedArray } from '../nn/index.js';
import { h5ready, writeHistories, type History } from '../data/index.js';
import { SacAgent, sacOptionsSchema, type SacOptions } from './sac.js';

export interface SacCollectOptions {
  family: string;
  envOptions?: Record<string, unknown>;
  /** one learner (and one history) per task */
  tasks: Task[];
  sac?: Partial<SacOptions>;
  /** environment steps per task (the length of each history) */
  steps: number;
  seed: number;
  /** the .h5 file written (atomically) */
  file: string;
  /** where to save the final learners (SacLearners.saveCheckpoint, with the family, envOptions and tasks in its extra), if given */
  checkpoint?: string;
  /**
   * Save a resume point (`<file>.resume.safetensors`: learners, agent counters and the histories so
   * far) every this many steps, taken only where every instance has just started an episode; a
   * later call with the same options continues from it and then deletes it. 0: none.
   */
  checkpointEvery?: number;
  /** called after every recorded step (progress; an exception stops the collection, keeping the last resume point) */
  onStep?: (t: number) => void;
}

/** the resume point of a collection writing `file` */
export function resumeFile(file: string): string {
  return `${file}.resume.safetensors`;
}

/** Trains the learners, writes their histories (groups "0", "1", ... in task order) and returns them. */
export async function collectSacHistories(o: SacCollectOptions): Promise<{ histories: History[]; agent: SacAgent }> {
  if (o.tasks.length < 1) throw new IcrlError('collectSacHistories: no tasks', 'CONFIG');
  if (!Number.isInteger(o.steps) || o.steps < 1) throw new IcrlError(`collectSacHistories: steps must be a positive integer, got ${o.steps}`, 'CONFIG');
  await h5ready();
  const rng = new Rng(o.seed);
  const N = o.tasks.length;
  const env = getFamily(o.family).make(N, o.envOptions, rng.split('env'));
  env.setTasks(o.tasks);
  const options = sacOptionsSchema.parse(o.sac ?? {});
  const agent = new SacAgent(options);
  const T = o.steps;
  const { obsDim: D, actDim: A } = env;
  const obs = new Float32Array(N * T * D);
  const act = new Float32Array(N * T * A);
  const rew = new Float32Array(N * T);
  const dones = new Uint8Array(N * T);
  const states = env.numStates > 0 ? new Int32Array(N * T) : undefined;
  // the loop of algorithms/play.ts, with resume points at episode starts
  env.reset();
  agent.reset(env, rng.split('agent'));
  const resume = resumeFile(o.file);
  const runId = { family: o.family, envOptions: o.envOptions ?? {}, tasks: o.tasks, steps: T, seed: o.seed };
  let t0 = 0;
  if (o.checkpointEvery && existsSync(resume)) {
    const extra = agent.restoreCheckpoint(resume);
    const same = JSON.stringify(extra.run) === JSON.stringify(runId);
    if (!same) throw new IcrlError(`${resume}: a resume point of another collection (${JSON.stringify(extra.run)}); delete it to start over`, 'CONFIG');
    t0 = Number(extra.t);
    const f = nn.loadSafetensors(resume);
    const get = (k: string, n: number): Float32Array => {
      const a = f.tensors.get(`extra.${k}`);
      if (!a || a.data.length !== n) throw new IcrlError(`${resume}: "${k}" of the history so far is missing or not ${n} values`, 'CORRUPT_FILE');
      return a.data;
    };
    for (let i = 0; i < N; i++) {
      obs.set(get(`obs.${i}`, t0 * D), i * T * D);
      act.set(get(`act.${i}`, t0 * A), i * T * A);
      rew.set(get(`rew.${i}`, t0), i * T);
      dones.set(get(`dones.${i}`, t0), i * T);
      if (states) states.set(get(`states.${i}`, t0), i * T);
    }
  }
  const actions = new Float32Array(N * A);
  for (let t = t0; t < T; t++) {
    for (let i = 0; i < N; i++) {
      const k = i * T + t;
      obs.set(env.obs.subarray(i * D, (i + 1) * D), k * D);
      if (states) states[k] = env.stateIndex[i];
    }
    agent.act(env.obs, actions);
    env.step(actions);
    for (let i = 0; i < N; i++) {
      const k = i * T + t;
      act.set(actions.subarray(i * A, (i + 1) * A), k * A);
      rew[k] = env.rewards[i];
      dones[k] = env.terminated[i] || env.truncated[i] ? 1 : 0;
    }
    agent.observe({ actions, rewards: env.rewards, obs: env.obs, terminated: env.terminated, truncated: env.truncated });
    const done = t + 1;
    if (o.checkpointEvery && done % o.checkpointEvery === 0 && done < T && env.episodeStep.every((s) => s === 0)) {
      const part: Record<string, NamedArray> = {};
      for (let i = 0; i < N; i++) {
        part[`obs.${i}`] = { shape: [done, D], data: obs.subarray(i * T * D, (i * T + done) * D) };
        part[`act.${i}`] = { shape: [done, A], data: act.subarray(i * T * A, (i * T + done) * A) };
        part[`rew.${i}`] = { shape: [done], data: rew.subarray(i * T, i * T + done) };
        part[`dones.${i}`] = { shape: [done], data: Float32Array.from(dones.subarray(i * T, i * T + done)) };
        if (states) part[`states.${i}`] = { shape: [done], data: Float32Array.from(states.subarray(i * T, i * T + done)) };
      }
      agent.saveCheckpoint(resume, { t: done, run: runId }, part);
    }
    o.onStep?.(t);
  }
  const L = agent.learners!;
  const expert = new Float32Array(N * T * A);
  L.greedyActions(obs, T, expert);
  const algorithm = { kind: 'sac', ...options } as unknown as JsonValue;
  const histories: History[] = o.tasks.map((task, i) => ({
    task,
    taskIndex: i,
    seed: o.seed,
    algorithm,
    numHistories: 1,
    length: T,
    obsDim: D,
    numActions: 0,
    actDim: A,
    numStates: env.numStates,
    horizon: env.horizon,
    observations: obs.slice(i * T * D, (i + 1) * T * D),
    states: states ? states.slice(i * T, (i + 1) * T) : undefined,
    actions: act.slice(i * T * A, (i + 1) * T * A),
    rewards: rew.slice(i * T, (i + 1) * T),
    dones: dones.slice(i * T, (i + 1) * T),
    expertActions: expert.slice(i * T * A, (i + 1) * T * A),
  }));
  writeHistories(o.file, histories);
  // the tasks ride along, so that a policy agent can find learner i's task (rl/policyAgent.ts)
  if (o.checkpoint) agent.saveCheckpoint(o.checkpoint, { family: o.family, envOptions: o.envOptions ?? {}, tasks: o.tasks as unknown as JsonValue });
  rmSync(resume, { force: true });
  return { histories, agent };
}
