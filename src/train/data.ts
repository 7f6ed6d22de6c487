/**
 * Training data for `icrl train`, built in memory from the config with the data and algorithm
 * modules of the project:
 *
 * - DPT: `generateDptSamples` (src/data/dpt.ts) on the family's training tasks: roll-in contexts of
 *   `contextLength` transitions, a query state and its optimal action per sample.
 * - AD: learning histories of the source algorithm (e.g. tabular Q-learning) on every training task,
 *   recorded with `play` and laid out as streams by `buildAdDataset` (src/data/datasets.ts); or the
 *   histories of an `icrl collect` folder (`data.ad.collection`).
 *
 * Tasks: the family's task space is split into train / held-out with `splitTasks` (the function and
 * seed the evaluator uses, so held-out tasks are never trained on); a fraction of the training tasks
 * is kept for the validation loss. Batches are drawn with replacement from the trainer's data stream
 * (its RNG state is the data position saved in checkpoints) and converted to model tokens with the
 * same feature writers the model agents use (src/models/features.ts).
 */
import { ConfigError, IcrlError } from '../core/errors.js';
import { checkMemory } from '../core/limits.js';
import { Rng } from '../core/rng.js';
import { getFamily, makeBatchedEnv } from '../envs/index.js';
import { splitTasks, taskKey, type Task } from '../tasks/taskSpace.js';
import { canonicalJson } from '../core/json.js';
import { openHistoryCollection, readManifest } from '../data/collect.js';
import { generateDptSamples, defaultRollin } from '../data/dpt.js';
import { buildAdDataset, concatDpt, type AdDataset, type DptDataset } from '../data/datasets.js';
import type { History } from '../data/store.js';
import { scoreHistories, streamWeights, type HistoryScore } from '../data/lhf.js';
import { makeAgent } from '../algorithms/index.js';
import { play } from '../algorithms/play.js';
import { adTokenSize, dptTokenSize, envDims, obsFeatureSize, writeAdToken, writeDptToken, writeObs, type EnvDims } from '../models/features.js';
import type { JsonValue } from '../core/spaces.js';
import type { TrainConfig } from './config.js';
import type { AdBatch, DptBatch, TrainingData } from '../models/batches.js';
import { modelKinds, type ModelKind } from '../models/kinds.js';

type Log = (line: string) => void;

interface TaskSets {
  train: Task[];
  val: Task[];
  heldOut: Task[];
}

function splitForTraining(cfg: TrainConfig): TaskSets {
  const d = cfg.data;
  checkMemory(256 * ((d.split.heldOut > 1 ? d.split.heldOut : 0) + (d.split.train ?? 0)), 'the task split', cfg.name, 'data.split');
  const space = getFamily(d.family).taskSpace(d.envOptions);
  const split = splitTasks(space, { seed: d.split.seed, heldOut: d.split.heldOut, train: d.split.train });
  const nVal = d.validationFraction > 0 ? Math.max(1, Math.round(split.train.length * d.validationFraction)) : 0;
  if (nVal >= split.train.length) throw new ConfigError(`${cfg.name}: data.validationFraction leaves no training task (${split.train.length} tasks)`, undefined, 'data.validationFraction');
  return { train: split.train.slice(0, split.train.length - nVal), val: split.train.slice(split.train.length - nVal), heldOut: split.heldOut };
}

export async function buildTrainingData(cfg: TrainConfig, _baseDir: string, rng: Rng, log: Log): Promise<TrainingData> {
  const dataset = modelKinds.get(cfg.model.kind).dataset;
  if (!cfg.data[dataset]) throw new ConfigError(`${cfg.name}: data.${dataset} is required for a ${cfg.model.kind} model`, undefined, `data.${dataset}`);
  if (dataset === 'dpt') {
    // what the samples take in memory (generated in chunks, then joined: twice), refused before allocating
    const dc = cfg.data.dpt!;
    const probe = makeBatchedEnv(cfg.data.family, 1, cfg.data.envOptions, new Rng(0));
    const perTransition = 2 * probe.obsDim + Math.max(1, probe.actDim) + 1;
    checkMemory(2 * 4 * dc.samples * dc.contextLength * perTransition, `${dc.samples} DPT samples of ${dc.contextLength} transitions`, cfg.name, 'data.dpt.samples');
  }
  return DATASET_BUILDERS[dataset](cfg, rng, log);
}

