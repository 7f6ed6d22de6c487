import { describe, it, expect } from 'vitest';
import { Rng } from '../src/core/index.js';
import { fitGmm, selectGmm, Gmm, kmeans } from '../src/teachers/gmm.js';

/** n points from 3 clusters, the second with correlated coordinates. */
function threeClusters(n: number, seed = 1): Float64Array {
  const rng = new Rng(seed);
  const X = new Float64Array(n * 2);
  for (let i = 0; i < n; i++) {
    const c = i % 3;
    if (c === 0) {
      X[i * 2] = rng.normal(0, 0.5);
      X[i * 2 + 1] = rng.normal(0, 1);
    } else if (c === 1) {
      const a = rng.normal(0, 0.6);
      X[i * 2] = 5 + a;
      X[i * 2 + 1] = 5 + 0.8 * a + rng.normal(0, 0.2);
    } else {
      X[i * 2] = rng.normal(0, 0.3);
      X[i * 2 + 1] = 8 + rng.normal(0, 0.3);
    }
  }
  return X;
}

describe('Gaussian mixtures (EM, full covariances)', () => {
  it('recovers three clusters, their weights and the correlation of the tilted one', () => {
    const n = 900;
    const X = threeClusters(n);
    const g = fitGmm(X, n, 2, 3, new Rng(0));
    expect(g.converged).toBe(true);
    const order = [0, 1, 2].sort((a, b) => g.mean(a, 1) - g.mean(b, 1) || g.mean(a, 0) - g.mean(b, 0));
    // sorted by y mean: (0,0), (5,5), (0,8)
    const [c0, c1, c2] = order;
    expect(g.mean(c0, 0)).toBeCloseTo(0, 0);
    expect(g.mean(c1, 0)).toBeCloseTo(5, 0);
    expect(g.mean(c2, 1)).toBeCloseTo(8, 0);
    for (const c of order) expect(g.weights[c]).toBeGreaterThan(0.3 - 0.03);
    // tilted cluster: cov(x, y) = 0.8 * 0.36 = 0.288, var x = 0.36
    expect(g.cov(c1, 0, 1)).toBeGreaterThan(0.2);
    expect(g.cov(c1, 0, 1)).toBeLessThan(0.38);
    expect(g.cov(c1, 0, 0)).toBeGreaterThan(0.28);
    expect(g.cov(c1, 0, 0)).toBeLessThan(0.45);
    // untilted cluster: near-zero covariance, var y about 1
    expect(Math.abs(g.cov(c0, 0, 1))).toBeLessThan(0.1);
    expect(g.cov(c0, 1, 1)).toBeGreaterThan(0.7);
  });

  it('BIC and AIC pick three components on three clusters', () => {
    const n = 600;
    const X = threeClusters(n, 3);
    const bic = selectGmm(X, n, 2, [1, 2, 3, 4, 5, 6], new Rng(0), 'bic');
    expect(bic.best.k).toBe(3);
    expect(bic.scores.map((s) => s.k)).toEqual([1, 2, 3, 4, 5, 6]);
    const aic = selectGmm(X, n, 2, [1, 2, 3, 4, 5, 6], new Rng(0), 'aic');
    expect(aic.best.k).toBe(3);
    // criteria as defined: -2 log L + 2p and -2 log L + p ln n, p = k d + k d (d+1)/2 + k - 1
    const g = bic.best;
    expect(g.numParams).toBe(3 * 2 + 3 * 3 + 2);
    expect(g.aic).toBeCloseTo(-2 * g.logLikelihood + 2 * g.numParams, 6);
    expect(g.bic).toBeCloseTo(-2 * g.logLikelihood + g.numParams * Math.log(n), 6);
    expect(g.logLikelihood).toBeCloseTo(g.scoreSamples(X, n), 3);
  });

  it('EM never lowers the log-likelihood', () => {
    const n = 300;
    const X = threeClusters(n, 5);
    let prev = -Infinity;
    for (let it = 1; it <= 12; it++) {
      const g = fitGmm(X, n, 2, 4, new Rng(7), { maxIter: it, tol: 0 });
      expect(g.logLikelihood).toBeGreaterThanOrEqual(prev - 1e-6);
      prev = g.logLikelihood;
    }
  });

  it('samples match the component moments; JSON round trip keeps the density', () => {
    const g = new Gmm(1, 2, Float64Array.from([1]), Float64Array.from([1, -2]), Float64Array.from([2, 0.9, 0.9, 1]));
    const rng = new Rng(11);
    const n = 20000;
    let mx = 0;
    let my = 0;
    let sxy = 0;
    const out = new Float64Array(2);
    const pts: number[] = [];
    for (let i = 0; i < n; i++) {
      g.sample(rng, out);
      pts.push(out[0], out[1]);
      mx += out[0];
      my += out[1];
    }
    mx /= n;
    my /= n;
    for (let i = 0; i < n; i++) sxy += (pts[2 * i] - mx) * (pts[2 * i + 1] - my);
    expect(mx).toBeCloseTo(1, 1);
    expect(my).toBeCloseTo(-2, 1);
    expect(sxy / n).toBeCloseTo(0.9, 1);
    const back = Gmm.fromJSON(JSON.parse(JSON.stringify(g.toJSON())));
    expect(back.logPdf([0.3, -1.5])).toBeCloseTo(g.logPdf([0.3, -1.5]), 12);
    // density of N(mu, S) at mu: -log(2 pi) - 0.5 log det S
    expect(g.logPdf([1, -2])).toBeCloseTo(-Math.log(2 * Math.PI) - 0.5 * Math.log(2 - 0.81), 10);
  });

  it('degenerate data (identical points, a line) give finite fits', () => {
    const n = 50;
    const same = new Float64Array(n * 3).fill(0.25);
    const g = fitGmm(same, n, 3, 2, new Rng(0));
    expect(Number.isFinite(g.logLikelihood)).toBe(true);
    const line = new Float64Array(n * 2);
    for (let i = 0; i < n; i++) {
      line[2 * i] = i / n;
      line[2 * i + 1] = 2 * (i / n);
    }
    const s = selectGmm(line, n, 2, [2, 3, 4], new Rng(0), 'aic');
    expect(Number.isFinite(s.best.aic)).toBe(true);
  });

  it('is deterministic by seed and rejects bad input with clear errors', () => {
    const n = 200;
    const X = threeClusters(n, 9);
    const a = fitGmm(X, n, 2, 3, new Rng(4));
    const b = fitGmm(X, n, 2, 3, new Rng(4));
    expect([...a.means]).toEqual([...b.means]);
    expect(kmeans(X, n, 2, 3, new Rng(1)).length).toBe(n);
    expect(() => fitGmm(X, 2, 2, 3, new Rng(0))).toThrow(/cannot fit 3 components to 2 samples/);
    const bad = Float64Array.from(X);
    bad[5] = NaN;
    expect(() => fitGmm(bad, n, 2, 2, new Rng(0))).toThrow(/sample 2, coordinate 1 is NaN/);
    expect(() => selectGmm(X, 3, 2, [4, 5], new Rng(0))).toThrow(/none of k = 4, 5/);
    expect(() => Gmm.fromJSON({ k: 2, d: 2, weights: [1], means: [], covariances: [] }, 'state.json')).toThrow(/state.json: not a Gaussian mixture/);
  });
});
