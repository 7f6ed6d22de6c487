/**
 * ToyEnv (Portelas et al. 2019): a teacher-only benchmark with no neural learner. The unit hypercube
 * of task parameters is cut into `cells` cells per dimension; each cell has a competence 0..100.
 * Training on a task adds 1 to its cell's competence (cap 100) only when the cell is learnable: the
 * origin cell always is, any other cell once one of its lower neighbours (indices equal or one lower,
 * diagonals included, as in the published toy_env code) has reached 75. The return of an episode is
 * the cell's competence / 100. The score is the percentage of cells whose competence exceeds 75
 * ("mastered").
 *
 * Unlearnable share f: the first task coordinate is stretched so that its last fraction f lies
 * outside the grid; tasks there never learn and return 0. The score counts the grid cells only, so
 * a teacher that keeps sampling the unlearnable part wastes budget.
 */
import { IcrlError } from '../core/errors.js';
import { BoxSpace } from '../core/spaces.js';
import { TaskSpace } from '../tasks/taskSpace.js';

export interface ToyEnvOptions {
  dims: number;
  /** Cells per dimension (default 10). */
  cells?: number;
  /** Share of the first coordinate that is unlearnable (default 0, must be < 1). */
  unlearnable?: number;
  /** Competence cap (default 100); a cell is mastered above 3/4 of it. */
  maxCompetence?: number;
}

export class ToyEnv {
  readonly dims: number;
  readonly cells: number;
  readonly unlearnable: number;
  readonly maxCompetence: number;
  readonly threshold: number;
  readonly numCells: number;
  readonly competence: Float64Array;
  private mastered = 0;
  private readonly strides: Int32Array;

  constructor(opts: ToyEnvOptions) {
    const { dims } = opts;
    this.cells = opts.cells ?? 10;
    this.unlearnable = opts.unlearnable ?? 0;
    this.maxCompetence = opts.maxCompetence ?? 100;
    if (!Number.isInteger(dims) || dims < 1 || dims > 10) throw new IcrlError(`toy env: dims must be an integer in 1..10, got ${dims}`);
    if (!Number.isInteger(this.cells) || this.cells < 1) throw new IcrlError(`toy env: cells must be a positive integer, got ${this.cells}`);
    if (this.cells ** dims > 10_000_000) throw new IcrlError(`toy env: ${this.cells}^${dims} cells is too many (limit 10,000,000)`);
    if (!(this.unlearnable >= 0 && this.unlearnable < 1)) throw new IcrlError(`toy env: unlearnable must be in [0, 1), got ${this.unlearnable}`);
    this.dims = dims;
    this.threshold = (3 * this.maxCompetence) / 4;
    this.numCells = this.cells ** dims;
    this.competence = new Float64Array(this.numCells);
    this.strides = new Int32Array(dims);
    let s = 1;
    for (let i = dims - 1; i >= 0; i--) {
      this.strides[i] = s;
      s *= this.cells;
    }
  }

  /** The task space the teachers see: x in [0, 1]^dims. */
  static taskSpace(dims: number): TaskSpace {
    return new TaskSpace('toy', { x: new BoxSpace(new Array(dims).fill(0), new Array(dims).fill(1)) }, {
      descriptions: { x: 'position in the unit hypercube; its cell decides what is learned' },
    });
  }

  /** Cell index of unit point u, or -1 in the unlearnable part. */
  cellOf(u: ArrayLike<number>): number {
    let idx = 0;
    for (let i = 0; i < this.dims; i++) {
      let x = u[i];
      if (i === 0 && this.unlearnable > 0) {
        if (x > 1 - this.unlearnable) return -1;
        x = x / (1 - this.unlearnable);
      }
      let c = Math.floor(x * this.cells);
      if (c >= this.cells) c = this.cells - 1;
      if (c < 0) c = 0;
      idx += c * this.strides[i];
    }
    return idx;
  }

  /**
   * The origin cell, or any cell with a lower neighbour (each index equal or one lower, not all
   * equal: diagonals included, as in the published code) at competence >= 3/4 of the cap.
   */
  private learnable(idx: number): boolean {
    if (idx === 0) return true;
    let movable = 0; // bit i set: index along dimension i is > 0
    for (let i = 0; i < this.dims; i++) if (Math.floor(idx / this.strides[i]) % this.cells > 0) movable |= 1 << i;
    // every non-empty subset of the movable dimensions, stepped one lower
    for (let m = movable; m > 0; m = (m - 1) & movable) {
      let j = idx;
      for (let i = 0; i < this.dims; i++) if (m & (1 << i)) j -= this.strides[i];
      if (this.competence[j] >= this.threshold) return true;
    }
    return false;
  }

  /**
   * One episode on the task at u: trains (when `train`) and returns the normalised competence of
   * its cell. With train = false the episode only evaluates (robust PLR's new levels).
   */
  episode(u: ArrayLike<number>, train = true): number {
    const idx = this.cellOf(u);
    if (idx < 0) return 0;
    const c = this.competence[idx];
    if (train && c < this.maxCompetence && this.learnable(idx)) {
      this.competence[idx] = c + 1;
      if (c <= this.threshold && c + 1 > this.threshold) this.mastered++;
    }
    return this.competence[idx] / this.maxCompetence;
  }

  /** Percentage of cells mastered (competence above 3/4 of the cap). */
  score(): number {
    return (100 * this.mastered) / this.numCells;
  }
}
