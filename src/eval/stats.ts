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
 * Interquartile mean: the mean of the middle half of the values, i.e. the mean after cutting
 * floor(n / 4) values from each end of the sorted sample, as `scipy.stats.trim_mean(x, 0.25)`
 * computes the IQM of rliable (Agarwal et al., 2021, "Deep RL at the edge of the statistical
 * precipice"). For n < 4 nothing is cut and it is the mean.
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

/**
 * Percentile bootstrap interval of a statistic: `samples` resamples of the values with replacement,
 * drawn from `rng`, and the 2.5% and 97.5% quantiles (linear interpolation) of the statistic over
 * them. With very few values (3 seeds) it is a rough interval; it collapses to the point for n = 1.
 */
export function bootstrapCi(values: ArrayLike<number>, statistic: (x: Float64Array) => number, rng: { int(n: number): number }, samples = 2000, level = 0.95): { point: number; lo: number; hi: number } {
  const n = values.length;
  const x = Float64Array.from(values);
  const point = statistic(x);
  if (n <= 1) return { point, lo: point, hi: point };
  const stats = new Float64Array(samples);
  const buf = new Float64Array(n);
  for (let b = 0; b < samples; b++) {
    for (let i = 0; i < n; i++) buf[i] = x[rng.int(n)];
    stats[b] = statistic(buf);
  }
  stats.sort();
  const q = (p: number): number => {
    const h = (samples - 1) * p;
    const lo = Math.floor(h);
    return stats[lo] + (h - lo) * (stats[Math.min(samples - 1, lo + 1)] - stats[lo]);
  };
  const a = (1 - level) / 2;
  return { point, lo: q(a), hi: q(1 - a) };
}
