/**
 * The learning-history store: HDF5 files in the XLand-100B layout (one group per task named "0",
 * "1", ...; per group N whole histories of T steps; chunks (1, min(T, 4096)[, ...]); gzip level 6).
 *
 * Our own histories ("icrl-history-1"), per group:
 *   attributes  format="icrl-history-1", env-id=<family>, task=<JSON params>, task-index (int64),
 *               seed (int64), source-algorithm=<JSON spec>, obs-dim, num-actions, act-dim,
 *               num-states, horizon (int64)
 *   datasets    observations  float32 (N, T, obsDim)  observation the action was taken from
 *               states        uint16/int32 (N, T)     discrete state index (tabular families only)
 *               actions       uint8/int32 (N, T)      discrete; float32 (N, T, actDim) continuous
 *               rewards       float32 (N, T)
 *               dones         uint8 (N, T)            1 where the episode ended after this step
 *               expert_actions uint8/int32 (N, T)     the oracle's action in that state; continuous:
 *                                                     float32 (N, T, actDim) (deep learners: the
 *                                                     learner's final greedy action there)
 *               eval_steps    int32 (E)               deep learners only: steps at each evaluation
 *               eval_returns  float32 (N, E)          and the greedy policy's mean return there
 *
 * XLand-100B files (read only; a writer for the same layout exists for tests and exchange):
 *   attributes  ruleset-id, benchmark-id, env-id
 *   datasets    states uint8 (N, T, 5, 5), actions uint8 (N, T), rewards float16 (N, T),
 *               dones bool (N, T), expert_actions uint8 (N, T)
 * h5wasm cannot create float16 or bool datasets, so our XLand writer stores rewards as float32 and
 * dones as uint8; the reader accepts both.
 *
 * Reads are streaming: {@link HistoryReader.read} takes a step range and touches only those chunks,
 * so files larger than memory can be processed window by window.
 */
import type { JsonValue } from '../core/spaces.js';
import { CorruptFileError, IcrlError } from '../core/errors.js';
import type { Task } from '../tasks/taskSpace.js';
import {
  attrValue,
  bytesToFloat32,
  bytesToInt32,
  bytesToUint8,
  createDataset,
  openRead,
  readRaw,
  setIntAttr,
  summarizeH5Error,
  writeAtomic,
  type DatasetInfo,
  type H5Dataset,
  type H5File,
  type H5Group,
} from './h5.js';
import { allocDptDataset, type DptDataset } from './dptDataset.js';

export const HISTORY_FORMAT = 'icrl-history-1';
const CHUNK_T = 4096;

/** One task's learning histories: N runs of T steps each, row-major typed arrays. */
export interface History {
  task: Task;
  /** Index of the task in its collection (group name). */
  taskIndex: number;
  seed: number;
  /** Spec of the source algorithm (JSON). */
  algorithm: JsonValue;
  numHistories: number;
  length: number;
  obsDim: number;
  /** Discrete actions (0 when continuous). */
  numActions: number;
  /** Floats per continuous action (0 when discrete). */
  actDim: number;
  /** Discrete states of the family (0 when continuous). */
  numStates: number;
  horizon: number;
  /** [N, T, obsDim] */
  observations: Float32Array;
  /** [N, T] (only when numStates > 0) */
  states?: Int32Array;
  /** [N, T] discrete or [N, T, actDim] continuous */
  actions: Int32Array | Float32Array;
  /** [N, T] */
  rewards: Float32Array;
  /** [N, T] 1 where an episode ended after the step */
  dones: Uint8Array;
  /** [N, T] oracle action (discrete) or [N, T, actDim] (continuous) */
  expertActions?: Int32Array | Float32Array;
  /**
   * Deep learners: the learner's greedy-policy evaluations over training, `steps` [E] (environment
   * steps of the history at each evaluation) and `returns` [N, E] (mean return per evaluation).
   */
  evaluation?: { steps: Int32Array; returns: Float32Array };
}

function intDtype(maxValue: number): '<B' | '<H' | '<i' {
  if (maxValue <= 255) return '<B';
  if (maxValue <= 65535) return '<H';
  return '<i';
}

