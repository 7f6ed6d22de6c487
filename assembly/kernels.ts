// WebAssembly SIMD kernels of the neural engine (AssemblyScript, compiled by `npm run build:wasm`).
// Memory is imported and shared: the JavaScript side owns allocation (src/nn/memory.ts) and worker
// threads run the same kernels on disjoint slices of the same memory. All pointers are byte
// addresses; every matrix is row-major float32. The TypeScript reference of each kernel is in
// src/nn/kernels/reference.ts.

// --------------------------------------------------------------------------------------------
// helpers

/** first byte the JavaScript allocator may use */
export function heapBase(): usize {
  return __heap_base;
}

const LOG2E: f32 = 1.4426950408889634;
const LN2_HI: f32 = 0.693359375;
const LN2_LO: f32 = -2.12194440e-4;

/** e^x for each lane (relative error about 1e-7; lanes below -87 give ~0) */
// @ts-ignore: decorator
@inline
function vexp(x: v128): v128 {
  x = f32x4.max(x, f32x4.splat(-87.0));
  x = f32x4.min(x, f32x4.splat(88.0));
  const n = f32x4.nearest(f32x4.mul(x, f32x4.splat(LOG2E)));
  let r = f32x4.sub(x, f32x4.mul(n, f32x4.splat(LN2_HI)));
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(LN2_LO)));
  let p = f32x4.splat(1.0 / 720.0);
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.0 / 120.0));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.0 / 24.0));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.0 / 6.0));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(0.5));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.0));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.0));
  const e = i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(n), i32x4.splat(127)), 23);
  return f32x4.mul(p, e);
}

/** e^x for x <= 0 (degree-5 polynomial, relative error below 3e-6; below -87 gives ~0) */
// @ts-ignore: decorator
@inline
function vexpNeg(x: v128): v128 {
  x = f32x4.max(x, f32x4.splat(-87.0));
  const n = f32x4.nearest(f32x4.mul(x, f32x4.splat(LOG2E)));
  const r = f32x4.sub(x, f32x4.mul(n, f32x4.splat(0.6931471805599453)));
  let p = f32x4.splat(1.0 / 120.0);
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.0 / 24.0));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.0 / 6.0));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(0.5));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.0));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.0));
  const e = i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(n), i32x4.splat(127)), 23);
  return f32x4.mul(p, e);
}

// @ts-ignore: decorator
@inline
function hsum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
}

// @ts-ignore: decorator
@inline
function hmax(v: v128): f32 {
  return max(max(f32x4.extract_lane(v, 0), f32x4.extract_lane(v, 1)), max(f32x4.extract_lane(v, 2), f32x4.extract_lane(v, 3)));
}

// --------------------------------------------------------------------------------------------
// matrix multiply: C[M, N] (+)= A'[M, K] B'[K, N]
// A' (i, k) = a[i * rsA + k * csA] (any strides: plain or transposed A)
// B' (k, j) = b[k * ldb + j]      (rows contiguous; a transposed B is packed first)
// C  (i, j) = c[i * ldc + j]

const KC: i32 = 256;
const NC: i32 = 512;

/** dst[c, r] = src[r, c] for a rows x cols matrix (src row stride lds, dst row stride ldd) */
export function transpose(src: usize, rows: i32, cols: i32, lds: i32, dst: usize, ldd: i32): void {
  const B: i32 = 8;
  for (let r0 = 0; r0 < rows; r0 += B) {
    const r1 = min(r0 + B, rows);
    for (let c0 = 0; c0 < cols; c0 += B) {
      const c1 = min(c0 + B, cols);
      for (let r = r0; r < r1; r++)
        for (let c = c0; c < c1; c++) store<f32>(dst + ((<usize>c * ldd + r) << 2), load<f32>(src + ((<usize>r * lds + c) << 2)));
    }
  }
}

/** bias (0 for none) is added to every row of C; it is used only when not accumulating */
export function gemm(M: i32, N: i32, K: i32, a: usize, rsA: i32, csA: i32, b: usize, ldb: i32, c: usize, ldc: i32, accumulate: i32, bias: usize): void {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    if (!accumulate)
      for (let i = 0; i < M; i++) {
        if (bias) memory.copy(c + ((<usize>i * ldc) << 2), bias, <usize>N << 2);
        else memory.fill(c + ((<usize>i * ldc) << 2), 0, <usize>N << 2);
      }
    return;
  }
  for (let k0 = 0; k0 < K; k0 += KC) {
    const kc = min(KC, K - k0);
    const acc = accumulate != 0 || k0 > 0;
    for (let j0 = 0; j0 < N; j0 += NC) {
      const nc = min(NC, N - j0);
      const bj = !acc && bias ? bias + (<usize>j0 << 2) : 0;
      block(M, nc, kc, a + ((<usize>k0 * csA) << 2), rsA, csA, b + ((<usize>k0 * ldb + j0) << 2), ldb, c + (<usize>j0 << 2), ldc, acc, bj);
    }
  }
}

