/**
 * Environment throughput (docs/protocols.md): random actions from the project's RNG, automatic reset,
 * 1,000 steps per run, single instance and 4,096 instances, steps per second per family. Two action
 * modes, labelled in every figure:
 * - `rng-in-loop` (the honest default): a fresh random action array is drawn with the RNG before every
 *   step, inside the timed region, so the figure includes action generation;
 * - `pregenerated`: 16 random action arrays drawn before timing and cycled, so the figure is the
 *   environment's own stepping rate.
 * Each measurement is repeated and the median rate reported; the first run (JIT warm-up) is not timed.
 * Every figure gives steps per wall-clock second and per second of this process's CPU time: on a
 * machine shared with other work the first measures the sharing as much as the code.
 * The MuJoCo families step about 10^4 - 10^5 times slower than the grids, so their figures use at most
 * `MUJOCO_BENCH_CAP` instances and steps per run (each line says what it ran and what was asked);
 * `mujoco/nativeBench.ts` compares them with native MuJoCo on the same model file.
 */
import { Rng } from '../core/rng.js';
import { getFamily, needsMujoco } from './index.js';
import { ANT_MODEL } from './mujoco/ant.js';
import { CHEETAH_MODEL } from './mujoco/cheetah.js';
import { BatchedXLand, PRESET_NAMES } from './xland/index.js';
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
  { family: 'xland', variant: '9x9 trivial', options: { preset: 'trivial' } },
  { family: 'xland', variant: '9x9 small', options: { preset: 'small' } },
  { family: 'xland', variant: '13x13 four rooms medium', options: { layout: 'four-rooms', preset: 'medium' } },
  { family: 'cheetah-vel', variant: 'default (frame skip 5)', options: {} },
  { family: 'cheetah-dir', variant: 'default (frame skip 5)', options: {} },
  { family: 'ant-dir', variant: 'default (frame skip 5)', options: {} },
  { family: 'walker-param', variant: 'default (frame skip 4, a model per task)', options: {} },
  { family: 'reach', variant: 'default (frame skip 5)', options: {} },
  { family: 'push', variant: 'default (frame skip 5)', options: {} },
];

/** Most instances and steps per timed run of a MuJoCo family's figure (one run stays under ~2 s). */
export const MUJOCO_BENCH_CAP = { instances: 16, steps: 200 } as const;

/** Families compared with native MuJoCo in the same run, and their model files. */
export const NATIVE_BENCH_FAMILIES: readonly { family: string; model: string }[] = [
  { family: 'cheetah-vel', model: CHEETAH_MODEL },
  { family: 'ant-dir', model: ANT_MODEL },
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
  /** Instances / steps asked for, when a MuJoCo family ran fewer (MUJOCO_BENCH_CAP). */
  instances_requested?: number;
  steps_requested?: number;
  /** Median over runs of steps per wall-clock second. */
  steps_per_s: number;
  /** Slowest and fastest run rates, to show the spread on a shared machine. */
  min_steps_per_s: number;
  max_steps_per_s: number;
  /**
   * Median over runs of steps per second of this process's CPU time (user + system): what one core
   * does while it is actually running us; close to steps_per_s on an idle machine, higher when other
   * processes take turns on the core.
   */
  cpu_steps_per_s: number;
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

/** Median of a non-empty list. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** One figure: steps per second of `c` with `opts.instances` instances. */
export function benchCase(c: BenchCase, opts: BenchOptions): BenchResult {
  if (needsMujoco(c.family) && (opts.instances > MUJOCO_BENCH_CAP.instances || opts.steps > MUJOCO_BENCH_CAP.steps)) {
    const capped = { ...opts, instances: Math.min(opts.instances, MUJOCO_BENCH_CAP.instances), steps: Math.min(opts.steps, MUJOCO_BENCH_CAP.steps) };
    return { ...benchCase(c, capped), instances_requested: opts.instances, steps_requested: opts.steps };
  }
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
  const body =
    opts.actions === 'rng-in-loop'
      ? (): void => {
          for (let s = 0; s < steps; s++) {
            randomActions(env, actRng, act);
            env.step(act);
          }
        }
      : (): void => {
          for (let s = 0; s < steps; s++) env.step(pool[s & 15]);
        };
  const res: BenchResult = { bench: 'envs', family: c.family, variant: c.variant, instances: opts.instances, steps, actions: opts.actions, ...measure(body, opts.instances * steps, opts) };
  (env as { close?: () => void }).close?.();
  return res;
}

interface Rates {
  runs: number;
  steps_per_s: number;
  min_steps_per_s: number;
  max_steps_per_s: number;
  cpu_steps_per_s: number;
}

/** Runs `body` once untimed (JIT warm-up), then timed until enough runs (`opts.runs`, 101 for sub-10 ms runs) and `opts.minSeconds` are reached. */
function measure(body: () => void, stepsPerRun: number, opts: BenchOptions): Rates {
  const w0 = process.hrtime.bigint();
  body();
  const warmSeconds = Number(process.hrtime.bigint() - w0) / 1e9;
  // Runs far shorter than a scheduler time slice (single instance: ~20 us) are easily hit by
  // preemption on a shared machine; many of them make the median robust.
  const minRuns = warmSeconds < 0.01 ? Math.max(opts.runs, 101) : Math.max(1, opts.runs);
  const wall: number[] = [];
  const cpu: number[] = [];
  let total = 0;
  while (wall.length < minRuns || total < opts.minSeconds) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    body();
    const dt = Number(process.hrtime.bigint() - t0) / 1e9;
    const c = process.cpuUsage(c0);
    const dc = (c.user + c.system) / 1e6;
    total += dt;
    wall.push(stepsPerRun / dt);
    // cpuUsage has microsecond resolution: a run shorter than that gives no CPU figure
    if (dc > 0) cpu.push(stepsPerRun / dc);
    if (wall.length >= 100_000) break;
  }
  return {
    runs: wall.length,
    steps_per_s: Math.round(median(wall)),
    min_steps_per_s: Math.round(Math.min(...wall)),
    max_steps_per_s: Math.round(Math.max(...wall)),
    cpu_steps_per_s: cpu.length > 0 ? Math.round(median(cpu)) : 0,
  };
}

