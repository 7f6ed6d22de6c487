/**
 * ALP-GMM (Portelas et al., CoRL 2019): absolute learning progress of a task is |return - return of the
 * nearest earlier task| (nearest neighbour over every recorded task); the first 250 tasks are
 * uniform; every 250 episodes Gaussian mixtures with 2..10 components are fitted on the last 250
 * (task, ALP) pairs and the best by AIC is kept; a component is chosen in proportion to its mean ALP
 * and a task drawn from it (clipped to the bounds); 20% of the tasks stay uniformly random.
 */
import { IcrlError } from '../core/errors.js';
import type { Rng, Seed } from '../core/rng.js';
import type { TaskSpace } from '../tasks/taskSpace.js';
import { clip01 } from './encoding.js';
import { Gmm, selectGmm, type Criterion, type GmmParams } from './gmm.js';
import { UnitTeacher, PointBuffer, numArray, objectOf, proportionalChoice, type BaseTeacherOptions } from './teacher.js';

export interface AlpGmmOptions extends BaseTeacherOptions {
  /** Episodes between two fits (default 250); the fit uses the last fitRate (task, ALP) pairs. */
  fitRate?: number;
  /** Uniform episodes before the first fit (default 250, must be >= fitRate). */
  seedEpisodes?: number;
  /** Numbers of components tried (default 2..10). */
  ks?: number[];
  /** Share of uniformly random tasks after the first fit (default 0.2). */
  randomRatio?: number;
  criterion?: Criterion;
  /**
   * Most recent tasks searched for the nearest-neighbour ALP (default: all, as published). Without
   * alpBufferSize the window is exact: always the last alpMaxSize tasks.
   */
  alpMaxSize?: number;
  /**
   * The published code's buffered history (`alp_buffer_size`, 500 there): new tasks go to a buffer
   * of this size, and the history is cut to alpMaxSize only when the buffer is full and flushed, so
   * the search covers between alpMaxSize + 1 and alpMaxSize + alpBufferSize tasks (501 to 1,000 for
   * `alp_max_size: 500`). Needs alpMaxSize.
   */
  alpBufferSize?: number;
}

export function range(a: number, b: number): number[] {
  const out: number[] = [];
  for (let i = a; i <= b; i++) out.push(i);
  return out;
}

export function checkGmmTeacherOptions(name: string, fitRate: number, seedEpisodes: number, ks: number[], randomRatio: number): void {
  if (!Number.isInteger(fitRate) || fitRate < 2) throw new IcrlError(`${name}: fitRate must be an integer >= 2, got ${fitRate}`);
  if (!Number.isInteger(seedEpisodes) || seedEpisodes < fitRate) throw new IcrlError(`${name}: seedEpisodes must be an integer >= fitRate (${fitRate}), got ${seedEpisodes}`);
  if (ks.length === 0 || ks.some((k) => !Number.isInteger(k) || k < 1 || k > fitRate)) throw new IcrlError(`${name}: ks must be integers in 1..fitRate, got [${ks.join(', ')}]`);
  if (!(randomRatio >= 0 && randomRatio <= 1)) throw new IcrlError(`${name}: randomRatio must be in [0, 1], got ${randomRatio}`);
}

export class AlpGmmTeacher extends UnitTeacher {
  readonly fitRate: number;
  readonly seedEpisodes: number;
  readonly ks: number[];
  readonly randomRatio: number;
  readonly criterion: Criterion;
  readonly alpMaxSize: number;
  readonly alpBufferSize: number;
  private history: PointBuffer;
  /** Ring of the last fitRate rows (unit task, ALP), each dims + 1 values. */
  private window: Float64Array;
  gmm: Gmm | null = null;
  /** Mean ALP of each component of the current mixture. */
  private alpMeans = new Float64Array(0);

