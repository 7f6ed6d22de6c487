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
import { existsSync, statSync } from 'node:fs';
import { openHistoryCollection, readManifest } from '../data/collect.js';
import { h5ready } from '../data/h5.js';
import { HistoryReader, type History } from '../data/store.js';
import { generateDptSamples, defaultRollin } from '../data/dpt.js';
import { buildAdDataset, concatDpt, type AdDataset, type DptDataset } from '../data/datasets.js';
import { HistoryWindows } from '../data/windows.js';
import { scoreHistories, streamWeights, type HistoryScore } from '../data/lhf.js';
import { makeAgent } from '../algorithms/index.js';
import { play } from '../algorithms/play.js';
import { loadPolicyFolder } from '../rl/policyAgent.js';
import type { SavedPolicy } from '../rl/collectKinds.js';
import type { Agent } from '../algorithms/agent.js';
import type { BatchedEnv } from '../envs/types.js';
import { adTokenSize, dptTokenSize, envDims, obsFeatureSize, standardizedDims, writeAdToken, writeDptToken, writeObs, type EnvDims } from '../models/features.js';
import type { JsonValue } from '../core/spaces.js';
import type { TrainConfig } from './config.js';
import type { AdBatch, DptBatch, TrainingData } from '../models/batches.js';
import { modelKinds, type ModelKind } from '../models/kinds.js';
import { loadInContextModel, type InContextModel } from '../models/io.js';
import { modelAgent } from '../models/load.js';

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
  const split = splitTasks(space, { seed: d.split.seed, heldOut: d.split.heldOut, train: d.split.train, draw: d.split.draw });
  const nVal = d.validationFraction > 0 ? Math.max(1, Math.round(split.train.length * d.validationFraction)) : 0;
  if (nVal >= split.train.length) throw new ConfigError(`${cfg.name}: data.validationFraction leaves no training task (${split.train.length} tasks)`, undefined, 'data.validationFraction');
  return { train: split.train.slice(0, split.train.length - nVal), val: split.train.slice(split.train.length - nVal), heldOut: split.heldOut };
}

