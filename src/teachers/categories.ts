/**
 * Shared pieces of the teachers that choose among task categories (SEC, DUMP): the category grid of
 * a task space and the per-category advantage baseline.
 */
import type { UnitEncoding } from './encoding.js';
import { CategoryGrid, UnsupportedTaskSpaceError } from './encoding.js';

export interface CategoryOptions {
  /** Bins per box dimension (default: the largest of 2..10 keeping at most maxCategories categories). */
  boxBins?: number;
  /**
   * Groups the values of every finite parameter into at most this many bins of neighbouring values
   * (default: each value its own category).
   */
  coarseBins?: number;
  /** Largest number of categories accepted (default 4096). */
  maxCategories?: number;
}

/** The category grid of a task space; a space with too many categories is a clear error. */
export function categoryGrid(teacher: string, enc: UnitEncoding, opts: CategoryOptions): CategoryGrid {
  const maxCat = opts.maxCategories ?? 4096;
  const coarse = opts.coarseBins;
  if (coarse !== undefined && (!Number.isInteger(coarse) || coarse < 1)) throw new UnsupportedTaskSpaceError(`${teacher}: coarseBins must be a positive integer, got ${coarse}`);
  let boxDims = 0;
  let finiteCount = 1;
  const finiteBins = enc.finiteBins.map((n) => (n > 0 && coarse !== undefined ? Math.min(n, coarse) : n));
  for (let i = 0; i < enc.dims; i++) {
    if (finiteBins[i] > 0) finiteCount *= finiteBins[i];
    else boxDims++;
  }
  let bins = opts.boxBins;
  if (bins === undefined) {
    bins = 10;
    while (bins > 2 && finiteCount * bins ** boxDims > maxCat) bins--;
  }
  if (!Number.isInteger(bins) || bins < 1) throw new UnsupportedTaskSpaceError(`${teacher}: boxBins must be a positive integer, got ${bins}`);
  const count = finiteCount * bins ** boxDims;
  if (count > maxCat) {
    const parts: string[] = [];
    if (boxDims > 0) parts.push(`${boxDims} box dimension${boxDims > 1 ? 's' : ''} cut into ${bins} bins`);
    if (finiteCount > 1) parts.push(`${finiteCount} combinations of finite parameter values`);
    throw new UnsupportedTaskSpaceError(
      `${teacher}: task space ${enc.describe()} has ${count} task categories (${parts.join(', ')}), more than maxCategories = ${maxCat}; ` +
        'this teacher chooses among categories: set coarseBins (finite parameters) or boxBins (box dimensions), raise maxCategories, ' +
        'or pick a teacher that works on the continuous encoding (alp-gmm, covar-gmm, riac, adr, plr)',
    );
  }
  const out = new Int32Array(enc.dims);
  for (let i = 0; i < enc.dims; i++) out[i] = finiteBins[i] > 0 ? finiteBins[i] : bins;
  return new CategoryGrid(out);
}

/**
 * Advantage of a return against its category's baseline: the mean of the category's last `window`
 * returns (0 before any). The published SEC and DUMP take the policy-gradient advantage of the
 * learner; a teacher that only sees returns uses this stand-in.
 */
export class CategoryBaseline {
  private readonly sums: Float64Array;
  private readonly counts: Int32Array;
  private readonly ring: Float64Array;
  private readonly heads: Int32Array;
  constructor(readonly categories: number, readonly window = 10) {
    this.sums = new Float64Array(categories);
    this.counts = new Int32Array(categories);
    this.ring = new Float64Array(categories * window);
    this.heads = new Int32Array(categories);
  }
  /** Advantage of `ret` in category c, then adds ret to the baseline. */
  advantage(c: number, ret: number): number {
    const n = this.counts[c];
    const adv = ret - (n > 0 ? this.sums[c] / n : 0);
    const slot = c * this.window + this.heads[c];
    if (n === this.window) this.sums[c] -= this.ring[slot];
    else this.counts[c] = n + 1;
    this.ring[slot] = ret;
    this.sums[c] += ret;
    this.heads[c] = (this.heads[c] + 1) % this.window;
    return adv;
  }
  /** The running sums are saved too, so that a restored baseline continues bit for bit. */
  toJSON(): { ring: number[]; counts: number[]; heads: number[]; sums: number[] } {
    return { ring: [...this.ring], counts: [...this.counts], heads: [...this.heads], sums: [...this.sums] };
  }
  load(v: { ring: number[]; counts: number[]; heads: number[]; sums: number[] }): void {
    this.ring.set(v.ring);
    this.counts.set(v.counts);
    this.heads.set(v.heads);
    this.sums.set(v.sums);
  }
}