  constructor(space: TaskSpace, seed: Seed | Rng, opts: AlpGmmOptions = {}) {
    super('alp-gmm', space, seed, opts);
    this.fitRate = opts.fitRate ?? 250;
    this.seedEpisodes = opts.seedEpisodes ?? this.fitRate;
    this.ks = opts.ks ?? range(2, 10);
    this.randomRatio = opts.randomRatio ?? 0.2;
    this.criterion = opts.criterion ?? 'aic';
    checkGmmTeacherOptions(this.name, this.fitRate, this.seedEpisodes, this.ks, this.randomRatio);
    this.alpMaxSize = opts.alpMaxSize ?? Infinity;
    if (!(this.alpMaxSize === Infinity || (Number.isInteger(this.alpMaxSize) && this.alpMaxSize >= 1))) {
      throw new IcrlError(`alp-gmm: alpMaxSize must be a positive integer, got ${this.alpMaxSize}`);
    }
    this.alpBufferSize = opts.alpBufferSize ?? 0;
    if (!(Number.isInteger(this.alpBufferSize) && this.alpBufferSize >= 0)) throw new IcrlError(`alp-gmm: alpBufferSize must be a positive integer, got ${this.alpBufferSize}`);
    if (this.alpBufferSize > 0 && this.alpMaxSize === Infinity) throw new IcrlError('alp-gmm: alpBufferSize needs alpMaxSize (the history is cut to alpMaxSize when the buffer is flushed)');
    this.history = new PointBuffer(this.dims, 1024, this.historyLimit());
    this.window = new Float64Array(this.fitRate * (this.dims + 1));
  }

  /** Most points the nearest-neighbour history holds. */
  private historyLimit(): number {
    return this.alpMaxSize + this.alpBufferSize;
  }

  /** Buffered history: a full buffer is flushed, keeping the last alpMaxSize tasks, before the next task is added. */
  private flushHistory(): void {
    if (this.alpBufferSize === 0 || this.history.n < this.historyLimit()) return;
    const d = this.dims;
    const { points, values } = this.history.toJSON();
    const keep = this.alpMaxSize;
    const b = new PointBuffer(d, 1024, this.historyLimit());
    for (let i = values.length - keep; i < values.length; i++) b.add(points.slice(i * d, (i + 1) * d), values[i]);
    this.history = b;
  }

  protected proposeUnit(out: Float64Array): void {
    if (this.gmm === null || this.episodes < this.seedEpisodes || this.rng.uniform53() < this.randomRatio) {
      for (let i = 0; i < this.dims; i++) out[i] = this.rng.uniform53();
      return;
    }
    const c = proportionalChoice(this.rng, this.alpMeans);
    const x = this.gmm.sampleComponent(c, this.rng, new Float64Array(this.dims + 1));
    for (let i = 0; i < this.dims; i++) out[i] = clip01(x[i]);
  }

  protected observeUnit(u: Float64Array, ret: number): void {
    const nn = this.history.nearest(u);
    const alp = nn < 0 ? 0 : Math.abs(ret - this.history.value(nn));
    this.flushHistory();
    this.history.add(u, ret);
    const w = this.dims + 1;
    const row = (this.episodes % this.fitRate) * w;
    for (let i = 0; i < this.dims; i++) this.window[row + i] = u[i];
    this.window[row + this.dims] = alp;
    const count = this.episodes + 1;
    if (count >= this.seedEpisodes && count % this.fitRate === 0) this.fit(count);
  }

  private fit(count: number): void {
    const w = this.dims + 1;
    const sel = selectGmm(this.window, this.fitRate, w, this.ks, this.rng.split(`fit:${count}`), this.criterion);
    this.setGmm(sel.best);
  }

  private setGmm(g: Gmm): void {
    this.gmm = g;
    this.alpMeans = new Float64Array(g.k);
    for (let c = 0; c < g.k; c++) this.alpMeans[c] = g.mean(c, this.dims);
  }

  /** Current mixture over the task coordinates and the ALP of each component (for charts). */
  describeMixture(): { weights: number[]; means: number[][]; alp: number[] } | null {
    const g = this.gmm;
    if (!g) return null;
    return {
      weights: [...g.weights],
      means: Array.from({ length: g.k }, (_, c) => Array.from({ length: this.dims }, (_, i) => g.mean(c, i))),
      alp: [...this.alpMeans],
    };
  }

  protected dataToJSON(): unknown {
    return { history: this.history.toJSON(), window: [...this.window], gmm: this.gmm ? this.gmm.toJSON() : null };
  }

  protected dataFromJSON(data: unknown, source: string): void {
    const d = objectOf(data, source);
    const history = PointBuffer.fromJSON(d.history, this.dims, 'history', source, this.historyLimit());
    const window = numArray(d.window, 'window', source, this.window.length);
    const gmm = d.gmm === null ? null : Gmm.fromJSON(d.gmm as GmmParams, `${source}: data.gmm`);
    if (gmm && gmm.d !== this.dims + 1) throw new IcrlError(`${source}: data.gmm has dimension ${gmm.d}, expected ${this.dims + 1}`);
    this.history = history;
    this.window = Float64Array.from(window);
    if (gmm) this.setGmm(gmm);
    else this.gmm = null;
  }
}
