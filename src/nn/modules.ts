/**
 * Modules: parameter containers with a forward pass. Parameters are discovered from the fields
 * of a module (tensors, child modules, arrays of child modules) in declaration order, and named
 * by their path (`blocks.0.attn.qkv.weight`), which is also their name in safetensors files.
 */
import { IcrlError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import { kernels } from './kernels/index.js';
import { allocStorage, type Storage } from './memory.js';
import {
  add,
  addBias,
  attention,
  causalSelfAttention,
  concat,
  div,
  dropout,
  embedding,
  gatherRows,
  gelu,
  layerNorm,
  linear,
  mul,
  relu,
  scatterAddRows,
  softmax,
  split,
  sum,
  topk,
} from './ops.js';
import { loadBalancingLoss } from './losses.js';
import { empty, isGradEnabled, keep, shapeStr, Tensor, zeros, type Shape } from './tensor.js';

/** A trainable parameter: persistent (never disposed by tidy), requires grad. */
export function parameter(shape: Shape, init: (data: Float32Array) => void, name?: string): Tensor {
  const t = keep(new Tensor(allocStorage(shape.reduce((a, b) => a * b, 1)), shape, true));
  t.isParam = true;
  t.name = name;
  init(t.data);
  return t;
}

export const init = {
  zeros: (d: Float32Array) => d.fill(0),
  ones: (d: Float32Array) => d.fill(1),
  normal: (rng: Rng, sd: number) => (d: Float32Array) => {
    for (let i = 0; i < d.length; i++) d[i] = rng.normal(0, sd);
  },
  uniform: (rng: Rng, bound: number) => (d: Float32Array) => {
    for (let i = 0; i < d.length; i++) d[i] = rng.uniformRange(-bound, bound);
  },
};

export abstract class Module {
  training = true;

  /** [path, parameter] pairs in a stable order */
  namedParameters(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [key, v] of Object.entries(this)) {
      const p = prefix ? `${prefix}.${key}` : key;
      if (v instanceof Tensor && v.isParam) out.push([p, v]);
      else if (v instanceof Module) out.push(...v.namedParameters(p));
      else if (Array.isArray(v)) v.forEach((m, i) => m instanceof Module && out.push(...m.namedParameters(`${p}.${i}`)));
    }
    for (const [n, t] of out) t.name ??= n;
    return out;
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  /** number of trainable values */
  parameterCount(): number {
    return this.parameters().reduce((a, t) => a + t.size, 0);
  }

  /** switches training behaviour (dropout) on or off, recursively */
  train(on = true): this {
    this.training = on;
    for (const v of Object.values(this)) {
      if (v instanceof Module) v.train(on);
      else if (Array.isArray(v)) for (const m of v) if (m instanceof Module) m.train(on);
    }
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** sets every parameter's gradient to zero */
  zeroGrad(): void {
    for (const p of this.parameters()) if (p.grad) p.grad.data.fill(0);
  }
}

/** y = x W + b with W [in, out] (PyTorch-style uniform init with bound 1/sqrt(in), or normal(0, std)). */
export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    rng: Rng,
    opts: { bias?: boolean; std?: number } = {},
  ) {
    super();
    const bound = 1 / Math.sqrt(inFeatures);
    this.weight = parameter([inFeatures, outFeatures], opts.std !== undefined ? init.normal(rng, opts.std) : init.uniform(rng, bound));
    this.bias = opts.bias === false ? null : parameter([outFeatures], opts.std !== undefined ? init.zeros : init.uniform(rng, bound));
  }
  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }
}

export class LayerNorm extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;
  constructor(
    readonly dim: number,
    readonly eps = 1e-5,
  ) {
    super();
    this.weight = parameter([dim], init.ones);
    this.bias = parameter([dim], init.zeros);
  }
  forward(x: Tensor): Tensor {
    return layerNorm(x, this.weight, this.bias, this.eps);
  }
}

