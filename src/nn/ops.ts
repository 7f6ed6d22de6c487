/**
 * Differentiable operations. Each op computes its output with the active kernels (see
 * `kernels/`) and, when an input requires grad, records a backward closure on the tape.
 */
import { IcrlError } from '../core/errors.js';
import type { Rng } from '../core/rng.js';
import { kernels } from './kernels/index.js';
import type { AttnOperand } from './kernels/types.js';
import { empty, gradTarget, gradZeroed, isGradEnabled, record, setNode, shapeSize, shapeStr, Tensor, type Shape } from './tensor.js';

function shapeError(op: string, msg: string): IcrlError {
  return new IcrlError(`${op}: ${msg}`, 'NN_SHAPE');
}

function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function normAxis(axis: number, ndim: number, op: string): number {
  const a = axis < 0 ? axis + ndim : axis;
  if (a < 0 || a >= ndim) throw shapeError(op, `axis ${axis} out of range for ${ndim} dimensions`);
  return a;
}

/** [outer, dim, inner] sizes around an axis */
function around(shape: Shape, axis: number): [number, number, number] {
  let outer = 1;
  let inner = 1;
  for (let i = 0; i < axis; i++) outer *= shape[i];
  for (let i = axis + 1; i < shape.length; i++) inner *= shape[i];
  return [outer, shape[axis], inner];
}

// ---------------------------------------------------------------------------------------------
// broadcasting element-wise binary ops

function broadcastShape(a: Shape, b: Shape, op: string): number[] {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) throw shapeError(op, `shapes ${shapeStr(a)} and ${shapeStr(b)} do not broadcast`);
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** strides of `s` aligned to `out`, 0 on broadcast dimensions */
function bstrides(s: Shape, out: Shape): number[] {
  const st = new Array<number>(out.length).fill(0);
  let acc = 1;
  for (let i = s.length - 1; i >= 0; i--) {
    const oi = out.length - s.length + i;
    st[oi] = s[i] === 1 ? 0 : acc;
    acc *= s[i];
  }
  return st;
}

/** calls f(outIndex, aIndex, bIndex) over the broadcast output */
function forEachBroadcast(out: Shape, sa: number[], sb: number[], f: (o: number, ia: number, ib: number) => void): void {
  const n = out.length;
  const size = shapeSize(out);
  if (n === 0) {
    if (size === 1) f(0, 0, 0);
    return;
  }
  const idx = new Array<number>(n).fill(0);
  let ia = 0;
  let ib = 0;
  const last = out[n - 1];
  const la = sa[n - 1];
  const lb = sb[n - 1];
  for (let o = 0; o < size; o += last) {
    for (let j = 0; j < last; j++) f(o + j, ia + j * la, ib + j * lb);
    // advance the index over dims 0..n-2
    for (let d = n - 2; d >= 0; d--) {
      idx[d]++;
      ia += sa[d];
      ib += sb[d];
      if (idx[d] < out[d]) break;
      ia -= sa[d] * out[d];
      ib -= sb[d] * out[d];
      idx[d] = 0;
    }
  }
}

/** adds gradient g (of shape out) into the gradient of t, summing over broadcast dimensions */
function accumulateBroadcastGrad(t: Tensor, g: Float32Array, out: Shape, scaleBy: Float32Array | null, scaleStrides: number[] | null, sign = 1): void {
  if (!t.requiresGrad) return;
  if (sameShape(t.shape, out) && scaleBy === null) {
    const [gt, acc] = gradTarget(t);
    if (sign === 1) kernels().accumulate(g, gt, g.length, acc);
    else if (acc) for (let i = 0; i < g.length; i++) gt[i] -= g[i];
    else for (let i = 0; i < g.length; i++) gt[i] = -g[i];
    return;
  }
  const gt = gradZeroed(t);
  if (scaleBy === null && sign === 1 && t.size > 0 && sameShape(t.shape, out.slice(out.length - t.ndim))) {
    // bias-style gradient: sum over the leading rows
    kernels().sumRows(g, g.length / t.size, t.size, gt);
    return;
  }
  const st = bstrides(t.shape, out);
  if (scaleBy && scaleStrides) forEachBroadcast(out, st, scaleStrides, (o, it, is) => (gt[it] += sign * g[o] * scaleBy[is]));
  else forEachBroadcast(out, st, st, (o, it) => (gt[it] += sign * g[o]));
}

type BinKind = 'add' | 'sub' | 'mul' | 'div';

function binary(kind: BinKind, a: Tensor, b: Tensor): Tensor {
  const out = sameShape(a.shape, b.shape) ? [...a.shape] : broadcastShape(a.shape, b.shape, kind);
  const y = empty(out);
  const yd = y.data;
  const ad = a.data;
  const bd = b.data;
  if (sameShape(a.shape, b.shape)) {
    const n = yd.length;
    if (kind === 'add') kernels().add(ad, bd, yd, n);
    else if (kind === 'sub') for (let i = 0; i < n; i++) yd[i] = ad[i] - bd[i];
    else if (kind === 'mul') for (let i = 0; i < n; i++) yd[i] = ad[i] * bd[i];
    else for (let i = 0; i < n; i++) yd[i] = ad[i] / bd[i];
  } else if (sameShape(a.shape, out) && b.size > 0 && sameShape(b.shape, out.slice(out.length - b.shape.length)) && kind === 'add') {
    // bias-style fast path: b is a suffix of a
    kernels().addBias(ad, bd, yd, yd.length / b.size, b.size);
  } else {
    const sa = bstrides(a.shape, out);
    const sb = bstrides(b.shape, out);
    if (kind === 'add') forEachBroadcast(out, sa, sb, (o, i, j) => (yd[o] = ad[i] + bd[j]));
    else if (kind === 'sub') forEachBroadcast(out, sa, sb, (o, i, j) => (yd[o] = ad[i] - bd[j]));
    else if (kind === 'mul') forEachBroadcast(out, sa, sb, (o, i, j) => (yd[o] = ad[i] * bd[j]));
    else forEachBroadcast(out, sa, sb, (o, i, j) => (yd[o] = ad[i] / bd[j]));
  }
  if (record(a, b)) {
    setNode(y, kind, [a, b], (g) => {
      if (kind === 'add' || kind === 'sub') {
        accumulateBroadcastGrad(a, g, out, null, null);
        accumulateBroadcastGrad(b, g, out, null, null, kind === 'sub' ? -1 : 1);
      } else if (kind === 'mul') {
        accumulateBroadcastGrad(a, g, out, b.data, bstrides(b.shape, out));
        accumulateBroadcastGrad(b, g, out, a.data, bstrides(a.shape, out));
      } else {
        // d(a/b)/da = 1/b ; d(a/b)/db = -a/b^2
        const inv = new Float32Array(b.size);
        for (let i = 0; i < inv.length; i++) inv[i] = 1 / bd[i];
        accumulateBroadcastGrad(a, g, out, inv, bstrides(b.shape, out));
        if (b.requiresGrad) {
          const gb = gradZeroed(b);
          forEachBroadcast(out, bstrides(b.shape, out), bstrides(a.shape, out), (o, ib, ia) => (gb[ib] -= (g[o] * ad[ia]) / (bd[ib] * bd[ib])));
        }
      }
    });
  }
  return y;
}

