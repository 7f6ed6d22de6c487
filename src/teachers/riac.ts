/**
 * RIAC (Baranes and Oudeyer 2009) as published in the teachDeepRL code of Portelas et al. (2019,
 * `teachers/algos/riac.py`): a tree of regions of the task space. Every region keeps a window of its
 * last `maxRegionSize + 1` (task, return) pairs (a task is recorded in every region that contains it,
 * from the root down to its leaf) and its absolute learning progress, |mean of the older half - mean
 * of the newer half| of its last `alpWindow` returns. A leaf holding more than `maxRegionSize` tasks
 * is split: `splitAttempts` (50) attempts, each drawing a cut (random dimension, uniform position)
 * until both children hold at least `minRegionSize` of the leaf's tasks; an attempt is valid when
 * both children are at least `minDimsRangeRatio` of the space wide, and the valid attempt with the
 * best split score is kept (ties: the later one). Without a valid attempt the leaf's oldest
 * `discardRatio` x maxRegionSize tasks are dropped.
 *
 * Sampling: 10% around the worst task of a region drawn by ALP (Gaussian mutation, sd 0.1, clipped
 * to the region), 20% uniform, 70% uniform inside a region drawn in proportion to its ALP (uniformly
 * when all ALPs are 0). The regions drawn from are all nodes of the tree (`samplingInLeavesOnly`
 * false, as published) or the leaves only.
 *
 * Defaults are those of the published code (`riac`); `riac-leaves` in the registry is the variant
 * this project used before (leaves only, children at least 1/6 wide as in TeachMyAgent's RIAC
 * constructor, any non-empty child, split score weighted by the children's sizes).
 */
import { IcrlError } from '../core/errors.js';
import type { Rng, Seed } from '../core/rng.js';
import type { TaskSpace } from '../tasks/taskSpace.js';
import { UnitTeacher, numArray, objectOf, proportionalChoice, type BaseTeacherOptions } from './teacher.js';

/**
 * How a split attempt is scored. `alp-difference`: |ALP(child 1) - ALP(child 2)|, which is what the
 * published code computes (it multiplies by `len()` of each child's [returns, tasks] pair, always 2);
 * `alp-difference-times-sizes`: the same times the numbers of tasks of the two children (what that
 * line appears to intend).
 */
export type RiacSplitScore = 'alp-difference' | 'alp-difference-times-sizes';

export interface RiacOptions extends BaseTeacherOptions {
  /** Tasks a leaf holds before it is split (default 200). */
  maxRegionSize?: number;
  /** Returns used for a region's ALP (default maxRegionSize). */
  alpWindow?: number;
  /** Split attempts per split (default 50). */
  splitAttempts?: number;
  /** Draw tasks from the leaves only (default false: from every region of the tree, as published). */
  samplingInLeavesOnly?: boolean;
  /** Least tasks of the split leaf each child must hold (default maxRegionSize / 20). */
  minRegionSize?: number;
  /** Least width of a child along every dimension, as a share of the space (default 1/15). */
  minDimsRangeRatio?: number;
  /** Share of maxRegionSize dropped (oldest first) when no valid split is found (default 1/4). */
  discardRatio?: number;
  /** Split score (default alp-difference, as the published code computes it). */
  splitScore?: RiacSplitScore;
  /** Share of uniform tasks (default 0.2). */
  randomRatio?: number;
  /** Share of mutated worst tasks (default 0.1). */
  mutationRatio?: number;
}

interface Region {
  low: number[];
  high: number[];
  /** Unit points, dims each, oldest first (the last maxRegionSize + 1 tasks inside the region). */
  points: number[];
  returns: number[];
  alp: number;
  /** Indices of the two children, or null for a leaf. */
  children: [number, number] | null;
}

export class RiacTeacher extends UnitTeacher {
  readonly maxRegionSize: number;
  readonly alpWindow: number;
  readonly splitAttempts: number;
  readonly samplingInLeavesOnly: boolean;
  readonly minRegionSize: number;
  readonly minRange: number;
  readonly discardRatio: number;
  readonly splitScore: RiacSplitScore;
  readonly randomRatio: number;
  readonly mutationRatio: number;
  /** The tree, in creation order (0 is the root, the whole space). */
  regions: Region[];
  private sampled = 0;

