/**
 * Multi-armed bandit (DPT protocol defaults): 5 arms whose means are the task, drawn uniformly from
 * [0, 1]; Gaussian rewards with sd 0.3 (set `noiseSd: 0` for evaluation, as DPT does) or Bernoulli
 * rewards with the arm mean as success probability.
 *
 * Convention: each pull is a one-step episode. Every `step` ends the episode of every instance with
 * `terminated = 1` (no bootstrapping past a pull), and the instance resets automatically to the same
 * bandit. The observation is a single constant 0 (bandits have no state); `numStates = 1`. The
 * "horizon" of the DPT protocol (500 pulls) is the number of steps an evaluator runs, not an episode
 * length here.
 */
import { z } from 'zod';
import { BoxSpace, DiscreteSpace, type JsonValue } from '../core/spaces.js';
import { Rng } from '../core/rng.js';
import { TaskSpace, type Task } from '../tasks/taskSpace.js';
import type { ActionArray, BatchedEnv, EnvFamily } from './types.js';
import { addBernoulli, addGaussianNoise, assignTasks, checkDiscreteActions, checkInstance, parseOptions } from './common.js';

export const banditOptionsSchema = z
  .object({
    arms: z.number().int().min(2).max(4096).default(5),
    reward: z.enum(['gaussian', 'bernoulli']).default('gaussian'),
    noiseSd: z.number().min(0).max(100).default(0.3),
  })
  .strict();
export type BanditOptions = z.output<typeof banditOptionsSchema>;

export function banditTaskSpace(options?: Record<string, unknown>): TaskSpace {
  const o = parseOptions('bandit', banditOptionsSchema, options);
  return new TaskSpace(
    'bandit',
    { means: new BoxSpace(new Array<number>(o.arms).fill(0), new Array<number>(o.arms).fill(1)) },
    { descriptions: { means: `mean reward of each of the ${o.arms} arms (uniform in [0, 1] when sampled)` } },
  );
}

export class BatchedBandit implements BatchedEnv {
  readonly family = 'bandit';
  readonly taskSpace: TaskSpace;
  readonly observationSpace = new BoxSpace([0], [0]);
  readonly actionSpace: DiscreteSpace;
  readonly obsDim = 1;
  readonly numActions: number;
  readonly actDim = 0;
  readonly numStates = 1;
  readonly horizon = 1;
  readonly options: BanditOptions;

  readonly obs: Float32Array;
  readonly stateIndex: Int32Array;
  readonly rewards: Float32Array;
  readonly terminated: Uint8Array;
  readonly truncated: Uint8Array;
  readonly finalObs: Float32Array;
  readonly episodeStep: Int32Array;

  /** Arm means, numEnvs x arms (the tasks). */
  readonly means: Float64Array;
  /** Optimal arm and its mean per instance. */
  readonly bestArm: Int32Array;
  readonly bestMean: Float64Array;

  private rng: Rng;
  private readonly gaussian: boolean;
  private readonly sd: number;

  constructor(
    readonly numEnvs: number,
    options?: Record<string, unknown>,
    rng: Rng = new Rng(0),
  ) {
    if (!Number.isInteger(numEnvs) || numEnvs < 1) throw new RangeError(`bandit: numEnvs must be a positive integer, got ${numEnvs}`);
    this.options = parseOptions('bandit', banditOptionsSchema, options);
    this.taskSpace = banditTaskSpace(this.options);
    const k = this.options.arms;
    this.numActions = k;
    this.actionSpace = new DiscreteSpace(k);
    this.gaussian = this.options.reward === 'gaussian';
    this.sd = this.options.noiseSd;
    this.obs = new Float32Array(numEnvs);
    this.stateIndex = new Int32Array(numEnvs);
    this.rewards = new Float32Array(numEnvs);
    this.terminated = new Uint8Array(numEnvs).fill(1);
    this.truncated = new Uint8Array(numEnvs);
    this.finalObs = new Float32Array(numEnvs);
    this.episodeStep = new Int32Array(numEnvs);
    this.means = new Float64Array(numEnvs * k);
    this.bestArm = new Int32Array(numEnvs);
    this.bestMean = new Float64Array(numEnvs);
    this.rng = rng.split('bandit-noise');
    this.setTasks(this.taskSpace.sampleMany(rng.split('tasks'), numEnvs));
  }

  setTasks(tasks: Task[]): void {
    assignTasks(this.taskSpace, this.numEnvs, tasks, (i, t) => this.assign(i, t));
  }

  /** Assigns a task to one instance (validated); its next pull uses the new means. */
  setTask(i: number, task: Task): void {
    checkInstance(this.family, i, this.numEnvs);
    this.assign(i, this.taskSpace.check(task));
  }

  private assign(i: number, t: Task): void {
    const m = t.params.means as number[];
    const k = this.numActions;
    let best = 0;
    for (let a = 0; a < k; a++) {
      this.means[i * k + a] = m[a];
      if (m[a] > m[best]) best = a;
    }
    this.bestArm[i] = best;
    this.bestMean[i] = m[best];
  }

  /** The task of instance i as plain JSON parameters. */
  getTask(i: number): Task {
    checkInstance(this.family, i, this.numEnvs);
    const k = this.numActions;
    return { family: this.family, params: { means: Array.from(this.means.subarray(i * k, i * k + k)) as JsonValue[] } };
  }

  reset(seed?: number): Float32Array {
    if (seed !== undefined) this.rng = new Rng(seed).split('bandit-noise');
    this.rewards.fill(0);
    this.terminated.fill(1);
    this.truncated.fill(0);
    return this.obs;
  }

  step(actions: ActionArray): void {
    const n = this.numEnvs;
    const k = this.numActions;
    checkDiscreteActions(this.family, actions, n, k);
    const means = this.means;
    const rewards = this.rewards;
    const term = this.terminated;
    if (this.gaussian) {
      const sd = this.sd;
      if (sd === 0) {
        for (let i = 0; i < n; i++) {
          rewards[i] = means[i * k + actions[i]];
          term[i] = 1;
        }
      } else {
        addGaussianNoise(this.rng, sd, n, means, actions, k, rewards);
        term.fill(1);
      }
    } else {
      addBernoulli(this.rng, n, means, actions, k, rewards);
      term.fill(1);
    }
  }

  /** Expected reward of pulling arm `action` in instance i (regret = oracleValue(i) - expectedReward(i, a)). */
  expectedReward(i: number, action: number): number {
    checkInstance(this.family, i, this.numEnvs);
    this.actionSpace.check(action, `${this.family} action`);
    return this.means[i * this.numActions + action];
  }

  oracleAction(i: number): number {
    checkInstance(this.family, i, this.numEnvs);
    return this.bestArm[i];
  }

  /** Expected reward of the best arm: the value of a one-step episode under the optimal policy. */
  oracleValue(i: number): number {
    checkInstance(this.family, i, this.numEnvs);
    return this.bestMean[i];
  }
}

export const banditFamily: EnvFamily = {
  name: 'bandit',
  description: 'Multi-armed bandit, Gaussian (sd 0.3, 0 for evaluation) or Bernoulli rewards; each pull is a one-step episode',
  taskSpace: banditTaskSpace,
  make: (numEnvs, options, rng) => new BatchedBandit(numEnvs, options, rng),
};