/** a + b with numpy broadcasting */
export function add(a: Tensor, b: Tensor): Tensor {
  return binary('add', a, b);
}
/** a - b with numpy broadcasting */
export function sub(a: Tensor, b: Tensor): Tensor {
  return binary('sub', a, b);
}
/** a * b (element-wise) with numpy broadcasting */
export function mul(a: Tensor, b: Tensor): Tensor {
  return binary('mul', a, b);
}
/** a / b (element-wise) with numpy broadcasting */
export function div(a: Tensor, b: Tensor): Tensor {
  return binary('div', a, b);
}

/** x + bias, bias shaped like the last dimension(s) of x */
export function addBias(x: Tensor, bias: Tensor): Tensor {
  const tail = x.shape.slice(x.ndim - bias.ndim);
  if (!sameShape(tail, bias.shape)) throw shapeError('addBias', `bias ${shapeStr(bias.shape)} does not match the last dimensions of ${shapeStr(x.shape)}`);
  return binary('add', x, bias);
}

/** s * x + c (scalars) */
export function affine(x: Tensor, s: number, c = 0): Tensor {
  const y = empty(x.shape);
  const xd = x.data;
  const yd = y.data;
  for (let i = 0; i < yd.length; i++) yd[i] = s * xd[i] + c;
  if (record(x))
    setNode(y, 'affine', [x], (g) => {
      const [gx, acc] = gradTarget(x);
      if (acc) for (let i = 0; i < g.length; i++) gx[i] += s * g[i];
      else for (let i = 0; i < g.length; i++) gx[i] = s * g[i];
    });
  return y;
}

export function scale(x: Tensor, s: number): Tensor {
  return affine(x, s, 0);
}

export function neg(x: Tensor): Tensor {
  return affine(x, -1, 0);
}

// ---------------------------------------------------------------------------------------------
// unary element-wise ops

function unary(op: string, x: Tensor, f: (v: number) => number, df: (v: number, y: number) => number): Tensor {
  const y = empty(x.shape);
  const xd = x.data;
  const yd = y.data;
  for (let i = 0; i < yd.length; i++) yd[i] = f(xd[i]);
  if (record(x))
    setNode(y, op, [x], (g) => {
      const [gx, acc] = gradTarget(x);
      const xv = x.data;
      const yv = y.data;
      if (acc) for (let i = 0; i < g.length; i++) gx[i] += g[i] * df(xv[i], yv[i]);
      else for (let i = 0; i < g.length; i++) gx[i] = g[i] * df(xv[i], yv[i]);
    });
  return y;
}

export function relu(x: Tensor): Tensor {
  return unary('relu', x, (v) => (v > 0 ? v : 0), (v) => (v > 0 ? 1 : 0));
}
export function sigmoid(x: Tensor): Tensor {
  return unary('sigmoid', x, (v) => 1 / (1 + Math.exp(-v)), (_v, y) => y * (1 - y));
}
export function tanh(x: Tensor): Tensor {
  return unary('tanh', x, Math.tanh, (_v, y) => 1 - y * y);
}
export function exp(x: Tensor): Tensor {
  return unary('exp', x, Math.exp, (_v, y) => y);
}
export function log(x: Tensor): Tensor {
  return unary('log', x, Math.log, (v) => 1 / v);
}
export function square(x: Tensor): Tensor {
  return unary('square', x, (v) => v * v, (v) => 2 * v);
}

/** GELU, exact (erf) form as in PyTorch's default */
export function gelu(x: Tensor): Tensor {
  const y = empty(x.shape);
  kernels().gelu(x.data, y.data, x.size);
  if (record(x))
    setNode(y, 'gelu', [x], (g) => {
      const [gx, acc] = gradTarget(x);
      kernels().geluBackward(x.data, g, gx, x.size, acc);
    });
  return y;
}

// ---------------------------------------------------------------------------------------------
// matrix products

/**
 * Matrix product over the last two dimensions. `a` is [..., M, K] ([..., K, M] with transA);
 * `b` is [K, N] (shared by every batch entry) or [..., K, N] with the same leading dimensions
 * ([N, K] / [..., N, K] with transB).
 */
