/** AdamW with parameter groups, gradient clipping, warm-up + cosine learning-rate schedule. */
import { IcrlError } from '../core/errors.js';
import { kernels } from './kernels/index.js';
import { allocStorage } from './memory.js';
import type { Module } from './modules.js';
import { keep, Tensor } from './tensor.js';

export interface ParamGroup {
  params: Tensor[];
  /** decoupled weight decay of this group (AdamW) */
  weightDecay: number;
  /** multiplies the optimizer's learning rate (default 1) */
  lrScale?: number;
}

/**
 * Splits a module's parameters into a decayed group (matrices: weights, embeddings, positions)
 * and an undecayed one (vectors: biases and layer-norm gains/shifts).
 */
export function paramGroups(model: Module, weightDecay: number): ParamGroup[] {
  const decay: Tensor[] = [];
  const noDecay: Tensor[] = [];
  for (const [, p] of model.namedParameters()) (p.ndim >= 2 ? decay : noDecay).push(p);
  return [
    { params: decay, weightDecay },
    { params: noDecay, weightDecay: 0 },
  ];
}

export interface AdamWOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
}

interface Slot {
  p: Tensor;
  m: Tensor;
  v: Tensor;
}

export class AdamW {
  lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  step = 0;
  private readonly slots: Slot[][];

  constructor(
    readonly groups: ParamGroup[],
    opts: AdamWOptions,
  ) {
    this.lr = opts.lr;
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.999;
    this.eps = opts.eps ?? 1e-8;
    const seen = new Set<Tensor>();
    this.slots = groups.map((g) =>
      g.params.map((p) => {
        if (seen.has(p)) throw new IcrlError(`AdamW: parameter ${p.name ?? ''} appears in two groups`, 'CONFIG');
        seen.add(p);
        return { p, m: keep(new Tensor(allocStorage(p.size, true), p.shape)), v: keep(new Tensor(allocStorage(p.size, true), p.shape)) };
      }),
    );
  }

  /** every parameter handled */
  parameters(): Tensor[] {
    return this.slots.flat().map((s) => s.p);
  }

  /** one update with the current gradients (parameters without a gradient are skipped) */
  update(): void {
    this.step++;
    const bc1 = 1 - this.beta1 ** this.step;
    const bc2 = 1 - this.beta2 ** this.step;
    const k = kernels();
    this.groups.forEach((g, gi) => {
      const lr = this.lr * (g.lrScale ?? 1);
      for (const s of this.slots[gi]) {
        if (!s.p.grad) continue;
        k.adamw(s.p.data, s.p.grad.data, s.m.data, s.v.data, s.p.size, lr, this.beta1, this.beta2, this.eps, g.weightDecay, bc1, bc2);
      }
    });
  }

  /** zeroes every gradient */
  zeroGrad(): void {
    for (const p of this.parameters()) if (p.grad) p.grad.data.fill(0);
  }

  /** moment tensors by name (`m.<param>`, `v.<param>`) for checkpoints, plus the step */
  stateTensors(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    this.slots.flat().forEach((s, i) => {
      const n = s.p.name ?? `param${i}`;
      out[`m.${n}`] = s.m;
      out[`v.${n}`] = s.v;
    });
    return out;
  }

  /** restores moments saved by stateTensors (names and shapes must match) */
  loadStateTensors(state: Record<string, { shape: readonly number[]; data: Float32Array }>, step: number): void {
    this.slots.flat().forEach((s, i) => {
      const n = s.p.name ?? `param${i}`;
      for (const [key, dst] of [
        [`m.${n}`, s.m],
        [`v.${n}`, s.v],
      ] as const) {
        const src = state[key];
        if (!src) throw new IcrlError(`optimizer state: tensor "${key}" missing`, 'CORRUPT_FILE');
        if (src.data.length !== dst.size) throw new IcrlError(`optimizer state: tensor "${key}" has shape [${src.shape.join(', ')}], expected [${dst.shape.join(', ')}]`, 'CORRUPT_FILE');
        dst.data.set(src.data);
      }
    });
    this.step = step;
  }
}

/** Scales all gradients so that their global L2 norm is at most maxNorm; returns the norm before clipping. */
export function clipGradNorm(params: Tensor[], maxNorm: number): number {
  let sq = 0;
  for (const p of params) {
    if (!p.grad) continue;
    const g = p.grad.data;
    for (let i = 0; i < g.length; i++) sq += g[i] * g[i];
  }
  const norm = Math.sqrt(sq);
  if (norm > maxNorm && norm > 0) {
    const f = maxNorm / (norm + 1e-6);
    for (const p of params) {
      if (!p.grad) continue;
      const g = p.grad.data;
      for (let i = 0; i < g.length; i++) g[i] *= f;
    }
  }
  return norm;
}

export interface ScheduleOptions {
  /** peak learning rate */
  lr: number;
  /** linear warm-up steps from 0 to lr */
  warmup: number;
  /** total steps; after warm-up the rate follows a half cosine down to minLr at this step */
  total: number;
  minLr?: number;
}

/** Learning rate at `step` (0-based): linear warm-up, then cosine decay to minLr, then flat. */
export function warmupCosine(step: number, o: ScheduleOptions): number {
  const minLr = o.minLr ?? 0;
  if (o.warmup > 0 && step < o.warmup) return (o.lr * (step + 1)) / o.warmup;
  if (step >= o.total) return minLr;
  const span = Math.max(1, o.total - o.warmup);
  const t = (step - o.warmup) / span;
  return minLr + 0.5 * (o.lr - minLr) * (1 + Math.cos(Math.PI * t));
}