// @ts-ignore: decorator
@inline
function block(M: i32, N: i32, K: i32, a: usize, rsA: i32, csA: i32, b: usize, ldb: i32, c: usize, ldc: i32, acc: bool, bias: usize): void {
  const n8 = N & ~7;
  const m4 = M & ~3;
  const sA = <usize>csA << 2;
  const sB = <usize>ldb << 2;
  for (let i = 0; i < m4; i += 4) {
    const a0 = a + ((<usize>i * rsA) << 2);
    const a1 = a0 + (<usize>rsA << 2);
    const a2 = a1 + (<usize>rsA << 2);
    const a3 = a2 + (<usize>rsA << 2);
    for (let j = 0; j < n8; j += 8) {
      let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
      if (bias) {
        c00 = v128.load(bias + (<usize>j << 2));
        c01 = v128.load(bias + (<usize>j << 2), 16);
      }
      let c10 = c00, c11 = c01;
      let c20 = c00, c21 = c01;
      let c30 = c00, c31 = c01;
      let pb = b + (<usize>j << 2);
      let off: usize = 0;
      for (let k = 0; k < K; k++) {
        const b0 = v128.load(pb);
        const b1 = v128.load(pb, 16);
        let av = v128.load32_splat(a0 + off);
        c00 = f32x4.add(c00, f32x4.mul(av, b0));
        c01 = f32x4.add(c01, f32x4.mul(av, b1));
        av = v128.load32_splat(a1 + off);
        c10 = f32x4.add(c10, f32x4.mul(av, b0));
        c11 = f32x4.add(c11, f32x4.mul(av, b1));
        av = v128.load32_splat(a2 + off);
        c20 = f32x4.add(c20, f32x4.mul(av, b0));
        c21 = f32x4.add(c21, f32x4.mul(av, b1));
        av = v128.load32_splat(a3 + off);
        c30 = f32x4.add(c30, f32x4.mul(av, b0));
        c31 = f32x4.add(c31, f32x4.mul(av, b1));
        pb += sB;
        off += sA;
      }
      const pc = c + ((<usize>i * ldc + j) << 2);
      const lc = <usize>ldc << 2;
      if (acc) {
        c00 = f32x4.add(c00, v128.load(pc));
        c01 = f32x4.add(c01, v128.load(pc, 16));
        c10 = f32x4.add(c10, v128.load(pc + lc));
        c11 = f32x4.add(c11, v128.load(pc + lc, 16));
        c20 = f32x4.add(c20, v128.load(pc + 2 * lc));
        c21 = f32x4.add(c21, v128.load(pc + 2 * lc, 16));
        c30 = f32x4.add(c30, v128.load(pc + 3 * lc));
        c31 = f32x4.add(c31, v128.load(pc + 3 * lc, 16));
      }
      v128.store(pc, c00);
      v128.store(pc, c01, 16);
      v128.store(pc + lc, c10);
      v128.store(pc + lc, c11, 16);
      v128.store(pc + 2 * lc, c20);
      v128.store(pc + 2 * lc, c21, 16);
      v128.store(pc + 3 * lc, c30);
      v128.store(pc + 3 * lc, c31, 16);
    }
  }
  // remaining rows, 8 columns at a time
  for (let i = m4; i < M; i++) {
    const a0 = a + ((<usize>i * rsA) << 2);
    for (let j = 0; j < n8; j += 8) {
      let c0 = f32x4.splat(0), c1 = f32x4.splat(0);
      if (bias) {
        c0 = v128.load(bias + (<usize>j << 2));
        c1 = v128.load(bias + (<usize>j << 2), 16);
      }
      let pb = b + (<usize>j << 2);
      let off: usize = 0;
      for (let k = 0; k < K; k++) {
        const av = f32x4.splat(load<f32>(a0 + off));
        c0 = f32x4.add(c0, f32x4.mul(av, v128.load(pb)));
        c1 = f32x4.add(c1, f32x4.mul(av, v128.load(pb, 16)));
        pb += sB;
        off += sA;
      }
      const pc = c + ((<usize>i * ldc + j) << 2);
      if (acc) {
        c0 = f32x4.add(c0, v128.load(pc));
        c1 = f32x4.add(c1, v128.load(pc, 16));
      }
      v128.store(pc, c0);
      v128.store(pc, c1, 16);
    }
  }
  // remaining columns: 4 at a time, then one at a time
  let j = n8;
  if (N - j >= 4) {
    for (let i = 0; i < M; i++) {
      const a0 = a + ((<usize>i * rsA) << 2);
      let c0 = bias ? v128.load(bias + (<usize>j << 2)) : f32x4.splat(0);
      let pb = b + (<usize>j << 2);
      let off: usize = 0;
      for (let k = 0; k < K; k++) {
        c0 = f32x4.add(c0, f32x4.mul(f32x4.splat(load<f32>(a0 + off)), v128.load(pb)));
        pb += sB;
        off += sA;
      }
      const pc = c + ((<usize>i * ldc + j) << 2);
      if (acc) c0 = f32x4.add(c0, v128.load(pc));
      v128.store(pc, c0);
    }
    j += 4;
  }
  for (; j < N; j++) {
    for (let i = 0; i < M; i++) {
      const a0 = a + ((<usize>i * rsA) << 2);
      let s: f32 = bias ? load<f32>(bias + (<usize>j << 2)) : 0;
      let pb = b + (<usize>j << 2);
      let off: usize = 0;
      for (let k = 0; k < K; k++) {
        s += load<f32>(a0 + off) * load<f32>(pb);
        pb += sB;
        off += sA;
      }
      const pc = c + ((<usize>i * ldc + j) << 2);
      store<f32>(pc, acc ? load<f32>(pc) + s : s);
    }
  }
}

// --------------------------------------------------------------------------------------------
// fused causal attention, one (batch, head) unit per call range
//
// operands: element (b, t, h, d) of X is x + 4 * (b * xb + t * xr + h * hd + d)
// Each unit packs K and V of its head transposed ([hd, Tk8], zero-padded) into the thread's
// scratch, then walks the queries four rows at a time: the packed rows are loaded once per four
// queries, and the probabilities of those rows ([4, Tk8]) are the only part of the T x T matrix
// that ever exists. The backward pass recomputes them from q, k and the saved log-sum-exp.

const NEG: f32 = -3.0e38;

export function attnScratchFloats(hd: i32, Tk: i32): i32 {
  const Tk8 = (Tk + 7) & ~7;
  return 4 * hd * Tk8 + 8 * Tk8 + 4 * hd + 64;
}

/** packs the (b, h) slice of X [T rows, hd] transposed into dst [hd, Tk8], zero-padded */
// @ts-ignore: decorator
@inline
function packT(x: usize, xr: i32, T: i32, hd: i32, dst: usize, Tk8: i32): void {
  for (let t = 0; t < T; t++) {
    const src = x + ((<usize>t * xr) << 2);
    for (let d = 0; d < hd; d++) store<f32>(dst + ((<usize>d * Tk8 + t) << 2), load<f32>(src + (<usize>d << 2)));
  }
  for (let d = 0; d < hd; d++) for (let t = T; t < Tk8; t++) store<f32>(dst + ((<usize>d * Tk8 + t) << 2), 0);
}

/**
 * out[r, j] = scale * sum_d x_r[d] * mt[d, j] for four rows x_0..x_3 and j < n8 (multiple of 8);
 * out has row stride Tk8.
 */
// @ts-ignore: decorator
@inline
function rows4(x0: usize, x1: usize, x2: usize, x3: usize, hd: i32, mt: usize, Tk8: i32, n8: i32, scale: f32, out: usize, nmax8: i32, mx: usize): void {
  const rs = <usize>Tk8 << 2;
  const sc = f32x4.splat(scale);
  let m0 = f32x4.splat(NEG), m1 = f32x4.splat(NEG), m2 = f32x4.splat(NEG), m3 = f32x4.splat(NEG);
  for (let j = 0; j < n8; j += 8) {
    let a0 = f32x4.splat(0), b0 = f32x4.splat(0);
    let a1 = f32x4.splat(0), b1 = f32x4.splat(0);
    let a2 = f32x4.splat(0), b2 = f32x4.splat(0);
    let a3 = f32x4.splat(0), b3 = f32x4.splat(0);
    let p = mt + (<usize>j << 2);
    for (let d = 0; d < hd; d++) {
      const k0 = v128.load(p);
      const k1 = v128.load(p, 16);
      const od = <usize>d << 2;
      let qv = f32x4.splat(load<f32>(x0 + od));
      a0 = f32x4.add(a0, f32x4.mul(qv, k0));
      b0 = f32x4.add(b0, f32x4.mul(qv, k1));
      qv = f32x4.splat(load<f32>(x1 + od));
      a1 = f32x4.add(a1, f32x4.mul(qv, k0));
      b1 = f32x4.add(b1, f32x4.mul(qv, k1));
      qv = f32x4.splat(load<f32>(x2 + od));
      a2 = f32x4.add(a2, f32x4.mul(qv, k0));
      b2 = f32x4.add(b2, f32x4.mul(qv, k1));
      qv = f32x4.splat(load<f32>(x3 + od));
      a3 = f32x4.add(a3, f32x4.mul(qv, k0));
      b3 = f32x4.add(b3, f32x4.mul(qv, k1));
      p += rs;
    }
    const o = out + (<usize>j << 2);
    a0 = f32x4.mul(a0, sc);
    b0 = f32x4.mul(b0, sc);
    a1 = f32x4.mul(a1, sc);
    b1 = f32x4.mul(b1, sc);
    a2 = f32x4.mul(a2, sc);
    b2 = f32x4.mul(b2, sc);
    a3 = f32x4.mul(a3, sc);
    b3 = f32x4.mul(b3, sc);
    v128.store(o, a0);
    v128.store(o, b0, 16);
    v128.store(o + rs, a1);
    v128.store(o + rs, b1, 16);
    v128.store(o + 2 * rs, a2);
    v128.store(o + 2 * rs, b2, 16);
    v128.store(o + 3 * rs, a3);
    v128.store(o + 3 * rs, b3, 16);
    if (j < nmax8) {
      m0 = f32x4.max(m0, f32x4.max(a0, b0));
      m1 = f32x4.max(m1, f32x4.max(a1, b1));
      m2 = f32x4.max(m2, f32x4.max(a2, b2));
      m3 = f32x4.max(m3, f32x4.max(a3, b3));
    }
  }
  if (mx) {
    store<f32>(mx, hmax(m0));
    store<f32>(mx, hmax(m1), 4);
    store<f32>(mx, hmax(m2), 8);
    store<f32>(mx, hmax(m3), 12);
  }
}

