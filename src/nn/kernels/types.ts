/**
 * The compute kernels behind the ops. Two implementations exist: plain TypeScript (`reference`)
 * and AssemblyScript/WebAssembly SIMD (`wasm`, optionally on two threads). Every kernel takes
 * Float32Array views; offsets are applied by the caller with `subarray`.
 */
export type F32 = Float32Array;

export interface GemmArgs {
  /** A is M x K row-major, or K x M when transA */
  transA: boolean;
  /** B is K x N row-major, or N x K when transB */
  transB: boolean;
  M: number;
  N: number;
  K: number;
  a: F32;
  b: F32;
  /** C is M x N row-major */
  c: F32;
  /** C += A B instead of C = A B */
  accumulate: boolean;
  /** C = A B + bias (bias [N] added to every row; not with accumulate) */
  bias?: F32 | null;
  /** offset (elements) between the biases of consecutive batch items; 0 or absent shares one bias */
  strideBias?: number;
  /** number of independent products (batched matmul); strides in elements, 0 broadcasts */
  batch: number;
  strideA: number;
  strideB: number;
  strideC: number;
}

/** A [batch, rows, heads * headDim] operand of attention: element (b, t, h, d) = arr[b*batchStride + t*rowStride + h*hd + d]. */
export interface AttnOperand {
  arr: F32;
  rowStride: number;
  batchStride: number;
}

export interface AttnArgs {
  B: number;
  H: number;
  hd: number;
  /** query rows */
  Tq: number;
  /** key rows available; query i attends keys 0 .. qOffset + i */
  Tk: number;
  qOffset: number;
  scale: number;
  q: AttnOperand;
  k: AttnOperand;
  v: AttnOperand;
  out: AttnOperand;
  /** log-sum-exp of each attention row, [B, H, Tq] (written by forward, read by backward); null in inference */
  lse: F32 | null;
  /**
   * Sliding window (0 or absent: none): query i (key position qOffset + i) sees only the keys
   * j > qOffset + i - window, besides the first `sinks` keys, which every query sees.
   */
  window?: number;
  /** Leading keys visible to every query whatever the window (Sink-KV sink slots); default 0. */
  sinks?: number;
}

export interface AttnBackwardArgs extends AttnArgs {
  lse: F32;
  dout: AttnOperand;
  /** gradients, accumulated into */
  dq: AttnOperand;
  dk: AttnOperand;
  dv: AttnOperand;
}

/**
 * A diagonal linear recurrence over time for each (batch row, channel) pair, x and h [B, T, P]:
 * forward h_t = a_p m_t h_{t-1} + x_t, h_{-1} = h0 (zeros when null), with m_t = 1 - reset[b, t]
 * (1 when reset is null); reverse (the backward pass) g_t = a_p m_{t+1} g_{t+1} + x_t, g_T = h0
 * (zeros when null), m_T = 1.
 */
export interface ScanArgs {
  B: number;
  T: number;
  P: number;
  /** per-channel decay [P] */
  a: F32;
  x: F32;
  /** output, [B, T, P] */
  h: F32;
  /** [B, T] of 0 / 1, or null */
  reset: F32 | null;
  /** initial state [B, P], or null */
  h0: F32 | null;
  reverse: boolean;
}

export interface Kernels {
  readonly name: 'reference' | 'wasm';
  gemm(p: GemmArgs): void;
  attentionForward(p: AttnArgs): void;
  attentionBackward(p: AttnBackwardArgs): void;
  /** out = (x - mean) * rstd * gamma + beta per row of d; saves mean and rstd per row */
  layerNormForward(x: F32, gamma: F32, beta: F32, out: F32, mean: F32, rstd: F32, rows: number, d: number, eps: number): void;
  /** dx (+)= ..., dgamma += ..., dbeta += ... */
  layerNormBackward(dy: F32, x: F32, gamma: F32, mean: F32, rstd: F32, dx: F32, accumulateDx: boolean, dgamma: F32, dbeta: F32, rows: number, d: number): void;
  /** exact (erf) GELU */
  gelu(x: F32, out: F32, n: number): void;
  geluBackward(x: F32, dy: F32, dx: F32, n: number, accumulate: boolean): void;
  /** y = a + b (n elements) */
  add(a: F32, b: F32, y: F32, n: number): void;
  /** y[r, j] = x[r, j] + bias[j] for rows of m */
  addBias(x: F32, bias: F32, y: F32, rows: number, m: number): void;
  /** acc[j] += sum over rows r of g[r, j] */
  sumRows(g: F32, rows: number, m: number, acc: F32): void;
  /** y = x, or y += x when accumulate */
  accumulate(x: F32, y: F32, n: number, accumulate: boolean): void;
  /** y = max(x, 0) element-wise (NaN gives 0); y may be x */
  relu(x: F32, y: F32, n: number): void;
  /** dx (+)= dy where y > 0 (y: the ReLU's output), 0 elsewhere */
  reluBackward(y: F32, dy: F32, dx: F32, n: number, accumulate: boolean): void;
  /** y = tanh(x) element-wise (WebAssembly: 1 - 2 / (e^2x + 1), absolute error ~1e-7); y may be x */
  tanh(x: F32, y: F32, n: number): void;
  /** dx (+)= dy (1 - y^2) (y: the tanh's output) */
  tanhBackward(y: F32, dy: F32, dx: F32, n: number, accumulate: boolean): void;
  /** diagonal linear recurrence (see ScanArgs); WebAssembly: SIMD over channels, threads over channels or, when there are few, over time chunks (an associative scan) */
  scan(p: ScanArgs): void;
  /** AdamW update of one parameter tensor (bias corrections folded into lr / eps by the caller) */
  adamw(p: F32, g: F32, m: F32, v: F32, n: number, lr: number, beta1: number, beta2: number, eps: number, decay: number, bc1: number, bc2: number): void;
}