  constructor(space: TaskSpace, seed: Seed | Rng, opts: RiacOptions = {}, name = 'riac') {
    super(name, space, seed, opts);
    this.maxRegionSize = opts.maxRegionSize ?? 200;
    this.alpWindow = opts.alpWindow ?? this.maxRegionSize;
    this.splitAttempts = opts.splitAttempts ?? 50;
    this.samplingInLeavesOnly = opts.samplingInLeavesOnly ?? false;
    this.minRegionSize = opts.minRegionSize ?? this.maxRegionSize / 20;
    this.minRange = opts.minDimsRangeRatio ?? 1 / 15;
    this.discardRatio = opts.discardRatio ?? 1 / 4;
    this.splitScore = opts.splitScore ?? 'alp-difference';
    this.randomRatio = opts.randomRatio ?? 0.2;
    this.mutationRatio = opts.mutationRatio ?? 0.1;
    const n = this.name;
    if (!Number.isInteger(this.maxRegionSize) || this.maxRegionSize < 4) throw new IcrlError(`${n}: maxRegionSize must be an integer >= 4, got ${this.maxRegionSize}`);
    if (!Number.isInteger(this.alpWindow) || this.alpWindow < 2) throw new IcrlError(`${n}: alpWindow must be an integer >= 2, got ${this.alpWindow}`);
    if (!Number.isInteger(this.splitAttempts) || this.splitAttempts < 1) throw new IcrlError(`${n}: splitAttempts must be a positive integer, got ${this.splitAttempts}`);
    if (!(this.minRegionSize >= 0 && 2 * this.minRegionSize <= this.maxRegionSize + 1)) {
      throw new IcrlError(`${n}: minRegionSize must be in [0, (maxRegionSize + 1) / 2], got ${this.minRegionSize}`);
    }
    if (!(this.minRange >= 0 && this.minRange < 0.5)) throw new IcrlError(`${n}: minDimsRangeRatio must be in [0, 0.5), got ${this.minRange}`);
    if (!(this.discardRatio > 0 && this.discardRatio <= 1)) throw new IcrlError(`${n}: discardRatio must be in (0, 1], got ${this.discardRatio}`);
    if (!(this.randomRatio >= 0 && this.mutationRatio >= 0 && this.randomRatio + this.mutationRatio <= 1)) {
      throw new IcrlError(`${n}: randomRatio and mutationRatio must be >= 0 with a sum <= 1`);
    }
    this.regions = [this.region(new Array(this.dims).fill(0), new Array(this.dims).fill(1))];
  }

  private region(low: number[], high: number[]): Region {
    return { low, high, points: [], returns: [], alp: 0, children: null };
  }

  /** |mean of the older half - mean of the newer half| of the last alpWindow returns (0 for 2 or fewer). */
  computeAlp(returns: ArrayLike<number>): number {
    const n = Math.min(returns.length, this.alpWindow);
    if (returns.length <= 2) return 0;
    const half = Math.floor(n / 2);
    let a = 0;
    let b = 0;
    const start = returns.length - n;
    for (let i = start; i < returns.length - half; i++) a += returns[i];
    for (let i = returns.length - half; i < returns.length; i++) b += returns[i];
    return Math.abs(a / (n - half) - b / half);
  }

  /** Indices of the regions tasks are drawn from (all nodes or the leaves, in creation order). */
  samplingRegions(): number[] {
    const out: number[] = [];
    for (let k = 0; k < this.regions.length; k++) if (!this.samplingInLeavesOnly || this.regions[k].children === null) out.push(k);
    return out;
  }

  protected proposeUnit(out: Float64Array): void {
    const first = this.sampled === 0;
    this.sampled++;
    const mode = this.rng.uniform53();
    const uniform = (): void => {
      for (let i = 0; i < this.dims; i++) out[i] = this.rng.uniform53();
    };
    if (mode < this.mutationRatio) {
      if (first) return uniform();
      const g = this.regions[this.drawRegion()];
      if (g.returns.length === 0) return this.uniformIn(g, out);
      let worst = 0;
      for (let i = 1; i < g.returns.length; i++) if (g.returns[i] < g.returns[worst]) worst = i;
      // clipped just inside the region, as published (so that the task falls in that region)
      for (let i = 0; i < this.dims; i++) {
        const x = g.points[worst * this.dims + i] + this.rng.normal(0, 0.1);
        out[i] = Math.min(Math.max(x, g.low[i] + 1e-5), g.high[i] - 1e-5);
      }
      return;
    }
    if (mode < this.mutationRatio + this.randomRatio) return uniform();
    this.uniformIn(this.regions[this.drawRegion()], out);
  }

  private drawRegion(): number {
    const ks = this.samplingRegions();
    return ks[proportionalChoice(this.rng, ks.map((k) => this.regions[k].alp))];
  }

  private uniformIn(g: Region, out: Float64Array): void {
    for (let i = 0; i < this.dims; i++) out[i] = this.rng.uniformRange(g.low[i], g.high[i]);
  }

  private contains(g: Region, u: ArrayLike<number>): boolean {
    for (let i = 0; i < this.dims; i++) if (!(u[i] >= g.low[i] && u[i] <= g.high[i])) return false;
    return true;
  }

  protected observeUnit(u: Float64Array, ret: number): void {
    const touched: number[] = [];
    const toSplit: number[] = [];
    const visit = (k: number): void => {
      const g = this.regions[k];
      if (!this.contains(g, u)) return;
      touched.push(k);
      if (g.children) for (const c of g.children) visit(c);
      for (let i = 0; i < this.dims; i++) g.points.push(u[i]);
      g.returns.push(ret);
      if (g.returns.length > this.maxRegionSize + 1) {
        g.points.splice(0, this.dims);
        g.returns.shift();
      }
      if (g.children === null && g.returns.length > this.maxRegionSize) toSplit.push(k);
    };
    visit(0);
    for (const k of toSplit) this.split(k);
    for (const k of touched) this.regions[k].alp = this.computeAlp(this.regions[k].returns);
  }

