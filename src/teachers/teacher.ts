/**
 * The teacher interface: a teacher proposes tasks, is told the return (or success) the learner got on
 * each, and can save and restore its whole state as JSON. Every teacher here works on the unit
 * hypercube of its task space ({@link UnitEncoding}); this base class does the encoding, the task
 * validation, the bookkeeping and the state file format, so that a teacher implements only
 * `proposeUnit`, `observeUnit` and its own state.
 */
import { readFileSync, existsSync } from 'node:fs';
import { writeFileAtomic } from '../core/atomic.js';
import { Rng, type RngState, type Seed } from '../core/rng.js';
import { CorruptFileError, IcrlError } from '../core/errors.js';
import type { Task, TaskSpace } from '../tasks/taskSpace.js';
import { UnitEncoding } from './encoding.js';

/** What a saved teacher looks like on disk. */
export interface TeacherState {
  format: 'icrl-teacher';
  version: 1;
  /** The teacher's registry name; restoring into another teacher is an error. */
  teacher: string;
  /** The task space it was working on (family and parameter spec). */
  space: { family: string; params: unknown };
  episodes: number;
  rng: RngState;
  /** Teacher-specific state. */
  data: unknown;
}

export interface Teacher {
  /** Registry name, e.g. "alp-gmm". */
  readonly name: string;
  readonly space: TaskSpace;
  /** Episodes recorded so far. */
  readonly episodes: number;
  /** Proposes the next task. */
  sample(): Task;
  /**
   * False when the last proposed task is for evaluation only and the learner should not train on it
   * (robust PLR scores new levels without training on them); true for every other teacher.
   */
  readonly lastSampleTrains: boolean;
  /** Records the return (or success as 0/1) the learner obtained on `task`. */
  record(task: Task, ret: number): void;
  saveState(): TeacherState;
  /** Restores a state from {@link saveState}; `source` names the file in errors. */
  loadState(state: unknown, source?: string): void;
}

/**
 * Proposals and records in unit-hypercube coordinates (the ToyEnv benchmark works there). Every
 * registered teacher has them; a teacher that keeps tasks rather than unit points (ACCEL) encodes
 * and decodes, and refuses them on a task space with no unit encoding.
 */
export interface UnitProposer {
  /** Number of unit coordinates. */
  readonly dims: number;
  sampleUnit(out?: Float64Array): Float64Array;
  recordUnit(u: ArrayLike<number>, ret: number): void;
}

/** What `makeTeacher` returns. */
export type RegisteredTeacher = Teacher & UnitProposer;

/** Options every teacher accepts. */
export interface BaseTeacherOptions {
  /**
   * Range of returns [low, high] mapped to [0, 1] before the teacher sees them (as the published
   * code does with env_reward_lb/ub); returns are used as given when absent.
   */
  returnRange?: [number, number];
}

export abstract class UnitTeacher implements RegisteredTeacher {
  readonly enc: UnitEncoding;
  readonly dims: number;
  protected rng: Rng;
  episodes = 0;
  lastSampleTrains = true;
  private readonly u: Float64Array;
  private readonly returnRange?: [number, number];

  constructor(
    readonly name: string,
    readonly space: TaskSpace,
    seed: Seed | Rng,
    base: BaseTeacherOptions = {},
  ) {
    this.enc = new UnitEncoding(space);
    this.dims = this.enc.dims;
    this.rng = seed instanceof Rng ? seed : new Rng(seed);
    this.u = new Float64Array(this.dims);
    if (base.returnRange) {
      const [lo, hi] = base.returnRange;
      if (!Number.isFinite(lo) || !Number.isFinite(hi) || !(hi > lo)) throw new IcrlError(`${name}: returnRange must be [low, high] with low < high, got [${lo}, ${hi}]`);
      this.returnRange = [lo, hi];
    }
  }

  /** Writes the next proposal (a point of the unit hypercube) into out; sets lastSampleTrains. */
  protected abstract proposeUnit(out: Float64Array): void;
  /** Learns from the return on the task at unit point u (already normalised by returnRange). */
  protected abstract observeUnit(u: Float64Array, ret: number): void;
  protected abstract dataToJSON(): unknown;
  protected abstract dataFromJSON(data: unknown, source: string): void;