export class Embedding extends Module {
  readonly weight: Tensor;
  constructor(
    readonly count: number,
    readonly dim: number,
    rng: Rng,
    std = 0.02,
  ) {
    super();
    this.weight = parameter([count, dim], init.normal(rng, std));
  }
  /** rows for `ids`, shaped [...idShape, dim] */
  forward(ids: Int32Array | readonly number[], idShape?: Shape): Tensor {
    return embedding(this.weight, ids, idShape);
  }
}

/** Any feed-forward sub-layer of a block: [..., d] -> [..., d]. */
export interface FeedForward {
  forward(x: Tensor): Tensor;
}

/**
 * A feed-forward network: `fc` (dim -> hidden), the activation, then `hiddenLayers - 1` more hidden
 * layers `mid.<i>` (hidden -> hidden, each followed by the activation), then `out` (hidden -> outDim).
 * With one hidden layer (the default) it has exactly the parameters and random draws it always had.
 */
export class MLP extends Module implements FeedForward {
  readonly fc: Linear;
  readonly mid: Linear[] = [];
  readonly out: Linear;
  constructor(
    dim: number,
    hidden: number,
    rng: Rng,
    readonly activation: 'gelu' | 'relu' = 'gelu',
    outDim = dim,
    hiddenLayers = 1,
  ) {
    super();
    if (!Number.isInteger(hiddenLayers) || hiddenLayers < 1) throw new IcrlError(`MLP: hiddenLayers must be an integer >= 1 (got ${hiddenLayers})`);
    this.fc = new Linear(dim, hidden, rng.split('fc'));
    for (let i = 1; i < hiddenLayers; i++) this.mid.push(new Linear(hidden, hidden, rng.split(`mid${i}`)));
    this.out = new Linear(hidden, outDim, rng.split('out'));
  }
  forward(x: Tensor): Tensor {
    const act = (h: Tensor): Tensor => (this.activation === 'gelu' ? gelu(h) : relu(h));
    let h = act(this.fc.forward(x));
    for (const l of this.mid) h = act(l.forward(h));
    return this.out.forward(h);
  }
}

/** Key/value cache of one attention layer: [batch, slots, d] each. */
export interface LayerCache {
  k: Float32Array;
  v: Float32Array;
}

export interface KVCacheOptions {
  /** leading sink slots (Sink-KV: 1), written by the attention layer when the cache starts */
  sinks?: number;
  /**
   * Sliding window: keep only the `window` newest positions in a ring of that many slots (0: keep
   * every position up to maxLen). A windowed cache has no length limit.
   */
  window?: number;
}

/**
 * Key/value cache for batched incremental decoding. Every batch row advances together: each
 * forward pass with the cache appends its T new positions after the `length` already cached.
 * Slots: the sinks first, then positions (position p in slot sinks + p, or sinks + p mod window
 * with a sliding window).
 */
export class KVCache {
  length = 0;
  readonly layers: LayerCache[];
  readonly sinks: number;
  readonly window: number;
  /** slots per row: sinks + (window or maxLen) */
  readonly slots: number;
  constructor(
    readonly batch: number,
    readonly maxLen: number,
    readonly dim: number,
    nLayers: number,
    opts: KVCacheOptions = {},
  ) {
    this.sinks = opts.sinks ?? 0;
    this.window = opts.window ?? 0;
    this.slots = this.sinks + (this.window > 0 ? this.window : maxLen);
    this.layers = [];
    for (let i = 0; i < nLayers; i++) {
      const ks = allocStorage(batch * this.slots * dim);
      const vs = allocStorage(batch * this.slots * dim);
      this.storages.push(ks, vs);
      this.layers.push({ k: ks.data, v: vs.data });
    }
  }
  /** the blocks behind `layers` (held so that they live as long as the cache) */
  private readonly storages: Storage[] = [];
  /** whether `n` more positions fit (always with a sliding window) */
  fits(n: number): boolean {
    return this.window > 0 || this.length + n <= this.maxLen;
  }
  /** bytes held by the keys and values */
  get bytes(): number {
    return 8 * this.batch * this.slots * this.dim * this.layers.length;
  }
  /** forgets everything cached (positions restart at 0) */
  reset(): void {
    this.length = 0;
  }
}

