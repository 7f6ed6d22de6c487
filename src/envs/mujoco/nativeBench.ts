/**
 * MuJoCo in WebAssembly against native MuJoCo on the same model file, in the same run.
 *
 * - native: Debian's `mujoco-testspeed MODEL STEPS 1 0.01` (package libmujoco-samples, MuJoCo 2.2.2):
 *   one thread steps the model from its reference pose with Gaussian control noise of sd 0.01;
 * - wasm raw: the same loop (same file, same steps, controls 0.01 N(0, 1) from our RNG) over
 *   `mujoco-js`, one `MjData`, no environment around it;
 * - env: the family itself, 1 instance, random actions in [-1, 1], automatic reset; its rate in
 *   MuJoCo steps per second is environment steps/s x frame skip;
 * - env on 2 threads: two worker threads, each with its own module and an environment of `batch`
 *   instances stepping concurrently (what both cores give; the instances of one environment are not
 *   split over threads).
 * The measurements alternate `runs` times; medians are reported with the ratios wasm / native,
 * and for the engine-against-engine pair also the fastest run of each (the least disturbed on a
 * shared machine) and the rates per CPU second (native: bash's `times` for the child, 10 ms
 * resolution, less the CPU time of a 1-step run, i.e. loading the model). The native file is the shipped model with its `<size memory>` line removed (that
 * attribute postdates MuJoCo 2.2.2; it only sizes the arena).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { IcrlError } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';
import type { BatchedEnv, EnvFamily } from '../types.js';
import { median } from '../bench.js';
import { baseModel, loadMujocoRuntime, modelPath } from './runtime.js';

export const NATIVE_INSTALL_HINT = 'mujoco-testspeed (native MuJoCo) not found; install it with `sudo apt-get install libmujoco-samples` (Debian / Ubuntu) to get the native reference';

export interface NativeBenchOptions {
  /** MuJoCo steps per native / raw run. */
  steps: number;
  runs: number;
  /** Instances per worker in the 2-thread figure. */
  batch: number;
  seed: number;
}

export interface NativeBenchResult {
  bench: 'envs-mujoco-native';
  family: string;
  model: string;
  steps: number;
  runs: number;
  native_mujoco: string;
  wasm_mujoco: string;
  /** Medians, MuJoCo steps per wall-clock second. */
  native_steps_per_s: number | null;
  wasm_raw_steps_per_s: number;
  /** The fastest run of each (the least disturbed on a shared machine). */
  native_best_steps_per_s: number | null;
  wasm_raw_best_steps_per_s: number;
  /** Medians per second of CPU time (user + system) of the stepping process. */
  native_cpu_steps_per_s: number | null;
  wasm_raw_cpu_steps_per_s: number;
  env_steps_per_s: number;
  env_physics_steps_per_s: number;
  two_threads_physics_steps_per_s: number;
  ratio_wasm_raw_to_native: number | null;
  ratio_wasm_raw_to_native_best: number | null;
  ratio_wasm_raw_to_native_cpu: number | null;
  ratio_env_to_native: number | null;
  ratio_two_threads_to_native: number | null;
  note?: string;
}

/** Version of Debian's native MuJoCo, or null when `mujoco-testspeed` is not installed. */
export function nativeMujocoVersion(): string | null {
  const which = spawnSync('sh', ['-c', 'command -v mujoco-testspeed'], { encoding: 'utf8' });
  if (which.status !== 0 || !which.stdout.trim()) return null;
  const q = spawnSync('dpkg-query', ['-W', '-f', '${Version}', 'libmujoco-samples'], { encoding: 'utf8' });
  return q.status === 0 && q.stdout.trim() ? `${q.stdout.trim()} (Debian libmujoco-samples)` : 'unknown version';
}

interface Rate {
  /** Steps per wall-clock second (as testspeed prints it for the native run). */
  wall: number;
  /** Steps per second of CPU time (user + system), or 0 when it could not be measured. */
  cpu: number;
}

/** CPU seconds of the children of a `bash -c '...; times'` run (its second line), or NaN. */
function childCpu(stdout: string): number {
  const lines = stdout.trim().split('\n');
  const m = /^(\d+)m([\d.]+)s\s+(\d+)m([\d.]+)s$/.exec(lines[lines.length - 1] ?? '');
  return m ? 60 * Number(m[1]) + Number(m[2]) + 60 * Number(m[3]) + Number(m[4]) : Number.NaN;
}

/**
 * One native run: steps per second as `mujoco-testspeed` prints it, and per CPU second (bash's
 * `times`, 10 ms resolution, less `loadCpu`, the CPU time of a 1-step run: parsing and compiling).
 */