export function matmul(a: Tensor, b: Tensor, opts: { transA?: boolean; transB?: boolean } = {}): Tensor {
  const transA = opts.transA ?? false;
  const transB = opts.transB ?? false;
  if (a.ndim < 2 || b.ndim < 2) throw shapeError('matmul', `needs matrices, got ${shapeStr(a.shape)} and ${shapeStr(b.shape)}`);
  const M = transA ? a.shape[a.ndim - 1] : a.shape[a.ndim - 2];
  const K = transA ? a.shape[a.ndim - 2] : a.shape[a.ndim - 1];
  const Kb = transB ? b.shape[b.ndim - 1] : b.shape[b.ndim - 2];
  const N = transB ? b.shape[b.ndim - 2] : b.shape[b.ndim - 1];
  if (K !== Kb) throw shapeError('matmul', `inner dimensions differ: ${shapeStr(a.shape)}${transA ? 'ᵀ' : ''} x ${shapeStr(b.shape)}${transB ? 'ᵀ' : ''}`);
  const lead = a.shape.slice(0, a.ndim - 2);
  const batch = shapeSize(lead);
  const bBatched = b.ndim > 2;
  if (bBatched && !sameShape(b.shape.slice(0, b.ndim - 2), lead)) throw shapeError('matmul', `batch dimensions differ: ${shapeStr(a.shape)} and ${shapeStr(b.shape)}`);
  // a plain [.., M, K] x [K, N] is one big product with M * batch rows
  const fold = !bBatched && !transA;
  const y = empty([...lead, M, N]);
  const k = kernels();
  const sA = M * K;
  const sB = bBatched ? K * N : 0;
  if (fold) k.gemm({ transA, transB, M: M * batch, N, K, a: a.data, b: b.data, c: y.data, accumulate: false, batch: 1, strideA: 0, strideB: 0, strideC: 0 });
  else k.gemm({ transA, transB, M, N, K, a: a.data, b: b.data, c: y.data, accumulate: false, batch, strideA: sA, strideB: sB, strideC: M * N });
  if (record(a, b))
    setNode(y, 'matmul', [a, b], (g) => {
      const kk = kernels();
      if (a.requiresGrad) {
        const [ga, acc] = gradTarget(a);
        // dA = dC B^T (or B dC^T when transA)
        if (fold) kk.gemm({ transA: false, transB: !transB, M: M * batch, N: K, K: N, a: g, b: b.data, c: ga, accumulate: acc, batch: 1, strideA: 0, strideB: 0, strideC: 0 });
        else if (!transA) kk.gemm({ transA: false, transB: !transB, M, N: K, K: N, a: g, b: b.data, c: ga, accumulate: acc, batch, strideA: M * N, strideB: sB, strideC: sA });
        else kk.gemm({ transA: transB, transB: true, M: K, N: M, K: N, a: b.data, b: g, c: ga, accumulate: acc, batch, strideA: sB, strideB: M * N, strideC: sA });
      }
      if (b.requiresGrad) {
        const [gb, acc0] = gradTarget(b);
        // dB = A^T dC (or dC^T A when transB); summed over the batch when b is shared
        if (fold) {
          if (!transB) kk.gemm({ transA: true, transB: false, M: K, N, K: M * batch, a: a.data, b: g, c: gb, accumulate: acc0, batch: 1, strideA: 0, strideB: 0, strideC: 0 });
          else kk.gemm({ transA: true, transB: false, M: N, N: K, K: M * batch, a: g, b: a.data, c: gb, accumulate: acc0, batch: 1, strideA: 0, strideB: 0, strideC: 0 });
        } else {
          for (let i = 0; i < batch; i++) {
            const acc = acc0 || (!bBatched && i > 0);
            const ai = a.data.subarray(i * sA, (i + 1) * sA);
            const gi = g.subarray(i * M * N, (i + 1) * M * N);
            const gbi = bBatched ? gb.subarray(i * sB, (i + 1) * sB) : gb;
            if (!transB) kk.gemm({ transA: !transA, transB: false, M: K, N, K: M, a: ai, b: gi, c: gbi, accumulate: acc, batch: 1, strideA: 0, strideB: 0, strideC: 0 });
            else kk.gemm({ transA: true, transB: transA, M: N, N: K, K: M, a: gi, b: ai, c: gbi, accumulate: acc, batch: 1, strideA: 0, strideB: 0, strideC: 0 });
          }
        }
      }
    });
  return y;
}

/** x W + b with x [..., in], W [in, out], b [out] */
export function linear(x: Tensor, w: Tensor, b?: Tensor | null): Tensor {
  if (w.ndim !== 2 || x.shape[x.ndim - 1] !== w.shape[0]) throw shapeError('linear', `input ${shapeStr(x.shape)} does not match weight ${shapeStr(w.shape)} ([in, out])`);
  const [inF, outF] = w.shape;
  if (b && (b.ndim !== 1 || b.size !== outF)) throw shapeError('linear', `bias ${shapeStr(b.shape)} does not match weight ${shapeStr(w.shape)}`);
  const lead = x.shape.slice(0, x.ndim - 1);
  const rows = shapeSize(lead);
  const x2 = x.ndim === 2 ? x : x.reshape([rows, inF]);
  const y = empty([rows, outF]);
  const k = kernels();
  // the bias is added by the matmul kernel itself
  k.gemm({ transA: false, transB: false, M: rows, N: outF, K: inF, a: x2.data, b: w.data, c: y.data, accumulate: false, bias: b ? b.data : null, batch: 1, strideA: 0, strideB: 0, strideC: 0 });
  if (record(x2, w, b))
    setNode(y, 'linear', b ? [x2, w, b] : [x2, w], (g) => {
      const kk = kernels();
      if (x2.requiresGrad) {
        const [gx, acc] = gradTarget(x2);
        kk.gemm({ transA: false, transB: true, M: rows, N: inF, K: outF, a: g, b: w.data, c: gx, accumulate: acc, batch: 1, strideA: 0, strideB: 0, strideC: 0 });
      }
      if (w.requiresGrad) {
        const [gw, acc] = gradTarget(w);
        kk.gemm({ transA: true, transB: false, M: inF, N: outF, K: rows, a: x2.data, b: g, c: gw, accumulate: acc, batch: 1, strideA: 0, strideB: 0, strideC: 0 });
      }
      if (b && b.requiresGrad) kk.sumRows(g, rows, outF, gradZeroed(b));
    });
  return x.ndim === 2 ? y : y.reshape([...lead, outF]);
}

// ---------------------------------------------------------------------------------------------
// normalisation, softmax

/** Layer norm over the last dimension. */
export function layerNorm(x: Tensor, gamma: Tensor, beta: Tensor, eps = 1e-5): Tensor {
  const d = x.shape[x.ndim - 1];
  if (gamma.size !== d || beta.size !== d) throw shapeError('layerNorm', `gamma ${shapeStr(gamma.shape)} / beta ${shapeStr(beta.shape)} do not match last dimension of ${shapeStr(x.shape)}`);
  const rows = x.size / d;
  const y = empty(x.shape);
  const stats = empty([2 * rows]);
  const mean = stats.data.subarray(0, rows);
  const rstd = stats.data.subarray(rows);
  kernels().layerNormForward(x.data, gamma.data, beta.data, y.data, mean, rstd, rows, d, eps);
  if (record(x, gamma, beta))
    setNode(y, 'layerNorm', [x, gamma, beta], (g) => {
      const [gx, acc] = gradTarget(x);
      const gg = gradZeroed(gamma);
      const gb = gradZeroed(beta);
      // read the stats through the tensor: it keeps their storage alive until the backward pass
      const st = stats.data;
      kernels().layerNormBackward(g, x.data, gamma.data, st.subarray(0, rows), st.subarray(rows), gx, acc, gg, gb, rows, d);
    });
  return y;
}