// ---------------------------------------------------------------------------------------------
// DPT

function generateDpt(cfg: TrainConfig, tasks: Task[], n: number, rng: Rng): { ds: DptDataset; taskOf: Int32Array } {
  const d = cfg.data;
  const dc = d.dpt!;
  const rollin = dc.rollin ?? defaultRollin(d.family);
  const chunk = 1024;
  const parts: DptDataset[] = [];
  const taskOf = new Int32Array(n);
  for (let s = 0, c = 0; s < n; s += chunk, c++) {
    const m = Math.min(chunk, n - s);
    const chunkTasks: Task[] = [];
    for (let i = 0; i < m; i++) {
      taskOf[s + i] = (s + i) % tasks.length;
      chunkTasks.push(tasks[(s + i) % tasks.length]);
    }
    const env = makeBatchedEnv(d.family, m, d.envOptions, rng.split(`env${c}`));
    parts.push(generateDptSamples(env, chunkTasks, dc.contextLength, rollin, rng.split(`chunk${c}`), s));
  }
  return { ds: parts.length === 1 ? parts[0] : concatDpt(parts), taskOf };
}

function buildDptData(cfg: TrainConfig, rng: Rng, log: Log): TrainingData {
  const dc = cfg.data.dpt!;
  const sets = splitForTraining(cfg);
  const t0 = performance.now();
  const train = generateDpt(cfg, sets.train, dc.samples, rng.split('train'));
  const nVal = sets.val.length > 0 ? Math.max(64, Math.round(dc.samples * cfg.data.validationFraction)) : 0;
  const val = nVal > 0 ? generateDpt(cfg, sets.val, Math.min(nVal, 4096), rng.split('val')) : null;
  const probe = makeBatchedEnv(cfg.data.family, 1, cfg.data.envOptions, new Rng(0));
  const dims = envDims(probe, cfg.data.envOptions);
  log(`generated ${dc.samples} DPT samples (${sets.train.length} training tasks, context ${dc.contextLength}) in ${((performance.now() - t0) / 1000).toFixed(1)}s`);
  const byTask = (taskOf: Int32Array, nTasks: number) => {
    const lists: number[][] = Array.from({ length: nTasks }, () => []);
    taskOf.forEach((t, i) => lists[t].push(i));
    return lists;
  };
  const trainByTask = byTask(train.taskOf, sets.train.length);
  const valByTask = val ? byTask(val.taskOf, sets.val.length) : [];
  return {
    kind: 'dpt',
    dims,
    contextLength: dc.contextLength,
    numTrainTasks: sets.train.length,
    numValTasks: sets.val.length,
    heldOut: sets.heldOut,
    description: `${cfg.data.family} DPT samples: ${dc.samples} train (${sets.train.length} tasks), ${val?.ds.numSamples ?? 0} validation (${sets.val.length} tasks), context ${dc.contextLength}, ${sets.heldOut.length} held-out tasks`,
    sample(r: Rng, B: number, split: 'train' | 'val', paired: boolean): DptBatch {
      const src = split === 'train' ? train : val;
      if (!src) throw new IcrlError('no validation data (data.validationFraction is 0)');
      const lists = split === 'train' ? trainByTask : valByTask;
      const idx = new Int32Array(B);
      if (paired) {
        const P = B / 2;
        for (let i = 0; i < P; i++) {
          const a = r.int(src.ds.numSamples);
          const same = lists[src.taskOf[a]];
          if (same.length < 2) throw new IcrlError(`${cfg.name}: T2MIR pairs need at least 2 samples per task; raise data.dpt.samples above the number of training tasks (${lists.length})`);
          let b = a;
          while (b === a) b = same[r.int(same.length)];
          idx[i] = a;
          idx[P + i] = b;
        }
      } else for (let i = 0; i < B; i++) idx[i] = r.int(src.ds.numSamples);
      return packDpt(src.ds, dims, idx);
    },
  };
}