/**
 * res_r[d] = sum_j P[r, j] * mt[d, j] for the four rows of P (row stride Tk8), j < n8;
 * res has row stride hd (4 x hd floats).
 */
// @ts-ignore: decorator
@inline
function rowsTimesT(P: usize, hd: i32, mt: usize, Tk8: i32, n8: i32, res: usize): void {
  const rs = <usize>Tk8 << 2;
  for (let d = 0; d < hd; d++) {
    const m = mt + <usize>d * rs;
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
    for (let j = 0; j < n8; j += 4) {
      const o = <usize>j << 2;
      const mv = v128.load(m + o);
      a0 = f32x4.add(a0, f32x4.mul(v128.load(P + o), mv));
      a1 = f32x4.add(a1, f32x4.mul(v128.load(P + rs + o), mv));
      a2 = f32x4.add(a2, f32x4.mul(v128.load(P + 2 * rs + o), mv));
      a3 = f32x4.add(a3, f32x4.mul(v128.load(P + 3 * rs + o), mv));
    }
    const od = <usize>d << 2;
    const hs = <usize>hd << 2;
    store<f32>(res + od, hsum(a0));
    store<f32>(res + hs + od, hsum(a1));
    store<f32>(res + 2 * hs + od, hsum(a2));
    store<f32>(res + 3 * hs + od, hsum(a3));
  }
}

/**
 * Forward over units [u0, u1) of the B * H (batch, head) pairs. lse (may be 0) gets the
 * log-sum-exp of each row, [B, H, Tq].
 */
/**
 * Attention of one query row over n keys: scores q.k_j (SIMD over the head dimension), a softmax
 * with the same exponential as the blocked path, then o = sum_j p_j v_j / l. P holds n floats.
 */
function attnDecodeRow(
  qp: usize, kp: usize, kr: i32, vp: usize, vr: i32, n1: i32, j2: i32, n2: i32, hd: i32, scale: f32, P: usize, op: usize, lse: usize,
): void {
  // keys [0, n1) and [j2, j2 + n2) (two ranges when a sliding window leaves a gap after the sinks)
  const n = n1 + n2;
  const hd4 = hd & ~3;
  let m: f32 = -Infinity;
  for (let jj = 0; jj < n; jj++) {
    const j = jj < n1 ? jj : j2 + jj - n1;
    const kj = kp + ((<usize>j * kr) << 2);
    let acc = f32x4.splat(0);
    let d = 0;
    for (; d < hd4; d += 4) acc = f32x4.add(acc, f32x4.mul(v128.load(qp + (<usize>d << 2)), v128.load(kj + (<usize>d << 2))));
    let sc = hsum(acc);
    for (; d < hd; d++) sc += load<f32>(qp + (<usize>d << 2)) * load<f32>(kj + (<usize>d << 2));
    sc *= scale;
    store<f32>(P + (<usize>jj << 2), sc);
    m = max(m, sc);
  }
  const msplat = f32x4.splat(m);
  let lv = f32x4.splat(0);
  const n4 = n & ~3;
  let j = 0;
  for (; j < n4; j += 4) {
    const pp = P + (<usize>j << 2);
    const e = vexpNeg(f32x4.sub(v128.load(pp), msplat));
    v128.store(pp, e);
    lv = f32x4.add(lv, e);
  }
  let l = hsum(lv);
  for (; j < n; j++) {
    const pp = P + (<usize>j << 2);
    const e = <f32>Math.exp(<f64>(load<f32>(pp) - m));
    store<f32>(pp, e);
    l += e;
  }
  for (let d = 0; d < hd; d++) store<f32>(op + (<usize>d << 2), 0);
  for (let jj = 0; jj < n; jj++) {
    const pj = load<f32>(P + (<usize>jj << 2));
    const ps = f32x4.splat(pj);
    const vj = vp + ((<usize>(jj < n1 ? jj : j2 + jj - n1) * vr) << 2);
    let d = 0;
    for (; d < hd4; d += 4) {
      const od = op + (<usize>d << 2);
      v128.store(od, f32x4.add(v128.load(od), f32x4.mul(ps, v128.load(vj + (<usize>d << 2)))));
    }
    for (; d < hd; d++) {
      const od = op + (<usize>d << 2);
      store<f32>(od, load<f32>(od) + pj * load<f32>(vj + (<usize>d << 2)));
    }
  }
  const w: f32 = <f32>1.0 / l;
  for (let d = 0; d < hd; d++) {
    const od = op + (<usize>d << 2);
    store<f32>(od, load<f32>(od) * w);
  }
  if (lse) store<f32>(lse, m + <f32>Math.log(<f64>l));
}

