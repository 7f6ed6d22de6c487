// fdlibm's natural logarithm, sine and cosine, ported to AssemblyScript so that WebAssembly gives
// bit for bit what V8 (Node.js 20, V8 11.3) returns for Math.log, Math.sin and Math.cos: V8 computes
// those with its fdlibm port (src/base/ieee754.cc: __ieee754_log, sin and cos through
// __ieee754_rem_pio2, __kernel_sin and __kernel_cos). Only IEEE double operations are used (no fused
// multiply-add; Binaryen does not reassociate floating-point arithmetic), in fdlibm's order.
//
// Argument reduction covers |x| <= 2^19 * pi/2 (fdlibm's "medium" case); larger finite arguments,
// which need __kernel_rem_pio2 and its table of 2/pi, are not ported and give NaN. The Box-Muller
// transform only reduces angles in [0, 2 pi).
//
// Algorithms and constants: fdlibm 5.3 (Sun Microsystems, 1993), "Permission to use, copy, modify,
// and distribute this software is freely granted, provided that this notice is preserved."

// @ts-ignore: decorator
@inline
function highWord(x: f64): i32 {
  return <i32>(reinterpret<u64>(x) >>> 32);
}

// @ts-ignore: decorator
@inline
function lowWord(x: f64): u32 {
  return <u32>reinterpret<u64>(x);
}

// @ts-ignore: decorator
@inline
function withHighWord(x: f64, h: i32): f64 {
  return reinterpret<f64>((reinterpret<u64>(x) & 0xffffffff) | (<u64>(<u32>h) << 32));
}

// @ts-ignore: decorator
@inline
function fromWords(h: i32, l: u32): f64 {
  return reinterpret<f64>((<u64>(<u32>h) << 32) | <u64>l);
}

// ------------------------------------------------------------------------------------------------
// log (fdlibm e_log.c)

const LN2_HI: f64 = 6.93147180369123816490e-01; // 3fe62e42 fee00000
const LN2_LO: f64 = 1.90821492927058770002e-10; // 3dea39ef 35793c76
const TWO54: f64 = 1.80143985094819840000e16; // 43500000 00000000
const LG1: f64 = 6.666666666666735130e-01; // 3FE55555 55555593
const LG2: f64 = 3.999999999940941908e-01; // 3FD99999 9997FA04
const LG3: f64 = 2.857142874366239149e-01; // 3FD24924 94229359
const LG4: f64 = 2.222219843214978396e-01; // 3FCC71C5 1D8E78AF
const LG5: f64 = 1.818357216161805012e-01; // 3FC74664 96CB03DE
const LG6: f64 = 1.531383769920937332e-01; // 3FC39A09 D078C69F
const LG7: f64 = 1.479819860511658591e-01; // 3FC2F112 DF3E5244

/** fdlibm __ieee754_log(x). */
export function fdlibmLog(x: f64): f64 {
  let hx = highWord(x);
  const lx = lowWord(x);
  let k: i32 = 0;
  if (hx < 0x00100000) {
    // x < 2^-1022
    if (((hx & 0x7fffffff) | lx) == 0) return -Infinity; // log(+-0)
    if (hx < 0) return NaN; // log(negative)
    k -= 54;
    x *= TWO54; // subnormal: scale up
    hx = highWord(x);
  }
  if (hx >= 0x7ff00000) return x + x;
  k += (hx >> 20) - 1023;
  hx &= 0x000fffff;
  let i = (hx + 0x95f64) & 0x100000;
  x = withHighWord(x, hx | (i ^ 0x3ff00000)); // normalize x or x/2
  k += i >> 20;
  const f = x - 1.0;
  if ((0x000fffff & (2 + hx)) < 3) {
    // -2^-20 <= f < 2^-20
    if (f == 0.0) {
      if (k == 0) return 0.0;
      const dk0 = <f64>k;
      return dk0 * LN2_HI + dk0 * LN2_LO;
    }
    const R0 = f * f * (0.5 - 0.33333333333333333 * f);
    if (k == 0) return f - R0;
    const dk1 = <f64>k;
    return dk1 * LN2_HI - ((R0 - dk1 * LN2_LO) - f);
  }
  const s = f / (2.0 + f);
  const dk = <f64>k;
  const z = s * s;
  i = hx - 0x6147a;
  const w = z * z;
  const j = 0x6b851 - hx;
  const t1 = w * (LG2 + w * (LG4 + w * LG6));
  const t2 = z * (LG1 + w * (LG3 + w * (LG5 + w * LG7)));
  i |= j;
  const R = t2 + t1;
  if (i > 0) {
    const hfsq = 0.5 * f * f;
    if (k == 0) return f - (hfsq - s * (hfsq + R));
    return dk * LN2_HI - ((hfsq - (s * (hfsq + R) + dk * LN2_LO)) - f);
  }
  if (k == 0) return f - s * (f - R);
  return dk * LN2_HI - ((s * (f - R) - dk * LN2_LO) - f);
}

