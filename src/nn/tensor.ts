/**
 * Float32 tensors with a tape autograd.
 *
 * A tensor is a row-major Float32 block plus a shape. Ops that see an input with `requiresGrad`
 * (while grad mode is on) record a backward closure on their output; `loss.backward()` walks the
 * recorded graph in reverse topological order and accumulates gradients into `.grad`.
 *
 * Memory: tensors made inside `tidy(fn)` are disposed when `fn` returns, except the ones it
 * returns (or that were `keep()`-ed). Parameters and optimizer state are never scoped.
 */
import { IcrlError } from '../core/errors.js';
import { allocStorage, freeStorage, Storage } from './memory.js';

export type Shape = readonly number[];

interface Node {
  parents: Tensor[];
  backward: (grad: Float32Array) => void;
  op: string;
}

let gradEnabled = true;
const scopes: Tensor[][] = [];

/** True while operations record the tape. */
export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs `fn` without recording the tape (inference, evaluation, optimizer updates). */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

function collectTensors(v: unknown, out: Set<Tensor>, depth = 0): void {
  if (depth > 4 || v === null || typeof v !== 'object') return;
  if (v instanceof Tensor) {
    out.add(v);
    return;
  }
  if (Array.isArray(v)) for (const x of v) collectTensors(x, out, depth + 1);
  else if (Object.getPrototypeOf(v) === Object.prototype) for (const x of Object.values(v)) collectTensors(x, out, depth + 1);
}

/**
 * Runs `fn` in a memory scope: every tensor created inside is disposed when it returns, except
 * those in its result (a tensor, or arrays / plain objects of tensors), which move to the
 * enclosing scope. Use it around each training step and each inference step.
 */
export function tidy<T>(fn: () => T): T {
  const scope: Tensor[] = [];
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    scopes.pop();
    for (const t of scope) t.dispose();
    throw e;
  }
  scopes.pop();
  const kept = new Set<Tensor>();
  collectTensors(result, kept);
  const parent = scopes.length > 0 ? scopes[scopes.length - 1] : null;
  for (const t of scope) {
    if (kept.has(t)) {
      if (parent) parent.push(t);
    } else if (!t.kept) t.dispose();
  }
  return result;
}

/** Takes a tensor out of every scope: it lives until disposed or garbage-collected. */
export function keep<T extends Tensor>(t: T): T {
  t.kept = true;
  return t;
}

export function shapeSize(shape: Shape): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new IcrlError(`invalid tensor shape [${shape.join(', ')}]`, 'NN_SHAPE');
    n *= d;
  }
  return n;
}

export function shapeStr(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

export class Tensor {
  readonly shape: Shape;
  readonly size: number;
  requiresGrad: boolean;
  grad: Tensor | null = null;
  /** optional name (parameters get their module path) */
  name: string | undefined;
  kept = false;
  /** set on parameters: gradient buffers are persistent and accumulate across backward calls */
  isParam = false;
  /** @internal */ node: Node | null = null;
  /** @internal */ storage: Storage;

  constructor(storage: Storage, shape: Shape, requiresGrad = false) {
    this.shape = Object.freeze([...shape]);
    this.size = shapeSize(shape);
    if (storage.data.length < this.size) throw new IcrlError(`storage of ${storage.data.length} floats too small for ${shapeStr(shape)}`, 'NN_SHAPE');
    this.storage = storage;
    storage.refs++;
    this.requiresGrad = requiresGrad;
    if (scopes.length > 0) scopes[scopes.length - 1].push(this);
  }

  /** The values (a view of the storage; valid until the tensor is disposed). */
  get data(): Float32Array {
    if (this.storage.freed) throw new IcrlError(`tensor${this.name ? ` "${this.name}"` : ''} ${shapeStr(this.shape)} used after dispose`, 'NN_DISPOSED');
    const d = this.storage.data;
    return d.length === this.size ? d : d.subarray(0, this.size);
  }

  get ndim(): number {
    return this.shape.length;
  }

  get disposed(): boolean {
    return this.storage.freed;
  }

  /** Returns the storage to the pool (also done by `tidy`). */
  dispose(): void {
    if (this.storage.freed) return;
    this.node = null;
    if (--this.storage.refs <= 0) freeStorage(this.storage);
    if (this.grad && !this.isParam) this.grad.dispose();
    // a disposed view must not keep the storage alive for others: refs drops only once
    this.storage = DISPOSED;
  }

  /** A copy of the values as a plain Float32Array. */
  toArray(): Float32Array {
    return Float32Array.from(this.data);
  }

  /** The single value of a one-element tensor. */
  item(): number {
    if (this.size !== 1) throw new IcrlError(`item() needs a one-element tensor, got ${shapeStr(this.shape)}`, 'NN_SHAPE');
    return this.data[0];
  }

  /** Same data, new shape (one dimension may be -1). Shares storage; gradients flow through. */
  reshape(shape: readonly number[]): Tensor {
    const s = [...shape];
    const neg = s.indexOf(-1);
    if (neg >= 0) {
      const rest = s.reduce((a, d, i) => (i === neg ? a : a * d), 1);
      s[neg] = rest === 0 ? 0 : this.size / rest;
    }
    if (shapeSize(s) !== this.size) throw new IcrlError(`cannot reshape ${shapeStr(this.shape)} to ${shapeStr(shape)}`, 'NN_SHAPE');
    const out = new Tensor(this.storage, s);
    if (record(this)) {
      setNode(out, 'reshape', [this], (g) => {
        const [gx, acc] = gradTarget(this);
        if (acc) for (let i = 0; i < g.length; i++) gx[i] += g[i];
        else gx.set(g);
      });
    }
    return out;
  }

  /** A detached tensor sharing this one's storage. */
  detach(): Tensor {
    return new Tensor(this.storage, this.shape);
  }

  /**
   * Backpropagates from this tensor (a scalar unless `grad` is given). Gradients of
   * intermediate tensors are released as soon as they have been used.
   */
  backward(grad?: Float32Array): void {
    if (grad === undefined && this.size !== 1) throw new IcrlError(`backward() without a gradient needs a scalar, got ${shapeStr(this.shape)}`, 'NN_SHAPE');
    if (!this.requiresGrad) throw new IcrlError('backward() on a tensor that does not require grad (made under noGrad, or from constants only)', 'NN_GRAD');
    // topological order over recorded nodes
    const order: Tensor[] = [];
    const seen = new Set<Tensor>();
    const stack: [Tensor, number][] = [[this, 0]];
    seen.add(this);
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      const [t, i] = top;
      const parents = t.node ? t.node.parents : [];
      if (i < parents.length) {
        top[1]++;
        const p = parents[i];
        if (p.requiresGrad && !seen.has(p)) {
          seen.add(p);
          stack.push([p, 0]);
        }
      } else {
        stack.pop();
        order.push(t);
      }
    }
    const [g0, acc0] = gradTarget(this);
    if (grad) {
      if (grad.length !== this.size) throw new IcrlError(`backward(): gradient has ${grad.length} values, tensor ${shapeStr(this.shape)}`, 'NN_SHAPE');
      if (acc0) for (let i = 0; i < grad.length; i++) g0[i] += grad[i];
      else g0.set(grad);
    } else if (acc0) g0[0] += 1;
    else g0[0] = 1;
    for (let i = order.length - 1; i >= 0; i--) {
      const t = order[i];
      if (!t.node || !t.grad) continue;
      t.node.backward(t.grad.data);
      if (!t.isParam && t !== this) {
        t.grad.dispose();
        t.grad = null;
      }
    }
  }
}