export function attnForward(
  u0: i32, u1: i32, H: i32, hd: i32, Tq: i32, Tk: i32, qOffset: i32, scale: f32,
  q: usize, qr: i32, qb: i32, k: usize, kr: i32, kb: i32, v: usize, vr: i32, vb: i32,
  o: usize, or: i32, ob: i32, lse: usize, win: i32, sinks: i32, scratch: usize,
): void {
  const Tk8 = (Tk + 7) & ~7;
  const rs = <usize>Tk8 << 2;
  const kt = scratch;
  const vt = kt + <usize>hd * rs;
  const P = vt + <usize>hd * rs;
  const res = P + 4 * rs;
  const mx = res + ((<usize>4 * hd) << 2);
  const inv = mx + 16;
  if (Tq == 1) {
    // One query row per unit (step-by-step decoding with a KV cache): read the keys and values
    // where they lie instead of transposing the whole cache for a single row.
    for (let u = u0; u < u1; u++) {
      const b = u / H;
      const h = u - b * H;
      const hoff = <usize>(h * hd) << 2;
      const n = min(Tk, qOffset + 1);
      let n1 = n;
      let j2 = n;
      if (win > 0) {
        n1 = min(sinks, n);
        j2 = max(n1, qOffset + 1 - win);
      }
      attnDecodeRow(
        q + ((<usize>b * qb) << 2) + hoff,
        k + ((<usize>b * kb) << 2) + hoff, kr,
        v + ((<usize>b * vb) << 2) + hoff, vr,
        n1, j2, n - j2, hd, scale, scratch,
        o + ((<usize>b * ob) << 2) + hoff,
        lse ? lse + (<usize>u << 2) : 0,
      );
    }
    return;
  }
  for (let u = u0; u < u1; u++) {
    const b = u / H;
    const h = u - b * H;
    const hoff = <usize>(h * hd) << 2;
    packT(k + ((<usize>b * kb) << 2) + hoff, kr, Tk, hd, kt, Tk8);
    packT(v + ((<usize>b * vb) << 2) + hoff, vr, Tk, hd, vt, Tk8);
    const qbase = q + ((<usize>b * qb) << 2) + hoff;
    for (let i0 = 0; i0 < Tq; i0 += 4) {
      const rc = min(4, Tq - i0);
      const q0 = qbase + ((<usize>i0 * qr) << 2);
      const q1 = rc > 1 ? q0 + (<usize>qr << 2) : q0;
      const q2 = rc > 2 ? q0 + (<usize>(2 * qr) << 2) : q0;
      const q3 = rc > 3 ? q0 + (<usize>(3 * qr) << 2) : q0;
      const n = min(Tk, qOffset + i0 + rc);
      const n8 = (n + 7) & ~7;
      // blocks of 8 keys that every row of the block may see: their max comes from rows4
      const nfull8 = min(Tk, qOffset + i0 + 1) & ~7;
      // with a sliding window the key blocks [e0, j0) are masked for all four rows: skipped
      let e0 = n8;
      let j0 = n8;
      if (win > 0) {
        e0 = min(n8, (sinks + 7) & ~7);
        const lo0 = qOffset + i0 + 1 - win;
        j0 = max(e0, lo0 > 0 ? lo0 & ~7 : 0);
        if (e0 > 0) rows4(q0, q1, q2, q3, hd, kt, Tk8, e0, scale, P, 0, 0);
        if (j0 < n8) rows4(q0, q1, q2, q3, hd, kt + (<usize>j0 << 2), Tk8, n8 - j0, scale, P + (<usize>j0 << 2), 0, 0);
      } else rows4(q0, q1, q2, q3, hd, kt, Tk8, n8, scale, P, nfull8, mx);
      for (let r = 0; r < 4; r++) {
        const row = P + <usize>r * rs;
        const nr = r < rc ? min(Tk, qOffset + i0 + r + 1) : 0;
        if (nr == 0) {
          memory.fill(row, 0, <usize>n8 << 2);
          continue;
        }
        if (win > 0) {
          // sliding window: keys [sinks, lo) are masked; the row max is taken over visible keys only
          const lo = qOffset + i0 + r + 1 - win;
          let mw: f32 = NEG;
          for (let sg = 0; sg < 2; sg++)
            for (let j = sg == 0 ? 0 : j0; j < (sg == 0 ? min(e0, nr) : nr); j++) if (j < sinks || j >= lo) mw = max(mw, load<f32>(row + (<usize>j << 2)));
          const ms = f32x4.splat(mw);
          let lw: f32 = 0;
          for (let sg = 0; sg < 2; sg++)
            for (let j = sg == 0 ? 0 : j0; j < (sg == 0 ? e0 : n8); j++) {
              const pp = row + (<usize>j << 2);
              if (j < nr && (j < sinks || j >= lo)) {
                const e = f32x4.extract_lane(vexpNeg(f32x4.sub(f32x4.splat(load<f32>(pp)), ms)), 0);
                store<f32>(pp, e);
                lw += e;
              } else store<f32>(pp, 0);
            }
          store<f32>(inv + (<usize>r << 2), <f32>1.0 / lw);
          if (lse) store<f32>(lse + ((<usize>(u * Tq + i0 + r)) << 2), mw + <f32>Math.log(<f64>lw));
          continue;
        }
        let m = load<f32>(mx + (<usize>r << 2));
        for (let j = nfull8; j < nr; j++) m = max(m, load<f32>(row + (<usize>j << 2)));
        const msplat = f32x4.splat(m);
        let lv = f32x4.splat(0);
        const nr4 = nr & ~3;
        let j = 0;
        for (; j < nr4; j += 4) {
          const pp = row + (<usize>j << 2);
          const e = vexpNeg(f32x4.sub(v128.load(pp), msplat));
          v128.store(pp, e);
          lv = f32x4.add(lv, e);
        }
        let l = hsum(lv);
        for (; j < nr; j++) {
          const pp = row + (<usize>j << 2);
          const e = <f32>Math.exp(<f64>(load<f32>(pp) - m));
          store<f32>(pp, e);
          l += e;
        }
        for (j = nr; j < n8; j++) store<f32>(row + (<usize>j << 2), 0);
        store<f32>(inv + (<usize>r << 2), <f32>1.0 / l);
        if (lse) store<f32>(lse + ((<usize>(u * Tq + i0 + r)) << 2), m + <f32>Math.log(<f64>l));
      }
      if (win > 0) {
        // the two visible key ranges, summed
        const res2 = inv + 16;
        const hd4 = <usize>(4 * hd);
        if (e0 > 0) rowsTimesT(P, hd, vt, Tk8, e0, res);
        else memory.fill(res, 0, hd4 << 2);
        if (j0 < n8) {
          rowsTimesT(P + (<usize>j0 << 2), hd, vt + (<usize>j0 << 2), Tk8, n8 - j0, res2);
          for (let i: usize = 0; i < hd4; i++) store<f32>(res + (i << 2), load<f32>(res + (i << 2)) + load<f32>(res2 + (i << 2)));
        }
      } else rowsTimesT(P, hd, vt, Tk8, n8, res);
      for (let r = 0; r < rc; r++) {
        const oi = o + ((<usize>b * ob + <usize>(i0 + r) * or) << 2) + hoff;
        const rr = res + ((<usize>(r * hd)) << 2);
        const w = load<f32>(inv + (<usize>r << 2));
        for (let d = 0; d < hd; d++) store<f32>(oi + (<usize>d << 2), load<f32>(rr + (<usize>d << 2)) * w);
      }
    }
  }
}

/**
 * Backward over units [u0, u1): recomputes the probabilities from q, k and lse, then
 * dq += scale * dS k, dk += scale * dS^T q, dv += P^T dO with dS = P * (dO v^T - rowsum(dO * O)).
 */
