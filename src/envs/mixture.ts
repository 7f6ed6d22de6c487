/**
 * `mixture`: one family whose tasks come from several member families with Box actions (e.g.
 * `cheetah-vel` and `reach`, the heterogeneous distribution of T2MIR, Wu et al. 2025), so that one
 * AD / DPT / T2MIR model trains and is evaluated on all of them as on any single family.
 *
 * - A task is `{ member, params }`: the member family's name and a task of that family. The task
 *   space is the union of the members'; a sample draws the member uniformly, then its task. The
 *   train / held-out split is made per member (each member's own split by the same seed, the counts
 *   divided evenly among the members), so every member has held-out tasks, and a member's held-out
 *   tasks are those of its own split with that count (cheetah-vel's 5 are `cheetahVelSplit`'s).
 * - Observation: the member's observation, zero-padded to the largest member's size, then (with
 *   `memberId`, the default) a one-hot of the member. The one-hot is what a real multi-task agent
 *   would know (which robot it controls); `memberId: false` leaves the model to tell the members
 *   apart from the observations themselves, as T2MIR's task-wise router is meant to.
 * - Action: `actDim` = the largest member's, every coordinate in [-1, 1]; coordinate k of the
 *   member's action is its box rescaled linearly to [-1, 1] (the identity for the MuJoCo families,
 *   whose boxes are [-1, 1]); the coordinates beyond the member's own are ignored. Actions outside
 *   [-1, 1] are an error, never clamped.
 * - Episodes: every member must have the same horizon; `horizon` sets the `horizon` option of every
 *   member (cheetah-vel's default is 200, reach's 100; the default mixture gives reach 200).
 * - Rewards, termination, truncation are the member's. `finalEpisodeSuccess` exists where a member
 *   has a success criterion (0 on the instances of the members that have none); the scripted
 *   `expertAction` where a member has one (an error on the others); the oracle where every member has
 *   an exact one.
 *
 * Every member keeps one batched environment of all `numEnvs` instances; instance i plays its task in
 * member m(i)'s environment, and the other members' instance i idles (stepped with the action at the
 * middle of the box only when that member has an active instance). Discrete-action families (Dark
 * Room) and bandits cannot be members.
 */
