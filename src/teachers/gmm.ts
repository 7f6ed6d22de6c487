/**
 * Gaussian mixtures with full covariances, fitted by expectation-maximisation, and selection of the
 * number of components by AIC or BIC. The defaults follow scikit-learn's GaussianMixture, which the
 * published ALP-GMM and Covar-GMM code uses: k-means initialisation, covariance regularisation
 * 1e-6 on the diagonal, at most 100 EM iterations, stop when the mean log-likelihood per sample
 * changes by less than 1e-3.
 *
 * Data are row-major Float64Array (n rows of d values). Everything random comes from the Rng given.
 */
import { IcrlError } from '../core/errors.js';
import type { Rng } from '../core/rng.js';

const LOG_2PI = Math.log(2 * Math.PI);

export interface GmmFitOptions {
  /** Maximum EM iterations (default 100). */
  maxIter?: number;
  /** Convergence threshold on the change of mean log-likelihood per sample (default 1e-3). */
  tol?: number;
  /** Added to covariance diagonals (default 1e-6). */
  regCovar?: number;
  /** Lloyd iterations of the k-means initialisation (default 20). */
  kmeansIter?: number;
}

export interface GmmParams {
  k: number;
  d: number;
  weights: number[];
  /** k x d, row-major. */
  means: number[];
  /** k x d x d, row-major. */
  covariances: number[];
}

/** A fitted (or restored) Gaussian mixture. */
export class Gmm {
  readonly k: number;
  readonly d: number;
  readonly weights: Float64Array;
  readonly means: Float64Array;
  readonly covariances: Float64Array;
  /** Lower Cholesky factors of the covariances (k x d x d). */
  readonly chol: Float64Array;
  /** log det of each covariance. */
  readonly logDet: Float64Array;
  /** Total log-likelihood of the data it was fitted on (NaN when restored). */
  logLikelihood = NaN;
  /** Number of fitted samples (0 when restored). */
  n = 0;
  iterations = 0;
  converged = false;

  constructor(k: number, d: number, weights: Float64Array, means: Float64Array, covariances: Float64Array) {
    this.k = k;
    this.d = d;
    this.weights = weights;
    this.means = means;
    this.covariances = covariances;
    this.chol = new Float64Array(k * d * d);
    this.logDet = new Float64Array(k);
    this.refactor();
  }

  /** Recomputes Cholesky factors after the covariances changed (adds jitter when not positive definite). */
  refactor(): void {
    const { k, d } = this;
    for (let c = 0; c < k; c++) {
      this.logDet[c] = choleskyWithJitter(this.covariances, this.chol, c * d * d, d);
    }
  }

  /** Number of free parameters (full covariances): k d + k d (d + 1) / 2 + k - 1. */
  get numParams(): number {
    return this.k * this.d + (this.k * this.d * (this.d + 1)) / 2 + this.k - 1;
  }

  /** Akaike information criterion on the fitted data: -2 log L + 2 p. */
  get aic(): number {
    return -2 * this.logLikelihood + 2 * this.numParams;
  }

  /** Bayesian information criterion on the fitted data: -2 log L + p ln n. */
  get bic(): number {
    return -2 * this.logLikelihood + this.numParams * Math.log(this.n);
  }

  /** Log density of each component at x (weighted by the mixture weight) into out (length k). */
  componentLogProbs(x: ArrayLike<number>, xOff: number, out: Float64Array, tmp: Float64Array): void {
    const { k, d } = this;
    for (let c = 0; c < k; c++) {
      const L = this.chol;
      const base = c * d * d;
      let maha = 0;
      // forward substitution L y = x - mean
      for (let i = 0; i < d; i++) {
        let s = x[xOff + i] - this.means[c * d + i];
        const row = base + i * d;
        for (let j = 0; j < i; j++) s -= L[row + j] * tmp[j];
        const y = s / L[row + i];
        tmp[i] = y;
        maha += y * y;
      }
      out[c] = Math.log(this.weights[c]) - 0.5 * (d * LOG_2PI + this.logDet[c] + maha);
    }
  }

