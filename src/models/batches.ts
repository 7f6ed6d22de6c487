/**
 * What the trainer consumes: batches of model-ready tokens, drawn by a seeded sampler, so that the
 * data position of a run is just the state of its data stream (saved in every checkpoint).
 */
import type { Rng } from '../core/rng.js';
import type { Task } from '../tasks/taskSpace.js';
import type { EnvDims } from './features.js';

/** DPT: B samples of T context transitions, a query each, and the optimal action at the query. */
export interface DptBatch {
  kind: 'dpt';
  B: number;
  T: number;
  /** [B, T, tokenSize] (see models/features.ts). */
  tokens: Float32Array;
  /** [B, querySize]. */
  queries: Float32Array;
  /** Discrete: optimal action per sample [B]. Continuous: [B, actDim]. */
  labels: Int32Array | Float32Array;
}

/** AD: B windows of T steps of learning histories and the source's action at every step. */
export interface AdBatch {
  kind: 'ad';
  B: number;
  T: number;
  /** [B, T, tokenSize]. */
  tokens: Float32Array;
  /** Discrete: [B * T] (-1 = no target); continuous: [B * T * actDim]. */
  targets: Int32Array | Float32Array;
}

export type Batch = DptBatch | AdBatch;

export interface TrainingData {
  kind: 'ad' | 'dpt';
  dims: EnvDims;
  /** DPT: transitions per sample; AD: tokens per window. */
  contextLength: number;
  /** Numbers of training / validation tasks (validation tasks are training-distribution tasks kept out of the batches). */
  numTrainTasks: number;
  numValTasks: number;
  /** Held-out tasks for in-context evaluation (never trained on). */
  heldOut: Task[];
  /** What the data is, for logs. */
  description: string;
  /**
   * Draws a batch of B samples. With `paired`, rows i and B/2 + i are two different samples of the
   * same task (T2MIR's contrastive loss needs them); B must then be even.
   */
  sample(rng: Rng, B: number, split: 'train' | 'val', paired: boolean): Batch;
  /** Releases what the data holds open (the shard files of streamed windows); called when training ends. */
  close?(): void;
}
