/**
 * The agent interface shared by source algorithms, classical baselines, trained models and LLM
 * agents. An agent plays a batch of environment instances at once: it acts from the current
 * observations (and whatever history it keeps), then observes the outcome of its actions. `act` may
 * be asynchronous (LLM agents call an HTTP endpoint).
 */
import type { ActionArray, BatchedEnv } from '../envs/types.js';
import type { Rng } from '../core/rng.js';

export interface StepOutcome {
  actions: ActionArray;
  rewards: Float32Array;
  /** Observations after the step (already reset where an episode ended). */
  obs: Float32Array;
  terminated: Uint8Array;
  truncated: Uint8Array;
}

export interface Agent {
  readonly name: string;
  /** Prepares to play `env` (its numEnvs instances, each with its task); clears all history. */
  reset(env: BatchedEnv, rng: Rng): void | Promise<void>;
  /** Writes one action per instance into `out` (Int32Array for discrete, Float32Array numEnvs x actDim for continuous). */
  act(obs: Float32Array, out: ActionArray): void | Promise<void>;
  /** Receives the outcome of the last `act`. */
  observe(outcome: StepOutcome): void;
}
