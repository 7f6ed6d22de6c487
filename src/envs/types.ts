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
import type { z } from 'zod';
import type { Task, TaskSpace } from '../tasks/taskSpace.js';
import type { SolvabilityCheck } from '../tasks/proposer.js';
import type { RegistryEntry } from '../core/registry.js';

export type ActionArray = Int32Array | Float32Array;

/**
 * `bandit`: every step is a one-step episode and `expectedReward` gives the exact value of each
 * action (regret curves, DPT labels from the current observation); `mdp`: multi-step episodes,
 * evaluated by return per in-context episode.
 */
export type EnvSetting = 'bandit' | 'mdp';

/** Independent uniform arm means and the reward noise of a bandit family (see `BatchedEnv.armPrior`). */
export interface ArmPrior {
  readonly low: number;
  readonly high: number;
  readonly reward: 'gaussian' | 'bernoulli';
  /** Standard deviation of Gaussian reward noise (0: noise-free). */
  readonly noiseSd: number;
}

/** Fixed arm features of a linear bandit: `values` is arms x dim, row-major. */
export interface ArmFeatures {
  readonly dim: number;
  readonly values: Float64Array;
}

export interface BatchedEnv {
  readonly family: string;
  /** bandit-like (one-step episodes, exact expected rewards) or MDP. */
  readonly setting: EnvSetting;
  /** The family options this environment was made with, every default filled in. */
  readonly options: Readonly<object>;
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
  /**
   * True when every observation coordinate is an integer category within the bounds of the
   * observation Box (xland's `observation: tiles`): model features one-hot each coordinate even
   * though the family has no tabular state index.
   */
  readonly discreteObservation?: boolean;

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
  /**
   * False for a family without an exact oracle (the MuJoCo families: `oracleAction` and `oracleValue`
   * raise); evaluations then leave the oracle and the ratios to it out. Absent means true.
   */
  readonly exactOracle?: boolean;
  /**
   * Families with a success criterion (`reach`, `push`): 1 where the episode that just ended
   * (valid where terminated | truncated) succeeded at any of its steps. The evaluator records it per
   * in-context episode (success rates).
   */
  readonly finalEpisodeSuccess?: Uint8Array;
  /**
   * A scripted expert's action for instance i in its current state (continuous actions, into `out`),
   * where the family has one (`reach`, `push`); the `expert` reference agent plays it.
   */
  expertAction?(i: number, out: Float32Array): void;
  /**
   * DPT's query distribution where the family has one: writes a state drawn from instance i's state
   * space with `rng` into `out` (obsDim floats) and returns the optimal action there. Families without
   * it take query states from their own roll-outs.
   */
  queryState?(i: number, rng: Rng, out: Float32Array): number;
  /**
   * The prior over tasks of a bandit family whose arm means are independent and uniform in
   * [low, high], with its reward noise: what an exact Bayesian posterior needs.
   */
  readonly armPrior?: ArmPrior;
  /** Fixed arm features (linear bandits), read by LinUCB, linear Thompson sampling and LLM prompts. */
  readonly armFeatures?: ArmFeatures;
  /**
   * Lines that explain the game to an LLM agent (rules, actions, goal, episode length), without the
   * answer format; families without it get a generic description.
   */
  promptDescription?(): string[];
}

/**
 * A family's registry entry: name, description, strict options schema, setting, and factories.
 * `taskSpace` and `make` accept raw options (validated against `options`, an unknown key is an error).
 */
export interface EnvFamily<S extends z.ZodType = z.ZodType> extends RegistryEntry {
  readonly options: S;
  readonly setting: EnvSetting;
  /** The family's task space (built from options such as size or arm count). */
  taskSpace(options?: Record<string, unknown>): TaskSpace;
  /** Creates a batched environment of `numEnvs` instances. */
  make(numEnvs: number, options?: Record<string, unknown>, rng?: Rng): BatchedEnv;
  /**
   * Loads what `make` needs, once per thread (the MuJoCo families: the WebAssembly module). Every
   * pipeline awaits it through `prepareFamily(name)` before making environments.
   */
  prepare?(): Promise<void>;
  /**
   * What `icrl envs show` draws for the family: `ruleset` (a task's picture as text, its ruleset and
   * the solver's optimum, with `--out` coloured SVG pictures in an HTML page: xland) or `episode` (one recorded episode as an animated HTML page: the
   * MuJoCo families); absent when the family has no picture.
   */
  readonly viewer?: 'ruleset' | 'episode';
  /**
   * A coloured picture (SVG markup) of a task's start, drawn with `seed` for what is random in it
   * (xland: the placement of the tiles and the agent); reports show it beside the results.
   */
  picture?(task: Task, options?: Record<string, unknown>, seed?: number): string;
  /**
   * How the family names a task and its environment in dataset files of the XLand-100B layout
   * (`ruleset-id`, `benchmark-id`, `env-id`); families without it are named by task index and family.
   */
  datasetIds?(task: Task, options?: Record<string, unknown>): { rulesetId: number; benchmarkId: string; envId: string };
  /**
   * What the task proposer (`icrl tasks propose`) needs beyond the generic checks: the JSON format of
   * a task for the prompt, the loads stage (the family's schema), identity and isomorphism keys for
   * the novel stage, and a solvable stage with the solver's statistics. See `proposalChecks`.
   */
  readonly proposal?: FamilyProposalHooks;
}

export interface FamilyProposalHooks {
  format?(options?: Record<string, unknown>): string;
  load?(value: unknown, options?: Record<string, unknown>): Task;
  identity?(task: Task): string;
  canonical?(task: Task): string;
  solvable?(options: Record<string, unknown> | undefined, minValue: number): (task: Task) => SolvabilityCheck;
}
