/**
 * Plain TypeScript kernels: the definition the WebAssembly kernels are tested against, and the
 * fallback when those are not built (`ICRL_NN_KERNELS=reference` selects them explicitly).
 */
import type { AttnArgs, AttnBackwardArgs, F32, GemmArgs, Kernels, ScanArgs } from './types.js';

/** Whether key j is visible to the query at key position qi (causal, sliding window, sinks). */
export function keyVisible(j: number, qi: number, window: number, sinks: number): boolean {
  return j <= qi && (window <= 0 || j < sinks || j > qi - window);
}

/** erf by Abramowitz and Stegun 7.1.26 (|error| < 1.5e-7), as in the WebAssembly kernel. */
export function erf(x: number): number {
  const s = x < 0 ? -1 : 1;
  const a = Math.abs(x);
  const t = 1 / (1 + 0.3275911 * a);
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-a * a);
  return s * y;
}

const INV_SQRT2 = Math.SQRT1_2;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

export function geluScalar(x: number): number {
  return 0.5 * x * (1 + erf(x * INV_SQRT2));
}

export function geluGradScalar(x: number): number {
  return 0.5 * (1 + erf(x * INV_SQRT2)) + x * INV_SQRT_2PI * Math.exp(-0.5 * x * x);
}

function gemm(p: GemmArgs): void {
  const { transA, transB, M, N, K, a, b, c, accumulate } = p;
  const row = new Float64Array(N);
  for (let bi = 0; bi < p.batch; bi++) {
    const oa = bi * p.strideA;
    const ob = bi * p.strideB;
    const oc = bi * p.strideC;
    const obias = bi * (p.strideBias ?? 0);
    for (let i = 0; i < M; i++) {
      if (p.bias && !accumulate) for (let j = 0; j < N; j++) row[j] = p.bias[obias + j];
      else row.fill(0);
      for (let k = 0; k < K; k++) {
        const av = transA ? a[oa + k * M + i] : a[oa + i * K + k];
        if (av === 0) continue;
        if (transB) for (let j = 0; j < N; j++) row[j] += av * b[ob + j * K + k];
        else {
          const bo = ob + k * N;
          for (let j = 0; j < N; j++) row[j] += av * b[bo + j];
        }
      }
      const co = oc + i * N;
      if (accumulate) for (let j = 0; j < N; j++) c[co + j] += row[j];
      else for (let j = 0; j < N; j++) c[co + j] = row[j];
    }
  }
}

function attentionForward(p: AttnArgs): void {
  const { B, H, hd, Tq, Tk, qOffset, scale, q, k, v, out, lse } = p;
  const win = p.window ?? 0;
  const sinks = p.sinks ?? 0;
  const s = new Float64Array(Tk);
  const o = new Float64Array(hd);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let i = 0; i < Tq; i++) {
        const qo = b * q.batchStride + i * q.rowStride + h * hd;
        const last = Math.min(Tk - 1, qOffset + i);
        let m = -Infinity;
        for (let j = 0; j <= last; j++) {
          if (!keyVisible(j, qOffset + i, win, sinks)) continue;
          const ko = b * k.batchStride + j * k.rowStride + h * hd;
          let acc = 0;
          for (let d = 0; d < hd; d++) acc += q.arr[qo + d] * k.arr[ko + d];
          s[j] = acc * scale;
          if (s[j] > m) m = s[j];
        }
        let l = 0;
        o.fill(0);
        for (let j = 0; j <= last; j++) {
          if (!keyVisible(j, qOffset + i, win, sinks)) continue;
          const pj = Math.exp(s[j] - m);
          l += pj;
          const vo = b * v.batchStride + j * v.rowStride + h * hd;
          for (let d = 0; d < hd; d++) o[d] += pj * v.arr[vo + d];
        }
        const oo = b * out.batchStride + i * out.rowStride + h * hd;
        for (let d = 0; d < hd; d++) out.arr[oo + d] = o[d] / l;
        if (lse) lse[(b * H + h) * Tq + i] = m + Math.log(l);
      }
}

function attentionBackward(p: AttnBackwardArgs): void {
  const { B, H, hd, Tq, Tk, qOffset, scale, q, k, v, out, lse, dout, dq, dk, dv } = p;
  const win = p.window ?? 0;
  const sinks = p.sinks ?? 0;
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let i = 0; i < Tq; i++) {
        const qo = b * q.batchStride + i * q.rowStride + h * hd;
        const oo = b * out.batchStride + i * out.rowStride + h * hd;
        const doo = b * dout.batchStride + i * dout.rowStride + h * hd;
        const dqo = b * dq.batchStride + i * dq.rowStride + h * hd;
        const L = lse[(b * H + h) * Tq + i];
        let D = 0;
        for (let d = 0; d < hd; d++) D += dout.arr[doo + d] * out.arr[oo + d];
        const last = Math.min(Tk - 1, qOffset + i);
        for (let j = 0; j <= last; j++) {
          if (!keyVisible(j, qOffset + i, win, sinks)) continue;
          const ko = b * k.batchStride + j * k.rowStride + h * hd;
          const vo = b * v.batchStride + j * v.rowStride + h * hd;
          let sc = 0;
          let dp = 0;
          for (let d = 0; d < hd; d++) {
            sc += q.arr[qo + d] * k.arr[ko + d];
            dp += dout.arr[doo + d] * v.arr[vo + d];
          }
          const pj = Math.exp(sc * scale - L);
          const ds = pj * (dp - D) * scale;
          const dko = b * dk.batchStride + j * dk.rowStride + h * hd;
          const dvo = b * dv.batchStride + j * dv.rowStride + h * hd;
          for (let d = 0; d < hd; d++) {
            dq.arr[dqo + d] += ds * k.arr[ko + d];
            dk.arr[dko + d] += ds * q.arr[qo + d];
            dv.arr[dvo + d] += pj * dout.arr[doo + d];
          }
        }
      }
}

