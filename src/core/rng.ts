/**
 * Counter-based, splittable random number generator: Philox4x32-10 (Salmon et al., "Parallel random
 * numbers: as easy as 1, 2, 3", SC'11). The output is a pure function of (key, counter), so a stream
 * can be split into independent child streams by deriving new keys, and its whole state is four
 * numbers that checkpoints can save. Results are bit-identical on every machine: only 32-bit integer
 * arithmetic and IEEE double operations with exact results are used to produce the raw words.
 *
 * Words are generated ahead in batches of blocks (the counter makes block j of a batch simply
 * counter + j), by a WebAssembly SIMD kernel (`assembly/rng.ts`, compiled to build/core/rng.wasm)
 * when it is built, otherwise by {@link philox4x32} below, which stays the reference. Generating
 * ahead changes nothing observable: every draw, and the state that {@link Rng.getState} reports, is
 * the same as drawing one block at a time. The same module holds the Box-Muller kernel of the
 * environments' reward noise ({@link normalKernel}).
 */
import { readFileSync } from 'node:fs';

const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;
const TWO32 = 4294967296;
const INV32 = 1 / TWO32;
const INV53 = 1 / 9007199254740992;

/** High 32 bits of the 64-bit product of two unsigned 32-bit integers (exact, from 16-bit parts). */
export function mulhi(a: number, b: number): number {
  const al = a & 0xffff;
  const ah = a >>> 16;
  const bl = b & 0xffff;
  const bh = b >>> 16;
  const ll = al * bl; // each partial product < 2^32, exact
  const lh = al * bh;
  const hl = ah * bl;
  const hh = ah * bh;
  const mid = (ll >>> 16) + (lh & 0xffff) + (hl & 0xffff);
  return (hh + (lh >>> 16) + (hl >>> 16) + (mid >>> 16)) >>> 0;
}

/**
 * One Philox4x32-10 block: writes 4 words for counter (c0..c3) and key (k0, k1) into out[o..o+3].
 */
export function philox4x32(
  c0: number,
  c1: number,
  c2: number,
  c3: number,
  k0: number,
  k1: number,
  out: Uint32Array,
  o = 0,
): void {
  for (let r = 0; r < 10; r++) {
    const hi0 = mulhi(M0, c0);
    const lo0 = Math.imul(M0, c0) >>> 0;
    const hi1 = mulhi(M1, c2);
    const lo1 = Math.imul(M1, c2) >>> 0;
    c0 = (hi1 ^ c1 ^ k0) >>> 0;
    c1 = lo1;
    c2 = (hi0 ^ c3 ^ k1) >>> 0;
    c3 = lo0;
    k0 = (k0 + W0) >>> 0;
    k1 = (k1 + W1) >>> 0;
  }
  out[o] = c0;
  out[o + 1] = c1;
  out[o + 2] = c2;
  out[o + 3] = c3;
}

/** FNV-1a 32-bit hash of a string, used to turn a split label into a number. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

// --------------------------------------------------------------------------------------------
// block generation: WebAssembly SIMD kernel, or the TypeScript reference

/** Minimal typings of the WebAssembly JS API (the project compiles without the DOM library). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: Record<string, Record<string, unknown>>) => { readonly exports: Record<string, unknown> };
}

interface RngKernel {
  fill: (k0: number, k1: number, ctrLo: number, ctrHi: number, blocks: number) => void;
  /** the kernel's output buffer: maxBlocks * 4 words */
  view: Uint32Array;
  maxBlocks: number;
  /** the Box-Muller kernel of the same module (null in a module built before it) */
  normal: NormalKernel | null;
}

/**
 * Box-Muller in the RNG's WebAssembly module, with exact ports of fdlibm's log, sin and cos
 * (`assembly/fdlibm.ts`): for count words in words[0..count) (count even, at most `max`),
 * `boxMuller(count, sd)` writes deviates[j] = r cos(th), deviates[j + 1] = r sin(th) for each pair
 * j = 0, 2, ..., with u1 = 1 - words[j] 2^-32, u2 = words[j + 1] 2^-32, r = sd sqrt(-2 log(u1)),
 * th = 2 pi u2, bit for bit what those formulas give with Math.log, Math.cos and Math.sin on Node.js
 * 20 (V8's fdlibm). `words` and `deviates` are views of the module's memory.
 */
export interface NormalKernel {
  boxMuller: (count: number, sd: number) => void;
  words: Uint32Array;
  deviates: Float64Array;
  max: number;
  /** fdlibm log, sin and cos one value at a time (for tests) */
  log: (x: number) => number;
  sin: (x: number) => number;
  cos: (x: number) => number;
}