// ------------------------------------------------------------------------------------------------
// kernels on [-pi/4, pi/4] (fdlibm k_sin.c, k_cos.c): x + y is the argument, |y| tiny

const S1: f64 = -1.66666666666666324348e-01; // 0xBFC55555, 0x55555549
const S2: f64 = 8.33333333332248946124e-03; // 0x3F811111, 0x1110F8A6
const S3: f64 = -1.98412698298579493134e-04; // 0xBF2A01A0, 0x19C161D5
const S4: f64 = 2.75573137070700676789e-06; // 0x3EC71DE3, 0x57B1FE7D
const S5: f64 = -2.50507602534068634195e-08; // 0xBE5AE5E6, 0x8A2B9CEB
const S6: f64 = 1.58969099521155010221e-10; // 0x3DE5D93A, 0x5ACFD57C

/** __kernel_sin(x, y, iy): iy = 0 when y is known to be 0. */
// @ts-ignore: decorator
@inline
function kernelSin(x: f64, y: f64, iy: i32): f64 {
  const ix = highWord(x) & 0x7fffffff;
  if (ix < 0x3e400000) {
    // |x| < 2^-27
    if (<i32>x == 0) return x;
  }
  const z = x * x;
  const v = z * x;
  const r = S2 + z * (S3 + z * (S4 + z * (S5 + z * S6)));
  if (iy == 0) return x + v * (S1 + z * r);
  return x - ((z * (0.5 * y - v * r) - y) - v * S1);
}

const C1: f64 = 4.16666666666666019037e-02; // 0x3FA55555, 0x5555554C
const C2: f64 = -1.38888888888741095749e-03; // 0xBF56C16C, 0x16C15177
const C3: f64 = 2.48015872894767294178e-05; // 0x3EFA01A0, 0x19CB1590
const C4: f64 = -2.75573143513906633035e-07; // 0xBE927E4F, 0x809C52AD
const C5: f64 = 2.08757232129817482790e-09; // 0x3E21EE9E, 0xBDB4B1C4
const C6: f64 = -1.13596475577881948265e-11; // 0xBDA8FAE9, 0xBE8838D4

/** __kernel_cos(x, y). */
// @ts-ignore: decorator
@inline
function kernelCos(x: f64, y: f64): f64 {
  const ix = highWord(x) & 0x7fffffff;
  if (ix < 0x3e400000) {
    // |x| < 2^-27
    if (<i32>x == 0) return 1.0;
  }
  const z = x * x;
  const r = z * (C1 + z * (C2 + z * (C3 + z * (C4 + z * (C5 + z * C6)))));
  if (ix < 0x3fd33333) return 1.0 - (0.5 * z - (z * r - x * y)); // |x| < 0.3
  // qx = x/4 (high word only), or 0.28125 for |x| > 0.78125
  const qx: f64 = ix > 0x3fe90000 ? 0.28125 : fromWords(ix - 0x00200000, 0);
  const hz = 0.5 * z - qx;
  const a = 1.0 - qx;
  return a - (hz - (z * r - x * y));
}

// ------------------------------------------------------------------------------------------------
// argument reduction (fdlibm e_rem_pio2.c, |x| <= 2^19 * pi/2)

const INVPIO2: f64 = 6.36619772367581382433e-01; // 0x3FE45F30, 0x6DC9C883
const PIO2_1: f64 = 1.57079632673412561417e00; // 0x3FF921FB, 0x54400000
const PIO2_1T: f64 = 6.07710050650619224932e-11; // 0x3DD0B461, 0x1A626331
const PIO2_2: f64 = 6.07710050630396597660e-11; // 0x3DD0B461, 0x1A600000
const PIO2_2T: f64 = 2.02226624879595063154e-21; // 0x3BA3198A, 0x2E037073
const PIO2_3: f64 = 2.02226624871116645580e-21; // 0x3BA3198A, 0x2E000000
const PIO2_3T: f64 = 8.47842766036889956997e-32; // 0x397B839A, 0x252049C1

