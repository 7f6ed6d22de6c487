/**
 * A MuJoCo environment whose instances are spread over threads (`threads` option of every MuJoCo
 * family). The batch is cut into `threads` contiguous slices; slice 0 is stepped by this thread,
 * every other slice by a worker thread with its own MuJoCo module instance (WebAssembly memory is not
 * shared between threads, so each instance lives in one thread for good). The environment's API is
 * the one of a single-thread environment and stays synchronous: the per-instance arrays (`obs`,
 * `rewards`, `terminated`, ..., and the family's own, such as `success`) are typed arrays over
 * SharedArrayBuffers that each slice writes its rows of; a step writes the actions into a shared
 * array, wakes the workers with `Atomics.notify`, steps slice 0 here, and waits (`Atomics.wait`) until
 * every worker has finished. Task lists travel over a MessageChannel per worker, read synchronously
 * (`receiveMessageOnPort`), so no call needs this thread's event loop.
 *
 * Same seed, same trajectories, whatever the thread count: every instance draws its reset noise
 * from its own stream named by its index in the whole batch (`MujocoEnv.setInstanceOffset`), the
 * tasks are drawn here for the whole batch, and the physics of one instance never depends on the
 * others. What it buys: the physics of the slices runs at the same time, so with free cores a step
 * of many instances takes about 1 / threads of the time; each step pays one wake-up and one wait
 * (a futex round trip, much longer when the cores are busy with other work and a sleeping worker
 * waits for a time slice), so it pays when each slice has several instances (see docs/envs.md).
 *
 * Workers run the compiled JavaScript in dist/ (like every worker of the project) and make their
 * slice through the family registry of src/envs, so a family registered only in this thread cannot
 * be threaded.
 */
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { IcrlError, OutOfSpaceError } from '../../core/errors.js';
import { z } from 'zod';
import { Rng, type RngState } from '../../core/rng.js';
import type { BoxSpace, JsonValue } from '../../core/spaces.js';
import type { Task, TaskSpace } from '../../tasks/taskSpace.js';
import type { ActionArray, BatchedEnv } from '../types.js';
import { assignTasks, checkBoxActions, checkInstance, parseOptions } from '../common.js';
import type { MujocoEnv, PerInstanceArray } from './base.js';
import type { MjData, MjModel } from './runtime.js';

/** The `threads` option of every MuJoCo family: threads the instances are spread over (1 = this thread only). */
export const threadsOption = z.number().int().min(1).max(256).default(1);

/**
 * The `make` of a MuJoCo family: `make(n, options, rng)` itself, or with `threads` > 1 (and more
 * than one instance) a {@link ThreadedMujocoEnv} whose slices `make` builds.
 */
export function makeMujocoEnv<E extends MujocoEnv>(
  family: string,
  schema: z.ZodType,
  numEnvs: number,
  options: Record<string, unknown> | undefined,
  rng: Rng | undefined,
  make: (n: number, options: Record<string, unknown>, rng: Rng) => E,
): E | ThreadedMujocoEnv {
  const o = parseOptions(family, schema, options) as Record<string, unknown> & { threads: number };
  if (o.threads > 1 && numEnvs > 1) return new ThreadedMujocoEnv(family, numEnvs, o, rng ?? new Rng(0), make);
  return make(numEnvs, options ?? {}, rng ?? new Rng(0));
}

/** Slots of the control block (Int32Array over a SharedArrayBuffer). */
export const CTL = { SEQ: 0, CMD: 1, DONE: 2, FAILED: 3, INST: 4, HAS_SEED: 5 } as const;
/** Commands. */
export const CMD = { STEP: 1, RESET: 2, SET_TASKS: 3, SET_TASK: 4, EXPERT: 5, CLOSE: 6 } as const;
/** Seconds a worker may take to load MuJoCo and make its slice. */
export const THREAD_START_TIMEOUT_S = 120;

