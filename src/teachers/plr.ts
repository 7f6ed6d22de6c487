/**
 * Prioritized Level Replay (Jiang et al. 2021) and robust PLR (Jiang et al. 2021, "Replay-guided
 * adversarial environment design"). A buffer of at most 4000 levels (tasks) with a score each; once
 * the buffer is full (rho = 1), a level is replayed with probability 0.5, otherwise a new level is
 * drawn uniformly. Replay draws from P = (1 - 0.3) P_score + 0.3 P_staleness, P_score by rank with
 * temperature 0.3 (h = rank^(-1/0.3)), P_staleness proportional to episodes since the level was last
 * played. A new level enters the buffer when there is room or when it scores above the lowest level,
 * which it replaces.
 *
 * A level's score is its learning potential as seen from returns alone: |return - its previous
 * return| when replayed, |return - return of the nearest buffered level| when new (the published
 * score is the learner's positive value loss, which a teacher that only sees returns does not have).
 * Robust PLR trains only on replayed levels: a new level is played for evaluation only
 * (`lastSampleTrains` is false).
 */
import { IcrlError } from '../core/errors.js';
import type { Rng, Seed } from '../core/rng.js';
import type { TaskSpace } from '../tasks/taskSpace.js';
import { UnitTeacher, numArray, objectOf, type BaseTeacherOptions } from './teacher.js';

export interface PlrOptions extends BaseTeacherOptions {
  bufferSize?: number;
  replayProb?: number;
  staleness?: number;
  temperature?: number;
  /** Share of the buffer that must be filled before replay starts (default 1). */
  rho?: number;
}

export class PlrTeacher extends UnitTeacher {
  readonly capacity: number;
  readonly replayProb: number;
  readonly staleness: number;
  readonly temperature: number;
  readonly rho: number;
  readonly robust: boolean;
  size = 0;
  private points: Float64Array;
  private scores: Float64Array;
  private lastPlayed: Float64Array;
  private lastReturn: Float64Array;
  private index = new Map<string, number>();
  /** Cumulative rank weights h(r) = r^(-1/T), r = 1..capacity. */
  private rankCdf: Float64Array;

  constructor(space: TaskSpace, seed: Seed | Rng, opts: PlrOptions = {}, robust = false) {
    super(robust ? 'robust-plr' : 'plr', space, seed, opts);
    this.robust = robust;
    const size = opts.bufferSize ?? 4000;
    this.replayProb = opts.replayProb ?? 0.5;
    this.staleness = opts.staleness ?? 0.3;
    this.temperature = opts.temperature ?? 0.3;
    this.rho = opts.rho ?? 1;
    if (!Number.isInteger(size) || size < 1) throw new IcrlError(`${this.name}: bufferSize must be a positive integer, got ${size}`);
    if (!(this.replayProb >= 0 && this.replayProb <= 1)) throw new IcrlError(`${this.name}: replayProb must be in [0, 1], got ${this.replayProb}`);
    if (!(this.staleness >= 0 && this.staleness <= 1)) throw new IcrlError(`${this.name}: staleness must be in [0, 1], got ${this.staleness}`);
    if (!(this.temperature > 0)) throw new IcrlError(`${this.name}: temperature must be > 0, got ${this.temperature}`);
    if (!(this.rho >= 0 && this.rho <= 1)) throw new IcrlError(`${this.name}: rho must be in [0, 1], got ${this.rho}`);
    // a finite space has no more distinct levels than tasks
    let distinct = Infinity;
    if (this.enc.finite) {
      distinct = 1;
      for (const b of this.enc.finiteBins) distinct *= b;
    }
    this.capacity = Math.min(size, distinct);
    this.points = new Float64Array(this.capacity * this.dims);
    this.scores = new Float64Array(this.capacity);
    this.lastPlayed = new Float64Array(this.capacity);
    this.lastReturn = new Float64Array(this.capacity);
    this.rankCdf = new Float64Array(this.capacity);
    let s = 0;
    for (let r = 1; r <= this.capacity; r++) {
      s += Math.pow(r, -1 / this.temperature);
      this.rankCdf[r - 1] = s;
    }
  }

  private key(u: ArrayLike<number>): string {
    let k = '';
    for (let i = 0; i < this.dims; i++) k += `${Math.round(u[i] * 1e9)},`;
    return k;
  }

  private replayReady(): boolean {
    return this.size > 0 && this.size >= Math.ceil(this.rho * this.capacity);
  }