/** High words of n * pi/2, n = 1..32. */
const NPIO2_HW: StaticArray<i32> = [
  0x3ff921fb, 0x400921fb, 0x4012d97c, 0x401921fb, 0x401f6a7a, 0x4022d97c, 0x4025fdbb, 0x402921fb,
  0x402c463a, 0x402f6a7a, 0x4031475c, 0x4032d97c, 0x40346b9c, 0x4035fdbb, 0x40378fdb, 0x403921fb,
  0x403ab41b, 0x403c463a, 0x403dd85a, 0x403f6a7a, 0x40407e4c, 0x4041475c, 0x4042106c, 0x4042d97c,
  0x4043a28c, 0x40446b9c, 0x404534ac, 0x4045fdbb, 0x4046c6cb, 0x40478fdb, 0x404858eb, 0x404921fb,
];

/** Reduced argument of the last remPio2 call: x - n pi/2 = y0 + y1. */
let y0: f64 = 0;
let y1: f64 = 0;

/** __ieee754_rem_pio2(x, y) for |x| > pi/4: returns n and sets y0, y1. */
function remPio2(x: f64): i32 {
  const hx = highWord(x);
  const ix = hx & 0x7fffffff;
  if (ix < 0x4002d97c) {
    // |x| < 3pi/4: n = +-1
    if (hx > 0) {
      let z = x - PIO2_1;
      if (ix != 0x3ff921fb) {
        y0 = z - PIO2_1T;
        y1 = (z - y0) - PIO2_1T;
      } else {
        // near pi/2: 33 + 33 + 53 bits of pi
        z -= PIO2_2;
        y0 = z - PIO2_2T;
        y1 = (z - y0) - PIO2_2T;
      }
      return 1;
    }
    let z = x + PIO2_1;
    if (ix != 0x3ff921fb) {
      y0 = z + PIO2_1T;
      y1 = (z - y0) + PIO2_1T;
    } else {
      z += PIO2_2;
      y0 = z + PIO2_2T;
      y1 = (z - y0) + PIO2_2T;
    }
    return -1;
  }
  if (ix <= 0x413921fb) {
    // |x| <= 2^19 pi/2: medium size
    let t = abs<f64>(x);
    const n = <i32>(t * INVPIO2 + 0.5);
    const fn = <f64>n;
    let r = t - fn * PIO2_1;
    let w = fn * PIO2_1T; // first round, good to 85 bits
    if (n < 32 && ix != unchecked(NPIO2_HW[n - 1])) {
      y0 = r - w; // quick check: no cancellation
    } else {
      const j = ix >> 20;
      y0 = r - w;
      let i = j - ((highWord(y0) >> 20) & 0x7ff);
      if (i > 16) {
        // second iteration, good to 118 bits
        t = r;
        w = fn * PIO2_2;
        r = t - w;
        w = fn * PIO2_2T - ((t - r) - w);
        y0 = r - w;
        i = j - ((highWord(y0) >> 20) & 0x7ff);
        if (i > 49) {
          // third iteration, 151 bits
          t = r;
          w = fn * PIO2_3;
          r = t - w;
          w = fn * PIO2_3T - ((t - r) - w);
          y0 = r - w;
        }
      }
    }
    y1 = (r - y0) - w;
    if (hx < 0) {
      y0 = -y0;
      y1 = -y1;
      return -n;
    }
    return n;
  }
  // infinity, NaN, and (not ported) arguments beyond 2^19 pi/2
  y0 = NaN;
  y1 = NaN;
  return 0;
}

// ------------------------------------------------------------------------------------------------
// sin, cos, and both of one argument (one reduction: the same as sin(x) and cos(x) apart)

