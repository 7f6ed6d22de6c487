/**
 * Decision-Pretrained Transformer (Lee et al., 2023): given an in-context dataset of transitions
 * (s, a, r, s') and a query state, predict the optimal action at the query state, at every context
 * length at once.
 *
 * Layout: the sequence is [start, t_1, ..., t_T] (a learned start token, then one token per
 * transition) through a causal transformer with no positional embeddings, so the output h_j after j
 * transitions depends only on the *set* of the first j transitions (the in-context dataset is
 * unordered; without positions the model also runs on contexts longer than those it was trained on).
 * The query state is fused at the output: prediction_j = head([h_j ; W_q q]), an MLP (one hidden
 * layer of headMult x dModel by default, model.headLayers of them if given).
 * Because the query enters only at the head, a key/value cache of the context serves every query:
 * online, each step appends one transition to the cache and asks the head about the current state
 * (a design choice of this implementation; the original DPT places the query as the first token,
 * which forces a full recomputation whenever the query state changes). `model.queryToken` gives
 * that layout too: the first token is start + W_q q, so every h_j is computed knowing the query
 * (the head still gets [h_j ; W_q q]); inference then goes through {@link DPTModel.predictNaive}.
 *
 * Loss: cross-entropy against the optimal action at all T + 1 context lengths (discrete actions),
 * or mean squared error against the optimal action vector (continuous actions, point-robot).
 */
import type { Rng } from '../core/rng.js';
import { IcrlError } from '../core/errors.js';
import { Linear, MLP, Module, type Tensor, add, concat, embedding, gatherRows, init, parameter, tensor } from '../nn/index.js';
import type { ModelConfig } from './config.js';
import { Backbone, type BackboneCache } from './backbone.js';
import { actFeatureSize, dptTokenSize, obsFeatureSize, type EnvDims } from './features.js';

/** Count features of a context token: ln(n) / ln(500) and 1 / sqrt(n), n >= 1 its count. */
export const COUNT_FEATURES = 2;
export function writeCountFeatures(n: number, out: Float32Array, o: number): void {
  out[o] = Math.log(n) / Math.log(500);
  out[o + 1] = 1 / Math.sqrt(n);
}

export class DPTModel extends Module {
  readonly kind = 'dpt' as const;
  readonly embed: Linear;
  readonly start: Tensor;
  readonly queryEmbed: Linear;
  readonly head: MLP;
  readonly backbone: Backbone;
  /** Embedding of the count features (model.countFeatures), or null. */
  readonly countEmbed: Linear | null;
  readonly tokenSize: number;
  readonly querySize: number;
  readonly outSize: number;

  constructor(
    readonly cfg: ModelConfig,
    readonly dims: EnvDims,
    /** Longest context (transitions) the key/value cache is sized for by default. */
    readonly contextLength: number,
    rng: Rng,
  ) {
    super();
    const d = cfg.dModel;
    this.tokenSize = dptTokenSize(dims);
    this.querySize = obsFeatureSize(dims);
    this.outSize = actFeatureSize(dims);
    this.embed = new Linear(this.tokenSize, d, rng.split('embed'));
    this.start = parameter([1, d], init.normal(rng.split('start'), 0.02));
    this.queryEmbed = new Linear(this.querySize, d, rng.split('query'));
    this.head = new MLP(2 * d, Math.round(cfg.headMult * d), rng.split('head'), 'gelu', this.outSize, cfg.headLayers ?? 1);
    this.backbone = new Backbone(cfg, contextLength + 1, false, rng.split('backbone'));
    this.countEmbed = cfg.countFeatures ? new Linear(COUNT_FEATURES, d, rng.split('count')) : null;
  }

  /** Token embeddings [B, T, d] of context tokens whose counts start at first + 1. */
  private embedTokens(tokens: Float32Array, B: number, T: number, first: number): Tensor {
    const x = this.embed.forward(tensor(tokens.subarray(0, B * T * this.tokenSize), [B, T, this.tokenSize]));
    if (!this.countEmbed) return x;
    const f = new Float32Array(B * T * COUNT_FEATURES);
    for (let t = 0; t < T; t++) writeCountFeatures(first + t + 1, f, t * COUNT_FEATURES);
    for (let b = 1; b < B; b++) f.copyWithin(b * T * COUNT_FEATURES, 0, T * COUNT_FEATURES);
    return add(x, this.countEmbed.forward(tensor(f, [B, T, COUNT_FEATURES])));
  }

