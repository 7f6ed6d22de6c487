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
import { BoxSpace, type JsonValue } from '../core/spaces.js';
import { Rng } from '../core/rng.js';
import { TaskSpace, type Task } from '../tasks/taskSpace.js';
import type { ArmPrior, EnvFamily } from './types.js';
import { ArmBanditEnv } from './episodes.js';
import { parseOptions } from './common.js';

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

export class BatchedBandit extends ArmBanditEnv<BanditOptions> {
  readonly taskSpace: TaskSpace;
  readonly armPrior: ArmPrior;

  constructor(numEnvs: number, options?: Record<string, unknown>, rng: Rng = new Rng(0)) {
    const o = parseOptions('bandit', banditOptionsSchema, options);
    super('bandit', numEnvs, o, o.arms, o.reward === 'gaussian' ? { kind: 'gaussian', sd: o.noiseSd } : { kind: 'bernoulli' }, rng, 'bandit-noise');
    this.taskSpace = banditTaskSpace(o);
    this.armPrior = { low: 0, high: 1, reward: o.reward, noiseSd: o.reward === 'gaussian' ? o.noiseSd : 0 };
    this.setTasks(this.taskSpace.sampleMany(rng.split('tasks'), numEnvs));
  }

  protected assign(i: number, t: Task): void {
    this.setArmMeans(i, t.params.means as number[]);
  }

  protected taskParams(i: number): Record<string, JsonValue> {
    const k = this.numActions;
    return { means: Array.from(this.means.subarray(i * k, i * k + k)) as JsonValue[] };
  }
}

export const banditFamily: EnvFamily = {
  name: 'bandit',
  description: 'Multi-armed bandit, Gaussian (sd 0.3, 0 for evaluation) or Bernoulli rewards; each pull is a one-step episode',
  options: banditOptionsSchema,
  setting: 'bandit',
  taskSpace: banditTaskSpace,
  make: (numEnvs, options, rng) => new BatchedBandit(numEnvs, options, rng),
};
