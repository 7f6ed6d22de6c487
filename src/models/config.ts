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

/** The state-space backbone's layers (model.backbone: ssm). */
export const SsmConfigSchema = z
  .object({
    /** State channels per layer (default: dModel). */
    stateSize: int(1).optional(),
    /** Range of the initial discretisation steps, log-uniform (S5's default range). */
    dtMin: pos().default(0.001),
    dtMax: pos().default(0.1),
    /**
     * Where the recurrent state is cleared: `none` (default: the state runs across episode boundaries,
     * which is what lets AD improve from episode to episode in context) or `episode` (cleared at
     * every episode start, AD only: Lu et al.'s resettable scan, for tasks where episodes are
     * independent).
     */
    reset: z.enum(['none', 'episode']).default('none'),
  })
  .strict()
  .refine((c) => c.dtMax >= c.dtMin, { message: 'dtMax must be at least dtMin', path: ['dtMax'] });
export type SsmConfig = z.output<typeof SsmConfigSchema>;

/** Attention options of the transformer backbone. */
export const AttentionConfigSchema = z
  .object({
    /** Sink-KV (ReLIC): none, a learned key per layer and head with a zero value (`key`), or a learned key and value (`key-value`). */
    sink: z.enum(['none', 'key', 'key-value']).default('none'),
    /** Sliding window in positions (0 = attend to the whole context); needs `positions: none`. */
    window: int(0).default(0),
  })
  .strict();
export type AttentionConfig = z.output<typeof AttentionConfigSchema>;

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
     * DPT only: hidden layers of the query-fusion head (default 1). With more, the context summary
     * and the query state interact through more than one nonlinearity (with one, the context only
     * shifts the hidden layer's biases). Left out of a config unless given, so that the configuration
     * digest of existing runs is unchanged.
     */
    headLayers: int(1, 16).optional(),
    /**
     * DPT only: the query state also enters the sequence, added to the start token (the original DPT
     * layout, the query first), so that every context token's representation is computed knowing
     * the query. Each prediction then needs its own pass over the context (no key/value cache across
     * queries: online, every step recomputes the sequence). Left out unless given (digests unchanged).
     */
    queryToken: z.boolean().optional(),
    /**
     * DPT only: add to each context token an embedding of its count n (the number of transitions up to
     * and including it): ln(n) / ln(500) and 1 / sqrt(n). Without it the model can only infer n from
     * how much attention the start token takes, which blurs at long contexts.
     */
    countFeatures: z.boolean().default(false),
    moe: MoeConfigSchema.optional(),
    /** Sequence backbone: `transformer` (default) or `ssm` (a diagonal state-space model, S5-style). */
    backbone: z.enum(['transformer', 'ssm']).optional(),
    /** AD: learned positions over the window (default for the transformer) or none (default for the ssm; needed by a sliding window). */
    positions: z.enum(['learned', 'none']).optional(),
    ssm: SsmConfigSchema.optional(),
    attention: AttentionConfigSchema.optional(),
  })
  .strict();

/** The backbone a model config asks for. */
export function backboneOf(cfg: ModelConfig): 'transformer' | 'ssm' {
  return cfg.backbone ?? 'transformer';
}

/** Whether an AD model of this config has learned positions. */
export function adPositions(cfg: ModelConfig): boolean {
  return (cfg.positions ?? (backboneOf(cfg) === 'ssm' ? 'none' : 'learned')) === 'learned';
}

/** A problem with the backbone options of a config (path inside `model`, message), or null. */
export function backboneProblem(cfg: ModelConfig, kind: 'ad' | 'dpt'): { path: string[]; message: string } | null {
  const bb = backboneOf(cfg);
  if (bb === 'ssm' && cfg.attention) return { path: ['attention'], message: 'attention options belong to the transformer backbone (model.backbone is ssm)' };
  if (bb === 'transformer' && cfg.ssm) return { path: ['ssm'], message: 'ssm options need model.backbone: ssm' };
  if (bb === 'ssm' && cfg.positions === 'learned') return { path: ['positions'], message: 'the ssm backbone takes no learned positions (its recurrence orders the context)' };
  if (kind === 'dpt' && cfg.positions === 'learned') return { path: ['positions'], message: 'DPT has no positions (its context is an unordered dataset)' };
  if (kind === 'dpt' && cfg.ssm?.reset === 'episode') return { path: ['ssm', 'reset'], message: 'episode resets are an AD option (a DPT context has no episodes to separate)' };
  if ((cfg.attention?.window ?? 0) > 0 && kind === 'ad' && adPositions(cfg)) return { path: ['attention', 'window'], message: 'a sliding window needs positions: none (learned positions end at the training window)' };
  return null;
}
export type ModelConfig = z.output<typeof ModelConfigSchema>;