export function attnBackward(
  u0: i32, u1: i32, H: i32, hd: i32, Tq: i32, Tk: i32, qOffset: i32, scale: f32,
  q: usize, qr: i32, qb: i32, k: usize, kr: i32, kb: i32, v: usize, vr: i32, vb: i32,
  o: usize, or: i32, ob: i32, lse: usize,
  dO: usize, dor: i32, dob: i32, dq: usize, dqr: i32, dqb: i32, dk: usize, dkr: i32, dkb: i32, dv: usize, dvr: i32, dvb: i32,
  win: i32, sinks: i32, scratch: usize,
): void {
  const Tk8 = (Tk + 7) & ~7;
  const rs = <usize>Tk8 << 2;
  const kt = scratch;
  const vt = kt + <usize>hd * rs;
  const dkt = vt + <usize>hd * rs;
  const dvt = dkt + <usize>hd * rs;
  const P = dvt + <usize>hd * rs;
  const S = P + 4 * rs;
  const res = S + 4 * rs;
  for (let u = u0; u < u1; u++) {
    const b = u / H;
    const h = u - b * H;
    const hoff = <usize>(h * hd) << 2;
    packT(k + ((<usize>b * kb) << 2) + hoff, kr, Tk, hd, kt, Tk8);
    packT(v + ((<usize>b * vb) << 2) + hoff, vr, Tk, hd, vt, Tk8);
    memory.fill(dkt, 0, <usize>2 * hd * rs);
    const qbase = q + ((<usize>b * qb) << 2) + hoff;
    const gbase = dO + ((<usize>b * dob) << 2) + hoff;
    for (let i0 = 0; i0 < Tq; i0 += 4) {
      const rc = min(4, Tq - i0);
      const q0 = qbase + ((<usize>i0 * qr) << 2);
      const q1 = rc > 1 ? q0 + (<usize>qr << 2) : q0;
      const q2 = rc > 2 ? q0 + (<usize>(2 * qr) << 2) : q0;
      const q3 = rc > 3 ? q0 + (<usize>(3 * qr) << 2) : q0;
      const g0 = gbase + ((<usize>i0 * dor) << 2);
      const g1 = rc > 1 ? g0 + (<usize>dor << 2) : g0;
      const g2 = rc > 2 ? g0 + (<usize>(2 * dor) << 2) : g0;
      const g3 = rc > 3 ? g0 + (<usize>(3 * dor) << 2) : g0;
      const n = min(Tk, qOffset + i0 + rc);
      const n8 = (n + 7) & ~7;
      // P = exp(scores - lse), masked; S = dO V^T
      // with a sliding window the key blocks [e0, j0) are masked for all four rows: skipped
      let e0 = n8;
      let j0 = n8;
      if (win > 0) {
        e0 = min(n8, (sinks + 7) & ~7);
        const lo0 = qOffset + i0 + 1 - win;
        j0 = max(e0, lo0 > 0 ? lo0 & ~7 : 0);
        if (e0 > 0) {
          rows4(q0, q1, q2, q3, hd, kt, Tk8, e0, scale, P, 0, 0);
          rows4(g0, g1, g2, g3, hd, vt, Tk8, e0, 1.0, S, 0, 0);
        }
        if (j0 < n8) {
          const jo = <usize>j0 << 2;
          rows4(q0, q1, q2, q3, hd, kt + jo, Tk8, n8 - j0, scale, P + jo, 0, 0);
          rows4(g0, g1, g2, g3, hd, vt + jo, Tk8, n8 - j0, 1.0, S + jo, 0, 0);
        }
      } else {
        rows4(q0, q1, q2, q3, hd, kt, Tk8, n8, scale, P, 0, 0);
        rows4(g0, g1, g2, g3, hd, vt, Tk8, n8, 1.0, S, 0, 0);
      }
      for (let r = 0; r < 4; r++) {
        const prow = P + <usize>r * rs;
        const srow = S + <usize>r * rs;
        const nr = r < rc ? min(Tk, qOffset + i0 + r + 1) : 0;
        if (nr == 0) {
          memory.fill(prow, 0, <usize>n8 << 2);
          memory.fill(srow, 0, <usize>n8 << 2);
          continue;
        }
        const i = i0 + r;
        const L = f32x4.splat(load<f32>(lse + ((<usize>(u * Tq + i)) << 2)));
        const oi = o + ((<usize>b * ob + <usize>i * or) << 2) + hoff;
        const gi = gbase + ((<usize>i * dor) << 2);
        let D: f32 = 0;
        for (let d = 0; d < hd; d++) D += load<f32>(gi + (<usize>d << 2)) * load<f32>(oi + (<usize>d << 2));
        const Ds = f32x4.splat(D);
        const sc = f32x4.splat(scale);
        for (let sg = 0; sg < 2; sg++)
          for (let j = sg == 0 ? 0 : j0; j < (sg == 0 ? e0 : n8); j += 4) {
            const oj = <usize>j << 2;
            const p = vexpNeg(f32x4.sub(v128.load(prow + oj), L));
            v128.store(prow + oj, p);
            // dS = P * (dP - D) * scale, over S
            v128.store(srow + oj, f32x4.mul(f32x4.mul(p, f32x4.sub(v128.load(srow + oj), Ds)), sc));
          }
        for (let j = nr; j < n8; j++) {
          store<f32>(prow + (<usize>j << 2), 0);
          store<f32>(srow + (<usize>j << 2), 0);
        }
        if (win > 0) {
          const lo = min(nr, i + qOffset + 1 - win);
          for (let sg = 0; sg < 2; sg++)
            for (let j = sg == 0 ? sinks : max(sinks, j0); j < (sg == 0 ? min(lo, e0) : lo); j++) {
              store<f32>(prow + (<usize>j << 2), 0);
              store<f32>(srow + (<usize>j << 2), 0);
            }
        }
      }
      // dv^T[d, j] += sum_r P[r, j] dO_r[d]
      for (let d = 0; d < hd; d++) {
        const od = <usize>d << 2;
        const go0 = f32x4.splat(load<f32>(g0 + od)), go1 = f32x4.splat(load<f32>(g1 + od));
        const go2 = f32x4.splat(load<f32>(g2 + od)), go3 = f32x4.splat(load<f32>(g3 + od));
        const dvrow = dvt + <usize>d * rs;
        for (let sg = 0; sg < 2; sg++)
          for (let j = sg == 0 ? 0 : j0; j < (sg == 0 ? e0 : n8); j += 4) {
            const oj = <usize>j << 2;
            let acc = v128.load(dvrow + oj);
            acc = f32x4.add(acc, f32x4.mul(v128.load(P + oj), go0));
            acc = f32x4.add(acc, f32x4.mul(v128.load(P + rs + oj), go1));
            acc = f32x4.add(acc, f32x4.mul(v128.load(P + 2 * rs + oj), go2));
            acc = f32x4.add(acc, f32x4.mul(v128.load(P + 3 * rs + oj), go3));
            v128.store(dvrow + oj, acc);
          }
      }
      // dk^T[d, j] += sum_r dS[r, j] q_r[d] and dq_r[d] += sum_j dS[r, j] k[j, d], in one pass
      for (let d = 0; d < hd; d++) {
        const od = <usize>d << 2;
        const qd0 = f32x4.splat(load<f32>(q0 + od)), qd1 = f32x4.splat(load<f32>(q1 + od));
        const qd2 = f32x4.splat(load<f32>(q2 + od)), qd3 = f32x4.splat(load<f32>(q3 + od));
        const krow = kt + <usize>d * rs;
        const dkrow = dkt + <usize>d * rs;
        let e0v = f32x4.splat(0), e1 = f32x4.splat(0), e2 = f32x4.splat(0), e3 = f32x4.splat(0);
        for (let sg = 0; sg < 2; sg++)
        for (let j = sg == 0 ? 0 : j0; j < (sg == 0 ? e0 : n8); j += 4) {
          const oj = <usize>j << 2;
          const kv = v128.load(krow + oj);
          const s0 = v128.load(S + oj);
          const s1 = v128.load(S + rs + oj);
          const s2 = v128.load(S + 2 * rs + oj);
          const s3 = v128.load(S + 3 * rs + oj);
          let acck = v128.load(dkrow + oj);
          acck = f32x4.add(acck, f32x4.mul(s0, qd0));
          acck = f32x4.add(acck, f32x4.mul(s1, qd1));
          acck = f32x4.add(acck, f32x4.mul(s2, qd2));
          acck = f32x4.add(acck, f32x4.mul(s3, qd3));
          v128.store(dkrow + oj, acck);
          e0v = f32x4.add(e0v, f32x4.mul(s0, kv));
          e1 = f32x4.add(e1, f32x4.mul(s1, kv));
          e2 = f32x4.add(e2, f32x4.mul(s2, kv));
          e3 = f32x4.add(e3, f32x4.mul(s3, kv));
        }
        const hs = <usize>hd << 2;
        store<f32>(res + od, hsum(e0v));
        store<f32>(res + hs + od, hsum(e1));
        store<f32>(res + 2 * hs + od, hsum(e2));
        store<f32>(res + 3 * hs + od, hsum(e3));
      }
      for (let r = 0; r < rc; r++) {
        const dqi = dq + ((<usize>b * dqb + <usize>(i0 + r) * dqr) << 2) + hoff;
        const rr = res + ((<usize>(r * hd)) << 2);
        for (let d = 0; d < hd; d++) {
          const od = <usize>d << 2;
          store<f32>(dqi + od, load<f32>(dqi + od) + load<f32>(rr + od));
        }
      }
    }
    // unpack dk, dv (accumulate)
    for (let t = 0; t < Tk; t++) {
      const pk = dk + ((<usize>b * dkb + <usize>t * dkr) << 2) + hoff;
      const pv = dv + ((<usize>b * dvb + <usize>t * dvr) << 2) + hoff;
      for (let d = 0; d < hd; d++) {
        const od = <usize>d << 2;
        store<f32>(pk + od, load<f32>(pk + od) + load<f32>(dkt + <usize>d * rs + (<usize>t << 2)));
        store<f32>(pv + od, load<f32>(pv + od) + load<f32>(dvt + <usize>d * rs + (<usize>t << 2)));
      }
    }
  }
}

