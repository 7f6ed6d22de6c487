/**
 * The causal transformer shared by AD and DPT: pre-norm GPT blocks from the engine, optional learned
 * positions (AD: yes; DPT: none, its context is an unordered dataset), a final layer norm, and T2MIR
 * mixture-of-experts feed-forward blocks in the layers the config names.
 */
import type { Rng } from '../core/rng.js';
import { IcrlError } from '../core/errors.js';
import { Block, KVCache, LayerNorm, Module, addBias, gatherRows, init, parameter, type Tensor } from '../nn/index.js';
import type { ModelConfig } from './config.js';
import { T2MoE, type ExpertLoad } from './t2mir.js';

export class Backbone extends Module {
  readonly pos: Tensor | null;
  readonly blocks: Block[];
  readonly lnF: LayerNorm;
  /** The T2MIR layers (also reachable through blocks[i].ffn), by layer index. */
  readonly moeLayers: { layer: number; moe: T2MoE }[] = [];

  constructor(
    readonly cfg: ModelConfig,
    /** Longest sequence (size of the position table when positions are used, cache size otherwise). */
    readonly maxLen: number,
    readonly usePositions: boolean,
    rng: Rng,
  ) {
    super();
    const d = cfg.dModel;
    if (d % cfg.heads !== 0) throw new IcrlError(`model.dModel ${d} is not divisible by model.heads ${cfg.heads}`, 'CONFIG');
    this.pos = usePositions ? parameter([maxLen, d], init.normal(rng.split('pos'), 0.02)) : null;
    this.blocks = [];
    const moeSet = new Set(cfg.moe?.layers ?? []);
    for (const l of moeSet) if (l >= cfg.layers) throw new IcrlError(`model.moe.layers: layer ${l} does not exist (model.layers is ${cfg.layers}; indices start at 0)`, 'CONFIG');
    for (let i = 0; i < cfg.layers; i++) {
      const r = rng.split(`block${i}`);
      let ffn: T2MoE | undefined;
      if (cfg.moe && moeSet.has(i)) {
        ffn = new T2MoE(d, cfg.moe, r.split('moe'));
        this.moeLayers.push({ layer: i, moe: ffn });
      }
      this.blocks.push(new Block(d, cfg.heads, r, { ffn, hidden: Math.round(cfg.ffnMult * d) }));
    }
    this.lnF = new LayerNorm(d);
  }

  createCache(batch: number, maxLen = this.maxLen): KVCache {
    if (this.pos && maxLen > this.maxLen) throw new IcrlError(`cache of ${maxLen} positions exceeds the ${this.maxLen} learned positions`);
    return new KVCache(batch, maxLen, this.cfg.dModel, this.cfg.layers);
  }

  /** x [B, T, d] -> [B, T, d]; with a cache, x holds the T newest positions and the cache advances. */
  forward(x: Tensor, cache?: KVCache): Tensor {
    const T = x.shape[1];
    const start = cache ? cache.length : 0;
    if (this.pos) {
      if (start + T > this.maxLen) throw new IcrlError(`positions ${start}..${start + T - 1} exceed the model's context of ${this.maxLen} tokens`);
      const rows = new Int32Array(T);
      for (let i = 0; i < T; i++) rows[i] = start + i;
      x = addBias(x, gatherRows(this.pos, rows));
    }
    for (let i = 0; i < this.blocks.length; i++) x = this.blocks[i].forward(x, cache ? { cache, layer: i } : undefined);
    if (cache) cache.length += T;
    return this.lnF.forward(x);
  }

  /** Expert usage of the last forward pass, per MoE layer. */
  expertLoad(): Record<string, ExpertLoad> {
    const out: Record<string, ExpertLoad> = {};
    for (const { layer, moe } of this.moeLayers) out[`layer${layer}`] = moe.expertLoad();
    return out;
  }
}