  /** Log density of the mixture at x. */
  logPdf(x: ArrayLike<number>): number {
    const lp = new Float64Array(this.k);
    this.componentLogProbs(x, 0, lp, new Float64Array(this.d));
    return logSumExp(lp, this.k);
  }

  /** Total log-likelihood of data X (n x d). */
  scoreSamples(X: Float64Array, n: number): number {
    const lp = new Float64Array(this.k);
    const tmp = new Float64Array(this.d);
    let total = 0;
    for (let i = 0; i < n; i++) {
      this.componentLogProbs(X, i * this.d, lp, tmp);
      total += logSumExp(lp, this.k);
    }
    return total;
  }

  /** Writes a draw from component c into out (length d). */
  sampleComponent(c: number, rng: Rng, out: Float64Array): Float64Array {
    const { d } = this;
    const z = new Float64Array(d);
    for (let i = 0; i < d; i++) z[i] = rng.normal();
    const base = c * d * d;
    for (let i = 0; i < d; i++) {
      let s = this.means[c * d + i];
      for (let j = 0; j <= i; j++) s += this.chol[base + i * d + j] * z[j];
      out[i] = s;
    }
    return out;
  }

  /** Writes a draw from the mixture into out. */
  sample(rng: Rng, out: Float64Array = new Float64Array(this.d)): Float64Array {
    return this.sampleComponent(rng.choice(this.weights), rng, out);
  }

  /** Mean of component c along coordinate i. */
  mean(c: number, i: number): number {
    return this.means[c * this.d + i];
  }

  /** Covariance of component c between coordinates i and j. */
  cov(c: number, i: number, j: number): number {
    return this.covariances[c * this.d * this.d + i * this.d + j];
  }

  toJSON(): GmmParams {
    return { k: this.k, d: this.d, weights: [...this.weights], means: [...this.means], covariances: [...this.covariances] };
  }

  static fromJSON(p: GmmParams, source = 'gmm'): Gmm {
    const ok =
      p && Number.isInteger(p.k) && p.k >= 1 && Number.isInteger(p.d) && p.d >= 1 &&
      Array.isArray(p.weights) && p.weights.length === p.k &&
      Array.isArray(p.means) && p.means.length === p.k * p.d &&
      Array.isArray(p.covariances) && p.covariances.length === p.k * p.d * p.d;
    if (!ok) throw new IcrlError(`${source}: not a Gaussian mixture (needs k, d, weights[k], means[k*d], covariances[k*d*d])`);
    return new Gmm(p.k, p.d, Float64Array.from(p.weights), Float64Array.from(p.means), Float64Array.from(p.covariances));
  }
}

function logSumExp(a: Float64Array, n: number): number {
  let m = -Infinity;
  for (let i = 0; i < n; i++) if (a[i] > m) m = a[i];
  if (m === -Infinity) return -Infinity;
  let s = 0;
  for (let i = 0; i < n; i++) s += Math.exp(a[i] - m);
  return m + Math.log(s);
}

/**
 * Cholesky factor of the d x d matrix at A[off..] into L[off..] (lower triangle; upper zeroed).
 * Returns log det. Adds growing jitter to the diagonal (in A as well) when the matrix is not
 * positive definite, as can happen for components collapsed on a line.
 */
function choleskyWithJitter(A: Float64Array, L: Float64Array, off: number, d: number): number {
  let jitter = 0;
  for (let attempt = 0; attempt < 12; attempt++) {
    if (jitter > 0) for (let i = 0; i < d; i++) A[off + i * d + i] += jitter;
    const ld = cholesky(A, L, off, d);
    if (ld !== null) return ld;
    jitter = jitter === 0 ? 1e-9 : jitter * 10;
  }
  throw new IcrlError('gmm: a covariance matrix is not positive definite even with jitter (data contain NaN or infinities?)');
}

function cholesky(A: Float64Array, L: Float64Array, off: number, d: number): number | null {
  let logDet = 0;
  for (let i = 0; i < d; i++) {
    for (let j = 0; j <= i; j++) {
      let s = A[off + i * d + j];
      for (let t = 0; t < j; t++) s -= L[off + i * d + t] * L[off + j * d + t];
      if (i === j) {
        if (!(s > 0)) return null;
        const v = Math.sqrt(s);
        L[off + i * d + i] = v;
        logDet += 2 * Math.log(v);
      } else {
        L[off + i * d + j] = s / L[off + j * d + j];
      }
    }
    for (let j = i + 1; j < d; j++) L[off + i * d + j] = 0;
  }
  return logDet;
}