// --------------------------------------------------------------------------------------------
// layer norm over rows of d

export function layerNormForward(x: usize, gamma: usize, beta: usize, out: usize, mean: usize, rstd: usize, r0: i32, r1: i32, d: i32, eps: f32): void {
  const d4 = d & ~3;
  const inv: f32 = 1.0 / <f32>d;
  for (let r = r0; r < r1; r++) {
    const xr = x + ((<usize>r * d) << 2);
    const yr = out + ((<usize>r * d) << 2);
    let sv = f32x4.splat(0);
    let j = 0;
    for (; j < d4; j += 4) sv = f32x4.add(sv, v128.load(xr + (<usize>j << 2)));
    let s = hsum(sv);
    for (; j < d; j++) s += load<f32>(xr + (<usize>j << 2));
    const mu = s * inv;
    const muv = f32x4.splat(mu);
    let qv = f32x4.splat(0);
    j = 0;
    for (; j < d4; j += 4) {
      const c = f32x4.sub(v128.load(xr + (<usize>j << 2)), muv);
      qv = f32x4.add(qv, f32x4.mul(c, c));
    }
    let qs = hsum(qv);
    for (; j < d; j++) {
      const c = load<f32>(xr + (<usize>j << 2)) - mu;
      qs += c * c;
    }
    const rs: f32 = <f32>(1.0 / Math.sqrt(<f64>(qs * inv + eps)));
    store<f32>(mean + (<usize>r << 2), mu);
    store<f32>(rstd + (<usize>r << 2), rs);
    const rsv = f32x4.splat(rs);
    j = 0;
    for (; j < d4; j += 4) {
      const o = <usize>j << 2;
      const xh = f32x4.mul(f32x4.sub(v128.load(xr + o), muv), rsv);
      v128.store(yr + o, f32x4.add(f32x4.mul(xh, v128.load(gamma + o)), v128.load(beta + o)));
    }
    for (; j < d; j++) {
      const o = <usize>j << 2;
      store<f32>(yr + o, (load<f32>(xr + o) - mu) * rs * load<f32>(gamma + o) + load<f32>(beta + o));
    }
  }
}

/** dx (+)= ...; dgamma, dbeta += ... (the caller gives each thread its own dgamma/dbeta) */
export function layerNormBackward(dy: usize, x: usize, gamma: usize, mean: usize, rstd: usize, dx: usize, accumulate: i32, dgamma: usize, dbeta: usize, r0: i32, r1: i32, d: i32): void {
  const inv: f32 = 1.0 / <f32>d;
  const d4 = d & ~3;
  for (let r = r0; r < r1; r++) {
    const o0 = (<usize>r * d) << 2;
    const mu = f32x4.splat(load<f32>(mean + (<usize>r << 2)));
    const rsS = load<f32>(rstd + (<usize>r << 2));
    const rs = f32x4.splat(rsS);
    let s1v = f32x4.splat(0), s2v = f32x4.splat(0);
    let j = 0;
    for (; j < d4; j += 4) {
      const o = <usize>j << 2;
      const xh = f32x4.mul(f32x4.sub(v128.load(x + o0 + o), mu), rs);
      const g = v128.load(dy + o0 + o);
      const gg = f32x4.mul(g, v128.load(gamma + o));
      s1v = f32x4.add(s1v, gg);
      s2v = f32x4.add(s2v, f32x4.mul(gg, xh));
      v128.store(dgamma + o, f32x4.add(v128.load(dgamma + o), f32x4.mul(g, xh)));
      v128.store(dbeta + o, f32x4.add(v128.load(dbeta + o), g));
    }
    let s1 = hsum(s1v), s2 = hsum(s2v);
    const muS = load<f32>(mean + (<usize>r << 2));
    for (; j < d; j++) {
      const o = <usize>j << 2;
      const xh = (load<f32>(x + o0 + o) - muS) * rsS;
      const g = load<f32>(dy + o0 + o);
      const gg = g * load<f32>(gamma + o);
      s1 += gg;
      s2 += gg * xh;
      store<f32>(dgamma + o, load<f32>(dgamma + o) + g * xh);
      store<f32>(dbeta + o, load<f32>(dbeta + o) + g);
    }
    s1 *= inv;
    s2 *= inv;
    const s1s = f32x4.splat(s1), s2s = f32x4.splat(s2);
    j = 0;
    for (; j < d4; j += 4) {
      const o = <usize>j << 2;
      const xh = f32x4.mul(f32x4.sub(v128.load(x + o0 + o), mu), rs);
      const gg = f32x4.mul(v128.load(dy + o0 + o), v128.load(gamma + o));
      let val = f32x4.mul(rs, f32x4.sub(f32x4.sub(gg, s1s), f32x4.mul(xh, s2s)));
      if (accumulate) val = f32x4.add(val, v128.load(dx + o0 + o));
      v128.store(dx + o0 + o, val);
    }
    for (; j < d; j++) {
      const o = <usize>j << 2;
      const xh = (load<f32>(x + o0 + o) - muS) * rsS;
      const gg = load<f32>(dy + o0 + o) * load<f32>(gamma + o);
      let val = rsS * (gg - s1 - xh * s2);
      if (accumulate) val += load<f32>(dx + o0 + o);
      store<f32>(dx + o0 + o, val);
    }
  }
}

// --------------------------------------------------------------------------------------------
// GELU (erf form; erf by Abramowitz-Stegun 7.1.26)

// @ts-ignore: decorator
@inline
function verf(x: v128): v128 {
  const ax = f32x4.abs(x);
  const t = f32x4.div(f32x4.splat(1.0), f32x4.add(f32x4.splat(1.0), f32x4.mul(f32x4.splat(0.3275911), ax)));
  let y = f32x4.splat(1.061405429);
  y = f32x4.add(f32x4.mul(y, t), f32x4.splat(-1.453152027));
  y = f32x4.add(f32x4.mul(y, t), f32x4.splat(1.421413741));
  y = f32x4.add(f32x4.mul(y, t), f32x4.splat(-0.284496736));
  y = f32x4.add(f32x4.mul(y, t), f32x4.splat(0.254829592));
  y = f32x4.mul(y, t);
  const e = vexpNeg(f32x4.neg(f32x4.mul(ax, ax)));
  const r = f32x4.sub(f32x4.splat(1.0), f32x4.mul(y, e));
  // copy the sign of x
  return v128.or(v128.and(r, i32x4.splat(0x7fffffff)), v128.and(x, i32x4.splat(0x80000000)));
}

