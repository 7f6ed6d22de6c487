/**
 * The batched MuJoCo environment base (an `EpisodicEnv`: the episode buffers, tasks, reset and
 * automatic reset are the shared ones of src/envs/episodes.ts). N instances, each with its own `MjData`; one `MjModel` per
 * distinct physics (tasks that only change the reward share the family's base model; tasks that
 * change masses, damping or friction get a model of their own, built once per task and cached by the
 * environment). Actions and observations go through preallocated typed arrays, and the views of each
 * instance's `qpos`, `qvel`, `ctrl`, ... into the module's memory are kept between steps (reading
 * `data.qpos` through the bindings allocates a fresh view each time; the views are renewed only when
 * the module's memory grows, which only allocation does).
 *
 * A step checks every action first (width, NaN, bounds; nothing clamped), then per instance: writes
 * the controls, runs `frameSkip` MuJoCo steps, and checks the physics. A blow-up - a non-finite or
 * huge (above 1e6) position or velocity (the models turn MuJoCo's own silent reset of bad states
 * off, so they stay visible), a MuJoCo warning printed during the step (bad values, a full arena),
 * or a reward or observation that would not be finite in float32 - ends that instance's episode with `truncated = 1` and reward 0, sets `blewUp[i]` for
 * this step, counts it in `blowups[i]`, keeps the last good observation as `finalObs`, and resets the
 * instance; no NaN reaches an observation. Episodes end by the family's termination rule
 * (`terminated`) or after `horizon` steps (`truncated`, as Gymnasium's TimeLimit); the instance then
 * resets automatically with initial-state noise from the environment's own seeded stream.
 */
import { BoxSpace } from '../../core/spaces.js';
import { IcrlError } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';
import type { JsonValue } from '../../core/spaces.js';
import type { Task, TaskSpace } from '../../tasks/taskSpace.js';
import type { ActionArray, EnvFamily } from '../types.js';
import { assignTasks, checkBoxActions, checkInstance } from '../common.js';
import { EpisodicEnv } from '../episodes.js';
import { baseModel, mujocoRuntime, mujocoWarningCount, type MjData, type MjModel, type MujocoRuntime } from './runtime.js';

/** A typed array of per-instance values (mirrored across threads by the threaded environment). */
export type PerInstanceArray = Float32Array | Float64Array | Int32Array | Uint8Array | Uint32Array;

/** Largest float32; observation bounds (the observations themselves are unbounded physics). */
export const F32_MAX = 3.4028234663852886e38;

/** |qpos| or |qvel| above this counts as a blow-up (MuJoCo's own check on qacc is 1e10). */
export const BLOWUP_LIMIT = 1e6;

/** Models of tasks no instance plays any more that an environment keeps for reuse (least recently used go first). */
export const MAX_UNUSED_MODELS = 64;

/** A family that runs on MuJoCo: its `make` needs the runtime loaded (`prepareFamily` / `loadMujocoRuntime`). */
export interface MujocoFamily extends EnvFamily {
  readonly runtime: 'mujoco';
}

/** True for a MuJoCo family (registered here or by a user). */
export function isMujocoFamily(f: EnvFamily): f is MujocoFamily {
  return (f as Partial<MujocoFamily>).runtime === 'mujoco';
}

export interface MujocoEnvConfig<O extends object> {
  family: string;
  /** The family options, every default filled in. */
  options: O;
  /** Shipped model file (src/envs/mujoco/models). */
  modelFile: string;
  taskSpace: TaskSpace;
  obsDim: number;
  horizon: number;
  frameSkip: number;
  /** Action bounds per coordinate (every family here uses [-1, 1]). */
  actionLow: number;
  actionHigh: number;
  /** Floats per action (default: the model's actuator count). */
  actDim?: number;
}

export abstract class MujocoEnv<O extends object = Record<string, unknown>> extends EpisodicEnv<O> {
  readonly setting = 'mdp' as const;
  readonly taskSpace: TaskSpace;
  readonly observationSpace: BoxSpace;
  readonly actionSpace: BoxSpace;
  readonly numActions = 0;
  readonly actDim: number;
  readonly numStates = 0;
  readonly horizon: number;
  readonly frameSkip: number;
  /** Seconds of simulated time per environment step (frameSkip x the model's time step). */
  readonly dt: number;