/** fdlibm sin(x) (|x| <= 2^19 pi/2; NaN beyond). */
export function fdlibmSin(x: f64): f64 {
  const ix = highWord(x) & 0x7fffffff;
  if (ix <= 0x3fe921fb) return kernelSin(x, 0, 0);
  if (ix >= 0x7ff00000) return x - x;
  const n = remPio2(x);
  switch (n & 3) {
    case 0:
      return kernelSin(y0, y1, 1);
    case 1:
      return kernelCos(y0, y1);
    case 2:
      return -kernelSin(y0, y1, 1);
    default:
      return -kernelCos(y0, y1);
  }
}

/** fdlibm cos(x) (|x| <= 2^19 pi/2; NaN beyond). */
export function fdlibmCos(x: f64): f64 {
  const ix = highWord(x) & 0x7fffffff;
  if (ix <= 0x3fe921fb) return kernelCos(x, 0);
  if (ix >= 0x7ff00000) return x - x;
  const n = remPio2(x);
  switch (n & 3) {
    case 0:
      return kernelCos(y0, y1);
    case 1:
      return -kernelSin(y0, y1, 1);
    case 2:
      return -kernelCos(y0, y1);
    default:
      return kernelSin(y0, y1, 1);
  }
}

/** sin(x) of the last sinCos call. */
export let sinOut: f64 = 0;
/** cos(x) of the last sinCos call. */
export let cosOut: f64 = 0;

/** Sets sinOut = fdlibmSin(x) and cosOut = fdlibmCos(x) with one argument reduction. */
// @ts-ignore: decorator
@inline
export function sinCos(x: f64): void {
  const ix = highWord(x) & 0x7fffffff;
  if (ix <= 0x3fe921fb) {
    sinOut = kernelSin(x, 0, 0);
    cosOut = kernelCos(x, 0);
    return;
  }
  if (ix >= 0x7ff00000) {
    sinOut = x - x;
    cosOut = x - x;
    return;
  }
  const n = remPio2(x) & 3;
  const s = kernelSin(y0, y1, 1);
  const c = kernelCos(y0, y1);
  // quadrant n: sin = s, c, -s, -c; cos = c, -s, -c, s
  const odd = (n & 1) != 0;
  const a = odd ? c : s;
  const b = odd ? s : c;
  sinOut = (n & 2) != 0 ? -a : a;
  cosOut = n == 1 || n == 2 ? -b : b;
}

// ------------------------------------------------------------------------------------------------
// Two lanes at a time (f64x2), without branches, for the arguments Box-Muller produces. Every lane
// computes exactly the operations of the scalar functions above along the path that the scalar code
// would take; the paths that need more (fdlibm's branches for f near 0 in log, the second reduction
// step near multiples of pi/2, kernel arguments below 2^-27, angles outside [0, 8)) are flagged in
// `rareX2`, and the caller computes those lanes with the scalar functions instead.

/** 64-bit lanes that the last logX2 or sinCosX2 call could not do (all ones); accumulates until reset. */
export let rareX2: v128 = i64x2.splat(0);
/** sin and cos of the lanes of the last sinCosX2 call. */
export let sinX2: v128 = i64x2.splat(0);
export let cosX2: v128 = i64x2.splat(0);

// @ts-ignore: decorator
@inline
function highLanes(v: v128): v128 {
  // 32-bit lanes 1 and 3 (the high words of two doubles, or masks on them) to full 64-bit lanes
  return i8x16.shuffle(v, v, 4, 5, 6, 7, 4, 5, 6, 7, 12, 13, 14, 15, 12, 13, 14, 15);
}

// @ts-ignore: decorator
@inline
function lowPairLanes(v: v128): v128 {
  // 32-bit lanes 0 and 1 (from i32x4.trunc_sat_f64x2_s_zero) to full 64-bit lanes
  return i8x16.shuffle(v, v, 0, 1, 2, 3, 0, 1, 2, 3, 4, 5, 6, 7, 4, 5, 6, 7);
}

// @ts-ignore: decorator
@inline
function splatF(x: f64): v128 {
  return f64x2.splat(x);
}

// @ts-ignore: decorator
@inline
function splatI(x: i32): v128 {
  return i32x4.splat(x);
}

