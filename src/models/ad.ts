/**
 * Algorithm Distillation (Laskin et al., 2022): a causal transformer over a source algorithm's
 * learning history across episodes, one token per step built from the observation, the previous
 * action and the previous reward (see features.ts), trained to predict the source's action at every
 * step of windows that span several episodes. Learned positions over the window length.
 */
import type { Rng } from '../core/rng.js';
import { Linear, Module, type Tensor, tensor } from '../nn/index.js';
import { adPositions, type ModelConfig } from './config.js';
import { Backbone, type BackboneCache } from './backbone.js';
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
    this.backbone = new Backbone(cfg, contextLength, adPositions(cfg), rng.split('backbone'));
    this.head = new Linear(cfg.dModel, this.outSize, rng.split('head'));
  }

  /** tokens [B, T, tokenSize] -> predictions [B, T, outSize]; with a cache, T new positions are appended. */
  forward(tokens: Float32Array, B: number, T: number, cache?: BackboneCache): Tensor {
    const x = this.embed.forward(tensor(tokens.subarray(0, B * T * this.tokenSize), [B, T, this.tokenSize]));
    return this.head.forward(this.backbone.forward(x, cache, this.resets(tokens, B, T)));
  }

  /**
   * With `ssm.reset: episode`, the state-space layers forget the context at every episode start:
   * the reset mask is the episode-start flag of each token (its last feature), so training windows
   * and in-context play see the same resets. Null otherwise.
   */
  private resets(tokens: Float32Array, B: number, T: number): Float32Array | null {
    if (this.cfg.ssm?.reset !== 'episode') return null;
    const r = new Float32Array(B * T);
    const ts = this.tokenSize;
    for (let i = 0; i < B * T; i++) r[i] = tokens[i * ts + ts - 1];
    return r;
  }
}
