/**
 * Building blocks of batched deep-RL learners: N independent MLPs stored as stacked parameters
 * (every tensor has a leading learner axis), an Adam that updates each learner's slice on its own,
 * per-learner gradient clipping and Polyak averaging. Learner i's numbers never depend on how many
 * learners are trained beside it: every kernel call is made per learner or computes each learner's
 * block exactly as it would alone.
 */
import { IcrlError } from '../core/errors.js';
import type { Rng } from '../core/rng.js';
import * as nn from '../nn/index.js';
import type { Tensor } from '../nn/index.js';

/** One independent MLP per learner: Linear -> ReLU -> ... -> Linear, weights [N, in, out], biases [N, out]. */
export class BatchedMLP {
  readonly weights: Tensor[] = [];
  readonly biases: Tensor[] = [];
  readonly sizes: number[];

  /**
   * `sizes` = [in, hidden..., out]. Each learner's layers are initialised from its own stream, by
   * `init` (default: PyTorch's nn.Linear, uniform in +-1/sqrt(fan_in) for weights and biases).
   */
  constructor(
    readonly n: number,
    sizes: number[],
    rngs: Rng[],
    readonly name: string,
    init: LayerInit = torchDefaultInit,
    readonly activation: 'relu' | 'tanh' = 'relu',
  ) {
    if (rngs.length !== n) throw new IcrlError(`${name}: ${rngs.length} random streams for ${n} learners`, 'CONFIG');
    if (sizes.length < 2 || sizes.some((s) => !Number.isInteger(s) || s < 1)) throw new IcrlError(`${name}: layer sizes must be positive integers, got [${sizes.join(', ')}]`, 'CONFIG');
    this.sizes = [...sizes];
    for (let l = 0; l + 1 < sizes.length; l++) {
      const fi = sizes[l];
      const fo = sizes[l + 1];
      const w = nn.parameter([n, fi, fo], (d) => d.fill(0), `${name}.${l}.weight`);
      const b = nn.parameter([n, fo], (d) => d.fill(0), `${name}.${l}.bias`);
      this.weights.push(w);
      this.biases.push(b);
    }
    // learner by learner, layer by layer: learner i's draws are the same whatever n is
    for (let i = 0; i < n; i++)
      for (let l = 0; l < this.weights.length; l++) {
        const fi = sizes[l];
        const fo = sizes[l + 1];
        init(l, fi, fo, rngs[i], this.weights[l].data.subarray(i * fi * fo, (i + 1) * fi * fo), this.biases[l].data.subarray(i * fo, (i + 1) * fo));
      }
  }

  parameters(): Tensor[] {
    const out: Tensor[] = [];
    for (let l = 0; l < this.weights.length; l++) out.push(this.weights[l], this.biases[l]);
    return out;
  }

  /** x [N, B, in] -> [N, B, out] (the activation, fused into the layer, after every layer but the last) */
  forward(x: Tensor): Tensor {
    let h = x;
    const L = this.weights.length;
    for (let l = 0; l < L; l++) {
      const hidden = l + 1 < L;
      h = nn.batchedLinear(h, this.weights[l], this.biases[l], hidden ? this.activation : 'none');
    }
    return h;
  }

  /** turns gradient recording of the parameters on or off (off: used as a fixed function) */
  setTrainable(on: boolean): void {
    for (const p of this.parameters()) p.requiresGrad = on;
  }

  /** copies every parameter from another network of the same shape */
  copyFrom(src: BatchedMLP): void {
    const a = this.parameters();
    const b = src.parameters();
    for (let k = 0; k < a.length; k++) a[k].data.set(b[k].data);
  }

  /** target <- tau * src + (1 - tau) * target (Polyak averaging) */
  softUpdateFrom(src: BatchedMLP, tau: number): void {
    const a = this.parameters();
    const b = src.parameters();
    const keep = 1 - tau;
    for (let k = 0; k < a.length; k++) {
      const t = a[k].data;
      const s = b[k].data;
      for (let i = 0; i < t.length; i++) t[i] = keep * t[i] + tau * s[i];
    }
  }

  /** learner i's parameters, concatenated (a copy) */
  learnerParams(i: number): Float32Array {
    return concatSlices(this.parameters(), this.n, i);
  }
}

/** initialises one learner's layer (weights [fanIn, fanOut] row-major, bias [fanOut]) from its stream */
export type LayerInit = (layer: number, fanIn: number, fanOut: number, rng: Rng, w: Float32Array, b: Float32Array) => void;

/**
 * Orthogonal weights scaled by a gain, zero biases (CleanRL's PPO `layer_init`: gain sqrt(2) for
 * hidden layers, `headGain` for the last one). The orthonormal columns (or rows, when fanIn <
 * fanOut) come from Gram-Schmidt on a standard normal matrix, i.e. the Q of its QR decomposition
 * with a positive diagonal, as torch.nn.init.orthogonal_.
 */
