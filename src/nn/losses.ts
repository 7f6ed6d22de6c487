/** Losses: masked softmax cross-entropy, MSE, MoE load balancing, contrastive InfoNCE. */
import { IcrlError } from '../core/errors.js';
import { l2Normalize, matmul, mean, mul, scale, sum } from './ops.js';
import { empty, gradTarget, record, setNode, shapeStr, tensor, Tensor } from './tensor.js';

/**
 * Mean softmax cross-entropy of logits [..., C] against integer targets (one per row).
 * Rows whose target is negative, or whose `weights` entry is 0, are left out; the mean is over
 * the total weight of the rows kept (0 when none are).
 */
export function crossEntropy(logits: Tensor, targets: Int32Array | readonly number[], weights?: Float32Array | readonly number[]): Tensor {
  const C = logits.shape[logits.ndim - 1];
  const rows = logits.size / C;
  if (targets.length !== rows) throw new IcrlError(`crossEntropy: ${targets.length} targets for ${rows} rows of logits ${shapeStr(logits.shape)}`, 'NN_SHAPE');
  if (weights && weights.length !== rows) throw new IcrlError(`crossEntropy: ${weights.length} weights for ${rows} rows`, 'NN_SHAPE');
  const x = logits.data;
  const probs = new Float32Array(logits.size);
  let total = 0;
  let wsum = 0;
  for (let r = 0; r < rows; r++) {
    const t = targets[r];
    const w = t < 0 ? 0 : weights ? weights[r] : 1;
    if (w === 0) continue;
    if (t >= C) throw new IcrlError(`crossEntropy: target ${t} at row ${r} outside [0, ${C})`, 'NN_INDEX');
    const o = r * C;
    let m = -Infinity;
    for (let j = 0; j < C; j++) if (x[o + j] > m) m = x[o + j];
    let s = 0;
    for (let j = 0; j < C; j++) {
      const e = Math.exp(x[o + j] - m);
      probs[o + j] = e;
      s += e;
    }
    for (let j = 0; j < C; j++) probs[o + j] /= s;
    total += w * (m + Math.log(s) - x[o + t]);
    wsum += w;
  }
  const y = empty([]);
  y.data[0] = wsum > 0 ? total / wsum : 0;
  if (record(logits))
    setNode(y, 'crossEntropy', [logits], (g) => {
      const [gx, acc] = gradTarget(logits);
      if (!acc) gx.fill(0);
      if (wsum === 0) return;
      const f = g[0] / wsum;
      for (let r = 0; r < rows; r++) {
        const t = targets[r];
        const w = t < 0 ? 0 : weights ? weights[r] : 1;
        if (w === 0) continue;
        const o = r * C;
        for (let j = 0; j < C; j++) gx[o + j] += f * w * (probs[o + j] - (j === t ? 1 : 0));
      }
    });
  return y;
}

/** Mean squared error; with `weights` (one per element) a weighted mean over the nonzero weights. */
export function mse(pred: Tensor, target: Tensor | Float32Array, weights?: Float32Array): Tensor {
  const t = target instanceof Tensor ? target.data : target;
  if (t.length !== pred.size) throw new IcrlError(`mse: target has ${t.length} values, prediction ${shapeStr(pred.shape)}`, 'NN_SHAPE');
  if (weights && weights.length !== pred.size) throw new IcrlError(`mse: ${weights.length} weights for ${pred.size} values`, 'NN_SHAPE');
  const p = pred.data;
  let total = 0;
  let wsum = 0;
  for (let i = 0; i < p.length; i++) {
    const w = weights ? weights[i] : 1;
    const d = p[i] - t[i];
    total += w * d * d;
    wsum += w;
  }
  const y = empty([]);
  y.data[0] = wsum > 0 ? total / wsum : 0;
  const targetT = target instanceof Tensor ? target : null;
  if (record(pred, targetT))
    setNode(y, 'mse', targetT ? [pred, targetT] : [pred], (g) => {
      if (wsum === 0) return;
      const f = (2 * g[0]) / wsum;
      if (pred.requiresGrad) {
        const [gp, acc] = gradTarget(pred);
        for (let i = 0; i < p.length; i++) {
          const v = f * (weights ? weights[i] : 1) * (p[i] - t[i]);
          if (acc) gp[i] += v;
          else gp[i] = v;
        }
      }
      if (targetT && targetT.requiresGrad) {
        const [gt, acc] = gradTarget(targetT);
        for (let i = 0; i < p.length; i++) {
          const v = -f * (weights ? weights[i] : 1) * (p[i] - t[i]);
          if (acc) gt[i] += v;
          else gt[i] = v;
        }
      }
    });
  return y;
}

/**
 * Switch-Transformer load-balancing loss: E * sum_e f_e * P_e, where f_e is the fraction of
 * routing slots assigned to expert e (from `indices`, not differentiable) and P_e the mean router
 * probability of e over tokens (`probs` [N, E], differentiable). Equals 1 when balanced.
 */
export function loadBalancingLoss(probs: Tensor, indices: Int32Array): Tensor {
  if (probs.ndim !== 2) throw new IcrlError(`loadBalancingLoss: probs must be [N, E], got ${shapeStr(probs.shape)}`, 'NN_SHAPE');
  const [N, E] = probs.shape;
  const f = new Float32Array(E);
  for (let i = 0; i < indices.length; i++) f[indices[i]] += 1 / Math.max(indices.length, 1);
  const P = mean(probs, 0);
  return scale(sum(mul(P, tensor(f, [E]))), E * (N > 0 ? 1 : 0));
}

/**
 * InfoNCE: row i of `a` [N, d] should match row i of `b` [N, d] against the other rows of b.
 * Rows are L2-normalised; logits are cosine similarities / temperature; mean cross-entropy with
 * the diagonal as targets.
 */
export function infoNCE(a: Tensor, b: Tensor, temperature = 0.1): Tensor {
  if (a.ndim !== 2 || a.shape[0] !== b.shape[0] || a.shape[1] !== b.shape[1]) throw new IcrlError(`infoNCE: a ${shapeStr(a.shape)} and b ${shapeStr(b.shape)} must both be [N, d]`, 'NN_SHAPE');
  const N = a.shape[0];
  const logits = scale(matmul(l2Normalize(a), l2Normalize(b), { transB: true }), 1 / temperature);
  const targets = new Int32Array(N);
  for (let i = 0; i < N; i++) targets[i] = i;
  return crossEntropy(logits, targets);
}
