/**
 * The model section of a training config and of a saved model's config.json: backbone sizes and the
 * optional T2MIR mixture-of-experts layers. Strict zod schemas, so a typo names the field.
 */
import { z } from 'zod';

// upper bounds keep a typo (dModel: 1e9) a named error instead of an allocation failure
const int = (min = 0, max = 1e5) => z.number().int().min(min).max(max);
const pos = () => z.number().positive().max(1e3);

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
    /** A registered model kind (`ad`, `dpt`, or one registered from code; see models/kinds.ts). */
    kind: z.string().min(1),
    layers: int(1, 1024),
    dModel: int(4, 65536),
    heads: int(1, 1024),
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