/** Softmax over the last dimension. */
export function softmax(x: Tensor): Tensor {
  const d = x.shape[x.ndim - 1];
  const rows = x.size / d;
  const y = empty(x.shape);
  const xd = x.data;
  const yd = y.data;
  for (let r = 0; r < rows; r++) {
    const o = r * d;
    let m = -Infinity;
    for (let j = 0; j < d; j++) if (xd[o + j] > m) m = xd[o + j];
    let s = 0;
    for (let j = 0; j < d; j++) {
      const e = Math.exp(xd[o + j] - m);
      yd[o + j] = e;
      s += e;
    }
    for (let j = 0; j < d; j++) yd[o + j] /= s;
  }
  if (record(x))
    setNode(y, 'softmax', [x], (g) => {
      const [gx, acc] = gradTarget(x);
      for (let r = 0; r < rows; r++) {
        const o = r * d;
        let dot = 0;
        for (let j = 0; j < d; j++) dot += g[o + j] * yd[o + j];
        for (let j = 0; j < d; j++) {
          const v = yd[o + j] * (g[o + j] - dot);
          if (acc) gx[o + j] += v;
          else gx[o + j] = v;
        }
      }
    });
  return y;
}

/** Log-softmax over the last dimension. */
export function logSoftmax(x: Tensor): Tensor {
  const d = x.shape[x.ndim - 1];
  const rows = x.size / d;
  const y = empty(x.shape);
  const xd = x.data;
  const yd = y.data;
  for (let r = 0; r < rows; r++) {
    const o = r * d;
    let m = -Infinity;
    for (let j = 0; j < d; j++) if (xd[o + j] > m) m = xd[o + j];
    let s = 0;
    for (let j = 0; j < d; j++) s += Math.exp(xd[o + j] - m);
    const lse = m + Math.log(s);
    for (let j = 0; j < d; j++) yd[o + j] = xd[o + j] - lse;
  }
  if (record(x))
    setNode(y, 'logSoftmax', [x], (g) => {
      const [gx, acc] = gradTarget(x);
      for (let r = 0; r < rows; r++) {
        const o = r * d;
        let s = 0;
        for (let j = 0; j < d; j++) s += g[o + j];
        for (let j = 0; j < d; j++) {
          const v = g[o + j] - Math.exp(yd[o + j]) * s;
          if (acc) gx[o + j] += v;
          else gx[o + j] = v;
        }
      }
    });
  return y;
}

/** x / max(||x||, eps) over the last dimension */
export function l2Normalize(x: Tensor, eps = 1e-8): Tensor {
  const d = x.shape[x.ndim - 1];
  const rows = x.size / d;
  const y = empty(x.shape);
  const xd = x.data;
  const yd = y.data;
  const norms = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += xd[r * d + j] * xd[r * d + j];
    const n = Math.max(Math.sqrt(s), eps);
    norms[r] = n;
    for (let j = 0; j < d; j++) yd[r * d + j] = xd[r * d + j] / n;
  }
  if (record(x))
    setNode(y, 'l2Normalize', [x], (g) => {
      const [gx, acc] = gradTarget(x);
      for (let r = 0; r < rows; r++) {
        const o = r * d;
        let dot = 0;
        for (let j = 0; j < d; j++) dot += g[o + j] * yd[o + j];
        const clamped = Math.sqrt(xd.subarray(o, o + d).reduce((a, v) => a + v * v, 0)) < eps;
        for (let j = 0; j < d; j++) {
          const v = clamped ? g[o + j] / norms[r] : (g[o + j] - yd[o + j] * dot) / norms[r];
          if (acc) gx[o + j] += v;
          else gx[o + j] = v;
        }
      }
    });
  return y;
}

// ---------------------------------------------------------------------------------------------
// reductions

/** Sum of all elements, or over one axis (dropped unless keepDim). */
export function sum(x: Tensor, axis?: number, keepDim = false): Tensor {
  if (axis === undefined) {
    const y = empty([]);
    let s = 0;
    const xd = x.data;
    for (let i = 0; i < xd.length; i++) s += xd[i];
    y.data[0] = s;
    if (record(x))
      setNode(y, 'sum', [x], (g) => {
        const [gx, acc] = gradTarget(x);
        if (acc) for (let i = 0; i < gx.length; i++) gx[i] += g[0];
        else gx.fill(g[0]);
      });
    return y;
  }
  const ax = normAxis(axis, x.ndim, 'sum');
  const [outer, dim, inner] = around(x.shape, ax);
  const outShape = keepDim ? x.shape.map((d, i) => (i === ax ? 1 : d)) : x.shape.filter((_, i) => i !== ax);
  const y = empty(outShape);
  const xd = x.data;
  const yd = y.data;
  yd.fill(0);
  for (let o = 0; o < outer; o++) for (let k = 0; k < dim; k++) for (let i = 0; i < inner; i++) yd[o * inner + i] += xd[(o * dim + k) * inner + i];
  if (record(x))
    setNode(y, 'sumAxis', [x], (g) => {
      const [gx, acc] = gradTarget(x);
      for (let o = 0; o < outer; o++)
        for (let k = 0; k < dim; k++)
          for (let i = 0; i < inner; i++) {
            const idx = (o * dim + k) * inner + i;
            if (acc) gx[idx] += g[o * inner + i];
            else gx[idx] = g[o * inner + i];
          }
    });
  return y;
}

/** Mean of all elements, or over one axis. */
export function mean(x: Tensor, axis?: number, keepDim = false): Tensor {
  const n = axis === undefined ? x.size : x.shape[normAxis(axis, x.ndim, 'mean')];
  return scale(sum(x, axis, keepDim), 1 / Math.max(n, 1));
}

// ---------------------------------------------------------------------------------------------
// indexing and layout

/** Rows of `weight` [V, d] picked by `ids`; the result has shape [...idShape, d]. */
export function embedding(weight: Tensor, ids: Int32Array | readonly number[], idShape?: Shape): Tensor {
  const [V, d] = weight.shape;
  if (weight.ndim !== 2) throw shapeError('embedding', `weight must be [vocab, dim], got ${shapeStr(weight.shape)}`);
  const s = idShape ?? [ids.length];
  if (shapeSize(s) !== ids.length) throw shapeError('embedding', `${ids.length} ids do not fill shape ${shapeStr(s)}`);
  for (let i = 0; i < ids.length; i++) if (!(ids[i] >= 0 && ids[i] < V)) throw new IcrlError(`embedding: id ${ids[i]} at position ${i} outside [0, ${V})`, 'NN_INDEX');
  const y = gatherRowsImpl(weight.reshape([V, d]), ids, 'embedding');
  return y.reshape([...s, d]);
}