/** Which block generator an {@link Rng} uses: the WebAssembly SIMD kernel or the TypeScript reference. */
export type RngBackend = 'wasm' | 'reference';

let kernel: RngKernel | null | undefined; // undefined: not loaded yet
let kernelError = '';
let wantWasm = process.env.ICRL_RNG !== 'reference';

/** Location of the compiled kernel (same relative path from src/core and dist/core). */
export function rngWasmPath(): URL {
  return new URL('../../build/core/rng.wasm', import.meta.url);
}

function loadKernel(): RngKernel | null {
  const api = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;
  if (!api) {
    kernelError = 'no WebAssembly in this runtime';
    return null;
  }
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(rngWasmPath());
  } catch {
    kernelError = `${rngWasmPath().pathname} not found (run npm run build:wasm)`;
    return null;
  }
  try {
    const ex = new api.Instance(new api.Module(bytes), {}).exports as {
      memory: { buffer: ArrayBuffer };
      outPtr: () => number;
      maxBlocks: () => number;
      philoxFill: RngKernel['fill'];
      boxMuller?: NormalKernel['boxMuller'];
      maxDeviates: () => number;
      wordsPtr: () => number;
      deviatesPtr: () => number;
      mathLog: NormalKernel['log'];
      mathSin: NormalKernel['sin'];
      mathCos: NormalKernel['cos'];
    };
    const maxBlocks = ex.maxBlocks();
    let normal: NormalKernel | null = null;
    if (ex.boxMuller) {
      const max = ex.maxDeviates();
      normal = {
        boxMuller: ex.boxMuller,
        words: new Uint32Array(ex.memory.buffer, ex.wordsPtr(), max),
        deviates: new Float64Array(ex.memory.buffer, ex.deviatesPtr(), max),
        max,
        log: ex.mathLog,
        sin: ex.mathSin,
        cos: ex.mathCos,
      };
    }
    return { fill: ex.philoxFill, view: new Uint32Array(ex.memory.buffer, ex.outPtr(), maxBlocks * 4), maxBlocks, normal };
  } catch (e) {
    kernelError = `cannot instantiate ${rngWasmPath().pathname}: ${(e as Error).message}`;
    return null;
  }
}

function getKernel(): RngKernel | null {
  if (!wantWasm) return null;
  if (kernel === undefined) kernel = loadKernel();
  return kernel;
}

/**
 * Chooses the block generator of every {@link Rng} ('wasm' falls back to 'reference' when the
 * kernel cannot be loaded; see {@link rngBackend}). Both give the same words; the environment
 * variable ICRL_RNG=reference selects the reference at start-up. Returns the backend in use.
 */
export function setRngBackend(backend: RngBackend): RngBackend {
  wantWasm = backend === 'wasm';
  return rngBackend();
}

/** The block generator in use. */
export function rngBackend(): RngBackend {
  return getKernel() ? 'wasm' : 'reference';
}

/**
 * The Box-Muller kernel ({@link NormalKernel}) when the WebAssembly module is in use (backend
 * 'wasm'), else null: callers then compute the same numbers with Math.log, Math.cos and Math.sin.
 */
export function normalKernel(): NormalKernel | null {
  const k = getKernel();
  return k ? k.normal : null;
}

/** Why the kernel is not in use ('' when it is). */
export function rngWasmError(): string {
  return wantWasm ? (getKernel(), kernelError) : 'reference selected';
}

/** Below this many blocks the TypeScript reference is used (no call into the kernel). */
const KERNEL_MIN_BLOCKS = 4;

/**
 * Writes blocks ctr, ctr + 1, ..., ctr + blocks - 1 (ctr = ctrHi * 2^32 + ctrLo; counter words 2
 * and 3 zero) of key (k0, k1) into out[o..o + 4 * blocks).
 */
export function philoxBlocks(k0: number, k1: number, ctrLo: number, ctrHi: number, blocks: number, out: Uint32Array, o = 0): void {
  const kern = blocks >= KERNEL_MIN_BLOCKS ? getKernel() : null;
  let lo = ctrLo >>> 0;
  let hi = ctrHi >>> 0;
  if (kern) {
    while (blocks > 0) {
      const b = Math.min(blocks, kern.maxBlocks);
      kern.fill(k0, k1, lo, hi, b);
      out.set(b === kern.maxBlocks ? kern.view : kern.view.subarray(0, 4 * b), o);
      o += 4 * b;
      blocks -= b;
      lo += b;
      if (lo >= TWO32) {
        lo -= TWO32;
        hi = (hi + 1) >>> 0;
      }
    }
    return;
  }
  for (let j = 0; j < blocks; j++) {
    philox4x32(lo, hi, 0, 0, k0, k1, out, o + 4 * j);
    lo = (lo + 1) >>> 0;
    if (lo === 0) hi = (hi + 1) >>> 0;
  }
}