function checkData(X: Float64Array, n: number, d: number, k: number): void {
  if (!Number.isInteger(d) || d < 1) throw new IcrlError(`gmm: dimension must be a positive integer, got ${d}`);
  if (!Number.isInteger(n) || n < 1 || X.length < n * d) throw new IcrlError(`gmm: need n x d = ${n} x ${d} values, got ${X.length}`);
  if (!Number.isInteger(k) || k < 1) throw new IcrlError(`gmm: number of components must be a positive integer, got ${k}`);
  if (k > n) throw new IcrlError(`gmm: cannot fit ${k} components to ${n} samples`);
  for (let i = 0; i < n * d; i++) {
    if (!Number.isFinite(X[i])) throw new IcrlError(`gmm: sample ${Math.floor(i / d)}, coordinate ${i % d} is ${X[i]}; data must be finite`);
  }
}

/** k-means++ seeding followed by Lloyd iterations; returns the label of each sample. */
export function kmeans(X: Float64Array, n: number, d: number, k: number, rng: Rng, iters = 20): Int32Array {
  const centers = new Float64Array(k * d);
  const dist = new Float64Array(n).fill(Infinity);
  let first = rng.int(n);
  for (let c = 0; c < k; c++) {
    if (c > 0) {
      let total = 0;
      for (let i = 0; i < n; i++) total += dist[i];
      first = total > 0 ? rng.choice(dist) : rng.int(n);
    }
    for (let j = 0; j < d; j++) centers[c * d + j] = X[first * d + j];
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < d; j++) {
        const t = X[i * d + j] - centers[c * d + j];
        s += t * t;
      }
      if (s < dist[i]) dist[i] = s;
    }
  }
  const labels = new Int32Array(n).fill(-1);
  const counts = new Float64Array(k);
  for (let it = 0; it < iters; it++) {
    let changed = 0;
    for (let i = 0; i < n; i++) {
      let best = 0;
      let bestD = Infinity;
      for (let c = 0; c < k; c++) {
        let s = 0;
        for (let j = 0; j < d; j++) {
          const t = X[i * d + j] - centers[c * d + j];
          s += t * t;
        }
        if (s < bestD) {
          bestD = s;
          best = c;
        }
      }
      if (labels[i] !== best) {
        labels[i] = best;
        changed++;
      }
    }
    if (changed === 0) break;
    centers.fill(0);
    counts.fill(0);
    for (let i = 0; i < n; i++) {
      const c = labels[i];
      counts[c]++;
      for (let j = 0; j < d; j++) centers[c * d + j] += X[i * d + j];
    }
    for (let c = 0; c < k; c++) {
      if (counts[c] > 0) for (let j = 0; j < d; j++) centers[c * d + j] /= counts[c];
    }
  }
  return labels;
}

/** M-step: weights, means and covariances from responsibilities R (n x k). */
function mStep(X: Float64Array, n: number, d: number, k: number, R: Float64Array, reg: number, g: Gmm): void {
  const eps = 10 * Number.EPSILON;
  const r = new Float64Array(n);
  const mu = new Float64Array(d);
  const diff = new Float64Array(d);
  const acc = new Float64Array(d * d);
  for (let c = 0; c < k; c++) {
    let nk = 0;
    for (let i = 0; i < n; i++) {
      const v = R[i * k + c];
      r[i] = v;
      nk += v;
    }
    nk += eps;
    g.weights[c] = nk / n;
    mu.fill(0);
    for (let i = 0; i < n; i++) {
      const ri = r[i];
      if (ri === 0) continue;
      const o = i * d;
      for (let j = 0; j < d; j++) mu[j] += ri * X[o + j];
    }
    for (let j = 0; j < d; j++) {
      mu[j] /= nk;
      g.means[c * d + j] = mu[j];
    }
    acc.fill(0);
    for (let i = 0; i < n; i++) {
      const ri = r[i];
      if (ri === 0) continue;
      const o = i * d;
      for (let j = 0; j < d; j++) diff[j] = X[o + j] - mu[j];
      for (let a = 0; a < d; a++) {
        const da = ri * diff[a];
        const row = a * d;
        for (let b = 0; b <= a; b++) acc[row + b] += da * diff[b];
      }
    }
    const base = c * d * d;
    for (let a = 0; a < d; a++) {
      for (let b = 0; b <= a; b++) {
        const v = acc[a * d + b] / nk + (a === b ? reg : 0);
        g.covariances[base + a * d + b] = v;
        g.covariances[base + b * d + a] = v;
      }
    }
  }
  g.refactor();
}

