/**
 * Helpers shared by the environment families: option parsing with clear errors, action checks that
 * name the instance and the value, and the task assignment used by every family. The stepping loops
 * themselves live in each family's class so that every hot loop stays monomorphic.
 */
import { z } from 'zod';
import { OutOfSpaceError } from '../core/errors.js';
import { validateConfig } from '../core/config.js';
import type { Task, TaskSpace } from '../tasks/taskSpace.js';
import type { ActionArray } from './types.js';
import { normalKernel, type Rng } from '../core/rng.js';

/** Parses family options with a strict zod schema; an unknown or bad option raises a ConfigError naming it. */
export function parseOptions<S extends z.ZodType>(family: string, schema: S, options: Record<string, unknown> | undefined): z.output<S> {
  return validateConfig(schema, options ?? {}, `${family} options`);
}

/**
 * Checks that `actions` holds one integer action per instance in [0, numActions). Runs before any
 * state changes so that a bad action leaves every instance untouched.
 */
export function checkDiscreteActions(family: string, actions: ActionArray, numEnvs: number, numActions: number): asserts actions is Int32Array {
  if (!(actions instanceof Int32Array)) {
    throw new OutOfSpaceError(`${family}: actions must be an Int32Array of ${numEnvs} discrete actions, got ${describeArray(actions)}`);
  }
  if (actions.length < numEnvs) {
    throw new OutOfSpaceError(`${family}: expected ${numEnvs} actions (one per instance), got ${actions.length}`);
  }
  let bad = 0;
  for (let i = 0; i < numEnvs; i++) bad |= (actions[i] >>> 0) >= numActions ? 1 : 0;
  if (bad !== 0) {
    for (let i = 0; i < numEnvs; i++) {
      const a = actions[i];
      if (a < 0 || a >= numActions) {
        throw new OutOfSpaceError(`${family}: action of instance ${i} is ${a}; expected an integer in {0..${numActions - 1}}`);
      }
    }
  }
}

/** Checks continuous actions (numEnvs x actDim) against [low, high] per coordinate; never clamps. */
export function checkBoxActions(family: string, actions: ActionArray, numEnvs: number, actDim: number, low: number, high: number): asserts actions is Float32Array {
  if (!(actions instanceof Float32Array)) {
    throw new OutOfSpaceError(`${family}: actions must be a Float32Array of ${numEnvs} x ${actDim} values, got ${describeArray(actions)}`);
  }
  const n = numEnvs * actDim;
  if (actions.length < n) throw new OutOfSpaceError(`${family}: expected ${n} action values (${numEnvs} instances x ${actDim}), got ${actions.length}`);
  // Float32 bounds: the float32 nearest to 0.1 is slightly above 0.1, and an action written as 0.1 must pass.
  const lo = Math.fround(low);
  const hi = Math.fround(high);
  for (let k = 0; k < n; k++) {
    const a = actions[k];
    if (!(a >= lo && a <= hi)) {
      const i = Math.floor(k / actDim);
      throw new OutOfSpaceError(`${family}: action of instance ${i} is [${Array.from(actions.subarray(i * actDim, i * actDim + actDim), shortF32).join(', ')}]; coordinate ${k % actDim} must be in [${low}, ${high}] (actions are not clamped)`);
    }
  }
}

/** Shortest decimal that reads back as the same float32 (0.11 rather than 0.10999999940395355). */
function shortF32(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  for (let p = 1; p <= 9; p++) {
    const t = Number(v.toPrecision(p));
    if (Math.fround(t) === v) return String(t);
  }
  return String(v);
}

function describeArray(a: unknown): string {
  if (a === null || a === undefined) return String(a);
  const c = (a as object).constructor;
  return c ? c.name : typeof a;
}

/** Validates `tasks` (length numEnvs, or 1 for all) and calls `assign(i, task)` for every instance. */
export function assignTasks(space: TaskSpace, numEnvs: number, tasks: Task[], assign: (i: number, task: Task) => void): void {
  if (!Array.isArray(tasks) || (tasks.length !== numEnvs && tasks.length !== 1)) {
    throw new OutOfSpaceError(`${space.family}: setTasks needs ${numEnvs} tasks (one per instance) or 1 task for all, got ${Array.isArray(tasks) ? tasks.length : typeof tasks}`);
  }
  const checked = tasks.map((t, i) => {
    try {
      return space.check(t);
    } catch (e) {
      if (e instanceof OutOfSpaceError) throw new OutOfSpaceError(`task of instance ${i}: ${e.message}`);
      throw e;
    }
  });
  for (let i = 0; i < numEnvs; i++) assign(i, checked.length === 1 ? checked[0] : checked[i]);
}

/** Checks an instance index given to oracle and per-instance methods. */
export function checkInstance(family: string, i: number, numEnvs: number): void {
  if (!Number.isInteger(i) || i < 0 || i >= numEnvs) throw new OutOfSpaceError(`${family}: instance ${i} does not exist (0..${numEnvs - 1})`);
}

/** Moves on a grid: action 0 = x+1, 1 = x-1, 2 = y+1, 3 = y-1, 4 = stay (DPT's Dark Room order). */
export const GRID_DX = Int32Array.from([1, -1, 0, 0, 0]);
export const GRID_DY = Int32Array.from([0, 0, 1, -1, 0]);

/**
 * Transition tables of an empty size x size room with the 5 grid actions: next[cell * 5 + a] is the
 * cell reached (a move into a wall stays put); cellX / cellY are the coordinates of each cell.
 */
