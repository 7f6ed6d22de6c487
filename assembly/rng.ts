// Philox4x32-10 block function with WebAssembly SIMD (AssemblyScript, compiled by `npm run build:wasm`
// to build/core/rng.wasm). Four consecutive blocks run in parallel, one per 32-bit lane; the
// 32 x 32 -> 64-bit products come exact from i64x2.extmul. The module has its own small,
// non-shared memory; results are written at outPtr(). The TypeScript reference (and the fallback
// when this module is missing) is philox4x32 in src/core/rng.ts; the two must agree word for word.
// The module also holds the Box-Muller kernel of the environments' reward noise (end of this file).

import { fdlibmLog, fdlibmSin, fdlibmCos, sinCos, sinOut, cosOut, logX2, sinCosX2, sinX2, cosX2, rareX2 } from './fdlibm';

const M0: u32 = 0xd2511f53;
const M1: u32 = 0xcd9e8d57;
const W0: u32 = 0x9e3779b9;
const W1: u32 = 0xbb67ae85;

/** Blocks (of 4 words) one philoxFill call may write: 64 KiB at outPtr(). */
const MAX_BLOCKS: i32 = 4096;

/** Byte address of the output buffer (16-byte aligned). */
export function outPtr(): usize {
  return (__heap_base + 15) & ~(<usize>15);
}

export function maxBlocks(): i32 {
  return MAX_BLOCKS;
}

// @ts-ignore: decorator
@inline
function hiWords(pl: v128, ph: v128): v128 {
  // odd 32-bit words (the high halves of the four 64-bit products)
  return i8x16.shuffle(pl, ph, 4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31);
}

// @ts-ignore: decorator
@inline
function loWords(pl: v128, ph: v128): v128 {
  return i8x16.shuffle(pl, ph, 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27);
}

/**
 * Writes blocks ctr, ctr + 1, ..., ctr + blocks - 1 (ctr = ctrHi * 2^32 + ctrLo, counter words 2
 * and 3 zero, key (k0, k1)) at outPtr(), 4 words each, block after block. `blocks` is rounded up to
 * a multiple of 8 (the extra blocks are written too); at most maxBlocks().
 */
export function philoxFill(k0: u32, k1: u32, ctrLo: u32, ctrHi: u32, blocks: i32): void {
  if (blocks > MAX_BLOCKS) blocks = MAX_BLOCKS;
  let out = outPtr();
  const vm0 = i32x4.splat(M0);
  const vm1 = i32x4.splat(M1);
  const lanes = i32x4(0, 1, 2, 3);
  const four = i32x4.splat(4);
  const zero = i32x4.splat(0);
  let lo = ctrLo;
  let hi = ctrHi;
  // two groups of four blocks per iteration (independent chains keep the multipliers busy)
  for (let b = 0; b < blocks; b += 8) {
    const vlo = i32x4.splat(lo);
    const vhi = i32x4.splat(hi);
    let c0 = i32x4.add(vlo, lanes);
    let d0 = i32x4.add(c0, four);
    // lanes whose low word wrapped carry into the high word (lt_u gives -1 there)
    let c1 = i32x4.sub(vhi, i32x4.lt_u(c0, vlo));
    let d1 = i32x4.sub(vhi, i32x4.lt_u(d0, vlo));
    let c2 = zero;
    let c3 = zero;
    let d2 = zero;
    let d3 = zero;
    let ka = k0;
    let kb = k1;
    for (let r = 0; r < 10; r++) {
      const vka = i32x4.splat(ka);
      const vkb = i32x4.splat(kb);
      const p0l = i64x2.extmul_low_i32x4_u(c0, vm0);
      const p0h = i64x2.extmul_high_i32x4_u(c0, vm0);
      const p1l = i64x2.extmul_low_i32x4_u(c2, vm1);
      const p1h = i64x2.extmul_high_i32x4_u(c2, vm1);
      const q0l = i64x2.extmul_low_i32x4_u(d0, vm0);
      const q0h = i64x2.extmul_high_i32x4_u(d0, vm0);
      const q1l = i64x2.extmul_low_i32x4_u(d2, vm1);
      const q1h = i64x2.extmul_high_i32x4_u(d2, vm1);
      c0 = v128.xor(v128.xor(hiWords(p1l, p1h), c1), vka);
      c2 = v128.xor(v128.xor(hiWords(p0l, p0h), c3), vkb);
      c1 = loWords(p1l, p1h);
      c3 = loWords(p0l, p0h);
      d0 = v128.xor(v128.xor(hiWords(q1l, q1h), d1), vka);
      d2 = v128.xor(v128.xor(hiWords(q0l, q0h), d3), vkb);
      d1 = loWords(q1l, q1h);
      d3 = loWords(q0l, q0h);
      ka += W0;
      kb += W1;
    }
    store4(out, c0, c1, c2, c3);
    store4(out + 64, d0, d1, d2, d3);
    out += 128;
    const next = lo + 8;
    if (next < lo) hi += 1;
    lo = next;
  }
}