function castInt(a: Int32Array, dtype: '<B' | '<H' | '<i'): Uint8Array | Uint16Array | Int32Array {
  if (dtype === '<B') return Uint8Array.from(a);
  if (dtype === '<H') return Uint16Array.from(a);
  return a;
}

/** Checks array sizes of a history before writing, naming the field. */
function checkHistory(h: History): void {
  const nt = h.numHistories * h.length;
  const want: [string, number | undefined, number][] = [
    ['observations', h.observations.length, nt * h.obsDim],
    ['actions', h.actions.length, nt * (h.actDim > 0 ? h.actDim : 1)],
    ['rewards', h.rewards.length, nt],
    ['dones', h.dones.length, nt],
  ];
  if (h.states) want.push(['states', h.states.length, nt]);
  if (h.expertActions) want.push(['expertActions', h.expertActions.length, nt * (h.actDim > 0 ? h.actDim : 1)]);
  for (const [name, got, n] of want) {
    if (got !== n) throw new IcrlError(`history of task ${h.taskIndex}: ${name} has ${got} values, expected ${n} (N=${h.numHistories}, T=${h.length})`);
  }
}

/** Writes one history as group `String(taskIndex)` of an open file. */
export function writeHistoryGroup(f: H5File, h: History, level = 6): void {
  checkHistory(h);
  const N = h.numHistories;
  const T = h.length;
  const ct = Math.max(1, Math.min(T, CHUNK_T));
  const g = f.create_group(String(h.taskIndex));
  g.create_attribute('format', HISTORY_FORMAT);
  g.create_attribute('env-id', h.task.family);
  g.create_attribute('task', JSON.stringify(h.task.params));
  g.create_attribute('source-algorithm', JSON.stringify(h.algorithm));
  setIntAttr(g, 'task-index', h.taskIndex);
  setIntAttr(g, 'seed', h.seed);
  setIntAttr(g, 'obs-dim', h.obsDim);
  setIntAttr(g, 'num-actions', h.numActions);
  setIntAttr(g, 'act-dim', h.actDim);
  setIntAttr(g, 'num-states', h.numStates);
  setIntAttr(g, 'horizon', h.horizon);
  createDataset(g, 'observations', h.observations, [N, T, h.obsDim], '<f', [1, ct, h.obsDim], level);
  if (h.states) {
    const dt = h.numStates <= 65536 ? '<H' : '<i';
    createDataset(g, 'states', castInt(h.states, dt), [N, T], dt, [1, ct], level);
  }
  if (h.actDim > 0) {
    createDataset(g, 'actions', h.actions as Float32Array, [N, T, h.actDim], '<f', [1, ct, h.actDim], level);
  } else {
    const dt = intDtype(h.numActions - 1);
    createDataset(g, 'actions', castInt(h.actions as Int32Array, dt), [N, T], dt, [1, ct], level);
  }
  createDataset(g, 'rewards', h.rewards, [N, T], '<f', [1, ct], level);
  createDataset(g, 'dones', h.dones, [N, T], '<B', [1, ct], level);
  if (h.expertActions && h.actDim > 0) {
    createDataset(g, 'expert_actions', h.expertActions as Float32Array, [N, T, h.actDim], '<f', [1, ct, h.actDim], level);
  } else if (h.expertActions) {
    const dt = intDtype(h.numActions - 1);
    createDataset(g, 'expert_actions', castInt(h.expertActions as Int32Array, dt), [N, T], dt, [1, ct], level);
  }
  if (h.evaluation) {
    const E = h.evaluation.steps.length;
    if (E < 1 || h.evaluation.returns.length !== N * E) throw new IcrlError(`history of task ${h.taskIndex}: evaluation has ${E} steps and ${h.evaluation.returns.length} returns, expected N=${N} x ${E}`);
    createDataset(g, 'eval_steps', h.evaluation.steps, [E], '<i', [E], level);
    createDataset(g, 'eval_returns', h.evaluation.returns, [N, E], '<f', [1, E], level);
  }
}

