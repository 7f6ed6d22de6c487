/**
 * MuJoCo in WebAssembly against native MuJoCo on the same model file, in the same run.
 *
 * - native: Debian's `mujoco-testspeed MODEL STEPS 1 0.01` (package libmujoco-samples, MuJoCo 2.2.2):
 *   one thread steps the model from its reference pose with Gaussian control noise of sd 0.01;
 * - wasm raw: the same loop (same file, same steps, controls 0.01 N(0, 1) from our RNG) over
 *   `mujoco-js`, one `MjData`, no environment around it; contacts and constraints per step are
 *   counted on both sides (testspeed prints them), to show the two engines did the same work;
 * - env: the family itself, 1 instance, random actions in [-1, 1], automatic reset; its rate in
 *   MuJoCo steps per second is environment steps/s x frame skip;
 * - env on 2 threads: the family with `threads: 2` (a ThreadedMujocoEnv: `batch` instances per
 *   thread, this thread and one worker each stepping their slice at the same time), after stepping it
 *   for a second untimed (each thread's module has its own optimized code to wait for).
 * The measurements alternate `runs` times; medians are reported with the ratios wasm / native,
 * also the fastest run of each (the least disturbed on a shared machine) and the rates per CPU
 * second (native: bash's `times` for the child, 10 ms resolution, less the CPU time of a 1-step run,
 * i.e. loading the model; ours: process.cpuUsage, all threads). The machine's load average is given
 * at the start and the end. The native file is the shipped model without the lines MuJoCo 2.2.2
 * does not know: `<size memory>` (it only sizes the arena) and the `<flag>` line (autoreset off: no
 * effect on valid states; island discovery off: what 2.2.2 does anyway).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { IcrlError } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';
import type { BatchedEnv, EnvFamily } from '../types.js';
import { median } from '../bench.js';
import { baseModel, loadMujocoRuntime, modelPath, type MjData } from './runtime.js';

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
  /** Mean contacts and constraint rows per MuJoCo step (testspeed's figures; ours counted in the raw loop). */
  native_contacts_per_step: number | null;
  native_constraints_per_step: number | null;
  wasm_contacts_per_step: number;
  wasm_constraints_per_step: number;
  env_steps_per_s: number;
  env_physics_steps_per_s: number;
  env_physics_cpu_steps_per_s: number;
  /** `threads: 2`, 2 x batch instances: MuJoCo steps per wall-clock second, and CPU seconds used per wall second (2 = both cores all the time). */
  two_threads_instances: number;
  two_threads_physics_steps_per_s: number;
  two_threads_best_physics_steps_per_s: number;
  two_threads_cpu_per_wall: number;
  /** The same 2 x batch instances with `threads: 1` (what the second thread adds: ratio_two_threads_to_one_thread). */
  one_thread_batch_physics_steps_per_s: number;
  ratio_two_threads_to_one_thread: number;
  ratio_wasm_raw_to_native: number | null;
  ratio_wasm_raw_to_native_best: number | null;
  ratio_wasm_raw_to_native_cpu: number | null;
  ratio_env_to_native: number | null;
  ratio_env_to_native_cpu: number | null;
  ratio_two_threads_to_native: number | null;
  ratio_two_threads_to_native_best: number | null;
  /** 1-minute load average at the start and the end (the machine may be shared). */
  loadavg_start: number;
  loadavg_end: number;
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
  /** Mean contacts and constraints per step, when counted. */
  contacts?: number;
  constraints?: number;
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
  const con = /Contacts per step\s*:\s*([\d.]+)/.exec(r.stdout);
  const efc = /Constraints per step\s*:\s*([\d.]+)/.exec(r.stdout);
  return { wall: Number(m[1]), cpu: cpu > 0 ? steps / cpu : 0, contacts: con ? Number(con[1]) : undefined, constraints: efc ? Number(efc[1]) : undefined };
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

