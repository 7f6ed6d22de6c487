/**
 * The exact Bayesian posterior of the best arm of a Gaussian bandit whose arm means have independent
 * uniform priors on [lo, hi] (the bandit family's task prior: [0, 1]) and whose rewards have known
 * noise sd. Each arm's posterior is a normal N(sum / n, sd^2 / n) truncated to [lo, hi] (the prior
 * itself when n = 0), and
 *   P(best = i | data) = integral of p_i(m) * prod_{j != i} F_j(m) dm,
 * computed by the midpoint rule on a grid of [lo, hi]. This is the quantity a DPT is trained to
 * predict (the label is the best arm of a task drawn from the prior); it serves as the reference for
 * how close a model's predictions are to Bayes-optimal (`icrl posterior`).
 */
import { IcrlError } from '../core/errors.js';

export interface BestArmPosteriorOptions {
  /** Known reward noise sd (> 0). */
  noiseSd: number;
  /** Prior support of every arm mean (default [0, 1]). */
  lo?: number;
  hi?: number;
  /** Grid points on [lo, hi] (default 400; the error in each probability is well under 1e-3 at 400). */
  grid?: number;
}

/**
 * Writes P(best arm = a | counts, sums) for a = 0..K-1 into `out` (K = counts.length). `counts[a]` and
 * `sums[a]` are arm a's pull count and reward sum. Reuses `scratch` (length >= 2 * K * grid) if given.
 */
export function bestArmPosterior(
  counts: ArrayLike<number>,
  sums: ArrayLike<number>,
  opts: BestArmPosteriorOptions,
  out: Float64Array,
  scratch?: Float64Array,
): Float64Array {
  const K = counts.length;
  const lo = opts.lo ?? 0;
  const hi = opts.hi ?? 1;
  const G = opts.grid ?? 400;
  const sd = opts.noiseSd;
  if (!(sd > 0)) throw new IcrlError(`best-arm posterior: noiseSd must be positive, got ${sd}`);
  if (!(hi > lo)) throw new IcrlError(`best-arm posterior: needs lo < hi, got [${lo}, ${hi}]`);
  if (!Number.isInteger(G) || G < 2) throw new IcrlError(`best-arm posterior: grid must be an integer >= 2, got ${G}`);
  if (sums.length !== K || out.length < K) throw new IcrlError(`best-arm posterior: counts (${K}), sums (${sums.length}) and out (${out.length}) disagree`);
  const buf = scratch && scratch.length >= 2 * K * G ? scratch : new Float64Array(2 * K * G);
  const h = (hi - lo) / G;
  const inv2v = 1 / (2 * sd * sd);
  // pdf[a][g]: arm a's posterior mass of grid cell g; cdf[a][g]: its mass below the cell's midpoint.
  for (let a = 0; a < K; a++) {
    const n = counts[a];
    const pdf = a * G;
    const cdf = (K + a) * G;
    let maxLog = -Infinity;
    for (let g = 0; g < G; g++) {
      const m = lo + (g + 0.5) * h;
      // log-likelihood up to a constant: -(n m^2 - 2 m sum) / (2 sd^2)
      const l = n > 0 ? -(n * m * m - 2 * m * sums[a]) * inv2v : 0;
      buf[pdf + g] = l;
      if (l > maxLog) maxLog = l;
    }
    let z = 0;
    for (let g = 0; g < G; g++) {
      const p = Math.exp(buf[pdf + g] - maxLog);
      buf[pdf + g] = p;
      z += p;
    }
    let acc = 0;
    for (let g = 0; g < G; g++) {
      const p = buf[pdf + g] / z;
      buf[pdf + g] = p;
      buf[cdf + g] = acc + p / 2;
      acc += p;
    }
  }
  let total = 0;
  for (let a = 0; a < K; a++) {
    let v = 0;
    for (let g = 0; g < G; g++) {
      let p = buf[a * G + g];
      if (p === 0) continue;
      for (let b = 0; b < K; b++) if (b !== a) p *= buf[(K + b) * G + g];
      v += p;
    }
    out[a] = v;
    total += v;
  }
  for (let a = 0; a < K; a++) out[a] /= total;
  return out;
}