import { z } from 'zod';
import { BoxSpace, CategoricalSpace, type JsonValue } from '../core/spaces.js';
import { IcrlError, OutOfSpaceError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import { TaskSpace, splitTasks, type MutateOptions, type SplitOptions, type Task, type TaskSplit } from '../tasks/taskSpace.js';
import type { ActionArray, BatchedEnv, EnvFamily } from './types.js';
import { EpisodicEnv } from './episodes.js';
import { assignTasks, checkBoxActions, checkInstance, parseOptions } from './common.js';
import type { MujocoFamily } from './mujoco/base.js';

export const MIXTURE = 'mixture';

const memberSchema = z
  .object({
    family: z.string().min(1).describe('a registered family with Box actions'),
    options: z.record(z.string(), z.unknown()).default({}).describe("the member family's options"),
  })
  .strict();

export const mixtureOptionsSchema = z
  .object({
    members: z
      .array(memberSchema)
      .min(1)
      .default([{ family: 'cheetah-vel', options: {} }, { family: 'reach', options: { horizon: 200 } }])
      .describe('member families, in order (their index is the one-hot position)'),
    /** Sets every member's `horizon` option; absent: the members' own horizons, which must agree. */
    horizon: z.number().int().min(1).max(1_000_000).optional(),
    /** Append a one-hot of the member to every observation. */
    memberId: z.boolean().default(true),
  })
  .strict()
  .superRefine((o, ctx) => {
    const names = o.members.map((m) => m.family);
    names.forEach((n, i) => {
      if (names.indexOf(n) !== i) ctx.addIssue({ code: 'custom', path: ['members', i, 'family'], message: `member ${n} is listed twice` });
      if (n === MIXTURE) ctx.addIssue({ code: 'custom', path: ['members', i, 'family'], message: 'a mixture cannot be a member of a mixture' });
    });
  });
export type MixtureOptions = z.output<typeof mixtureOptionsSchema>;

/** Looks a family up by name (the registry of src/envs/index.ts; passed in so this file does not import it). */
export type FamilyLookup = (name: string) => EnvFamily;

/** The members' options as the mixture gives them (the common `horizon` set on each). */
function memberOptions(o: MixtureOptions): Record<string, unknown>[] {
  return o.members.map((m) => (o.horizon === undefined ? m.options : { ...m.options, horizon: o.horizon }));
}

/**
 * The union of the members' task spaces: a task is `{ member, params }`. Sampling draws the member
 * uniformly; the split is per member (see the file comment); a mutation stays within the member.
 */
export class MixtureTaskSpace extends TaskSpace {
  constructor(readonly members: readonly { name: string; space: TaskSpace }[]) {
    super(MIXTURE, { member: new CategoricalSpace(members.map((m) => m.name)) }, { descriptions: { member: `member family (${members.map((m) => m.name).join(', ')}); params: a task of that family` } });
  }

  /** The member entry of a name (an error listing the members otherwise). */
  member(name: unknown): { index: number; name: string; space: TaskSpace } {
    const index = this.members.findIndex((m) => m.name === name);
    if (index < 0) throw new OutOfSpaceError(`${MIXTURE}.params.member: ${JSON.stringify(name)} is not one of the members (${this.members.map((m) => m.name).join(', ')})`);
    return { index, ...this.members[index] };
  }

  override check(task: Task | Record<string, JsonValue>): Task {
    const t: Task = 'family' in task && 'params' in task && typeof task.family === 'string' ? (task as Task) : { family: MIXTURE, params: task as Record<string, JsonValue> };
    if (t.family !== MIXTURE) throw new OutOfSpaceError(`task.family: "${t.family}" does not belong to the ${MIXTURE} task space`);
    const p = t.params as Record<string, unknown>;
    if (typeof p !== 'object' || p === null) throw new OutOfSpaceError(`${MIXTURE}.params: expected { member, params }, got ${JSON.stringify(p)}`);
    for (const k of Object.keys(p)) if (k !== 'member' && k !== 'params') throw new OutOfSpaceError(`${MIXTURE}.params.${k}: unknown parameter; expected member, params`);
    const m = this.member(p.member);
    if (typeof p.params !== 'object' || p.params === null || Array.isArray(p.params)) throw new OutOfSpaceError(`${MIXTURE}.params.params: expected the parameters of a ${m.name} task, got ${JSON.stringify(p.params)}`);
    try {
      m.space.check({ family: m.name, params: p.params as Record<string, JsonValue> });
    } catch (e) {
      if (e instanceof OutOfSpaceError) throw new OutOfSpaceError(`${MIXTURE} member ${m.name}: ${e.message}`);
      throw e;
    }
    return t;
  }

  override sample(rng: Rng): Task {
    const m = this.members[rng.int(this.members.length)];
    return wrap(m.name, m.space.sample(rng));
  }

  override get finite(): boolean {
    return this.members.every((m) => m.space.finite);
  }

  override enumerate(): Task[] {
    if (!this.finite) throw new IcrlError(`${MIXTURE}: task space is not finite (a member's is not); sample it instead`);
    return this.members.flatMap((m) => m.space.enumerate().map((t) => wrap(m.name, t)));
  }

  override get hasMutation(): boolean {
    return true;
  }

  /** A mutation of the member's task (the member stays). */
  override mutate(task: Task, rng: Rng, options: MutateOptions): Task {
    this.check(task);
    const m = this.member(task.params.member);
    return wrap(m.name, m.space.mutate({ family: m.name, params: task.params.params as Record<string, JsonValue> }, rng, options));
  }

  override describeParams(): { name: string; space: string; description: string }[] {
    return [super.describeParams()[0], ...this.members.flatMap((m) => m.space.describeParams().map((d) => ({ ...d, name: `params.${d.name} (${m.name})` })))];
  }

  override toJSON(): { family: string; params: unknown } {
    return { family: MIXTURE, params: { member: this.members.map((m) => m.name), members: Object.fromEntries(this.members.map((m) => [m.name, m.space.toJSON().params])) } };
  }

  /**
   * Each member's own split by the same seed, the held-out count (and training count) divided evenly
   * among the members; training and held-out tasks interleaved member by member (m0, m1, ..., m0, ...).
   */
  override ownSplit(opts: SplitOptions): TaskSplit {
    const M = this.members.length;
    const per = (n: number, what: string): number => {
      if (n < 1) return n; // a fraction of a finite space: the same fraction of each member
      if (!Number.isInteger(n / M)) throw new IcrlError(`${MIXTURE}: ${what}=${n} must be a multiple of the ${M} members (each member gets the same number)`);
      return n / M;
    };
    const heldOut = per(opts.heldOut, 'heldOut');
    const train = opts.train === undefined ? undefined : per(opts.train, 'train');
    const parts = this.members.map((m) => {
      const s = splitTasks(m.space, { seed: opts.seed, heldOut, train, draw: m.space.finite ? undefined : opts.draw });
      return { train: s.train.map((t) => wrap(m.name, t)), heldOut: s.heldOut.map((t) => wrap(m.name, t)) };
    });
    const interleave = (lists: Task[][]): Task[] => {
      const out: Task[] = [];
      const n = Math.max(...lists.map((l) => l.length));
      for (let i = 0; i < n; i++) for (const l of lists) if (i < l.length) out.push(l[i]);
      return out;
    };
    return { train: interleave(parts.map((p) => p.train)), heldOut: interleave(parts.map((p) => p.heldOut)) };
  }
}

function wrap(member: string, t: Task): Task {
  return { family: MIXTURE, params: { member, params: t.params } };
}

/** The member families of mixture options (each checked: Box actions, multi-step episodes). */
function resolveMembers(o: MixtureOptions, lookup: FamilyLookup): EnvFamily[] {
  return o.members.map((m, i) => {
    const f = lookup(m.family);
    if (f.setting !== 'mdp') throw new IcrlError(`${MIXTURE} options.members[${i}]: ${m.family} is a ${f.setting} family; members must be MDPs with Box actions`);
    return f;
  });
}

export function mixtureTaskSpace(options: Record<string, unknown> | undefined, lookup: FamilyLookup): MixtureTaskSpace {
  const o = parseOptions(MIXTURE, mixtureOptionsSchema, options);
  const fams = resolveMembers(o, lookup);
  const opts = memberOptions(o);
  return new MixtureTaskSpace(fams.map((f, i) => ({ name: f.name, space: f.taskSpace(opts[i]) })));
}

/** Sizes of one member inside the mixture's observation and action. */
export interface MixtureMemberLayout {
  name: string;
  obsDim: number;
  actDim: number;
  /** The member's action box, per coordinate. */
  actLow: number[];
  actHigh: number[];
  horizon: number;
}

/**
 * Where each member's values go in the mixture's observation and action: written once, used by the
 * environment and by whatever converts a member's recorded histories into the mixture's layout.
 */
export class MixtureLayout {
  readonly obsDim: number;
  readonly actDim: number;
  readonly padDim: number;
  readonly horizon: number;
  constructor(
    readonly members: readonly MixtureMemberLayout[],
    readonly memberId: boolean,
  ) {
    this.padDim = Math.max(...members.map((m) => m.obsDim));
    this.obsDim = this.padDim + (memberId ? members.length : 0);
    this.actDim = Math.max(...members.map((m) => m.actDim));
    this.horizon = members[0].horizon;
    for (const m of members) {
      if (m.horizon !== this.horizon) throw new IcrlError(`${MIXTURE}: members ${members[0].name} and ${m.name} have horizons ${this.horizon} and ${m.horizon}; give the mixture a common horizon option`);
    }
  }

  /** Index of member `name` (an error listing the members otherwise). */
  index(name: string): number {
    const k = this.members.findIndex((m) => m.name === name);
    if (k < 0) throw new IcrlError(`${MIXTURE}: ${name} is not a member (members: ${this.members.map((m) => m.name).join(', ')})`);
    return k;
  }

  /** Writes member k's observation `src[so .. so + obsDim_k)` as the mixture's observation at `dst[d0 ..)`. */
  encodeObs(k: number, src: ArrayLike<number>, so: number, dst: Float32Array, d0: number): void {
    const n = this.members[k].obsDim;
    for (let j = 0; j < n; j++) dst[d0 + j] = src[so + j];
    for (let j = n; j < this.obsDim; j++) dst[d0 + j] = 0;
    if (this.memberId) dst[d0 + this.padDim + k] = 1;
  }

  /** Member k's action (its box) from the mixture's action `src[so ..)` (in [-1, 1]). */
  decodeAction(k: number, src: ArrayLike<number>, so: number, dst: Float32Array, d0: number): void {
    const m = this.members[k];
    for (let j = 0; j < m.actDim; j++) dst[d0 + j] = m.actLow[j] + ((src[so + j] + 1) / 2) * (m.actHigh[j] - m.actLow[j]);
  }

  /** The mixture's action (in [-1, 1], zero beyond the member's coordinates) of member k's action `src[so ..)`. */
  encodeAction(k: number, src: ArrayLike<number>, so: number, dst: Float32Array, d0: number): void {
    const m = this.members[k];
    for (let j = 0; j < m.actDim; j++) {
      const w = m.actHigh[j] - m.actLow[j];
      dst[d0 + j] = w > 0 ? (2 * (src[so + j] - m.actLow[j])) / w - 1 : 0;
    }
    for (let j = m.actDim; j < this.actDim; j++) dst[d0 + j] = 0;
  }
}

function boxBounds(env: BatchedEnv, what: 'action' | 'observation'): { low: number[]; high: number[] } {
  const s = what === 'action' ? env.actionSpace : env.observationSpace;
  if (!(s instanceof BoxSpace)) throw new IcrlError(`${MIXTURE}: member ${env.family} has a ${s.describe()} ${what} space; members need Box ${what}s`);
  return { low: s.spec.low, high: s.spec.high };
}

function layoutOf(envs: BatchedEnv[], memberId: boolean): MixtureLayout {
  return new MixtureLayout(
    envs.map((e) => {
      if (e.numActions > 0 || e.actDim < 1) throw new IcrlError(`${MIXTURE}: member ${e.family} has discrete actions; members need Box actions`);
      const b = boxBounds(e, 'action');
      return { name: e.family, obsDim: e.obsDim, actDim: e.actDim, actLow: b.low, actHigh: b.high, horizon: e.horizon };
    }),
    memberId,
  );
}

/** The layout of mixture `options` (one instance of each member is made to read its sizes, then closed). */
export function mixtureLayout(options: Record<string, unknown> | undefined, lookup: FamilyLookup): MixtureLayout {
  const o = parseOptions(MIXTURE, mixtureOptionsSchema, options);
  const fams = resolveMembers(o, lookup);
  const opts = memberOptions(o);
  const envs = fams.map((f, i) => f.make(1, opts[i], new Rng(0)));
  try {
    return layoutOf(envs, o.memberId);
  } finally {
    for (const e of envs) (e as { close?: () => void }).close?.();
  }
}

export class BatchedMixture extends EpisodicEnv<MixtureOptions> {
  readonly setting = 'mdp';
  readonly taskSpace: MixtureTaskSpace;
  readonly observationSpace: BoxSpace;
  readonly actionSpace: BoxSpace;
  readonly numActions = 0;
  readonly actDim: number;
  readonly numStates = 0;
  readonly horizon: number;
  readonly exactOracle: boolean;
  readonly layout: MixtureLayout;
  /** One environment of every member, numEnvs instances each. */
  readonly memberEnvs: BatchedEnv[];
  /** Member index of each instance. */
  readonly memberOf: Int32Array;
  readonly finalEpisodeSuccess?: Uint8Array;
  expertAction?: (i: number, out: Float32Array) => void;
  private readonly actionBufs: Float32Array[];
  /** The action at the middle of each member's box (what idle instances play). */
  private readonly idleActions: Float32Array[];
  private readonly scratch: Float32Array;
  /** One member action per member (the expert's and the oracle's, before rescaling). */
  private readonly memberActions: Float32Array[];

  constructor(numEnvs: number, options: Record<string, unknown> | undefined, rng: Rng, lookup: FamilyLookup) {
    const o = parseOptions(MIXTURE, mixtureOptionsSchema, options);
    const fams = resolveMembers(o, lookup);
    const opts = memberOptions(o);
    const envs = fams.map((f, i) => f.make(numEnvs, opts[i], rng.split(`member-${f.name}`)));
    const layout = layoutOf(envs, o.memberId);
    for (const e of envs) if (!e.setTask || !e.getTask) throw new IcrlError(`${MIXTURE}: member ${e.family} cannot set or report the task of one instance (setTask / getTask); members need both`);
    super(MIXTURE, numEnvs, layout.obsDim, o);
    this.layout = layout;
    this.memberEnvs = envs;
    this.actDim = layout.actDim;
    this.horizon = layout.horizon;
    this.taskSpace = new MixtureTaskSpace(envs.map((e, i) => ({ name: e.family, space: fams[i].taskSpace(opts[i]) })));
    const low = new Array<number>(layout.obsDim).fill(0);
    const high = new Array<number>(layout.obsDim).fill(0);
    envs.forEach((e) => {
      const b = boxBounds(e, 'observation');
      for (let j = 0; j < e.obsDim; j++) {
        low[j] = Math.min(low[j], b.low[j]);
        high[j] = Math.max(high[j], b.high[j]);
      }
    });
    if (o.memberId) for (let k = 0; k < envs.length; k++) high[layout.padDim + k] = 1;
    this.observationSpace = new BoxSpace(low, high);
    this.actionSpace = new BoxSpace(new Array<number>(layout.actDim).fill(-1), new Array<number>(layout.actDim).fill(1));
    this.exactOracle = envs.every((e) => e.exactOracle !== false);
    this.memberOf = new Int32Array(numEnvs);
    this.actionBufs = envs.map((e) => new Float32Array(numEnvs * e.actDim));
    this.idleActions = layout.members.map((m) => Float32Array.from(m.actLow.map((l, j) => (l + m.actHigh[j]) / 2)));
    this.scratch = new Float32Array(layout.actDim);
    this.memberActions = envs.map((e) => new Float32Array(e.actDim));
    if (envs.some((e) => e.finalEpisodeSuccess)) this.finalEpisodeSuccess = new Uint8Array(numEnvs);
    if (envs.some((e) => typeof e.expertAction === 'function')) {
      this.expertAction = (i, out) => {
        checkInstance(this.family, i, this.numEnvs);
        const k = this.memberOf[i];
        const e = this.memberEnvs[k];
        if (!e.expertAction) throw new IcrlError(`${MIXTURE}: instance ${i} plays member ${e.family}, which has no scripted expert`);
        const a = this.memberActions[k];
        e.expertAction(i, a);
        this.layout.encodeAction(k, a, 0, out, 0);
      };
    }
    this.setTasks(this.taskSpace.sampleMany(rng.split('tasks'), numEnvs));
  }

  override setTasks(tasks: Task[]): void {
    const checked: Task[] = [];
    assignTasks(this.taskSpace, this.numEnvs, tasks, (_i, t) => checked.push(t));
    for (let k = 0; k < this.memberEnvs.length; k++) {
      const e = this.memberEnvs[k];
      const own: Task[] = [];
      let any = false;
      for (let i = 0; i < this.numEnvs; i++) {
        const t = checked[i];
        if (t.params.member === e.family) {
          own.push({ family: e.family, params: t.params.params as Record<string, JsonValue> });
          any = true;
        } else own.push(e.getTask!(i));
      }
      if (any) e.setTasks(own);
    }
    for (let i = 0; i < this.numEnvs; i++) {
      this.memberOf[i] = this.layout.index(checked[i].params.member as string);
      this.copyState(i);
    }
  }

  protected assign(i: number, t: Task): void {
    const k = this.layout.index(t.params.member as string);
    const e = this.memberEnvs[k];
    if (!e.setTask) throw new IcrlError(`${MIXTURE}: member ${e.family} cannot change the task of one instance (no setTask)`);
    e.setTask(i, { family: e.family, params: t.params.params as Record<string, JsonValue> });
    this.memberOf[i] = k;
    this.copyState(i);
  }

  protected taskParams(i: number): Record<string, JsonValue> {
    const e = this.memberEnvs[this.memberOf[i]];
    return { member: e.family, params: e.getTask!(i).params };
  }

  /** Only called through EpisodicEnv.reset, which this class overrides. */
  protected resetInstance(i: number): void {
    this.copyState(i);
  }

  override reset(seed?: number): Float32Array {
    this.memberEnvs.forEach((e, k) => e.reset(seed === undefined ? undefined : new Rng(seed).split(`member-${k}`).nextU32()));
    for (let i = 0; i < this.numEnvs; i++) this.copyState(i);
    this.rewards.fill(0);
    this.terminated.fill(0);
    this.truncated.fill(0);
    return this.obs;
  }

  /** Instance i's observation and episode step from its member's environment. */
  private copyState(i: number): void {
    const k = this.memberOf[i];
    const e = this.memberEnvs[k];
    this.layout.encodeObs(k, e.obs, i * e.obsDim, this.obs, i * this.obsDim);
    this.episodeStep[i] = e.episodeStep[i];
  }

  step(actions: ActionArray): void {
    const n = this.numEnvs;
    const ad = this.actDim;
    checkBoxActions(this.family, actions, n, ad, -1, 1);
    const L = this.layout;
    for (let k = 0; k < this.memberEnvs.length; k++) {
      const e = this.memberEnvs[k];
      const buf = this.actionBufs[k];
      const md = e.actDim;
      let any = false;
      for (let i = 0; i < n; i++) {
        if (this.memberOf[i] === k) {
          L.decodeAction(k, actions, i * ad, buf, i * md);
          any = true;
        } else buf.set(this.idleActions[k], i * md);
      }
      if (!any) continue;
      e.step(buf);
      const od = e.obsDim;
      for (let i = 0; i < n; i++) {
        if (this.memberOf[i] !== k) continue;
        this.rewards[i] = e.rewards[i];
        this.terminated[i] = e.terminated[i];
        this.truncated[i] = e.truncated[i];
        if (e.terminated[i] || e.truncated[i]) {
          L.encodeObs(k, e.finalObs, i * od, this.finalObs, i * this.obsDim);
          if (this.finalEpisodeSuccess) this.finalEpisodeSuccess[i] = e.finalEpisodeSuccess ? e.finalEpisodeSuccess[i] : 0;
        }
        L.encodeObs(k, e.obs, i * od, this.obs, i * this.obsDim);
        this.episodeStep[i] = e.episodeStep[i];
      }
    }
  }

  oracleAction(i: number, out?: Float32Array): number {
    checkInstance(this.family, i, this.numEnvs);
    if (!out || out.length < this.actDim) throw new OutOfSpaceError(`${MIXTURE}: oracleAction needs an output Float32Array of length ${this.actDim}`);
    const k = this.memberOf[i];
    const e = this.memberEnvs[k];
    const a = this.memberActions[k];
    e.oracleAction(i, a);
    this.layout.encodeAction(k, a, 0, this.scratch, 0);
    out.set(this.scratch.subarray(0, this.actDim));
    return 0;
  }

  oracleValue(i: number): number {
    checkInstance(this.family, i, this.numEnvs);
    return this.memberEnvs[this.memberOf[i]].oracleValue(i);
  }

  /** Closes the members' environments (MuJoCo data, worker threads). */
  close(): void {
    for (const e of this.memberEnvs) (e as { close?: () => void }).close?.();
  }
}

/**
 * The family entry; `lookup` finds the members (the family registry), `prepareAll` loads what every
 * family needs. It counts as a MuJoCo family (`needsMujoco`): its default members run on MuJoCo.
 */
export function makeMixtureFamily(lookup: FamilyLookup, prepareAll: () => Promise<void>): MujocoFamily {
  return {
    runtime: 'mujoco',
    name: MIXTURE,
    description: 'Mixture of families with Box actions (default cheetah-vel + reach, 200-step episodes): task {member, params}, observations padded plus a member one-hot, actions in [-1, 1] rescaled to the member\'s box',
    options: mixtureOptionsSchema,
    setting: 'mdp',
    taskSpace: (options) => mixtureTaskSpace(options, lookup),
    make: (numEnvs, options, rng) => new BatchedMixture(numEnvs, options, rng ?? new Rng(0), lookup),
    prepare: prepareAll,
  };
}
