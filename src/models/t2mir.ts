/**
 * T2MIR feed-forward layer: two parallel half-width mixtures of experts whose outputs are
 * concatenated, replacing the MLP of a transformer block.
 *
 * - Token-wise MoE: a softmax router over `tokenExperts` experts per token, top-k, with the
 *   Switch-style load-balancing loss.
 * - Task-wise MoE: a second router over `taskExperts` experts per token, top-k. Its router is also
 *   trained with a contrastive (InfoNCE) loss: the router's mean probability vector over the tokens of
 *   a sample (the "task code" of that sample) must match the task code that a momentum copy of the
 *   router (EMA with rate tau, not trained by gradients) gives for another sample of the same task,
 *   against the other tasks of the batch. Routing stays per token, so it is causal and works with a
 *   key/value cache at inference.
 *
 * Each expert maps d -> d/2 (hidden width expertMult * d/2); the two halves together are d wide.
 */
import type { Rng } from '../core/rng.js';
import { IcrlError } from '../core/errors.js';
import { MoE, Module, type FeedForward, type Tensor, concat, infoNCE, linear, mean, noGrad, slice, softmax, tensor, add, scale } from '../nn/index.js';
import type { MoeConfig } from './config.js';

export interface ExpertLoad {
  /** Fraction of routing slots that went to each token-wise expert in the last forward pass. */
  token: number[];
  /** Same for the task-wise experts. */
  task: number[];
}

export class T2MoE extends Module implements FeedForward {
  readonly tokenMoE: MoE;
  readonly taskMoE: MoE;
  /** Momentum copy of the task router (not a parameter: updated by EMA). */
  readonly momentumWeight: Float32Array;
  readonly momentumBias: Float32Array;
  /** Input of the last forward pass (kept for the contrastive loss). */
  lastInput: Tensor | null = null;

  constructor(
    readonly dim: number,
    readonly cfg: MoeConfig,
    rng: Rng,
  ) {
    super();
    if (dim % 2 !== 0) throw new IcrlError(`T2MIR: dModel ${dim} must be even (two half-width MoEs)`, 'CONFIG');
    if (cfg.tokenTopK > cfg.tokenExperts) throw new IcrlError(`T2MIR: tokenTopK ${cfg.tokenTopK} exceeds tokenExperts ${cfg.tokenExperts}`, 'CONFIG');
    if (cfg.taskTopK > cfg.taskExperts) throw new IcrlError(`T2MIR: taskTopK ${cfg.taskTopK} exceeds taskExperts ${cfg.taskExperts}`, 'CONFIG');
    const half = dim / 2;
    const hidden = Math.max(1, Math.round(cfg.expertMult * half));
    this.tokenMoE = new MoE(dim, cfg.tokenExperts, cfg.tokenTopK, rng.split('token'), { hidden, outDim: half });
    this.taskMoE = new MoE(dim, cfg.taskExperts, cfg.taskTopK, rng.split('task'), { hidden, outDim: half });
    this.momentumWeight = Float32Array.from(this.taskMoE.router.weight.data);
    this.momentumBias = Float32Array.from(this.taskMoE.router.bias!.data);
  }

  forward(x: Tensor): Tensor {
    this.lastInput = x;
    return concat([this.tokenMoE.forward(x), this.taskMoE.forward(x)], -1);
  }

  /** Load-balancing loss of the token-wise MoE of the last forward pass. */
  balanceLoss(): Tensor {
    const o = this.tokenMoE.lastOutput;
    if (!o) throw new IcrlError('T2MoE.balanceLoss before a forward pass');
    return o.balanceLoss;
  }

  /**
   * Contrastive loss of the task router for a batch laid out as pairs: rows [0, P) and [P, 2P) hold
   * two different samples of the same P tasks (row i and row P + i share a task). Symmetric InfoNCE
   * between the online router's task codes and the momentum router's codes of the partner samples.
   */
  contrastiveLoss(batch: number, seqLen: number, temperature: number): Tensor {
    const o = this.taskMoE.lastOutput;
    const x = this.lastInput;
    if (!o || !x) throw new IcrlError('T2MoE.contrastiveLoss before a forward pass');
    if (batch % 2 !== 0 || batch < 4) throw new IcrlError(`T2MIR: the contrastive loss needs an even batch of at least 4 (pairs of samples of the same task), got ${batch}`, 'CONFIG');
    const P = batch / 2;
    const E = this.taskMoE.nExperts;
    const codes = mean(o.probs.reshape([batch, seqLen, E]), 1); // [B, E]
    const keys = this.momentumCodes(x, batch, seqLen); // [B, E], constant
    const qa = slice(codes, 0, 0, P);
    const qb = slice(codes, 0, P, batch);
    const ka = slice(keys, 0, 0, P);
    const kb = slice(keys, 0, P, batch);
    return scale(add(infoNCE(qa, kb, temperature), infoNCE(qb, ka, temperature)), 0.5);
  }

  /** Task codes of the momentum router on `x` (no gradient). */
  momentumCodes(x: Tensor, batch: number, seqLen: number): Tensor {
    return noGrad(() => {
      const E = this.taskMoE.nExperts;
      const w = tensor(this.momentumWeight, [this.dim, E]);
      const b = tensor(this.momentumBias, [E]);
      const p = softmax(linear(x.detach().reshape([batch * seqLen, this.dim]), w, b));
      return mean(p.reshape([batch, seqLen, E]), 1);
    });
  }

  /** EMA update of the momentum router: m <- (1 - tau) m + tau w. */
  updateMomentum(tau: number): void {
    const w = this.taskMoE.router.weight.data;
    const b = this.taskMoE.router.bias!.data;
    const mw = this.momentumWeight;
    const mb = this.momentumBias;
    for (let i = 0; i < mw.length; i++) mw[i] = (1 - tau) * mw[i] + tau * w[i];
    for (let i = 0; i < mb.length; i++) mb[i] = (1 - tau) * mb[i] + tau * b[i];
  }

  /** Expert usage of the last forward pass. */
  expertLoad(): ExpertLoad {
    return { token: usage(this.tokenMoE), task: usage(this.taskMoE) };
  }
}

function usage(m: MoE): number[] {
  const out = new Array<number>(m.nExperts).fill(0);
  const idx = m.lastOutput?.indices;
  if (!idx || idx.length === 0) return out;
  for (let i = 0; i < idx.length; i++) out[idx[i]] += 1;
  return out.map((c) => c / idx.length);
}