function gatherRowsImpl(x: Tensor, idx: Int32Array | readonly number[], op: string): Tensor {
  const n = x.shape[0];
  const row = x.size / Math.max(n, 1);
  const y = empty([idx.length, ...x.shape.slice(1)]);
  const xd = x.data;
  const yd = y.data;
  for (let i = 0; i < idx.length; i++) {
    const r = idx[i];
    if (!(r >= 0 && r < n)) throw new IcrlError(`${op}: index ${r} at position ${i} outside [0, ${n})`, 'NN_INDEX');
    yd.set(xd.subarray(r * row, (r + 1) * row), i * row);
  }
  if (record(x))
    setNode(y, op, [x], (g) => {
      const gx = gradZeroed(x);
      for (let i = 0; i < idx.length; i++) {
        const o = idx[i] * row;
        for (let j = 0; j < row; j++) gx[o + j] += g[i * row + j];
      }
    });
  return y;
}

/** x[idx] along the first axis (rows may repeat). */
export function gatherRows(x: Tensor, idx: Int32Array | readonly number[]): Tensor {
  return gatherRowsImpl(x, idx, 'gatherRows');
}

/** out[idx[i]] += src[i] along the first axis, into a zero tensor of `rows` rows (inverse of gatherRows). */
export function scatterAddRows(src: Tensor, idx: Int32Array | readonly number[], rows: number): Tensor {
  if (src.shape[0] !== idx.length) throw shapeError('scatterAddRows', `${idx.length} indices for ${src.shape[0]} rows`);
  const row = src.size / Math.max(idx.length, 1);
  const y = empty([rows, ...src.shape.slice(1)]);
  const yd = y.data;
  const sd = src.data;
  yd.fill(0);
  for (let i = 0; i < idx.length; i++) {
    const r = idx[i];
    if (!(r >= 0 && r < rows)) throw new IcrlError(`scatterAddRows: index ${r} at position ${i} outside [0, ${rows})`, 'NN_INDEX');
    for (let j = 0; j < row; j++) yd[r * row + j] += sd[i * row + j];
  }
  if (record(src))
    setNode(y, 'scatterAddRows', [src], (g) => {
      const [gs, acc] = gradTarget(src);
      for (let i = 0; i < idx.length; i++) {
        const o = idx[i] * row;
        for (let j = 0; j < row; j++) {
          if (acc) gs[i * row + j] += g[o + j];
          else gs[i * row + j] = g[o + j];
        }
      }
    });
  return y;
}

/** Concatenation along an axis. */
export function concat(ts: Tensor[], axis = -1): Tensor {
  if (ts.length === 0) throw shapeError('concat', 'no tensors');
  const ax = normAxis(axis, ts[0].ndim, 'concat');
  for (const t of ts)
    if (t.ndim !== ts[0].ndim || t.shape.some((d, i) => i !== ax && d !== ts[0].shape[i]))
      throw shapeError('concat', `shapes ${ts.map((u) => shapeStr(u.shape)).join(', ')} differ outside axis ${ax}`);
  const dims = ts.map((t) => t.shape[ax]);
  const total = dims.reduce((a, b) => a + b, 0);
  const outShape = ts[0].shape.map((d, i) => (i === ax ? total : d));
  const [outer, , inner] = around(outShape, ax);
  const y = empty(outShape);
  const yd = y.data;
  let off = 0;
  for (let t = 0; t < ts.length; t++) {
    const src = ts[t].data;
    const w = dims[t] * inner;
    for (let o = 0; o < outer; o++) yd.set(src.subarray(o * w, (o + 1) * w), o * total * inner + off * inner);
    off += dims[t];
  }
  if (record(...ts))
    setNode(y, 'concat', ts, (g) => {
      let o2 = 0;
      for (let t = 0; t < ts.length; t++) {
        const w = dims[t] * inner;
        if (ts[t].requiresGrad) {
          const [gt, acc] = gradTarget(ts[t]);
          for (let o = 0; o < outer; o++) {
            const base = o * total * inner + o2 * inner;
            if (acc) for (let j = 0; j < w; j++) gt[o * w + j] += g[base + j];
            else gt.set(g.subarray(base, base + w), o * w);
          }
        }
        o2 += dims[t];
      }
    });
  return y;
}

/** x[..., start:end, ...] along an axis (a copy). */
export function slice(x: Tensor, axis: number, start: number, end: number): Tensor {
  const ax = normAxis(axis, x.ndim, 'slice');
  const dim = x.shape[ax];
  if (!(start >= 0 && end <= dim && start <= end)) throw shapeError('slice', `range [${start}, ${end}) outside axis ${ax} of ${shapeStr(x.shape)}`);
  const [outer, , inner] = around(x.shape, ax);
  const outShape = x.shape.map((d, i) => (i === ax ? end - start : d));
  const y = empty(outShape);
  const w = (end - start) * inner;
  const xd = x.data;
  const yd = y.data;
  for (let o = 0; o < outer; o++) yd.set(xd.subarray(o * dim * inner + start * inner, o * dim * inner + start * inner + w), o * w);
  if (record(x))
    setNode(y, 'slice', [x], (g) => {
      const gx = gradZeroed(x);
      for (let o = 0; o < outer; o++) {
        const base = o * dim * inner + start * inner;
        for (let j = 0; j < w; j++) gx[base + j] += g[o * w + j];
      }
    });
  return y;
}

/** Splits along an axis into pieces of the given sizes. */
export function split(x: Tensor, sizes: number[], axis = -1): Tensor[] {
  const ax = normAxis(axis, x.ndim, 'split');
  if (sizes.reduce((a, b) => a + b, 0) !== x.shape[ax]) throw shapeError('split', `sizes ${sizes.join('+')} do not add up to axis ${ax} of ${shapeStr(x.shape)}`);
  const out: Tensor[] = [];
  let s = 0;
  for (const n of sizes) {
    out.push(slice(x, ax, s, s + n));
    s += n;
  }
  return out;
}

/** Swaps two axes (a copy). */
export function transpose(x: Tensor, a0 = -2, a1 = -1): Tensor {
  const i0 = normAxis(a0, x.ndim, 'transpose');
  const i1 = normAxis(a1, x.ndim, 'transpose');
  const perm = x.shape.map((_, i) => i);
  perm[i0] = i1;
  perm[i1] = i0;
  return permute(x, perm);
}