/** fdlibmLog of both lanes; for positive normal finite x (other lanes are flagged rare). */
// @ts-ignore: decorator
@inline
export function logX2(x: v128): v128 {
  const HIGH = i32x4(0, -1, 0, -1);
  const hx = x; // high words in 32-bit lanes 1 and 3
  // positive normal finite only: 0x00100000 <= hx < 0x7ff00000
  let rare = v128.or(i32x4.lt_s(hx, splatI(0x00100000)), i32x4.ge_s(hx, splatI(0x7ff00000)));
  let k = i32x4.sub(i32x4.shr_s(hx, 20), splatI(1023));
  const h = v128.and(hx, splatI(0x000fffff));
  const i = v128.and(i32x4.add(h, splatI(0x95f64)), splatI(0x100000));
  const xn = v128.bitselect(v128.or(h, v128.xor(i, splatI(0x3ff00000))), x, HIGH);
  k = i32x4.add(k, i32x4.shr_s(i, 20));
  const f = f64x2.sub(xn, splatF(1.0));
  // -2^-20 <= f < 2^-20: fdlibm's own branch
  rare = v128.or(rare, i32x4.lt_s(v128.and(i32x4.add(h, splatI(2)), splatI(0x000fffff)), splatI(3)));
  rareX2 = v128.or(rareX2, highLanes(rare));
  const s = f64x2.div(f, f64x2.add(splatF(2.0), f));
  const dk = f64x2.convert_low_i32x4_s(i8x16.shuffle(k, k, 4, 5, 6, 7, 12, 13, 14, 15, 4, 5, 6, 7, 12, 13, 14, 15));
  const z = f64x2.mul(s, s);
  const w = f64x2.mul(z, z);
  const t1 = f64x2.mul(w, f64x2.add(splatF(LG2), f64x2.mul(w, f64x2.add(splatF(LG4), f64x2.mul(w, splatF(LG6))))));
  let p2 = f64x2.add(splatF(LG5), f64x2.mul(w, splatF(LG7)));
  p2 = f64x2.add(splatF(LG3), f64x2.mul(w, p2));
  const t2 = f64x2.mul(z, f64x2.add(splatF(LG1), f64x2.mul(w, p2)));
  const ipos = highLanes(i32x4.gt_s(v128.or(i32x4.sub(h, splatI(0x6147a)), i32x4.sub(splatI(0x6b851), h)), splatI(0)));
  const k0 = highLanes(i32x4.eq(k, splatI(0)));
  const R = f64x2.add(t2, t1);
  const dkHi = f64x2.mul(dk, splatF(LN2_HI));
  const dkLo = f64x2.mul(dk, splatF(LN2_LO));
  // i > 0
  const hfsq = f64x2.mul(f64x2.mul(splatF(0.5), f), f);
  const sh = f64x2.mul(s, f64x2.add(hfsq, R));
  const a = f64x2.sub(f, f64x2.sub(hfsq, sh)); // k == 0
  const b = f64x2.sub(dkHi, f64x2.sub(f64x2.sub(hfsq, f64x2.add(sh, dkLo)), f));
  // i <= 0
  const sf = f64x2.mul(s, f64x2.sub(f, R));
  const c = f64x2.sub(f, sf); // k == 0
  const d = f64x2.sub(dkHi, f64x2.sub(f64x2.sub(sf, dkLo), f));
  return v128.bitselect(v128.bitselect(a, b, k0), v128.bitselect(c, d, k0), ipos);
}

