/**
 * Policy distributions of deep RL: the tanh-squashed Gaussian of SAC (one fused op giving the
 * action and its log-density), the diagonal Gaussian and the categorical of PPO (composed from
 * differentiable ops).
 */
import { IcrlError } from '../core/errors.js';
import { affine, exp, gatherRows, logSoftmax, mul, neg, softmax, square, sub, sum } from './ops.js';
import { empty, gradTarget, record, setNode, shapeStr, Tensor } from './tensor.js';

const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

export interface TanhGaussianOptions {
  /** per action dimension: action = bias + scale * tanh(u) (defaults 1 and 0: actions in [-1, 1]) */
  scale?: ArrayLike<number>;
  bias?: ArrayLike<number>;
  /** added inside the log of the Jacobian, log(scale (1 - tanh(u)^2) + eps), as CleanRL (default 1e-6) */
  eps?: number;
}

/**
 * Reparameterised sample of a tanh-squashed diagonal Gaussian and its log-density (SAC's policy):
 * u = mean + exp(logStd) * noise (noise: standard normal draws, a constant), action = bias +
 * scale * tanh(u), logProb = sum_j [log N(u_j; mean_j, std_j) - log(scale_j (1 - tanh(u_j)^2) + eps)].
 * mean and logStd are [..., A]; returns action [..., A] and logProb [..., 1]; both are
 * differentiable in mean and logStd.
 */
export function tanhGaussian(mean: Tensor, logStd: Tensor, noise: Float32Array | Tensor, opts: TanhGaussianOptions = {}): { action: Tensor; logProb: Tensor } {
  const op = 'tanhGaussian';
  if (mean.ndim < 1 || mean.shape.length !== logStd.shape.length || mean.shape.some((d, i) => d !== logStd.shape[i]))
    throw new IcrlError(`${op}: mean ${shapeStr(mean.shape)} and logStd ${shapeStr(logStd.shape)} must have the same shape`, 'NN_SHAPE');
  const nz = noise instanceof Tensor ? noise.data : noise;
  if (nz.length !== mean.size) throw new IcrlError(`${op}: ${nz.length} noise values for mean ${shapeStr(mean.shape)}`, 'NN_SHAPE');
  const A = mean.shape[mean.ndim - 1];
  const rows = mean.size / Math.max(A, 1);
  const scale = Float64Array.from({ length: A }, (_, j) => (opts.scale ? opts.scale[j] : 1));
  const bias = Float64Array.from({ length: A }, (_, j) => (opts.bias ? opts.bias[j] : 0));
  if (opts.scale && opts.scale.length !== A) throw new IcrlError(`${op}: scale has ${opts.scale.length} values for ${A} action dimensions`, 'NN_SHAPE');
  if (opts.bias && opts.bias.length !== A) throw new IcrlError(`${op}: bias has ${opts.bias.length} values for ${A} action dimensions`, 'NN_SHAPE');
  const eps = opts.eps ?? 1e-6;
  const md = mean.data;
  const sd = logStd.data;
  const action = empty(mean.shape);
  const logProb = empty([...mean.shape.slice(0, -1), 1]);
  const ad = action.data;
  const ld = logProb.data;
  const grad = record(mean, logStd);
  // saved for the backward passes: tanh(u), std * noise, and d(-log Jacobian)/du
  const th = grad ? new Float32Array(mean.size) : null;
  const sn = grad ? new Float32Array(mean.size) : null;
  const cj = grad ? new Float32Array(mean.size) : null;
  for (let r = 0; r < rows; r++) {
    let lp = 0;
    for (let j = 0; j < A; j++) {
      const i = r * A + j;
      const s = Math.exp(sd[i]);
      const e = nz[i];
      const t = Math.tanh(md[i] + s * e);
      const one = 1 - t * t;
      const D = scale[j] * one + eps;
      ad[i] = bias[j] + scale[j] * t;
      lp += -0.5 * e * e - sd[i] - HALF_LOG_2PI - Math.log(D);
      if (th && sn && cj) {
        th[i] = t;
        sn[i] = s * e;
        cj[i] = (2 * scale[j] * t * one) / D;
      }
    }
    ld[r] = lp;
  }
  if (grad && th && sn && cj) {
    /** adds (or writes) one element's gradient term v(i, isStd) into the gradients of mean and logStd */
    const into = (v: (i: number, isStd: boolean) => number): void => {
      for (const [t, isStd] of [
        [mean, false],
        [logStd, true],
      ] as const) {
        if (!t.requiresGrad) continue;
        const [gt, acc] = gradTarget(t);
        for (let i = 0; i < mean.size; i++) gt[i] = acc ? gt[i] + v(i, isStd) : v(i, isStd);
      }
    };
    // action: da/dmean = scale (1 - tanh^2); da/dlogStd = the same times std * noise
    setNode(action, `${op}.action`, [mean, logStd], (g) => into((i, isStd) => g[i] * scale[i % A] * (1 - th[i] * th[i]) * (isStd ? sn[i] : 1)));
    // logProb: dlp/dmean = c; dlp/dlogStd = c std noise - 1, c = d(-log Jacobian)/du
    setNode(logProb, `${op}.logProb`, [mean, logStd], (g) => into((i, isStd) => (isStd ? g[(i / A) | 0] * (cj[i] * sn[i] - 1) : g[(i / A) | 0] * cj[i])));
  }
  return { action, logProb };
}

/**
 * Log-density of x under the diagonal Gaussian N(mean, exp(logStd)^2), summed over the last axis:
 * [..., A] -> [..., 1]. logStd broadcasts against mean (e.g. [N, 1, A], a state-independent log-std
 * per learner). Composed of differentiable ops (gradients in x, mean and logStd).
 */
export function gaussianLogProb(x: Tensor, mean: Tensor, logStd: Tensor): Tensor {
  const z = mul(sub(x, mean), exp(neg(logStd)));
  const terms = sub(affine(square(z), -0.5, -HALF_LOG_2PI), logStd);
  return sum(terms, -1, true);
}

/** Entropy of the diagonal Gaussian with this log-std, summed over the last axis: [..., A] -> [..., 1]. */
export function gaussianEntropy(logStd: Tensor): Tensor {
  return sum(affine(logStd, 1, 0.5 + HALF_LOG_2PI), -1, true);
}

/** Log-probability of integer actions under softmax(logits): logits [..., C], one action per row -> [..., 1]. */
export function categoricalLogProb(logits: Tensor, actions: Int32Array | readonly number[]): Tensor {
  const C = logits.shape[logits.ndim - 1];
  const rows = logits.size / Math.max(C, 1);
  if (actions.length !== rows) throw new IcrlError(`categoricalLogProb: ${actions.length} actions for ${rows} rows of logits ${shapeStr(logits.shape)}`, 'NN_SHAPE');
  const flat = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    const a = actions[r];
    if (!(Number.isInteger(a) && a >= 0 && a < C)) throw new IcrlError(`categoricalLogProb: action ${a} at row ${r} outside [0, ${C})`, 'NN_INDEX');
    flat[r] = r * C + a;
  }
  const lp = logSoftmax(logits);
  return gatherRows(lp.reshape([rows * C, 1]), flat).reshape([...logits.shape.slice(0, -1), 1]);
}

/** Entropy of softmax(logits) per row: [..., C] -> [..., 1]. */
export function categoricalEntropy(logits: Tensor): Tensor {
  return neg(sum(mul(softmax(logits), logSoftmax(logits)), -1, true));
}