/** Reorders axes: output axis i is input axis perm[i] (a copy). */
export function permute(x: Tensor, perm: number[]): Tensor {
  if (perm.length !== x.ndim || [...perm].sort().some((p, i) => p !== i)) throw shapeError('permute', `bad permutation [${perm.join(', ')}] for ${shapeStr(x.shape)}`);
  const outShape = perm.map((p) => x.shape[p]);
  const inStrides = new Array<number>(x.ndim);
  let acc = 1;
  for (let i = x.ndim - 1; i >= 0; i--) {
    inStrides[i] = acc;
    acc *= x.shape[i];
  }
  const st = perm.map((p) => inStrides[p]);
  const y = empty(outShape);
  const xd = x.data;
  const yd = y.data;
  const zero = new Array<number>(x.ndim).fill(0);
  forEachBroadcast(outShape, st, zero, (o, i) => (yd[o] = xd[i]));
  if (record(x))
    setNode(y, 'permute', [x], (g) => {
      const [gx, accum] = gradTarget(x);
      if (accum) forEachBroadcast(outShape, st, zero, (o, i) => (gx[i] += g[o]));
      else forEachBroadcast(outShape, st, zero, (o, i) => (gx[i] = g[o]));
    });
  return y;
}

// ---------------------------------------------------------------------------------------------
// dropout

/** Inverted dropout: zeroes each element with probability p (drawn from `rng`) and scales the rest by 1/(1-p). Identity when p = 0 or training is false. */
export function dropout(x: Tensor, p: number, rng: Rng, training = true): Tensor {
  if (!(p >= 0 && p < 1)) throw new IcrlError(`dropout: p must be in [0, 1), got ${p}`, 'CONFIG');
  if (!training || p === 0) return x;
  const keepScale = 1 / (1 - p);
  const mask = new Float32Array(x.size);
  rng.fillUniform(mask);
  for (let i = 0; i < mask.length; i++) mask[i] = mask[i] >= p ? keepScale : 0;
  const y = empty(x.shape);
  const xd = x.data;
  const yd = y.data;
  for (let i = 0; i < yd.length; i++) yd[i] = xd[i] * mask[i];
  if (record(x))
    setNode(y, 'dropout', [x], (g) => {
      const [gx, acc] = gradTarget(x);
      if (acc) for (let i = 0; i < g.length; i++) gx[i] += g[i] * mask[i];
      else for (let i = 0; i < g.length; i++) gx[i] = g[i] * mask[i];
    });
  return y;
}

// ---------------------------------------------------------------------------------------------
// attention

interface Operand {
  t: Tensor;
  col: number;
  rowStride: number;
}

function operand(o: Operand, data: Float32Array, T: number): AttnOperand {
  return { arr: data.subarray(o.col), rowStride: o.rowStride, batchStride: T * o.rowStride };
}

function attentionImpl(q: Operand, k: Operand, v: Operand, parents: Tensor[], B: number, T: number, H: number, hd: number): Tensor {
  const d = H * hd;
  const y = empty([B, T, d]);
  const grad = record(...parents);
  const lseT = grad ? empty([B * H * T]) : null;
  const lse = lseT ? lseT.data : null;
  const args = {
    B,
    H,
    hd,
    Tq: T,
    Tk: T,
    qOffset: 0,
    scale: 1 / Math.sqrt(hd),
    q: operand(q, q.t.data, T),
    k: operand(k, k.t.data, T),
    v: operand(v, v.t.data, T),
    out: { arr: y.data, rowStride: d, batchStride: T * d },
    lse,
  };
  kernels().attentionForward(args);
  if (grad && lseT)
    setNode(y, 'attention', parents, (g) => {
      const grads = new Map<Tensor, Float32Array>();
      for (const p of parents) grads.set(p, gradZeroed(p));
      kernels().attentionBackward({
        ...args,
        q: operand(q, q.t.data, T),
        k: operand(k, k.t.data, T),
        v: operand(v, v.t.data, T),
        out: { arr: y.data, rowStride: d, batchStride: T * d },
        lse: lseT.data,
        dout: { arr: g, rowStride: d, batchStride: T * d },
        dq: operand(q, grads.get(q.t)!, T),
        dk: operand(k, grads.get(k.t)!, T),
        dv: operand(v, grads.get(v.t)!, T),
      });
    });
  return y;
}

/**
 * Fused causal multi-head attention on a packed projection `qkv` [B, T, 3d] (q, k, v side by
 * side, heads contiguous inside each). Returns [B, T, d]. No T x T matrix is stored: the
 * backward pass recomputes the attention weights from q, k and the saved log-sum-exp.
 */
export function causalSelfAttention(qkv: Tensor, nHeads: number): Tensor {
  if (qkv.ndim !== 3 || qkv.shape[2] % (3 * nHeads) !== 0) throw shapeError('causalSelfAttention', `qkv must be [B, T, 3 * d] with d divisible by ${nHeads} heads, got ${shapeStr(qkv.shape)}`);
  const [B, T, d3] = qkv.shape;
  const d = d3 / 3;
  return attentionImpl({ t: qkv, col: 0, rowStride: d3 }, { t: qkv, col: d, rowStride: d3 }, { t: qkv, col: 2 * d, rowStride: d3 }, [qkv], B, T, nHeads, d / nHeads);
}

/** Fused causal multi-head attention on separate q, k, v [B, T, d]. */
export function causalAttention(q: Tensor, k: Tensor, v: Tensor, nHeads: number): Tensor {
  if (q.ndim !== 3 || !sameShape(q.shape, k.shape) || !sameShape(q.shape, v.shape) || q.shape[2] % nHeads !== 0)
    throw shapeError('causalAttention', `q, k, v must share a [B, T, d] shape with d divisible by ${nHeads}, got ${shapeStr(q.shape)}, ${shapeStr(k.shape)}, ${shapeStr(v.shape)}`);
  const [B, T, d] = q.shape;
  const parents = [q, k, v].filter((t, i, arr) => arr.indexOf(t) === i);
  return attentionImpl({ t: q, col: 0, rowStride: d }, { t: k, col: 0, rowStride: d }, { t: v, col: 0, rowStride: d }, parents, B, T, nHeads, d / nHeads);
}

export interface AttentionOptions {
  /** Query i sits at key position qOffset + i (default Tk - Tq: the queries are the last keys). */
  qOffset?: number;
  /** Sliding window: a query sees the `window` newest keys up to itself (0: all of them). */
  window?: number;
  /** The first `sinks` keys are seen by every query whatever the window (Sink-KV). */
  sinks?: number;
}

/**
 * Fused causal multi-head attention of queries q [B, Tq, d] over keys and values k, v [B, Tk, d],
 * query i seeing the keys 0 .. qOffset + i; optionally only the last `window` of them plus the
 * first `sinks` (a sliding window that keeps its sink slots). Returns [B, Tq, d]. Same kernels as
 * {@link causalAttention}: nothing of size Tq x Tk is stored.
 */