/** Writes histories to `file` atomically (temporary file + rename). */
export function writeHistories(file: string, histories: History[], level = 6): void {
  writeAtomic(file, (f) => {
    f.create_attribute('format', HISTORY_FORMAT);
    for (const h of histories) writeHistoryGroup(f, h, level);
  });
}

/** One XLand-100B group: N histories of T steps with 5x5 uint8 observations. */
export interface XLandGroup {
  /** Group name (default: its position in the list, "0", "1", ...). */
  name?: string;
  /** Extra string attributes (our collections add `task`, the JSON task parameters). */
  attrs?: Record<string, string>;
  rulesetId: number;
  benchmarkId: string;
  envId: string;
  numHistories: number;
  length: number;
  /** [N, T, 5, 5] */
  states: Uint8Array;
  actions: Uint8Array;
  rewards: Float32Array;
  dones: Uint8Array;
  expertActions: Uint8Array;
}

/**
 * Writes groups (named "0", "1", ... unless `name` is given) in the XLand-100B layout (rewards
 * float32, dones uint8: see the module note), gzip `level`. States are (N, T, V, V) for a V x V view
 * (V = 5 in XLand-100B).
 */
export function writeXLand(file: string, groups: XLandGroup[], level = 6): void {
  writeAtomic(file, (f) => {
    groups.forEach((x, i) => {
      const N = x.numHistories;
      const T = x.length;
      const cells = N * T > 0 ? x.states.length / (N * T) : 25;
      const V = Math.round(Math.sqrt(cells));
      if (V * V !== cells) throw new IcrlError(`writeXLand: group ${x.name ?? i}: ${x.states.length} state values are not N=${N} x T=${T} square views`);
      const g = f.create_group(x.name ?? String(i));
      setIntAttr(g, 'ruleset-id', x.rulesetId);
      g.create_attribute('benchmark-id', x.benchmarkId);
      g.create_attribute('env-id', x.envId);
      for (const [k, v] of Object.entries(x.attrs ?? {})) g.create_attribute(k, v);
      const ct = Math.max(1, Math.min(T, CHUNK_T));
      createDataset(g, 'states', x.states, [N, T, V, V], '<B', [1, ct, V, V], level);
      createDataset(g, 'actions', x.actions, [N, T], '<B', [1, ct], level);
      createDataset(g, 'rewards', x.rewards, [N, T], '<f', [1, ct], level);
      createDataset(g, 'dones', x.dones, [N, T], '<B', [1, ct], level);
      createDataset(g, 'expert_actions', x.expertActions, [N, T], '<B', [1, ct], level);
    });
  });
}

/** Metadata of one group, read without touching its data. */
export interface GroupInfo {
  name: string;
  layout: 'icrl' | 'xland';
  numHistories: number;
  length: number;
  obsDim: number;
  /** Shape of one observation as stored ([obsDim] or [5, 5]). */
  obsShape: number[];
  numActions: number;
  actDim: number;
  numStates: number;
  horizon: number;
  task?: Task;
  taskIndex?: number;
  seed?: number;
  algorithm?: JsonValue;
  attrs: Record<string, string | number>;
  datasets: string[];
}

/** A step range of one group's histories, as plain typed arrays. */
export interface HistorySlice {
  /** Number of histories and steps in the slice. */
  numHistories: number;
  length: number;
  obsDim: number;
  observations: Float32Array;
  states?: Int32Array;
  actions: Int32Array | Float32Array;
  rewards: Float32Array;
  dones: Uint8Array;
  expertActions?: Int32Array | Float32Array;
}

/**
 * Reads a history file of either layout. Each read names the file, group and dataset when HDF5
 * fails (a truncated or corrupt file). Close it when done.
 */
export class HistoryReader {
  private readonly f: H5File;
  private readonly infos = new Map<string, GroupInfo>();

  constructor(
    readonly file: string,
    /** Extra context for errors when the file cannot be opened (e.g. which groups it should hold). */
    private readonly context = '',
  ) {
    this.f = openRead(file, context);
  }

