/**
 * Summary statistics. Over tasks: the mean and a 95% confidence interval of the mean (Student's t,
 * so that a handful of held-out tasks, e.g. 20 Dark Room goals, is not reported too tightly). Over
 * seeds (training runs of one setting): the interquartile mean with a percentile-bootstrap interval,
 * as rliable reports them (Agarwal et al. 2021, "Deep RL at the Edge of the Statistical Precipice").
 */

import { Rng, type Seed } from '../core/rng.js';

/** Mean with the bounds of its 95% confidence interval, one entry per x (step, episode, size). */
export interface Band {
  mean: number[];
  lo: number[];
  hi: number[];
}

/** Two-sided 97.5% quantile of Student's t with `df` degrees of freedom. */
export function tQuantile975(df: number): number {
  if (!(df >= 1)) return NaN;
  // Exact table for small df, then the Cornish-Fisher expansion (error < 1e-4 for df >= 30).
  const table = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101,
    2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
  ];
  if (df <= table.length && Number.isInteger(df)) return table[df - 1];
  const z = 1.959963984540054;
  const z3 = z ** 3;
  const z5 = z ** 5;
  const z7 = z ** 7;
  return z + (z3 + z) / (4 * df) + (5 * z5 + 16 * z3 + 3 * z) / (96 * df * df) + (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / (384 * df ** 3);
}

/** Mean and 95% interval of one sample (the interval collapses to the mean for n = 1). */
export function meanCi(values: ArrayLike<number>): { mean: number; lo: number; hi: number; sd: number; n: number } {
  const n = values.length;
  if (n === 0) return { mean: NaN, lo: NaN, hi: NaN, sd: NaN, n };
  let s = 0;
  for (let i = 0; i < n; i++) s += values[i];
  const mean = s / n;
  if (n === 1) return { mean, lo: mean, hi: mean, sd: 0, n };
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (values[i] - mean) ** 2;
  const sd = Math.sqrt(ss / (n - 1));
  const half = tQuantile975(n - 1) * (sd / Math.sqrt(n));
  return { mean, lo: mean - half, hi: mean + half, sd, n };
}

/**
 * Column-wise mean and 95% interval of a tasks x points matrix given as one row per task (all rows
 * the same length).
 */
export function bandOverTasks(rows: ArrayLike<number>[]): Band {
  const n = rows.length;
  const len = n > 0 ? rows[0].length : 0;
  const mean: number[] = new Array(len);
  const lo: number[] = new Array(len);
  const hi: number[] = new Array(len);
  const col = new Float64Array(n);
  for (let t = 0; t < len; t++) {
    for (let i = 0; i < n; i++) col[i] = rows[i][t];
    const m = meanCi(col);
    mean[t] = m.mean;
    lo[t] = m.lo;
    hi[t] = m.hi;
  }
  return { mean, lo, hi };
}

/**
 * Interquartile mean: the mean of the middle 50% of the values, as rliable computes it
 * (`scipy.stats.trim_mean(x, 0.25)`: floor(n / 4) values cut from each end after sorting). For
 * n < 4 nothing is cut and it is the plain mean. NaN for an empty sample.
 */
export function interquartileMean(values: ArrayLike<number>): number {
  const n = values.length;
  if (n === 0) return NaN;
  const sorted = Float64Array.from(values).sort();
  const cut = Math.floor(n / 4);
  let s = 0;
  for (let i = cut; i < n - cut; i++) s += sorted[i];
  return s / (n - 2 * cut);
}

/** A point estimate with the bounds of its bootstrap interval. */
export interface BootstrapInterval {
  estimate: number;
  lo: number;
  hi: number;
  n: number;
}

/**
 * Percentile bootstrap interval of `statistic` over one sample (seeds of one setting, say): `samples`
 * resamples with replacement drawn from the project's seeded RNG, so the same seed gives the same
 * interval. `level` is the two-sided coverage (0.95). One value gives a collapsed interval.
 */
export function bootstrapCi(
  values: ArrayLike<number>,
  statistic: (sample: Float64Array) => number = interquartileMean,
  options: { samples?: number; level?: number; seed?: Seed } = {},
): BootstrapInterval {
  const n = values.length;
  const estimate = statistic(Float64Array.from(values));
  if (n <= 1) return { estimate, lo: estimate, hi: estimate, n };
  return percentileBootstrap('bootstrapCi', estimate, n, statistic, options, (rng, draw) => {
    for (let i = 0; i < n; i++) draw[i] = values[rng.int(n)];
  });
}

/** The interquartile mean over seeds with its 95% percentile-bootstrap interval (rliable style). */
export function iqmInterval(values: ArrayLike<number>, seed: Seed = 0): BootstrapInterval {
  return bootstrapCi(values, interquartileMean, { seed });
}

/**
 * Percentile bootstrap interval of `statistic` over groups of scores, stratified: each resample
 * draws, within every group (one seed's per-task scores, say), as many scores as it has, with
 * replacement, and applies `statistic` to their concatenation (rliable's stratified bootstrap). With
 * one group it is {@link bootstrapCi} over that group's scores.
 */
export function stratifiedBootstrapCi(
  groups: readonly ArrayLike<number>[],
  statistic: (sample: Float64Array) => number = interquartileMean,
  options: { samples?: number; level?: number; seed?: Seed } = {},
): BootstrapInterval {
  const n = groups.reduce((a, g) => a + g.length, 0);
  const all = new Float64Array(n);
  let o = 0;
  for (const g of groups) for (let i = 0; i < g.length; i++) all[o++] = g[i];
  const estimate = statistic(all);
  if (n <= 1) return { estimate, lo: estimate, hi: estimate, n };
  return percentileBootstrap('stratifiedBootstrapCi', estimate, n, statistic, options, (rng, draw) => {
    let w = 0;
    for (const g of groups) for (let i = 0; i < g.length; i++) draw[w++] = g[rng.int(g.length)];
  });
}

/**
 * The resampling loop both bootstraps share: `samples` resamples of n values filled by `resample`
 * from the seeded stream, `statistic` of each, and the interpolated percentiles at the interval's
 * ends. `name` is the caller's, for option errors.
 */
function percentileBootstrap(
  name: string,
  estimate: number,
  n: number,
  statistic: (sample: Float64Array) => number,
  options: { samples?: number; level?: number; seed?: Seed },
  resample: (rng: Rng, draw: Float64Array) => void,
): BootstrapInterval {
  const samples = options.samples ?? 2000;
  const level = options.level ?? 0.95;
  if (!(Number.isInteger(samples) && samples >= 10)) throw new RangeError(`${name}: samples must be an integer >= 10, got ${samples}`);
  if (!(level > 0 && level < 1)) throw new RangeError(`${name}: level must be in (0, 1), got ${level}`);
  const rng = new Rng(options.seed ?? 0);
  const draw = new Float64Array(n);
  const stats = new Float64Array(samples);
  for (let b = 0; b < samples; b++) {
    resample(rng, draw);
    stats[b] = statistic(draw);
  }
  stats.sort();
  const q = (p: number): number => {
    const x = p * (samples - 1);
    const i = Math.floor(x);
    const f = x - i;
    return i + 1 < samples ? stats[i] * (1 - f) + stats[i + 1] * f : stats[i];
  };
  return { estimate, lo: q((1 - level) / 2), hi: q((1 + level) / 2), n };
}

/** Arithmetic mean (NaN when empty). */
export function meanOf(values: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i];
  return values.length > 0 ? s / values.length : NaN;
}