  /** Proposal in unit coordinates (finite coordinates snapped to their bin centres). */
  sampleUnit(out: Float64Array = new Float64Array(this.dims)): Float64Array {
    this.lastSampleTrains = true;
    this.proposeUnit(out);
    return this.enc.canonicalize(out);
  }

  /** Records a return for a task given in unit coordinates (for benchmarks that live in the hypercube). */
  recordUnit(u: ArrayLike<number>, ret: number): void {
    if (typeof ret !== 'number' || !Number.isFinite(ret)) {
      throw new IcrlError(`${this.name}: episode ${this.episodes}: return must be a finite number, got ${String(ret)}`);
    }
    for (let i = 0; i < this.dims; i++) this.u[i] = u[i];
    this.enc.canonicalize(this.u);
    let r = ret;
    if (this.returnRange) {
      const [lo, hi] = this.returnRange;
      r = Math.min(1, Math.max(0, (ret - lo) / (hi - lo)));
    }
    this.observeUnit(this.u, r);
    this.episodes++;
  }

  sample(): Task {
    const u = new Float64Array(this.dims);
    for (let attempt = 0; attempt < 100; attempt++) {
      this.sampleUnit(u);
      const task = this.enc.decode(u);
      try {
        this.space.check(task);
        return task;
      } catch {
        // the space's extra validity rule rejected it (e.g. goal on the start cell): propose again
      }
    }
    throw new IcrlError(`${this.name}: 100 proposals in a row were rejected by the ${this.space.family} task space's validity rule`);
  }

  record(task: Task, ret: number): void {
    this.space.check(task);
    this.recordUnit(this.enc.encode(task), ret);
  }

  saveState(): TeacherState {
    return teacherState(this.name, this.space, this.episodes, this.rng, this.dataToJSON());
  }

  loadState(state: unknown, source = 'teacher state'): void {
    const s = checkTeacherState(state, this.name, this.space, source);
    this.dataFromJSON(s.data, source);
    this.rng = Rng.fromState(s.rng);
    this.episodes = s.episodes;
  }
}

/** A saved teacher state: the common part ({@link checkTeacherState} reads it back) around `data`. */
export function teacherState(name: string, space: TaskSpace, episodes: number, rng: Rng, data: unknown): TeacherState {
  return { format: 'icrl-teacher', version: 1, teacher: name, space: space.toJSON(), episodes, rng: rng.getState(), data };
}

/**
 * Checks the common part of a saved teacher state (format, version, teacher name, task space,
 * episode count, RNG state) and returns it typed; each mismatch is an error naming `source`.
 */
export function checkTeacherState(state: unknown, name: string, space: TaskSpace, source: string): TeacherState {
  const s = state as Partial<TeacherState> | null;
  if (!s || typeof s !== 'object' || s.format !== 'icrl-teacher') {
    throw new IcrlError(`${source}: not a teacher state (missing "format": "icrl-teacher")`);
  }
  if (s.version !== 1) throw new IcrlError(`${source}: teacher state version ${String(s.version)} is not supported (expected 1)`);
  if (s.teacher !== name) {
    throw new IcrlError(`${source}: this state was saved by teacher "${String(s.teacher)}", it cannot be restored into teacher "${name}"`);
  }
  const mine = JSON.stringify(space.toJSON());
  if (JSON.stringify(s.space) !== mine) {
    throw new IcrlError(`${source}: the state was saved on task space ${JSON.stringify(s.space)}, not on this one (${mine})`);
  }
  if (!Number.isInteger(s.episodes) || (s.episodes as number) < 0) throw new IcrlError(`${source}: "episodes" must be a non-negative integer`);
  const rng = s.rng;
  if (!rng || !Array.isArray(rng.key) || !Array.isArray(rng.counter) || typeof rng.index !== 'number') {
    throw new IcrlError(`${source}: "rng" is not an RNG state`);
  }
  return s as TeacherState;
}

/** Writes a teacher's state to `file` atomically (temp file + rename). */
export function saveTeacherState(teacher: Teacher, file: string): void {
  writeFileAtomic(file, JSON.stringify(teacher.saveState()));
}

/** Restores a teacher's state from `file`; a missing, unreadable or foreign file is a clear error. */
export function loadTeacherState(teacher: Teacher, file: string): void {
  if (!existsSync(file)) throw new IcrlError(`${file}: teacher state file not found`);
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new CorruptFileError(file, `not a JSON teacher state: ${(e as Error).message}`);
  }
  teacher.loadState(doc, file);
}

