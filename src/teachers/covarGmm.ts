/**
 * Covar-GMM (Moulin-Frier et al. 2014, as in the published ALP-GMM code): every 250 episodes (after
 * 250 uniform ones) Gaussian mixtures with 2..10 components are fitted on the last 250 (task, time,
 * return) triplets, time being the position of the episode within that window scaled to [0, 1); the
 * best by AIC is kept. A component's learning progress is its positive time-return covariance; a
 * component is chosen in proportion to it and a task drawn from it (time and return dropped,
 * clipped to the bounds); 20% of the tasks stay uniformly random.
 */
import { IcrlError } from '../core/errors.js';
import type { Rng, Seed } from '../core/rng.js';
import type { TaskSpace } from '../tasks/taskSpace.js';
import { clip01 } from './encoding.js';
import { Gmm, selectGmm, type Criterion, type GmmParams } from './gmm.js';
import { UnitTeacher, numArray, objectOf, proportionalChoice, type BaseTeacherOptions } from './teacher.js';
import { checkGmmTeacherOptions, range } from './alpGmm.js';

export interface CovarGmmOptions extends BaseTeacherOptions {
  fitRate?: number;
  seedEpisodes?: number;
  ks?: number[];
  randomRatio?: number;
  /** Use |covariance| instead of its positive part (default false, as the original). */
  absoluteLp?: boolean;
  criterion?: Criterion;
}

export class CovarGmmTeacher extends UnitTeacher {
  readonly fitRate: number;
  readonly seedEpisodes: number;
  readonly ks: number[];
  readonly randomRatio: number;
  readonly absoluteLp: boolean;
  readonly criterion: Criterion;
  private window: Float64Array;
  gmm: Gmm | null = null;
  private lps = new Float64Array(0);

  constructor(space: TaskSpace, seed: Seed | Rng, opts: CovarGmmOptions = {}) {
    super('covar-gmm', space, seed, opts);
    this.fitRate = opts.fitRate ?? 250;
    this.seedEpisodes = opts.seedEpisodes ?? this.fitRate;
    this.ks = opts.ks ?? range(2, 10);
    this.randomRatio = opts.randomRatio ?? 0.2;
    this.absoluteLp = opts.absoluteLp ?? false;
    this.criterion = opts.criterion ?? 'aic';
    checkGmmTeacherOptions(this.name, this.fitRate, this.seedEpisodes, this.ks, this.randomRatio);
    this.window = new Float64Array(this.fitRate * (this.dims + 2));
  }

  protected proposeUnit(out: Float64Array): void {
    if (this.gmm === null || this.episodes < this.seedEpisodes || this.rng.uniform53() < this.randomRatio) {
      for (let i = 0; i < this.dims; i++) out[i] = this.rng.uniform53();
      return;
    }
    const c = proportionalChoice(this.rng, this.lps);
    const x = this.gmm.sampleComponent(c, this.rng, new Float64Array(this.dims + 2));
    for (let i = 0; i < this.dims; i++) out[i] = clip01(x[i]);
  }

  protected observeUnit(u: Float64Array, ret: number): void {
    const w = this.dims + 2;
    const pos = this.episodes % this.fitRate;
    const row = pos * w;
    for (let i = 0; i < this.dims; i++) this.window[row + i] = u[i];
    this.window[row + this.dims] = pos / this.fitRate;
    this.window[row + this.dims + 1] = ret;
    const count = this.episodes + 1;
    if (count >= this.seedEpisodes && count % this.fitRate === 0) {
      const sel = selectGmm(this.window, this.fitRate, w, this.ks, this.rng.split(`fit:${count}`), this.criterion);
      this.setGmm(sel.best);
    }
  }

  private setGmm(g: Gmm): void {
    this.gmm = g;
    this.lps = new Float64Array(g.k);
    for (let c = 0; c < g.k; c++) {
      const cv = g.cov(c, this.dims, this.dims + 1);
      this.lps[c] = this.absoluteLp ? Math.abs(cv) : Math.max(0, cv);
    }
  }

  protected dataToJSON(): unknown {
    return { window: [...this.window], gmm: this.gmm ? this.gmm.toJSON() : null };
  }

  protected dataFromJSON(data: unknown, source: string): void {
    const d = objectOf(data, source);
    const window = numArray(d.window, 'window', source, this.window.length);
    const gmm = d.gmm === null ? null : Gmm.fromJSON(d.gmm as GmmParams, `${source}: data.gmm`);
    if (gmm && gmm.d !== this.dims + 2) throw new IcrlError(`${source}: data.gmm has dimension ${gmm.d}, expected ${this.dims + 2}`);
    this.window = Float64Array.from(window);
    if (gmm) this.setGmm(gmm);
    else this.gmm = null;
  }
}
