/**
 * Training datasets as plain typed arrays in memory, and seeded batch samplers. Row-major layouts:
 *
 * AD (Algorithm Distillation): learning histories kept as concatenated streams, one stream per
 * (task, run) history, across episodes (no splitting at episode ends). A batch is B windows of L
 * consecutive steps drawn uniformly from all streams (window start uniform in [0, len - L]):
 *   observations  Float32 [B, L, obsDim]   observation at step t
 *   prevActions   Int32   [B, L]           action at step t-1 of the same stream, -1 at the stream's
 *                                          first step (continuous: Float32 [B, L, actDim], zeros there)
 *   prevRewards   Float32 [B, L]           reward at step t-1 (0 at the stream's first step)
 *   episodeStart  Uint8   [B, L]           1 where step t is the first step of an episode
 *   targets       Int32   [B, L]           the source's action at step t (what AD predicts);
 *                                          continuous: Float32 [B, L, actDim]
 *   streams       Int32   [B]              index of the stream each window comes from
 *   starts        Int32   [B]              first step of each window within its stream
 * Token t of a window is (observation t, prevAction t, prevReward t); its target is action t.
 *
 * DPT (Decision-Pretrained Transformer): N samples, each an in-context dataset of T transitions, a
 * query state and the optimal action there:
 *   contextStates      Float32 [N, T, obsDim]
 *   contextActions     Int32   [N, T]  (continuous: Float32 [N, T, actDim])
 *   contextRewards     Float32 [N, T]
 *   contextNextStates  Float32 [N, T, obsDim]
 *   queryStates        Float32 [N, obsDim]
 *   optimalActions     Int32   [N]     (continuous: Float32 [N, actDim])
 *   taskIndex          Int32   [N]     task of each sample in its collection
 * DPT's loss is cross-entropy of the optimal action at every context length 0..T, so a batch keeps
 * the whole context; models slice prefixes themselves.
 */
import { Rng } from '../core/rng.js';
import { IcrlError } from '../core/errors.js';
import type { History, HistoryReader } from './store.js';
import { allocDptDataset, copyDptSample, type DptDataset } from './dptDataset.js';

export interface AdDataset {
  obsDim: number;
  numActions: number;
  actDim: number;
  /** Concatenated streams: observations [S, obsDim], actions [S] or [S, actDim], rewards [S], dones [S]. */
  observations: Float32Array;
  actions: Int32Array | Float32Array;
  rewards: Float32Array;
  dones: Uint8Array;
  /** Stream s occupies steps offsets[s] .. offsets[s + 1] - 1. */
  offsets: Int32Array;
  /** Task index and run (within its group) of each stream. */
  streamTask: Int32Array;
  streamRun: Int32Array;
}

export interface AdBatch {
  batchSize: number;
  windowSteps: number;
  obsDim: number;
  numActions: number;
  actDim: number;
  observations: Float32Array;
  prevActions: Int32Array | Float32Array;
  prevRewards: Float32Array;
  episodeStart: Uint8Array;
  targets: Int32Array | Float32Array;
  streams: Int32Array;
  starts: Int32Array;
}

/** Source of histories: in-memory histories, or groups of history files read one at a time. */
export type HistorySource = History[] | { reader: HistoryReader; groups?: string[] }[];

function* iterHistories(src: HistorySource): Generator<History> {
  for (const x of src) {
    if ('reader' in x) {
      for (const g of x.groups ?? x.reader.groups()) yield x.reader.readHistory(g);
    } else yield x;
  }
}

/**
 * Builds an AD dataset from learning histories (every run of every task becomes one stream).
 * `maxSteps` keeps only the first steps of each stream (e.g. to fit memory).
 */