/** fdlibmSin and fdlibmCos of both lanes into sinX2, cosX2; for 0 <= x < 8 (other lanes are flagged rare). */
// @ts-ignore: decorator
@inline
export function sinCosX2(x: v128): void {
  const HIGH = i32x4(0, -1, 0, -1);
  const SIGN = i64x2.splat(0x8000000000000000);
  const hx = x;
  // 0 <= x < 8 (unsigned: negative x has the sign bit), and not within fdlibm's extra-precision
  // reduction: |x|'s high word equal to that of n pi/2 (n = 1..5)
  let rare = i32x4.ge_u(hx, splatI(0x40200000));
  rare = v128.or(rare, i32x4.eq(hx, splatI(unchecked(NPIO2_HW[0]))));
  rare = v128.or(rare, i32x4.eq(hx, splatI(unchecked(NPIO2_HW[1]))));
  rare = v128.or(rare, i32x4.eq(hx, splatI(unchecked(NPIO2_HW[2]))));
  rare = v128.or(rare, i32x4.eq(hx, splatI(unchecked(NPIO2_HW[3]))));
  rare = v128.or(rare, i32x4.eq(hx, splatI(unchecked(NPIO2_HW[4]))));
  // |x| <= pi/4: no reduction, n = 0, and __kernel_sin with iy = 0
  const small = highLanes(i32x4.le_s(hx, splatI(0x3fe921fb)));
  // medium-size reduction, first round only
  const nI = i32x4.trunc_sat_f64x2_s_zero(f64x2.add(f64x2.mul(x, splatF(INVPIO2)), splatF(0.5)));
  const fn = f64x2.convert_low_i32x4_s(nI);
  const r = f64x2.sub(x, f64x2.mul(fn, splatF(PIO2_1)));
  const w = f64x2.mul(fn, splatF(PIO2_1T));
  const r0 = f64x2.sub(r, w);
  const r1 = f64x2.sub(f64x2.sub(r, r0), w);
  const y0 = v128.bitselect(x, r0, small);
  const yy = v128.andnot(r1, small); // y1 = 0 when not reduced
  const n = v128.andnot(lowPairLanes(nI), small);
  const hy = v128.and(y0, splatI(0x7fffffff)); // |y0|'s high word in lanes 1, 3
  // kernels: |y0| < 2^-27 returns early in fdlibm
  rare = v128.or(rare, i32x4.lt_s(hy, splatI(0x3e400000)));
  rareX2 = v128.or(rareX2, highLanes(rare));
  const z = f64x2.mul(y0, y0);
  // __kernel_sin
  const v = f64x2.mul(z, y0);
  let rs = f64x2.add(splatF(S5), f64x2.mul(z, splatF(S6)));
  rs = f64x2.add(splatF(S4), f64x2.mul(z, rs));
  rs = f64x2.add(splatF(S3), f64x2.mul(z, rs));
  rs = f64x2.add(splatF(S2), f64x2.mul(z, rs));
  const sin0 = f64x2.add(y0, f64x2.mul(v, f64x2.add(splatF(S1), f64x2.mul(z, rs))));
  const sin1 = f64x2.sub(y0, f64x2.sub(f64x2.sub(f64x2.mul(z, f64x2.sub(f64x2.mul(splatF(0.5), yy), f64x2.mul(v, rs))), yy), f64x2.mul(v, splatF(S1))));
  const ks = v128.bitselect(sin0, sin1, small);
  // __kernel_cos
  let pc = f64x2.add(splatF(C5), f64x2.mul(z, splatF(C6)));
  pc = f64x2.add(splatF(C4), f64x2.mul(z, pc));
  pc = f64x2.add(splatF(C3), f64x2.mul(z, pc));
  pc = f64x2.add(splatF(C2), f64x2.mul(z, pc));
  const rc = f64x2.mul(z, f64x2.add(splatF(C1), f64x2.mul(z, pc)));
  const hz = f64x2.mul(splatF(0.5), z);
  const zrxy = f64x2.sub(f64x2.mul(z, rc), f64x2.mul(y0, yy));
  const cosSmall = f64x2.sub(splatF(1.0), f64x2.sub(hz, zrxy)); // |y0| < 0.3
  const qx = v128.bitselect(splatF(0.28125), v128.and(i32x4.sub(hy, splatI(0x00200000)), HIGH), highLanes(i32x4.gt_s(hy, splatI(0x3fe90000))));
  const cosBig = f64x2.sub(f64x2.sub(splatF(1.0), qx), f64x2.sub(f64x2.sub(hz, qx), zrxy));
  const kc = v128.bitselect(cosSmall, cosBig, highLanes(i32x4.lt_s(hy, splatI(0x3fd33333))));
  // quadrant n: sin = s, c, -s, -c; cos = c, -s, -c, s
  const odd = i64x2.ne(v128.and(n, i64x2.splat(1)), i64x2.splat(0));
  const sinNeg = i64x2.ne(v128.and(n, i64x2.splat(2)), i64x2.splat(0));
  const cosNeg = i64x2.ne(v128.and(v128.xor(n, i64x2.shr_u(n, 1)), i64x2.splat(1)), i64x2.splat(0));
  sinX2 = v128.xor(v128.bitselect(kc, ks, odd), v128.and(sinNeg, SIGN));
  cosX2 = v128.xor(v128.bitselect(ks, kc, odd), v128.and(cosNeg, SIGN));
}