  /** 1 where the last step's physics blew up (that episode ended with truncated = 1, reward 0). */
  readonly blewUp: Uint8Array;
  /** Blow-ups per instance since the environment was made. */
  readonly blowups: Uint32Array;

  protected readonly rt: MujocoRuntime;
  protected readonly base: MjModel;
  /** Model and data of each instance. */
  protected readonly models: MjModel[];
  protected readonly datas: MjData[];
  protected readonly tasks: Task[];
  /** Physics key of each instance's model ('' = the base model). */
  private readonly keys: string[];
  /** Models built for tasks, least recently used first; `inUse` counts the instances on each key. */
  private readonly modelCache = new Map<string, MjModel>();
  private readonly inUse = new Map<string, number>();
  /** Views into each instance's data (renewed when the module's memory grows). */
  protected qpos: Float64Array[] = [];
  protected qvel: Float64Array[] = [];
  protected ctrl: Float64Array[] = [];
  protected xpos: Float64Array[] = [];
  protected mocapPos: Float64Array[] = [];
  protected readonly actionLow: number;
  protected readonly actionHigh: number;
  private readonly scratch: Float32Array;
  /** A view taken at the last full renewal: detached (length 0) once the module's memory has grown. */
  private sentinel: Float64Array | null = null;
  /** Base of the per-instance reset-noise streams; instance i draws from `noiseBase.split(offset + i)`. */
  private noiseBase: Rng;
  protected noiseRngs: Rng[];
  /** Index of instance 0 in the whole batch (non-zero in the slices of a threaded environment). */
  private instanceOffset = 0;
  private closed = false;

  constructor(numEnvs: number, cfg: MujocoEnvConfig<O>, rng: Rng) {
    super(cfg.family, numEnvs, cfg.obsDim, cfg.options);
    this.rt = mujocoRuntime(cfg.family);
    this.base = baseModel(this.rt, cfg.modelFile);
    this.taskSpace = cfg.taskSpace;
    this.actDim = cfg.actDim ?? this.base.nu;
    this.horizon = cfg.horizon;
    this.frameSkip = cfg.frameSkip;
    this.dt = cfg.frameSkip * this.base.opt.timestep;
    this.actionLow = cfg.actionLow;
    this.actionHigh = cfg.actionHigh;
    this.observationSpace = new BoxSpace(new Array<number>(cfg.obsDim).fill(-F32_MAX), new Array<number>(cfg.obsDim).fill(F32_MAX));
    this.actionSpace = new BoxSpace(new Array<number>(this.actDim).fill(cfg.actionLow), new Array<number>(this.actDim).fill(cfg.actionHigh));
    this.blewUp = new Uint8Array(numEnvs);
    this.blowups = new Uint32Array(numEnvs);
    this.scratch = new Float32Array(cfg.obsDim);
    this.models = new Array<MjModel>(numEnvs);
    this.datas = new Array<MjData>(numEnvs);
    this.tasks = new Array<Task>(numEnvs);
    this.keys = new Array<string>(numEnvs).fill('');
    this.noiseBase = rng.split('reset-noise');
    this.noiseRngs = new Array<Rng>(numEnvs);
    this.splitNoise();
    const mj = this.rt.mj;
    for (let i = 0; i < numEnvs; i++) {
      this.models[i] = this.base;
      this.datas[i] = new mj.MjData(this.base);
    }
    this.inUse.set('', numEnvs);
    // the views are taken by setTasks, which every family's constructor ends with
  }

  /** Total blow-ups over all instances since the environment was made. */
  get blowupCount(): number {
    let s = 0;
    for (let i = 0; i < this.numEnvs; i++) s += this.blowups[i];
    return s;
  }

  /** Version of MuJoCo doing the physics. */
  get mujocoVersion(): string {
    return this.rt.version;
  }

  // ----- family hooks -----

