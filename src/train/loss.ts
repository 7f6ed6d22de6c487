/**
 * Training losses of the in-context models: the prediction loss (cross-entropy for discrete actions,
 * MSE for continuous ones) plus, for T2MIR, the token-MoE load-balancing loss and the task-router
 * contrastive loss.
 */
import { add, scale, type Tensor } from '../nn/index.js';
import { modelKinds } from '../models/kinds.js';
import type { InContextModel } from '../models/types.js';
import type { Batch } from '../models/batches.js';

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
  const { loss: pred, tokens, seqLen } = modelKinds.get(model.kind).predictionLoss(model, batch);
  const parts: LossParts = { total: pred, pred: pred.item(), tokens };
  const moe = model.cfg.moe;
  if (moe && model.backbone.moeLayers.length > 0) {
    let bal: Tensor | null = null;
    let con: Tensor | null = null;
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