/** The raw WebAssembly loop matching testspeed: reset, then `steps` mj_step with 0.01 N(0, 1) controls; contacts and constraints counted (outside the timing). */
async function wasmRawRun(modelFile: string, steps: number, rng: Rng): Promise<Rate> {
  const rt = await loadMujocoRuntime();
  const m = baseModel(rt, modelFile);
  const d = new rt.mj.MjData(m) as MjData & { ncon: number; nefc: number };
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
    // the same roll-out again, counting what each step did (reading ncon / nefc through the bindings costs time)
    rt.mj.mj_resetData(m, d);
    let con = 0;
    let efc = 0;
    for (let s = 0, o = 0; s < steps; s++) {
      for (let k = 0; k < m.nu; k++) ctrl[k] = noise[o++];
      rt.mj.mj_step(m, d);
      con += d.ncon;
      efc += d.nefc;
    }
    return { wall: steps / wall, cpu: cpu > 0 ? steps / cpu : 0, contacts: con / steps, constraints: efc / steps };
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

/** Physics on 2 threads: the family with `threads: 2` (made and warmed up by the caller); environment steps/s and CPU seconds per wall second. */
function threadedRun(env: BatchedEnv, steps: number, rng: Rng): { rate: number; cpuPerWall: number } {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const rate = envRun(env, steps, rng);
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const c = process.cpuUsage(c0);
  return { rate, cpuPerWall: (c.user + c.system) / 1e6 / wall };
}

/** Native against WebAssembly for `family`, whose environment uses `modelFile` with `frameSkip`. */
export async function benchNative(fam: EnvFamily, modelFile: string, opts: NativeBenchOptions): Promise<NativeBenchResult> {
  const load0 = loadavg()[0];
  const rt = await loadMujocoRuntime();
  const native = nativeMujocoVersion();
  let dir: string | null = null;
  let file = '';
  if (native) {
    dir = mkdtempSync(join(tmpdir(), 'icrl-mujoco-'));
    file = join(dir, modelFile);
    // MuJoCo 2.2.2 knows neither the arena size nor these flags (autoreset: no effect on valid states; island: 2.2.2 has no islands)
    const xml = readFileSync(modelPath(modelFile), 'utf8').replace(/^.*<size memory="[^"]*"\/>.*\n/m, '').replace(/^.*<option><flag [^>]*\/><\/option>.*\n/m, '');
    writeFileSync(file, xml);
  }
  const rng = new Rng(opts.seed);
  const env = fam.make(1, {}, rng.split('tasks'));
  const frameSkip = (env as unknown as { frameSkip: number }).frameSkip;
  const envSteps = Math.max(1, Math.round(opts.steps / frameSkip));
  const threaded = fam.make(2 * opts.batch, { threads: 2 }, rng.split('threaded-tasks'));
  const threadedSteps = Math.max(1, Math.round(envSteps / (2 * opts.batch)));
  const batched = fam.make(2 * opts.batch, {}, rng.split('threaded-tasks'));
  const nat: Rate[] = [];
  const raw: Rate[] = [];
  const one: number[] = [];
  const oneCpu: number[] = [];
  const two: number[] = [];
  const twoCpu: number[] = [];
  const oneBatch: number[] = [];
  try {
    // warm-up (optimized WebAssembly code, JIT) untimed, in this thread and in the worker
    warmUpMujoco(fam);
    const w0 = process.hrtime.bigint();
    while (Number(process.hrtime.bigint() - w0) / 1e9 < 1) envRun(threaded, 10, rng.split('warm-threads'));
    await wasmRawRun(modelFile, Math.min(opts.steps, 2000), rng.split('warm'));
    const loadCpu = native ? nativeLoadCpu(file) : 0;
    for (let r = 0; r < opts.runs; r++) {
      if (native) nat.push(nativeRun(file, opts.steps, loadCpu));
      raw.push(await wasmRawRun(modelFile, opts.steps, rng.split(`raw${r}`)));
      env.reset(opts.seed + r);
      const c0 = process.cpuUsage();
      one.push(envRun(env, envSteps, rng.split(`env${r}`)));
      const c = process.cpuUsage(c0);
      oneCpu.push((envSteps * frameSkip) / ((c.user + c.system) / 1e6));
      threaded.reset(opts.seed + r);
      const t = threadedRun(threaded, threadedSteps, rng.split(`threads${r}`));
      two.push(t.rate);
      twoCpu.push(t.cpuPerWall);
      batched.reset(opts.seed + r);
      oneBatch.push(envRun(batched, threadedSteps, rng.split(`threads${r}`)));
    }
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
    (env as unknown as { close?: () => void }).close?.();
    (threaded as unknown as { close?: () => void }).close?.();
    (batched as unknown as { close?: () => void }).close?.();
  }
  const n = native ? median(nat.map((x) => x.wall)) : null;
  const nBest = native ? Math.max(...nat.map((x) => x.wall)) : null;
  const nCpu = native ? median(nat.map((x) => x.cpu)) : null;
  const w = median(raw.map((x) => x.wall));
  const wBest = Math.max(...raw.map((x) => x.wall));
  const wCpu = median(raw.map((x) => x.cpu));
  const over = (a: number, b: number | null): number | null => (b ? Math.round((a / b) * 1000) / 1000 : null);
  const e = median(one);
  const eCpu = median(oneCpu);
  const t = median(two);
  const tBest = Math.max(...two);
  const r2 = (x: number | undefined): number | null => (x === undefined ? null : Math.round(x * 100) / 100);
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
    native_contacts_per_step: native ? r2(nat[0].contacts) : null,
    native_constraints_per_step: native ? r2(nat[0].constraints) : null,
    wasm_contacts_per_step: r2(raw[0].contacts) ?? 0,
    wasm_constraints_per_step: r2(raw[0].constraints) ?? 0,
    env_steps_per_s: Math.round(e),
    env_physics_steps_per_s: Math.round(e * frameSkip),
    env_physics_cpu_steps_per_s: Math.round(eCpu),
    two_threads_instances: 2 * opts.batch,
    two_threads_physics_steps_per_s: Math.round(t * frameSkip),
    two_threads_best_physics_steps_per_s: Math.round(tBest * frameSkip),
    two_threads_cpu_per_wall: Math.round(median(twoCpu) * 100) / 100,
    one_thread_batch_physics_steps_per_s: Math.round(median(oneBatch) * frameSkip),
    ratio_two_threads_to_one_thread: Math.round((t / median(oneBatch)) * 1000) / 1000,
    ratio_wasm_raw_to_native: over(w, n),
    ratio_wasm_raw_to_native_best: over(wBest, nBest),
    ratio_wasm_raw_to_native_cpu: over(wCpu, nCpu),
    ratio_env_to_native: over(e * frameSkip, n),
    ratio_env_to_native_cpu: over(eCpu, nCpu),
    ratio_two_threads_to_native: over(t * frameSkip, n),
    ratio_two_threads_to_native_best: over(tBest * frameSkip, nBest),
    loadavg_start: Math.round(load0 * 100) / 100,
    loadavg_end: Math.round(loadavg()[0] * 100) / 100,
  };
  if (!native) res.note = NATIVE_INSTALL_HINT;
  return res;
}
