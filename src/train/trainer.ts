/**
 * The trainer: AdamW with warm-up + cosine decay and gradient clipping on batches drawn by a seeded
 * sampler; metrics as JSON lines; periodic held-out evaluation (validation loss and in-context play on
 * held-out tasks); atomic checkpoints; exact resume; NaN/Inf guard; progress bar.
 *
 * Exact resume: everything a step depends on is either derived from the config (model init, data,
 * schedule) or saved in the checkpoint (parameters, AdamW moments and step, T2MIR momentum routers,
 * the data stream's RNG state, the metrics file length, the loss accumulator). Evaluations use
 * streams derived from the step number. So a run killed at any point and restarted continues exactly
 * as an uninterrupted run would (same losses, same metrics lines).
 */
import { createHash } from 'node:crypto';
import { join, relative, resolve } from 'node:path';
import { existsSync, readdirSync } from 'node:fs';
import { Rng } from '../core/rng.js';
import { ConfigError, IcrlError } from '../core/errors.js';
import { Progress } from '../core/progress.js';
import { AdamW, clipGradNorm, loadModel, noGrad, paramGroups, tidy, warmupCosine } from '../nn/index.js';
import { buildModel, loadInContextModel, modelSpec, saveInContextModel, type InContextModel } from '../models/io.js';
import { canonicalJson } from '../core/json.js';
import type { JsonValue } from '../core/spaces.js';
import { modelAgent } from '../models/load.js';
import { modelKinds } from '../models/kinds.js';
import { provenance } from '../core/provenance.js';
import { lockFolder } from '../core/lock.js';
import { makeBatchedEnv, prepareFamily } from '../envs/index.js';
import { evaluateOnline } from '../eval/evaluator.js';
import { makeAgent } from '../algorithms/index.js';
import type { Agent } from '../algorithms/agent.js';
import type { TrainConfig } from './config.js';
import { loadTrainConfig, parseTrainConfig } from './config.js';
import type { TrainingData } from '../models/batches.js';
import { computeLoss } from './loss.js';
import { MetricsWriter, readMetrics } from './metrics.js';
import { createTrackers } from './trackers.js';
import { checkpointRoot, resumeCheckpoint, saveCheckpoint, type CheckpointState } from './checkpoint.js';
import { isAtomicTemp, makeDir, removeIfExists, writeFileAtomic } from '../core/atomic.js';
import { buildTrainingData } from './data.js';

/** Training stopped because {@link TrainOptions.stopIf} gave a reason; the run's state is checkpointed at that step. */
export class TrainingStoppedError extends IcrlError {
  constructor(
    message: string,
    readonly step: number,
  ) {
    super(message, 'TRAINING_STOPPED');
  }
}

/** Training stopped because the loss or gradient was not finite. */
export class TrainingDivergedError extends IcrlError {
  constructor(
    message: string,
    readonly step: number,
  ) {
    super(message, 'TRAINING_DIVERGED');
  }
}

export interface TrainProgressInfo {
  phase: 'data' | 'train' | 'eval' | 'done';
  step: number;
  steps: number;
  loss?: number;
  lr?: number;
  tokensPerSecond?: number;
  message?: string;
}

export interface TrainOptions {
  /** Called on progress (quick start, UIs). */
  onProgress?: (p: TrainProgressInfo) => void;
  /** Draw a progress bar on stderr (default true). */
  progressBar?: boolean;
  /** Resume from the last checkpoint in the output directory when there is one (default true). */
  resume?: boolean;
  /** Folder that relative paths of the config (data.source) resolve against (default: cwd). */
  baseDir?: string;
  /** Overrides config.out. */
  outDir?: string;
  /** Prebuilt training data (skips data.source). */
  data?: TrainingData;
  /** Lines of information (default: none). */
  log?: (line: string) => void;
  /** What the output folder's lock names as its holder (default "icrl train"; a queue worker names its job). */
  lockLabel?: string;
  /**
   * Asked after every step: a reason to stop (e.g. "its parent process is gone") or null. On a
   * reason the run checkpoints that step and throws a {@link TrainingStoppedError}; the same
   * command resumes from there exactly.
   */
  stopIf?: () => string | null;
}

export interface HeldOutEval {
  step: number;
  /** Agent evaluated (the model, or a baseline's name). */
  agent: string;
  /** Bandits: mean cumulative regret at the last step; MDPs: mean return per in-context episode. */
  meanRegret?: number;
  returns?: number[];
  oracleReturn?: number;
  seconds: number;
}