type ArrayCtor = { new (buf: ArrayBufferLike, offset: number, length: number): PerInstanceArray; readonly BYTES_PER_ELEMENT: number };

/** What a worker gets (workerData). */
export interface ThreadWorkerData {
  family: string;
  options: Record<string, unknown>;
  /** First instance of the worker's slice in the whole batch, and its size. */
  offset: number;
  count: number;
  numEnvs: number;
  rng: RngState;
  ctl: SharedArrayBuffer;
  seed: SharedArrayBuffer;
  actions: SharedArrayBuffer;
  expert: SharedArrayBuffer;
  /** Per-instance arrays: buffer and values per instance. */
  arrays: Record<string, { buffer: SharedArrayBuffer; width: number }>;
  port: MessagePort;
}

/** Views of a slice's rows in the shared arrays, and the copy from the slice's own arrays into them. */
export function sliceMirror(env: MujocoEnv, arrays: Record<string, { buffer: SharedArrayBuffer; width: number }>, offset: number): () => void {
  const pairs: [PerInstanceArray, PerInstanceArray][] = [];
  const own = env.perInstanceArrays();
  for (const [k, a] of Object.entries(arrays)) {
    const src = own[k];
    if (!src) throw new IcrlError(`${env.family}: the slice has no per-instance array ${k}`);
    const C = src.constructor as unknown as ArrayCtor;
    pairs.push([src, new C(a.buffer, offset * a.width * C.BYTES_PER_ELEMENT, env.numEnvs * a.width)]);
  }
  return () => {
    for (const [src, dst] of pairs) dst.set(src as never);
  };
}

/** The expert actions of every instance of a slice into its rows of `out` (families with a scripted expert). */
export function sliceExpert(env: MujocoEnv, out: Float32Array): void {
  const e = env as unknown as { expertAction?: (i: number, out: Float32Array) => void };
  if (typeof e.expertAction !== 'function') throw new IcrlError(`${env.family}: no scripted expert (expertAction); only reach and push have one`);
  const d = env.actDim;
  const buf = new Float32Array(d);
  for (let i = 0; i < env.numEnvs; i++) {
    e.expertAction(i, buf);
    out.set(buf, i * d);
  }
}

/** Path of the compiled worker script (workers run compiled JavaScript from dist/). */
function workerScript(): string {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.js')) return join(dirname(here), 'threadWorker.js');
  const js = join(resolve(dirname(here), '..', '..', '..'), 'dist', 'envs', 'mujoco', 'threadWorker.js');
  if (!existsSync(js)) throw new IcrlError(`MuJoCo threads: worker script ${js} not found; run \`npm run build\` first`);
  return js;
}

/** Sizes of `threads` contiguous slices of `n` instances (the first n % threads one larger). */
export function sliceSizes(n: number, threads: number): number[] {
  const base = Math.floor(n / threads);
  return Array.from({ length: threads }, (_, t) => base + (t < n % threads ? 1 : 0));
}

export class ThreadedMujocoEnv implements BatchedEnv {
  readonly setting = 'mdp' as const;
  readonly family: string;
  readonly options: Readonly<Record<string, unknown>>;
  readonly numEnvs: number;
  readonly taskSpace: TaskSpace;
  readonly observationSpace: BoxSpace;
  readonly actionSpace: BoxSpace;
  readonly obsDim: number;
  readonly numActions = 0;
  readonly actDim: number;
  readonly numStates = 0;
  readonly horizon: number;
  readonly frameSkip: number;
  readonly dt: number;
  /** Threads the instances are spread over (this one included). */
  readonly threads: number;
  /** Sizes of the slices (slice t: instances offsets[t] .. offsets[t] + sizes[t] - 1; slice 0 is stepped here). */
  readonly sliceSizes: readonly number[];
  readonly obs: Float32Array;
  readonly stateIndex: Int32Array;
  readonly rewards: Float32Array;
  readonly terminated: Uint8Array;
  readonly truncated: Uint8Array;
  readonly finalObs: Float32Array;
  readonly episodeStep: Int32Array;
  readonly blewUp: Uint8Array;
  readonly blowups: Uint32Array;
  /** Every per-instance array by name (the family's own ones, such as `success`, are also properties). */
  readonly arrays: Record<string, PerInstanceArray> = {};