export function gridTables(size: number): { next: Int32Array; cellX: Float32Array; cellY: Float32Array } {
  const s = size;
  const next = new Int32Array(s * s * 5);
  const cellX = new Float32Array(s * s);
  const cellY = new Float32Array(s * s);
  for (let y = 0; y < s; y++) {
    for (let x = 0; x < s; x++) {
      const c = y * s + x;
      cellX[c] = x;
      cellY[c] = y;
      for (let a = 0; a < 5; a++) {
        const nx = x + GRID_DX[a];
        const ny = y + GRID_DY[a];
        next[c * 5 + a] = nx < 0 || nx >= s || ny < 0 || ny >= s ? c : ny * s + nx;
      }
    }
  }
  return { next, cellX, cellY };
}

/** Greedy grid move from (x, y) toward (tx, ty) in the base action order (4 = stay when there). */
export function gridMoveToward(x: number, y: number, tx: number, ty: number): number {
  if (tx > x) return 0;
  if (tx < x) return 1;
  if (ty > y) return 2;
  if (ty < y) return 3;
  return 4;
}

/** All 120 permutations of the 5 grid actions in lexicographic order (index = task parameter `perm`). */
export const ACTION_PERMUTATIONS: readonly Int32Array[] = (() => {
  const out: Int32Array[] = [];
  const rec = (prefix: number[], rest: number[]): void => {
    if (rest.length === 0) {
      out.push(Int32Array.from(prefix));
      return;
    }
    for (let k = 0; k < rest.length; k++) rec([...prefix, rest[k]], [...rest.slice(0, k), ...rest.slice(k + 1)]);
  };
  rec([], [0, 1, 2, 3, 4]);
  return out;
})();

/** Words drawn per chunk by the noise helpers (even, so Box-Muller pairs never straddle chunks). */
const NOISE_CHUNK = 4096;
const noiseWords = new Uint32Array(NOISE_CHUNK);
const INV32 = 1 / 4294967296;
/** Below this many words the noise helpers draw them one by one. */
const SMALL_BATCH = 16;

/**
 * Fills out[0..n) with mean[k] + sd * z_k, z_k standard normal, by Box-Muller over pairs of 32-bit
 * uniforms (one RNG word per deviate, half of what `Rng.normal` draws with 53-bit uniforms; 32 bits
 * cap |z| at 6.66, far beyond what a reward noise needs). `mean` is read through `index`. The words
 * come in bulk from `rng.fillU32`, in the order one `rng.uniform()` per uniform would draw them
 * (u1, u2 of each pair; an odd n draws a last full pair and drops its sine). With the RNG's
 * WebAssembly module in use, Box-Muller runs there (`normalKernel`, fdlibm's log, sin and cos ported
 * bit for bit), giving the same numbers as the Math.* loop below, which stays the reference.
 */
export function addGaussianNoise(rng: Rng, sd: number, n: number, base: Float64Array, index: Int32Array, stride: number, out: Float32Array): void {
  const TWO_PI = 2 * Math.PI;
  const words = n + (n & 1);
  const kern = words >= SMALL_BATCH ? normalKernel() : null;
  if (kern) {
    // the same formulas in WebAssembly (fdlibm's log, sin and cos, bit for bit those of Math.*)
    const kw = kern.words;
    const dev = kern.deviates;
    const chunk = Math.min(NOISE_CHUNK, kern.max);
    for (let start = 0; start < words; start += chunk) {
      const c = Math.min(chunk, words - start);
      rng.fillU32(kw, c);
      kern.boxMuller(c, sd);
      const stop = Math.min(n, start + c);
      for (let i = start, j = 0; i < stop; i++, j++) out[i] = base[i * stride + index[i]] + dev[j];
    }
    return;
  }
  const w = noiseWords;
  if (words < SMALL_BATCH) {
    // a few instances: the words one by one (a bulk fill costs more than it saves here)
    for (let j = 0; j < words; j++) w[j] = rng.nextU32();
  }
  for (let start = 0; start < words; start += NOISE_CHUNK) {
    const c = Math.min(NOISE_CHUNK, words - start);
    if (words >= SMALL_BATCH) rng.fillU32(w, c);
    const stop = Math.min(n, start + c);
    let i = start;
    for (; i + 1 < stop; i += 2) {
      const u1 = 1 - w[i - start] * INV32; // (0, 1]
      const u2 = w[i - start + 1] * INV32;
      const r = sd * Math.sqrt(-2 * Math.log(u1));
      const th = TWO_PI * u2;
      out[i] = base[i * stride + index[i]] + r * Math.cos(th);
      out[i + 1] = base[(i + 1) * stride + index[i + 1]] + r * Math.sin(th);
    }
    if (i < stop) {
      const u1 = 1 - w[i - start] * INV32;
      const u2 = w[i - start + 1] * INV32;
      out[i] = base[i * stride + index[i]] + sd * Math.sqrt(-2 * Math.log(u1)) * Math.cos(TWO_PI * u2);
    }
  }
}

/** out[i] = 1 with probability p[i * stride + index[i]], else 0: one RNG word per instance, as `rng.uniform() < p`. */
export function addBernoulli(rng: Rng, n: number, p: Float64Array, index: Int32Array, stride: number, out: Float32Array): void {
  if (n < SMALL_BATCH) {
    for (let i = 0; i < n; i++) out[i] = rng.nextU32() * INV32 < p[i * stride + index[i]] ? 1 : 0;
    return;
  }
  const w = noiseWords;
  for (let start = 0; start < n; start += NOISE_CHUNK) {
    const c = Math.min(NOISE_CHUNK, n - start);
    rng.fillU32(w, c);
    for (let j = 0, i = start; j < c; j++, i++) out[i] = w[j] * INV32 < p[i * stride + index[i]] ? 1 : 0;
  }
}