  /** Key of the physics task `t` needs ('' = the base model, shared); tasks with the same key share one model. */
  protected physicsKey(_t: Task): string {
    return '';
  }
  /** Builds the model of a physics key (called once per key; the default never runs: '' is the base). */
  protected buildModel(key: string, _t: Task): MjModel {
    throw new IcrlError(`${this.family}: no model for physics key ${key}`);
  }
  /** Stores what the reward needs of task t for instance i. */
  protected abstract setTaskParams(i: number, t: Task): void;
  /** Initial-state noise of a fresh episode (qpos, qvel already at the model's reference values). */
  protected abstract resetNoise(i: number, rng: Rng): void;
  /** Records what the reward needs from the state before the action (e.g. the torso position). */
  protected abstract beforeStep(i: number): void;
  /** Writes instance i's controls from its action `a[o .. o + actDim)` (default: the action itself). */
  protected applyAction(i: number, a: Float32Array, o: number): void {
    const c = this.ctrl[i];
    for (let k = 0; k < this.actDim; k++) c[k] = a[o + k];
  }
  /** Called before each of the frameSkip MuJoCo steps (mocap interpolation); default nothing. */
  protected beforeSubstep(_i: number, _s: number): void {}
  /** Called once after the frameSkip steps, before reward and observation (e.g. contact forces). */
  protected afterStep(_i: number): void {}
  /** Called when instance i's episode ends (terminated, truncated or blown up), before its reset. */
  protected onEpisodeEnd(_i: number): void {}
  /** Reward of the step just taken by instance i with action a[o ..]. */
  protected abstract reward(i: number, a: Float32Array, o: number): number;
  /** True when instance i is in a terminal state. */
  protected isTerminal(_i: number): boolean {
    return false;
  }
  /** Writes instance i's observation into out[0 .. obsDim). */
  protected abstract observe(i: number, out: Float32Array): void;

  // ----- tasks -----

  /** Assigns tasks (validated) and starts a fresh episode in every instance (views renewed once). */
  override setTasks(tasks: Task[]): void {
    this.checkOpen();
    assignTasks(this.taskSpace, this.numEnvs, tasks, (i, t) => this.place(i, t));
    this.renewViews();
    for (let i = 0; i < this.numEnvs; i++) this.resetInstance(i);
  }

  protected assign(i: number, t: Task): void {
    this.checkOpen();
    this.place(i, t);
    this.ensureViews();
    this.resetInstance(i);
  }

  protected taskParams(i: number): Record<string, JsonValue> {
    return JSON.parse(JSON.stringify(this.tasks[i].params)) as Record<string, JsonValue>;
  }

  /** Gives instance i the model of task t's physics (a new MjData when it changes) and the task's parameters. */
  private place(i: number, t: Task): void {
    const key = this.physicsKey(t);
    if (key !== this.keys[i]) {
      let m = key === '' ? this.base : this.modelCache.get(key);
      if (!m) {
        m = this.buildModel(key, t);
        this.modelCache.set(key, m);
      } else if (key !== '') {
        // most recently used last
        this.modelCache.delete(key);
        this.modelCache.set(key, m);
      }
      const old = this.keys[i];
      this.datas[i].delete();
      this.models[i] = m;
      this.datas[i] = new this.rt.mj.MjData(m);
      if (this.qpos.length === this.numEnvs) this.renewInstanceViews(i);
      this.keys[i] = key;
      this.inUse.set(key, (this.inUse.get(key) ?? 0) + 1);
      const left = (this.inUse.get(old) ?? 1) - 1;
      if (left > 0) this.inUse.set(old, left);
      else this.inUse.delete(old);
      this.evictModels();
    }
    this.tasks[i] = t;
    this.setTaskParams(i, t);
  }

  /** Frees the least recently used models no instance uses beyond MAX_UNUSED_MODELS. */
  private evictModels(): void {
    let unused = 0;
    for (const k of this.modelCache.keys()) if (!this.inUse.has(k)) unused++;
    if (unused <= MAX_UNUSED_MODELS) return;
    for (const [k, m] of this.modelCache) {
      if (unused <= MAX_UNUSED_MODELS) break;
      if (this.inUse.has(k)) continue;
      m.delete();
      this.modelCache.delete(k);
      unused--;
    }
  }

