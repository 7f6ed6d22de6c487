/**
 * ADR, automatic domain randomization (OpenAI et al. 2019, as in the published teacher benchmarks):
 * tasks are drawn uniformly from a box that starts as a single point; with probability 0.5 one
 * random dimension of the task is pinned to a lower or upper bound of the box. Returns at each
 * bound go to a queue of 10; when a queue is full, a mean >= the high threshold widens the box by
 * one step along that bound, a mean <= the low threshold narrows it. All in unit coordinates.
 */
import { IcrlError } from '../core/errors.js';
import type { Rng, Seed } from '../core/rng.js';
import type { TaskSpace } from '../tasks/taskSpace.js';
import { binOf } from './encoding.js';
import { UnitTeacher, numArray, objectOf, type BaseTeacherOptions } from './teacher.js';

export interface AdrOptions extends BaseTeacherOptions {
  /** Starting point in unit coordinates (default the centre of the space). */
  initial?: number[];
  /** Step of a bound, in unit coordinates (default 0.05). */
  stepSize?: number;
  /** Mean return at a bound at or above which the box widens (default 0.5). */
  highThreshold?: number;
  /** Mean return at a bound at or below which the box narrows (default 0.1). */
  lowThreshold?: number;
  boundarySamplingP?: number;
  queueLength?: number;
}

const EPS = 1e-9;

export class AdrTeacher extends UnitTeacher {
  readonly stepSize: number;
  readonly high: number;
  readonly low: number;
  readonly boundaryP: number;
  readonly queueLength: number;
  curMin: number[];
  curMax: number[];
  private minQ: number[][];
  private maxQ: number[][];

  constructor(space: TaskSpace, seed: Seed | Rng, opts: AdrOptions = {}) {
    super('adr', space, seed, opts);
    const init = opts.initial ?? new Array(this.dims).fill(0.5);
    if (init.length !== this.dims || init.some((x) => !(x >= 0 && x <= 1))) {
      throw new IcrlError(`adr: initial must be ${this.dims} unit coordinates in [0, 1], got [${init.join(', ')}]`);
    }
    this.stepSize = opts.stepSize ?? 0.05;
    this.high = opts.highThreshold ?? 0.5;
    this.low = opts.lowThreshold ?? 0.1;
    this.boundaryP = opts.boundarySamplingP ?? 0.5;
    this.queueLength = opts.queueLength ?? 10;
    if (!(this.stepSize > 0 && this.stepSize <= 1)) throw new IcrlError(`adr: stepSize must be in (0, 1], got ${this.stepSize}`);
    if (!(this.low < this.high)) throw new IcrlError(`adr: lowThreshold (${this.low}) must be below highThreshold (${this.high})`);
    if (!Number.isInteger(this.queueLength) || this.queueLength < 1) throw new IcrlError(`adr: queueLength must be a positive integer`);
    this.curMin = [...init];
    this.curMax = [...init];
    this.minQ = init.map(() => []);
    this.maxQ = init.map(() => []);
  }

  protected proposeUnit(out: Float64Array): void {
    for (let i = 0; i < this.dims; i++) out[i] = this.rng.uniformRange(this.curMin[i], this.curMax[i]);
    if (this.rng.uniform53() < this.boundaryP) {
      const i = this.rng.int(this.dims);
      const minCapped = this.curMin[i] <= 0;
      const maxCapped = this.curMax[i] >= 1;
      if (!minCapped && !maxCapped) out[i] = this.rng.uniform53() < 0.5 ? this.curMin[i] : this.curMax[i];
      else if (!minCapped) out[i] = this.curMin[i];
      else if (!maxCapped) out[i] = this.curMax[i];
    }
  }

  /** Whether coordinate i of u sits on bound b (finite coordinates compare their bins). */
  private atBound(u: Float64Array, i: number, b: number): boolean {
    const n = this.enc.finiteBins[i];
    return n > 0 ? binOf(u[i], n) === binOf(b, n) : Math.abs(u[i] - b) < EPS;
  }

  protected observeUnit(u: Float64Array, ret: number): void {
    for (let i = 0; i < this.dims; i++) {
      if (this.atBound(u, i, this.curMin[i])) {
        const q = this.minQ[i];
        q.push(ret);
        if (q.length >= this.queueLength) {
          const m = q.reduce((a, b) => a + b, 0) / q.length;
          if (m >= this.high) this.curMin[i] = Math.max(this.curMin[i] - this.stepSize, 0);
          else if (m <= this.low) this.curMin[i] = Math.min(this.curMin[i] + this.stepSize, this.curMax[i]);
          this.minQ[i] = [];
        }
      }
      if (this.atBound(u, i, this.curMax[i])) {
        const q = this.maxQ[i];
        q.push(ret);
        if (q.length >= this.queueLength) {
          const m = q.reduce((a, b) => a + b, 0) / q.length;
          if (m >= this.high) this.curMax[i] = Math.min(this.curMax[i] + this.stepSize, 1);
          else if (m <= this.low) this.curMax[i] = Math.max(this.curMax[i] - this.stepSize, this.curMin[i]);
          this.maxQ[i] = [];
        }
      }
    }
  }

  protected dataToJSON(): unknown {
    return { curMin: this.curMin, curMax: this.curMax, minQ: this.minQ, maxQ: this.maxQ };
  }

  protected dataFromJSON(data: unknown, source: string): void {
    const d = objectOf(data, source);
    const qs = (v: unknown, what: string): number[][] => {
      if (!Array.isArray(v) || v.length !== this.dims) throw new IcrlError(`${source}: data.${what} must be ${this.dims} queues`);
      return v.map((q, i) => numArray(q, `${what}[${i}]`, source));
    };
    this.curMin = numArray(d.curMin, 'curMin', source, this.dims);
    this.curMax = numArray(d.curMax, 'curMax', source, this.dims);
    this.minQ = qs(d.minQ, 'minQ');
    this.maxQ = qs(d.maxQ, 'maxQ');
  }
}
