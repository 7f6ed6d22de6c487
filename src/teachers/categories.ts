/**
 * Shared pieces of the teachers that choose among task categories (SEC, DUMP): the category grid of
 * a task space and the per-category advantage baseline.
 */
import type { UnitEncoding } from './encoding.js';
import { CategoryGrid, UnsupportedTaskSpaceError } from './encoding.js';

export interface CategoryOptions {
  /** Bins per box dimension (default: the largest of 2..10 keeping at most maxCategories categories). */
  boxBins?: number;
  /** Largest number of categories accepted (default 4096). */
  maxCategories?: number;
}

/** The category grid of a task space; a space with too many categories is a clear error. */
export function categoryGrid(teacher: string, enc: UnitEncoding, opts: CategoryOptions): CategoryGrid {
  const maxCat = opts.maxCategories ?? 4096;
  let boxDims = 0;
  let finiteCount = 1;
  for (let i = 0; i < enc.dims; i++) {
    if (enc.finiteBins[i] > 0) finiteCount *= enc.finiteBins[i];
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
    throw new UnsupportedTaskSpaceError(
      `${teacher}: task space ${enc.describe()} has ${count} task categories (${boxDims} box dimensions cut into ${bins} bins` +
        `${finiteCount > 1 ? `, ${finiteCount} finite combinations` : ''}), more than maxCategories = ${maxCat}; ` +
        'this teacher chooses among categories: use fewer box bins, raise maxCategories, or pick a teacher for continuous spaces (alp-gmm, riac)',
    );
  }
  return new CategoryGrid(enc.binsPerDim(bins));
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
