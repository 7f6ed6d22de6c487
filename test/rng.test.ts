import { describe, it, expect } from 'vitest';
import { existsSync } from 'node:fs';
import { Rng, philox4x32, philoxBlocks, mulhi, rngBackend, rngWasmPath, type RngBackend, type RngState } from '../src/core/rng.js';
import { withBackend } from './helpers/rngBackend.js';

describe('Philox4x32-10', () => {
  // Known-answer vectors of the Random123 distribution (kat_vectors, philox4x32 with 10 rounds).
  it('matches the Random123 known-answer vectors', () => {
    const out = new Uint32Array(4);
    philox4x32(0, 0, 0, 0, 0, 0, out);
    expect([...out].map((x) => x.toString(16).padStart(8, '0'))).toEqual(['6627e8d5', 'e169c58d', 'bc57ac4c', '9b00dbd8']);
    philox4x32(0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, out);
    expect([...out].map((x) => x.toString(16).padStart(8, '0'))).toEqual(['408f276d', '41c83b0e', 'a20bc7c6', '6d5451fd']);
    philox4x32(0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0, out);
    expect([...out].map((x) => x.toString(16).padStart(8, '0'))).toEqual(['d16cfe09', '94fdcceb', '5001e420', '24126ea1']);
  });
});

describe('mulhi', () => {
  it('equals the high word of the exact 64-bit product (BigInt oracle)', () => {
    const r = new Rng(123);
    const edge = [0, 1, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff];
    const pairs: [number, number][] = [];
    for (const a of edge) for (const b of edge) pairs.push([a, b]);
    for (let i = 0; i < 2000; i++) pairs.push([r.nextU32(), r.nextU32()]);
    for (const [a, b] of pairs) expect(mulhi(a, b)).toBe(Number((BigInt(a) * BigInt(b)) >> 32n));
  });
});

