/**
 * Maps a task space onto the unit hypercube [0, 1]^D, the space every teacher works in. A box
 * parameter of d dimensions gives d coordinates (scaled by its bounds); a discrete or categorical
 * parameter gives one coordinate cut into n equal bins (value i sits at the bin centre (i + 0.5) / n).
 * Decoding is the inverse: a unit point always decodes to a task inside the space, and encoding a
 * decoded task gives the canonical point of that task (bin centres for finite parameters).
 *
 * Teachers that need a finite set of task categories (SEC, DUMP) or levels (PLR on finite spaces)
 * get them from {@link UnitEncoding.binsPerDim}: finite parameters keep their own values, box
 * dimensions are cut into `boxBins` equal bins.
 */
import { BoxSpace, CategoricalSpace, DiscreteSpace, type JsonValue, type Space } from '../core/spaces.js';
import { IcrlError } from '../core/errors.js';
import type { Task, TaskSpace } from '../tasks/taskSpace.js';

/** A task space that a teacher cannot work with (its message names the parameter and why). */
export class UnsupportedTaskSpaceError extends IcrlError {
  constructor(message: string) {
    super(message, 'UNSUPPORTED_TASK_SPACE');
  }
}

interface ParamCoding {
  name: string;
  kind: 'box' | 'discrete' | 'categorical';
  /** First unit coordinate of this parameter. */
  offset: number;
  /** Number of unit coordinates (box dims, or 1). */
  width: number;
  scalar: boolean;
  low: number[];
  high: number[];
  /** discrete: number of values and first value; categorical: the values. */
  n: number;
  start: number;
  values: (string | number)[];
}

export class UnitEncoding {
  /** Number of unit coordinates. */
  readonly dims: number;
  private readonly codings: ParamCoding[];
  /** For each unit coordinate: number of values when it codes a finite parameter, 0 for a box dimension. */
  readonly finiteBins: Int32Array;

  constructor(readonly space: TaskSpace) {
    const codings: ParamCoding[] = [];
    let offset = 0;
    const keys = space.params.keys;
    if (keys.length === 0) throw new UnsupportedTaskSpaceError(`${space.family}: the task space has no parameters; a teacher has nothing to choose`);
    for (const name of keys) {
      const sub: Space = space.params.spaces[name];
      if (sub instanceof BoxSpace) {
        const w = sub.dims;
        codings.push({ name, kind: 'box', offset, width: w, scalar: sub.scalar, low: sub.spec.low, high: sub.spec.high, n: 0, start: 0, values: [] });
        offset += w;
      } else if (sub instanceof DiscreteSpace) {
        codings.push({ name, kind: 'discrete', offset, width: 1, scalar: true, low: [], high: [], n: sub.n, start: sub.start, values: [] });
        offset += 1;
      } else if (sub instanceof CategoricalSpace) {
        codings.push({ name, kind: 'categorical', offset, width: 1, scalar: true, low: [], high: [], n: sub.values.length, start: 0, values: sub.values });
        offset += 1;
      } else {
        throw new UnsupportedTaskSpaceError(
          `${space.family}.params.${name}: ${sub.describe()} is a nested space; teachers handle box, discrete and categorical parameters only`,
        );
      }
    }
    this.codings = codings;
    this.dims = offset;
    this.finiteBins = new Int32Array(offset);
    for (const c of codings) if (c.kind !== 'box') this.finiteBins[c.offset] = c.n;
  }

  /** Writes the unit point of `task` into `out` (length dims). */
  encode(task: Task, out: Float64Array = new Float64Array(this.dims)): Float64Array {
    for (const c of this.codings) {
      const v = task.params[c.name];
      if (c.kind === 'box') {
        const arr = c.scalar ? [v as number] : (v as number[]);
        for (let i = 0; i < c.width; i++) {
          const span = c.high[i] - c.low[i];
          out[c.offset + i] = span > 0 ? (arr[i] - c.low[i]) / span : 0.5;
        }
      } else if (c.kind === 'discrete') {
        out[c.offset] = ((v as number) - c.start + 0.5) / c.n;
      } else {
        out[c.offset] = (c.values.indexOf(v as string | number) + 0.5) / c.n;
      }
    }
    return out;
  }

  /** The task at unit point `u` (coordinates outside [0, 1] are clipped). */
  decode(u: ArrayLike<number>): Task {
    const params: Record<string, JsonValue> = {};
    for (const c of this.codings) {
      if (c.kind === 'box') {
        const arr: number[] = [];
        for (let i = 0; i < c.width; i++) {
          const x = clip01(u[c.offset + i]);
          // low + span * x can round past high; keep it inside the bounds exactly
          arr.push(Math.min(c.high[i], Math.max(c.low[i], c.low[i] + (c.high[i] - c.low[i]) * x)));
        }
        params[c.name] = c.scalar ? arr[0] : arr;
      } else {
        const idx = binOf(u[c.offset], c.n);
        params[c.name] = c.kind === 'discrete' ? c.start + idx : c.values[idx];
      }
    }
    return { family: this.space.family, params };
  }

  /** Snaps `u` in place to the canonical point of the task it decodes to (bin centres on finite coordinates). */
  canonicalize(u: Float64Array): Float64Array {
    for (let i = 0; i < this.dims; i++) {
      const n = this.finiteBins[i];
      u[i] = n > 0 ? (binOf(u[i], n) + 0.5) / n : clip01(u[i]);
    }
    return u;
  }

  /** Bins per unit coordinate: finite parameters keep their values, box dimensions get `boxBins`. */
  binsPerDim(boxBins: number): Int32Array {
    const out = new Int32Array(this.dims);
    for (let i = 0; i < this.dims; i++) out[i] = this.finiteBins[i] > 0 ? this.finiteBins[i] : boxBins;
    return out;
  }

  /** True when every parameter is finite (discrete or categorical). */
  get finite(): boolean {
    return this.codings.every((c) => c.kind !== 'box');
  }

  /** A short description for errors and logs. */
  describe(): string {
    return `${this.space.family} (${this.dims} unit coordinates: ${this.codings.map((c) => `${c.name}:${c.kind}${c.width > 1 ? `x${c.width}` : ''}`).join(', ')})`;
  }
}

export function clip01(x: number): number {
  return x < 0 ? 0 : x > 1 ? 1 : x;
}

/** Index of the bin of x in [0, 1] cut into n equal bins (x = 1 falls in the last bin). */
export function binOf(x: number, n: number): number {
  const i = Math.floor(clip01(x) * n);
  return i >= n ? n - 1 : i;
}

/**
 * A grid of categories over the unit hypercube: category index <-> bin indices (row-major, first
 * coordinate slowest). Sampling inside a category is uniform over its cell.
 */
export class CategoryGrid {
  readonly count: number;
  constructor(readonly bins: Int32Array) {
    let c = 1;
    for (const b of bins) c *= b;
    this.count = c;
  }
  /** Category of unit point u. */
  categoryOf(u: ArrayLike<number>): number {
    let idx = 0;
    for (let i = 0; i < this.bins.length; i++) idx = idx * this.bins[i] + binOf(u[i], this.bins[i]);
    return idx;
  }
  /** Writes a uniform point inside category `cat` into out, drawing from `uniform`. */
  samplePoint(cat: number, uniform: () => number, out: Float64Array): Float64Array {
    for (let i = this.bins.length - 1; i >= 0; i--) {
      const b = this.bins[i];
      const bi = cat % b;
      cat = Math.floor(cat / b);
      out[i] = (bi + uniform()) / b;
    }
    return out;
  }
}
