/**
 * Training losses of the in-context models: the prediction loss (cross-entropy for discrete actions,
 * MSE for continuous ones) plus, for T2MIR, the token-MoE load-balancing loss and the task-router
 * contrastive loss.
 */
import { IcrlError } from '../core/errors.js';
import { add, crossEntropy, mse, scale, type Tensor } from '../nn/index.js';
import { ADModel } from '../models/ad.js';
import { DPTModel } from '../models/dpt.js';
import type { InContextModel } from '../models/io.js';
import type { Batch } from './batches.js';

export interface LossParts {
  total: Tensor;
  /** Prediction loss value. */
  pred: number;
  balance?: number;
  contrastive?: number;
  /** Tokens processed (for tokens/s). */
  tokens: number;
}

export function computeLoss(model: InContextModel, batch: Batch, paired: boolean): LossParts {
  let pred: Tensor;
  let tokens: number;
  if (batch.kind === 'dpt') {
    if (!(model instanceof DPTModel)) throw new IcrlError('a DPT batch needs a DPT model');
    const { B, T } = batch;
    const out = model.forwardAll(batch.tokens, B, T, batch.queries);
    const rows = B * (T + 1);
    if (batch.labels instanceof Int32Array) {
      const targets = new Int32Array(rows);
      for (let b = 0; b < B; b++) targets.fill(batch.labels[b], b * (T + 1), (b + 1) * (T + 1));
      pred = crossEntropy(out, targets);
    } else {
      const A = model.outSize;
      const target = new Float32Array(rows * A);
      for (let b = 0; b < B; b++) for (let j = 0; j <= T; j++) target.set(batch.labels.subarray(b * A, (b + 1) * A), (b * (T + 1) + j) * A);
      pred = mse(out, target);
    }
    tokens = B * (T + 1);
  } else {
    if (!(model instanceof ADModel)) throw new IcrlError('an AD batch needs an AD model');
    const { B, T } = batch;
    const out = model.forward(batch.tokens, B, T);
    pred = batch.targets instanceof Int32Array ? crossEntropy(out, batch.targets) : mse(out, batch.targets);
    tokens = B * T;
  }
  const parts: LossParts = { total: pred, pred: pred.item(), tokens };
  const moe = model.cfg.moe;
  if (moe && model.backbone.moeLayers.length > 0) {
    let bal: Tensor | null = null;
    let con: Tensor | null = null;
    const seqLen = batch.kind === 'dpt' ? batch.T + 1 : batch.T;
    for (const { moe: layer } of model.backbone.moeLayers) {
      const b = layer.balanceLoss();
      bal = bal ? add(bal, b) : b;
      if (paired) {
        const c = layer.contrastiveLoss(batch.B, seqLen, moe.temperature);
        con = con ? add(con, c) : c;
      }
    }
    let total = pred;
    if (bal) {
      parts.balance = bal.item();
      if (moe.balanceWeight > 0) total = add(total, scale(bal, moe.balanceWeight));
    }
    if (con) {
      parts.contrastive = con.item();
      if (moe.contrastiveWeight > 0) total = add(total, scale(con, moe.contrastiveWeight));
    }
    parts.total = total;
  }
  return parts;
}