  /**
   * Training forward: tokens [B, T, tokenSize], queries [B, querySize] -> predictions
   * [B * (T + 1), outSize], row b * (T + 1) + j being the prediction after j transitions.
   */
  forwardAll(tokens: Float32Array, B: number, T: number, queries: Float32Array): Tensor {
    const d = this.cfg.dModel;
    const x = this.embedTokens(tokens, B, T, 0);
    const q = this.queryEmbed.forward(tensor(queries, [B, this.querySize]));
    const h = this.backbone.forward(concat([this.firstToken(B, q), x], 1)).reshape([B * (T + 1), d]);
    const rows = new Int32Array(B * (T + 1));
    for (let b = 0; b < B; b++) rows.fill(b, b * (T + 1), (b + 1) * (T + 1));
    return this.head.forward(concat([h, gatherRows(q, rows)], -1));
  }

  /** Whether the query state is part of the sequence (model.queryToken): no cache across queries. */
  get queryToken(): boolean {
    return this.cfg.queryToken === true;
  }

  /** The first token of every row [B, 1, d]: the start token, plus the query's embedding q [B, d] with model.queryToken. */
  private firstToken(B: number, q: Tensor): Tensor {
    const s = embedding(this.start, new Int32Array(B), [B, 1]);
    return this.queryToken ? add(s, q.reshape([B, 1, this.cfg.dModel])) : s;
  }

  private noCache(): never {
    throw new IcrlError('a DPT with model.queryToken computes each prediction from the whole sequence (predictNaive); it has no context cache');
  }

  /** Inference: feeds the start token of every row into an empty cache; returns h_0 [B, d]. */
  startCache(cache: BackboneCache): Tensor {
    if (this.queryToken) this.noCache();
    const B = cache.batch;
    const s = embedding(this.start, new Int32Array(B), [B, 1]);
    return this.backbone.forward(s, cache).reshape([B, this.cfg.dModel]);
  }

  /** Inference: appends T transition tokens [B, T, tokenSize] to the cache; returns the last h [B, d]. */
  appendTokens(tokens: Float32Array, B: number, T: number, cache: BackboneCache): Tensor {
    if (this.queryToken) this.noCache();
    // the cache holds the start token and the transitions so far
    const h = this.backbone.forward(this.embedTokens(tokens, B, T, cache.length - 1), cache);
    const d = this.cfg.dModel;
    if (T === 1) return h.reshape([B, d]);
    const rows = new Int32Array(B);
    for (let b = 0; b < B; b++) rows[b] = b * T + T - 1;
    return gatherRows(h.reshape([B * T, d]), rows);
  }

  /** Prediction for context summaries h [B, d] and query features [B, querySize]. */
  predict(h: Tensor, queries: Float32Array): Tensor {
    const B = h.shape[0];
    const q = this.queryEmbed.forward(tensor(queries, [B, this.querySize]));
    return this.head.forward(concat([h, q], -1));
  }

  /**
   * The naive method (benchmark reference, and the inference of a model.queryToken DPT): recomputes
   * the whole sequence [start, t_1..t_T] without a cache and returns the prediction after all T
   * transitions.
   */
  predictNaive(tokens: Float32Array, B: number, T: number, queries: Float32Array): Tensor {
    const d = this.cfg.dModel;
    const q = this.queryEmbed.forward(tensor(queries, [B, this.querySize]));
    const s = this.firstToken(B, q);
    const seq = T > 0 ? concat([s, this.embedTokens(tokens, B, T, 0)], 1) : s;
    const h = this.backbone.forward(seq);
    const rows = new Int32Array(B);
    for (let b = 0; b < B; b++) rows[b] = b * (T + 1) + T;
    return this.head.forward(concat([gatherRows(h.reshape([B * (T + 1), d]), rows), q], -1));
  }
}
