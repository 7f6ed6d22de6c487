/**
 * Algorithm Distillation (Laskin et al., 2022): a causal transformer over a source algorithm's
 * learning history across episodes, one token per step built from the observation, the previous
 * action and the previous reward (see features.ts), trained to predict the source's action at every
 * step of windows that span several episodes. Learned positions over the window length.
 */
import type { Rng } from '../core/rng.js';
import { Linear, Module, type KVCache, type Tensor, tensor } from '../nn/index.js';
import type { ModelConfig } from './config.js';
import { Backbone } from './backbone.js';
import { actFeatureSize, adTokenSize, type EnvDims } from './features.js';

export class ADModel extends Module {
  readonly kind = 'ad' as const;
  readonly embed: Linear;
  readonly backbone: Backbone;
  readonly head: Linear;
  readonly tokenSize: number;
  readonly outSize: number;

  constructor(
    readonly cfg: ModelConfig,
    readonly dims: EnvDims,
    /** Window length in tokens (steps): the longest context the model sees. */
    readonly contextLength: number,
    rng: Rng,
  ) {
    super();
    this.tokenSize = adTokenSize(dims);
    this.outSize = actFeatureSize(dims);
    this.embed = new Linear(this.tokenSize, cfg.dModel, rng.split('embed'));
    this.backbone = new Backbone(cfg, contextLength, true, rng.split('backbone'));
    this.head = new Linear(cfg.dModel, this.outSize, rng.split('head'));
  }

  /** tokens [B, T, tokenSize] -> predictions [B, T, outSize]; with a cache, T new positions are appended. */
  forward(tokens: Float32Array, B: number, T: number, cache?: KVCache): Tensor {
    const x = this.embed.forward(tensor(tokens, [B, T, this.tokenSize]));
    return this.head.forward(this.backbone.forward(x, cache));
  }
}