export function buildAdDataset(src: HistorySource, opts: { maxSteps?: number } = {}): AdDataset {
  const hs: History[] = [];
  for (const h of iterHistories(src)) hs.push(h);
  if (hs.length === 0) throw new IcrlError('AD dataset: no histories');
  const { obsDim, numActions, actDim } = hs[0];
  let total = 0;
  let streams = 0;
  for (const h of hs) {
    if (h.obsDim !== obsDim || h.numActions !== numActions || h.actDim !== actDim) {
      throw new IcrlError(`AD dataset: history of task ${h.taskIndex} has obsDim/numActions/actDim ${h.obsDim}/${h.numActions}/${h.actDim}, expected ${obsDim}/${numActions}/${actDim}`);
    }
    const T = Math.min(h.length, opts.maxSteps ?? Infinity);
    total += h.numHistories * T;
    streams += h.numHistories;
  }
  const ad = Math.max(1, actDim);
  const ds: AdDataset = {
    obsDim,
    numActions,
    actDim,
    observations: new Float32Array(total * obsDim),
    actions: actDim > 0 ? new Float32Array(total * actDim) : new Int32Array(total),
    rewards: new Float32Array(total),
    dones: new Uint8Array(total),
    offsets: new Int32Array(streams + 1),
    streamTask: new Int32Array(streams),
    streamRun: new Int32Array(streams),
  };
  let o = 0;
  let s = 0;
  for (const h of hs) {
    const T = Math.min(h.length, opts.maxSteps ?? Infinity);
    for (let n = 0; n < h.numHistories; n++) {
      const b = n * h.length;
      ds.observations.set(h.observations.subarray(b * obsDim, (b + T) * obsDim), o * obsDim);
      (ds.actions as Float32Array).set((h.actions as Float32Array).subarray(b * ad, (b + T) * ad), o * ad);
      ds.rewards.set(h.rewards.subarray(b, b + T), o);
      ds.dones.set(h.dones.subarray(b, b + T), o);
      ds.offsets[s] = o;
      ds.streamTask[s] = h.taskIndex;
      ds.streamRun[s] = n;
      o += T;
      s++;
    }
  }
  ds.offsets[s] = o;
  return ds;
}

/** Writes window (stream, start) into row b of `batch`. */
function fillWindow(ds: AdDataset, batch: AdBatch, b: number, stream: number, start: number): void {
  const L = batch.windowSteps;
  const d = ds.obsDim;
  const ad = Math.max(1, ds.actDim);
  const base = ds.offsets[stream];
  const g0 = base + start;
  batch.streams[b] = stream;
  batch.starts[b] = start;
  batch.observations.set(ds.observations.subarray(g0 * d, (g0 + L) * d), b * L * d);
  (batch.targets as Float32Array).set((ds.actions as Float32Array).subarray(g0 * ad, (g0 + L) * ad), b * L * ad);
  for (let t = 0; t < L; t++) {
    const g = g0 + t;
    const first = g === base;
    const r = b * L + t;
    if (first) {
      if (ds.actDim > 0) for (let q = 0; q < ad; q++) batch.prevActions[r * ad + q] = 0;
      else batch.prevActions[r] = -1;
      batch.prevRewards[r] = 0;
      batch.episodeStart[r] = 1;
    } else {
      for (let q = 0; q < ad; q++) batch.prevActions[r * ad + q] = ds.actions[(g - 1) * ad + q];
      batch.prevRewards[r] = ds.rewards[g - 1];
      batch.episodeStart[r] = ds.dones[g - 1];
    }
  }
}

function newAdBatch(ds: AdDataset, B: number, L: number): AdBatch {
  const ad = Math.max(1, ds.actDim);
  return {
    batchSize: B,
    windowSteps: L,
    obsDim: ds.obsDim,
    numActions: ds.numActions,
    actDim: ds.actDim,
    observations: new Float32Array(B * L * ds.obsDim),
    prevActions: ds.actDim > 0 ? new Float32Array(B * L * ad) : new Int32Array(B * L),
    prevRewards: new Float32Array(B * L),
    episodeStart: new Uint8Array(B * L),
    targets: ds.actDim > 0 ? new Float32Array(B * L * ad) : new Int32Array(B * L),
    streams: new Int32Array(B),
    starts: new Int32Array(B),
  };
}