export type SinkMode = 'none' | 'key' | 'key-value';

export interface AttentionLayerOptions {
  /**
   * Sink-KV (ReLIC, Elawady et al. 2024): a learned key per head prepended to every attention;
   * its value is zero (`key`) or learned too (`key-value`). Default none.
   */
  sink?: SinkMode;
  /** sliding window: each position attends the `window` newest positions (itself included) and the sink; 0 = all */
  window?: number;
}

export class CausalSelfAttention extends Module {
  readonly qkv: Linear;
  readonly proj: Linear;
  /** Sink-KV key [1, d] (all heads side by side), or null */
  readonly sinkKey: Tensor | null;
  /** learned sink value [1, d] (sink 'key-value'), or null (a zero value) */
  readonly sinkValue: Tensor | null;
  readonly window: number;
  private readonly rng: Rng;
  constructor(
    readonly dim: number,
    readonly nHeads: number,
    rng: Rng,
    readonly dropoutP = 0,
    opts: AttentionLayerOptions = {},
  ) {
    super();
    if (dim % nHeads !== 0) throw new IcrlError(`CausalSelfAttention: d_model ${dim} is not divisible by ${nHeads} heads`, 'CONFIG');
    this.qkv = new Linear(dim, 3 * dim, rng.split('qkv'));
    this.proj = new Linear(dim, dim, rng.split('proj'));
    this.rng = rng.split('dropout');
    const sink = opts.sink ?? 'none';
    if (sink !== 'none' && sink !== 'key' && sink !== 'key-value') throw new IcrlError(`CausalSelfAttention: sink must be "none", "key" or "key-value", got "${String(sink)}"`, 'CONFIG');
    this.window = opts.window ?? 0;
    if (!(Number.isInteger(this.window) && this.window >= 0)) throw new IcrlError(`CausalSelfAttention: window must be a non-negative integer, got ${this.window}`, 'CONFIG');
    this.sinkKey = sink === 'none' ? null : parameter([1, dim], init.normal(rng.split('sinkKey'), 1 / Math.sqrt(dim / nHeads)));
    this.sinkValue = sink === 'key-value' ? parameter([1, dim], init.zeros) : null;
  }

  /** number of sink slots a cache of this layer needs */
  get sinks(): number {
    return this.sinkKey ? 1 : 0;
  }

  /** x [B, T, d] -> [B, T, d]; with a cache, attends to the cached positions too (inference only). */
  forward(x: Tensor, cache?: { cache: KVCache; layer: number }): Tensor {
    const qkv = this.qkv.forward(x);
    let a: Tensor;
    if (cache) a = this.attendCached(qkv, cache.cache, cache.layer);
    else if (!this.sinkKey && this.window === 0) a = causalSelfAttention(qkv, this.nHeads);
    else {
      const [B, , d3] = qkv.shape;
      const d = d3 / 3;
      const [q, k, v] = split(qkv, [d, d, d], -1);
      if (this.sinkKey) {
        // the sink is key 0 of every row; query i (key i + 1) sees it and keys 1 .. i + 1
        const rows = new Int32Array(B);
        const sk = embedding(this.sinkKey, rows, [B, 1]);
        const sv = this.sinkValue ? embedding(this.sinkValue, rows, [B, 1]) : zeros([B, 1, d]);
        a = attention(q, concat([sk, k], 1), concat([sv, v], 1), this.nHeads, { qOffset: 1, window: this.window, sinks: 1 });
      } else a = attention(q, k, v, this.nHeads, { window: this.window });
    }
    return dropout(this.proj.forward(a), this.dropoutP, this.rng, this.training);
  }

