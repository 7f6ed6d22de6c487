/**
 * The episode bookkeeping every batched family shares, written once: the seven per-instance buffers
 * of {@link BatchedEnv}, task assignment (validated), `getTask`, `reset`, and automatic reset at the
 * end of an episode ({@link EpisodicEnv.endEpisode}). A family extends this class and keeps its own
 * monomorphic `step` loop; the loop writes the final observation of an ending episode into `obs` and
 * calls `endEpisode(i, terminated)`, which moves it to `finalObs` and starts the next episode.
 */
import { BoxSpace, DiscreteSpace, type JsonValue, type Space } from '../core/spaces.js';
import { Rng } from '../core/rng.js';
import type { Task, TaskSpace } from '../tasks/taskSpace.js';
import type { ActionArray, BatchedEnv, EnvSetting } from './types.js';
import { addBernoulli, addGaussianNoise, assignTasks, checkDiscreteActions, checkInstance } from './common.js';

export abstract class EpisodicEnv<O extends object = Record<string, unknown>> implements BatchedEnv {
  abstract readonly taskSpace: TaskSpace;
  abstract readonly observationSpace: Space;
  abstract readonly actionSpace: Space;
  abstract readonly numActions: number;
  abstract readonly actDim: number;
  abstract readonly numStates: number;
  abstract readonly horizon: number;
  abstract readonly setting: EnvSetting;

  readonly obs: Float32Array;
  readonly stateIndex: Int32Array;
  readonly rewards: Float32Array;
  readonly terminated: Uint8Array;
  readonly truncated: Uint8Array;
  readonly finalObs: Float32Array;
  readonly episodeStep: Int32Array;

  constructor(
    readonly family: string,
    readonly numEnvs: number,
    readonly obsDim: number,
    /** The family options, every default filled in. */
    readonly options: O,
  ) {
    if (!Number.isInteger(numEnvs) || numEnvs < 1) throw new RangeError(`${family}: numEnvs must be a positive integer, got ${numEnvs}`);
    this.obs = new Float32Array(numEnvs * obsDim);
    this.stateIndex = new Int32Array(numEnvs);
    this.rewards = new Float32Array(numEnvs);
    this.terminated = new Uint8Array(numEnvs);
    this.truncated = new Uint8Array(numEnvs);
    this.finalObs = new Float32Array(numEnvs * obsDim);
    this.episodeStep = new Int32Array(numEnvs);
  }

  /** Stores a validated task for instance i and starts a fresh episode there. */
  protected abstract assign(i: number, task: Task): void;
  /** The task parameters of instance i. */
  protected abstract taskParams(i: number): Record<string, JsonValue>;
  /** Puts instance i at the start of a fresh episode of its task (observation, state, episodeStep = 0). */
  protected abstract resetInstance(i: number): void;
  abstract step(actions: ActionArray): void;
  abstract oracleAction(i: number, out?: Float32Array): number;
  abstract oracleValue(i: number): number;

  /** Assigns tasks (validated: length numEnvs, or 1 for all) and starts a fresh episode in every instance. */
  setTasks(tasks: Task[]): void {
    assignTasks(this.taskSpace, this.numEnvs, tasks, (i, t) => this.assign(i, t));
  }

  /** Assigns a task (validated) to instance i alone and starts a fresh episode there. */
  setTask(i: number, task: Task): void {
    checkInstance(this.family, i, this.numEnvs);
    this.assign(i, this.taskSpace.check(task));
  }

  getTask(i: number): Task {
    checkInstance(this.family, i, this.numEnvs);
    return { family: this.family, params: this.taskParams(i) };
  }

  /** Reseeds the family's own stream (families with stochastic dynamics or rewards override it). */
  protected reseed(_seed: number): void {}

  /** Value of `terminated` right after a reset (1 for bandits, whose every step is a finished episode). */
  protected get terminatedAtReset(): 0 | 1 {
    return 0;
  }

  /** Starts a fresh episode everywhere; `seed` reseeds the family's own stream when it has one. */
  reset(seed?: number): Float32Array {
    if (seed !== undefined) this.reseed(seed);
    for (let i = 0; i < this.numEnvs; i++) this.resetInstance(i);
    this.rewards.fill(0);
    this.terminated.fill(this.terminatedAtReset);
    this.truncated.fill(0);
    return this.obs;
  }