/** Fits a k-component full-covariance Gaussian mixture to X (n x d) by EM. */
export function fitGmm(X: Float64Array, n: number, d: number, k: number, rng: Rng, opts: GmmFitOptions = {}): Gmm {
  checkData(X, n, d, k);
  const maxIter = opts.maxIter ?? 100;
  const tol = opts.tol ?? 1e-3;
  const reg = opts.regCovar ?? 1e-6;
  const labels = kmeans(X, n, d, k, rng, opts.kmeansIter ?? 20);
  const R = new Float64Array(n * k);
  for (let i = 0; i < n; i++) R[i * k + labels[i]] = 1;
  const g = new Gmm(k, d, new Float64Array(k), new Float64Array(k * d), new Float64Array(k * d * d).fill(0));
  // identity placeholders so the constructor's factorisation succeeds before the first M-step
  for (let c = 0; c < k; c++) for (let j = 0; j < d; j++) g.covariances[c * d * d + j * d + j] = 1;
  mStep(X, n, d, k, R, reg, g);
  const lp = new Float64Array(k);
  const tmp = new Float64Array(d);
  let prev = -Infinity;
  let ll = -Infinity;
  for (let it = 1; it <= maxIter; it++) {
    // E-step
    ll = 0;
    for (let i = 0; i < n; i++) {
      g.componentLogProbs(X, i * d, lp, tmp);
      // log-sum-exp and responsibilities with one exp per component
      let m = -Infinity;
      for (let c = 0; c < k; c++) if (lp[c] > m) m = lp[c];
      let sum = 0;
      for (let c = 0; c < k; c++) {
        const e = Math.exp(lp[c] - m);
        R[i * k + c] = e;
        sum += e;
      }
      ll += m + Math.log(sum);
      const inv = 1 / sum;
      for (let c = 0; c < k; c++) R[i * k + c] *= inv;
    }
    g.iterations = it;
    const mean = ll / n;
    if (Math.abs(mean - prev) < tol) {
      g.converged = true;
      break;
    }
    prev = mean;
    mStep(X, n, d, k, R, reg, g);
  }
  // log-likelihood of the final parameters
  g.logLikelihood = g.converged ? ll : g.scoreSamples(X, n);
  g.n = n;
  return g;
}

export type Criterion = 'aic' | 'bic';

export interface GmmSelection {
  best: Gmm;
  /** Criterion value for each k tried, in order. */
  scores: { k: number; value: number }[];
}

/**
 * Fits one mixture per k in `ks` (skipping k > n) and keeps the one with the lowest criterion. Each
 * fit draws from its own child stream of `rng`, so the result does not depend on the order of ks.
 */
export function selectGmm(X: Float64Array, n: number, d: number, ks: readonly number[], rng: Rng, criterion: Criterion = 'aic', opts: GmmFitOptions = {}): GmmSelection {
  const usable = ks.filter((k) => k <= n);
  if (usable.length === 0) throw new IcrlError(`gmm: none of k = ${ks.join(', ')} can be fitted to ${n} samples`);
  let best: Gmm | null = null;
  let bestV = Infinity;
  const scores: { k: number; value: number }[] = [];
  for (const k of usable) {
    const g = fitGmm(X, n, d, k, rng.split(k), opts);
    const v = criterion === 'aic' ? g.aic : g.bic;
    scores.push({ k, value: v });
    if (v < bestV || best === null) {
      bestV = v;
      best = g;
    }
  }
  return { best: best as Gmm, scores };
}