export interface TrainResult {
  outDir: string;
  modelDir: string;
  metricsFile: string;
  steps: number;
  resumedFrom: number | null;
  finalLoss: number;
  valLoss: number | null;
  trainSeconds: number;
  evals: HeldOutEval[];
  parameters: number;
}

function digest(cfg: TrainConfig): string {
  // everything that changes the computation (not the output folder or the logging cadence)
  const { out: _out, logEvery: _l, checkpointEvery: _c, keepCheckpoints: _k, trackers: _t, ...rest } = cfg;
  return createHash('sha256').update(JSON.stringify(rest)).digest('hex').slice(0, 16);
}

/**
 * The digest with every path the data is read from (data collections, the self-play model,
 * initFrom) spelled relative to the working directory, so that `runs/x`, `./runs/x` and its
 * absolute path digest alike. A checkpoint written with either this or the spelling-as-given
 * digest (`digest`, what checkpoints held before) resumes.
 */
function pathDigest(cfg: TrainConfig): string {
  const rel = (p: string): string => relative(process.cwd(), resolve(p)) || '.';
  const relAll = (c: string | string[] | undefined) => (c === undefined ? undefined : typeof c === 'string' ? rel(c) : c.map(rel));
  const { dpt, ad } = cfg.data;
  return digest({
    ...cfg,
    ...(cfg.initFrom !== undefined ? { initFrom: rel(cfg.initFrom) } : {}),
    data: {
      ...cfg.data,
      ...(dpt ? { dpt: { ...dpt, ...(dpt.collection !== undefined ? { collection: relAll(dpt.collection) } : {}), ...(dpt.selfPlay ? { selfPlay: { ...dpt.selfPlay, checkpoint: rel(dpt.selfPlay.checkpoint) } } : {}) } } : {}),
      ...(ad ? { ad: { ...ad, ...(ad.collection !== undefined ? { collection: rel(ad.collection) } : {}) } } : {}),
    },
  });
}

/**
 * Trains the model of `config` (a config object or a config file path). The output folder is
 * locked for the run (core/lock.ts): a second run on it is refused with a named error.
 */
export async function trainFromConfig(config: TrainConfig | string, opts: TrainOptions = {}): Promise<TrainResult> {
  const cfg = typeof config === 'string' ? loadTrainConfig(config) : parseTrainConfig(config);
  const release = lockFolder(resolve(opts.outDir ?? cfg.out), opts.lockLabel ?? 'icrl train');
  try {
    return await trainLocked(cfg, opts);
  } finally {
    release();
  }
}

async function trainLocked(cfg: TrainConfig, opts: TrainOptions): Promise<TrainResult> {
  await prepareFamily(cfg.data.family);
  const baseDir = opts.baseDir ?? process.cwd();
  const outDir = resolve(opts.outDir ?? cfg.out);
  makeDir(outDir);
  const log = opts.log ?? (() => {});
  const o = cfg.optim;
  const root = new Rng(cfg.seed);
  const paired = cfg.model.moe !== undefined;
  if (paired && (o.batchSize % 2 !== 0 || o.batchSize < 4)) throw new IcrlError(`${cfg.name}: optim.batchSize must be even and >= 4 for T2MIR (pairs of samples of the same task), got ${o.batchSize}`);

  opts.onProgress?.({ phase: 'data', step: 0, steps: o.steps, message: 'preparing data' });
  const data = opts.data ?? (await buildTrainingData(cfg, baseDir, root.split('data-build'), log));
  try {
    return await trainOn(cfg, opts, data, { outDir, log, root, paired });
  } finally {
    if (!opts.data) data.close?.();
  }
}

/** initFrom: the weights of a trained model of the same kind, shapes and inputs; returns the log line. */
function initWeights(cfg: TrainConfig, model: InContextModel): string {
  const field = 'initFrom';
  let src: ReturnType<typeof loadInContextModel>;
  try {
    src = loadInContextModel(resolve(cfg.initFrom!));
  } catch (e) {
    throw new ConfigError(`${cfg.name}: ${field}: ${(e as Error).message}`, undefined, field);
  }
  const want = modelSpec(model);
  for (const [what, a, b] of [
    ['model section', src.spec.model, want.model],
    ['input shapes and standardisation (dims)', src.spec.dims, want.dims],
    ['context length', src.spec.contextLength, want.contextLength],
  ] as const) {
    if (canonicalJson(a as JsonValue) !== canonicalJson(b as JsonValue)) throw new ConfigError(`${cfg.name}: ${field}: the model at ${cfg.initFrom} has another ${what} than this training's: ${JSON.stringify(a).slice(0, 200)} against ${JSON.stringify(b).slice(0, 200)}`, undefined, field);
  }
  loadModel(src.dir, model);
  return `initialised from the weights of ${src.dir}`;
}