/** Rate of drawing random actions alone (no environment), to show how much of `rng-in-loop` is the RNG. */
export function benchActionsOnly(numActions: number, opts: BenchOptions): BenchResult {
  const rng = new Rng(opts.seed).split('actions');
  const a = new Int32Array(opts.instances);
  const body = (): void => {
    for (let s = 0; s < opts.steps; s++) rng.fillInt(a, numActions);
  };
  return {
    bench: 'envs',
    family: `(random actions only, fillInt(${numActions}))`,
    variant: 'no environment',
    instances: opts.instances,
    steps: opts.steps,
    actions: 'rng-in-loop',
    ...measure(body, opts.instances * opts.steps, opts),
  };
}

export interface SolverBenchResult {
  bench: 'xland-solver';
  preset: string;
  layout: string;
  rulesets: number;
  /** The solver's bound on distinct states per search (solverMaxStates). */
  state_bound: number;
  solved: number;
  unsolvable: number;
  budget_exceeded: number;
  /** Median, 90th percentile and largest solver time per ruleset (from a start drawn for it), milliseconds. */
  median_ms: number;
  p90_ms: number;
  max_ms: number;
  /** Median distinct states stored per search, and median optimal steps of the solved ones. */
  median_states: number;
  median_steps: number;
  max_states: number;
}

/** Exact-solver time per ruleset of the `xland` family: `count` rulesets of each preset, solved from a start state each. */
export function benchXLandSolver(count: number, seed: number, presets: readonly string[] = PRESET_NAMES, maxStates = 300_000): SolverBenchResult[] {
  const out: SolverBenchResult[] = [];
  for (const preset of presets) {
    const env = new BatchedXLand(count, { preset, placement: 'fixed', solverMaxStates: maxStates }, new Rng(seed).split(`solver-${preset}`));
    const ms: number[] = [];
    const states: number[] = [];
    const steps: number[] = [];
    let solved = 0;
    let unsolvable = 0;
    let budget = 0;
    env.solve(0, true); // warm-up
    for (let i = 0; i < count; i++) {
      const t0 = process.hrtime.bigint();
      const r = env.solve(i, true);
      ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
      states.push(r.states);
      if (r.status === 'solved') {
        solved++;
        steps.push(r.steps);
      } else if (r.status === 'unsolvable') unsolvable++;
      else budget++;
    }
    const q = (xs: number[], p: number): number => {
      if (xs.length === 0) return 0;
      const s = [...xs].sort((a, b) => a - b);
      return s[Math.min(s.length - 1, Math.floor(p * s.length))];
    };
    out.push({
      bench: 'xland-solver',
      preset,
      layout: `${env.options.layout} ${env.options.size}x${env.options.size}`,
      rulesets: count,
      state_bound: maxStates,
      solved,
      unsolvable,
      budget_exceeded: budget,
      median_ms: Number(median(ms).toFixed(3)),
      p90_ms: Number(q(ms, 0.9).toFixed(3)),
      max_ms: Number(Math.max(...ms).toFixed(3)),
      median_states: median(states),
      median_steps: steps.length > 0 ? median(steps) : 0,
      max_states: Math.max(...states),
    });
  }
  return out;
}
