import { describe, expect, it } from 'vitest';
import { bootstrapCi, interquartileMean, iqmInterval } from '../src/eval/stats.js';

describe('interquartileMean', () => {
  it('cuts floor(n/4) values from each end, as scipy.stats.trim_mean(x, 0.25)', () => {
    expect(interquartileMean([3, 1, 2])).toBeCloseTo(2, 12); // n < 4: the plain mean
    expect(interquartileMean([100, 1, 2, 3])).toBeCloseTo(2.5, 12); // 1 cut each side: mean(2, 3)
    // trim_mean(arange(10), 0.25) = mean(2..7) = 4.5
    expect(interquartileMean([9, 8, 7, 6, 5, 4, 3, 2, 1, 0])).toBeCloseTo(4.5, 12);
    expect(interquartileMean([1, 2, 3, 4, 1000, -1000, 2, 3])).toBeCloseTo(2.5, 12);
    expect(Number.isNaN(interquartileMean([]))).toBe(true);
  });
});

describe('bootstrapCi', () => {
  it('is deterministic for a seed, brackets the estimate and narrows with more data', () => {
    const small = [1, 2, 3, 4, 5, 6];
    const a = iqmInterval(small, 7);
    const b = iqmInterval(small, 7);
    expect(a).toEqual(b);
    expect(a.lo).toBeLessThanOrEqual(a.estimate);
    expect(a.hi).toBeGreaterThanOrEqual(a.estimate);
    const big = Array.from({ length: 96 }, (_, i) => 1 + (i % 6));
    const c = iqmInterval(big, 7);
    expect(c.hi - c.lo).toBeLessThan((a.hi - a.lo) / 2);
  });

  it('covers the mean of a known distribution about 95% of the time', () => {
    // 200 samples of 12 values uniform on a grid with mean 0.5; the interval of the mean should
    // cover 0.5 in roughly 95% of them (percentile bootstrap undercovers a little at n = 12).
    let covered = 0;
    for (let r = 0; r < 200; r++) {
      const v = Array.from({ length: 12 }, (_, i) => ((i * 7919 + r * 104729) % 1000) / 999);
      const ci = bootstrapCi(v, (s) => s.reduce((x, y) => x + y, 0) / s.length, { samples: 500, seed: r });
      if (ci.lo <= 0.5 && 0.5 <= ci.hi) covered++;
    }
    expect(covered / 200).toBeGreaterThan(0.85);
    expect(covered / 200).toBeLessThanOrEqual(1);
  });

  it('collapses for one value and refuses bad options', () => {
    expect(iqmInterval([4])).toEqual({ estimate: 4, lo: 4, hi: 4, n: 1 });
    expect(() => bootstrapCi([1, 2], interquartileMean, { samples: 3 })).toThrow(/samples/);
    expect(() => bootstrapCi([1, 2], interquartileMean, { level: 1.5 })).toThrow(/level/);
  });
});