  private readonly local: MujocoEnv;
  private readonly mirrorLocal: () => void;
  private readonly workers: Worker[] = [];
  private readonly ports: MessagePort[] = [];
  private readonly offsets: number[];
  private readonly ctl: Int32Array;
  private readonly seedArg: Float64Array;
  private readonly actions: Float32Array;
  private readonly expert: Float32Array;
  private expertFresh = false;
  private readonly actionLow: number;
  private readonly actionHigh: number;
  private tasks: Task[] = [];
  private closed = false;
  /** The scripted expert's action of instance i into out (only where the family has one: reach, push). */
  readonly expertAction?: (i: number, out: Float32Array) => void;

  constructor(family: string, numEnvs: number, options: Record<string, unknown> & { threads: number }, rng: Rng, makeSlice: (n: number, options: Record<string, unknown>, rng: Rng) => MujocoEnv) {
    this.family = family;
    this.numEnvs = numEnvs;
    this.options = options;
    this.threads = Math.min(options.threads, numEnvs);
    this.sliceSizes = sliceSizes(numEnvs, this.threads);
    this.offsets = [];
    for (let t = 0, o = 0; t < this.threads; o += this.sliceSizes[t], t++) this.offsets.push(o);
    const sliceOptions = { ...options, threads: 1 };
    const rngState = rng.getState();
    this.local = makeSlice(this.sliceSizes[0], sliceOptions, rng);
    this.local.setInstanceOffset(0);
    const l = this.local;
    this.taskSpace = l.taskSpace;
    this.observationSpace = l.observationSpace;
    this.actionSpace = l.actionSpace;
    this.obsDim = l.obsDim;
    this.actDim = l.actDim;
    this.horizon = l.horizon;
    this.frameSkip = l.frameSkip;
    this.dt = l.dt;
    const spec = this.actionSpace.spec;
    this.actionLow = spec.kind === 'box' ? spec.low[0] : -1;
    this.actionHigh = spec.kind === 'box' ? spec.high[0] : 1;
    this.stateIndex = new Int32Array(numEnvs);
    if (typeof (l as unknown as { expertAction?: unknown }).expertAction === 'function') this.expertAction = (i, out) => this.expertOf(i, out);

    // the shared per-instance arrays, shaped like the slice's own
    const shared: Record<string, { buffer: SharedArrayBuffer; width: number }> = {};
    for (const [k, a] of Object.entries(l.perInstanceArrays())) {
      const C = a.constructor as unknown as ArrayCtor;
      const width = a.length / l.numEnvs;
      const buffer = new SharedArrayBuffer(numEnvs * width * C.BYTES_PER_ELEMENT);
      shared[k] = { buffer, width };
      this.arrays[k] = new C(buffer, 0, numEnvs * width);
      if (!(k in this)) Object.defineProperty(this, k, { value: this.arrays[k], enumerable: true });
    }
    const arr = this.arrays;
    this.obs = arr.obs as Float32Array;
    this.rewards = arr.rewards as Float32Array;
    this.terminated = arr.terminated as Uint8Array;
    this.truncated = arr.truncated as Uint8Array;
    this.finalObs = arr.finalObs as Float32Array;
    this.episodeStep = arr.episodeStep as Int32Array;
    this.blewUp = arr.blewUp as Uint8Array;
    this.blowups = arr.blowups as Uint32Array;
    this.mirrorLocal = sliceMirror(l, shared, 0);

    const ctl = new SharedArrayBuffer(16 * 4);
    const seed = new SharedArrayBuffer(8);
    const actions = new SharedArrayBuffer(numEnvs * this.actDim * 4);
    const expert = new SharedArrayBuffer(numEnvs * this.actDim * 4);
    this.ctl = new Int32Array(ctl);
    this.seedArg = new Float64Array(seed);
    this.actions = new Float32Array(actions);
    this.expert = new Float32Array(expert);

    if (this.threads > 1) {
      const script = workerScript();
      try {
        for (let t = 1; t < this.threads; t++) {
          const { port1, port2 } = new MessageChannel();
          const data: ThreadWorkerData = { family, options: sliceOptions, offset: this.offsets[t], count: this.sliceSizes[t], numEnvs, rng: rngState, ctl, seed, actions, expert, arrays: shared, port: port2 };
          const w = new Worker(script, { workerData: data, transferList: [port2] });
          w.unref();
          this.workers.push(w);
          this.ports.push(port1);
        }
        this.wait(this.threads - 1, 'start', THREAD_START_TIMEOUT_S);
      } catch (e) {
        this.terminate();
        throw e;
      }
    }
    this.setTasks(this.taskSpace.sampleMany(rng.split('tasks'), numEnvs));
  }