function erfScalar(x: f32): f32 {
  const s: f32 = x < 0 ? -1 : 1;
  const a = abs<f32>(x);
  const t: f32 = 1.0 / (1.0 + 0.3275911 * a);
  const y: f32 = 1.0 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * <f32>Math.exp(<f64>(-a * a));
  return s * y;
}

export function gelu(x: usize, out: usize, n: i32): void {
  const n4 = n & ~3;
  const half = f32x4.splat(0.5), one = f32x4.splat(1.0), isq = f32x4.splat(0.7071067811865476);
  let i = 0;
  for (; i < n4; i += 4) {
    const o = <usize>i << 2;
    const xv = v128.load(x + o);
    v128.store(out + o, f32x4.mul(f32x4.mul(half, xv), f32x4.add(one, verf(f32x4.mul(xv, isq)))));
  }
  for (; i < n; i++) {
    const v = load<f32>(x + (<usize>i << 2));
    store<f32>(out + (<usize>i << 2), 0.5 * v * (1.0 + erfScalar(v * 0.7071067811865476)));
  }
}

export function geluBackward(x: usize, dy: usize, dx: usize, n: i32, accumulate: i32): void {
  const n4 = n & ~3;
  const half = f32x4.splat(0.5), one = f32x4.splat(1.0), isq = f32x4.splat(0.7071067811865476);
  const c = f32x4.splat(0.3989422804014327);
  let i = 0;
  for (; i < n4; i += 4) {
    const o = <usize>i << 2;
    const xv = v128.load(x + o);
    const cdf = f32x4.mul(half, f32x4.add(one, verf(f32x4.mul(xv, isq))));
    const pdf = f32x4.mul(c, vexpNeg(f32x4.mul(f32x4.splat(-0.5), f32x4.mul(xv, xv))));
    let g = f32x4.mul(v128.load(dy + o), f32x4.add(cdf, f32x4.mul(xv, pdf)));
    if (accumulate) g = f32x4.add(g, v128.load(dx + o));
    v128.store(dx + o, g);
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const v = load<f32>(x + o);
    const cdf: f32 = 0.5 * (1.0 + erfScalar(v * 0.7071067811865476));
    const pdf: f32 = 0.3989422804014327 * <f32>Math.exp(<f64>(-0.5 * v * v));
    let g = load<f32>(dy + o) * (cdf + v * pdf);
    if (accumulate) g += load<f32>(dx + o);
    store<f32>(dx + o, g);
  }
}

// --------------------------------------------------------------------------------------------
// AdamW

export function adamw(p: usize, g: usize, m: usize, v: usize, n: i32, lr: f32, beta1: f32, beta2: f32, eps: f32, decay: f32, bc1: f32, bc2: f32): void {
  const shrink = f32x4.splat(1.0 - lr * decay);
  const b1 = f32x4.splat(beta1), b2 = f32x4.splat(beta2);
  const c1 = f32x4.splat(1.0 - beta1), c2 = f32x4.splat(1.0 - beta2);
  const ib1 = f32x4.splat(1.0 / bc1), ib2 = f32x4.splat(1.0 / bc2);
  const lrv = f32x4.splat(lr), ev = f32x4.splat(eps);
  const n4 = n & ~3;
  let i = 0;
  for (; i < n4; i += 4) {
    const o = <usize>i << 2;
    const gi = v128.load(g + o);
    const mi = f32x4.add(f32x4.mul(b1, v128.load(m + o)), f32x4.mul(c1, gi));
    const vi = f32x4.add(f32x4.mul(b2, v128.load(v + o)), f32x4.mul(c2, f32x4.mul(gi, gi)));
    v128.store(m + o, mi);
    v128.store(v + o, vi);
    const upd = f32x4.div(f32x4.mul(lrv, f32x4.mul(mi, ib1)), f32x4.add(f32x4.sqrt(f32x4.mul(vi, ib2)), ev));
    v128.store(p + o, f32x4.sub(f32x4.mul(v128.load(p + o), shrink), upd));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const gi = load<f32>(g + o);
    const mi = beta1 * load<f32>(m + o) + (1 - beta1) * gi;
    const vi = beta2 * load<f32>(v + o) + (1 - beta2) * gi * gi;
    store<f32>(m + o, mi);
    store<f32>(v + o, vi);
    store<f32>(p + o, load<f32>(p + o) * (1 - lr * decay) - (lr * (mi / bc1)) / (<f32>Math.sqrt(<f64>(vi / bc2)) + eps));
  }
}

// --------------------------------------------------------------------------------------------
// element-wise helpers used by the ops

