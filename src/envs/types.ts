/**
 * The batched environment interface every task family implements. One object steps N instances at
 * once over typed arrays (struct of arrays); each instance may run a different task of the family.
 * Conventions follow Gymnasium: after `step`, `terminated[i]` means the episode ended in a terminal
 * state, `truncated[i]` that it hit its time limit. Instances reset automatically: when an episode
 * ends, `obs` already holds the first observation of the next episode of the same task, and the final
 * observation of the finished episode is kept in `finalObs`.
 */
import type { Space } from '../core/spaces.js';
import type { Rng } from '../core/rng.js';
import type { Task, TaskSpace } from '../tasks/taskSpace.js';

export type ActionArray = Int32Array | Float32Array;

export interface BatchedEnv {
  readonly family: string;
  readonly numEnvs: number;
  readonly taskSpace: TaskSpace;
  /** Per-instance observation space (shape: obsDim floats). */
  readonly observationSpace: Space;
  /** Per-instance action space: discrete (Int32Array actions) or box (Float32Array, actDim per instance). */
  readonly actionSpace: Space;
  readonly obsDim: number;
  /** Number of discrete actions, or 0 for continuous actions. */
  readonly numActions: number;
  /** Floats per action for continuous actions (0 for discrete). */
  readonly actDim: number;
  /** Number of discrete states (tabular learners), or 0 when the state space is continuous. */
  readonly numStates: number;
  /** Steps per episode before truncation. */
  readonly horizon: number;

  /** Current observations, numEnvs x obsDim, row-major. */
  readonly obs: Float32Array;
  /** Discrete state index of each instance (only when numStates > 0). */
  readonly stateIndex: Int32Array;
  /** Filled by `step`. */
  readonly rewards: Float32Array;
  readonly terminated: Uint8Array;
  readonly truncated: Uint8Array;
  /** Observation at which the last episode of instance i ended (valid where terminated|truncated). */
  readonly finalObs: Float32Array;
  /** Step count within the current episode of each instance. */
  readonly episodeStep: Int32Array;

  /** Assigns a task to each instance (length numEnvs, or 1 to give all instances the same task). Validates every task. */
  setTasks(tasks: Task[]): void;
  /**
   * Assigns a task (validated) to instance i alone and starts a fresh episode there (bandits: the next
   * pull uses it), e.g. when a teacher hands out the next task as an episode ends. Optional; every
   * family of src/envs implements it.
   */
  setTask?(i: number, task: Task): void;
  /** The task of instance i as plain JSON parameters. Optional; every family of src/envs implements it. */
  getTask?(i: number): Task;
  /** Resets every instance to the start of a fresh episode; `seed` reseeds the environment's own stream. */
  reset(seed?: number): Float32Array;
  /** Steps all instances; throws an error naming the instance and value on an invalid action. */
  step(actions: ActionArray): void;

  /** Bandit families: expected reward of `action` for instance i (arm mean), for exact regret. Optional. */
  expectedReward?(i: number, action: number): number;
  /** Optimal action of instance i in its current state (discrete: index; continuous: writes into out). */
  oracleAction(i: number, out?: Float32Array): number;
  /** Expected return of the optimal policy from the start of an episode of instance i's task. */
  oracleValue(i: number): number;
}

/** Factory registered per family. */
export interface EnvFamily {
  readonly name: string;
  readonly description: string;
  /** The family's task space (built from options such as size or arm count). */
  taskSpace(options?: Record<string, unknown>): TaskSpace;
  /** Creates a batched environment of `numEnvs` instances. */
  make(numEnvs: number, options?: Record<string, unknown>, rng?: Rng): BatchedEnv;
}
