/**
 * Learning-history filtering (LHF): scores each learning history by its improvement and its
 * stability, then keeps the best ones (filter) or gives each a sampling weight (reweight).
 *
 * A history is cut into blocks: its episodes (by `dones`), or for one-step-episode families such as
 * bandits, blocks of `blockSteps` steps. Its performance curve is the mean reward per step of each
 * block (the episode return divided by its length), p_1..p_E.
 *   improvement = mean(last k blocks) - mean(first k blocks), k = max(1, round(E * edge))
 *   stability   = -(sum of drops max(0, p_e - p_{e+1})) / (E - 1)   (0 for a curve that never falls)
 * Both are min-max normalised over the histories being compared, and
 *   score = lambda * improvement_n + (1 - lambda) * stability_n.
 * filter keeps the top `keep` fraction by score; reweight gives weights proportional to
 * exp(score / temperature), scaled to mean 1 (they feed the AD sampler's stream weights).
 */
import { z } from 'zod';
import { IcrlError } from '../core/errors.js';
import type { History, HistoryReader } from './store.js';
import type { AdDataset } from './datasets.js';

export const lhfOptionsSchema = z
  .object({
    mode: z.enum(['filter', 'reweight']).default('filter'),
    /** Weight of improvement against stability in the score. */
    lambda: z.number().min(0).max(1).default(0.5),
    /** filter: fraction of histories kept. */
    keep: z.number().gt(0).max(1).default(0.5),
    /** reweight: softmax temperature over scores in [0, 1]. */
    temperature: z.number().positive().default(0.2),
    /** Fraction of blocks averaged at each end for the improvement. */
    edge: z.number().gt(0).max(0.5).default(0.1),
    /** Block length for families whose episodes last one step (bandits); 0 = use episodes. */
    blockSteps: z.number().int().min(0).default(0),
  })
  .strict();
export type LhfOptions = z.output<typeof lhfOptionsSchema>;

export interface HistoryScore {
  /** Where the history is: file (or '' in memory), group, run within the group. */
  file: string;
  group: string;
  run: number;
  taskIndex: number;
  improvement: number;
  stability: number;
  score: number;
  weight: number;
  kept: boolean;
}

/** Per-block mean reward of one run (rewards and dones of T steps). */
export function performanceCurve(rewards: ArrayLike<number>, dones: ArrayLike<number>, blockSteps = 0): Float64Array {
  const T = rewards.length;
  const out: number[] = [];
  let sum = 0;
  let len = 0;
  const episodic = blockSteps === 0;
  for (let t = 0; t < T; t++) {
    sum += rewards[t];
    len++;
    if ((episodic && dones[t]) || (!episodic && len === blockSteps)) {
      out.push(sum / len);
      sum = 0;
      len = 0;
    }
  }
  // an unfinished last block is dropped (it would compare a partial episode with whole ones)
  if (len > 0 && out.length === 0) out.push(sum / len);
  return Float64Array.from(out);
}

/** Raw improvement and stability of a performance curve. */
export function curveStats(p: Float64Array, edge = 0.1): { improvement: number; stability: number } {
  const E = p.length;
  if (E < 2) return { improvement: 0, stability: 0 };
  const k = Math.max(1, Math.round(E * edge));
  let a = 0;
  let b = 0;
  for (let e = 0; e < k; e++) {
    a += p[e];
    b += p[E - 1 - e];
  }
  let drops = 0;
  for (let e = 0; e + 1 < E; e++) drops += Math.max(0, p[e] - p[e + 1]);
  return { improvement: (b - a) / k, stability: drops > 0 ? -drops / (E - 1) : 0 };
}

type Entry = { file: string; group: string; run: number; taskIndex: number; rewards: Float32Array; dones: Uint8Array };

function* entries(src: History[] | { reader: HistoryReader; groups?: string[] }[]): Generator<Entry> {
  for (const x of src) {
    if ('reader' in x) {
      for (const g of x.groups ?? x.reader.groups()) {
        const info = x.reader.info(g);
        const r = x.reader.readReturns(g);
        for (let n = 0; n < r.numHistories; n++) {
          yield { file: x.reader.file, group: g, run: n, taskIndex: info.taskIndex ?? Number(g), rewards: r.rewards.subarray(n * r.length, (n + 1) * r.length), dones: r.dones.subarray(n * r.length, (n + 1) * r.length) };
        }
      }
    } else {
      for (let n = 0; n < x.numHistories; n++) {
        const T = x.length;
        yield { file: '', group: String(x.taskIndex), run: n, taskIndex: x.taskIndex, rewards: x.rewards.subarray(n * T, (n + 1) * T), dones: x.dones.subarray(n * T, (n + 1) * T) };
      }
    }
  }
}