  /** Group names sorted numerically ("0", "1", ..., "10"). */
  groups(): string[] {
    let keys: string[];
    try {
      keys = this.f.keys();
    } catch (e) {
      throw new CorruptFileError(this.file, `cannot list groups${this.context ? ` (${this.context})` : ''}: ${summarizeH5Error(e)}`);
    }
    return keys.filter((k) => /^\d+$/.test(k)).sort((a, b) => Number(a) - Number(b));
  }

  private fail(group: string, what: string, e: unknown): never {
    if (e instanceof IcrlError) throw e;
    throw new CorruptFileError(this.file, `group "${group}": ${what}: ${summarizeH5Error(e)}`);
  }

  private group(name: string): H5Group {
    let g: unknown;
    try {
      g = this.f.get(name);
    } catch (e) {
      this.fail(name, 'cannot open group', e);
    }
    if (!g || (g as { type?: string }).type !== 'Group') throw new IcrlError(`${this.file}: no group "${name}" (groups: ${this.groups().slice(0, 10).join(', ')}${this.groups().length > 10 ? ', ...' : ''})`);
    return g as H5Group;
  }

  private dataset(group: string, name: string): H5Dataset {
    let d: unknown;
    try {
      d = this.f.get(`${group}/${name}`);
    } catch (e) {
      this.fail(group, `dataset "${name}"`, e);
    }
    if (!d || (d as { type?: string }).type !== 'Dataset') throw new CorruptFileError(this.file, `group "${group}": dataset "${name}" is missing`);
    return d as H5Dataset;
  }

  /** Layout and metadata of a group. */
  info(name: string): GroupInfo {
    const cached = this.infos.get(name);
    if (cached) return cached;
    const g = this.group(name);
    let attrs: Record<string, string | number>;
    let datasets: string[];
    try {
      attrs = {};
      for (const k of Object.keys(g.attrs)) {
        const v = attrValue(g, k);
        if (v !== undefined) attrs[k] = v;
      }
      datasets = g.keys();
    } catch (e) {
      this.fail(name, 'cannot read attributes', e);
    }
    const layout: 'icrl' | 'xland' = attrs.format === HISTORY_FORMAT ? 'icrl' : 'xland';
    let info: GroupInfo;
    const shapeOf = (ds: string): number[] => {
      try {
        return this.dataset(name, ds).shape ?? [];
      } catch (e) {
        this.fail(name, `dataset "${ds}"`, e);
      }
    };
    if (layout === 'icrl') {
      const shape = shapeOf('observations');
      let task: Task | undefined;
      let algorithm: JsonValue | undefined;
      try {
        task = { family: String(attrs['env-id']), params: JSON.parse(String(attrs.task)) };
        algorithm = JSON.parse(String(attrs['source-algorithm']));
      } catch (e) {
        throw new CorruptFileError(this.file, `group "${name}": attribute task or source-algorithm is not JSON: ${(e as Error).message}`);
      }
      info = {
        name,
        layout,
        numHistories: shape[0],
        length: shape[1],
        obsDim: shape[2],
        obsShape: [shape[2]],
        numActions: Number(attrs['num-actions']),
        actDim: Number(attrs['act-dim']),
        numStates: Number(attrs['num-states']),
        horizon: Number(attrs.horizon),
        task,
        taskIndex: Number(attrs['task-index']),
        seed: Number(attrs.seed),
        algorithm,
        attrs,
        datasets,
      };
    } else {
      for (const ds of ['states', 'actions', 'rewards', 'dones']) {
        if (!datasets.includes(ds)) throw new CorruptFileError(this.file, `group "${name}": dataset "${ds}" is missing (neither ${HISTORY_FORMAT} nor XLand-100B layout)`);
      }
      const shape = shapeOf('states');
      const obsShape = shape.slice(2);
      info = {
        name,
        layout,
        numHistories: shape[0],
        length: shape[1],
        obsDim: obsShape.reduce((a, b) => a * b, 1),
        obsShape,
        numActions: 0,
        actDim: 0,
        numStates: 0,
        horizon: 0,
        attrs,
        datasets,
      };
    }
    this.infos.set(name, info);
    return info;
  }