async function trainOn(cfg: TrainConfig, opts: TrainOptions, data: TrainingData, ctx: { outDir: string; log: (line: string) => void; root: Rng; paired: boolean }): Promise<TrainResult> {
  const { outDir, log, root, paired } = ctx;
  const o = cfg.optim;
  if (data.kind !== modelKinds.get(cfg.model.kind).dataset) throw new IcrlError(`${cfg.name}: model.kind is ${cfg.model.kind} but the data is for ${data.kind}`);
  log(`data: ${data.description}`);

  const model = buildModel({ model: cfg.model, dims: data.dims, contextLength: data.contextLength }, root.split('init'));
  const opt = new AdamW(paramGroups(model, o.weightDecay), { lr: o.lr, beta1: o.beta1, beta2: o.beta2 });
  const params = model.parameters();
  log(`model: ${cfg.model.kind}${cfg.model.moe ? ' (T2MIR)' : ''}, ${model.parameterCount()} parameters, context ${data.contextLength}`);

  const metrics = new MetricsWriter(join(outDir, 'metrics.jsonl'), createTrackers(cfg.trackers, { outDir, runName: cfg.name }, `${cfg.name}: trackers`));
  const cfgDigest = pathDigest(cfg);
  let dataRng = root.split('batches');
  let step = 0;
  let lossAcc: [number, number] = [0, 0];
  let samplesSeen = 0;
  let trainSeconds = 0;
  let resumedFrom: number | null = null;
  if (opts.resume === false) {
    // starting over: nothing of the previous run may be resumed later (its checkpoints would not
    // match the new metrics file)
    for (const p of [checkpointRoot(outDir), join(outDir, 'model'), join(outDir, 'result.json')]) removeIfExists(p);
  }
  // temporaries of a killed run (we hold the folder's lock, so no other writer made them)
  for (const d of [outDir, checkpointRoot(outDir), join(outDir, 'model')]) {
    if (existsSync(d)) for (const e of readdirSync(d)) if (isAtomicTemp(e)) removeIfExists(join(d, e));
  }
  const warn = (line: string) => {
    log(line);
    if (!opts.log) process.stderr.write(`${line}\n`);
  };
  const latest = opts.resume === false ? null : resumeCheckpoint(outDir, model, opt, warn);
  if (latest) {
    const st = latest.state;
    if (st.configDigest !== cfgDigest && st.configDigest !== digest(cfg)) {
      throw new IcrlError(`${outDir}: the checkpoint at step ${st.step} was written with a different configuration; use another output folder or start over with --fresh`);
    }
    step = st.step;
    dataRng = Rng.fromState(st.dataRng);
    lossAcc = st.lossAcc;
    samplesSeen = st.samplesSeen;
    trainSeconds = st.trainSeconds;
    metrics.resetTo(st.metricsBytes);
    resumedFrom = step;
    log(`resumed from ${latest.dir} (step ${step})`);
  } else {
    if (cfg.initFrom) log(initWeights(cfg, model));
    metrics.resetTo(0);
    metrics.write({ kind: 'config', step: 0, name: cfg.name, config: cfg, parameters: model.parameterCount(), data: data.description, provenance: provenance() });
  }

  const schedule = (s: number) => warmupCosine(s, { lr: o.lr, warmup: o.warmupSteps, total: o.steps, minLr: o.lr * o.minLrFraction });
  const bar = opts.progressBar === false ? null : new Progress(`train ${cfg.name}`, o.steps, { unit: 'steps' });
  bar?.update(step);
  const baselineSpecs: [Record<string, unknown>, number][] = [];
  let lastLoss = NaN;
  let lastVal: number | null = null;
  let lastCheckpointStep = step;
  let windowStart = performance.now();
  let windowTokens = 0;

  const checkpoint = () => {
    const state: CheckpointState = {
      step,
      adamStep: opt.step,
      dataRng: dataRng.getState(),
      metricsBytes: metrics.bytes,
      lossAcc,
      samplesSeen,
      configDigest: cfgDigest,
      trainSeconds,
    };
    saveCheckpoint(outDir, model, opt, state, cfg.keepCheckpoints);
    lastCheckpointStep = step;
  };

  while (step < o.steps) {
    const t0 = performance.now();
    const lr = schedule(step);
    opt.lr = lr;
    const batch = data.sample(dataRng, o.batchSize, 'train', paired);
    samplesSeen += o.batchSize;
    model.train();
    const res = tidy(() => {
      opt.zeroGrad();
      const parts = computeLoss(model, batch, paired);
      const total = parts.total.item();
      if (Number.isFinite(total)) parts.total.backward();
      return { total, pred: parts.pred, balance: parts.balance, contrastive: parts.contrastive, tokens: parts.tokens };
    });
    const thisStep = step + 1;
    const gradNorm = Number.isFinite(res.total) ? clipGradNorm(params, o.gradClip > 0 ? o.gradClip : Infinity) : NaN;
    if (!Number.isFinite(res.total) || !Number.isFinite(gradNorm)) {
      bar?.finish('diverged');
      const what = !Number.isFinite(res.total) ? `loss is ${res.total}` : `gradient norm is ${gradNorm}`;
      throw new TrainingDivergedError(
        `${cfg.name}: training stopped at step ${thisStep}: the ${what}. ` +
          (lastCheckpointStep > 0 || latest ? `The last good checkpoint (step ${lastCheckpointStep}) is kept in ${join(outDir, 'checkpoints')}; ` : 'No checkpoint was written yet; ') +
          'lower optim.lr or raise optim.warmupSteps and run again.',
        thisStep,
      );
    }
    opt.update();
    if (cfg.model.moe) for (const { moe } of model.backbone.moeLayers) moe.updateMomentum(cfg.model.moe.tau);
    step = thisStep;
    lastLoss = res.pred;
    lossAcc = [lossAcc[0] + res.pred, lossAcc[1] + 1];
    const dt = (performance.now() - t0) / 1000;
    trainSeconds += dt;
    windowTokens += res.tokens;

    if (step % cfg.logEvery === 0 || step === o.steps) {
      const now = performance.now();
      const tps = windowTokens / Math.max(1e-9, (now - windowStart) / 1000);
      const rec: Record<string, unknown> & { kind: string; step: number } = {
        kind: 'train',
        step,
        loss: res.pred,
        lossAvg: lossAcc[0] / lossAcc[1],
        lr,
        gradNorm,
        tokensPerSecond: Math.round(tps),
        samples: samplesSeen,
      };
      if (res.balance !== undefined) rec.balanceLoss = res.balance;
      if (res.contrastive !== undefined) rec.contrastiveLoss = res.contrastive;
      if (model.backbone.moeLayers.length > 0) rec.expertLoad = model.backbone.expertLoad();
      metrics.write(rec);
      lossAcc = [0, 0];
      windowStart = now;
      windowTokens = 0;
      opts.onProgress?.({ phase: 'train', step, steps: o.steps, loss: res.pred, lr, tokensPerSecond: tps });
    }
    bar?.update(step, `loss ${res.pred.toFixed(4)}`);

    const evalDue = (cfg.eval.every > 0 && step % cfg.eval.every === 0) || step === o.steps;
    if (evalDue) {
      opts.onProgress?.({ phase: 'eval', step, steps: o.steps, message: 'held-out evaluation' });
      lastVal = validationLoss(model, data, cfg, root);
      const ev = await heldOutEval(modelAgent(model, { actionSelection: cfg.eval.actionSelection }), model, data, cfg, root.split(`eval:${step}`), step);
      metrics.write({ kind: 'eval', valLoss: lastVal, ...ev });
      if (step === o.steps) {
        cfg.eval.baselines.forEach((spec, i) => baselineSpecs.push([spec, i]));
        for (const [spec, i] of baselineSpecs) {
          const agent = makeAgent(spec, `${cfg.name}: eval.baselines[${i}]`);
          const bev = await heldOutEval(agent, null, data, cfg, root.split(`eval:${step}`), step);
          metrics.write({ kind: 'baseline', ...bev });
        }
      }
    }
    if (step % cfg.checkpointEvery === 0 || step === o.steps) checkpoint();
    const why = step < o.steps ? (opts.stopIf?.() ?? null) : null;
    if (why !== null) {
      if (lastCheckpointStep !== step) checkpoint();
      bar?.finish('stopped');
      metrics.close();
      throw new TrainingStoppedError(`${cfg.name}: training stopped at step ${step}: ${why}. Its state is checkpointed in ${join(outDir, 'checkpoints')}; the same command resumes from step ${step}.`, step);
    }
  }
  bar?.finish();
  metrics.close();

  const modelDir = join(outDir, 'model');
  const finished = resumedFrom !== null && resumedFrom >= o.steps && existsSync(join(modelDir, 'config.json'));
  if (finished) log(`${cfg.name}: already trained to step ${o.steps} in ${outDir}; nothing to do (--fresh starts over)`);
  else saveInContextModel(modelDir, model, { config: cfg.name, steps: o.steps, seed: cfg.seed, data: data.description });
  // The results come from metrics.jsonl, which holds every evaluation of the run across resumes
  // (the in-memory list has only those since the last resume).
  const recorded = readMetrics(metrics.file);
  const lastOf = (kind: string) => [...recorded].reverse().find((m) => m.kind === kind);
  const recordedEvals = recorded.filter((m) => m.kind === 'eval' || m.kind === 'baseline').map(({ kind: _k, valLoss: _v, ...ev }) => ev as unknown as HeldOutEval);
  const result: TrainResult = {
    outDir,
    modelDir,
    metricsFile: metrics.file,
    steps: o.steps,
    resumedFrom,
    // as logged (7 significant digits), so that a rerun of a finished run reports the same numbers
    finalLoss: Number(lastOf('train')?.loss ?? lastLoss),
    valLoss: (lastOf('eval')?.valLoss as number | null | undefined) ?? lastVal,
    trainSeconds,
    evals: recordedEvals,
    parameters: model.parameterCount(),
  };
  writeFileAtomic(join(outDir, 'result.json'), JSON.stringify({ ...result, outDir: undefined, modelDir: 'model', metricsFile: 'metrics.jsonl' }, null, 1));
  opts.onProgress?.({ phase: 'done', step: o.steps, steps: o.steps, loss: lastLoss });
  return result;
}

