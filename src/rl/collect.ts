/**
 * Learning histories of deep learners into the history store: one SAC learner per task, all tasks
 * of a collection trained at once, every step recorded (float32 actions in the environment's box),
 * and `expert_actions` relabelled after training by each learner's final greedy policy on every
 * observation of its history (the XLand-100B practice of labelling with the final policy; the labels
 * DPT-style models are trained on). Optionally the final learners are saved as a checkpoint.
 */
import type { JsonValue } from '../core/spaces.js';
import { IcrlError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import type { Task } from '../tasks/taskSpace.js';
import { getFamily } from '../envs/index.js';
import { play } from '../algorithms/play.js';
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
  /** where to save the final learners (SacLearners.saveCheckpoint), if given */
  checkpoint?: string;
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
  await play(env, agent, T, rng.split('agent'), (tr) => {
    const t = tr.step;
    for (let i = 0; i < N; i++) {
      const k = i * T + t;
      obs.set(tr.prevObs.subarray(i * D, (i + 1) * D), k * D);
      act.set((tr.actions as Float32Array).subarray(i * A, (i + 1) * A), k * A);
      rew[k] = tr.rewards[i];
      dones[k] = tr.terminated[i] || tr.truncated[i] ? 1 : 0;
      if (states) states[k] = tr.prevState[i];
    }
  });
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
  if (o.checkpoint) agent.saveCheckpoint(o.checkpoint);
  return { histories, agent };
}