export function attention(q: Tensor, k: Tensor, v: Tensor, nHeads: number, opts: AttentionOptions = {}): Tensor {
  if (q.ndim !== 3 || k.ndim !== 3 || !sameShape(k.shape, v.shape) || q.shape[0] !== k.shape[0] || q.shape[2] !== k.shape[2] || q.shape[2] % nHeads !== 0)
    throw shapeError('attention', `q [B, Tq, d] and k, v [B, Tk, d] with d divisible by ${nHeads} heads, got ${shapeStr(q.shape)}, ${shapeStr(k.shape)}, ${shapeStr(v.shape)}`);
  const [B, Tq, d] = q.shape;
  const Tk = k.shape[1];
  const qOffset = opts.qOffset ?? Tk - Tq;
  const window = opts.window ?? 0;
  const sinks = opts.sinks ?? 0;
  if (!(Number.isInteger(qOffset) && qOffset >= 0 && qOffset + Tq <= Tk)) throw shapeError('attention', `qOffset ${qOffset} with ${Tq} queries exceeds ${Tk} keys`);
  if (!(Number.isInteger(window) && window >= 0) || !(Number.isInteger(sinks) && sinks >= 0)) throw shapeError('attention', `window (${window}) and sinks (${sinks}) must be non-negative integers`);
  const H = nHeads;
  const hd = d / H;
  const parents = [q, k, v].filter((t, i, arr) => arr.indexOf(t) === i);
  const grad = record(...parents);
  const y = empty([B, Tq, d]);
  const lseT = grad ? empty([B * H * Tq]) : null;
  const opq = (arr: Float32Array): AttnOperand => ({ arr, rowStride: d, batchStride: Tq * d });
  const opk = (arr: Float32Array): AttnOperand => ({ arr, rowStride: d, batchStride: Tk * d });
  const args = { B, H, hd, Tq, Tk, qOffset, window, sinks, scale: 1 / Math.sqrt(hd), q: opq(q.data), k: opk(k.data), v: opk(v.data), out: opq(y.data), lse: lseT ? lseT.data : null };
  kernels().attentionForward(args);
  if (grad && lseT)
    setNode(y, 'attention', parents, (g) => {
      const grads = new Map<Tensor, Float32Array>();
      for (const p of parents) grads.set(p, gradZeroed(p));
      kernels().attentionBackward({
        ...args,
        q: opq(q.data),
        k: opk(k.data),
        v: opk(v.data),
        out: opq(y.data),
        lse: lseT.data,
        dout: opq(g),
        dq: opq(grads.get(q)!),
        dk: opk(grads.get(k)!),
        dv: opk(grads.get(v)!),
      });
    });
  return y;
}

// ---------------------------------------------------------------------------------------------
// state-space scan

export interface ScanOptions {
  /** [B * T] of 0 / 1: where 1, the state is cleared before step t (h_t = x_t); a constant */
  reset?: Float32Array | null;
  /** initial state [B * P] (a constant: recurrent decoding carries it from the previous call) */
  h0?: Float32Array | null;
}

/**
 * Diagonal linear recurrence h_t = a * h_{t-1} + x_t per channel, x [B, T, P], a [P] (the
 * discretised decays of a diagonal state-space layer), h_{-1} = h0 or zeros, cleared where
 * `reset` is 1 (Lu et al. 2023's resettable scan). Returns h [B, T, P]. Gradients to x (a scan
 * backwards in time) and to a (sum over b, t of g_t m_t h_{t-1}).
 */
export function ssmScan(a: Tensor, x: Tensor, opts: ScanOptions = {}): Tensor {
  if (x.ndim !== 3 || a.ndim !== 1 || a.shape[0] !== x.shape[2]) throw shapeError('ssmScan', `needs a [P] and x [B, T, P], got ${shapeStr(a.shape)} and ${shapeStr(x.shape)}`);
  const [B, T, P] = x.shape;
  const reset = opts.reset ?? null;
  const h0 = opts.h0 ?? null;
  if (reset && reset.length !== B * T) throw shapeError('ssmScan', `reset has ${reset.length} values, expected B * T = ${B * T}`);
  if (h0 && h0.length !== B * P) throw shapeError('ssmScan', `h0 has ${h0.length} values, expected B * P = ${B * P}`);
  const h = empty([B, T, P]);
  kernels().scan({ B, T, P, a: a.data, x: x.data, h: h.data, reset, h0, reverse: false });
  if (record(a, x))
    setNode(h, 'ssmScan', [a, x], (g) => {
      const gs = empty([B, T, P]);
      const gd = gs.data;
      kernels().scan({ B, T, P, a: a.data, x: g, h: gd, reset, h0: null, reverse: true });
      if (x.requiresGrad) {
        const [gx, acc] = gradTarget(x);
        kernels().accumulate(gd, gx, gd.length, acc);
      }
      if (a.requiresGrad) {
        const ga = gradZeroed(a);
        const hd = h.data;
        const sums = new Float64Array(P);
        for (let b = 0; b < B; b++)
          for (let t = 0; t < T; t++) {
            const m = reset ? 1 - reset[b * T + t] : 1;
            if (m === 0) continue;
            const o = (b * T + t) * P;
            if (t === 0) {
              if (h0) for (let c = 0; c < P; c++) sums[c] += gd[o + c] * h0[b * P + c];
            } else for (let c = 0; c < P; c++) sums[c] += gd[o + c] * hd[o - P + c];
          }
        for (let c = 0; c < P; c++) ga[c] += sums[c];
      }
      gs.dispose();
    });
  return h;
}

// ---------------------------------------------------------------------------------------------
// routing (mixture of experts)

/**
 * Top-k of each row of x [N, E]: `values` [N, k] (differentiable, gathered from x) and
 * `indices` (N * k, row-major). Ties go to the lower index.
 */
export function topk(x: Tensor, k: number): { values: Tensor; indices: Int32Array } {
  if (x.ndim !== 2 || k < 1 || k > x.shape[1]) throw shapeError('topk', `needs [N, E] with 1 <= k <= E, got ${shapeStr(x.shape)} and k = ${k}`);
  const [N, E] = x.shape;
  const xd = x.data;
  const indices = new Int32Array(N * k);
  const flat = new Int32Array(N * k);
  for (let r = 0; r < N; r++) {
    const used = new Uint8Array(E);
    for (let j = 0; j < k; j++) {
      let best = -1;
      for (let e = 0; e < E; e++) if (!used[e] && (best < 0 || xd[r * E + e] > xd[r * E + best])) best = e;
      used[best] = 1;
      indices[r * k + j] = best;
      flat[r * k + j] = r * E + best;
    }
  }
  const values = gatherRows(x.reshape([N * E, 1]), flat).reshape([N, k]);
  return { values, indices };
}

