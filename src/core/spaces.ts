/**
 * Spaces: the sets that actions, observations and task parameters live in. Box (continuous bounds),
 * discrete (integers), categorical (a list of named values) and dict (a product of named spaces).
 * Every space samples from the project's RNG, checks membership, and raises an error that names the
 * offending field when a value is outside it. Nothing is clamped silently.
 */
import { OutOfSpaceError } from './errors.js';
import type { Rng } from './rng.js';

export type JsonValue = number | string | boolean | null | JsonValue[] | { [k: string]: JsonValue };

export interface BoxSpaceSpec {
  kind: 'box';
  /** Lower bounds, one per dimension (a scalar box has one). */
  low: number[];
  /** Upper bounds, one per dimension. */
  high: number[];
}
export interface DiscreteSpaceSpec {
  kind: 'discrete';
  /** Number of values. */
  n: number;
  /** First value (default 0): the space is start .. start + n - 1. */
  start?: number;
}
export interface CategoricalSpaceSpec {
  kind: 'categorical';
  values: (string | number)[];
}
export interface DictSpaceSpec {
  kind: 'dict';
  spaces: Record<string, SpaceSpec>;
}
export type SpaceSpec = BoxSpaceSpec | DiscreteSpaceSpec | CategoricalSpaceSpec | DictSpaceSpec;

export abstract class Space<T = JsonValue> {
  abstract readonly spec: SpaceSpec;
  abstract sample(rng: Rng): T;
  /** Throws {@link OutOfSpaceError} naming `path` when `value` is not in the space. */
  abstract check(value: unknown, path?: string): asserts value is T;
  contains(value: unknown): value is T {
    try {
      this.check(value);
      return true;
    } catch (e) {
      if (e instanceof OutOfSpaceError) return false;
      throw e;
    }
  }
  /** Human-readable description, e.g. `box [0, 1]` or `discrete {0..4}`. */
  abstract describe(): string;
}

export class BoxSpace extends Space<number | number[]> {
  readonly spec: BoxSpaceSpec;
  /** A scalar box samples and accepts plain numbers; a vector box, arrays. */
  readonly scalar: boolean;
  constructor(low: number | number[], high: number | number[]) {
    super();
    const lo = Array.isArray(low) ? low : [low];
    const hi = Array.isArray(high) ? high : [high];
    if (lo.length !== hi.length || lo.length === 0) throw new RangeError('box: low and high must have the same non-zero length');
    for (let i = 0; i < lo.length; i++) {
      if (!Number.isFinite(lo[i]) || !Number.isFinite(hi[i]) || lo[i] > hi[i]) {
        throw new RangeError(`box: bound ${i} is [${lo[i]}, ${hi[i]}]; bounds must be finite with low <= high`);
      }
    }
    this.spec = { kind: 'box', low: lo, high: hi };
    this.scalar = !Array.isArray(low);
  }
  get dims(): number {
    return this.spec.low.length;
  }
  sample(rng: Rng): number | number[] {
    const v = this.spec.low.map((l, i) => rng.uniformRange(l, this.spec.high[i]));
    return this.scalar ? v[0] : v;
  }
  check(value: unknown, path = 'value'): asserts value is number | number[] {
    const arr = this.scalar ? [value] : value;
    if (!Array.isArray(arr) || arr.length !== this.dims) {
      throw new OutOfSpaceError(`${path}: expected ${this.scalar ? 'a number' : `an array of ${this.dims} numbers`} in ${this.describe()}, got ${JSON.stringify(value)}`);
    }
    for (let i = 0; i < arr.length; i++) {
      const x = arr[i];
      if (typeof x !== 'number' || !Number.isFinite(x) || x < this.spec.low[i] || x > this.spec.high[i]) {
        const where = this.scalar ? path : `${path}[${i}]`;
        throw new OutOfSpaceError(`${where}: ${JSON.stringify(x)} is outside [${this.spec.low[i]}, ${this.spec.high[i]}]`);
      }
    }
  }
  describe(): string {
    if (this.scalar) return `box [${this.spec.low[0]}, ${this.spec.high[0]}]`;
    return `box ${this.dims}-d [${this.spec.low.join(',')}]..[${this.spec.high.join(',')}]`;
  }
}