  private attendCached(qkv: Tensor, cache: KVCache, layer: number): Tensor {
    if (isGradEnabled() && qkv.requiresGrad) throw new IcrlError('decoding with a KV cache is inference only: wrap it in noGrad()', 'NN_GRAD');
    const [B, T] = qkv.shape;
    const d = this.dim;
    if (B !== cache.batch) throw new IcrlError(`KV cache holds ${cache.batch} rows, input has ${B}`, 'NN_SHAPE');
    if (cache.sinks !== this.sinks || cache.window !== this.window) throw new IcrlError(`KV cache has ${cache.sinks} sink slots and window ${cache.window}; the layer needs ${this.sinks} and ${this.window}`, 'NN_SHAPE');
    const start = cache.length;
    if (!cache.fits(T)) throw new IcrlError(`KV cache full: ${start} + ${T} positions exceed maxLen ${cache.maxLen}`, 'NN_SHAPE');
    const { k, v } = cache.layers[layer];
    const S = cache.sinks;
    const slots = cache.slots;
    const W = cache.window;
    if (start === 0 && this.sinkKey) {
      for (let b = 0; b < B; b++) {
        k.set(this.sinkKey.data, b * slots * d);
        if (this.sinkValue) v.set(this.sinkValue.data, b * slots * d);
        else v.fill(0, b * slots * d, (b * slots + 1) * d);
      }
    }
    const src = qkv.data;
    const slotOf = (p: number): number => S + (W > 0 ? p % W : p);
    const write = (t: number): void => {
      for (let b = 0; b < B; b++) {
        const so = (b * T + t) * 3 * d;
        const co = (b * slots + slotOf(start + t)) * d;
        k.set(src.subarray(so + d, so + 2 * d), co);
        v.set(src.subarray(so + 2 * d, so + 3 * d), co);
      }
    };
    const out = empty([B, T, d]);
    const hd = d / this.nHeads;
    const run = (qRow: number, Tq: number, Tk: number, qOffset: number, window: number): void =>
      kernels().attentionForward({
        B,
        H: this.nHeads,
        hd,
        Tq,
        Tk,
        qOffset,
        window,
        sinks: S,
        scale: 1 / Math.sqrt(hd),
        q: { arr: src.subarray(qRow * 3 * d), rowStride: 3 * d, batchStride: T * 3 * d },
        k: { arr: k, rowStride: d, batchStride: slots * d },
        v: { arr: v, rowStride: d, batchStride: slots * d },
        out: { arr: out.data.subarray(qRow * d), rowStride: d, batchStride: T * d },
        lse: null,
      });
    if (W === 0 || start + T <= W) {
      // positions in order in their slots: one call with the causal (and window) mask
      for (let t = 0; t < T; t++) write(t);
      run(0, T, S + start + T, S + start, W);
    } else {
      // the ring is (or becomes) full: position by position, each query over the ring as it is
      // then (every slot holds one of the W newest positions; their order does not matter)
      for (let t = 0; t < T; t++) {
        write(t);
        const n = S + Math.min(start + t + 1, W);
        run(t, 1, n, n - 1, 0);
      }
    }
    return out;
  }
}

export interface BlockOptions {
  /** replaces the MLP (e.g. a mixture of experts) */
  ffn?: FeedForward & Module;
  /** hidden width of the default MLP (4 * d) */
  hidden?: number;
  dropout?: number;
  /** Sink-KV and sliding window of the attention */
  attention?: AttentionLayerOptions;
}

