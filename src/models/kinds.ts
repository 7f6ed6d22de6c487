/**
 * The model kinds: one {@link Registry} entry each, holding everything the trainer and the evaluator
 * need to know about a kind, so that neither branches on it: how to build the model, which dataset
 * format it learns from, its prediction loss on a batch, the agent that plays it in context, and
 * the config checks that depend on the kind. `ad` and `dpt` are built in (T2MIR is their `moe`
 * option); users register more with `modelKinds.register(...)`.
 */
import { crossEntropy, mse, type Tensor } from '../nn/index.js';
import { IcrlError } from '../core/errors.js';
import { Registry, type RegistryEntry } from '../core/registry.js';
import type { Rng } from '../core/rng.js';
import type { Agent } from '../algorithms/agent.js';
import { ModelConfigSchema, backboneProblem, type ModelConfig } from './config.js';
import { ADModel } from './ad.js';
import { DPTModel } from './dpt.js';
import { ADAgent, DPTAgent, type ModelAgentOptions } from './agents.js';
import type { Batch } from './batches.js';
import type { EnvDims } from './features.js';
import type { InContextModel } from './types.js';

/** The prediction part of a training loss (T2MIR's auxiliary losses are added by the trainer). */
export interface PredictionLoss {
  loss: Tensor;
  /** Tokens processed (for tokens/s). */
  tokens: number;
  /** Sequence length of each batch row as the backbone saw it (the MoE contrastive loss needs it). */
  seqLen: number;
}

export interface ModelKind extends RegistryEntry {
  /** The model section of a config (shared by the built-in kinds). */
  readonly options: typeof ModelConfigSchema;
  /** The training data the kind learns from: DPT samples (contexts, queries, labels) or AD windows of learning histories. */
  readonly dataset: 'dpt' | 'ad';
  build(cfg: ModelConfig, dims: EnvDims, contextLength: number, rng: Rng): InContextModel;
  predictionLoss(model: InContextModel, batch: Batch): PredictionLoss;
  agent(model: InContextModel, opts: ModelAgentOptions): Agent;
  /** A config problem specific to the kind (field path inside `model`, message), or null. */
  check?(cfg: ModelConfig): { path: string[]; message: string } | null;
}

export const modelKinds = new Registry<ModelKind>('model kind');

function expectModel<M>(model: InContextModel, cls: abstract new (...args: never[]) => M, kind: string): M {
  if (!(model instanceof cls)) throw new IcrlError(`model kind ${kind}: got a ${model.kind} model`);
  return model as unknown as M;
}

function expectBatch<K extends Batch['kind']>(batch: Batch, kind: K): Extract<Batch, { kind: K }> {
  if (batch.kind !== kind) throw new IcrlError(`a ${batch.kind} batch cannot train a ${kind} model`);
  return batch as Extract<Batch, { kind: K }>;
}

modelKinds.register({
  name: 'dpt',
  description: 'Decision-Pretrained Transformer: predicts the optimal action at a query state from an in-context dataset (Lee et al. 2023)',
  options: ModelConfigSchema,
  dataset: 'dpt',
  build: (cfg, dims, contextLength, rng) => new DPTModel(cfg, dims, contextLength, rng),
  predictionLoss(m, b) {
    const model = expectModel(m, DPTModel, 'dpt');
    const batch = expectBatch(b, 'dpt');
    const { B, T } = batch;
    const out = model.forwardAll(batch.tokens, B, T, batch.queries);
    const rows = B * (T + 1);
    let loss: Tensor;
    if (batch.labels instanceof Int32Array) {
      const targets = new Int32Array(rows);
      for (let r = 0; r < B; r++) targets.fill(batch.labels[r], r * (T + 1), (r + 1) * (T + 1));
      loss = crossEntropy(out, targets);
    } else {
      const A = model.outSize;
      const target = new Float32Array(rows * A);
      for (let r = 0; r < B; r++) for (let j = 0; j <= T; j++) target.set(batch.labels.subarray(r * A, (r + 1) * A), (r * (T + 1) + j) * A);
      loss = mse(out, target);
    }
    return { loss, tokens: B * (T + 1), seqLen: T + 1 };
  },
  agent: (m, opts) => new DPTAgent(expectModel(m, DPTModel, 'dpt'), opts),
  check: (cfg) => backboneProblem(cfg, 'dpt'),
});

modelKinds.register({
  name: 'ad',
  description: "Algorithm Distillation: predicts the source algorithm's next action from its learning history (Laskin et al. 2022)",
  options: ModelConfigSchema,
  dataset: 'ad',
  build: (cfg, dims, contextLength, rng) => new ADModel(cfg, dims, contextLength, rng),
  predictionLoss(m, b) {
    const model = expectModel(m, ADModel, 'ad');
    const batch = expectBatch(b, 'ad');
    const { B, T } = batch;
    const out = model.forward(batch.tokens, B, T);
    const loss = batch.targets instanceof Int32Array ? crossEntropy(out, batch.targets) : mse(out, batch.targets);
    return { loss, tokens: B * T, seqLen: T };
  },
  agent: (m, opts) => new ADAgent(expectModel(m, ADModel, 'ad'), opts),
  check: (cfg) =>
    cfg.countFeatures
      ? { path: ['countFeatures'], message: 'count features are a DPT option (AD has learned positions)' }
      : cfg.queryToken !== undefined
        ? { path: ['queryToken'], message: 'queryToken is a DPT option (AD has no query state)' }
        : backboneProblem(cfg, 'ad'),
});