export class DiscreteSpace extends Space<number> {
  readonly spec: DiscreteSpaceSpec;
  constructor(n: number, start = 0) {
    super();
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`discrete: n must be a positive integer, got ${n}`);
    if (!Number.isInteger(start)) throw new RangeError(`discrete: start must be an integer, got ${start}`);
    this.spec = { kind: 'discrete', n, start };
  }
  get n(): number {
    return this.spec.n;
  }
  get start(): number {
    return this.spec.start ?? 0;
  }
  sample(rng: Rng): number {
    return this.start + rng.int(this.n);
  }
  check(value: unknown, path = 'value'): asserts value is number {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < this.start || value >= this.start + this.n) {
      throw new OutOfSpaceError(`${path}: ${JSON.stringify(value)} is not in ${this.describe()}`);
    }
  }
  describe(): string {
    return `discrete {${this.start}..${this.start + this.n - 1}}`;
  }
}

export class CategoricalSpace extends Space<string | number> {
  readonly spec: CategoricalSpaceSpec;
  constructor(values: (string | number)[]) {
    super();
    if (values.length === 0) throw new RangeError('categorical: needs at least one value');
    if (new Set(values).size !== values.length) throw new RangeError('categorical: values must be distinct');
    this.spec = { kind: 'categorical', values: [...values] };
  }
  get values(): (string | number)[] {
    return this.spec.values;
  }
  sample(rng: Rng): string | number {
    return this.spec.values[rng.int(this.spec.values.length)];
  }
  indexOf(value: string | number): number {
    return this.spec.values.indexOf(value);
  }
  check(value: unknown, path = 'value'): asserts value is string | number {
    if ((typeof value !== 'string' && typeof value !== 'number') || !this.spec.values.includes(value)) {
      throw new OutOfSpaceError(`${path}: ${JSON.stringify(value)} is not one of ${this.describe()}`);
    }
  }
  describe(): string {
    return `categorical {${this.spec.values.map((v) => JSON.stringify(v)).join(', ')}}`;
  }
}

export class DictSpace extends Space<Record<string, JsonValue>> {
  readonly spec: DictSpaceSpec;
  readonly spaces: Record<string, Space>;
  constructor(spaces: Record<string, Space>) {
    super();
    this.spaces = spaces;
    this.spec = { kind: 'dict', spaces: Object.fromEntries(Object.entries(spaces).map(([k, s]) => [k, s.spec])) };
  }
  get keys(): string[] {
    return Object.keys(this.spaces);
  }
  sample(rng: Rng): Record<string, JsonValue> {
    const out: Record<string, JsonValue> = {};
    for (const k of this.keys) out[k] = this.spaces[k].sample(rng) as JsonValue;
    return out;
  }
  check(value: unknown, path = 'task'): asserts value is Record<string, JsonValue> {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new OutOfSpaceError(`${path}: expected an object with keys ${this.keys.join(', ')}, got ${JSON.stringify(value)}`);
    }
    for (const k of Object.keys(value)) {
      if (!(k in this.spaces)) throw new OutOfSpaceError(`${path}.${k}: unknown parameter; expected one of ${this.keys.join(', ')}`);
    }
    for (const k of this.keys) {
      if (!(k in value)) throw new OutOfSpaceError(`${path}.${k}: missing (${this.spaces[k].describe()})`);
      const sub: Space = this.spaces[k];
      sub.check((value as Record<string, unknown>)[k], `${path}.${k}`);
    }
  }
  describe(): string {
    return `{ ${this.keys.map((k) => `${k}: ${this.spaces[k].describe()}`).join('; ')} }`;
  }
}

/** Builds a space from its JSON spec (the inverse of `.spec`). */
export function spaceFromSpec(spec: SpaceSpec): Space {
  switch (spec.kind) {
    case 'box':
      return new BoxSpace(spec.low.length === 1 ? spec.low[0] : spec.low, spec.high.length === 1 ? spec.high[0] : spec.high) as Space;
    case 'discrete':
      return new DiscreteSpace(spec.n, spec.start ?? 0) as Space;
    case 'categorical':
      return new CategoricalSpace(spec.values) as Space;
    case 'dict':
      return new DictSpace(Object.fromEntries(Object.entries(spec.spaces).map(([k, s]) => [k, spaceFromSpec(s)]))) as Space;
  }
}
