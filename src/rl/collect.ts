/**
 * Learning histories of deep learners into the history store: one SAC learner per task, all tasks
 * of a collection trained at once, every step recorded (float32 actions in the environment's box),
 * and `expert_actions` relabelled after training by each learner's final greedy policy on every
 * observation of its history (the XLand-100B practice of labelling with the final policy; the labels
 * DPT-style models are trained on). Optionally the final learners are saved as a checkpoint.
 *
 * Resume: with `checkpointEvery`, a resume point is written at episode starts; a killed collection
 * called again continues from the last one, identically to an uninterrupted run (./histories.ts).
 * With `evalEvery`, the learners' greedy returns over training are stored with the histories.
 */
import type { JsonValue } from '../core/spaces.js';
import { IcrlError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import type { Task } from '../tasks/taskSpace.js';
import { getFamily } from '../envs/index.js';
import { rmSync } from 'node:fs';
import { h5ready, writeHistories, type History } from '../data/index.js';
import { SacAgent, sacOptionsSchema, type SacOptions } from './sac.js';
import { learnerRecord, sacHooks, trainAndRecord } from './histories.js';

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
  /** evaluate every learner's greedy policy every this many steps (and at 0 and at the end), stored with its history (0: never) */
  evalEvery?: number;
  /** whole episodes per evaluation (default 1) */
  evalEpisodes?: number;
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
  const evalEvery = o.evalEvery ?? 0;
  const evalEnv = evalEvery > 0 ? getFamily(o.family).make(N, o.envOptions, rng.split('eval-env')) : undefined;
  evalEnv?.setTasks(o.tasks);
  const options = sacOptionsSchema.parse(o.sac ?? {});
  const agent = new SacAgent(options);
  const T = o.steps;
  const { obsDim: D, actDim: A } = env;
  const resume = resumeFile(o.file);
  const runId = { family: o.family, envOptions: o.envOptions ?? {}, tasks: o.tasks, steps: T, seed: o.seed, evalEvery, evalEpisodes: o.evalEpisodes ?? 1 };
  const r = trainAndRecord({ env, evalEnv, agent, ...sacHooks(agent), steps: T, rng, resume, runId, checkpointEvery: o.checkpointEvery, evalEvery, evalEpisodes: o.evalEpisodes, onStep: o.onStep });
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
    ...learnerRecord(r, i, T, D, A),
  }));
  writeHistories(o.file, histories);
  // the tasks ride along, so that a policy agent can find learner i's task (rl/policyAgent.ts)
  if (o.checkpoint) agent.saveCheckpoint(o.checkpoint, { family: o.family, envOptions: o.envOptions ?? {}, tasks: o.tasks as unknown as JsonValue });
  rmSync(resume, { force: true });
  return { histories, agent };
}