  /** Version of MuJoCo doing the physics. */
  get mujocoVersion(): string {
    return this.local.mujocoVersion;
  }

  /** Total blow-ups over all instances since the environment was made. */
  get blowupCount(): number {
    let s = 0;
    for (let i = 0; i < this.numEnvs; i++) s += this.blowups[i];
    return s;
  }

  /** Waits until `count` more workers than `base` report done; rethrows a worker's error. */
  private wait(count: number, what: string, timeoutS = Infinity, base = 0): void {
    const ctl = this.ctl;
    const target = base + count;
    const deadline = Number.isFinite(timeoutS) ? Date.now() + timeoutS * 1000 : Infinity;
    for (let spin = 0; Atomics.load(ctl, CTL.DONE) < target; spin++) {
      if (spin < 200) continue;
      const d = Atomics.load(ctl, CTL.DONE);
      if (d >= target) break;
      Atomics.wait(ctl, CTL.DONE, d, 1000);
      if (Date.now() > deadline) throw new IcrlError(`${this.family}: MuJoCo worker threads did not ${what} within ${timeoutS} s`);
    }
    if (Atomics.load(ctl, CTL.FAILED) !== 0) {
      const msgs: string[] = [];
      this.ports.forEach((p, k) => {
        for (let m = receiveMessageOnPort(p); m; m = receiveMessageOnPort(p)) {
          const e = m.message as { error?: string };
          if (e.error) msgs.push(`thread ${k + 1} (instances ${this.offsets[k + 1]}..${this.offsets[k + 1] + this.sliceSizes[k + 1] - 1}): ${e.error}`);
        }
      });
      Atomics.store(ctl, CTL.FAILED, 0);
      throw new IcrlError(`${this.family}: ${what} failed in a MuJoCo worker thread: ${msgs.join('; ') || 'no message'}`);
    }
  }

  /** Runs command `cmd` in every worker and `here` on slice 0 meanwhile, then waits for the workers. */
  private run(cmd: number, what: string, here: () => void): void {
    this.checkOpen();
    this.expertFresh = false;
    const ctl = this.ctl;
    const base = Atomics.load(ctl, CTL.DONE);
    if (this.workers.length > 0) {
      Atomics.store(ctl, CTL.CMD, cmd);
      Atomics.add(ctl, CTL.SEQ, 1);
      Atomics.notify(ctl, CTL.SEQ);
    }
    let err: unknown = null;
    try {
      here();
      this.mirrorLocal();
    } catch (e) {
      err = e;
    }
    if (this.workers.length > 0) this.wait(this.workers.length, what, Infinity, base);
    if (err) throw err as Error;
  }

