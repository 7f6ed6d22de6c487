/**
 * DPT pretraining samples in memory (struct of arrays): per sample a context of T transitions, a
 * query state and the optimal action there. Read and written by the store, built by src/data/dpt.ts.
 */
import { IcrlError } from '../core/errors.js';

export interface DptDataset {
  numSamples: number;
  contextLength: number;
  obsDim: number;
  numActions: number;
  actDim: number;
  contextStates: Float32Array;
  contextActions: Int32Array | Float32Array;
  contextRewards: Float32Array;
  contextNextStates: Float32Array;
  queryStates: Float32Array;
  optimalActions: Int32Array | Float32Array;
  taskIndex: Int32Array;
}

/** An empty DPT dataset of n samples. */
export function allocDptDataset(n: number, T: number, obsDim: number, numActions: number, actDim: number): DptDataset {
  const ad = Math.max(1, actDim);
  return {
    numSamples: n,
    contextLength: T,
    obsDim,
    numActions,
    actDim,
    contextStates: new Float32Array(n * T * obsDim),
    contextActions: actDim > 0 ? new Float32Array(n * T * ad) : new Int32Array(n * T),
    contextRewards: new Float32Array(n * T),
    contextNextStates: new Float32Array(n * T * obsDim),
    queryStates: new Float32Array(n * obsDim),
    optimalActions: actDim > 0 ? new Float32Array(n * ad) : new Int32Array(n),
    taskIndex: new Int32Array(n),
  };
}

/** Copies sample `from` of `src` into row `to` of `dst` (same shapes). */
export function copyDptSample(src: DptDataset, from: number, dst: DptDataset, to: number): void {
  const T = src.contextLength;
  const d = src.obsDim;
  const ad = Math.max(1, src.actDim);
  dst.contextStates.set(src.contextStates.subarray(from * T * d, (from + 1) * T * d), to * T * d);
  dst.contextNextStates.set(src.contextNextStates.subarray(from * T * d, (from + 1) * T * d), to * T * d);
  (dst.contextActions as Float32Array).set((src.contextActions as Float32Array).subarray(from * T * ad, (from + 1) * T * ad), to * T * ad);
  dst.contextRewards.set(src.contextRewards.subarray(from * T, (from + 1) * T), to * T);
  dst.queryStates.set(src.queryStates.subarray(from * d, (from + 1) * d), to * d);
  (dst.optimalActions as Float32Array).set((src.optimalActions as Float32Array).subarray(from * ad, (from + 1) * ad), to * ad);
  dst.taskIndex[to] = src.taskIndex[from];
}

/** Concatenates DPT datasets of the same shapes. */
export function concatDpt(parts: DptDataset[]): DptDataset {
  if (parts.length === 0) throw new IcrlError('DPT dataset: nothing to concatenate');
  const p0 = parts[0];
  const n = parts.reduce((a, p) => a + p.numSamples, 0);
  const out = allocDptDataset(n, p0.contextLength, p0.obsDim, p0.numActions, p0.actDim);
  let o = 0;
  for (const p of parts) {
    if (p.contextLength !== p0.contextLength || p.obsDim !== p0.obsDim || p.actDim !== p0.actDim || p.numActions !== p0.numActions) {
      throw new IcrlError(`DPT dataset: cannot concatenate shapes T=${p.contextLength}, obsDim=${p.obsDim} with T=${p0.contextLength}, obsDim=${p0.obsDim}`);
    }
    for (let i = 0; i < p.numSamples; i++) copyDptSample(p, i, out, o++);
  }
  return out;
}
