/**
 * Summary statistics over tasks: the mean and a 95% confidence interval of the mean (Student's t,
 * so that a handful of held-out tasks, e.g. 20 Dark Room goals, is not reported too tightly).
 */

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
 * Interquartile mean: the mean of the middle 50% of the values (the 25% trimmed mean; Agarwal et
 * al., "Deep Reinforcement Learning at the Edge of the Statistical Precipice", NeurIPS 2021). Values
 * at the cut points count with the fraction of them that falls inside, so that it is defined for any n.
 */
export function interquartileMean(values: ArrayLike<number>): number {
  const n = values.length;
  if (n === 0) return NaN;
  const s = Float64Array.from(values).sort();
  const lo = n * 0.25;
  const hi = n * 0.75;
  let sum = 0;
  for (let i = Math.floor(lo); i < Math.ceil(hi); i++) {
    const w = Math.min(i + 1, hi) - Math.max(i, lo);
    if (w > 0) sum += w * s[i];
  }
  return sum / (hi - lo);
}

/** A point estimate with the bounds of its 95% interval. */
export interface Estimate {
  value: number;
  lo: number;
  hi: number;
}

/** Anything that yields uniform integers in [0, n): the project's Rng. */
export interface IntSource {
  int(n: number): number;
}

/**
 * Percentile bootstrap 95% interval of `stat` over groups of scores, stratified: each resample draws,
 * within every group (a run, i.e. one seed), as many scores as it has, with replacement, and applies
 * `stat` to the concatenation. With one group this is the plain bootstrap over its scores (tasks).
 */
export function stratifiedBootstrap(groups: ArrayLike<number>[], stat: (xs: Float64Array) => number, rng: IntSource, resamples = 2000): Estimate {
  const total = groups.reduce((a, g) => a + g.length, 0);
  const all = new Float64Array(total);
  let o = 0;
  for (const g of groups) for (let i = 0; i < g.length; i++) all[o++] = g[i];
  const value = stat(all);
  if (total === 0) return { value, lo: NaN, hi: NaN };
  const stats = new Float64Array(resamples);
  const buf = new Float64Array(total);
  for (let r = 0; r < resamples; r++) {
    let w = 0;
    for (const g of groups) for (let i = 0; i < g.length; i++) buf[w++] = g[rng.int(g.length)];
    stats[r] = stat(buf);
  }
  stats.sort();
  const at = (q: number) => stats[Math.min(resamples - 1, Math.max(0, Math.round(q * (resamples - 1))))];
  return { value, lo: at(0.025), hi: at(0.975) };
}

/** Arithmetic mean (NaN when empty). */
export function meanOf(values: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i];
  return values.length > 0 ? s / values.length : NaN;
}