  private readDs(group: string, ds: string, hist: [number, number], steps: [number, number]) {
    const d = this.dataset(group, ds);
    try {
      return readRaw(d, [hist, steps]);
    } catch (e) {
      this.fail(group, `dataset "${ds}" steps ${steps[0]}..${steps[1]}`, e);
    }
  }

  /**
   * Reads steps [start, stop) of histories [h0, h1) of a group. Observations come back as float32
   * whatever their stored type (XLand's uint8 5x5 grids become 25 floats).
   */
  read(name: string, opts: { start?: number; stop?: number; h0?: number; h1?: number } = {}): HistorySlice {
    const info = this.info(name);
    const start = opts.start ?? 0;
    const stop = Math.min(opts.stop ?? info.length, info.length);
    const h0 = opts.h0 ?? 0;
    const h1 = Math.min(opts.h1 ?? info.numHistories, info.numHistories);
    if (start < 0 || start > stop || h0 < 0 || h0 > h1) throw new IcrlError(`${this.file}: group "${name}": bad range steps [${start}, ${stop}) histories [${h0}, ${h1})`);
    const hr: [number, number] = [h0, h1];
    const sr: [number, number] = [start, stop];
    const obsName = info.layout === 'icrl' ? 'observations' : 'states';
    const o = this.readDs(name, obsName, hr, sr);
    const a = this.readDs(name, 'actions', hr, sr);
    const r = this.readDs(name, 'rewards', hr, sr);
    const dn = this.readDs(name, 'dones', hr, sr);
    const out: HistorySlice = {
      numHistories: h1 - h0,
      length: stop - start,
      obsDim: info.obsDim,
      observations: bytesToFloat32(o.bytes, o.info),
      actions: a.info.kind === 'float' ? bytesToFloat32(a.bytes, a.info) : bytesToInt32(a.bytes, a.info),
      rewards: bytesToFloat32(r.bytes, r.info),
      dones: bytesToUint8(dn.bytes, dn.info),
    };
    if (info.layout === 'icrl' && info.datasets.includes('states')) {
      const s = this.readDs(name, 'states', hr, sr);
      out.states = bytesToInt32(s.bytes, s.info);
    }
    if (info.datasets.includes('expert_actions')) {
      const e = this.readDs(name, 'expert_actions', hr, sr);
      out.expertActions = e.info.kind === 'float' ? bytesToFloat32(e.bytes, e.info) : bytesToInt32(e.bytes, e.info);
    }
    return out;
  }

  /** Reads only rewards and dones of histories [h0, h1) of a group (what scoring needs). */
  readReturns(name: string, opts: { h0?: number; h1?: number } = {}): { rewards: Float32Array; dones: Uint8Array; numHistories: number; length: number } {
    const info = this.info(name);
    const h0 = opts.h0 ?? 0;
    const h1 = Math.min(opts.h1 ?? info.numHistories, info.numHistories);
    const r = this.readDs(name, 'rewards', [h0, h1], [0, info.length]);
    const d = this.readDs(name, 'dones', [h0, h1], [0, info.length]);
    return { rewards: bytesToFloat32(r.bytes, r.info), dones: bytesToUint8(d.bytes, d.info), numHistories: h1 - h0, length: info.length };
  }

  /** Reads a whole group of our layout as a {@link History}. */
  readHistory(name: string): History {
    const info = this.info(name);
    if (info.layout !== 'icrl' || !info.task) throw new IcrlError(`${this.file}: group "${name}" is in the XLand-100B layout; use read() or readXLand()`);
    const s = this.read(name);
    return {
      task: info.task,
      taskIndex: info.taskIndex ?? Number(name),
      seed: info.seed ?? 0,
      algorithm: info.algorithm ?? null,
      numHistories: info.numHistories,
      length: info.length,
      obsDim: info.obsDim,
      numActions: info.numActions,
      actDim: info.actDim,
      numStates: info.numStates,
      horizon: info.horizon,
      observations: s.observations,
      states: s.states,
      actions: s.actions,
      rewards: s.rewards,
      dones: s.dones,
      expertActions: s.expertActions,
      evaluation: this.readEvaluation(name),
    };
  }