/** Blocks generated ahead by a busy stream (the first refill makes 1, each next one twice as many). */
const MAX_AHEAD_BLOCKS = 256;

/** The complete state of an {@link Rng}: enough to continue the exact same stream later. */
export interface RngState {
  key: [number, number];
  /** Block counter (low word, high word); the remaining counter words hold the stream tag. */
  counter: [number, number];
  /** Index of the next unused word of the current block (0..4; 4 = block exhausted). */
  index: number;
  /** A second normal deviate kept from the last Box-Muller pair, or null. */
  spareNormal: number | null;
}

/** Seed accepted by {@link Rng}: a non-negative safe integer or a string. */
export type Seed = number | string;

function seedToKey(seed: Seed): [number, number] {
  if (typeof seed === 'string') return [hashString(seed), hashString(`icrl:${seed}`)];
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new RangeError(`seed must be a non-negative safe integer or a string, got ${seed}`);
  }
  return [seed >>> 0, Math.floor(seed / TWO32) >>> 0];
}

/** (lo, hi) + n for a 64-bit counter held as two 32-bit words, 0 <= n < 2^32 (wraps at 2^64). */
function addCounter(lo: number, hi: number, n: number): [number, number] {
  const s = lo + n;
  return s >= TWO32 ? [s - TWO32, (hi + 1) >>> 0] : [s, hi];
}

/**
 * Seeded Philox stream. Draws come in blocks of four 32-bit words; the block counter is 64 bits
 * wide, so a stream never repeats in practice.
 */
export class Rng {
  private k0: number;
  private k1: number;
  // Words generated ahead: buf[0..end) holds blocks base, base + 1, ... (base = baseHi * 2^32 +
  // baseLo), and buf[pos] is the next word to return. The stream's position is 4 * base + pos.
  private baseLo = 0;
  private baseHi = 0;
  private buf = new Uint32Array(4);
  private pos = 0;
  private end = 0;
  /** blocks the next refill generates */
  private ahead = 1;
  private spare: number | null = null;

  constructor(seed: Seed = 0) {
    [this.k0, this.k1] = seedToKey(seed);
  }

  /** Rebuilds a stream from a saved state. */
  static fromState(state: RngState): Rng {
    const r = new Rng(0);
    r.setState(state);
    return r;
  }

  getState(): RngState {
    // The block of the last word drawn is counter - 1; index 4 when that block is used up.
    const r = this.pos & 3;
    const [lo, hi] = addCounter(this.baseLo, this.baseHi, (this.pos >>> 2) + (r === 0 ? 0 : 1));
    return {
      key: [this.k0, this.k1],
      counter: [lo, hi],
      index: r === 0 ? 4 : r,
      spareNormal: this.spare,
    };
  }

  setState(state: RngState): void {
    this.k0 = state.key[0] >>> 0;
    this.k1 = state.key[1] >>> 0;
    this.spare = state.spareNormal;
    this.ahead = 1;
    let lo = state.counter[0] >>> 0;
    let hi = state.counter[1] >>> 0;
    if (state.index < 4) {
      // counter already points past the current block; regenerate the block at counter - 1
      if (lo === 0) {
        lo = 0xffffffff;
        hi = (hi - 1) >>> 0;
      } else lo -= 1;
      philox4x32(lo, hi, 0, 0, this.k0, this.k1, this.buf);
      this.pos = state.index;
      this.end = 4;
    } else {
      this.pos = 0;
      this.end = 0;
    }
    this.baseLo = lo;
    this.baseHi = hi;
  }

  /**
   * An independent child stream named by `label` (a number or a string). The parent stream is not
   * advanced: the same parent and label always give the same child.
   */
  split(label: number | string): Rng {
    const tag = typeof label === 'string' ? hashString(label) : label >>> 0;
    const tagHi = typeof label === 'string' ? 0x5eed5eed : Math.floor(label / TWO32) >>> 0;
    const out = new Uint32Array(4);
    philox4x32(tag, tagHi, 0x243f6a88, 0x85a308d3, this.k0, this.k1, out);
    const child = new Rng(0);
    child.k0 = out[0];
    child.k1 = (out[1] ^ out[2]) >>> 0; // unsigned like every key word (the stream is the same either way; saved states compare)
    return child;
  }