  /** Distinct models in use or cached for reuse (the base model counts once). */
  get modelCount(): number {
    return this.modelCache.size + 1;
  }

  // ----- episodes -----

  override reset(seed?: number): Float32Array {
    this.checkOpen();
    this.ensureViews();
    super.reset(seed);
    this.blewUp.fill(0);
    return this.obs;
  }

  /** `reset(seed)` reseeds the initial-state noise. */
  protected override reseed(seed: number): void {
    this.noiseBase = new Rng(seed).split('reset-noise');
    this.splitNoise();
  }

  /**
   * One reset-noise stream per instance, named by its index in the whole batch, so an instance's
   * initial states do not depend on how the batch is split over threads (or on the other instances).
   */
  private splitNoise(): void {
    for (let i = 0; i < this.numEnvs; i++) this.noiseRngs[i] = this.noiseBase.split(this.instanceOffset + i);
  }

  /**
   * Makes this environment the slice starting at instance `offset` of a larger batch (the threaded
   * environment's slices): the noise streams become those of instances offset .. offset + numEnvs - 1
   * of the whole batch, fresh. Call it before `setTasks`, which starts the episodes.
   */
  setInstanceOffset(offset: number): void {
    if (!Number.isInteger(offset) || offset < 0) throw new IcrlError(`${this.family}: instance offset must be a non-negative integer, got ${offset}`);
    this.instanceOffset = offset;
    this.splitNoise();
  }

  /**
   * The per-instance arrays a threaded environment mirrors from its slices (row i of each holds
   * instance i's values: length numEnvs x width). Families add their own (success flags, goals).
   */
  perInstanceArrays(): Record<string, PerInstanceArray> {
    return {
      obs: this.obs,
      rewards: this.rewards,
      terminated: this.terminated,
      truncated: this.truncated,
      finalObs: this.finalObs,
      episodeStep: this.episodeStep,
      blewUp: this.blewUp,
      blowups: this.blowups,
    };
  }

  /** Starts a fresh episode in instance i: MuJoCo's reset, then initial-state noise, then the observation. */
  protected resetInstance(i: number): void {
    const mj = this.rt.mj;
    const m = this.models[i];
    const d = this.datas[i];
    mj.mj_resetData(m, d);
    this.resetNoise(i, this.noiseRngs[i]);
    mj.mj_forward(m, d);
    this.episodeStep[i] = 0;
    this.observe(i, this.scratch);
    this.obs.set(this.scratch, i * this.obsDim);
  }

  step(actions: ActionArray): void {
    this.checkOpen();
    const n = this.numEnvs;
    const ad = this.actDim;
    checkBoxActions(this.family, actions, n, ad, this.actionLow, this.actionHigh);
    this.ensureViews();
    const mj = this.rt.mj;
    const fs = this.frameSkip;
    const od = this.obsDim;
    const scratch = this.scratch;
    for (let i = 0; i < n; i++) {
      const m = this.models[i];
      const d = this.datas[i];
      const o = i * ad;
      this.beforeStep(i);
      this.applyAction(i, actions, o);
      const warned = mujocoWarningCount();
      for (let s = 0; s < fs; s++) {
        this.beforeSubstep(i, s);
        mj.mj_step(m, d);
      }
      let bad = mujocoWarningCount() !== warned || !this.physicsOk(i);
      let r = 0;
      let term = false;
      if (!bad) {
        this.afterStep(i);
        r = this.reward(i, actions, o);
        term = this.isTerminal(i);
        this.observe(i, scratch);
        for (let k = 0; k < od; k++) if (!Number.isFinite(scratch[k])) bad = true;
        if (!Number.isFinite(r) || Math.abs(r) > F32_MAX) bad = true;
      }
      const row = i * od;
      if (bad) {
        // the last good observation (still in obs) ends the episode; nothing of the bad state is reported
        this.blewUp[i] = 1;
        this.blowups[i]++;
        this.rewards[i] = 0;
        this.onEpisodeEnd(i);
        this.endEpisode(i, false);
        continue;
      }
      this.blewUp[i] = 0;
      this.rewards[i] = r;
      for (let k = 0; k < od; k++) this.obs[row + k] = scratch[k];
      const t = this.episodeStep[i] + 1;
      if (term || t >= this.horizon) {
        this.onEpisodeEnd(i);
        this.endEpisode(i, term);
      } else {
        this.terminated[i] = 0;
        this.truncated[i] = 0;
        this.episodeStep[i] = t;
      }
    }
  }