/**
 * Seeded sampler of AD batches: a window is drawn uniformly among all windows of all streams, or,
 * with `weights` (one per stream, e.g. LHF weights), with stream s chosen in proportion to
 * weights[s] x (its number of windows) and the start uniform within it.
 */
export class AdSampler {
  private readonly rng: Rng;
  private readonly cum: Float64Array;
  private readonly nwin: Float64Array;
  constructor(
    readonly ds: AdDataset,
    readonly windowSteps: number,
    seed: number | Rng,
    weights?: ArrayLike<number>,
  ) {
    this.rng = typeof seed === 'number' ? new Rng(seed) : seed;
    const S = ds.offsets.length - 1;
    if (weights && weights.length !== S) throw new IcrlError(`AD sampler: ${weights.length} weights for ${S} streams`);
    this.cum = new Float64Array(S);
    this.nwin = new Float64Array(S);
    let c = 0;
    for (let s = 0; s < S; s++) {
      const len = ds.offsets[s + 1] - ds.offsets[s];
      this.nwin[s] = Math.max(0, len - windowSteps + 1);
      const w = weights ? weights[s] : 1;
      if (!(w >= 0) || !Number.isFinite(w)) throw new IcrlError(`AD sampler: weight of stream ${s} is ${w}; weights must be finite and >= 0`);
      c += w * this.nwin[s];
      this.cum[s] = c;
    }
    if (!(c > 0)) throw new IcrlError(`AD sampler: no stream with positive weight has ${windowSteps} steps (window longer than every history?)`);
  }

  /** Number of distinct windows (of streams with positive weight or not). */
  get numWindows(): number {
    let n = 0;
    for (const w of this.nwin) n += w;
    return n;
  }

  private pickStream(u: number): number {
    let lo = 0;
    let hi = this.cum.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.cum[mid] > u) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  sample(batchSize: number, out?: AdBatch): AdBatch {
    const batch = out ?? newAdBatch(this.ds, batchSize, this.windowSteps);
    const total = this.cum[this.cum.length - 1];
    for (let b = 0; b < batchSize; b++) {
      // cum[s - 1] <= u < cum[s], so stream s has windows and a positive weight
      const s = this.pickStream(this.rng.uniform53() * total);
      fillWindow(this.ds, batch, b, s, this.rng.int(this.nwin[s]));
    }
    return batch;
  }
}

/** Materializes windows of `windowSteps` every `stride` steps of every stream (evaluation sets, small data). */
export function buildAdWindows(ds: AdDataset, windowSteps: number, stride = windowSteps): AdBatch {
  const list: [number, number][] = [];
  for (let s = 0; s + 1 < ds.offsets.length; s++) {
    const len = ds.offsets[s + 1] - ds.offsets[s];
    for (let st = 0; st + windowSteps <= len; st += stride) list.push([s, st]);
  }
  const batch = newAdBatch(ds, list.length, windowSteps);
  list.forEach(([s, st], b) => fillWindow(ds, batch, b, s, st));
  return batch;
}

export { allocDptDataset, concatDpt, copyDptSample, type DptDataset } from './dptDataset.js';

/**
 * Seeded DPT batch sampler: epochs over a shuffled order (every sample once per epoch), batches
 * copied into a reusable {@link DptDataset} of batchSize rows.
 */
export class DptSampler {
  private readonly rng: Rng;
  private order: Int32Array;
  private pos = 0;
  epoch = 0;
  constructor(
    readonly ds: DptDataset,
    seed: number | Rng,
  ) {
    this.rng = typeof seed === 'number' ? new Rng(seed) : seed;
    this.order = this.rng.permutation(ds.numSamples);
  }

  sample(batchSize: number, out?: DptDataset): DptDataset {
    const ds = this.ds;
    const b = out ?? allocDptDataset(batchSize, ds.contextLength, ds.obsDim, ds.numActions, ds.actDim);
    for (let k = 0; k < batchSize; k++) {
      if (this.pos >= this.order.length) {
        this.order = this.rng.permutation(ds.numSamples);
        this.pos = 0;
        this.epoch++;
      }
      copyDptSample(ds, this.order[this.pos++], b, k);
    }
    return b;
  }
}