  private split(k: number): void {
    const g = this.regions[k];
    const d = this.dims;
    const n = g.returns.length;
    let best: { dim: number; cut: number; score: number } | null = null;
    // The published code redraws (dimension, uniform position) until both children hold minRegionSize
    // tasks. The accepted draw is uniform over the admissible cuts, the dimension taken in proportion
    // to its admissible share of the region's width: drawn here directly, without the loop (which
    // never ends when no cut is admissible; then every attempt is invalid).
    const m = Math.ceil(this.minRegionSize);
    const from = new Float64Array(d);
    const to = new Float64Array(d);
    const weight = new Float64Array(d);
    const coords = new Float64Array(n);
    for (let j = 0; j < d; j++) {
      if (m === 0) {
        from[j] = g.low[j];
        to[j] = g.high[j];
      } else {
        for (let i = 0; i < n; i++) coords[i] = g.points[i * d + j];
        coords.sort();
        from[j] = coords[m - 1];
        to[j] = coords[n - m];
      }
      const width = g.high[j] - g.low[j];
      weight[j] = width > 0 && to[j] > from[j] ? (to[j] - from[j]) / width : 0;
    }
    if (weight.some((w) => w > 0)) {
      for (let a = 0; a < this.splitAttempts; a++) {
        const dim = this.rng.choice(weight);
        const cut = this.rng.uniformRange(from[dim], to[dim]);
        if (cut - g.low[dim] < this.minRange || g.high[dim] - cut < this.minRange) continue;
        const r1: number[] = [];
        const r2: number[] = [];
        for (let i = 0; i < n; i++) (g.points[i * d + dim] <= cut ? r1 : r2).push(g.returns[i]);
        let score = Math.abs(this.computeAlp(r1) - this.computeAlp(r2));
        if (this.splitScore === 'alp-difference-times-sizes') score *= r1.length * r2.length;
        if (best === null || score >= best.score) best = { dim, cut, score };
      }
    }
    if (best === null) {
      const drop = Math.floor(this.maxRegionSize * this.discardRatio);
      g.points.splice(0, drop * d);
      g.returns.splice(0, drop);
      return;
    }
    const child = (first: boolean): Region => {
      const low = [...g.low];
      const high = [...g.high];
      if (first) high[best.dim] = best.cut;
      else low[best.dim] = best.cut;
      const r = this.region(low, high);
      for (let i = 0; i < n; i++) {
        if (g.points[i * d + best.dim] <= best.cut === first) {
          for (let j = 0; j < d; j++) r.points.push(g.points[i * d + j]);
          r.returns.push(g.returns[i]);
        }
      }
      r.alp = this.computeAlp(r.returns);
      return r;
    };
    const a = this.regions.length;
    this.regions.push(child(true), child(false));
    g.children = [a, a + 1];
  }

  protected dataToJSON(): unknown {
    return { sampled: this.sampled, regions: this.regions };
  }

  protected dataFromJSON(data: unknown, source: string): void {
    const d = objectOf(data, source);
    if (!Array.isArray(d.regions) || d.regions.length === 0) throw new IcrlError(`${source}: data.regions must be a non-empty array`);
    const count = d.regions.length;
    const regions = d.regions.map((r: unknown, i: number): Region => {
      const o = objectOf(r, source);
      const returns = numArray(o.returns, `regions[${i}].returns`, source);
      if (returns.length > this.maxRegionSize + 1) throw new IcrlError(`${source}: data.regions[${i}].returns holds ${returns.length} returns, more than maxRegionSize + 1 = ${this.maxRegionSize + 1}`);
      let children: [number, number] | null = null;
      if (o.children !== null && o.children !== undefined) {
        const c = numArray(o.children, `regions[${i}].children`, source, 2);
        if (!c.every((x) => Number.isInteger(x) && x > i && x < count)) throw new IcrlError(`${source}: data.regions[${i}].children must be two indices of later regions, got [${c.join(', ')}]`);
        children = [c[0], c[1]];
      }
      return {
        low: numArray(o.low, `regions[${i}].low`, source, this.dims),
        high: numArray(o.high, `regions[${i}].high`, source, this.dims),
        points: numArray(o.points, `regions[${i}].points`, source, returns.length * this.dims),
        returns,
        alp: numArray([o.alp], `regions[${i}].alp`, source)[0],
        children,
      };
    });
    const sampled = d.sampled;
    if (!Number.isInteger(sampled) || (sampled as number) < 0) throw new IcrlError(`${source}: data.sampled must be a non-negative integer`);
    this.regions = regions;
    this.sampled = sampled as number;
  }
}