/** Pre-norm transformer block: x + attn(ln1(x)), then x + ffn(ln2(x)). */
export class Block extends Module {
  readonly ln1: LayerNorm;
  readonly attn: CausalSelfAttention;
  readonly ln2: LayerNorm;
  readonly ffn: FeedForward & Module;
  private readonly rng: Rng;
  constructor(
    readonly dim: number,
    nHeads: number,
    rng: Rng,
    readonly opts: BlockOptions = {},
  ) {
    super();
    this.ln1 = new LayerNorm(dim);
    this.attn = new CausalSelfAttention(dim, nHeads, rng.split('attn'), opts.dropout ?? 0, opts.attention);
    this.ln2 = new LayerNorm(dim);
    this.ffn = opts.ffn ?? new MLP(dim, opts.hidden ?? 4 * dim, rng.split('mlp'));
    this.rng = rng.split('dropout');
  }
  forward(x: Tensor, cache?: { cache: KVCache; layer: number }): Tensor {
    const h = add(x, this.attn.forward(this.ln1.forward(x), cache));
    return add(h, dropout(this.ffn.forward(this.ln2.forward(h)), this.opts.dropout ?? 0, this.rng, this.training));
  }
}

export interface TransformerConfig {
  nLayers: number;
  dModel: number;
  nHeads: number;
  /** longest sequence (size of the learned position table) */
  maxLen: number;
  dropout?: number;
  /** hidden width of the MLPs (default 4 * dModel) */
  hidden?: number;
  /** custom feed-forward for some layers (return undefined for the default MLP) */
  ffn?: (layer: number, rng: Rng) => (FeedForward & Module) | undefined;
}

/**
 * A GPT-style stack: learned positions added to the input embeddings, pre-norm blocks, a final
 * layer norm. Input and output are [B, T, dModel].
 */
export class Transformer extends Module {
  readonly pos: Tensor;
  readonly blocks: Block[];
  readonly lnF: LayerNorm;
  constructor(
    readonly config: TransformerConfig,
    rng: Rng,
  ) {
    super();
    const { nLayers, dModel, nHeads, maxLen } = config;
    this.pos = parameter([maxLen, dModel], init.normal(rng.split('pos'), 0.02));
    this.blocks = [];
    for (let i = 0; i < nLayers; i++) {
      const r = rng.split(`block${i}`);
      this.blocks.push(new Block(dModel, nHeads, r, { ffn: config.ffn?.(i, r.split('ffn')), hidden: config.hidden, dropout: config.dropout }));
    }
    this.lnF = new LayerNorm(dModel);
  }

  /** a cache for incremental decoding of `batch` sequences */
  createCache(batch: number, maxLen = this.config.maxLen): KVCache {
    return new KVCache(batch, Math.min(maxLen, this.config.maxLen), this.config.dModel, this.config.nLayers);
  }

  /**
   * h [B, T, d] -> [B, T, d]. With a cache, h holds the T newest positions (after cache.length)
   * and the cache is advanced by T (inference only).
   */
  forward(h: Tensor, cache?: KVCache): Tensor {
    if (h.ndim !== 3 || h.shape[2] !== this.config.dModel) throw new IcrlError(`Transformer: input must be [B, T, ${this.config.dModel}], got ${shapeStr(h.shape)}`, 'NN_SHAPE');
    const T = h.shape[1];
    const start = cache ? cache.length : 0;
    if (start + T > this.config.maxLen) throw new IcrlError(`Transformer: positions ${start}..${start + T - 1} exceed maxLen ${this.config.maxLen}`, 'NN_SHAPE');
    const pos = start === 0 && T === this.config.maxLen ? this.pos : sliceRows(this.pos, start, start + T);
    let x = addBias(h, pos);
    for (let i = 0; i < this.blocks.length; i++) x = this.blocks[i].forward(x, cache ? { cache, layer: i } : undefined);
    if (cache) cache.length += T;
    return this.lnF.forward(x);
  }
}

function sliceRows(t: Tensor, a: number, b: number): Tensor {
  const row = t.shape[1];
  return gatherRows(t, Array.from({ length: b - a }, (_, i) => a + i)).reshape([b - a, row]);
}

export interface GPTConfig extends TransformerConfig {
  /** width of each input vector (a linear embedding, as in the PyTorch reference) */
  inDim: number;
  /** outputs per position */
  nOut: number;
}

