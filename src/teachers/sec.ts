/**
 * SEC, self-evolving curriculum (Chen et al. 2025): the choice of a task category is a
 * non-stationary multi-armed bandit. After each episode the category's value moves by TD(0) toward
 * the reward |advantage| (Q <- alpha r + (1 - alpha) Q, alpha = 0.5); categories are drawn from a
 * Boltzmann distribution over values (temperature 1); the task is uniform inside the category.
 * Categories: the values of finite parameters times equal bins of box dimensions.
 */
import { IcrlError } from '../core/errors.js';
import type { Rng, Seed } from '../core/rng.js';
import type { TaskSpace } from '../tasks/taskSpace.js';
import type { CategoryGrid } from './encoding.js';
import { UnitTeacher, numArray, objectOf, softmaxChoice, type BaseTeacherOptions } from './teacher.js';
import { CategoryBaseline, categoryGrid, type CategoryOptions } from './categories.js';

export interface SecOptions extends BaseTeacherOptions, CategoryOptions {
  alpha?: number;
  temperature?: number;
  /** Returns in a category's advantage baseline (default 10). */
  baselineWindow?: number;
}

export class SecTeacher extends UnitTeacher {
  readonly grid: CategoryGrid;
  readonly alpha: number;
  readonly temperature: number;
  q: Float64Array;
  private baseline: CategoryBaseline;
  private readonly uni = (): number => this.rng.uniform53();

  constructor(space: TaskSpace, seed: Seed | Rng, opts: SecOptions = {}) {
    super('sec', space, seed, opts);
    this.grid = categoryGrid(this.name, this.enc, opts);
    this.alpha = opts.alpha ?? 0.5;
    this.temperature = opts.temperature ?? 1;
    if (!(this.alpha > 0 && this.alpha <= 1)) throw new IcrlError(`sec: alpha must be in (0, 1], got ${this.alpha}`);
    if (!(this.temperature > 0)) throw new IcrlError(`sec: temperature must be > 0, got ${this.temperature}`);
    this.q = new Float64Array(this.grid.count);
    this.baseline = new CategoryBaseline(this.grid.count, opts.baselineWindow ?? 10);
  }

  protected proposeUnit(out: Float64Array): void {
    this.grid.samplePoint(softmaxChoice(this.rng, this.q, this.temperature), this.uni, out);
  }

  protected observeUnit(u: Float64Array, ret: number): void {
    const c = this.grid.categoryOf(u);
    const r = Math.abs(this.baseline.advantage(c, ret));
    this.q[c] = this.alpha * r + (1 - this.alpha) * this.q[c];
  }

  /** Current sampling probability of each category. */
  probabilities(): Float64Array {
    let m = -Infinity;
    for (const v of this.q) m = Math.max(m, v);
    const p = this.q.map((v) => Math.exp((v - m) / this.temperature));
    const s = p.reduce((a, b) => a + b, 0);
    return p.map((v) => v / s);
  }

  protected dataToJSON(): unknown {
    return { q: [...this.q], baseline: this.baseline.toJSON() };
  }

  protected dataFromJSON(data: unknown, source: string): void {
    const d = objectOf(data, source);
    const q = numArray(d.q, 'q', source, this.grid.count);
    const b = objectOf(d.baseline, source);
    const bl = new CategoryBaseline(this.grid.count, this.baseline.window);
    bl.load({
      ring: numArray(b.ring, 'baseline.ring', source, this.grid.count * this.baseline.window),
      counts: numArray(b.counts, 'baseline.counts', source, this.grid.count),
      heads: numArray(b.heads, 'baseline.heads', source, this.grid.count),
      sums: numArray(b.sums, 'baseline.sums', source, this.grid.count),
    });
    this.q = Float64Array.from(q);
    this.baseline = bl;
  }
}