export async function buildTrainingData(cfg: TrainConfig, _baseDir: string, rng: Rng, log: Log): Promise<TrainingData> {
  const dataset = modelKinds.get(cfg.model.kind).dataset;
  if (!cfg.data[dataset]) throw new ConfigError(`${cfg.name}: data.${dataset} is required for a ${cfg.model.kind} model`, undefined, `data.${dataset}`);
  if (dataset === 'dpt' && cfg.data.dpt!.samples !== undefined) {
    // what the samples take in memory (generated in chunks, then joined: twice), refused before allocating
    const dc = cfg.data.dpt!;
    const probe = makeBatchedEnv(cfg.data.family, 1, cfg.data.envOptions, new Rng(0));
    const perTransition = 2 * probe.obsDim + Math.max(1, probe.actDim) + 1;
    checkMemory(2 * 4 * dc.samples! * dc.contextLength * perTransition, `${dc.samples!} DPT samples of ${dc.contextLength} transitions`, cfg.name, 'data.dpt.samples');
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

function buildDptData(cfg: TrainConfig, rng: Rng, log: Log): Promise<TrainingData> | TrainingData {
  const dc = cfg.data.dpt!;
  if (dc.collection !== undefined) return buildDptFromHistories(cfg, rng, log);
  if (cfg.data.normalize) throw new ConfigError(`${cfg.name}: data.normalize standardises inputs by the statistics of learning histories: it needs data.dpt.collection (generated DPT samples have none)`, undefined, 'data.normalize');
  const sets = splitForTraining(cfg);
  const t0 = performance.now();
  const samples = dc.samples!;
  const train = generateDpt(cfg, sets.train, samples, rng.split('train'));
  const nVal = sets.val.length > 0 ? Math.max(64, Math.round(samples * cfg.data.validationFraction)) : 0;
  const val = nVal > 0 ? generateDpt(cfg, sets.val, Math.min(nVal, 4096), rng.split('val')) : null;
  const probe = makeBatchedEnv(cfg.data.family, 1, cfg.data.envOptions, new Rng(0));
  const dims = envDims(probe, cfg.data.envOptions);
  log(`generated ${samples} DPT samples (${sets.train.length} training tasks, context ${dc.contextLength}) in ${((performance.now() - t0) / 1000).toFixed(1)}s`);
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
    description: `${cfg.data.family} DPT samples: ${samples} train (${sets.train.length} tasks), ${val?.ds.numSamples ?? 0} validation (${sets.val.length} tasks), context ${dc.contextLength}, ${sets.heldOut.length} held-out tasks`,
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

/**
 * DPT samples drawn from learning histories whose steps carry an expert label (`expert_actions`, e.g.
 * SAC histories relabelled by each learner's final policy): a sample is a window of contextLength
 * consecutive transitions (s, a, r, s') of one run, a query state drawn uniformly from the same
 * run, and the expert's action there (the DPT recipe for tasks without an exact oracle, as in the
 * T2MIR and DPT MuJoCo set-ups; data.dpt.contextFrom: run draws the context from the whole run
 * instead, data.dpt.query: pool the query state from any run). The histories do not store the
 * observation an episode ended in, so the next state of an episode's last step is that step's own
 * observation. Samples are drawn fresh for every batch (there is no fixed sample count).
 */
async function buildDptFromHistories(cfg: TrainConfig, rng: Rng, log: Log): Promise<TrainingData> {
  const dc = cfg.data.dpt!;
  const field = 'data.dpt.collection';
  const sets = splitForTraining(cfg);
  const t0 = performance.now();
  const dirs = typeof dc.collection === 'string' ? [dc.collection] : dc.collection!;
  const where = dirs.join(' + ');
  // several collections: their histories together, each folder's tasks numbered on after the
  // previous folders', the validation tasks the last of all of them
  const parts: { dir: string; histories: History[] }[] = [];
  const seenTasks = new Map<string, string>();
  let source: JsonValue = null;
  for (const dir of dirs) {
    const one = await loadHistorySource(cfg, dir, field, sets.heldOut, log, false);
    if (parts.length === 0) source = one.source;
    const offset = parts.reduce((n, p) => n + p.histories.length, 0);
    const histories = one.train.map((h) => ({ ...h, taskIndex: h.taskIndex + offset }));
    for (const h of histories) {
      const k = taskKey(h.task);
      const other = seenTasks.get(k);
      if (other !== undefined) throw new ConfigError(`${cfg.name}: ${field}: ${other} and ${dir} both hold task ${JSON.stringify(h.task.params)}`, undefined, field);
      seenTasks.set(k, dir);
    }
    if (parts.length > 0 && histories[0].length !== parts[0].histories[0].length) {
      throw new ConfigError(`${cfg.name}: ${field}: ${dir} holds ${histories[0].length}-step histories, ${parts[0].dir} ${parts[0].histories[0].length}-step ones`, undefined, field);
    }
    parts.push({ dir, histories });
  }
  const everyHistory = parts.flatMap((p) => p.histories);
  const nVal = validationCount(cfg, everyHistory.length, where);
  const loaded = { train: everyHistory.slice(0, everyHistory.length - nVal), val: everyHistory.slice(everyHistory.length - nVal), length: everyHistory[0].length };
  const T = dc.contextLength;
  for (const h of [...loaded.train, ...loaded.val]) {
    if (!h.expertActions) throw new ConfigError(`${cfg.name}: ${field}: the history of task ${h.taskIndex} in ${where} has no expert_actions (DPT learns the expert's action at the query state)`, undefined, field);
    if (h.length < T + 1) throw new ConfigError(`${cfg.name}: data.dpt.contextLength (${T}) needs histories of more than ${T} steps; ${where} holds ${h.length}`, undefined, 'data.dpt.contextLength');
  }
  const probe = makeBatchedEnv(cfg.data.family, 1, cfg.data.envOptions, new Rng(0));
  const raw = envDims(probe, cfg.data.envOptions);
  const dims = cfg.data.normalize ? standardizedDims(raw, loaded.train) : raw;
  const ts = dptTokenSize(dims);
  const qs = obsFeatureSize(dims);
  const od = dims.obsDim;
  const aw = dims.numActions > 0 ? 1 : dims.actDim;
  // one entry per run: [history, run]
  const runsOf = (hs: History[]): [History, number][] => hs.flatMap((h) => Array.from({ length: h.numHistories }, (_, r) => [h, r] as [History, number]));
  const trainRuns = runsOf(loaded.train);
  const valRuns = runsOf(loaded.val);
  log(`DPT samples from ${trainRuns.length} training and ${valRuns.length} validation runs of ${loaded.length} steps (${((performance.now() - t0) / 1000).toFixed(1)}s)`);
  // query: pool: each task's final policy labels query states drawn from any run of the split
  const pool = dc.query === 'pool' ? poolLabeller(cfg, parts, dims) : null;
  const labeller = pool ? (h: History, obs: Float32Array, out: Float32Array) => pool.policyOf(h).actGreedy(obs, out) : null;
  // crossPlay: each training task's episodes played by other training tasks' final policies
  const cross = dc.crossPlay && pool ? await crossPlayRuns(cfg, loaded.train, pool, dc.crossPlay.episodes, rng.split('cross-play'), log) : null;
  // selfPlay: a trained DPT model's online play on each training task (contexts and query states)
  const self = dc.selfPlay && pool ? await selfPlayRuns(cfg, loaded.train, pool, dc.selfPlay, dims, rng.split('self-play'), log) : null;
  // contextFrom: run: the steps of a context, T distinct steps of the run in time order
  const scattered = dc.contextFrom === 'run' ? new Int32Array(T) : null;
  const drawSteps = (r: Rng, length: number, out: Int32Array): void => {
    const seen = new Set<number>();
    while (seen.size < T) seen.add(r.int(length));
    let i = 0;
    for (const v of seen) out[i++] = v;
    out.sort();
  };
  const write = (h: History, r: number, start: number, qStep: number, b: number, tokens: Float32Array, queries: Float32Array, labels: Int32Array | Float32Array, qRun?: [History, number]): void => {
    const base = r * h.length;
    for (let t = 0; t < T; t++) {
      const g = base + (scattered ? scattered[t] : start + t);
      const next = h.dones[g] ? g : g + 1;
      writeDptToken(dims, h.observations, g * od, h.actions, g * aw, h.rewards[g], h.observations, next * od, tokens, (b * T + t) * ts);
    }
    if (labeller && qRun) {
      const [qh, qr] = qRun;
      const q = qr * qh.length + qStep;
      writeObs(dims, qh.observations, q * od, queries, b * qs);
      labeller(h, qh.observations.subarray(q * od, (q + 1) * od), (labels as Float32Array).subarray(b * aw, (b + 1) * aw));
      return;
    }
    const q = base + qStep;
    writeObs(dims, h.observations, q * od, queries, b * qs);
    const e = h.expertActions!;
    if (labels instanceof Int32Array) labels[b] = e[q];
    else for (let c = 0; c < aw; c++) labels[b * aw + c] = e[q * aw + c];
  };
  return {
    kind: 'dpt',
    dims,
    contextLength: T,
    numTrainTasks: loaded.train.length,
    numValTasks: loaded.val.length,
    heldOut: sets.heldOut,
    description: `${cfg.data.family} DPT samples from the learning histories of ${JSON.stringify(source)} in ${where} (${labeller ? `query states from any run of the split${dc.ownQueries ? ` (with probability ${dc.ownQueries} of the task's own run)` : ''}, labelled by the final policy of the context's task` : 'expert labels'}): ${loaded.train.length} train tasks, ${loaded.val.length} validation tasks, ${scattered ? `contexts of ${T} transitions drawn from the whole run` : `windows of ${T} transitions`} of ${loaded.length}-step histories${cross ? ` (with probability ${dc.crossPlay!.fraction} of ${dc.crossPlay!.episodes} cross-play episodes of the task instead)` : ''}${self ? ` (with probability ${dc.selfPlay!.fraction} a window${dc.selfPlay!.queries === 'pool' ? '' : ' and a query state'} of ${dc.selfPlay!.runs} run(s) of ${dc.selfPlay!.episodes} episodes played on the task by ${dc.selfPlay!.checkpoint} instead)` : ''}, ${sets.heldOut.length} held-out tasks`,
    sample(r: Rng, B: number, split: 'train' | 'val', paired: boolean): DptBatch {
      const runs = split === 'train' ? trainRuns : valRuns;
      if (runs.length === 0) throw new IcrlError('no validation data (data.validationFraction is 0)');
      const tokens = new Float32Array(B * T * ts);
      const queries = new Float32Array(B * qs);
      const labels = dims.numActions > 0 ? new Int32Array(B) : new Float32Array(B * aw);
      // ownQueries: a state of the task's own learner's run, else of any run of the split
      const poolQuery = (own: History, ownRun: number): [History, number] => (dc.ownQueries !== undefined && r.uniform() < dc.ownQueries ? [own, ownRun] : runs[r.int(runs.length)]);
      const one = (own: History, ownRun: number, b: number): void => {
        // a self-play sample: a window of the model's play on the task and a state of the same play
        // (selfPlay.queries: pool, a pool state as below)
        if (self !== null && split === 'train' && r.uniform() < dc.selfPlay!.fraction) {
          const s = self.get(own)!;
          const sr = r.int(s.numHistories);
          const start = r.int(s.length - T);
          const q: [History, number] = dc.selfPlay!.queries === 'pool' ? poolQuery(own, ownRun) : [s, sr];
          return write(s, sr, start, r.int(q[0].length), b, tokens, queries, labels, q);
        }
        // a cross-play context of the task (its labels stay the task's: the labeller knows both)
        const c = cross !== null && split === 'train' && r.uniform() < dc.crossPlay!.fraction ? cross.get(own) : undefined;
        const h = c ?? own;
        const run = c ? r.int(c.numHistories) : ownRun;
        const start = r.int(h.length - T);
        if (scattered) drawSteps(r, h.length, scattered);
        if (!labeller) return write(h, run, start, r.int(h.length), b, tokens, queries, labels);
        const q = poolQuery(own, ownRun);
        write(h, run, start, r.int(q[0].length), b, tokens, queries, labels, q);
      };
      if (paired) {
        // the second of a pair: another window and query of the same task (any of its runs)
        const P = B / 2;
        for (let i = 0; i < P; i++) {
          const [h, run] = runs[r.int(runs.length)];
          one(h, run, i);
          one(h, r.int(h.numHistories), P + i);
        }
      } else for (let b = 0; b < B; b++) {
        const [h, run] = runs[r.int(runs.length)];
        one(h, run, b);
      }
      return { kind: 'dpt', B, T, tokens, queries, labels };
    },
  };
}

/** The final policy of each history's task (data.dpt.query: pool). */
interface PoolPolicies {
  /** The policy of a history's task (its greedy action labels the pool's query states). */
  policyOf(h: History): SavedPolicy;
  /** Labels `extra` (more contexts of `h`'s task) by `h`'s task's policy. */
  alias(extra: History, h: History): void;
}

/**
 * data.dpt.query: pool: the final policy of each history's task, from the policy files of the
 * collection folder it was read from (continuous actions); a query state is labelled by the greedy
 * action of the context history's task's policy at its (raw) observation.
 */
function poolLabeller(cfg: TrainConfig, parts: { dir: string; histories: History[] }[], dims: EnvDims): PoolPolicies {
  const field = 'data.dpt.query';
  if (dims.numActions > 0) throw new ConfigError(`${cfg.name}: ${field}: pool labels come from SAC or PPO policies (continuous actions); ${cfg.data.family} has discrete actions`, undefined, field);
  const of = new Map<History, SavedPolicy>();
  for (const { dir, histories } of parts) {
    if (dir.endsWith('.h5') || !existsSync(dir)) throw new ConfigError(`${cfg.name}: ${field}: pool needs data.dpt.collection to be a collection folder with the learners' policy files, not ${dir}`, undefined, field);
    // the collection's learner (SAC or PPO) names its policy files' kind
    const kind = readManifest(dir)?.config.algorithm?.kind;
    if (kind !== 'sac' && kind !== 'ppo') throw new ConfigError(`${cfg.name}: ${field}: pool labels come from the final policies of a SAC or PPO collection; ${dir} was collected by ${JSON.stringify(kind)}`, undefined, field);
    const { tasks, policies } = loadPolicyFolder(dir, kind);
    const byKey = new Map(tasks.map((t, i) => [taskKey(t), policies[i]]));
    for (const h of histories) {
      const p = byKey.get(taskKey(h.task));
      if (!p) throw new ConfigError(`${cfg.name}: ${field}: ${dir} has no policy file for the task of history ${h.taskIndex} (${JSON.stringify(h.task.params)})`, undefined, field);
      if (p.obsDim !== dims.obsDim || p.actDim !== dims.actDim) throw new ConfigError(`${cfg.name}: ${field}: the policies of ${dir} have obsDim ${p.obsDim} / actDim ${p.actDim}, the histories ${dims.obsDim} / ${dims.actDim}`, undefined, field);
      of.set(h, p);
    }
  }
  return {
    policyOf: (h) => of.get(h)!,
    alias: (extra, h) => void of.set(extra, of.get(h)!),
  };
}

/**
 * Plays `runs` runs of `episodes` episodes on the task of each training history with the agent
 * `agentFor(env)` builds (one batched environment seeded from rng.split('env'); instance
 * i * runs + k is run k on training task i) and makes each task's runs one History of its task,
 * labelled by its own policy (`pool.alias`). Returns those and the rewards, [instance][step].
 */
async function playTrainingTasks(
  cfg: TrainConfig,
  train: History[],
  pool: PoolPolicies,
  p: { runs: number; episodes: number; what: string; lengthField: string; memoryField: string },
  agentFor: (env: BatchedEnv) => Agent,
  rng: Rng,
): Promise<{ played: Map<History, History>; rewards: Float32Array; horizon: number }> {
  const R = p.runs;
  const env = makeBatchedEnv(cfg.data.family, train.length * R, cfg.data.envOptions, rng.split('env'));
  env.setTasks(train.flatMap((h) => Array.from({ length: R }, () => h.task)));
  const L = p.episodes * env.horizon;
  const T = cfg.data.dpt!.contextLength;
  if (L < T + 1) throw new ConfigError(`${cfg.name}: ${p.lengthField}: ${p.episodes} episode(s) of ${env.horizon} steps are too short for contexts of ${T} transitions`, undefined, p.lengthField);
  const od = env.obsDim;
  const aw = env.actDim;
  checkMemory(train.length * R * L * (od + aw + 2) * 4, p.what, cfg.name, p.memoryField);
  const { obs, actions, rewards, dones } = await recordPlay(env, agentFor(env), L, rng);
  const played = new Map<History, History>();
  const span = R * L;
  train.forEach((h, i) => {
    const c: History = { ...h, numHistories: R, length: L, observations: obs.slice(i * span * od, (i + 1) * span * od), actions: actions.slice(i * span * aw, (i + 1) * span * aw), rewards: rewards.slice(i * span, (i + 1) * span), dones: dones.slice(i * span, (i + 1) * span), expertActions: undefined };
    pool.alias(c, h);
    played.set(h, c);
  });
  return { played, rewards, horizon: env.horizon };
}

/**
 * data.dpt.crossPlay: `episodes` episodes on the task of each training history, each played by the
 * greedy final policy of another training task drawn at random (a new player at each episode's
 * end), one run per task (`playTrainingTasks`).
 */
async function crossPlayRuns(cfg: TrainConfig, train: History[], pool: PoolPolicies, episodes: number, rng: Rng, log: Log): Promise<Map<History, History>> {
  const field = 'data.dpt.crossPlay';
  const n = train.length;
  if (n < 2) throw new ConfigError(`${cfg.name}: ${field}: cross-play needs at least 2 training tasks (the other tasks' policies play each one); there is ${n}`, undefined, field);
  const t0 = performance.now();
  const pick = rng.split('players');
  const player = new Int32Array(n);
  const draw = (i: number): void => {
    const j = pick.int(n - 1);
    player[i] = j >= i ? j + 1 : j;
  };
  for (let i = 0; i < n; i++) draw(i);
  const crossAgent = (env: BatchedEnv): Agent => {
    const od = env.obsDim;
    const aw = env.actDim;
    return {
      name: 'cross-play',
      reset: () => {},
      act: (o, out) => {
        for (let i = 0; i < n; i++) pool.policyOf(train[player[i]]).actGreedy(o.subarray(i * od, (i + 1) * od), (out as Float32Array).subarray(i * aw, (i + 1) * aw));
      },
      observe: (tr) => {
        for (let i = 0; i < n; i++) if (tr.terminated[i] === 1 || tr.truncated[i] === 1) draw(i);
      },
    };
  };
  const { played, rewards } = await playTrainingTasks(cfg, train, pool, { runs: 1, episodes, what: 'the cross-play episodes', lengthField: field, memoryField: field }, crossAgent, rng);
  const mean = rewards.reduce((a, b) => a + b, 0) / (n * episodes);
  log(`cross-play: ${episodes} episode(s) on each of the ${n} training tasks by other tasks' final policies, mean return ${mean.toFixed(2)} (${((performance.now() - t0) / 1000).toFixed(1)}s)`);
  return played;
}

/**
 * data.dpt.selfPlay: `runs` runs of `episodes` episodes on the task of each training history,
 * played by the DPT model at `checkpoint` in its online mode (context: episodes;
 * `playTrainingTasks`).
 */
async function selfPlayRuns(cfg: TrainConfig, train: History[], pool: PoolPolicies, sp: { checkpoint: string; episodes: number; runs: number }, dims: EnvDims, rng: Rng, log: Log): Promise<Map<History, History>> {
  const field = 'data.dpt.selfPlay.checkpoint';
  const t0 = performance.now();
  let model: InContextModel;
  try {
    model = loadInContextModel(sp.checkpoint).model;
  } catch (e) {
    throw new ConfigError(`${cfg.name}: ${field}: ${(e as Error).message}`, undefined, field);
  }
  const md = model.dims;
  if (model.kind !== 'dpt') throw new ConfigError(`${cfg.name}: ${field}: ${sp.checkpoint} is a ${model.kind} model; self-play needs a DPT model (it plays in DPT's online mode)`, undefined, field);
  if (md.family !== dims.family || md.obsDim !== dims.obsDim || md.actDim !== dims.actDim || md.numActions !== dims.numActions) {
    throw new ConfigError(`${cfg.name}: ${field}: the model at ${sp.checkpoint} was trained on ${md.family} (obsDim ${md.obsDim}, actDim ${md.actDim}), this config trains on ${dims.family} (obsDim ${dims.obsDim}, actDim ${dims.actDim})`, undefined, field);
  }
  const opts = { runs: sp.runs, episodes: sp.episodes, what: 'the self-play runs', lengthField: 'data.dpt.selfPlay.episodes', memoryField: 'data.dpt.selfPlay' };
  const { played, rewards, horizon: H } = await playTrainingTasks(cfg, train, pool, opts, () => modelAgent(model, { context: 'episodes' }), rng);
  const runs = train.length * sp.runs;
  const L = sp.episodes * H;
  const perEpisode = Array.from({ length: sp.episodes }, (_, k) => {
    let sum = 0;
    for (let j = 0; j < runs; j++) for (let t = k * H; t < (k + 1) * H; t++) sum += rewards[j * L + t];
    return (sum / runs).toFixed(1);
  });
  log(`self-play: ${sp.runs} run(s) of ${sp.episodes} episode(s) on each of the ${train.length} training tasks by ${sp.checkpoint}, mean return per episode ${perEpisode.join(' / ')} (${((performance.now() - t0) / 1000).toFixed(1)}s)`);
  return played;
}

// ---------------------------------------------------------------------------------------------
// AD

/**
 * Plays `agent` on every instance of `env` for `steps` steps (`play`, the agent's stream
 * rng.split('agent'), the environment seeded from rng.split('reset')) and records each instance's
 * transitions as a history does: [instance][step] observation before the action, action, reward,
 * and done (terminated or truncated).
 */
async function recordPlay(env: BatchedEnv, agent: Agent, steps: number, rng: Rng) {
  const n = env.numEnvs;
  const L = steps;
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
  return { obs, actions, rewards, dones };
}

/**
 * Learning histories of the config's source algorithm (data.ad.source, data.ad.episodes,
 * data.ad.historiesPerTask) on `tasks`, recorded with `play`: one History per task, numbered from
 * `firstIndex`.
 */
export async function collectHistories(cfg: TrainConfig, tasks: Task[], rng: Rng, firstIndex: number): Promise<History[]> {
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
  const { obs, actions, rewards, dones } = await recordPlay(env, agent, L, rng);
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

/** The manifest of the collection of data.ad.collection, checked against the config (family, options, layout). */
function checkedCollection(cfg: TrainConfig, dir: string = cfg.data.ad!.collection!, field = 'data.ad.collection'): { dir: string; source: JsonValue } {
  const manifest = readManifest(dir);
  if (!manifest) throw new ConfigError(`${cfg.name}: ${field}: ${dir} holds no collection manifest (run icrl collect first)`, undefined, field);
  const c = manifest.config;
  if (c.kind !== 'histories') throw new ConfigError(`${cfg.name}: ${field}: ${dir} holds ${c.kind} samples, not learning histories`, undefined, field);
  if (c.family !== cfg.data.family) throw new ConfigError(`${cfg.name}: ${field}: ${dir} was collected on ${c.family}, not ${cfg.data.family}`, undefined, field);
  if (canonicalJson(c.envOptions as JsonValue) !== canonicalJson(cfg.data.envOptions as JsonValue)) {
    throw new ConfigError(`${cfg.name}: ${field}: ${dir} was collected with envOptions ${canonicalJson(c.envOptions as JsonValue)}, data.envOptions is ${canonicalJson(cfg.data.envOptions as JsonValue)}`, undefined, field);
  }
  if ((c.layout ?? 'icrl') !== 'icrl') throw new ConfigError(`${cfg.name}: ${field}: ${dir} is in the ${c.layout} layout; training reads the icrl layout (observations as the environment gives them)`, undefined, field);
  return { dir, source: (c.algorithm ?? null) as JsonValue };
}

function heldOutCheck(cfg: TrainConfig, heldOut: Task[], dir: string, field = 'data.ad.collection'): (task: Task | undefined, taskIndex: number) => void {
  const held = new Set(heldOut.map(taskKey));
  return (task, taskIndex) => {
    if (task && held.has(taskKey(task))) throw new ConfigError(`${cfg.name}: ${field}: task ${taskIndex} of ${dir} is a held-out task of data.split (seed ${cfg.data.split.seed})`, undefined, field);
  };
}

/** How many of `n` collected tasks validate (the last ones in task order). */
function validationCount(cfg: TrainConfig, n: number, dir: string): number {
  const nVal = cfg.data.validationFraction > 0 ? Math.max(1, Math.round(n * cfg.data.validationFraction)) : 0;
  if (nVal >= n) throw new ConfigError(`${cfg.name}: data.validationFraction leaves no training task (${n} tasks in ${dir})`, undefined, 'data.validationFraction');
  return nVal;
}

/**
 * Learning histories of an `icrl collect` folder, or of one history file (.h5, the store's layout,
 * e.g. written by `collectSacHistories`), as training and validation histories: the last
 * validationFraction of its tasks (in task order) validate. A collection must be of the configured
 * family and environment options; a file's histories must be of the family, with the environment's
 * observation and action sizes and episode length (a file holds no environment options to compare).
 * None may be a held-out task of the split.
 */
async function loadHistorySource(cfg: TrainConfig, dir: string, field: string, heldOut: Task[], log: Log, validation = true): Promise<{ train: History[]; val: History[]; source: JsonValue; length: number }> {
  const check = heldOutCheck(cfg, heldOut, dir, field);
  const all: History[] = [];
  let source: JsonValue = null;
  if (existsSync(dir) && statSync(dir).isFile()) {
    await h5ready();
    const probe = makeBatchedEnv(cfg.data.family, 1, cfg.data.envOptions, new Rng(0));
    const reader = new HistoryReader(dir, field);
    try {
      for (const g of reader.groups()) {
        const h = reader.readHistory(g);
        const where = `${dir} (group ${g})`;
        if (h.task.family !== cfg.data.family) throw new ConfigError(`${cfg.name}: ${field}: ${where} holds a ${h.task.family} history, not ${cfg.data.family}`, undefined, field);
        if (h.obsDim !== probe.obsDim || h.numActions !== probe.numActions || h.actDim !== probe.actDim || h.horizon !== probe.horizon) {
          throw new ConfigError(`${cfg.name}: ${field}: ${where} has obsDim ${h.obsDim}, numActions ${h.numActions}, actDim ${h.actDim}, horizon ${h.horizon}; data.envOptions give ${probe.obsDim}, ${probe.numActions}, ${probe.actDim}, ${probe.horizon}`, undefined, field);
        }
        source = h.algorithm;
        check(h.task, h.taskIndex);
        all.push(h);
      }
    } finally {
      reader.close();
    }
    if (all.length === 0) throw new ConfigError(`${cfg.name}: ${field}: ${dir} holds no learning histories`, undefined, field);
  } else {
    if (!readManifest(dir)) throw new ConfigError(`${cfg.name}: ${field}: ${dir} is neither a history file nor a folder with a collection manifest (run icrl collect first)`, undefined, field);
    source = checkedCollection(cfg, dir, field).source;
    for (const { reader, groups } of await openHistoryCollection(dir)) {
      try {
        for (const g of groups) {
          const h = reader.readHistory(g);
          check(h.task, h.taskIndex);
          all.push(h);
        }
      } finally {
        reader.close();
      }
    }
  }
  all.sort((a, b) => a.taskIndex - b.taskIndex);
  const nVal = validation ? validationCount(cfg, all.length, dir) : 0;
  log(`read ${all.length} tasks of learning histories from ${dir}`);
  return { train: all.slice(0, all.length - nVal), val: all.slice(all.length - nVal), source, length: all[0].length };
}

/** The streams of one split, and which streams share a task (T2MIR pairs). */
interface WindowPicker {
  numStreams: number;
  length(s: number): number;
  taskOf(s: number): number;
  byTask: Map<number, number[]>;
  /** Draws a stream (LHF weights); default uniform. */
  draw?: (r: Rng) => number;
  /** Streams a weighted draw can give (weight > 0): the second window of a pair is one of them. */
  kept?: Uint8Array;
}

function pickerByTask(n: number, taskOf: (s: number) => number): Map<number, number[]> {
  const m = new Map<number, number[]>();
  for (let s = 0; s < n; s++) {
    const t = taskOf(s);
    if (!m.has(t)) m.set(t, []);
    m.get(t)!.push(s);
  }
  return m;
}

/**
 * Draws B windows (stream, start) of L steps: streams uniformly, starts uniformly within them; with
 * `paired`, row P + i is a window of another history of row i's task (itself when it has one).
 */
function drawWindows(p: WindowPicker, r: Rng, B: number, L: number, paired: boolean): [number, number][] {
  const win = new Array<[number, number]>(B);
  const startIn = (s: number) => r.int(p.length(s) - L + 1);
  const draw = (): number => (p.draw ? p.draw(r) : r.int(p.numStreams));
  if (paired) {
    const P = B / 2;
    for (let i = 0; i < P; i++) {
      const s = draw();
      const all = p.byTask.get(p.taskOf(s))!;
      // the pair's second window: another stream of the task that LHF kept
      const same = p.kept ? all.filter((x) => p.kept![x] === 1) : all;
      const s2 = same.length > 1 ? same[r.int(same.length)] : s;
      win[i] = [s, startIn(s)];
      win[P + i] = [s2, startIn(s2)];
    }
  } else
    for (let i = 0; i < B; i++) {
      const s = draw();
      win[i] = [s, startIn(s)];
    }
  return win;
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
  const probe = makeBatchedEnv(cfg.data.family, 1, cfg.data.envOptions, new Rng(0));
  if (ac.episodes !== undefined) {
    // histories generated here (a collection's were sized when it was collected)
    const histories = (sets.train.length + sets.val.length) * ac.historiesPerTask;
    // recorded runs, then their streams: about twice the histories' floats
    checkMemory(2 * 4 * histories * ac.episodes * probe.horizon * (2 * probe.obsDim + Math.max(1, probe.actDim) + 3), `${histories} learning histories of ${ac.episodes} episodes`, cfg.name, 'data.ad.episodes');
  }
  const t0 = performance.now();
  let trainH: History[];
  let valH: History[];
  let sourceSpec: JsonValue = (ac.source ?? null) as JsonValue;
  let len: number;
  const dims = envDims(probe, cfg.data.envOptions);
  const L = ac.windowEpisodes * dims.horizon;
  if (ac.collection !== undefined) {
    const loaded = await loadHistorySource(cfg, ac.collection, 'data.ad.collection', sets.heldOut, log);
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
  return adTrainingData(cfg, { train: trainH, val: valH, heldOut: sets.heldOut, source: sourceSpec, length: len, dims }, log, ac.collection !== undefined ? 'loaded' : 'collected', t0);
}

/** Histories that make AD training data (training and validation histories, held-out tasks). */
export interface AdHistorySets {
  train: History[];
  val: History[];
  heldOut: Task[];
  /** The source algorithm's spec (for the description). */
  source: JsonValue;
  /** Steps per history. */
  length: number;
  dims?: EnvDims;
}

/**
 * AD training data from histories in memory (the trainer's `data` option): streams, windows of
 * data.ad.windowEpisodes episodes and batches, as `icrl train` builds them from its own histories.
 */
export function adTrainingData(cfg: TrainConfig, h: AdHistorySets, log: Log = () => {}, verb = 'given', t0 = performance.now()): TrainingData {
  const ac = cfg.data.ad!;
  const trainH = h.train;
  const valH = h.val;
  const sourceSpec = h.source;
  const len = h.length;
  if (trainH.length === 0) throw new IcrlError(`${cfg.name}: no training histories`);
  const raw = h.dims ?? envDims(makeBatchedEnv(cfg.data.family, 1, cfg.data.envOptions, new Rng(0)), cfg.data.envOptions);
  const dims = cfg.data.normalize ? standardizedDims(raw, trainH) : raw;
  const L = ac.windowEpisodes * dims.horizon;
  if (L > len) throw new ConfigError(`${cfg.name}: data.ad.windowEpisodes x horizon (${L} steps) exceeds the histories (${len} steps)`, undefined, 'data.ad.windowEpisodes');
  // a strided window spans (windowEpisodes - 1) x stride + 1 episodes of its history
  const H = dims.horizon;
  const stride = ac.episodeStride;
  const span = ((ac.windowEpisodes - 1) * stride + 1) * H;
  if (stride > 1 && span > len) throw new ConfigError(`${cfg.name}: data.ad.windowEpisodes (${ac.windowEpisodes}) episodes ${stride} apart span ${span} steps, more than the histories' ${len}`, undefined, 'data.ad.episodeStride');
  // the steps a drawn window takes in its stream: a strided window's start picks its first episode,
  // each of the span's first episodes alike; firstEpisodes: the start lies in the first N episodes
  let drawLength = stride > 1 ? span - H + 1 : L;
  if (ac.firstEpisodes !== undefined) drawLength = Math.max(drawLength, len - ac.firstEpisodes * H + 1);
  const sets = { train: trainH.map((x) => x.task), val: valH.map((x) => x.task), heldOut: h.heldOut };
  const train = buildAdDataset(trainH);
  const val = valH.length > 0 ? buildAdDataset(valH) : null;
  const ret = historyReturns(train, dims.horizon);
  const numHistories = trainH.reduce((n, h) => n + h.numHistories, 0);
  log(`${verb} ${numHistories} learning histories of ${len} steps in ${((performance.now() - t0) / 1000).toFixed(1)}s; source return first ${dims.horizon} steps ${ret.first.toFixed(2)}, last ${dims.horizon} steps ${ret.last.toFixed(2)}`);
  const pickerOf = (ds: AdDataset): WindowPicker => {
    const n = ds.offsets.length - 1;
    return { numStreams: n, length: (k) => ds.offsets[k + 1] - ds.offsets[k], taskOf: (k) => ds.streamTask[k], byTask: pickerByTask(n, (k) => ds.streamTask[k]) };
  };
  // LHF: training streams drawn in proportion to their weights (null: uniformly)
  let lhfNote = '';
  let trainPicker = pickerOf(train);
  if (ac.lhf) {
    const scores = lhfScoresPerTask(trainH, ac.lhf);
    const w = streamWeights(train, scores);
    if (!w.some((x) => x > 0)) throw new ConfigError(`${cfg.name}: data.ad.lhf leaves no training history with a positive weight`, undefined, 'data.ad.lhf');
    trainPicker = { ...trainPicker, draw: weightedPicker(w), kept: Uint8Array.from(w, (x) => (x > 0 ? 1 : 0)) };
    const kept = scores.filter((h) => h.weight > 0).length;
    const mean = (wt: (h: HistoryScore) => number) => scores.reduce((a, h) => a + wt(h) * h.improvement, 0) / scores.reduce((a, h) => a + wt(h), 0);
    lhfNote = `; LHF ${ac.lhf.mode}: ${kept} of ${scores.length} histories with weight > 0, mean improvement ${mean(() => 1).toFixed(4)} over all, ${mean((h) => h.weight).toFixed(4)} weighted`;
    log(lhfNote.slice(2));
  }
  return adWindowData({
    dims,
    L,
    sets,
    actDim: train.actDim,
    pickers: { train: trainPicker, val: val ? pickerOf(val) : null },
    description: `${cfg.data.family} AD histories of ${JSON.stringify(sourceSpec)}${ac.collection !== undefined ? ` (from ${ac.collection})` : verb === 'given' ? ' (given to the trainer)' : ''}: ${sets.train.length} train tasks, ${numHistories} histories of ${len} steps (source return over the first / last ${dims.horizon} steps ${ret.first.toFixed(2)} -> ${ret.last.toFixed(2)}), windows of ${ac.windowEpisodes} episodes${stride > 1 ? ` ${stride} apart` : ''} = ${L} steps${ac.firstEpisodes !== undefined ? ` starting in a history's first ${ac.firstEpisodes} episodes` : ''}, ${sets.val.length} validation tasks, ${sets.heldOut.length} held-out tasks${lhfNote}`,
    drawLength,
    pack: (split, k, start, batch, row) => {
      const ds = split === 'train' ? train : val!;
      if (stride === 1) packAdRow(dims, ds, ds.offsets[k] + start, start > 0, L, batch, row);
      else packStridedAdRow(dims, ds, ds.offsets[k], Math.floor(start / H), stride, ac.windowEpisodes, batch, row, cfg.name);
    },
  });
}

/** The TrainingData of AD windows: drawn by {@link drawWindows}, each packed into its batch row by `pack`. */
function adWindowData(p: {
  dims: EnvDims;
  L: number;
  sets: TaskSets;
  actDim: number;
  pickers: { train: WindowPicker; val: WindowPicker | null };
  description: string;
  pack: (split: 'train' | 'val', stream: number, start: number, batch: AdBatch, row: number) => void;
  /** Steps a drawn window takes in its stream, when not the context length L (strided windows). */
  drawLength?: number;
  close?: () => void;
}): TrainingData {
  return {
    kind: 'ad',
    dims: p.dims,
    contextLength: p.L,
    numTrainTasks: p.sets.train.length,
    numValTasks: p.sets.val.length,
    heldOut: p.sets.heldOut,
    description: p.description,
    sample(r: Rng, B: number, split: 'train' | 'val', paired: boolean): AdBatch {
      const picker = p.pickers[split];
      if (!picker) throw new IcrlError('no validation data (data.validationFraction is 0)');
      const batch = newAdBatch(p.dims, p.actDim, B, p.L);
      drawWindows(picker, r, B, p.drawLength ?? p.L, paired).forEach(([k, start], row) => p.pack(split, k, start, batch, row));
      return batch;
    },
    ...(p.close ? { close: p.close } : {}),
  };
}

/**
 * AD windows streamed from the collection (data.ad.read: stream): the collection is indexed, not
 * loaded; each drawn window is read from its shard (src/data/windows.ts). The windows drawn for a
 * data-stream state are those the memory path draws (same stream order, same draws).
 */
async function buildStreamedAdData(cfg: TrainConfig, log: Log): Promise<TrainingData> {
  const ac = cfg.data.ad!;
  if (cfg.data.normalize) throw new ConfigError(`${cfg.name}: data.normalize measures the histories in memory; give data.ad.read: memory with it`, undefined, 'data.normalize');
  const sets = splitForTraining(cfg);
  const t0 = performance.now();
  const { dir, source } = checkedCollection(cfg);
  const probe = makeBatchedEnv(cfg.data.family, 1, cfg.data.envOptions, new Rng(0));
  const dims = envDims(probe, cfg.data.envOptions);
  const L = ac.windowEpisodes * dims.horizon;
  const all = HistoryWindows.index(await openHistoryCollection(dir));
  let splits: { train: HistoryWindows; val: HistoryWindows | null };
  try {
    const check = heldOutCheck(cfg, sets.heldOut, dir);
    for (const st of all.streams) check(st.task, st.taskIndex);
    const tasks = all.taskIndices();
    const nVal = validationCount(cfg, tasks.length, dir);
    const valSet = new Set(tasks.slice(tasks.length - nVal));
    splits = { train: all.subset((t) => !valSet.has(t)), val: nVal > 0 ? all.subset((t) => valSet.has(t)) : null };
    const short = all.streams.find((st) => st.length < L);
    if (short) throw new ConfigError(`${cfg.name}: data.ad.windowEpisodes x horizon (${L} steps) exceeds the collected histories (${short.length} steps in ${short.reader.file}, group "${short.group}")`, undefined, 'data.ad.windowEpisodes');
  } catch (e) {
    all.close();
    throw e;
  }
  const taskOf = (w: HistoryWindows) => {
    const seen = new Map<number, Task>();
    for (const st of w.streams) if (st.task && !seen.has(st.taskIndex)) seen.set(st.taskIndex, st.task);
    return [...seen.values()];
  };
  sets.train = taskOf(splits.train);
  sets.val = splits.val ? taskOf(splits.val) : [];
  // source return of the first and last episodes, read group by group (rewards and dones only)
  let first = 0;
  let last = 0;
  let runs = 0;
  const seenGroups = new Set<string>();
  for (const st of splits.train.streams) {
    const key = `${st.reader.file}:${st.group}`;
    if (seenGroups.has(key)) continue;
    seenGroups.add(key);
    const r = st.reader.readReturns(st.group);
    for (let n = 0; n < r.numHistories; n++, runs++) {
      const base = n * r.length;
      for (let t = 0; t < dims.horizon; t++) first += r.rewards[base + t];
      for (let t = r.length - dims.horizon; t < r.length; t++) last += r.rewards[base + t];
    }
  }
  first /= runs;
  last /= runs;
  const len = splits.train.streams[0].length;
  const windowBytes = splits.train.windowBytes(L);
  log(`indexed ${all.streams.length} learning histories of ${len} steps in ${dir} in ${((performance.now() - t0) / 1000).toFixed(1)}s (streamed: ${(windowBytes / 1024).toFixed(0)} KB read per window); source return first ${dims.horizon} steps ${first.toFixed(2)}, last ${dims.horizon} steps ${last.toFixed(2)}`);
  const pickerOf = (w: HistoryWindows): WindowPicker => ({
    numStreams: w.streams.length,
    length: (k) => w.streams[k].length,
    taskOf: (k) => w.streams[k].taskIndex,
    byTask: pickerByTask(w.streams.length, (k) => w.streams[k].taskIndex),
  });
  return adWindowData({
    dims,
    L,
    sets,
    actDim: all.actDim,
    pickers: { train: pickerOf(splits.train), val: splits.val ? pickerOf(splits.val) : null },
    description: `${cfg.data.family} AD histories of ${JSON.stringify(source)} (streamed from ${dir}): ${sets.train.length} train tasks, ${splits.train.streams.length} histories of ${len} steps (source return over the first / last ${dims.horizon} steps ${first.toFixed(2)} -> ${last.toFixed(2)}), windows of ${ac.windowEpisodes} episodes = ${L} steps read from the store per batch, ${sets.val.length} validation tasks, ${sets.heldOut.length} held-out tasks`,
    pack: (split, k, start, batch, row) => {
      const w = split === 'train' ? splits.train : splits.val!;
      const x = w.window(k, start, L);
      packAdRow(dims, { obsDim: w.obsDim, actDim: w.actDim, ...x }, x.offset, x.hasPrev, L, batch, row);
    },
    close: () => all.close(),
  });
}

/** The step arrays a window is packed from (a whole dataset, or one window read from the store). */
interface StepArrays {
  obsDim: number;
  actDim: number;
  observations: Float32Array;
  actions: Int32Array | Float32Array;
  rewards: Float32Array;
  dones: Uint8Array;
}

function newAdBatch(dims: EnvDims, actDim: number, B: number, L: number): AdBatch {
  const aw = actDim > 0 ? actDim : 1;
  return { kind: 'ad', B, T: L, tokens: new Float32Array(B * L * adTokenSize(dims)), targets: actDim > 0 ? new Float32Array(B * L * aw) : new Int32Array(B * L) };
}

/**
 * Writes row `b` of an AD batch: the L steps from index g0 of `src`; `hasPrev` says whether step
 * g0 has a previous step in its stream (at src[g0 - 1]), which gives its token the previous action and reward.
 */
function packAdRow(dims: EnvDims, src: StepArrays, g0: number, hasPrevAtStart: boolean, L: number, batch: AdBatch, b: number): void {
  const ts = adTokenSize(dims);
  const od = src.obsDim;
  const aw = src.actDim > 0 ? src.actDim : 1;
  const { tokens, targets } = batch;
  for (let t = 0; t < L; t++) {
    const g = g0 + t;
    const hasPrev = t > 0 || hasPrevAtStart;
    const episodeStart = !hasPrev || src.dones[g - 1] === 1;
    writeAdToken(dims, src.observations, g * od, src.actions, (g - 1) * aw, hasPrev ? src.rewards[g - 1] : 0, hasPrev, episodeStart, tokens, (b * L + t) * ts);
    if (targets instanceof Int32Array) targets[b * L + t] = src.actions[g];
    else targets.set((src.actions as Float32Array).subarray(g * aw, (g + 1) * aw), (b * L + t) * aw);
  }
}

/**
 * Writes row `b` of an AD batch from a strided window: episodes e0, e0 + stride, ... (E of them, each
 * of the horizon's H steps) of the stream starting at index `base` of `src`. Within an episode the
 * tokens are as packAdRow's; an episode's first token carries the last action and reward of the
 * window's previous episode (of the stream's step before e0 for the first, when there is one).
 */
function packStridedAdRow(dims: EnvDims, src: StepArrays, base: number, e0: number, stride: number, E: number, batch: AdBatch, b: number, name: string): void {
  const H = dims.horizon;
  const ts = adTokenSize(dims);
  const od = src.obsDim;
  const aw = src.actDim > 0 ? src.actDim : 1;
  const { tokens, targets } = batch;
  const L = E * H;
  let prev = e0 > 0 ? base + e0 * H - 1 : -1;
  for (let j = 0; j < E; j++) {
    const g0 = base + (e0 + j * stride) * H;
    if (src.dones[g0 + H - 1] !== 1 || (g0 > base && src.dones[g0 - 1] !== 1)) {
      throw new ConfigError(`${name}: data.ad.episodeStride needs episodes of exactly the horizon (${H} steps); the history has an episode boundary elsewhere near step ${g0 - base}`, undefined, 'data.ad.episodeStride');
    }
    for (let t = 0; t < H; t++) {
      const g = g0 + t;
      const p = t > 0 ? g - 1 : prev;
      const w = (b * L + j * H + t) * ts;
      writeAdToken(dims, src.observations, g * od, src.actions, Math.max(0, p) * aw, p >= 0 ? src.rewards[p] : 0, p >= 0, t === 0, tokens, w);
      if (targets instanceof Int32Array) targets[b * L + j * H + t] = src.actions[g];
      else targets.set((src.actions as Float32Array).subarray(g * aw, (g + 1) * aw), (b * L + j * H + t) * aw);
    }
    prev = g0 + H - 1;
  }
}

/** The builder of each dataset format a model kind can learn from. */
const DATASET_BUILDERS: Record<ModelKind['dataset'], (cfg: TrainConfig, rng: Rng, log: Log) => Promise<TrainingData> | TrainingData> = {
  dpt: buildDptData,
  ad: (cfg, rng, log) => (cfg.data.ad?.read === 'stream' ? buildStreamedAdData(cfg, log) : buildAdData(cfg, rng, log)),
};
