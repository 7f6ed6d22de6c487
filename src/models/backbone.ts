/**
 * The sequence backbone shared by AD and DPT (`model.backbone`):
 *
 * - `transformer`: pre-norm GPT blocks from the engine (fused causal attention, optionally with a
 *   Sink-KV sink and a sliding window, `model.attention`), decoded with a key/value cache;
 * - `ssm`: the same pre-norm blocks with the attention replaced by a diagonal state-space layer
 *   (S5-style, `model.ssm`), trained with a scan over time and decoded as a recurrence whose
 *   state is O(1) in the context length.
 *
 * Both have optional learned positions (AD's transformer: yes by default; DPT: never, its context is
 * an unordered dataset; the SSM needs none), a final layer norm, and T2MIR mixture-of-experts
 * feed-forward blocks in the layers the config names.
 */
import type { Rng } from '../core/rng.js';
import { IcrlError } from '../core/errors.js';
import { Block, DiagonalSSM, KVCache, LayerNorm, MLP, Module, SSMState, add, addBias, gatherRows, init, parameter, type FeedForward, type Tensor } from '../nn/index.js';
import { backboneOf, type ModelConfig } from './config.js';
import { T2MoE, type ExpertLoad } from './t2mir.js';

/** What a backbone decodes with: a key/value cache (transformer) or a recurrent state (ssm). */
export type BackboneCache = KVCache | SSMState;

/** Pre-norm state-space block: x + ssm(ln1(x)), then x + ffn(ln2(x)). */
export class SSMBlock extends Module {
  readonly ln1: LayerNorm;
  readonly ssm: DiagonalSSM;
  readonly ln2: LayerNorm;
  readonly ffn: FeedForward & Module;
  constructor(dim: number, cfg: NonNullable<ModelConfig['ssm']> | undefined, rng: Rng, ffn: (FeedForward & Module) | undefined, hidden: number) {
    super();
    this.ln1 = new LayerNorm(dim);
    this.ssm = new DiagonalSSM(dim, rng.split('ssm'), { stateSize: cfg?.stateSize, dtMin: cfg?.dtMin, dtMax: cfg?.dtMax });
    this.ln2 = new LayerNorm(dim);
    this.ffn = ffn ?? new MLP(dim, hidden, rng.split('mlp'));
  }
  forward(x: Tensor, state?: { state: SSMState; layer: number }, reset?: Float32Array | null): Tensor {
    const h = add(x, this.ssm.forward(this.ln1.forward(x), state, reset));
    return add(h, this.ffn.forward(this.ln2.forward(h)));
  }
}

export class Backbone extends Module {
  readonly pos: Tensor | null;
  /** transformer blocks (empty for the ssm backbone) */
  readonly blocks: Block[];
  /** state-space blocks (empty for the transformer backbone) */
  readonly ssmBlocks: SSMBlock[];
  readonly lnF: LayerNorm;
  /** The T2MIR layers (also reachable through blocks[i].ffn), by layer index. */
  readonly moeLayers: { layer: number; moe: T2MoE }[] = [];
  readonly kind: 'transformer' | 'ssm';

  constructor(
    readonly cfg: ModelConfig,
    /** Longest sequence (size of the position table when positions are used, cache size otherwise). */
    readonly maxLen: number,
    readonly usePositions: boolean,
    rng: Rng,
  ) {
    super();
    const d = cfg.dModel;
    this.kind = backboneOf(cfg);
    if (d % cfg.heads !== 0) throw new IcrlError(`model.dModel ${d} is not divisible by model.heads ${cfg.heads}`, 'CONFIG');
    this.pos = usePositions ? parameter([maxLen, d], init.normal(rng.split('pos'), 0.02)) : null;
    this.blocks = [];
    this.ssmBlocks = [];
    const moeSet = new Set(cfg.moe?.layers ?? []);
    for (const l of moeSet) if (l >= cfg.layers) throw new IcrlError(`model.moe.layers: layer ${l} does not exist (model.layers is ${cfg.layers}; indices start at 0)`, 'CONFIG');
    const hidden = Math.round(cfg.ffnMult * d);
    for (let i = 0; i < cfg.layers; i++) {
      const r = rng.split(`block${i}`);
      let ffn: T2MoE | undefined;
      if (cfg.moe && moeSet.has(i)) {
        ffn = new T2MoE(d, cfg.moe, r.split('moe'));
        this.moeLayers.push({ layer: i, moe: ffn });
      }
      if (this.kind === 'ssm') this.ssmBlocks.push(new SSMBlock(d, cfg.ssm, r, ffn, hidden));
      else this.blocks.push(new Block(d, cfg.heads, r, { ffn, hidden, attention: { sink: cfg.attention?.sink ?? 'none', window: cfg.attention?.window ?? 0 } }));
    }
    this.lnF = new LayerNorm(d);
  }

  /**
   * Whether the context may grow without limit at inference (a recurrent state, or a sliding-window
   * cache without learned positions); otherwise it is bounded by `maxLen`.
   */
  get unbounded(): boolean {
    return !this.pos && (this.kind === 'ssm' || (this.cfg.attention?.window ?? 0) > 0);
  }

  createCache(batch: number, maxLen = this.maxLen): BackboneCache {
    if (this.kind === 'ssm') return new SSMState(batch, this.ssmBlocks[0].ssm.stateSize, this.cfg.layers);
    if (this.pos && maxLen > this.maxLen) throw new IcrlError(`cache of ${maxLen} positions exceeds the ${this.maxLen} learned positions`);
    return new KVCache(batch, maxLen, this.cfg.dModel, this.cfg.layers, { sinks: this.blocks[0].attn.sinks, window: this.blocks[0].attn.window });
  }

  /**
   * x [B, T, d] -> [B, T, d]; with a cache, x holds the T newest positions and the cache advances.
   * `reset` [B * T] (ssm only): where 1, the state-space layers forget the context before that position.
   */
  forward(x: Tensor, cache?: BackboneCache, reset?: Float32Array | null): Tensor {
    const T = x.shape[1];
    const start = cache ? cache.length : 0;
    if (this.pos) {
      if (start + T > this.maxLen) throw new IcrlError(`positions ${start}..${start + T - 1} exceed the model's context of ${this.maxLen} tokens`);
      const rows = new Int32Array(T);
      for (let i = 0; i < T; i++) rows[i] = start + i;
      x = addBias(x, gatherRows(this.pos, rows));
    }
    if (this.kind === 'ssm') {
      if (cache && !(cache instanceof SSMState)) throw new IcrlError('the ssm backbone decodes with an SSMState (createCache), not a key/value cache');
      for (let i = 0; i < this.ssmBlocks.length; i++) x = this.ssmBlocks[i].forward(x, cache ? { state: cache, layer: i } : undefined, reset);
    } else {
      if (cache && !(cache instanceof KVCache)) throw new IcrlError('the transformer backbone decodes with a KVCache (createCache), not a state-space state');
      if (reset) throw new IcrlError('state resets are an option of the ssm backbone');
      for (let i = 0; i < this.blocks.length; i++) x = this.blocks[i].forward(x, cache ? { cache, layer: i } : undefined);
    }
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