/** Linear input embedding + Transformer + linear head: [B, T, inDim] -> [B, T, nOut]. */
export class GPT extends Module {
  readonly embed: Linear;
  readonly transformer: Transformer;
  readonly head: Linear;
  constructor(
    readonly config: GPTConfig,
    rng: Rng,
  ) {
    super();
    this.embed = new Linear(config.inDim, config.dModel, rng.split('embed'));
    this.transformer = new Transformer(config, rng.split('transformer'));
    this.head = new Linear(config.dModel, config.nOut, rng.split('head'));
  }
  forward(x: Tensor, cache?: KVCache): Tensor {
    return this.head.forward(this.transformer.forward(this.embed.forward(x), cache));
  }
  createCache(batch: number): KVCache {
    return this.transformer.createCache(batch);
  }
}

export interface MoEOutput {
  out: Tensor;
  /** router probabilities [N, E] */
  probs: Tensor;
  /** chosen experts, N * k row-major */
  indices: Int32Array;
  /** load-balancing loss (1 when perfectly balanced) */
  balanceLoss: Tensor;
}

/**
 * Token-wise mixture of experts: a softmax router picks the top-k experts of each token; each
 * expert (an MLP) runs only on its tokens (gather), outputs are weighted by the renormalised
 * router probabilities and scattered back.
 */
export class MoE extends Module implements FeedForward {
  readonly router: Linear;
  readonly experts: MLP[];
  lastOutput: MoEOutput | null = null;
  constructor(
    readonly dim: number,
    readonly nExperts: number,
    readonly k: number,
    rng: Rng,
    opts: { hidden?: number; outDim?: number } = {},
  ) {
    super();
    this.router = new Linear(dim, nExperts, rng.split('router'));
    this.experts = [];
    for (let e = 0; e < nExperts; e++) this.experts.push(new MLP(dim, opts.hidden ?? 4 * dim, rng.split(`expert${e}`), 'gelu', opts.outDim ?? dim));
  }

  /** x [..., d] -> [..., outDim]; the routing details of the last call are in `lastOutput`. */
  forward(x: Tensor): Tensor {
    return this.route(x).out;
  }

  route(x: Tensor, routerLogits?: Tensor): MoEOutput {
    const d = x.shape[x.ndim - 1];
    const N = x.size / d;
    const x2 = x.reshape([N, d]);
    const probs = softmax(routerLogits ? routerLogits.reshape([N, this.nExperts]) : this.router.forward(x2));
    const { values, indices } = topk(probs, this.k);
    // renormalise the k gates of each token to sum to 1 (differentiably)
    const gates = div(values, sum(values, 1, true)).reshape([N * this.k, 1]);
    const outDim = this.experts[0].out.outFeatures;
    const parts: Tensor[] = [];
    for (let e = 0; e < this.nExperts; e++) {
      const rows: number[] = [];
      const slots: number[] = [];
      for (let i = 0; i < indices.length; i++)
        if (indices[i] === e) {
          rows.push(Math.floor(i / this.k));
          slots.push(i);
        }
      if (rows.length === 0) continue;
      const ye = this.experts[e].forward(gatherRows(x2, rows));
      parts.push(scatterAddRows(mul(ye, gatherRows(gates, slots)), rows, N));
    }
    let out = parts.length > 0 ? parts[0] : fromValues(new Float32Array(N * outDim), [N, outDim]);
    for (let i = 1; i < parts.length; i++) out = add(out, parts[i]);
    const res: MoEOutput = { out: out.reshape([...x.shape.slice(0, x.ndim - 1), outDim]), probs, indices, balanceLoss: loadBalancingLoss(probs, indices) };
    this.lastOutput = res;
    return res;
  }
}

function fromValues(values: Float32Array, shape: Shape): Tensor {
  const t = empty(shape);
  t.data.set(values);
  return t;
}

