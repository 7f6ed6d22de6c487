/**
 * Linear bandit: K arms with fixed feature vectors x_a in R^d (d = 2..10 in the protocol), shared by
 * every task and drawn once from `featureSeed` (standard normal, scaled to unit length); a task is a
 * parameter vector theta in [-1, 1]^d (uniform when sampled). Pulling arm a pays
 * <theta, x_a> + N(0, noiseSd^2) (noiseSd 0 for evaluation).
 *
 * Same conventions as `bandit`: each pull is a one-step episode (`terminated = 1` every step, automatic
 * reset), the observation is a constant 0, and learners read the arm features from `features`.
 */
import { z } from 'zod';
import { BoxSpace, DiscreteSpace, type JsonValue } from '../core/spaces.js';
import { Rng } from '../core/rng.js';
import { TaskSpace, type Task } from '../tasks/taskSpace.js';
import type { ActionArray, BatchedEnv, EnvFamily } from './types.js';
import { addGaussianNoise, assignTasks, checkDiscreteActions, checkInstance, parseOptions } from './common.js';

export const linearBanditOptionsSchema = z
  .object({
    arms: z.number().int().min(2).max(4096).default(10),
    dim: z.number().int().min(1).max(256).default(5),
    noiseSd: z.number().min(0).max(100).default(0.3),
    featureSeed: z.number().int().min(0).default(0),
  })
  .strict();
export type LinearBanditOptions = z.output<typeof linearBanditOptionsSchema>;

export function linearBanditTaskSpace(options?: Record<string, unknown>): TaskSpace {
  const o = parseOptions('linear-bandit', linearBanditOptionsSchema, options);
  return new TaskSpace(
    'linear-bandit',
    { theta: new BoxSpace(new Array<number>(o.dim).fill(-1), new Array<number>(o.dim).fill(1)) },
    { descriptions: { theta: `reward parameter in R^${o.dim}; arm a pays <theta, x_a> + noise (uniform in [-1, 1]^${o.dim} when sampled)` } },
  );
}

/** The fixed arm features (arms x dim, row-major) for the given options: unit-length Gaussian directions. */
export function linearBanditFeatures(options?: Record<string, unknown>): Float64Array {
  const o = parseOptions('linear-bandit', linearBanditOptionsSchema, options);
  const rng = new Rng(o.featureSeed).split('linear-bandit-features');
  const f = new Float64Array(o.arms * o.dim);
  for (let a = 0; a < o.arms; a++) {
    let norm = 0;
    while (norm === 0) {
      norm = 0;
      for (let j = 0; j < o.dim; j++) {
        const v = rng.normal();
        f[a * o.dim + j] = v;
        norm += v * v;
      }
    }
    norm = Math.sqrt(norm);
    for (let j = 0; j < o.dim; j++) f[a * o.dim + j] /= norm;
  }
  return f;
}

export class BatchedLinearBandit implements BatchedEnv {
  readonly family = 'linear-bandit';
  readonly taskSpace: TaskSpace;
  readonly observationSpace = new BoxSpace([0], [0]);
  readonly actionSpace: DiscreteSpace;
  readonly obsDim = 1;
  readonly numActions: number;
  readonly actDim = 0;
  readonly numStates = 1;
  readonly horizon = 1;
  readonly dim: number;
  readonly options: LinearBanditOptions;

  readonly obs: Float32Array;
  readonly stateIndex: Int32Array;
  readonly rewards: Float32Array;
  readonly terminated: Uint8Array;
  readonly truncated: Uint8Array;
  readonly finalObs: Float32Array;
  readonly episodeStep: Int32Array;

  /** Arm features, arms x dim (fixed across tasks). */
  readonly features: Float64Array;
  /** theta of each instance, numEnvs x dim. */
  readonly theta: Float64Array;
  /** Expected reward of each arm for each instance, numEnvs x arms. */
  readonly means: Float64Array;
  readonly bestArm: Int32Array;
  readonly bestMean: Float64Array;

  private rng: Rng;
  private readonly sd: number;

  constructor(
    readonly numEnvs: number,
    options?: Record<string, unknown>,
    rng: Rng = new Rng(0),
  ) {
    if (!Number.isInteger(numEnvs) || numEnvs < 1) throw new RangeError(`linear-bandit: numEnvs must be a positive integer, got ${numEnvs}`);
    this.options = parseOptions('linear-bandit', linearBanditOptionsSchema, options);
    this.taskSpace = linearBanditTaskSpace(this.options);
    const k = this.options.arms;
    this.numActions = k;
    this.dim = this.options.dim;
    this.actionSpace = new DiscreteSpace(k);
    this.sd = this.options.noiseSd;
    this.features = linearBanditFeatures(this.options);
    this.obs = new Float32Array(numEnvs);
    this.stateIndex = new Int32Array(numEnvs);
    this.rewards = new Float32Array(numEnvs);
    this.terminated = new Uint8Array(numEnvs).fill(1);
    this.truncated = new Uint8Array(numEnvs);
    this.finalObs = new Float32Array(numEnvs);
    this.episodeStep = new Int32Array(numEnvs);
    this.theta = new Float64Array(numEnvs * this.dim);
    this.means = new Float64Array(numEnvs * k);
    this.bestArm = new Int32Array(numEnvs);
    this.bestMean = new Float64Array(numEnvs);
    this.rng = rng.split('linear-bandit-noise');
    this.setTasks(this.taskSpace.sampleMany(rng.split('tasks'), numEnvs));
  }

  setTasks(tasks: Task[]): void {
    assignTasks(this.taskSpace, this.numEnvs, tasks, (i, t) => this.assign(i, t));
  }

  setTask(i: number, task: Task): void {
    checkInstance(this.family, i, this.numEnvs);
    this.assign(i, this.taskSpace.check(task));
  }

  private assign(i: number, t: Task): void {
    const th = t.params.theta as number[];
    const d = this.dim;
    const k = this.numActions;
    for (let j = 0; j < d; j++) this.theta[i * d + j] = th[j];
    let best = 0;
    for (let a = 0; a < k; a++) {
      let m = 0;
      for (let j = 0; j < d; j++) m += th[j] * this.features[a * d + j];
      this.means[i * k + a] = m;
      if (m > this.means[i * k + best]) best = a;
    }
    this.bestArm[i] = best;
    this.bestMean[i] = this.means[i * k + best];
  }

  getTask(i: number): Task {
    checkInstance(this.family, i, this.numEnvs);
    const d = this.dim;
    return { family: this.family, params: { theta: Array.from(this.theta.subarray(i * d, i * d + d)) as JsonValue[] } };
  }

  reset(seed?: number): Float32Array {
    if (seed !== undefined) this.rng = new Rng(seed).split('linear-bandit-noise');
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

  /** max_a <theta, x_a>: the value of a one-step episode under the optimal policy. */
  oracleValue(i: number): number {
    checkInstance(this.family, i, this.numEnvs);
    return this.bestMean[i];
  }
}

export const linearBanditFamily: EnvFamily = {
  name: 'linear-bandit',
  description: 'Linear bandit: K arms with fixed unit features in R^d, reward <theta, x_a> + Gaussian noise; theta is the task',
  taskSpace: linearBanditTaskSpace,
  make: (numEnvs, options, rng) => new BatchedLinearBandit(numEnvs, options, rng),
};