/** Prediction loss on validation batches (fixed stream: the same batches at every evaluation). */
export function validationLoss(model: InContextModel, data: TrainingData, cfg: TrainConfig, root: Rng): number | null {
  if (data.numValTasks === 0) return null;
  const rng = root.split('validation');
  const B = Math.min(cfg.optim.batchSize, 64);
  let total = 0;
  const batches = cfg.eval.validationBatches;
  model.eval();
  for (let i = 0; i < batches; i++) {
    const batch = data.sample(rng, B, 'val', false);
    total += noGrad(() => tidy(() => computeLoss(model, batch, false).pred));
  }
  model.train();
  return total / batches;
}

/**
 * In-context evaluation of `agent` (the model as an agent with KV-cache decoding, or a baseline) on
 * the first eval.tasks held-out tasks; the environment and agent streams depend only on `rng`, so
 * every agent evaluated with the same `rng` meets the same tasks and reward noise.
 */
export async function heldOutEval(agent: Agent, model: InContextModel | null, data: TrainingData, cfg: TrainConfig, rng: Rng, step: number): Promise<HeldOutEval> {
  const t0 = performance.now();
  const tasks = data.heldOut.slice(0, cfg.eval.tasks);
  const family = data.dims.family;
  const env = makeBatchedEnv(family, tasks.length, evalEnvOptions(family, data.dims.envOptions), rng.split('env'));
  const bandit = env.setting === 'bandit';
  const seed = rng.split('seed').nextU32();
  model?.eval();
  try {
    if (bandit) {
      const steps = cfg.eval.steps ?? 100;
      const rec = await evaluateOnline(agent, env, tasks, { steps, seed, progress: false });
      if (rec.mode !== 'steps') throw new IcrlError('unexpected evaluation mode');
      let regret = 0;
      for (let i = 0; i < rec.numTasks; i++) {
        let r = 0;
        for (let t = 0; t < rec.steps; t++) r += rec.best[i] - rec.expected[i][t];
        regret += r;
      }
      return { step, agent: agent.name, meanRegret: regret / rec.numTasks, seconds: (performance.now() - t0) / 1000 };
    }
    const episodes = cfg.eval.episodes ?? 4;
    const rec = await evaluateOnline(agent, env, tasks, { episodes, seed, progress: false });
    if (rec.mode !== 'episodes') throw new IcrlError('unexpected evaluation mode');
    const returns: number[] = [];
    for (let k = 0; k < episodes; k++) {
      let s = 0;
      for (let i = 0; i < rec.numTasks; i++) s += rec.returns[i][k];
      returns.push(s / rec.numTasks);
    }
    // families without an exact oracle (MuJoCo) have no oracle return
    let oracle = 0;
    if (rec.oracle) for (let i = 0; i < rec.numTasks; i++) oracle += rec.oracle[i];
    return { step, agent: agent.name, returns, ...(rec.oracle ? { oracleReturn: oracle / rec.numTasks } : {}), seconds: (performance.now() - t0) / 1000 };
  } finally {
    model?.train();
  }
}

/**
 * Evaluation-time environment options: those of the training data (bandit rewards keep their noise,
 * as configs/eval-bandit.yaml evaluates; regret is computed from the arm means either way).
 */
export function evalEnvOptions(_family: string, envOptions: Record<string, unknown>): Record<string, unknown> {
  return { ...envOptions };
}