  setTasks(tasks: Task[]): void {
    this.checkOpen();
    const all: Task[] = new Array<Task>(this.numEnvs);
    assignTasks(this.taskSpace, this.numEnvs, tasks, (i, t) => {
      all[i] = t;
    });
    this.tasks = all;
    this.ports.forEach((p, k) => p.postMessage(all.slice(this.offsets[k + 1], this.offsets[k + 1] + this.sliceSizes[k + 1])));
    this.run(CMD.SET_TASKS, 'setTasks', () => this.local.setTasks(all.slice(0, this.sliceSizes[0])));
  }

  setTask(i: number, task: Task): void {
    this.checkOpen();
    checkInstance(this.family, i, this.numEnvs);
    const t = this.taskSpace.check(task);
    let owner = 0;
    while (owner + 1 < this.threads && i >= this.offsets[owner + 1]) owner++;
    if (owner > 0) this.ports[owner - 1].postMessage({ index: i - this.offsets[owner], task: t });
    Atomics.store(this.ctl, CTL.INST, i);
    this.run(CMD.SET_TASK, 'setTask', () => {
      if (owner === 0) this.local.setTask(i, t);
    });
    this.tasks[i] = t;
  }

  getTask(i: number): Task {
    checkInstance(this.family, i, this.numEnvs);
    return { family: this.family, params: JSON.parse(JSON.stringify(this.tasks[i].params)) as Record<string, JsonValue> };
  }

  reset(seed?: number): Float32Array {
    if (seed !== undefined) this.seedArg[0] = seed;
    Atomics.store(this.ctl, CTL.HAS_SEED, seed === undefined ? 0 : 1);
    this.run(CMD.RESET, 'reset', () => this.local.reset(seed));
    return this.obs;
  }

  step(actions: ActionArray): void {
    this.checkOpen();
    checkBoxActions(this.family, actions, this.numEnvs, this.actDim, this.actionLow, this.actionHigh);
    const n = this.numEnvs * this.actDim;
    this.actions.set(actions.length === n ? actions : actions.subarray(0, n));
    this.run(CMD.STEP, 'step', () => this.local.step(this.actions.subarray(0, this.sliceSizes[0] * this.actDim)));
  }

  /** The expert's actions of every instance at once, cached until the next command (the state is the same). */
  private expertOf(i: number, out: Float32Array): void {
    checkInstance(this.family, i, this.numEnvs);
    if (!out || out.length < this.actDim) throw new OutOfSpaceError(`${this.family}: expertAction needs an output Float32Array of length ${this.actDim}`);
    if (!this.expertFresh) {
      this.run(CMD.EXPERT, 'expertAction', () => sliceExpert(this.local, this.expert.subarray(0, this.sliceSizes[0] * this.actDim)));
      this.expertFresh = true;
    }
    out.set(this.expert.subarray(i * this.actDim, (i + 1) * this.actDim));
  }

  /** Model and data of instance i: only for the instances of slice 0, which live in this thread. */
  instance(i: number): { model: MjModel; data: MjData } {
    checkInstance(this.family, i, this.numEnvs);
    if (i >= this.sliceSizes[0]) throw new IcrlError(`${this.family}: instance ${i} lives in a worker thread (this thread holds instances 0..${this.sliceSizes[0] - 1})`);
    return this.local.instance(i);
  }

  oracleAction(i: number, out?: Float32Array): number {
    return this.local.oracleAction(i, out);
  }

  oracleValue(i: number): number {
    return this.local.oracleValue(i);
  }

  get exactOracle(): false {
    return false;
  }

  /** Stops the workers and frees every instance. */
  close(): void {
    if (this.closed) return;
    try {
      this.run(CMD.CLOSE, 'close', () => this.local.close());
    } finally {
      this.closed = true;
      for (const p of this.ports) p.close();
    }
  }

  private terminate(): void {
    for (const w of this.workers) void w.terminate();
    for (const p of this.ports) p.close();
    this.closed = true;
  }

  private checkOpen(): void {
    if (this.closed) throw new IcrlError(`${this.family}: the environment was closed`);
  }
}
