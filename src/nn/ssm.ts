/**
 * A diagonal state-space layer in the style of S5 (Smith et al. 2023, "Simplified State Space
 * Layers for Sequence Modeling"), with a real diagonal state matrix, as used for in-context RL by
 * Lu et al. (2023, "Structured State Space Models for In-Context Reinforcement Learning").
 *
 * Continuous time: h'(t) = Λ h(t) + B u(t), y = C h + D u, Λ = diag(-λ_p), λ_p > 0. Discretised
 * with a learned step Δ_p per state channel by zero-order hold: a_p = exp(-λ_p Δ_p) and
 * B̄ = (1 - a_p) / λ_p B, so that h_t = a h_{t-1} + B̄ u_t, one `ssmScan` over time in training
 * (all positions at once) and an O(1)-state recurrence at inference (`SSMState`). The output is
 * GELU(C h_t + D ⊙ u_t). λ and Δ are stored as logarithms (positive by construction); Δ is
 * initialised log-uniformly in [dtMin, dtMax] (S5's range), λ at 0.5 (the real part of S5's
 * HiPPO-N initialisation), so the initial memories span about 1/(0.5 dtMax) to 1/(0.5 dtMin) steps.
 */
import { IcrlError } from '../core/errors.js';
import type { Rng } from '../core/rng.js';
import { allocStorage, type Storage } from './memory.js';
import { Linear, Module, init, parameter } from './modules.js';
import { add, affine, div, exp, gelu, mul, neg, ssmScan } from './ops.js';
import { isGradEnabled, shapeStr, type Tensor } from './tensor.js';

export interface DiagonalSSMOptions {
  /** state channels P (default: the model width) */
  stateSize?: number;
  /** range of the initial discretisation steps (log-uniform) */
  dtMin?: number;
  dtMax?: number;
}

/**
 * Recurrent state of every state-space layer for batched decoding: [batch, P] per layer, the
 * whole memory of the context whatever its length (O(1) per step).
 */
export class SSMState {
  /** positions consumed so far */
  length = 0;
  readonly layers: Float32Array[] = [];
  private readonly storages: Storage[] = [];
  constructor(
    readonly batch: number,
    readonly stateSize: number,
    nLayers: number,
  ) {
    for (let i = 0; i < nLayers; i++) {
      const s = allocStorage(batch * stateSize, true);
      this.storages.push(s);
      this.layers.push(s.data);
    }
  }
  /** bytes held by the state */
  get bytes(): number {
    return 4 * this.batch * this.stateSize * this.layers.length;
  }
  /** forgets the context (state back to zero) */
  reset(): void {
    this.length = 0;
    for (const l of this.layers) l.fill(0);
  }
}

export class DiagonalSSM extends Module {
  readonly inProj: Linear;
  readonly outProj: Linear;
  /** log λ [P] (Λ = -λ) */
  readonly logLambda: Tensor;
  /** log Δ [P] */
  readonly logDt: Tensor;
  /** skip D [d] */
  readonly skip: Tensor;
  readonly stateSize: number;
  constructor(
    readonly dim: number,
    rng: Rng,
    opts: DiagonalSSMOptions = {},
  ) {
    super();
    const P = opts.stateSize ?? dim;
    const dtMin = opts.dtMin ?? 1e-3;
    const dtMax = opts.dtMax ?? 1e-1;
    if (!(dtMin > 0 && dtMax >= dtMin)) throw new IcrlError(`DiagonalSSM: need 0 < dtMin <= dtMax, got ${dtMin} and ${dtMax}`, 'CONFIG');
    this.stateSize = P;
    this.inProj = new Linear(dim, P, rng.split('in'), { bias: false, std: 1 / Math.sqrt(dim) });
    this.outProj = new Linear(P, dim, rng.split('out'));
    this.logLambda = parameter([P], (d) => d.fill(Math.log(0.5)));
    const r = rng.split('dt');
    this.logDt = parameter([P], (d) => {
      for (let i = 0; i < d.length; i++) d[i] = Math.log(dtMin) + r.uniform() * (Math.log(dtMax) - Math.log(dtMin));
    });
    this.skip = parameter([dim], init.normal(rng.split('skip'), 1));
  }

  /** The discretised decays a [P] and input scales B̄ / B = (1 - a) / λ [P]. */
  discretise(): { a: Tensor; bScale: Tensor } {
    const lam = exp(this.logLambda);
    const a = exp(neg(mul(lam, exp(this.logDt))));
    return { a, bScale: div(affine(a, -1, 1), lam) };
  }

  /**
   * x [B, T, d] -> [B, T, d]. With a state, the T positions continue the context it holds and the
   * state advances (inference only). `reset` [B * T] of 0 / 1 clears the state before a position.
   */
  forward(x: Tensor, state?: { state: SSMState; layer: number }, reset?: Float32Array | null): Tensor {
    if (x.ndim !== 3 || x.shape[2] !== this.dim) throw new IcrlError(`DiagonalSSM: input must be [B, T, ${this.dim}], got ${shapeStr(x.shape)}`, 'NN_SHAPE');
    const [B, T] = x.shape;
    const P = this.stateSize;
    const { a, bScale } = this.discretise();
    const u = mul(this.inProj.forward(x), bScale);
    let h: Tensor;
    if (state) {
      if (isGradEnabled()) throw new IcrlError('decoding with a state-space state is inference only: wrap it in noGrad()', 'NN_GRAD');
      const s = state.state;
      if (B !== s.batch || P !== s.stateSize) throw new IcrlError(`SSM state holds ${s.batch} rows of ${s.stateSize} channels, input has ${B} rows and the layer ${P} channels`, 'NN_SHAPE');
      const h0 = s.layers[state.layer];
      h = ssmScan(a, u, { reset, h0: s.length > 0 ? h0 : null });
      const hd = h.data;
      for (let b = 0; b < B; b++) h0.set(hd.subarray((b * T + T - 1) * P, (b * T + T) * P), b * P);
    } else h = ssmScan(a, u, { reset });
    return gelu(add(this.outProj.forward(h), mul(x, this.skip)));
  }
}
