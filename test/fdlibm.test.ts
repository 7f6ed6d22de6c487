// The WebAssembly Box-Muller kernel (assembly/fdlibm.ts, assembly/rng.ts) must give bit for bit what
// Math.log, Math.sin and Math.cos give on this Node.js (V8's fdlibm): the bandits' reward noise runs
// through it and the rewards are pinned (test/envsNoise.test.ts).
import { describe, it, expect } from 'vitest';
import { existsSync } from 'node:fs';
import { Rng, normalKernel, rngWasmPath, type NormalKernel } from '../src/core/rng.js';
import { withBackend } from './helpers/rngBackend.js';

const TWO32 = 4294967296;
const TWO_PI = 2 * Math.PI;

/** The kernel, which must be there whenever the module is built. */
function kernel(): NormalKernel | null {
  const k = normalKernel();
  if (existsSync(rngWasmPath())) expect(k).not.toBeNull();
  return k;
}

/** Differences between f and g over xs (Object.is: -0 and NaN count), with the first few named. */
function mismatches(xs: Float64Array | number[], f: (x: number) => number, g: (x: number) => number): { count: number; first: string[] } {
  let count = 0;
  const first: string[] = [];
  for (let i = 0; i < xs.length; i++) {
    const a = f(xs[i]);
    const b = g(xs[i]);
    if (!Object.is(a, b)) {
      count++;
      if (first.length < 5) first.push(`x=${xs[i]}: ${a} vs ${b}`);
    }
  }
  return { count, first };
}

/** Doubles near x: x itself and its neighbours up to `ulps` units in the last place either side. */
function around(x: number, ulps: number, out: number[]): void {
  const f = new Float64Array(1);
  const b = new BigInt64Array(f.buffer);
  f[0] = x;
  const base = b[0];
  for (let d = -ulps; d <= ulps; d++) {
    b[0] = base + BigInt(d);
    if (Number.isFinite(f[0])) out.push(f[0]);
  }
}

