/**
 * Linear bandit: K arms with fixed feature vectors x_a in R^d (d = 2..10 in the protocol), shared by
 * every task and drawn once from `featureSeed` (standard normal, scaled to unit length); a task is a
 * parameter vector theta in [-1, 1]^d (uniform when sampled). Pulling arm a pays
 * <theta, x_a> + N(0, noiseSd^2) (noiseSd 0 for evaluation).
 *
 * Same conventions as `bandit`: each pull is a one-step episode (`terminated = 1` every step, automatic
 * reset), the observation is a constant 0, and learners read the arm features from `armFeatures`.
 */
import { z } from 'zod';
import { BoxSpace, type JsonValue } from '../core/spaces.js';
import { Rng } from '../core/rng.js';
import { TaskSpace, type Task } from '../tasks/taskSpace.js';
import type { ArmFeatures, EnvFamily } from './types.js';
import { ArmBanditEnv } from './episodes.js';
import { parseOptions } from './common.js';

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

export class BatchedLinearBandit extends ArmBanditEnv<LinearBanditOptions> {
  readonly taskSpace: TaskSpace;
  readonly dim: number;

  /** Arm features, arms x dim (fixed across tasks). */
  readonly features: Float64Array;
  readonly armFeatures: ArmFeatures;
  /** theta of each instance, numEnvs x dim. */
  readonly theta: Float64Array;
  private readonly armMeans: Float64Array;

  constructor(numEnvs: number, options?: Record<string, unknown>, rng: Rng = new Rng(0)) {
    const o = parseOptions('linear-bandit', linearBanditOptionsSchema, options);
    super('linear-bandit', numEnvs, o, o.arms, { kind: 'gaussian', sd: o.noiseSd }, rng, 'linear-bandit-noise');
    this.taskSpace = linearBanditTaskSpace(o);
    this.dim = o.dim;
    this.features = linearBanditFeatures(o);
    this.armFeatures = { dim: o.dim, values: this.features };
    this.theta = new Float64Array(numEnvs * this.dim);
    this.armMeans = new Float64Array(o.arms);
    this.setTasks(this.taskSpace.sampleMany(rng.split('tasks'), numEnvs));
  }

  protected assign(i: number, t: Task): void {
    const th = t.params.theta as number[];
    const d = this.dim;
    const k = this.numActions;
    for (let j = 0; j < d; j++) this.theta[i * d + j] = th[j];
    for (let a = 0; a < k; a++) {
      let m = 0;
      for (let j = 0; j < d; j++) m += th[j] * this.features[a * d + j];
      this.armMeans[a] = m;
    }
    this.setArmMeans(i, this.armMeans);
  }

  protected taskParams(i: number): Record<string, JsonValue> {
    const d = this.dim;
    return { theta: Array.from(this.theta.subarray(i * d, i * d + d)) as JsonValue[] };
  }
}

export const linearBanditFamily: EnvFamily = {
  name: 'linear-bandit',
  description: 'Linear bandit: K arms with fixed unit features in R^d, reward <theta, x_a> + Gaussian noise; theta is the task',
  options: linearBanditOptionsSchema,
  setting: 'bandit',
  taskSpace: linearBanditTaskSpace,
  make: (numEnvs, options, rng) => new BatchedLinearBandit(numEnvs, options, rng),
};