// ---------- helpers for teachers' JSON state ----------

/** Checks that `v` is an array of finite numbers (optionally of a given length) and returns it. */
export function numArray(v: unknown, what: string, source: string, length?: number): number[] {
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'number' || !Number.isFinite(x))) {
    throw new IcrlError(`${source}: data.${what} must be an array of finite numbers`);
  }
  if (length !== undefined && v.length !== length) throw new IcrlError(`${source}: data.${what} must have ${length} values, got ${v.length}`);
  return v as number[];
}

export function objectOf(v: unknown, source: string): Record<string, unknown> {
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new IcrlError(`${source}: "data" must be an object`);
  return v as Record<string, unknown>;
}

/**
 * Choice proportional to non-negative values, uniform when they sum to zero (the published
 * `proportional_choice` with eps = 0).
 */
export function proportionalChoice(rng: Rng, v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] > 0 ? v[i] : 0;
  if (!(s > 0)) return rng.int(v.length);
  const w = new Float64Array(v.length);
  for (let i = 0; i < v.length; i++) w[i] = v[i] > 0 ? v[i] : 0;
  return rng.choice(w);
}

/** Softmax sampling with temperature over scores (stable for large scores). */
export function softmaxChoice(rng: Rng, scores: ArrayLike<number>, temperature: number): number {
  let m = -Infinity;
  for (let i = 0; i < scores.length; i++) if (scores[i] > m) m = scores[i];
  const w = new Float64Array(scores.length);
  for (let i = 0; i < scores.length; i++) w[i] = Math.exp((scores[i] - m) / temperature);
  return rng.choice(w);
}

/**
 * A growable set of points of the unit hypercube with one value each, and nearest-neighbour lookup
 * (exact, brute force over a flat array: fast enough for tens of thousands of points).
 */
export class PointBuffer {
  n = 0;
  /** Next slot to overwrite once a bounded buffer is full (oldest point first). */
  private head = 0;
  private pts: Float64Array;
  private vals: Float64Array;
  /**
   * Uniform grid over the unit hypercube for unbounded buffers of 2..6 dimensions: cellHead[c] is the
   * newest point of cell c, cellNext[i] the previous point of i's cell (-1 ends the list).
   */
  private readonly gridSize: number;
  private cellHead = new Int32Array(0);
  private cellNext = new Int32Array(0);
  private cellStride = new Int32Array(0);
  constructor(
    readonly dims: number,
    capacity = 1024,
    /** Keep only the last maxSize points (default: all). */
    readonly maxSize = Infinity,
  ) {
    const cap = Math.min(capacity, maxSize);
    this.pts = new Float64Array(cap * dims);
    this.vals = new Float64Array(cap);
    this.gridSize = maxSize === Infinity && dims >= 2 && dims <= 6 ? Math.min(32, Math.max(2, Math.floor(Math.pow(4096, 1 / dims)))) : 0;
    if (this.gridSize > 0) {
      this.cellHead = new Int32Array(this.gridSize ** dims).fill(-1);
      this.cellNext = new Int32Array(cap);
      this.cellStride = new Int32Array(dims);
      let st = 1;
      for (let j = dims - 1; j >= 0; j--) {
        this.cellStride[j] = st;
        st *= this.gridSize;
      }
    }
  }