function nativeRun(file: string, steps: number, loadCpu: number): Rate {
  const r = spawnSync('bash', ['-c', 'mujoco-testspeed "$0" "$1" 1 0.01 && times', file, String(steps)], { encoding: 'utf8' });
  const m = /Steps per second\s*:\s*([\d.]+)/.exec(r.stdout ?? '');
  if (r.status !== 0 || !m) throw new IcrlError(`mujoco-testspeed ${file} failed: ${(r.stderr || r.stdout || '').trim().slice(0, 400)}`);
  const cpu = childCpu(r.stdout) - loadCpu;
  return { wall: Number(m[1]), cpu: cpu > 0 ? steps / cpu : 0 };
}

/** CPU seconds of a 1-step native run (what loading the model costs), median of 3. */
function nativeLoadCpu(file: string): number {
  const xs: number[] = [];
  for (let k = 0; k < 3; k++) {
    const r = spawnSync('bash', ['-c', 'mujoco-testspeed "$0" 1 1 0.01 > /dev/null && times', file], { encoding: 'utf8' });
    const c = childCpu(r.stdout ?? '');
    if (Number.isFinite(c)) xs.push(c);
  }
  return xs.length > 0 ? median(xs) : 0;
}

/** The raw WebAssembly loop matching testspeed: reset, then `steps` mj_step with 0.01 N(0, 1) controls. */
async function wasmRawRun(modelFile: string, steps: number, rng: Rng): Promise<Rate> {
  const rt = await loadMujocoRuntime();
  const m = baseModel(rt, modelFile);
  const d = new rt.mj.MjData(m);
  try {
    rt.mj.mj_resetData(m, d);
    const ctrl = d.ctrl as Float64Array;
    const noise = new Float64Array(m.nu * steps);
    rng.fillNormal(noise, 0, 0.01);
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    for (let s = 0, o = 0; s < steps; s++) {
      for (let k = 0; k < m.nu; k++) ctrl[k] = noise[o++];
      rt.mj.mj_step(m, d);
    }
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    const c = process.cpuUsage(c0);
    const cpu = (c.user + c.system) / 1e6;
    return { wall: steps / wall, cpu: cpu > 0 ? steps / cpu : 0 };
  } finally {
    d.delete();
  }
}

/** Environment steps per second, `n` instances, uniform random actions (drawn before timing). */
export function envRun(env: BatchedEnv, steps: number, rng: Rng): number {
  const pool: Float32Array[] = [];
  for (let k = 0; k < 16; k++) {
    const a = new Float32Array(env.numEnvs * env.actDim);
    for (let j = 0; j < a.length; j++) a[j] = rng.uniformRange(-1, 1);
    pool.push(a);
  }
  const t0 = process.hrtime.bigint();
  for (let s = 0; s < steps; s++) env.step(pool[s & 15]);
  return (env.numEnvs * steps) / (Number(process.hrtime.bigint() - t0) / 1e9);
}

/**
 * Steps a 1-instance environment of `family` with random actions for `seconds`: V8 compiles
 * WebAssembly with a baseline compiler first and the optimized code of MuJoCo's hot functions
 * arrives over the first few thousand steps (measured here: 10-30 k steps/s in the first 4,000 steps
 * of the cheetah, then 110-150 k), so every MuJoCo figure is taken after this.
 */
export function warmUpMujoco(fam: EnvFamily, seconds = 1): void {
  const rng = new Rng(12345);
  const env = fam.make(1, {}, rng.split('tasks'));
  const t0 = process.hrtime.bigint();
  while (Number(process.hrtime.bigint() - t0) / 1e9 < seconds) envRun(env, 100, rng);
  (env as unknown as { close?: () => void }).close?.();
}

/** Path of the compiled worker (workers run compiled JavaScript from dist/). */
function workerScript(): string {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.js')) return join(dirname(here), 'benchWorker.js');
  const js = join(resolve(dirname(here), '..', '..', '..'), 'dist', 'envs', 'mujoco', 'benchWorker.js');
  if (!existsSync(js)) throw new IcrlError(`envs bench: worker script ${js} not found; run \`npm run build\` first`);
  return js;
}

/** Two worker threads, each stepping its own environment of `batch` instances for `steps` steps at the same time; environment steps/s in total. */
export async function twoThreadRun(family: string, batch: number, steps: number, seed: number): Promise<number> {
  const script = workerScript();
  const workers = [0, 1].map((t) => new Worker(script, { workerData: { family, batch, steps, seed: seed + t } }));
  try {
    const ready = workers.map((w) => new Promise<void>((res, rej) => {
      w.once('message', () => res());
      w.once('error', rej);
    }));
    await Promise.all(ready);
    const done = workers.map((w) => new Promise<void>((res, rej) => {
      w.once('message', () => res());
      w.once('error', rej);
    }));
    const t0 = process.hrtime.bigint();
    for (const w of workers) w.postMessage('go');
    await Promise.all(done);
    return (2 * batch * steps) / (Number(process.hrtime.bigint() - t0) / 1e9);
  } finally {
    for (const w of workers) void w.terminate();
  }
}