const DISPOSED = (() => {
  const s = new Storage(new Float32Array(0), -1, 0);
  s.freed = true;
  return s;
})();

/** @internal whether an op with these inputs records the tape */
export function record(...inputs: (Tensor | null | undefined)[]): boolean {
  if (!gradEnabled) return false;
  for (const t of inputs) if (t && t.requiresGrad) return true;
  return false;
}

/** @internal */
export function setNode(out: Tensor, op: string, parents: Tensor[], backward: (g: Float32Array) => void): void {
  out.requiresGrad = true;
  out.node = { parents, backward, op };
}

/**
 * @internal The gradient buffer of `t` for an op's backward to write into, and whether it must
 * accumulate (true when `t` already has a gradient). Returns a dummy when `t` needs no gradient.
 */
export function gradTarget(t: Tensor): [Float32Array, boolean] {
  if (!t.requiresGrad) return [scratchSink(t.size), false];
  if (t.grad) return [t.grad.data, true];
  if (t.isParam) {
    t.grad = keep(new Tensor(allocStorage(t.size, true), t.shape));
    return [t.grad.data, true];
  }
  t.grad = new Tensor(allocStorage(t.size), t.shape);
  // leaf gradients outlive the scope of the backward pass (as in PyTorch); others are freed as used
  if (t.node === null) keep(t.grad);
  return [t.grad.data, false];
}

/** @internal like gradTarget but the buffer is zero-filled when new (for scatter-style backward). */
export function gradZeroed(t: Tensor): Float32Array {
  const [g, acc] = gradTarget(t);
  if (!acc) g.fill(0);
  return g;
}

let sink = new Float32Array(0);
function scratchSink(n: number): Float32Array {
  if (sink.length < n) sink = new Float32Array(n);
  return sink.subarray(0, n);
}

/** @internal a new uninitialised tensor */
export function empty(shape: Shape): Tensor {
  return new Tensor(allocStorage(shapeSize(shape)), shape);
}

export function zeros(shape: Shape): Tensor {
  return new Tensor(allocStorage(shapeSize(shape), true), shape);
}

export function full(shape: Shape, value: number): Tensor {
  const t = empty(shape);
  t.data.fill(value);
  return t;
}

export function ones(shape: Shape): Tensor {
  return full(shape, 1);
}

/** A tensor holding a copy of `values` (any numeric array-like) with the given shape. */
export function tensor(values: ArrayLike<number>, shape?: Shape, requiresGrad = false): Tensor {
  const s = shape ?? [values.length];
  if (shapeSize(s) !== values.length) throw new IcrlError(`tensor(): ${values.length} values do not fill shape ${shapeStr(s)}`, 'NN_SHAPE');
  const t = empty(s);
  t.data.set(values);
  t.requiresGrad = requiresGrad;
  return t;
}

export function scalar(v: number): Tensor {
  return tensor([v], []);
}