  /** A uniformly distributed unsigned 32-bit integer. */
  nextU32(): number {
    if (this.pos === this.end) this.refill();
    return this.buf[this.pos++];
  }

  /** Generates the next blocks once every buffered word is used (pos === end). */
  private refill(): void {
    [this.baseLo, this.baseHi] = addCounter(this.baseLo, this.baseHi, this.end >>> 2);
    const blocks = this.ahead;
    if (blocks < MAX_AHEAD_BLOCKS) this.ahead = blocks * 2;
    if (this.buf.length < 4 * blocks) this.buf = new Uint32Array(4 * blocks);
    philoxBlocks(this.k0, this.k1, this.baseLo, this.baseHi, blocks, this.buf, 0);
    this.pos = 0;
    this.end = 4 * blocks;
  }

  /**
   * Fills out[0..count) with the next `count` words: exactly what `count` calls of {@link nextU32}
   * return, leaving the stream in the same state as they would.
   */
  fillU32(out: Uint32Array, count: number = out.length): Uint32Array {
    if (!Number.isInteger(count) || count < 0 || count > out.length) {
      throw new RangeError(`fillU32: count must be an integer in [0, ${out.length}], got ${count}`);
    }
    let i = Math.min(count, this.end - this.pos);
    if (i > 16) {
      out.set(this.buf.subarray(this.pos, this.pos + i));
      this.pos += i;
    } else {
      // a few words: a loop is cheaper than a subarray view
      const buf = this.buf;
      let p = this.pos;
      for (let j = 0; j < i; j++) out[j] = buf[p++];
      this.pos = p;
    }
    const blocks = (count - i) >>> 2;
    if (blocks > 0) {
      // whole blocks straight into `out` (the buffer is used up here)
      const [lo, hi] = addCounter(this.baseLo, this.baseHi, this.end >>> 2);
      philoxBlocks(this.k0, this.k1, lo, hi, blocks, out, i);
      [this.baseLo, this.baseHi] = addCounter(lo, hi, blocks);
      this.pos = 0;
      this.end = 0;
      i += 4 * blocks;
    }
    while (i < count) out[i++] = this.nextU32();
    return out;
  }

  /** Uniform in [0, 1) with 32 bits of resolution. */
  uniform(): number {
    return this.nextU32() * INV32;
  }

  /** Uniform in [0, 1) with 53 bits of resolution. */
  uniform53(): number {
    const a = this.nextU32() >>> 5;
    const b = this.nextU32() >>> 6;
    return (a * 67108864 + b) * INV53;
  }

  /** Uniform in [low, high). */
  uniformRange(low: number, high: number): number {
    return low + (high - low) * this.uniform53();
  }

  /** Integer uniform in [0, n) without modulo bias (Lemire's method with rejection), n <= 2^32. */
  int(n: number): number {
    if (!(n >= 1) || n > TWO32 || !Number.isInteger(n)) {
      throw new RangeError(`int(n) needs an integer 1 <= n <= 2^32, got ${n}`);
    }
    if (n === 1) return 0;
    let m = this.nextU32() * n;
    let l = m % TWO32;
    if (l < n) {
      const threshold = (TWO32 - n) % n;
      while (l < threshold) {
        m = this.nextU32() * n;
        l = m % TWO32;
      }
    }
    return Math.floor(m / TWO32);
  }

  /** Integer uniform in [low, high] (both inclusive). */
  intRange(low: number, high: number): number {
    return low + this.int(high - low + 1);
  }

  /** Standard normal deviate (Box-Muller; the second deviate of a pair is kept for the next call). */
  normal(mean = 0, sd = 1): number {
    if (this.spare !== null) {
      const z = this.spare;
      this.spare = null;
      return mean + sd * z;
    }
    let u1 = this.uniform53();
    while (u1 === 0) u1 = this.uniform53();
    const u2 = this.uniform53();
    const r = Math.sqrt(-2 * Math.log(u1));
    const th = 2 * Math.PI * u2;
    this.spare = r * Math.sin(th);
    return mean + sd * r * Math.cos(th);
  }