function scan(p: ScanArgs): void {
  const { B, T, P, a, x, h, reset, h0, reverse } = p;
  for (let b = 0; b < B; b++)
    for (let c = 0; c < P; c++) {
      let st = h0 ? h0[b * P + c] : 0;
      for (let s = 0; s < T; s++) {
        const t = reverse ? T - 1 - s : s;
        let m = 1;
        if (reset) m = reverse ? (t + 1 < T ? 1 - reset[b * T + t + 1] : 1) : 1 - reset[b * T + t];
        st = a[c] * m * st + x[(b * T + t) * P + c];
        h[(b * T + t) * P + c] = st;
      }
    }
}

function layerNormForward(x: F32, gamma: F32, beta: F32, out: F32, mean: F32, rstd: F32, rows: number, d: number, eps: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * d;
    let mu = 0;
    for (let j = 0; j < d; j++) mu += x[o + j];
    mu /= d;
    let v = 0;
    for (let j = 0; j < d; j++) {
      const c = x[o + j] - mu;
      v += c * c;
    }
    const rs = 1 / Math.sqrt(v / d + eps);
    mean[r] = mu;
    rstd[r] = rs;
    for (let j = 0; j < d; j++) out[o + j] = (x[o + j] - mu) * rs * gamma[j] + beta[j];
  }
}

function layerNormBackward(dy: F32, x: F32, gamma: F32, mean: F32, rstd: F32, dx: F32, accumulateDx: boolean, dgamma: F32, dbeta: F32, rows: number, d: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * d;
    const mu = mean[r];
    const rs = rstd[r];
    let s1 = 0;
    let s2 = 0;
    for (let j = 0; j < d; j++) {
      const xh = (x[o + j] - mu) * rs;
      const g = dy[o + j] * gamma[j];
      s1 += g;
      s2 += g * xh;
      dgamma[j] += dy[o + j] * xh;
      dbeta[j] += dy[o + j];
    }
    s1 /= d;
    s2 /= d;
    for (let j = 0; j < d; j++) {
      const xh = (x[o + j] - mu) * rs;
      const v = rs * (dy[o + j] * gamma[j] - s1 - xh * s2);
      if (accumulateDx) dx[o + j] += v;
      else dx[o + j] = v;
    }
  }
}

function gelu(x: F32, out: F32, n: number): void {
  for (let i = 0; i < n; i++) out[i] = geluScalar(x[i]);
}

function geluBackward(x: F32, dy: F32, dx: F32, n: number, accumulate: boolean): void {
  if (accumulate) for (let i = 0; i < n; i++) dx[i] += dy[i] * geluGradScalar(x[i]);
  else for (let i = 0; i < n; i++) dx[i] = dy[i] * geluGradScalar(x[i]);
}

function adamw(p: F32, g: F32, m: F32, v: F32, n: number, lr: number, beta1: number, beta2: number, eps: number, decay: number, bc1: number, bc2: number): void {
  const shrink = 1 - lr * decay;
  for (let i = 0; i < n; i++) {
    const gi = g[i];
    const mi = beta1 * m[i] + (1 - beta1) * gi;
    const vi = beta2 * v[i] + (1 - beta2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] = p[i] * shrink - (lr * (mi / bc1)) / (Math.sqrt(vi / bc2) + eps);
  }
}

function add(a: F32, b: F32, y: F32, n: number): void {
  for (let i = 0; i < n; i++) y[i] = a[i] + b[i];
}

function addBias(x: F32, bias: F32, y: F32, rows: number, m: number): void {
  for (let r = 0; r < rows; r++) for (let j = 0; j < m; j++) y[r * m + j] = x[r * m + j] + bias[j];
}

function sumRows(g: F32, rows: number, m: number, acc: F32): void {
  for (let r = 0; r < rows; r++) for (let j = 0; j < m; j++) acc[j] += g[r * m + j];
}

function accumulate(x: F32, y: F32, n: number, acc: boolean): void {
  if (acc) for (let i = 0; i < n; i++) y[i] += x[i];
  else y.set(x.subarray(0, n));
}

function relu(x: F32, y: F32, n: number): void {
  for (let i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : 0;
}

function reluBackward(y: F32, dy: F32, dx: F32, n: number, acc: boolean): void {
  if (acc) for (let i = 0; i < n; i++) dx[i] += y[i] > 0 ? dy[i] : 0;
  else for (let i = 0; i < n; i++) dx[i] = y[i] > 0 ? dy[i] : 0;
}

function tanh(x: F32, y: F32, n: number): void {
  for (let i = 0; i < n; i++) y[i] = Math.tanh(x[i]);
}

function tanhBackward(y: F32, dy: F32, dx: F32, n: number, acc: boolean): void {
  if (acc) for (let i = 0; i < n; i++) dx[i] += dy[i] * (1 - y[i] * y[i]);
  else for (let i = 0; i < n; i++) dx[i] = dy[i] * (1 - y[i] * y[i]);
}

export const referenceKernels: Kernels = {
  name: 'reference',
  gemm,
  attentionForward,
  attentionBackward,
  layerNormForward,
  layerNormBackward,
  gelu,
  geluBackward,
  add,
  addBias,
  sumRows,
  accumulate,
  adamw,
  relu,
  reluBackward,
  tanh,
  tanhBackward,
  scan,
};