  /** A deep learner's evaluations over training (datasets eval_steps, eval_returns), if the group has them. */
  readEvaluation(name: string): { steps: Int32Array; returns: Float32Array } | undefined {
    const info = this.info(name);
    if (!info.datasets.includes('eval_steps') || !info.datasets.includes('eval_returns')) return undefined;
    const read = (ds: string) => {
      try {
        return readRaw(this.dataset(name, ds));
      } catch (e) {
        this.fail(name, `dataset "${ds}"`, e);
      }
    };
    const st = read('eval_steps');
    const rt = read('eval_returns');
    const steps = bytesToInt32(st.bytes, st.info);
    const returns = bytesToFloat32(rt.bytes, rt.info);
    if (returns.length !== info.numHistories * steps.length) throw new CorruptFileError(this.file, `group "${name}": eval_returns holds ${returns.length} values, expected ${info.numHistories} x ${steps.length}`);
    return { steps, returns };
  }

  /** Reads a whole XLand-100B group with its stored types (states uint8, rewards float32). */
  readXLand(name: string): XLandGroup {
    const info = this.info(name);
    const s = this.read(name);
    const states = this.readDs(name, 'states', [0, info.numHistories], [0, info.length]);
    return {
      rulesetId: Number(info.attrs['ruleset-id']),
      benchmarkId: String(info.attrs['benchmark-id']),
      envId: String(info.attrs['env-id']),
      numHistories: info.numHistories,
      length: info.length,
      states: bytesToUint8(states.bytes, states.info),
      actions: Uint8Array.from(s.actions as Int32Array),
      rewards: s.rewards,
      dones: s.dones,
      expertActions: Uint8Array.from((s.expertActions as Int32Array | undefined) ?? new Int32Array(0)),
    };
  }

  close(): void {
    this.f.close();
  }
}

/** Iterates over a group in windows of `window` steps (streaming; memory bounded by one window). */
export function* iterateWindows(reader: HistoryReader, group: string, window: number): Generator<HistorySlice & { start: number }> {
  const info = reader.info(group);
  for (let start = 0; start < info.length; start += window) {
    yield { ...reader.read(group, { start, stop: start + window }), start };
  }
}

/** Format tag of DPT sample shards. */
export const DPT_FORMAT = 'icrl-dpt-1';

/**
 * Writes DPT samples (layout of datasets.ts) to `file` atomically: root datasets context_states
 * (N, T, obsDim) float32, context_actions (N, T) uint8/int32, context_rewards (N, T) float32,
 * context_next_states (N, T, obsDim), query_states (N, obsDim), optimal_actions (N), task_index (N)
 * int32, tasks (N) JSON strings (continuous actions: context_actions (N, T, actDim) and
 * optimal_actions (N, actDim) float32); chunks of up to 64 samples, gzip 6.
 */
export function writeDpt(file: string, ds: DptDataset, tasks: Task[], meta: Record<string, string | number> = {}, level = 6): void {
  const N = ds.numSamples;
  const T = ds.contextLength;
  const d = ds.obsDim;
  if (tasks.length !== N) throw new IcrlError(`writeDpt: ${tasks.length} tasks for ${N} samples`);
  const cn = Math.max(1, Math.min(N, 64));
  const dt = intDtype(Math.max(1, ds.numActions - 1));
  const A = ds.actDim;
  writeAtomic(file, (f) => {
    f.create_attribute('format', DPT_FORMAT);
    setIntAttr(f, 'num-actions', ds.numActions);
    setIntAttr(f, 'act-dim', A);
    for (const [k, v] of Object.entries(meta)) {
      if (typeof v === 'number' && Number.isInteger(v)) setIntAttr(f, k, v);
      else f.create_attribute(k, v);
    }
    if (N === 0) return;
    createDataset(f, 'context_states', ds.contextStates, [N, T, d], '<f', [cn, T, d], level);
    if (A > 0) createDataset(f, 'context_actions', ds.contextActions as Float32Array, [N, T, A], '<f', [cn, T, A], level);
    else createDataset(f, 'context_actions', castInt(ds.contextActions as Int32Array, dt), [N, T], dt, [cn, T], level);
    createDataset(f, 'context_rewards', ds.contextRewards, [N, T], '<f', [cn, T], level);
    createDataset(f, 'context_next_states', ds.contextNextStates, [N, T, d], '<f', [cn, T, d], level);
    createDataset(f, 'query_states', ds.queryStates, [N, d], '<f', [cn, d], level);
    if (A > 0) createDataset(f, 'optimal_actions', ds.optimalActions as Float32Array, [N, A], '<f', [cn, A], level);
    else createDataset(f, 'optimal_actions', castInt(ds.optimalActions as Int32Array, dt), [N], dt, [cn], level);
    createDataset(f, 'task_index', ds.taskIndex, [N], '<i', [cn], level);
    f.create_dataset({ name: 'tasks', data: tasks.map((t) => JSON.stringify({ family: t.family, params: t.params })) });
  });
}

