/**
 * RIAC (Baranes and Oudeyer 2009, as in the published ALP-GMM comparison code): the task space is
 * split recursively into regions; each region keeps its recent (task, return) pairs and its absolute
 * learning progress, |mean of the older half - mean of the newer half| of its last returns. A region
 * holding more than `maxRegionSize` (200) tasks is split: `splitAttempts` (50) random cuts (random
 * dimension, random position) are tried and the one maximising |ALP(left) - ALP(right)| times the
 * product of the children's sizes is kept, children narrower than 1/6 of the space along the cut
 * being refused; without a valid cut the oldest quarter of the region's tasks is dropped.
 * Sampling: 20% uniform; 10% around the worst task of a region chosen by ALP (Gaussian mutation, sd
 * 0.1); 70% uniform inside a region chosen in proportion to its ALP. Regions are leaves of the split
 * tree (the published code can also sample parent regions; this one samples leaves only).
 */
import { IcrlError } from '../core/errors.js';
import type { Rng, Seed } from '../core/rng.js';
import type { TaskSpace } from '../tasks/taskSpace.js';
import { clip01 } from './encoding.js';
import { UnitTeacher, numArray, objectOf, proportionalChoice, type BaseTeacherOptions } from './teacher.js';

export interface RiacOptions extends BaseTeacherOptions {
  maxRegionSize?: number;
  /** Returns used for a region's ALP (default maxRegionSize). */
  alpWindow?: number;
  splitAttempts?: number;
  /** Minimum width of a child region along the cut dimension, as a share of the space (default 1/6). */
  minDimsRangeRatio?: number;
  /** Share of a region's oldest tasks dropped when no valid split is found (default 1/4). */
  discardRatio?: number;
  randomRatio?: number;
  mutationRatio?: number;
}

interface Region {
  low: number[];
  high: number[];
  /** Unit points, dims each, oldest first. */
  points: number[];
  returns: number[];
  alp: number;
}

export class RiacTeacher extends UnitTeacher {
  readonly maxRegionSize: number;
  readonly alpWindow: number;
  readonly splitAttempts: number;
  readonly minRange: number;
  readonly discardRatio: number;
  readonly randomRatio: number;
  readonly mutationRatio: number;
  regions: Region[];

  constructor(space: TaskSpace, seed: Seed | Rng, opts: RiacOptions = {}) {
    super('riac', space, seed, opts);
    this.maxRegionSize = opts.maxRegionSize ?? 200;
    this.alpWindow = opts.alpWindow ?? this.maxRegionSize;
    this.splitAttempts = opts.splitAttempts ?? 50;
    this.minRange = opts.minDimsRangeRatio ?? 1 / 6;
    this.discardRatio = opts.discardRatio ?? 1 / 4;
    this.randomRatio = opts.randomRatio ?? 0.2;
    this.mutationRatio = opts.mutationRatio ?? 0.1;
    if (!Number.isInteger(this.maxRegionSize) || this.maxRegionSize < 4) throw new IcrlError(`riac: maxRegionSize must be an integer >= 4, got ${this.maxRegionSize}`);
    if (!Number.isInteger(this.alpWindow) || this.alpWindow < 2) throw new IcrlError(`riac: alpWindow must be an integer >= 2, got ${this.alpWindow}`);
    if (!(this.minRange > 0 && this.minRange < 0.5)) throw new IcrlError(`riac: minDimsRangeRatio must be in (0, 0.5), got ${this.minRange}`);
    if (!(this.randomRatio >= 0 && this.mutationRatio >= 0 && this.randomRatio + this.mutationRatio <= 1)) {
      throw new IcrlError('riac: randomRatio and mutationRatio must be >= 0 with a sum <= 1');
    }
    this.regions = [{ low: new Array(this.dims).fill(0), high: new Array(this.dims).fill(1), points: [], returns: [], alp: 0 }];
  }

  private computeAlp(returns: number[]): number {
    const n = Math.min(returns.length, this.alpWindow);
    if (n <= 2) return 0;
    const half = Math.floor(n / 2);
    let a = 0;
    let b = 0;
    const start = returns.length - n;
    for (let i = start; i < returns.length - half; i++) a += returns[i];
    for (let i = returns.length - half; i < returns.length; i++) b += returns[i];
    return Math.abs(a / (n - half) - b / half);
  }