  /** Gamma(shape, scale) deviate (Marsaglia and Tsang; shape < 1 by the boost u^(1/shape)). */
  gamma(shape: number, scale = 1): number {
    if (!(shape > 0) || !(scale > 0)) throw new RangeError(`gamma needs shape > 0 and scale > 0, got ${shape}, ${scale}`);
    if (shape < 1) {
      let u = this.uniform53();
      while (u === 0) u = this.uniform53();
      return this.gamma(shape + 1, scale) * Math.pow(u, 1 / shape);
    }
    const d = shape - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      let x: number;
      let v: number;
      do {
        x = this.normal();
        v = 1 + c * x;
      } while (v <= 0);
      v = v * v * v;
      const u = this.uniform53();
      if (u < 1 - 0.0331 * x * x * x * x) return d * v * scale;
      if (u > 0 && Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v * scale;
    }
  }

  /** Beta(a, b) deviate. */
  beta(a: number, b: number): number {
    const x = this.gamma(a);
    const y = this.gamma(b);
    return x / (x + y);
  }

  /** Dirichlet deviate with concentration `alpha` (a probability vector). */
  dirichlet(alpha: ArrayLike<number>): Float64Array {
    const out = new Float64Array(alpha.length);
    let s = 0;
    for (let i = 0; i < alpha.length; i++) {
      out[i] = this.gamma(alpha[i]);
      s += out[i];
    }
    for (let i = 0; i < out.length; i++) out[i] /= s;
    return out;
  }

  /** Bernoulli(p) as 0 or 1. */
  bernoulli(p: number): number {
    return this.uniform53() < p ? 1 : 0;
  }

  /** A uniformly random permutation of 0..n-1 (Fisher-Yates). */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    this.shuffle(p);
    return p;
  }

  /** Shuffles an array in place (Fisher-Yates) and returns it. */
  shuffle<T extends { length: number; [i: number]: unknown }>(a: T): T {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
    return a;
  }

  /** Index drawn with probability proportional to non-negative `weights`. */
  choice(weights: ArrayLike<number>): number {
    let total = 0;
    for (let i = 0; i < weights.length; i++) {
      const w = weights[i];
      if (!(w >= 0) || !Number.isFinite(w)) throw new RangeError(`choice: weight ${i} is ${w}; weights must be finite and >= 0`);
      total += w;
    }
    if (!(total > 0)) throw new RangeError('choice: weights sum to 0');
    let u = this.uniform53() * total;
    for (let i = 0; i < weights.length; i++) {
      u -= weights[i];
      if (u < 0) return i;
    }
    // rounding: return the last index with positive weight
    for (let i = weights.length - 1; i >= 0; i--) if (weights[i] > 0) return i;
    return weights.length - 1;
  }

  /** Fills `out` with uniform [0, 1) values. */
  fillUniform(out: Float32Array | Float64Array): typeof out {
    for (let i = 0; i < out.length; i++) out[i] = this.uniform();
    return out;
  }

  /** Fills `out` with standard normal values. */
  fillNormal(out: Float32Array | Float64Array, mean = 0, sd = 1): typeof out {
    for (let i = 0; i < out.length; i++) out[i] = this.normal(mean, sd);
    return out;
  }

  /**
   * Fills `out` with integers uniform in [0, n). For n a power of two, and for n <= 256, each
   * 32-bit word gives several values; otherwise the multiply-shift of {@link int} is used.
   */
  fillInt(out: Int32Array | Uint8Array | Uint32Array, n: number): typeof out {
    if (n >= 1 && n <= 65536 && (n & (n - 1)) === 0) {
      const bits = Math.max(1, Math.log2(n));
      const per = Math.floor(32 / bits);
      const mask = n - 1;
      let i = 0;
      while (i < out.length) {
        let w = this.nextU32();
        for (let j = 0; j < per && i < out.length; j++, i++) {
          out[i] = w & mask;
          w >>>= bits;
        }
      }
      return out;
    }
    if (n >= 1 && n <= 256 && Number.isInteger(n)) {
      // Four 8-bit draws per word, each accepted below the largest multiple of n (unbiased
      // rejection; a byte is rejected with probability (256 mod n) / 256).
      const limit = 256 - (256 % n);
      let i = 0;
      while (i < out.length) {
        let w = this.nextU32();
        for (let j = 0; j < 4 && i < out.length; j++) {
          const b = w & 0xff;
          w >>>= 8;
          if (b < limit) out[i++] = b % n;
        }
      }
      return out;
    }
    for (let i = 0; i < out.length; i++) out[i] = this.int(n);
    return out;
  }
}