/** Reads DPT samples [start, stop) of a shard written by {@link writeDpt}. */
export function readDpt(file: string, range: { start?: number; stop?: number } = {}, context = ''): { ds: DptDataset; tasks: Task[]; attrs: Record<string, string | number> } {
  const f = openRead(file, context);
  try {
    const attrs: Record<string, string | number> = {};
    for (const k of Object.keys(f.attrs)) {
      const v = attrValue(f, k);
      if (v !== undefined) attrs[k] = v;
    }
    if (attrs.format !== DPT_FORMAT) throw new CorruptFileError(file, `not a DPT sample file (format ${JSON.stringify(attrs.format)}, expected ${DPT_FORMAT})`);
    const get = (name: string): H5Dataset => {
      const d = f.get(name) as H5Dataset | null;
      if (!d) throw new CorruptFileError(file, `dataset "${name}" is missing`);
      return d;
    };
    const numActions = Number(attrs['num-actions']);
    const actDim = Number(attrs['act-dim'] ?? 0);
    if (!f.keys().includes('context_states')) return { ds: allocDptDataset(0, 0, 0, numActions, actDim), tasks: [], attrs };
    const shape = get('context_states').shape ?? [];
    const [N, T, d] = shape;
    const s0 = range.start ?? 0;
    const s1 = Math.min(range.stop ?? N, N);
    const rd = (name: string) => {
      try {
        return readRaw(get(name), [[s0, s1]]);
      } catch (e) {
        if (e instanceof IcrlError) throw e;
        throw new CorruptFileError(file, `dataset "${name}" samples ${s0}..${s1}: ${summarizeH5Error(e)}`);
      }
    };
    const ds = allocDptDataset(s1 - s0, T, d, numActions, actDim);
    const decode = (x: { bytes: Uint8Array; info: DatasetInfo }) => (actDim > 0 ? bytesToFloat32(x.bytes, x.info) : bytesToInt32(x.bytes, x.info));
    const cs = rd('context_states');
    ds.contextStates.set(bytesToFloat32(cs.bytes, cs.info));
    const ca = rd('context_actions');
    ds.contextActions.set(decode(ca));
    const cr = rd('context_rewards');
    ds.contextRewards.set(bytesToFloat32(cr.bytes, cr.info));
    const cx = rd('context_next_states');
    ds.contextNextStates.set(bytesToFloat32(cx.bytes, cx.info));
    const q = rd('query_states');
    ds.queryStates.set(bytesToFloat32(q.bytes, q.info));
    const o = rd('optimal_actions');
    ds.optimalActions.set(decode(o));
    const ti = rd('task_index');
    ds.taskIndex.set(bytesToInt32(ti.bytes, ti.info));
    const tv = get('tasks').slice([[s0, s1]]) as string[];
    const tasks = tv.map((s) => JSON.parse(s) as Task);
    return { ds, tasks, attrs };
  } catch (e) {
    if (e instanceof IcrlError) throw e;
    throw new CorruptFileError(file, summarizeH5Error(e));
  } finally {
    f.close();
  }
}