/** y[i] = a[i] + b[i] */
export function addv(a: usize, b: usize, y: usize, n: i32): void {
  const n4 = n & ~3;
  let i = 0;
  for (; i < n4; i += 4) {
    const o = <usize>i << 2;
    v128.store(y + o, f32x4.add(v128.load(a + o), v128.load(b + o)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(y + o, load<f32>(a + o) + load<f32>(b + o));
  }
}

/** y[r, j] = x[r, j] + bias[j] for rows of m */
export function addBiasRows(x: usize, bias: usize, y: usize, rows: i32, m: i32): void {
  const m4 = m & ~3;
  for (let r = 0; r < rows; r++) {
    const o0 = (<usize>r * m) << 2;
    let j = 0;
    for (; j < m4; j += 4) {
      const o = <usize>j << 2;
      v128.store(y + o0 + o, f32x4.add(v128.load(x + o0 + o), v128.load(bias + o)));
    }
    for (; j < m; j++) {
      const o = <usize>j << 2;
      store<f32>(y + o0 + o, load<f32>(x + o0 + o) + load<f32>(bias + o));
    }
  }
}

/** acc[j] += sum_r g[r, j] (bias gradients) */
export function sumRows(g: usize, rows: i32, m: i32, acc: usize): void {
  const m4 = m & ~3;
  for (let r = 0; r < rows; r++) {
    const o0 = (<usize>r * m) << 2;
    let j = 0;
    for (; j < m4; j += 4) {
      const o = <usize>j << 2;
      v128.store(acc + o, f32x4.add(v128.load(acc + o), v128.load(g + o0 + o)));
    }
    for (; j < m; j++) {
      const o = <usize>j << 2;
      store<f32>(acc + o, load<f32>(acc + o) + load<f32>(g + o0 + o));
    }
  }
}

/** y[i] (+)= x[i] */
export function accum(x: usize, y: usize, n: i32, accumulate: i32): void {
  if (!accumulate) {
    memory.copy(y, x, <usize>n << 2);
    return;
  }
  const n4 = n & ~3;
  let i = 0;
  for (; i < n4; i += 4) {
    const o = <usize>i << 2;
    v128.store(y + o, f32x4.add(v128.load(y + o), v128.load(x + o)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(y + o, load<f32>(y + o) + load<f32>(x + o));
  }
}

// --------------------------------------------------------------------------------------------
// batched matrix multiply and ReLU (many independent small networks: a leading learner axis)

/**
 * gemm for items [i0, i1) of a batch: item i reads A at a + 4 i sA, B at b + 4 i sB, bias (0 for
 * none) at bias + 4 i sBias and writes C at c + 4 i sC (strides in elements; 0 shares an operand).
 * Each item is computed exactly as one `gemm` call on it, so splitting a batch between threads
 * never changes a result.
 */
export function gemmBatched(
  i0: i32, i1: i32, M: i32, N: i32, K: i32, a: usize, sA: i32, rsA: i32, csA: i32, b: usize, sB: i32, ldb: i32, c: usize, sC: i32, ldc: i32, accumulate: i32, bias: usize, sBias: i32,
): void {
  for (let i = i0; i < i1; i++) {
    const bi = bias ? bias + ((<usize>i * sBias) << 2) : 0;
    gemm(M, N, K, a + ((<usize>i * sA) << 2), rsA, csA, b + ((<usize>i * sB) << 2), ldb, c + ((<usize>i * sC) << 2), ldc, accumulate, bi);
  }
}

/** y[i] = x[i] > 0 ? x[i] : 0 (NaN gives 0, as the TypeScript reference); x and y may be the same */
export function relu(x: usize, y: usize, n: i32): void {
  const n4 = n & ~3;
  const z = f32x4.splat(0);
  let i = 0;
  for (; i < n4; i += 4) {
    const o = <usize>i << 2;
    const v = v128.load(x + o);
    v128.store(y + o, v128.and(v, f32x4.gt(v, z)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const v = load<f32>(x + o);
    store<f32>(y + o, v > 0 ? v : 0);
  }
}

/** dx[i] (+)= y[i] > 0 ? dy[i] : 0, with y the ReLU's output */
export function reluBackward(y: usize, dy: usize, dx: usize, n: i32, accumulate: i32): void {
  const n4 = n & ~3;
  const z = f32x4.splat(0);
  let i = 0;
  for (; i < n4; i += 4) {
    const o = <usize>i << 2;
    let g = v128.and(v128.load(dy + o), f32x4.gt(v128.load(y + o), z));
    if (accumulate) g = f32x4.add(g, v128.load(dx + o));
    v128.store(dx + o, g);
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    let g: f32 = load<f32>(y + o) > 0 ? load<f32>(dy + o) : 0;
    if (accumulate) g += load<f32>(dx + o);
    store<f32>(dx + o, g);
  }
}

/** tanh of each lane: 1 - 2 / (e^(2x) + 1) with the range-reduced exponential (absolute error ~1e-7) */
// @ts-ignore: decorator
@inline
function vtanh(x: v128): v128 {
  const one = f32x4.splat(1.0);
  const e = vexp(f32x4.add(x, x));
  return f32x4.sub(one, f32x4.div(f32x4.splat(2.0), f32x4.add(e, one)));
}

/**
 * y = tanh(x) element-wise; x and y may be the same. The last n % 4 elements go through the same
 * SIMD function (one padded vector), so every element's value is independent of its position.
 */
export function tanhv(x: usize, y: usize, n: i32): void {
  const n4 = n & ~3;
  let i = 0;
  for (; i < n4; i += 4) {
    const o = <usize>i << 2;
    v128.store(y + o, vtanh(v128.load(x + o)));
  }
  if (i < n) {
    let v = f32x4.splat(0);
    const r = n - i;
    v = f32x4.replace_lane(v, 0, load<f32>(x + (<usize>i << 2)));
    if (r > 1) v = f32x4.replace_lane(v, 1, load<f32>(x + (<usize>(i + 1) << 2)));
    if (r > 2) v = f32x4.replace_lane(v, 2, load<f32>(x + (<usize>(i + 2) << 2)));
    const t = vtanh(v);
    store<f32>(y + (<usize>i << 2), f32x4.extract_lane(t, 0));
    if (r > 1) store<f32>(y + (<usize>(i + 1) << 2), f32x4.extract_lane(t, 1));
    if (r > 2) store<f32>(y + (<usize>(i + 2) << 2), f32x4.extract_lane(t, 2));
  }
}

/** dx (+)= dy (1 - y^2), with y the tanh's output */
export function tanhBackward(y: usize, dy: usize, dx: usize, n: i32, accumulate: i32): void {
  const n4 = n & ~3;
  const one = f32x4.splat(1.0);
  let i = 0;
  for (; i < n4; i += 4) {
    const o = <usize>i << 2;
    const yv = v128.load(y + o);
    let g = f32x4.mul(v128.load(dy + o), f32x4.sub(one, f32x4.mul(yv, yv)));
    if (accumulate) g = f32x4.add(g, v128.load(dx + o));
    v128.store(dx + o, g);
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const yv = load<f32>(y + o);
    let g: f32 = load<f32>(dy + o) * (1 - yv * yv);
    if (accumulate) g += load<f32>(dx + o);
    store<f32>(dx + o, g);
  }
}

// --------------------------------------------------------------------------------------------
// diagonal linear recurrence (the state-space layer's scan)
//
// For rows [b0, b1), channels [c0, c1) and the time steps [t0, t1) (walked backwards when
// reverse): st = coef_t st + x_t with coef_t = a_c m, m = 1 - reset[b, t] forward and
// 1 - reset[b, t + 1] reverse (1 without resets or past the end); st starts from init[b, c]
// (row stride P; zeros when init is 0). h_t = st, or h_t += st when accumulate; x = 0 means no
// input (the fix-up pass of the time-chunked scan). prod (0: not wanted) gets the product of the
// coefficients of the range, [b, c] with row stride P. Layout of x and h: ((b * T + t) * P + c).

// @ts-ignore: decorator
@inline
function resetCoef(reset: usize, b: i32, t: i32, T: i32, reverse: i32): f32 {
  if (!reset) return 1;
  if (reverse) return t + 1 < T ? <f32>1.0 - load<f32>(reset + ((<usize>(b * T + t + 1)) << 2)) : 1;
  return <f32>1.0 - load<f32>(reset + ((<usize>(b * T + t)) << 2));
}

export function scanRange(
  b0: i32, b1: i32, t0: i32, t1: i32, T: i32, P: i32, c0: i32, c1: i32,
  a: usize, x: usize, h: usize, reset: usize, init: usize, reverse: i32, accumulate: i32, prod: usize,
): void {
  for (let b = b0; b < b1; b++) {
    let c = c0;
    for (; c + 4 <= c1; c += 4) {
      const av = v128.load(a + (<usize>c << 2));
      let st = init ? v128.load(init + ((<usize>(b * P + c)) << 2)) : f32x4.splat(0);
      let pr = f32x4.splat(1);
      for (let s = t0; s < t1; s++) {
        const t = reverse ? t1 - 1 - (s - t0) : s;
        const coef = reset ? f32x4.mul(av, f32x4.splat(resetCoef(reset, b, t, T, reverse))) : av;
        const off = (<usize>(b * T + t) * P + c) << 2;
        st = f32x4.mul(coef, st);
        if (x) st = f32x4.add(st, v128.load(x + off));
        if (prod) pr = f32x4.mul(pr, coef);
        v128.store(h + off, accumulate ? f32x4.add(v128.load(h + off), st) : st);
      }
      if (prod) v128.store(prod + ((<usize>(b * P + c)) << 2), pr);
    }
    for (; c < c1; c++) {
      const av = load<f32>(a + (<usize>c << 2));
      let st: f32 = init ? load<f32>(init + ((<usize>(b * P + c)) << 2)) : 0;
      let pr: f32 = 1;
      for (let s = t0; s < t1; s++) {
        const t = reverse ? t1 - 1 - (s - t0) : s;
        const coef = av * resetCoef(reset, b, t, T, reverse);
        const off = (<usize>(b * T + t) * P + c) << 2;
        st = coef * st;
        if (x) st += load<f32>(x + off);
        pr *= coef;
        store<f32>(h + off, accumulate ? load<f32>(h + off) + st : st);
      }
      if (prod) store<f32>(prod + ((<usize>(b * P + c)) << 2), pr);
    }
  }
}
