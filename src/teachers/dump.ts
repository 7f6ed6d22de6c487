/**
 * DUMP, distribution-level curriculum (Wang et al. 2025): each task category (distribution) keeps a
 * window of its recent absolute advantages; its score is an upper confidence bound, the mean absolute
 * advantage plus c sqrt(2 ln N / n_j) (N episodes in all, n_j in the category); categories never
 * tried come first; otherwise a category is drawn from a softmax over scores (temperature 0.1) and
 * the task is uniform inside it.
 */
import { IcrlError } from '../core/errors.js';
import type { Rng, Seed } from '../core/rng.js';
import type { TaskSpace } from '../tasks/taskSpace.js';
import type { CategoryGrid } from './encoding.js';
import { UnitTeacher, numArray, objectOf, softmaxChoice, type BaseTeacherOptions } from './teacher.js';
import { CategoryBaseline, categoryGrid, type CategoryOptions } from './categories.js';

export interface DumpOptions extends BaseTeacherOptions, CategoryOptions {
  /** Absolute advantages kept per category (default 300). */
  window?: number;
  /** Exploration coefficient of the count bonus (default 1). */
  c?: number;
  temperature?: number;
  baselineWindow?: number;
}

export class DumpTeacher extends UnitTeacher {
  readonly grid: CategoryGrid;
  readonly window: number;
  readonly c: number;
  readonly temperature: number;
  /** Ring of absolute advantages per category. */
  private advs: Float64Array;
  private advCount: Int32Array;
  private advHead: Int32Array;
  private advSum: Float64Array;
  /** Episodes per category (all time). */
  visits: Float64Array;
  private baseline: CategoryBaseline;
  private readonly uni = (): number => this.rng.uniform53();

  constructor(space: TaskSpace, seed: Seed | Rng, opts: DumpOptions = {}) {
    super('dump', space, seed, opts);
    this.grid = categoryGrid(this.name, this.enc, opts);
    this.window = opts.window ?? 300;
    this.c = opts.c ?? 1;
    this.temperature = opts.temperature ?? 0.1;
    if (!Number.isInteger(this.window) || this.window < 1) throw new IcrlError(`dump: window must be a positive integer, got ${this.window}`);
    if (!(this.c >= 0)) throw new IcrlError(`dump: c must be >= 0, got ${this.c}`);
    if (!(this.temperature > 0)) throw new IcrlError(`dump: temperature must be > 0, got ${this.temperature}`);
    const n = this.grid.count;
    this.advs = new Float64Array(n * this.window);
    this.advCount = new Int32Array(n);
    this.advHead = new Int32Array(n);
    this.advSum = new Float64Array(n);
    this.visits = new Float64Array(n);
    this.baseline = new CategoryBaseline(n, opts.baselineWindow ?? 10);
  }

  /** UCB score of every category (Infinity for categories never tried). */
  scores(): Float64Array {
    const n = this.grid.count;
    const out = new Float64Array(n);
    const total = Math.max(1, this.episodes);
    for (let j = 0; j < n; j++) {
      const nj = this.visits[j];
      out[j] = nj === 0 ? Infinity : this.advSum[j] / this.advCount[j] + this.c * Math.sqrt((2 * Math.log(total)) / nj);
    }
    return out;
  }

  protected proposeUnit(out: Float64Array): void {
    const s = this.scores();
    const untried: number[] = [];
    for (let j = 0; j < s.length; j++) if (s[j] === Infinity) untried.push(j);
    const cat = untried.length > 0 ? untried[this.rng.int(untried.length)] : softmaxChoice(this.rng, s, this.temperature);
    this.grid.samplePoint(cat, this.uni, out);
  }

  protected observeUnit(u: Float64Array, ret: number): void {
    const j = this.grid.categoryOf(u);
    const a = Math.abs(this.baseline.advantage(j, ret));
    const slot = j * this.window + this.advHead[j];
    if (this.advCount[j] === this.window) this.advSum[j] -= this.advs[slot];
    else this.advCount[j]++;
    this.advs[slot] = a;
    this.advSum[j] += a;
    this.advHead[j] = (this.advHead[j] + 1) % this.window;
    this.visits[j]++;
  }

  protected dataToJSON(): unknown {
    return { advs: [...this.advs], advCount: [...this.advCount], advHead: [...this.advHead], advSum: [...this.advSum], visits: [...this.visits], baseline: this.baseline.toJSON() };
  }

  protected dataFromJSON(data: unknown, source: string): void {
    const d = objectOf(data, source);
    const n = this.grid.count;
    const advs = numArray(d.advs, 'advs', source, n * this.window);
    const advCount = numArray(d.advCount, 'advCount', source, n);
    const advHead = numArray(d.advHead, 'advHead', source, n);
    const visits = numArray(d.visits, 'visits', source, n);
    const b = objectOf(d.baseline, source);
    const bl = new CategoryBaseline(n, this.baseline.window);
    bl.load({
      ring: numArray(b.ring, 'baseline.ring', source, n * this.baseline.window),
      counts: numArray(b.counts, 'baseline.counts', source, n),
      heads: numArray(b.heads, 'baseline.heads', source, n),
      sums: numArray(b.sums, 'baseline.sums', source, n),
    });
    this.advs = Float64Array.from(advs);
    this.advCount = Int32Array.from(advCount);
    this.advHead = Int32Array.from(advHead);
    this.visits = Float64Array.from(visits);
    this.advSum = Float64Array.from(numArray(d.advSum, 'advSum', source, n));
    this.baseline = bl;
  }
}