function packDpt(ds: DptDataset, dims: EnvDims, idx: Int32Array): DptBatch {
  const B = idx.length;
  const T = ds.contextLength;
  const ts = dptTokenSize(dims);
  const qs = obsFeatureSize(dims);
  const od = ds.obsDim;
  const aw = ds.actDim > 0 ? ds.actDim : 1;
  const tokens = new Float32Array(B * T * ts);
  const queries = new Float32Array(B * qs);
  const labels = ds.actDim > 0 ? new Float32Array(B * ds.actDim) : new Int32Array(B);
  for (let b = 0; b < B; b++) {
    const n = idx[b];
    for (let t = 0; t < T; t++) {
      const r = n * T + t;
      writeDptToken(dims, ds.contextStates, r * od, ds.contextActions, r * aw, ds.contextRewards[r], ds.contextNextStates, r * od, tokens, (b * T + t) * ts);
    }
    writeObs(dims, ds.queryStates, n * od, queries, b * qs);
    if (labels instanceof Int32Array) labels[b] = ds.optimalActions[n];
    else labels.set((ds.optimalActions as Float32Array).subarray(n * aw, (n + 1) * aw), b * aw);
  }
  return { kind: 'dpt', B, T, tokens, queries, labels };
}

// ---------------------------------------------------------------------------------------------
// AD

async function collectHistories(cfg: TrainConfig, tasks: Task[], rng: Rng, firstIndex: number): Promise<History[]> {
  const d = cfg.data;
  const ac = d.ad!;
  const runs = ac.historiesPerTask;
  const n = tasks.length * runs;
  const env = makeBatchedEnv(d.family, n, d.envOptions, rng.split('env'));
  const perInstance: Task[] = [];
  for (const t of tasks) for (let k = 0; k < runs; k++) perInstance.push(t);
  env.setTasks(perInstance);
  const agent = makeAgent(ac.source!, `${cfg.name}: data.ad.source`);
  const L = ac.episodes! * env.horizon;
  const od = env.obsDim;
  const aw = env.numActions > 0 ? 1 : env.actDim;
  const obs = new Float32Array(n * L * od);
  const actions = env.numActions > 0 ? new Int32Array(n * L) : new Float32Array(n * L * aw);
  const rewards = new Float32Array(n * L);
  const dones = new Uint8Array(n * L);
  await play(env, agent, L, rng.split('agent'), (tr) => {
    const t = tr.step;
    for (let i = 0; i < n; i++) {
      const g = i * L + t;
      for (let c = 0; c < od; c++) obs[g * od + c] = tr.prevObs[i * od + c];
      for (let c = 0; c < aw; c++) actions[g * aw + c] = tr.actions[i * aw + c];
      rewards[g] = tr.rewards[i];
      dones[g] = tr.terminated[i] === 1 || tr.truncated[i] === 1 ? 1 : 0;
    }
  }, rng.split('reset').nextU32());
  const out: History[] = [];
  tasks.forEach((task, ti) => {
    const s = ti * runs * L;
    const e = (ti + 1) * runs * L;
    out.push({
      task,
      taskIndex: firstIndex + ti,
      seed: 0,
      algorithm: ac.source as JsonValue,
      numHistories: runs,
      length: L,
      obsDim: od,
      numActions: env.numActions,
      actDim: env.actDim,
      numStates: env.numStates,
      horizon: env.horizon,
      observations: obs.slice(s * od, e * od),
      actions: actions.slice(s * aw, e * aw),
      rewards: rewards.slice(s, e),
      dones: dones.slice(s, e),
    });
  });
  return out;
}

/** Mean return of the first and last episodes of the histories (to report what is being distilled). */
function historyReturns(ds: AdDataset, horizon: number): { first: number; last: number } {
  let first = 0;
  let last = 0;
  const S = ds.offsets.length - 1;
  for (let s = 0; s < S; s++) {
    const a = ds.offsets[s];
    const b = ds.offsets[s + 1];
    for (let t = a; t < a + horizon; t++) first += ds.rewards[t];
    for (let t = b - horizon; t < b; t++) last += ds.rewards[t];
  }
  return { first: first / S, last: last / S };
}