  protected proposeUnit(out: Float64Array): void {
    const mode = this.rng.uniform53();
    if (mode < this.randomRatio || this.episodes === 0) {
      for (let i = 0; i < this.dims; i++) out[i] = this.rng.uniform53();
      return;
    }
    const r = this.regions[proportionalChoice(this.rng, this.regions.map((g) => g.alp))];
    if (mode < this.randomRatio + this.mutationRatio && r.returns.length > 0) {
      let worst = 0;
      for (let i = 1; i < r.returns.length; i++) if (r.returns[i] < r.returns[worst]) worst = i;
      for (let i = 0; i < this.dims; i++) out[i] = clip01(r.points[worst * this.dims + i] + this.rng.normal(0, 0.1));
      return;
    }
    for (let i = 0; i < this.dims; i++) out[i] = this.rng.uniformRange(r.low[i], r.high[i]);
  }

  private regionOf(u: ArrayLike<number>): number {
    for (let k = 0; k < this.regions.length; k++) {
      const g = this.regions[k];
      let inside = true;
      for (let i = 0; i < this.dims && inside; i++) {
        // half-open [low, high) except at the space's upper bound
        inside = u[i] >= g.low[i] && (u[i] < g.high[i] || (g.high[i] === 1 && u[i] <= 1));
      }
      if (inside) return k;
    }
    return 0;
  }

  protected observeUnit(u: Float64Array, ret: number): void {
    const k = this.regionOf(u);
    const g = this.regions[k];
    for (let i = 0; i < this.dims; i++) g.points.push(u[i]);
    g.returns.push(ret);
    g.alp = this.computeAlp(g.returns);
    if (g.returns.length > this.maxRegionSize) this.split(k);
  }

  private split(k: number): void {
    const g = this.regions[k];
    const d = this.dims;
    const n = g.returns.length;
    let best: { dim: number; cut: number; score: number } | null = null;
    for (let a = 0; a < this.splitAttempts; a++) {
      const dim = this.rng.int(d);
      const cut = this.rng.uniformRange(g.low[dim], g.high[dim]);
      if (cut - g.low[dim] < this.minRange || g.high[dim] - cut < this.minRange) continue;
      const left: number[] = [];
      const right: number[] = [];
      for (let i = 0; i < n; i++) (g.points[i * d + dim] < cut ? left : right).push(g.returns[i]);
      if (left.length === 0 || right.length === 0) continue;
      const score = left.length * right.length * Math.abs(this.computeAlp(left) - this.computeAlp(right));
      if (best === null || score > best.score) best = { dim, cut, score };
    }
    if (best === null) {
      const drop = Math.max(1, Math.floor(n * this.discardRatio));
      g.points.splice(0, drop * d);
      g.returns.splice(0, drop);
      g.alp = this.computeAlp(g.returns);
      return;
    }
    const mk = (isLeft: boolean): Region => {
      const low = [...g.low];
      const high = [...g.high];
      if (isLeft) high[best.dim] = best.cut;
      else low[best.dim] = best.cut;
      const r: Region = { low, high, points: [], returns: [], alp: 0 };
      for (let i = 0; i < n; i++) {
        if (g.points[i * d + best.dim] < best.cut === isLeft) {
          for (let j = 0; j < d; j++) r.points.push(g.points[i * d + j]);
          r.returns.push(g.returns[i]);
        }
      }
      r.alp = this.computeAlp(r.returns);
      return r;
    };
    this.regions.splice(k, 1, mk(true), mk(false));
  }

  protected dataToJSON(): unknown {
    return { regions: this.regions };
  }

  protected dataFromJSON(data: unknown, source: string): void {
    const d = objectOf(data, source);
    if (!Array.isArray(d.regions) || d.regions.length === 0) throw new IcrlError(`${source}: data.regions must be a non-empty array`);
    this.regions = d.regions.map((r: unknown, i: number) => {
      const o = objectOf(r, source);
      const returns = numArray(o.returns, `regions[${i}].returns`, source);
      return {
        low: numArray(o.low, `regions[${i}].low`, source, this.dims),
        high: numArray(o.high, `regions[${i}].high`, source, this.dims),
        points: numArray(o.points, `regions[${i}].points`, source, returns.length * this.dims),
        returns,
        alp: numArray([o.alp], `regions[${i}].alp`, source)[0],
      };
    });
  }
}