/** Scores every run of every history and selects or weights them. Reads only rewards and dones. */
export function scoreHistories(src: History[] | { reader: HistoryReader; groups?: string[] }[], options: Partial<LhfOptions> = {}): HistoryScore[] {
  const o = lhfOptionsSchema.parse(options);
  const out: HistoryScore[] = [];
  for (const e of entries(src)) {
    const s = curveStats(performanceCurve(e.rewards, e.dones, o.blockSteps), o.edge);
    out.push({ file: e.file, group: e.group, run: e.run, taskIndex: e.taskIndex, ...s, score: 0, weight: 0, kept: false });
  }
  if (out.length === 0) throw new IcrlError('LHF: no histories to score');
  const norm = (key: 'improvement' | 'stability'): ((v: number) => number) => {
    let lo = Infinity;
    let hi = -Infinity;
    for (const h of out) {
      lo = Math.min(lo, h[key]);
      hi = Math.max(hi, h[key]);
    }
    return (v) => (hi > lo ? (v - lo) / (hi - lo) : 0.5);
  };
  const ni = norm('improvement');
  const ns = norm('stability');
  for (const h of out) h.score = o.lambda * ni(h.improvement) + (1 - o.lambda) * ns(h.stability);
  if (o.mode === 'filter') {
    const nKeep = Math.max(1, Math.round(out.length * o.keep));
    const order = out.map((_, i) => i).sort((a, b) => out[b].score - out[a].score || a - b);
    for (let r = 0; r < order.length; r++) {
      const h = out[order[r]];
      h.kept = r < nKeep;
      h.weight = h.kept ? 1 : 0;
    }
  } else {
    let z = 0;
    for (const h of out) z += Math.exp(h.score / o.temperature);
    for (const h of out) {
      h.weight = (Math.exp(h.score / o.temperature) / z) * out.length;
      h.kept = true;
    }
  }
  return out;
}

/** Keeps the runs that LHF kept, as in-memory histories (one History per kept run). */
export function applyFilter(histories: History[], scores: HistoryScore[]): History[] {
  const kept = new Set(scores.filter((s) => s.kept).map((s) => `${s.group}/${s.run}`));
  const out: History[] = [];
  for (const h of histories) {
    const T = h.length;
    for (let n = 0; n < h.numHistories; n++) {
      if (!kept.has(`${h.taskIndex}/${n}`)) continue;
      const sl = <A extends Float32Array | Int32Array | Uint8Array>(a: A, per: number): A => a.slice(n * T * per, (n + 1) * T * per) as A;
      out.push({
        ...h,
        numHistories: 1,
        observations: sl(h.observations, h.obsDim),
        states: h.states ? sl(h.states, 1) : undefined,
        actions: sl(h.actions, Math.max(1, h.actDim)),
        rewards: sl(h.rewards, 1),
        dones: sl(h.dones, 1),
        expertActions: h.expertActions ? sl(h.expertActions, Math.max(1, h.actDim)) : undefined,
      });
    }
  }
  return out;
}

/** LHF weights per stream of an AD dataset (0 for runs LHF dropped), for `new AdSampler(ds, L, seed, weights)`. */
export function streamWeights(ds: AdDataset, scores: HistoryScore[]): Float64Array {
  const w = new Map(scores.map((s) => [`${s.taskIndex}/${s.run}`, s.weight]));
  const out = new Float64Array(ds.streamTask.length);
  for (let s = 0; s < out.length; s++) {
    const v = w.get(`${ds.streamTask[s]}/${ds.streamRun[s]}`);
    if (v === undefined) throw new IcrlError(`LHF: no score for task ${ds.streamTask[s]} run ${ds.streamRun[s]} (scores from another collection?)`);
    out[s] = v;
  }
  return out;
}
