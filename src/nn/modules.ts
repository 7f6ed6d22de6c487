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
  causalSelfAttention,
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
  sum,
  topk,
} from './ops.js';
import { loadBalancingLoss } from './losses.js';
import { empty, isGradEnabled, keep, shapeStr, Tensor, type Shape } from './tensor.js';

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

export class MLP extends Module implements FeedForward {
  readonly fc: Linear;
  readonly out: Linear;
  constructor(
    dim: number,
    hidden: number,
    rng: Rng,
    readonly activation: 'gelu' | 'relu' = 'gelu',
    outDim = dim,
  ) {
    super();
    this.fc = new Linear(dim, hidden, rng.split('fc'));
    this.out = new Linear(hidden, outDim, rng.split('out'));
  }
  forward(x: Tensor): Tensor {
    const h = this.fc.forward(x);
    return this.out.forward(this.activation === 'gelu' ? gelu(h) : relu(h));
  }
}

/** Key/value cache of one attention layer: [batch, maxLen, d] each. */
export interface LayerCache {
  k: Float32Array;
  v: Float32Array;
}

/**
 * Key/value cache for batched incremental decoding. Every batch row advances together: each
 * forward pass with the cache appends its T new positions after the `length` already cached.
 */
export class KVCache {
  length = 0;
  readonly layers: LayerCache[];
  constructor(
    readonly batch: number,
    readonly maxLen: number,
    readonly dim: number,
    nLayers: number,
  ) {
    this.layers = [];
    for (let i = 0; i < nLayers; i++) {
      const ks = allocStorage(batch * maxLen * dim);
      const vs = allocStorage(batch * maxLen * dim);
      this.storages.push(ks, vs);
      this.layers.push({ k: ks.data, v: vs.data });
    }
  }
  /** the blocks behind `layers` (held so that they live as long as the cache) */
  private readonly storages: Storage[] = [];
  /** forgets everything cached (positions restart at 0) */
  reset(): void {
    this.length = 0;
  }
}

export class CausalSelfAttention extends Module {
  readonly qkv: Linear;
  readonly proj: Linear;
  private readonly rng: Rng;
  constructor(
    readonly dim: number,
    readonly nHeads: number,
    rng: Rng,
    readonly dropoutP = 0,
  ) {
    super();
    if (dim % nHeads !== 0) throw new IcrlError(`CausalSelfAttention: d_model ${dim} is not divisible by ${nHeads} heads`, 'CONFIG');
    this.qkv = new Linear(dim, 3 * dim, rng.split('qkv'));
    this.proj = new Linear(dim, dim, rng.split('proj'));
    this.rng = rng.split('dropout');
  }

  /** x [B, T, d] -> [B, T, d]; with a cache, attends to the cached positions too (inference only). */
  forward(x: Tensor, cache?: { cache: KVCache; layer: number }): Tensor {
    const qkv = this.qkv.forward(x);
    let a: Tensor;
    if (cache) a = this.attendCached(qkv, cache.cache, cache.layer);
    else a = causalSelfAttention(qkv, this.nHeads);
    return dropout(this.proj.forward(a), this.dropoutP, this.rng, this.training);
  }

  private attendCached(qkv: Tensor, cache: KVCache, layer: number): Tensor {
    if (isGradEnabled() && qkv.requiresGrad) throw new IcrlError('decoding with a KV cache is inference only: wrap it in noGrad()', 'NN_GRAD');
    const [B, T] = qkv.shape;
    const d = this.dim;
    if (B !== cache.batch) throw new IcrlError(`KV cache holds ${cache.batch} rows, input has ${B}`, 'NN_SHAPE');
    const start = cache.length;
    if (start + T > cache.maxLen) throw new IcrlError(`KV cache full: ${start} + ${T} positions exceed maxLen ${cache.maxLen}`, 'NN_SHAPE');
    const { k, v } = cache.layers[layer];
    const src = qkv.data;
    for (let b = 0; b < B; b++)
      for (let t = 0; t < T; t++) {
        const so = (b * T + t) * 3 * d;
        const co = (b * cache.maxLen + start + t) * d;
        k.set(src.subarray(so + d, so + 2 * d), co);
        v.set(src.subarray(so + 2 * d, so + 3 * d), co);
      }
    const out = empty([B, T, d]);
    const hd = d / this.nHeads;
    kernels().attentionForward({
      B,
      H: this.nHeads,
      hd,
      Tq: T,
      Tk: start + T,
      qOffset: start,
      scale: 1 / Math.sqrt(hd),
      q: { arr: src, rowStride: 3 * d, batchStride: T * 3 * d },
      k: { arr: k, rowStride: d, batchStride: cache.maxLen * d },
      v: { arr: v, rowStride: d, batchStride: cache.maxLen * d },
      out: { arr: out.data, rowStride: d, batchStride: T * d },
      lse: null,
    });
    return out;
  }
}

export interface BlockOptions {
  /** replaces the MLP (e.g. a mixture of experts) */
  ffn?: FeedForward & Module;
  /** hidden width of the default MLP (4 * d) */
  hidden?: number;
  dropout?: number;
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
    this.attn = new CausalSelfAttention(dim, nHeads, rng.split('attn'), opts.dropout ?? 0);
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