/** true when an op would record the tape now (exported for modules) */
export function recording(): boolean {
  return isGradEnabled();
}

// ---------------------------------------------------------------------------------------------
// many independent networks at once (a leading learner axis), min / max / clamp

/**
 * N independent linear layers at once: x [N, B, in], w [N, in, out], b [N, out] (or null) ->
 * [N, B, out], item i being x[i] w[i] + b[i] (one batched matrix multiply with a per-item fused
 * bias). `activation` 'relu' or 'tanh' is applied in the same op by its kernel (the backward
 * uses the output: a mask, or 1 - y^2; the WebAssembly tanh is 1 - 2 / (e^2x + 1), not Math.tanh).
 * Each item is computed exactly as it would be alone, so item i does not depend on N.
 */
export function batchedLinear(x: Tensor, w: Tensor, b?: Tensor | null, activation: 'none' | 'relu' | 'tanh' = 'none'): Tensor {
  if (x.ndim !== 3 || w.ndim !== 3 || x.shape[0] !== w.shape[0] || x.shape[2] !== w.shape[1])
    throw shapeError('batchedLinear', `input ${shapeStr(x.shape)} ([N, B, in]) does not match weight ${shapeStr(w.shape)} ([N, in, out])`);
  const [N, B, inF] = x.shape;
  const outF = w.shape[2];
  if (b && (b.ndim !== 2 || b.shape[0] !== N || b.shape[1] !== outF)) throw shapeError('batchedLinear', `bias ${shapeStr(b.shape)} does not match weight ${shapeStr(w.shape)} (expected [${N}, ${outF}])`);
  if (activation !== 'none' && activation !== 'relu' && activation !== 'tanh') throw new IcrlError(`batchedLinear: activation must be "none", "relu" or "tanh", got "${String(activation)}"`, 'CONFIG');
  const y = empty([N, B, outF]);
  const k = kernels();
  k.gemm({ transA: false, transB: false, M: B, N: outF, K: inF, a: x.data, b: w.data, c: y.data, accumulate: false, bias: b ? b.data : null, strideBias: outF, batch: N, strideA: B * inF, strideB: inF * outF, strideC: B * outF });
  if (activation === 'relu') k.relu(y.data, y.data, y.size);
  else if (activation === 'tanh') k.tanh(y.data, y.data, y.size);
  if (record(x, w, b))
    setNode(y, `batchedLinear.${activation}`, b ? [x, w, b] : [x, w], (g) => {
      const kk = kernels();
      let gzT: Tensor | null = null;
      let gz = g;
      if (activation !== 'none') {
        gzT = empty([N, B, outF]);
        gz = gzT.data;
        if (activation === 'relu') kk.reluBackward(y.data, g, gz, gz.length, false);
        else kk.tanhBackward(y.data, g, gz, gz.length, false);
      }
      if (x.requiresGrad) {
        const [gx, acc] = gradTarget(x);
        kk.gemm({ transA: false, transB: true, M: B, N: inF, K: outF, a: gz, b: w.data, c: gx, accumulate: acc, batch: N, strideA: B * outF, strideB: inF * outF, strideC: B * inF });
      }
      if (w.requiresGrad) {
        const [gw, acc] = gradTarget(w);
        kk.gemm({ transA: true, transB: false, M: inF, N: outF, K: B, a: x.data, b: gz, c: gw, accumulate: acc, batch: N, strideA: B * inF, strideB: B * outF, strideC: inF * outF });
      }
      if (b && b.requiresGrad) {
        const gb = gradZeroed(b);
        for (let i = 0; i < N; i++) kk.sumRows(gz.subarray(i * B * outF, (i + 1) * B * outF), B, outF, gb.subarray(i * outF, (i + 1) * outF));
      }
      if (gzT) gzT.dispose();
    });
  return y;
}

function minMax(op: 'minimum' | 'maximum', a: Tensor, b: Tensor): Tensor {
  if (!sameShape(a.shape, b.shape)) throw shapeError(op, `needs equal shapes, got ${shapeStr(a.shape)} and ${shapeStr(b.shape)}`);
  const y = empty(a.shape);
  const ad = a.data;
  const bd = b.data;
  const yd = y.data;
  const lo = op === 'minimum';
  for (let i = 0; i < yd.length; i++) yd[i] = lo ? (ad[i] <= bd[i] ? ad[i] : bd[i]) : ad[i] >= bd[i] ? ad[i] : bd[i];
  if (record(a, b))
    setNode(y, op, [a, b], (g) => {
      const av = a.data;
      const bv = b.data;
      // the gradient goes to the selected input; ties split it evenly (as PyTorch does)
      const share = (x: number, o: number, i: number): number => (x === o ? 0.5 * g[i] : (lo ? x < o : x > o) ? g[i] : 0);
      for (const [t, self, other] of [
        [a, av, bv],
        [b, bv, av],
      ] as const) {
        if (!t.requiresGrad) continue;
        const [gt, acc] = gradTarget(t);
        if (acc) for (let i = 0; i < g.length; i++) gt[i] += share(self[i], other[i], i);
        else for (let i = 0; i < g.length; i++) gt[i] = share(self[i], other[i], i);
      }
    });
  return y;
}

/** Element-wise minimum of two tensors of the same shape (ties split the gradient evenly). */
export function minimum(a: Tensor, b: Tensor): Tensor {
  return minMax('minimum', a, b);
}

/** Element-wise maximum of two tensors of the same shape (ties split the gradient evenly). */
export function maximum(a: Tensor, b: Tensor): Tensor {
  return minMax('maximum', a, b);
}

/** Clips every element to [lo, hi]; the gradient passes where lo <= x <= hi (as torch.clamp). */
export function clamp(x: Tensor, lo: number, hi: number): Tensor {
  if (!(lo <= hi)) throw new IcrlError(`clamp: lower bound ${lo} exceeds upper bound ${hi}`, 'CONFIG');
  const y = empty(x.shape);
  const xd = x.data;
  const yd = y.data;
  for (let i = 0; i < yd.length; i++) yd[i] = xd[i] < lo ? lo : xd[i] > hi ? hi : xd[i];
  if (record(x))
    setNode(y, 'clamp', [x], (g) => {
      const [gx, acc] = gradTarget(x);
      const v = x.data;
      if (acc) for (let i = 0; i < g.length; i++) gx[i] += v[i] >= lo && v[i] <= hi ? g[i] : 0;
      else for (let i = 0; i < g.length; i++) gx[i] = v[i] >= lo && v[i] <= hi ? g[i] : 0;
    });
  return y;
}