/** Stores four blocks held one per lane of (x0, x1, x2, x3) as 16 consecutive words (a 4 x 4 transpose). */
// @ts-ignore: decorator
@inline
function store4(out: usize, x0: v128, x1: v128, x2: v128, x3: v128): void {
  const a = i8x16.shuffle(x0, x1, 0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23); // x0_0 x1_0 x0_1 x1_1
  const d = i8x16.shuffle(x2, x3, 0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23); // x2_0 x3_0 x2_1 x3_1
  const e = i8x16.shuffle(x0, x1, 8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31); // x0_2 x1_2 x0_3 x1_3
  const f = i8x16.shuffle(x2, x3, 8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31); // x2_2 x3_2 x2_3 x3_3
  v128.store(out, i8x16.shuffle(a, d, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23));
  v128.store(out + 16, i8x16.shuffle(a, d, 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31));
  v128.store(out + 32, i8x16.shuffle(e, f, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23));
  v128.store(out + 48, i8x16.shuffle(e, f, 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31));
}

// ------------------------------------------------------------------------------------------------
// Box-Muller deviates for the environments' reward noise, with fdlibm's log, sin and cos (exact ports
// of what V8 computes for Math.log, Math.sin and Math.cos; see fdlibm.ts). The words go to wordsPtr()
// (written by the caller), the deviates come out at deviatesPtr(), both after the Philox buffer.

/** Deviates (and words) one boxMuller call may handle. */
const MAX_DEVIATES: i32 = 4096;

export function maxDeviates(): i32 {
  return MAX_DEVIATES;
}

/** Byte address of the input words (MAX_DEVIATES u32). */
export function wordsPtr(): usize {
  return outPtr() + (<usize>MAX_BLOCKS << 4);
}

/** Byte address of the output deviates (MAX_DEVIATES f64). */
export function deviatesPtr(): usize {
  return wordsPtr() + (<usize>MAX_DEVIATES << 2);
}

/**
 * For each pair of words (w0, w1) at wordsPtr(), j = 0, 2, 4, ... < count (count even, at most
 * maxDeviates()), writes d_j = r cos(th) and d_{j+1} = r sin(th) at deviatesPtr(), where
 * u1 = 1 - w0 2^-32, u2 = w1 2^-32, r = sd sqrt(-2 log(u1)), th = 2 pi u2: the operations of
 * addGaussianNoise (src/envs/common.ts) in its order, with Math.log, Math.cos and Math.sin.
 */
export function boxMuller(count: i32, sd: f64): void {
  if (count > MAX_DEVIATES) count = MAX_DEVIATES;
  let wp = wordsPtr();
  let dp = deviatesPtr();
  const end = wp + (<usize>(count & ~1) << 2);
  const INV32 = f64x2.splat(1.0 / 4294967296.0);
  const ONE = f64x2.splat(1.0);
  const MINUS_TWO = f64x2.splat(-2.0);
  const TWO_PI = f64x2.splat(2 * Math.PI);
  const SD = f64x2.splat(sd);
  // two pairs at a time (f64x2); a pair the two-lane code cannot do exactly is redone one by one
  while (wp + 16 <= end) {
    const words = v128.load(wp); // u1 word, u2 word, u1 word, u2 word
    const w1 = f64x2.convert_low_i32x4_u(i8x16.shuffle(words, words, 0, 1, 2, 3, 8, 9, 10, 11, 0, 1, 2, 3, 8, 9, 10, 11));
    const w2 = f64x2.convert_low_i32x4_u(i8x16.shuffle(words, words, 4, 5, 6, 7, 12, 13, 14, 15, 4, 5, 6, 7, 12, 13, 14, 15));
    const u1 = f64x2.sub(ONE, f64x2.mul(w1, INV32));
    const u2 = f64x2.mul(w2, INV32);
    rareX2 = i64x2.splat(0);
    const r = f64x2.mul(SD, f64x2.sqrt(f64x2.mul(MINUS_TWO, logX2(u1))));
    sinCosX2(f64x2.mul(TWO_PI, u2));
    const rc = f64x2.mul(r, cosX2);
    const rs = f64x2.mul(r, sinX2);
    v128.store(dp, i8x16.shuffle(rc, rs, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23));
    v128.store(dp, i8x16.shuffle(rc, rs, 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31), 16);
    if (v128.any_true(rareX2)) {
      boxMullerPair(wp, dp, sd);
      boxMullerPair(wp + 8, dp + 16, sd);
    }
    wp += 16;
    dp += 32;
  }
  if (wp < end) boxMullerPair(wp, dp, sd);
}

/** One pair with the scalar functions. */
// @ts-ignore: decorator
@inline
function boxMullerPair(wp: usize, dp: usize, sd: f64): void {
  const INV32: f64 = 1.0 / 4294967296.0;
  const TWO_PI: f64 = 2 * Math.PI;
  const u1 = 1 - <f64>load<u32>(wp) * INV32;
  const u2 = <f64>load<u32>(wp, 4) * INV32;
  const r = sd * Math.sqrt(-2 * fdlibmLog(u1));
  sinCos(TWO_PI * u2);
  store<f64>(dp, r * cosOut);
  store<f64>(dp, r * sinOut, 8);
}

/** boxMuller with the scalar functions only (for the tests). */
export function boxMullerScalar(count: i32, sd: f64): void {
  if (count > MAX_DEVIATES) count = MAX_DEVIATES;
  let wp = wordsPtr();
  let dp = deviatesPtr();
  const end = wp + (<usize>(count & ~1) << 2);
  while (wp < end) {
    boxMullerPair(wp, dp, sd);
    wp += 8;
    dp += 16;
  }
}

/** fdlibm log, sin and cos one value at a time (for the tests that compare them with Math.*). */
export function mathLog(x: f64): f64 {
  return fdlibmLog(x);
}

export function mathSin(x: f64): f64 {
  return fdlibmSin(x);
}

export function mathCos(x: f64): f64 {
  return fdlibmCos(x);
}
