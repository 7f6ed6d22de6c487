/**
 * Training configuration (`icrl train <config>`): model, data, optimisation, evaluation and output,
 * as a strict zod schema so that a typo in a config file is an error naming the file and field.
 */
import { z } from 'zod';
import { RollinSchema } from '../data/dpt.js';
import { loadConfig, validateConfig } from '../core/config.js';

const int = (min = 0) => z.number().int().min(min);
const pos = () => z.number().positive();

/** T2MIR: the mixture-of-experts layers that replace the feed-forward block in chosen layers. */
export const MoeConfigSchema = z
  .object({
    /** 0-based indices of the transformer layers whose FFN becomes token-MoE || task-MoE. */
    layers: z.array(int(0)).min(1),
    tokenExperts: int(1).default(6),
    tokenTopK: int(1).default(2),
    taskExperts: int(1).default(12),
    taskTopK: int(1).default(2),
    /** Weight of the load-balancing loss of the token-wise MoE. */
    balanceWeight: z.number().min(0).default(0.1),
    /** Weight of the contrastive (InfoNCE) loss of the task-wise router. */
    contrastiveWeight: z.number().min(0).default(0.01),
    /** Momentum-copy update rate: router_m <- (1 - tau) router_m + tau router. */
    tau: z.number().min(0).max(1).default(0.005),
    /** Temperature of the InfoNCE loss. */
    temperature: pos().default(0.1),
    /** Hidden width of each expert as a multiple of its output width (half of dModel). */
    expertMult: pos().default(4),
  })
  .strict();
export type MoeConfig = z.output<typeof MoeConfigSchema>;

export const ModelConfigSchema = z
  .object({
    kind: z.enum(['ad', 'dpt']),
    layers: int(1),
    dModel: int(4),
    heads: int(1),
    /** FFN hidden width = ffnMult x dModel. */
    ffnMult: pos().default(4),
    /** DPT only: hidden width of the query-fusion head, as a multiple of dModel. */
    headMult: pos().default(2),
    /**
     * DPT only: add to each context token an embedding of its count n (the number of transitions up to
     * and including it): ln(n) / ln(500) and 1 / sqrt(n). Without it the model can only infer n from
     * how much attention the start token takes, which blurs at long contexts.
     */
    countFeatures: z.boolean().default(false),
    moe: MoeConfigSchema.optional(),
  })
  .strict();
export type ModelConfig = z.output<typeof ModelConfigSchema>;

/** Train / held-out split of the family's task space (the evaluator uses the same function and seed). */
export const SplitConfigSchema = z
  .object({
    seed: int(0).default(0),
    /** Held-out tasks: a count, or a fraction of a finite space. */
    heldOut: pos(),
    /** Training tasks drawn from an infinite space (finite spaces use all the others). */
    train: int(1).optional(),
  })
  .strict();

export const DptDataConfigSchema = z
  .object({
    /** Samples generated in memory (each: a roll-in context, a query state, its optimal action). */
    samples: int(1),
    /** Transitions per context. */
    contextLength: int(1),
    /**
     * Roll-in policy (default: dirichlet for bandits, uniform for MDPs): dirichlet | dirichlet-flat |
     * uniform | { algorithm: spec } | { mixture: [{ weight, rollin }] } (src/data/dpt.ts).
     */
    rollin: RollinSchema.optional(),
  })
  .strict();

export const AdDataConfigSchema = z
  .object({
    /** Source algorithm whose learning histories are distilled (an algorithms registry spec, e.g. {kind: q-learning}). */
    source: z.record(z.string(), z.unknown()),
    /** Episodes of each learning history. */
    episodes: int(1),
    /** Learning histories (independent runs) per training task. */
    historiesPerTask: int(1).default(1),
    /** Episodes per training window: the model's context is windowEpisodes x horizon tokens. */
    windowEpisodes: int(1),
  })
  .strict();

/** Where the training data comes from: generated / collected in memory from the family's training tasks. */
export const DataConfigSchema = z
  .object({
    family: z.string().min(1),
    envOptions: z.record(z.string(), z.unknown()).default({}),
    split: SplitConfigSchema,
    /** Fraction of training tasks kept out of the batches for the validation loss (0 = none). */
    validationFraction: z.number().min(0).max(0.5).default(0.05),
    dpt: DptDataConfigSchema.optional(),
    ad: AdDataConfigSchema.optional(),
  })
  .strict();
export type DataConfig = z.output<typeof DataConfigSchema>;

export const OptimConfigSchema = z
  .object({
    steps: int(1),
    batchSize: int(1),
    lr: pos(),
    /** Learning rate at the end of the cosine decay, as a fraction of lr. */
    minLrFraction: z.number().min(0).max(1).default(0.1),
    warmupSteps: int(0).default(0),
    weightDecay: z.number().min(0).default(1e-4),
    beta1: z.number().min(0).max(1).default(0.9),
    beta2: z.number().min(0).max(1).default(0.999),
    /** Global gradient-norm clip (0 = off). */
    gradClip: z.number().min(0).default(1),
  })
  .strict();

export const EvalConfigSchema = z
  .object({
    /** Held-out in-context evaluation every N steps (0 = only at the end). */
    every: int(0).default(0),
    /** Number of held-out tasks evaluated. */
    tasks: int(1).default(20),
    /** Bandits: steps per task. */
    steps: int(1).optional(),
    /** MDPs: in-context episodes per task. */
    episodes: int(1).optional(),
    /** Batches (of min(batchSize, 64) samples) averaged for the validation loss: 2 = 128 contexts, about +-0.05 on DPT bandits. */
    validationBatches: int(1).default(2),
    /** Action choice of the model agent: sample from the predicted distribution or take its argmax. */
    actionSelection: z.enum(['sample', 'greedy']).default('sample'),
    /** Algorithms (algorithms registry specs, e.g. {kind: thompson}) evaluated on the same held-out tasks at the end, for comparison. */
    baselines: z.array(z.record(z.string(), z.unknown())).default([]),
  })
  .strict();

export const TrainConfigSchema = z
  .object({
    name: z.string().min(1),
    seed: int(0).default(0),
    /** Output directory (metrics.jsonl, checkpoints/, model.safetensors), relative to the working directory. */
    out: z.string().min(1),
    model: ModelConfigSchema,
    data: DataConfigSchema,
    optim: OptimConfigSchema,
    eval: EvalConfigSchema.default({ every: 0, tasks: 20, validationBatches: 2, actionSelection: 'sample', baselines: [] }),
    /** Metrics line every N steps. */
    logEvery: int(1).default(10),
    /** Checkpoint every N steps (and at the end). */
    checkpointEvery: int(1).default(100),
    /** Checkpoints kept on disk (the newest ones). */
    keepCheckpoints: int(1).default(2),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.model.countFeatures && c.model.kind !== 'dpt') ctx.addIssue({ code: 'custom', path: ['model', 'countFeatures'], message: 'count features are a DPT option (AD has learned positions)' });
  });
export type TrainConfig = z.output<typeof TrainConfigSchema>;
export type TrainConfigInput = z.input<typeof TrainConfigSchema>;

export function loadTrainConfig(file: string): TrainConfig {
  return loadConfig(TrainConfigSchema, file);
}

export function parseTrainConfig(data: unknown, source = 'train config'): TrainConfig {
  return validateConfig(TrainConfigSchema, data, source);
}