describe('Rng', () => {
  it('gives fixed numbers for a seed (pinned vectors)', () => {
    const r = new Rng(42);
    const words = Array.from({ length: 6 }, () => r.nextU32());
    const r2 = new Rng(42);
    expect(Array.from({ length: 6 }, () => r2.nextU32())).toEqual(words);
    // Pinned: any change to the generator or seeding changes these.
    expect(words).toMatchInlineSnapshot(`
      [
        2632642643,
        2012563771,
        314527917,
        1463989207,
        4242219303,
        1404726525,
      ]
    `);
    const u = new Rng(7);
    expect([u.uniform(), u.int(10), u.normal()].map((x) => +x.toFixed(12))).toMatchInlineSnapshot(`
      [
        0.954597125994,
        7,
        -1.737322722498,
      ]
    `);
  });

  it('splits into independent, reproducible children without advancing the parent', () => {
    const p = new Rng(1);
    const a = p.split('train').nextU32();
    const b = p.split('train').nextU32();
    const c = p.split('test').nextU32();
    const d = p.split(0).nextU32();
    expect(a).toBe(b);
    expect(a).not.toBe(c);
    expect(new Set([a, c, d]).size).toBe(3);
    expect(p.nextU32()).toBe(new Rng(1).nextU32());
  });

  it('gives split children unsigned key words, so their saved states validate as u32', () => {
    for (let seed = 0; seed < 64; seed++) {
      const child = new Rng(seed).split('data');
      const { key } = child.getState();
      for (const k of key) expect(k >>> 0).toBe(k);
      // the restored stream is the child's own
      const copy = Rng.fromState(child.getState());
      expect(copy.nextU32()).toBe(child.nextU32());
    }
  });

  it('saves and restores its state mid-block', () => {
    const r = new Rng(3);
    r.nextU32();
    r.normal();
    const s = r.getState();
    const after = [r.nextU32(), r.normal(), r.uniform()];
    const q = Rng.fromState(JSON.parse(JSON.stringify(s)));
    expect([q.nextU32(), q.normal(), q.uniform()]).toEqual(after);
  });

  it('int is unbiased and within range', () => {
    const r = new Rng(5);
    const counts = new Array(7).fill(0);
    const n = 70000;
    for (let i = 0; i < n; i++) counts[r.int(7)]++;
    for (const c of counts) expect(Math.abs(c - n / 7)).toBeLessThan(5 * Math.sqrt(n / 7));
    expect(() => r.int(0)).toThrow(/int\(n\)/);
  });

  it('distributions have the right moments', () => {
    const r = new Rng(11);
    const n = 40000;
    const mean = (f: () => number) => {
      let s = 0;
      let s2 = 0;
      for (let i = 0; i < n; i++) {
        const x = f();
        s += x;
        s2 += x * x;
      }
      return [s / n, s2 / n - (s / n) ** 2];
    };
    const [mn, vn] = mean(() => r.normal(2, 3));
    expect(mn).toBeCloseTo(2, 1);
    expect(vn).toBeGreaterThan(8.5);
    expect(vn).toBeLessThan(9.5);
    const [mg, vg] = mean(() => r.gamma(2.5, 2));
    expect(mg).toBeCloseTo(5, 0);
    expect(Math.abs(vg - 10)).toBeLessThan(0.6);
    const [ms] = mean(() => r.gamma(0.3));
    expect(Math.abs(ms - 0.3)).toBeLessThan(0.02);
    const [mb, vb] = mean(() => r.beta(2, 5));
    expect(Math.abs(mb - 2 / 7)).toBeLessThan(0.01);
    expect(Math.abs(vb - 10 / (49 * 8))).toBeLessThan(0.003);
    const d = r.dirichlet([1, 2, 3]);
    expect(d.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    const p = r.permutation(10);
    expect([...p].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const counts = [0, 0, 0];
    for (let i = 0; i < 30000; i++) counts[r.choice([1, 0, 3])]++;
    expect(counts[1]).toBe(0);
    expect(Math.abs(counts[2] / 30000 - 0.75)).toBeLessThan(0.015);
  });

  it('fillInt covers the range for power-of-two and other n', () => {
    const r = new Rng(9);
    const a = r.fillInt(new Int32Array(4000), 4);
    const b = r.fillInt(new Int32Array(4000), 5);
    expect(Math.min(...a)).toBe(0);
    expect(Math.max(...a)).toBe(3);
    expect(Math.max(...b)).toBe(4);
    // Uniform for a non-power-of-two n (chi-square over 7 bins, 6 degrees of freedom, p ~ 1e-6 bound).
    const c = r.fillInt(new Int32Array(70000), 7);
    const counts = new Array(7).fill(0);
    for (const x of c) counts[x]++;
    const chi2 = counts.reduce((s, k) => s + (k - 10000) ** 2 / 10000, 0);
    expect(chi2).toBeLessThan(35);
    const big = r.fillInt(new Int32Array(1000), 1000);
    expect(Math.max(...big)).toBeLessThan(1000);
    expect(Math.max(...big)).toBeGreaterThan(900);
  });

  it('rejects bad seeds', () => {
    expect(() => new Rng(-1)).toThrow(/seed/);
    expect(() => new Rng(1.5)).toThrow(/seed/);
  });
});

// ------------------------------------------------------------------------------------------------
// Bulk generation (WebAssembly SIMD kernel or TypeScript reference) against the one-block-at-a-time
// stream the Rng implemented before words were generated ahead.

/** The original stream: one Philox block per four words, state (key, counter, index). */
class OneBlockStream {
  private readonly block = new Uint32Array(4);
  private k0: number;
  private k1: number;
  private lo: number;
  private hi: number;
  private idx: number;
  constructor(s: RngState) {
    [this.k0, this.k1] = s.key;
    [this.lo, this.hi] = s.counter;
    this.idx = s.index;
    if (this.idx < 4) {
      const lo = this.lo === 0 ? 0xffffffff : this.lo - 1;
      const hi = this.lo === 0 ? (this.hi - 1) >>> 0 : this.hi;
      philox4x32(lo, hi, 0, 0, this.k0, this.k1, this.block);
    }
  }
  next(): number {
    if (this.idx === 4) {
      philox4x32(this.lo, this.hi, 0, 0, this.k0, this.k1, this.block);
      this.lo = (this.lo + 1) >>> 0;
      if (this.lo === 0) this.hi = (this.hi + 1) >>> 0;
      this.idx = 0;
    }
    return this.block[this.idx++];
  }
  state(): Pick<RngState, 'key' | 'counter' | 'index'> {
    return { key: [this.k0, this.k1], counter: [this.lo, this.hi], index: this.idx };
  }
}


const BACKENDS: RngBackend[] = ['wasm', 'reference'];

describe('Philox bulk generation', () => {
  it('loads the WebAssembly kernel when it is built', () => {
    if (existsSync(rngWasmPath())) expect(rngBackend()).toBe('wasm');
    expect(withBackend('reference', () => rngBackend())).toBe('reference');
  });

  it('the SIMD kernel gives the reference blocks for many keys and counters (low-word and 64-bit wraps)', () => {
    const r = new Rng('philox-keys');
    const cases: [number, number, number, number, number][] = [
      [0, 0, 0, 0, 8],
      [0xffffffff, 0xffffffff, 0xfffffffa, 0, 13], // low word wraps into the high word mid-batch
      [1, 2, 0xfffffffd, 0xffffffff, 9], // the whole 64-bit counter wraps to 0
      [7, 9, 0xffffffff, 3, 4],
      [3, 4, 100, 0, 4096 + 37], // more than one kernel call
    ];
    for (let i = 0; i < 200; i++) cases.push([r.nextU32(), r.nextU32(), r.nextU32(), r.int(3) === 0 ? 0 : r.nextU32(), 1 + r.int(70)]);
    for (const [k0, k1, lo, hi, blocks] of cases) {
      const wasm = withBackend('wasm', () => {
        const out = new Uint32Array(4 * blocks);
        philoxBlocks(k0, k1, lo, hi, blocks, out);
        return out;
      });
      const ref = new Uint32Array(4 * blocks);
      let l = lo;
      let h = hi;
      for (let j = 0; j < blocks; j++) {
        philox4x32(l, h, 0, 0, k0, k1, ref, 4 * j);
        l = (l + 1) >>> 0;
        if (l === 0) h = (h + 1) >>> 0;
      }
      expect(wasm).toEqual(ref);
      const viaReference = new Uint32Array(4 * blocks + 3);
      withBackend('reference', () => philoxBlocks(k0, k1, lo, hi, blocks, viaReference, 3));
      expect(viaReference.subarray(3)).toEqual(ref);
    }
  });

  for (const backend of BACKENDS) {
    it(`draws exactly the one-block stream and reports the same state (${backend})`, () => {
      withBackend(backend, () => {
        const ops = new Rng(`ops-${backend}`);
        const starts: RngState[] = [
          new Rng(42).getState(),
          { key: [5, 6], counter: [0xfffffffe, 7], index: 2, spareNormal: null }, // mid-block, low word about to wrap
          { key: [0xffffffff, 1], counter: [0xffffffff, 0xffffffff], index: 4, spareNormal: null }, // 64-bit wrap
          { key: [9, 9], counter: [17, 0], index: 1, spareNormal: null },
        ];
        for (const start of starts) {
          const rng = Rng.fromState(start);
          const ref = new OneBlockStream(start);
          const buf = new Uint32Array(5000);
          for (let step = 0; step < 300; step++) {
            const op = ops.int(4);
            if (op === 0) {
              expect(rng.nextU32()).toBe(ref.next());
            } else if (op === 1) {
              const count = ops.int(3) === 0 ? ops.int(4500) : ops.int(9);
              rng.fillU32(buf, count);
              for (let i = 0; i < count; i++) expect(buf[i]).toBe(ref.next());
            } else if (op === 2) {
              // fillInt consumes a data-dependent number of words (rejection): replay it on the reference
              const n = [5, 7, 10, 200, 256, 300][ops.int(6)];
              const a = rng.fillInt(new Int32Array(1 + ops.int(700)), n);
              const limit = 256 - (256 % n);
              let i = 0;
              while (i < a.length) {
                if (n > 256) {
                  expect(a[i++]).toBe(refInt(ref, n));
                  continue;
                }
                let w = ref.next();
                for (let j = 0; j < 4 && i < a.length; j++) {
                  const b = w & 0xff;
                  w >>>= 8;
                  if (b < limit) expect(a[i++]).toBe(b % n);
                }
              }
            } else {
              const s = rng.getState();
              expect({ key: s.key, counter: s.counter, index: s.index }).toEqual(ref.state());
              // a stream rebuilt from the saved state continues identically
              const copy = Rng.fromState(JSON.parse(JSON.stringify(s)));
              const probe = new Uint32Array(37);
              copy.fillU32(probe);
              const expected = new OneBlockStream(s);
              for (let i = 0; i < 37; i++) expect(probe[i]).toBe(expected.next());
            }
          }
          const s = rng.getState();
          expect({ key: s.key, counter: s.counter, index: s.index }).toEqual(ref.state());
        }
      });
    });
  }

  it('fillU32 checks its count', () => {
    const r = new Rng(1);
    expect(() => r.fillU32(new Uint32Array(4), 5)).toThrow(/count/);
    expect(() => r.fillU32(new Uint32Array(4), -1)).toThrow(/count/);
    expect(r.fillU32(new Uint32Array(4), 0)).toEqual(new Uint32Array(4));
  });

  it('every draw is the same with either backend (pinned words of the kernel path too)', () => {
    const draw = (): number[] => {
      const r = new Rng(2024);
      const out: number[] = [];
      const a = new Int32Array(3000);
      for (let k = 0; k < 5; k++) {
        out.push(r.nextU32(), r.uniform53(), r.normal(), r.int(1000003), r.gamma(0.7));
        r.fillInt(a, [5, 16, 1000][k % 3]);
        out.push(...a.subarray(0, 50), a.reduce((s, x) => s + x, 0));
      }
      return out;
    };
    expect(withBackend('wasm', draw)).toEqual(withBackend('reference', draw));
    expect(withBackend('wasm', () => new Rng(42).fillU32(new Uint32Array(6)))).toEqual(
      Uint32Array.from([2632642643, 2012563771, 314527917, 1463989207, 4242219303, 1404726525]),
    );
  });
});

/** Rng.int on the one-block stream (Lemire with rejection), for n > 256. */
function refInt(s: OneBlockStream, n: number): number {
  const TWO32 = 4294967296;
  let m = s.next() * n;
  let l = m % TWO32;
  if (l < n) {
    const threshold = (TWO32 - n) % n;
    while (l < threshold) {
      m = s.next() * n;
      l = m % TWO32;
    }
  }
  return Math.floor(m / TWO32);
}