  /**
   * Ends the episode of instance i: `obs` row i holds its final observation, which moves to `finalObs`;
   * sets `terminated` (a terminal state) or else `truncated` (the time limit), and resets the instance.
   */
  protected endEpisode(i: number, terminal: boolean): void {
    const d = this.obsDim;
    const obs = this.obs;
    const fin = this.finalObs;
    for (let q = i * d, end = q + d; q < end; q++) fin[q] = obs[q];
    this.terminated[i] = terminal ? 1 : 0;
    this.truncated[i] = terminal ? 0 : 1;
    this.resetInstance(i);
  }
}

/**
 * Bandit families (every pull a one-step episode, `terminated = 1` each step, a constant observation
 * 0): the arm means of each instance, the optimal arm, the reward noise, exact expected rewards and
 * the oracle, written once. A family sets the means of an instance with {@link ArmBanditEnv.setArmMeans}.
 */
const NOISE_FREE = 0;
const GAUSSIAN = 1;
const BERNOULLI = 2;

export abstract class ArmBanditEnv<O extends object> extends EpisodicEnv<O> {
  readonly setting = 'bandit';
  readonly observationSpace = new BoxSpace([0], [0]);
  readonly actionSpace: DiscreteSpace;
  readonly numActions: number;
  readonly actDim = 0;
  readonly numStates = 1;
  readonly horizon = 1;

  /** Expected reward of each arm for each instance, numEnvs x arms (the tasks). */
  readonly means: Float64Array;
  /** Optimal arm and its mean per instance. */
  readonly bestArm: Int32Array;
  readonly bestMean: Float64Array;

  private rng: Rng;
  private readonly noiseKind: number;
  private readonly noiseSd: number;

  constructor(
    family: string,
    numEnvs: number,
    options: O,
    arms: number,
    /** Gaussian noise of this sd (0: the mean itself), or Bernoulli rewards with the mean as success probability. */
    noise: { kind: 'gaussian'; sd: number } | { kind: 'bernoulli' },
    rng: Rng,
    private readonly noiseStream: string,
  ) {
    super(family, numEnvs, 1, options);
    // plain number fields: the step loop reads them without a shape check on a union object
    this.noiseKind = noise.kind === 'bernoulli' ? BERNOULLI : noise.sd === 0 ? NOISE_FREE : GAUSSIAN;
    this.noiseSd = noise.kind === 'gaussian' ? noise.sd : 0;
    this.numActions = arms;
    this.actionSpace = new DiscreteSpace(arms);
    this.means = new Float64Array(numEnvs * arms);
    this.bestArm = new Int32Array(numEnvs);
    this.bestMean = new Float64Array(numEnvs);
    this.terminated.fill(1);
    this.rng = rng.split(noiseStream);
  }

  /** Stores the arm means of instance i (means[a] for arm a) and its optimal arm (the first of ties). */
  protected setArmMeans(i: number, m: ArrayLike<number>): void {
    const k = this.numActions;
    let best = 0;
    for (let a = 0; a < k; a++) {
      this.means[i * k + a] = m[a];
      if (m[a] > m[best]) best = a;
    }
    this.bestArm[i] = best;
    this.bestMean[i] = m[best];
  }

  protected resetInstance(_i: number): void {}

  protected override get terminatedAtReset(): 0 | 1 {
    return 1;
  }

  protected override reseed(seed: number): void {
    this.rng = new Rng(seed).split(this.noiseStream);
  }

  step(actions: ActionArray): void {
    const n = this.numEnvs;
    const k = this.numActions;
    checkDiscreteActions(this.family, actions, n, k);
    const means = this.means;
    const rewards = this.rewards;
    const term = this.terminated;
    const kind = this.noiseKind;
    if (kind === NOISE_FREE) {
      for (let i = 0; i < n; i++) {
        rewards[i] = means[i * k + actions[i]];
        term[i] = 1;
      }
      return;
    }
    if (kind === BERNOULLI) addBernoulli(this.rng, n, means, actions, k, rewards);
    else addGaussianNoise(this.rng, this.noiseSd, n, means, actions, k, rewards);
    term.fill(1);
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