/**
 * Learning histories of an `icrl collect` folder (data.ad.collection) as training and validation
 * histories: the last validationFraction of its tasks (in collection order) validate. The collection
 * must be of the configured family and environment options, and hold none of the held-out tasks.
 */
async function loadCollectedHistories(cfg: TrainConfig, heldOut: Task[], log: Log): Promise<{ train: History[]; val: History[]; source: JsonValue; length: number }> {
  const dir = cfg.data.ad!.collection!;
  const field = 'data.ad.collection';
  const manifest = readManifest(dir);
  if (!manifest) throw new ConfigError(`${cfg.name}: ${field}: ${dir} holds no collection manifest (run icrl collect first)`, undefined, field);
  const c = manifest.config;
  if (c.kind !== 'histories') throw new ConfigError(`${cfg.name}: ${field}: ${dir} holds ${c.kind} samples, not learning histories`, undefined, field);
  if (c.family !== cfg.data.family) throw new ConfigError(`${cfg.name}: ${field}: ${dir} was collected on ${c.family}, not ${cfg.data.family}`, undefined, field);
  if (canonicalJson(c.envOptions as JsonValue) !== canonicalJson(cfg.data.envOptions as JsonValue)) {
    throw new ConfigError(`${cfg.name}: ${field}: ${dir} was collected with envOptions ${canonicalJson(c.envOptions as JsonValue)}, data.envOptions is ${canonicalJson(cfg.data.envOptions as JsonValue)}`, undefined, field);
  }
  if ((c.layout ?? 'icrl') !== 'icrl') throw new ConfigError(`${cfg.name}: ${field}: ${dir} is in the ${c.layout} layout; training reads the icrl layout (observations as the environment gives them)`, undefined, field);
  const held = new Set(heldOut.map(taskKey));
  const all: History[] = [];
  for (const { reader, groups } of await openHistoryCollection(dir)) {
    try {
      for (const g of groups) {
        const h = reader.readHistory(g);
        if (held.has(taskKey(h.task))) throw new ConfigError(`${cfg.name}: ${field}: task ${h.taskIndex} of ${dir} is a held-out task of data.split (seed ${cfg.data.split.seed})`, undefined, field);
        all.push(h);
      }
    } finally {
      reader.close();
    }
  }
  all.sort((a, b) => a.taskIndex - b.taskIndex);
  const nVal = cfg.data.validationFraction > 0 ? Math.max(1, Math.round(all.length * cfg.data.validationFraction)) : 0;
  if (nVal >= all.length) throw new ConfigError(`${cfg.name}: data.validationFraction leaves no training task (${all.length} tasks in ${dir})`, undefined, 'data.validationFraction');
  log(`read ${all.length} tasks of learning histories from ${dir}`);
  return { train: all.slice(0, all.length - nVal), val: all.slice(all.length - nVal), source: (c.algorithm ?? null) as JsonValue, length: all[0].length };
}

/** Draws index i with probability weights[i] / sum (binary search over the cumulative weights). */
export function weightedPicker(weights: ArrayLike<number>): (r: Rng) => number {
  const cdf = new Float64Array(weights.length);
  let acc = 0;
  for (let i = 0; i < weights.length; i++) {
    if (!(weights[i] >= 0)) throw new IcrlError(`weightedPicker: weight ${i} is ${weights[i]} (weights must be finite and >= 0)`);
    cdf[i] = acc += weights[i];
  }
  if (!(acc > 0) || !Number.isFinite(acc)) throw new IcrlError(`weightedPicker: the weights sum to ${acc}`);
  return (r) => {
    const u = r.uniform() * acc;
    let lo = 0;
    let hi = cdf.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid] > u) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  };
}

/**
 * LHF scores of the training histories, each history scored and selected among the histories of its
 * own task (the same goal may be spread over several collection groups), so that every training task
 * keeps its best histories rather than the easiest tasks keeping all of theirs.
 */
export function lhfScoresPerTask(histories: History[], options: NonNullable<TrainConfig['data']['ad']>['lhf']): HistoryScore[] {
  const byTask = new Map<string, History[]>();
  for (const h of histories) {
    const k = taskKey(h.task);
    const list = byTask.get(k) ?? [];
    list.push(h);
    byTask.set(k, list);
  }
  return [...byTask.values()].flatMap((hs) => scoreHistories(hs, options));
}