  /**
   * False when instance i's physics blew up in the step just taken. The shipped models turn MuJoCo's
   * automatic reset of bad states off (`<flag autoreset="disable"/>`), so NaN, Inf or a diverging
   * qacc stays visible in qpos / qvel (a diverging qacc makes qvel diverge) rather than being replaced
   * by a silent reset.
   */
  private physicsOk(i: number): boolean {
    const q = this.qpos[i];
    for (let k = 0; k < q.length; k++) if (!(Math.abs(q[k]) <= BLOWUP_LIMIT)) return false;
    const v = this.qvel[i];
    for (let k = 0; k < v.length; k++) if (!(Math.abs(v[k]) <= BLOWUP_LIMIT)) return false;
    return true;
  }

  // ----- views into the module's memory -----

  /** Renews every view when the module's memory has grown since the last full renewal (growth detaches them). */
  protected ensureViews(): void {
    if (this.sentinel === null || this.sentinel.length === 0) this.renewViews();
  }

  protected renewViews(): void {
    for (let i = 0; i < this.numEnvs; i++) this.renewInstanceViews(i);
    this.sentinel = this.datas[0].qpos;
  }

  private renewInstanceViews(i: number): void {
    const d = this.datas[i];
    this.qpos[i] = d.qpos;
    this.qvel[i] = d.qvel;
    this.ctrl[i] = d.ctrl;
    this.xpos[i] = d.xpos;
    this.mocapPos[i] = d.mocap_pos;
    this.renewExtraViews(i);
  }

  /** Families that keep further views of instance i (contact forces, sites) renew them here. */
  protected renewExtraViews(_i: number): void {}

  /** Model and data of instance i (for viewers and tests; do not keep views of them across steps). */
  instance(i: number): { model: MjModel; data: MjData } {
    checkInstance(this.family, i, this.numEnvs);
    return { model: this.models[i], data: this.datas[i] };
  }

  /** Frees every instance's data and the models built for tasks (the shared base model stays). */
  close(): void {
    if (this.closed) return;
    for (const d of this.datas) d.delete();
    for (const m of this.modelCache.values()) m.delete();
    this.modelCache.clear();
    this.closed = true;
  }

  private checkOpen(): void {
    if (this.closed) throw new IcrlError(`${this.family}: the environment was closed`);
  }

  /** No exact oracle: `oracleAction` / `oracleValue` raise (evaluations leave the oracle out). */
  readonly exactOracle = false;

  /** The MuJoCo families have no exact oracle (the experts are learned); always an error. */
  oracleAction(_i: number, _out?: Float32Array): number {
    throw new IcrlError(`${this.family}: no exact oracle action for a MuJoCo family (experts come from a trained policy)`);
  }

  oracleValue(_i: number): number {
    throw new IcrlError(`${this.family}: no exact oracle value for a MuJoCo family`);
  }
}

/** qpos[k] += U(-a, a) for k >= from, then qvel[k] = sd * N(0, 1) (the Gymnasium / PEARL reset noise). */
export function uniformQposNormalQvel(qpos: Float64Array, qvel: Float64Array, rng: Rng, a: number, sd: number, from = 0): void {
  for (let k = from; k < qpos.length; k++) qpos[k] += rng.uniformRange(-a, a);
  for (let k = 0; k < qvel.length; k++) qvel[k] = rng.normal(0, sd);
}

/** qpos[k] += U(-a, a), qvel[k] += U(-a, a) (Gymnasium's walker / hopper reset noise). */
export function uniformQposQvel(qpos: Float64Array, qvel: Float64Array, rng: Rng, a: number): void {
  for (let k = 0; k < qpos.length; k++) qpos[k] += rng.uniformRange(-a, a);
  for (let k = 0; k < qvel.length; k++) qvel[k] += rng.uniformRange(-a, a);
}