export function orthogonalInit(layers: number, headGain: number, hiddenGain = Math.SQRT2): LayerInit {
  return (layer, fanIn, fanOut, rng, w, b) => {
    const gain = layer === layers - 1 ? headGain : hiddenGain;
    const tall = fanIn >= fanOut;
    // vectors to orthonormalise: the columns of W (tall) or its rows
    const count = tall ? fanOut : fanIn;
    const len = tall ? fanIn : fanOut;
    const v = new Float64Array(count * len);
    for (let k = 0; k < v.length; k++) v[k] = rng.normal();
    for (let c = 0; c < count; c++) {
      const vc = v.subarray(c * len, (c + 1) * len);
      for (let p = 0; p < c; p++) {
        const vp = v.subarray(p * len, (p + 1) * len);
        let dot = 0;
        for (let k = 0; k < len; k++) dot += vc[k] * vp[k];
        for (let k = 0; k < len; k++) vc[k] -= dot * vp[k];
      }
      let norm = 0;
      for (let k = 0; k < len; k++) norm += vc[k] * vc[k];
      norm = Math.sqrt(norm) || 1;
      for (let k = 0; k < len; k++) vc[k] /= norm;
    }
    for (let c = 0; c < count; c++)
      for (let k = 0; k < len; k++) {
        const val = gain * v[c * len + k];
        // tall: vector c is column c (W[k, c]); wide: vector c is row c (W[c, k])
        if (tall) w[k * fanOut + c] = val;
        else w[c * fanOut + k] = val;
      }
    b.fill(0);
  };
}

/** PyTorch's nn.Linear initialisation: weights and biases uniform in +-1/sqrt(fan_in). */
export function torchDefaultInit(_layer: number, fanIn: number, _fanOut: number, rng: Rng, w: Float32Array, b: Float32Array): void {
  const bound = 1 / Math.sqrt(fanIn);
  for (let k = 0; k < w.length; k++) w[k] = rng.uniformRange(-bound, bound);
  for (let k = 0; k < b.length; k++) b[k] = rng.uniformRange(-bound, bound);
}

/** leaves the parameters at zero, drawing nothing (networks that are copied into right away) */
export function noInit(): void {}

/** learner i's slice of each stacked tensor, concatenated */
export function concatSlices(ts: Tensor[], n: number, i: number): Float32Array {
  const total = ts.reduce((a, t) => a + t.size / n, 0);
  const out = new Float32Array(total);
  let o = 0;
  for (const t of ts) {
    const per = t.size / n;
    out.set(t.data.subarray(i * per, (i + 1) * per), o);
    o += per;
  }
  return out;
}

/**
 * Adam (no weight decay; PyTorch's defaults beta 0.9 / 0.999, eps 1e-8) over stacked parameters,
 * applied learner by learner so that the SIMD kernel's tail handling never mixes two learners.
 */
export class BatchedAdam {
  step = 0;
  readonly m: Tensor[];
  readonly v: Tensor[];
  constructor(
    readonly params: Tensor[],
    readonly n: number,
    public lr: number,
    readonly beta1 = 0.9,
    readonly beta2 = 0.999,
    readonly eps = 1e-8,
  ) {
    this.m = params.map((p) => nn.keep(nn.zeros(p.shape)));
    this.v = params.map((p) => nn.keep(nn.zeros(p.shape)));
  }

  zeroGrad(): void {
    for (const p of this.params) if (p.grad) p.grad.data.fill(0);
  }

  /** one update of every learner with the current gradients (a parameter without one is skipped) */
  update(): void {
    this.step++;
    const bc1 = 1 - this.beta1 ** this.step;
    const bc2 = 1 - this.beta2 ** this.step;
    const k = nn.kernels();
    for (let j = 0; j < this.params.length; j++) {
      const p = this.params[j];
      if (!p.grad) continue;
      const per = p.size / this.n;
      const pd = p.data;
      const gd = p.grad.data;
      const md = this.m[j].data;
      const vd = this.v[j].data;
      for (let i = 0; i < this.n; i++) {
        const s = i * per;
        const e = s + per;
        k.adamw(pd.subarray(s, e), gd.subarray(s, e), md.subarray(s, e), vd.subarray(s, e), per, this.lr, this.beta1, this.beta2, this.eps, 0, bc1, bc2);
      }
    }
  }

  /** moments as named tensors (checkpoints) */
  stateTensors(prefix: string): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    this.params.forEach((p, j) => {
      out[`${prefix}.m.${p.name ?? j}`] = this.m[j];
      out[`${prefix}.v.${p.name ?? j}`] = this.v[j];
    });
    return out;
  }
}

/**
 * Scales each learner's gradients (over all of `params`) so that their L2 norm is at most maxNorm
 * (PyTorch's clip_grad_norm_ per learner). Returns the norms before clipping.
 */
export function clipGradNormPerLearner(params: Tensor[], n: number, maxNorm: number): Float64Array {
  const norms = new Float64Array(n);
  for (const p of params) {
    if (!p.grad) continue;
    const g = p.grad.data;
    const per = p.size / n;
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let k = i * per; k < (i + 1) * per; k++) s += g[k] * g[k];
      norms[i] += s;
    }
  }
  for (let i = 0; i < n; i++) {
    const norm = Math.sqrt(norms[i]);
    norms[i] = norm;
    if (norm <= maxNorm) continue;
    const f = maxNorm / (norm + 1e-6);
    for (const p of params) {
      if (!p.grad) continue;
      const g = p.grad.data;
      const per = p.size / n;
      for (let k = i * per; k < (i + 1) * per; k++) g[k] *= f;
    }
  }
  return norms;
}
