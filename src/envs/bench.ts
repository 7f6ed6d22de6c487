/**
 * Environment throughput (PROTOCOLS.md): random actions from the project's RNG, automatic reset,
 * 1,000 steps per run, single instance and 4,096 instances, steps per second per family. Two action
 * modes, labelled in every figure:
 * - `rng-in-loop` (the honest default): a fresh random action array is drawn with the RNG before every
 *   step, inside the timed region, so the figure includes action generation;
 * - `pregenerated`: 16 random action arrays drawn before timing and cycled, so the figure is the
 *   environment's own stepping rate.
 * Each measurement is repeated and the median rate reported; the first run (JIT warm-up) is not timed.
 */
import { Rng } from '../core/rng.js';
import { getFamily } from './index.js';
import type { ActionArray, BatchedEnv } from './types.js';

export type ActionMode = 'rng-in-loop' | 'pregenerated';

export interface BenchCase {
  family: string;
  variant: string;
  options: Record<string, unknown>;
}

/** Every family with its default options, plus the variants whose cost differs (noise, permutation, size). */
export const BENCH_CASES: readonly BenchCase[] = [
  { family: 'bandit', variant: 'gaussian sd 0.3', options: {} },
  { family: 'bandit', variant: 'noise off (evaluation)', options: { noiseSd: 0 } },
  { family: 'bandit', variant: 'bernoulli', options: { reward: 'bernoulli' } },
  { family: 'linear-bandit', variant: '10 arms, d 5, sd 0.3', options: {} },
  { family: 'darkroom', variant: '10x10', options: {} },
  { family: 'darkroom', variant: 'permuted', options: { permuted: true } },
  { family: 'darkroom', variant: '20x20', options: { size: 20 } },
  { family: 'dark-key-to-door', variant: '8x8', options: {} },
  { family: 'point-robot', variant: 'default', options: {} },
];

export interface BenchOptions {
  instances: number;
  steps: number;
  actions: ActionMode;
  /** Timed runs per figure (at least 1); single-instance figures repeat until `minSeconds`. */
  runs: number;
  /** Minimum timed seconds per figure (runs are added until reached). */
  minSeconds: number;
  seed: number;
}

export interface BenchResult {
  bench: 'envs';
  family: string;
  variant: string;
  instances: number;
  steps: number;
  actions: ActionMode;
  runs: number;
  steps_per_s: number;
  /** Slowest and fastest run rates, to show the spread on a shared machine. */
  min_steps_per_s: number;
  max_steps_per_s: number;
}

/** Fills `out` with uniformly random valid actions of `env`. */
export function randomActions(env: BatchedEnv, rng: Rng, out: ActionArray): void {
  if (env.numActions > 0) {
    rng.fillInt(out as Int32Array, env.numActions);
    return;
  }
  const f = out as Float32Array;
  rng.fillUniform(f);
  const space = env.actionSpace.spec;
  if (space.kind !== 'box') throw new Error(`${env.family}: continuous actions need a box action space`);
  const d = env.actDim;
  for (let k = 0; k < f.length; k++) {
    const lo = space.low[k % d];
    const hi = space.high[k % d];
    f[k] = lo + (hi - lo) * f[k];
  }
}

function makeActions(env: BatchedEnv): ActionArray {
  return env.numActions > 0 ? new Int32Array(env.numEnvs) : new Float32Array(env.numEnvs * env.actDim);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** One figure: steps per second of `c` with `opts.instances` instances. */
export function benchCase(c: BenchCase, opts: BenchOptions): BenchResult {
  const rng = new Rng(opts.seed);
  const env = getFamily(c.family).make(opts.instances, c.options, rng.split('tasks'));
  env.reset(opts.seed);
  const actRng = rng.split('actions');
  const act = makeActions(env);
  const pool: ActionArray[] = [];
  if (opts.actions === 'pregenerated') {
    for (let k = 0; k < 16; k++) {
      const a = makeActions(env);
      randomActions(env, actRng, a);
      pool.push(a);
    }
  }
  const steps = opts.steps;
  const oneRun = (): number => {
    const t0 = process.hrtime.bigint();
    if (opts.actions === 'rng-in-loop') {
      for (let s = 0; s < steps; s++) {
        randomActions(env, actRng, act);
        env.step(act);
      }
    } else {
      for (let s = 0; s < steps; s++) env.step(pool[s & 15]);
    }
    return Number(process.hrtime.bigint() - t0) / 1e9;
  };
  oneRun(); // warm-up, not timed
  const rates: number[] = [];
  let total = 0;
  while (rates.length < Math.max(1, opts.runs) || total < opts.minSeconds) {
    const dt = oneRun();
    total += dt;
    rates.push((opts.instances * steps) / dt);
    if (rates.length >= 100_000) break;
  }
  return {
    bench: 'envs',
    family: c.family,
    variant: c.variant,
    instances: opts.instances,
    steps,
    actions: opts.actions,
    runs: rates.length,
    steps_per_s: Math.round(median(rates)),
    min_steps_per_s: Math.round(Math.min(...rates)),
    max_steps_per_s: Math.round(Math.max(...rates)),
  };
}

/** Rate of drawing random actions alone (no environment), to show how much of `rng-in-loop` is the RNG. */
export function benchActionsOnly(numActions: number, opts: BenchOptions): BenchResult {
  const rng = new Rng(opts.seed).split('actions');
  const a = new Int32Array(opts.instances);
  const oneRun = (): number => {
    const t0 = process.hrtime.bigint();
    for (let s = 0; s < opts.steps; s++) rng.fillInt(a, numActions);
    return Number(process.hrtime.bigint() - t0) / 1e9;
  };
  oneRun();
  const rates: number[] = [];
  let total = 0;
  while (rates.length < Math.max(1, opts.runs) || total < opts.minSeconds) {
    const dt = oneRun();
    total += dt;
    rates.push((opts.instances * opts.steps) / dt);
    if (rates.length >= 100_000) break;
  }
  return {
    bench: 'envs',
    family: `(random actions only, fillInt(${numActions}))`,
    variant: 'no environment',
    instances: opts.instances,
    steps: opts.steps,
    actions: 'rng-in-loop',
    runs: rates.length,
    steps_per_s: Math.round(median(rates)),
    min_steps_per_s: Math.round(Math.min(...rates)),
    max_steps_per_s: Math.round(Math.max(...rates)),
  };
}