  private cellCoord(x: number): number {
    const c = Math.floor(x * this.gridSize);
    return c < 0 ? 0 : c >= this.gridSize ? this.gridSize - 1 : c;
  }
  add(u: ArrayLike<number>, v: number): void {
    let slot: number;
    if (this.n === this.maxSize) {
      slot = this.head;
      this.head = (this.head + 1) % this.maxSize;
    } else {
      if (this.n === this.vals.length) {
        const cap = Math.min(this.vals.length * 2, this.maxSize);
        const p = new Float64Array(cap * this.dims);
        p.set(this.pts);
        this.pts = p;
        const q = new Float64Array(cap);
        q.set(this.vals);
        this.vals = q;
        if (this.gridSize > 0) {
          const nx = new Int32Array(cap);
          nx.set(this.cellNext);
          this.cellNext = nx;
        }
      }
      slot = this.n++;
    }
    const o = slot * this.dims;
    for (let i = 0; i < this.dims; i++) this.pts[o + i] = u[i];
    this.vals[slot] = v;
    if (this.gridSize > 0) {
      let c = 0;
      for (let j = 0; j < this.dims; j++) c += this.cellCoord(u[j]) * this.cellStride[j];
      this.cellNext[slot] = this.cellHead[c];
      this.cellHead[c] = slot;
    }
  }
  value(i: number): number {
    return this.vals[i];
  }
  /** Index of the nearest stored point to u (first on ties), or -1 when empty. */
  nearest(u: ArrayLike<number>): number {
    if (this.gridSize > 0 && this.n >= 2048) return this.nearestGrid(u);
    const d = this.dims;
    const pts = this.pts;
    let best = -1;
    let bestD = Infinity;
    if (d === 2) {
      const a = u[0];
      const b = u[1];
      for (let i = 0, o = 0; i < this.n; i++, o += 2) {
        const x = pts[o] - a;
        const y = pts[o + 1] - b;
        const s = x * x + y * y;
        if (s < bestD) {
          bestD = s;
          best = i;
        }
      }
      return best;
    }
    for (let i = 0, o = 0; i < this.n; i++, o += d) {
      let s = 0;
      for (let j = 0; j < d && s < bestD; j++) {
        const t = pts[o + j] - u[j];
        s += t * t;
      }
      if (s < bestD) {
        bestD = s;
        best = i;
      }
    }
    return best;
  }
  /**
   * Exact nearest neighbour through the grid: scans cells in growing Chebyshev shells around u's
   * cell and stops once no unscanned cell can hold a closer point. Ties go to the lowest index, as
   * in the brute-force scan.
   */
  private nearestGrid(u: ArrayLike<number>): number {
    const d = this.dims;
    const G = this.gridSize;
    const w = 1 / G;
    const q = new Int32Array(d);
    for (let j = 0; j < d; j++) q[j] = this.cellCoord(u[j]);
    const off = new Int32Array(d);
    let best = -1;
    let bestD = Infinity;
    for (let r = 0; r < G; r++) {
      // every offset in [-r, r]^d with max |offset| = r
      off.fill(-r);
      for (;;) {
        let onShell = false;
        let inside = true;
        let c = 0;
        for (let j = 0; j < d; j++) {
          const a = off[j] < 0 ? -off[j] : off[j];
          if (a === r) onShell = true;
          const x = q[j] + off[j];
          if (x < 0 || x >= G) {
            inside = false;
            break;
          }
          c += x * this.cellStride[j];
        }
        if (onShell && inside) {
          for (let i = this.cellHead[c]; i >= 0; i = this.cellNext[i]) {
            const o = i * d;
            let s = 0;
            for (let j = 0; j < d; j++) {
              const t = this.pts[o + j] - u[j];
              s += t * t;
            }
            if (s < bestD || (s === bestD && i < best)) {
              bestD = s;
              best = i;
            }
          }
        }
        let j = d - 1;
        while (j >= 0 && off[j] === r) {
          off[j] = -r;
          j--;
        }
        if (j < 0) break;
        off[j]++;
      }
      if (best >= 0 && bestD < r * w * (r * w)) break;
    }
    return best;
  }

  toJSON(): { points: number[]; values: number[]; head: number } {
    return { points: [...this.pts.subarray(0, this.n * this.dims)], values: [...this.vals.subarray(0, this.n)], head: this.head };
  }
  static fromJSON(v: unknown, dims: number, what: string, source: string, maxSize = Infinity): PointBuffer {
    const o = (v ?? {}) as { points?: unknown; values?: unknown; head?: unknown };
    const values = numArray(o.values, `${what}.values`, source);
    const points = numArray(o.points, `${what}.points`, source, values.length * dims);
    if (values.length > maxSize) throw new IcrlError(`${source}: data.${what} holds ${values.length} points, more than its limit ${maxSize}`);
    const head = o.head === undefined ? 0 : numArray([o.head], `${what}.head`, source)[0];
    const b = new PointBuffer(dims, Math.max(16, values.length), maxSize);
    for (let i = 0; i < values.length; i++) b.add(points.slice(i * dims, (i + 1) * dims), values[i]);
    b.head = head;
    return b;
  }
}