  protected proposeUnit(out: Float64Array): void {
    if (this.replayReady() && this.rng.uniform53() < this.replayProb) {
      const i = this.rng.uniform53() < this.staleness ? this.pickStale() : this.pickByRank();
      for (let j = 0; j < this.dims; j++) out[j] = this.points[i * this.dims + j];
      return;
    }
    for (let j = 0; j < this.dims; j++) out[j] = this.rng.uniform53();
    this.enc.canonicalize(out);
    if (this.robust && !this.index.has(this.key(out))) this.lastSampleTrains = false;
  }

  private pickStale(): number {
    const w = new Float64Array(this.size);
    let total = 0;
    for (let i = 0; i < this.size; i++) {
      w[i] = this.episodes - this.lastPlayed[i];
      total += w[i];
    }
    return total > 0 ? this.rng.choice(w) : this.rng.int(this.size);
  }

  private pickByRank(): number {
    const n = this.size;
    const sorted = Float64Array.from(this.scores.subarray(0, n)).sort();
    // rank 1 = highest score
    const cdfTotal = this.rankCdf[n - 1];
    const x = this.rng.uniform53() * cdfTotal;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.rankCdf[mid] > x) hi = mid;
      else lo = mid + 1;
    }
    const v = sorted[n - 1 - lo];
    // ties share their ranks: draw uniformly among the levels with this score
    const ties: number[] = [];
    for (let i = 0; i < n; i++) if (this.scores[i] === v) ties.push(i);
    return ties[this.rng.int(ties.length)];
  }

  private nearestScoreBase(u: Float64Array): number {
    let best = -1;
    let bestD = Infinity;
    for (let i = 0; i < this.size; i++) {
      let s = 0;
      for (let j = 0; j < this.dims; j++) {
        const t = this.points[i * this.dims + j] - u[j];
        s += t * t;
      }
      if (s < bestD) {
        bestD = s;
        best = i;
      }
    }
    return best;
  }

  protected observeUnit(u: Float64Array, ret: number): void {
    const k = this.key(u);
    const at = this.index.get(k);
    if (at !== undefined) {
      this.scores[at] = Math.abs(ret - this.lastReturn[at]);
      this.lastReturn[at] = ret;
      this.lastPlayed[at] = this.episodes;
      return;
    }
    const nn = this.nearestScoreBase(u);
    const score = nn < 0 ? 0 : Math.abs(ret - this.lastReturn[nn]);
    let slot = -1;
    if (this.size < this.capacity) slot = this.size++;
    else {
      let min = 0;
      for (let i = 1; i < this.size; i++) if (this.scores[i] < this.scores[min]) min = i;
      if (score > this.scores[min]) {
        slot = min;
        this.index.delete(this.key(this.points.subarray(min * this.dims, (min + 1) * this.dims)));
      }
    }
    if (slot < 0) return;
    for (let j = 0; j < this.dims; j++) this.points[slot * this.dims + j] = u[j];
    this.scores[slot] = score;
    this.lastReturn[slot] = ret;
    this.lastPlayed[slot] = this.episodes;
    this.index.set(k, slot);
  }

  protected dataToJSON(): unknown {
    const n = this.size;
    return {
      points: [...this.points.subarray(0, n * this.dims)],
      scores: [...this.scores.subarray(0, n)],
      lastPlayed: [...this.lastPlayed.subarray(0, n)],
      lastReturn: [...this.lastReturn.subarray(0, n)],
    };
  }

  protected dataFromJSON(data: unknown, source: string): void {
    const d = objectOf(data, source);
    const scores = numArray(d.scores, 'scores', source);
    const n = scores.length;
    if (n > this.capacity) throw new IcrlError(`${source}: data.scores holds ${n} levels, more than the buffer size ${this.capacity}`);
    const points = numArray(d.points, 'points', source, n * this.dims);
    const lastPlayed = numArray(d.lastPlayed, 'lastPlayed', source, n);
    const lastReturn = numArray(d.lastReturn, 'lastReturn', source, n);
    this.points.fill(0);
    this.points.set(points);
    this.scores.set(scores);
    this.lastPlayed.set(lastPlayed);
    this.lastReturn.set(lastReturn);
    this.size = n;
    this.index = new Map();
    for (let i = 0; i < n; i++) this.index.set(this.key(points.slice(i * this.dims, (i + 1) * this.dims)), i);
  }
}

export class RobustPlrTeacher extends PlrTeacher {
  constructor(space: TaskSpace, seed: Seed | Rng, opts: PlrOptions = {}) {
    super(space, seed, opts, true);
  }
}