describe('fdlibm log, sin and cos in WebAssembly', () => {
  it('is loaded with the RNG module, and not with the reference backend', () => {
    kernel();
    expect(withBackend('reference', () => normalKernel())).toBeNull();
  });

  it('log equals Math.log on (0, 1] bit for bit: random doubles, the 32-bit grid of Box-Muller, edge cases', () => {
    const k = kernel();
    if (!k) return;
    const rng = new Rng('fdlibm-log');
    const n = 600_000;
    const xs = new Float64Array(2 * n);
    for (let i = 0; i < n; i++) {
      xs[2 * i] = 1 - rng.uniform53(); // (0, 1], 53 bits
      xs[2 * i + 1] = 1 - rng.nextU32() / TWO32; // the u1 of addGaussianNoise
    }
    const edge: number[] = [1, 0.5, 0.25, Math.SQRT1_2, Math.SQRT2 / 2, 2 ** -32, 2 ** -31, 2 ** -1022, 2 ** -1074, 5e-324, 1e-300, 0.1, 0.9, 2, 10, 1e300];
    // 2^-32 steps below 1 (fdlibm's branch for f near 0) and above 0, and the neighbours of powers of two and of fdlibm's thresholds
    for (let j = 0; j < 5000; j++) edge.push(1 - j / TWO32, (j + 1) / TWO32, 0.5 - j / TWO32, 0.5 + j / TWO32);
    for (let e = -33; e <= 1; e++) around(2 ** e, 40, edge);
    for (const m of [0x6147a, 0x6b851, 0x95f64, 0x6a09e]) {
      around(1 + m / 2 ** 20, 40, edge);
      around((1 + m / 2 ** 20) / 2, 40, edge);
    }
    for (const xsArr of [xs, edge]) {
      const r = mismatches(xsArr, k.log, Math.log);
      expect(r.first).toEqual([]);
      expect(r.count).toBe(0);
    }
    // specials
    expect(mismatches([0, -0, -1, Infinity, NaN, -Infinity], k.log, Math.log).first).toEqual([]);
  });

  it('sin and cos equal Math.sin and Math.cos on [0, 2 pi) bit for bit: random angles, the 2 pi / 2^32 grid, multiples of pi/4', () => {
    const k = kernel();
    if (!k) return;
    const rng = new Rng('fdlibm-trig');
    const n = 600_000;
    const xs = new Float64Array(2 * n);
    for (let i = 0; i < n; i++) {
      xs[2 * i] = TWO_PI * rng.uniform53(); // [0, 2 pi), 53 bits
      xs[2 * i + 1] = TWO_PI * (rng.nextU32() / TWO32); // the angle of addGaussianNoise
    }
    const edge: number[] = [0, -0, 2 ** -32 * TWO_PI, 2 ** -27, 2 ** -28, 0.3, 0.78125, 1e-300, 5e-324];
    for (let q = 0; q <= 8; q++) {
      // q pi/4: the doubles around it, and the grid points 2 pi k / 2^32 around it
      around((q * Math.PI) / 4, 200, edge);
      const c = Math.round((q * TWO32) / 8);
      for (let d = -2000; d <= 2000; d++) if (c + d >= 0 && c + d < TWO32) edge.push(TWO_PI * ((c + d) / TWO32));
    }
    // fdlibm's thresholds (|x| ~ pi/4, 3 pi/4, the kernels' 0.3 and 0.78125, 2^-27) and negative angles
    for (const t of [0.785398163397448, 2.356194490192345, 0.3, 0.78125, 2 ** -27]) around(t, 200, edge);
    for (let i = 0; i < 20000; i++) edge.push(-TWO_PI * rng.uniform53(), 50 * (rng.uniform53() - 0.5));
    for (const xsArr of [xs, edge]) {
      for (const [f, g] of [
        [k.sin, Math.sin],
        [k.cos, Math.cos],
      ] as const) {
        const r = mismatches(xsArr, f, g);
        expect(r.first).toEqual([]);
        expect(r.count).toBe(0);
      }
    }
    expect(mismatches([Infinity, -Infinity, NaN], k.sin, Math.sin).first).toEqual([]);
    expect(mismatches([Infinity, -Infinity, NaN], k.cos, Math.cos).first).toEqual([]);
  });

  it('boxMuller gives the deviates of the Math.* formulas for every pair, in its two-lane and one-by-one paths', () => {
    const k = kernel();
    if (!k) return;
    const rng = new Rng('fdlibm-box-muller');
    const w = k.words;
    const d = k.deviates;
    let count = 0;
    const first: string[] = [];
    const check = (c: number, sd: number): void => {
      k.boxMuller(c, sd);
      for (let i = 0; i + 1 < c; i += 2) {
        const u1 = 1 - w[i] / TWO32;
        const u2 = w[i + 1] / TWO32;
        const r = sd * Math.sqrt(-2 * Math.log(u1));
        const th = TWO_PI * u2;
        if (!Object.is(d[i], r * Math.cos(th)) || !Object.is(d[i + 1], r * Math.sin(th))) {
          count++;
          if (first.length < 5) first.push(`words ${w[i]}, ${w[i + 1]}`);
        }
      }
    };
    // 1.2 M deviates from random words
    for (let c = 0; c < 300; c++) {
      rng.fillU32(w, k.max);
      check(k.max, 0.3);
    }
    // edge words: u1 = 1 (word 0), u1 = 2^-32, 2^-32 steps; angles around every multiple of pi/4
    const u1Words: number[] = [];
    for (let j = 0; j < 4000; j++) u1Words.push(j, TWO32 - 1 - j, 2 ** 31 - 2000 + j, 2 ** 30 - 2000 + j);
    const angleWords: number[] = [];
    for (let q = 0; q <= 8; q++) {
      const c = Math.round((q * TWO32) / 8);
      for (let dd = -3000; dd <= 3000; dd++) if (c + dd >= 0 && c + dd < TWO32) angleWords.push(c + dd);
    }
    const pairs = k.max / 2;
    for (let start = 0; start < Math.max(u1Words.length, angleWords.length); start += pairs) {
      for (let j = 0; j < pairs; j++) {
        w[2 * j] = u1Words[(start + j) % u1Words.length];
        w[2 * j + 1] = angleWords[(start + j) % angleWords.length];
      }
      check(k.max, 0.3);
      check(k.max, 1);
    }
    // odd numbers of pairs (the last pair one by one) and short calls
    for (const c of [2, 6, 10, 4094]) {
      rng.fillU32(w, c);
      check(c, 0.3);
    }
    expect(first).toEqual([]);
    expect(count).toBe(0);
  });
});