async function buildAdData(cfg: TrainConfig, rng: Rng, log: Log): Promise<TrainingData> {
  const ac = cfg.data.ad!;
  const sets = splitForTraining(cfg);
  if (ac.episodes !== undefined) {
    // histories generated here (a collection's were sized when it was collected)
    const probe = makeBatchedEnv(cfg.data.family, 1, cfg.data.envOptions, new Rng(0));
    const histories = (sets.train.length + sets.val.length) * ac.historiesPerTask;
    // recorded runs, then their streams: about twice the histories' floats
    checkMemory(2 * 4 * histories * ac.episodes * probe.horizon * (2 * probe.obsDim + Math.max(1, probe.actDim) + 3), `${histories} learning histories of ${ac.episodes} episodes`, cfg.name, 'data.ad.episodes');
  }
  const t0 = performance.now();
  let trainH: History[];
  let valH: History[];
  let sourceSpec: JsonValue = (ac.source ?? null) as JsonValue;
  let len: number;
  const probe = makeBatchedEnv(cfg.data.family, 1, cfg.data.envOptions, new Rng(0));
  const dims = envDims(probe, cfg.data.envOptions);
  const L = ac.windowEpisodes * dims.horizon;
  if (ac.collection !== undefined) {
    const loaded = await loadCollectedHistories(cfg, sets.heldOut, log);
    trainH = loaded.train;
    valH = loaded.val;
    sourceSpec = loaded.source;
    len = loaded.length;
    sets.train = trainH.map((h) => h.task);
    sets.val = valH.map((h) => h.task);
    if (L > len) throw new ConfigError(`${cfg.name}: data.ad.windowEpisodes x horizon (${L} steps) exceeds the collected histories (${len} steps)`, undefined, 'data.ad.windowEpisodes');
  } else {
    trainH = await collectHistories(cfg, sets.train, rng.split('train'), 0);
    valH = sets.val.length > 0 ? await collectHistories(cfg, sets.val, rng.split('val'), sets.train.length) : [];
    len = ac.episodes! * dims.horizon;
    if (L > len) throw new ConfigError(`${cfg.name}: data.ad.windowEpisodes (${ac.windowEpisodes}) exceeds data.ad.episodes (${ac.episodes})`, undefined, 'data.ad.windowEpisodes');
  }
  const train = buildAdDataset(trainH);
  const val = valH.length > 0 ? buildAdDataset(valH) : null;
  const ret = historyReturns(train, dims.horizon);
  const numHistories = trainH.reduce((n, h) => n + h.numHistories, 0);
  log(`${ac.collection !== undefined ? 'loaded' : 'collected'} ${numHistories} learning histories of ${len} steps in ${((performance.now() - t0) / 1000).toFixed(1)}s; source return first ${dims.horizon} steps ${ret.first.toFixed(2)}, last ${dims.horizon} steps ${ret.last.toFixed(2)}`);
  const streamsOf = (ds: AdDataset) => {
    const m = new Map<number, number[]>();
    for (let s = 0; s + 1 < ds.offsets.length; s++) {
      const t = ds.streamTask[s];
      if (!m.has(t)) m.set(t, []);
      m.get(t)!.push(s);
    }
    return m;
  };
  const trainStreams = streamsOf(train);
  const valStreams = val ? streamsOf(val) : new Map<number, number[]>();
  // LHF: training streams drawn in proportion to their weights (null: uniformly)
  let lhfNote = '';
  let pickTrain: ((r: Rng) => number) | null = null;
  let keptStream: Uint8Array | null = null;
  if (ac.lhf) {
    const scores = lhfScoresPerTask(trainH, ac.lhf);
    const w = streamWeights(train, scores);
    if (!w.some((x) => x > 0)) throw new ConfigError(`${cfg.name}: data.ad.lhf leaves no training history with a positive weight`, undefined, 'data.ad.lhf');
    pickTrain = weightedPicker(w);
    keptStream = Uint8Array.from(w, (x) => (x > 0 ? 1 : 0));
    const kept = scores.filter((h) => h.weight > 0).length;
    const mean = (wt: (h: HistoryScore) => number) => scores.reduce((a, h) => a + wt(h) * h.improvement, 0) / scores.reduce((a, h) => a + wt(h), 0);
    lhfNote = `; LHF ${ac.lhf.mode}: ${kept} of ${scores.length} histories with weight > 0, mean improvement ${mean(() => 1).toFixed(4)} over all, ${mean((h) => h.weight).toFixed(4)} weighted`;
    log(lhfNote.slice(2));
  }
  return {
    kind: 'ad',
    dims,
    contextLength: L,
    numTrainTasks: sets.train.length,
    numValTasks: sets.val.length,
    heldOut: sets.heldOut,
    description: `${cfg.data.family} AD histories of ${JSON.stringify(sourceSpec)}${ac.collection !== undefined ? ` (from ${ac.collection})` : ''}: ${sets.train.length} train tasks, ${numHistories} histories of ${len} steps (source return over the first / last ${dims.horizon} steps ${ret.first.toFixed(2)} -> ${ret.last.toFixed(2)}), windows of ${ac.windowEpisodes} episodes = ${L} steps, ${sets.val.length} validation tasks, ${sets.heldOut.length} held-out tasks${lhfNote}`,
    sample(r: Rng, B: number, split: 'train' | 'val', paired: boolean): AdBatch {
      const ds = split === 'train' ? train : val;
      if (!ds) throw new IcrlError('no validation data (data.validationFraction is 0)');
      const byTask = split === 'train' ? trainStreams : valStreams;
      const S = ds.offsets.length - 1;
      const weighted = split === 'train' && pickTrain !== null;
      const draw = (): number => (weighted ? pickTrain!(r) : r.int(S));
      const win = new Array<[number, number]>(B);
      const startIn = (s: number) => r.int(ds.offsets[s + 1] - ds.offsets[s] - L + 1);
      if (paired) {
        const P = B / 2;
        for (let i = 0; i < P; i++) {
          const s = draw();
          const all = byTask.get(ds.streamTask[s])!;
          // the pair's second window: another stream of the task that LHF kept
          const same = weighted ? all.filter((x) => keptStream![x] === 1) : all;
          const s2 = same.length > 1 ? same[r.int(same.length)] : s;
          win[i] = [s, startIn(s)];
          win[P + i] = [s2, startIn(s2)];
        }
      } else for (let i = 0; i < B; i++) {
        const s = draw();
        win[i] = [s, startIn(s)];
      }
      return packAd(ds, dims, win, L);
    },
  };
}