/** Native against WebAssembly for `family`, whose environment uses `modelFile` with `frameSkip`. */
export async function benchNative(fam: EnvFamily, modelFile: string, opts: NativeBenchOptions): Promise<NativeBenchResult> {
  const rt = await loadMujocoRuntime();
  const native = nativeMujocoVersion();
  let dir: string | null = null;
  let file = '';
  if (native) {
    dir = mkdtempSync(join(tmpdir(), 'icrl-mujoco-'));
    file = join(dir, modelFile);
    // MuJoCo 2.2.2 knows neither the arena size nor the autoreset flag (neither changes the stepping)
    const xml = readFileSync(modelPath(modelFile), 'utf8').replace(/^.*<size memory="[^"]*"\/>.*\n/m, '').replace(/^.*<flag autoreset="disable"\/>.*\n/m, '');
    writeFileSync(file, xml);
  }
  const rng = new Rng(opts.seed);
  const env = fam.make(1, {}, rng.split('tasks'));
  const frameSkip = (env as unknown as { frameSkip: number }).frameSkip;
  const envSteps = Math.max(1, Math.round(opts.steps / frameSkip));
  const nat: Rate[] = [];
  const raw: Rate[] = [];
  const one: number[] = [];
  const two: number[] = [];
  try {
    // warm-up (optimized WebAssembly code, JIT) untimed
    warmUpMujoco(fam);
    await wasmRawRun(modelFile, Math.min(opts.steps, 2000), rng.split('warm'));
    const loadCpu = native ? nativeLoadCpu(file) : 0;
    for (let r = 0; r < opts.runs; r++) {
      if (native) nat.push(nativeRun(file, opts.steps, loadCpu));
      raw.push(await wasmRawRun(modelFile, opts.steps, rng.split(`raw${r}`)));
      env.reset(opts.seed + r);
      one.push(envRun(env, envSteps, rng.split(`env${r}`)));
      two.push(await twoThreadRun(fam.name, opts.batch, Math.max(1, Math.round(envSteps / opts.batch)), opts.seed + 10 * r));
    }
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
    (env as unknown as { close?: () => void }).close?.();
  }
  const n = native ? median(nat.map((x) => x.wall)) : null;
  const nBest = native ? Math.max(...nat.map((x) => x.wall)) : null;
  const nCpu = native ? median(nat.map((x) => x.cpu)) : null;
  const w = median(raw.map((x) => x.wall));
  const wBest = Math.max(...raw.map((x) => x.wall));
  const wCpu = median(raw.map((x) => x.cpu));
  const over = (a: number, b: number | null): number | null => (b ? Math.round((a / b) * 1000) / 1000 : null);
  const e = median(one);
  const t = median(two);
  const ratio = (x: number): number | null => (n ? Math.round((x / n) * 1000) / 1000 : null);
  const res: NativeBenchResult = {
    bench: 'envs-mujoco-native',
    family: fam.name,
    model: modelFile,
    steps: opts.steps,
    runs: opts.runs,
    native_mujoco: native ?? 'not installed',
    wasm_mujoco: `${rt.version} (npm mujoco-js)`,
    native_steps_per_s: n === null ? null : Math.round(n),
    wasm_raw_steps_per_s: Math.round(w),
    native_best_steps_per_s: nBest === null ? null : Math.round(nBest),
    wasm_raw_best_steps_per_s: Math.round(wBest),
    native_cpu_steps_per_s: nCpu === null ? null : Math.round(nCpu),
    wasm_raw_cpu_steps_per_s: Math.round(wCpu),
    env_steps_per_s: Math.round(e),
    env_physics_steps_per_s: Math.round(e * frameSkip),
    two_threads_physics_steps_per_s: Math.round(t * frameSkip),
    ratio_wasm_raw_to_native: ratio(w),
    ratio_wasm_raw_to_native_best: over(wBest, nBest),
    ratio_wasm_raw_to_native_cpu: over(wCpu, nCpu),
    ratio_env_to_native: ratio(e * frameSkip),
    ratio_two_threads_to_native: ratio(t * frameSkip),
  };
  if (!native) res.note = NATIVE_INSTALL_HINT;
  return res;
}