function packAd(ds: AdDataset, dims: EnvDims, win: [number, number][], L: number): AdBatch {
  const B = win.length;
  const ts = adTokenSize(dims);
  const od = ds.obsDim;
  const aw = ds.actDim > 0 ? ds.actDim : 1;
  const tokens = new Float32Array(B * L * ts);
  const targets = ds.actDim > 0 ? new Float32Array(B * L * aw) : new Int32Array(B * L);
  for (let b = 0; b < B; b++) {
    const [s, start] = win[b];
    const base = ds.offsets[s];
    for (let t = 0; t < L; t++) {
      const g = base + start + t;
      const hasPrev = g > base;
      const episodeStart = !hasPrev || ds.dones[g - 1] === 1;
      writeAdToken(dims, ds.observations, g * od, ds.actions, (g - 1) * aw, hasPrev ? ds.rewards[g - 1] : 0, hasPrev, episodeStart, tokens, (b * L + t) * ts);
      if (targets instanceof Int32Array) targets[b * L + t] = ds.actions[g];
      else targets.set((ds.actions as Float32Array).subarray(g * aw, (g + 1) * aw), (b * L + t) * aw);
    }
  }
  return { kind: 'ad', B, T: L, tokens, targets };
}

/** The builder of each dataset format a model kind can learn from. */
const DATASET_BUILDERS: Record<ModelKind['dataset'], (cfg: TrainConfig, rng: Rng, log: Log) => Promise<TrainingData> | TrainingData> = {
  dpt: buildDptData,
  ad: buildAdData,
};
