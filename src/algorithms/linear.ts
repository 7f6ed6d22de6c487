/**
 * Linear bandits: LinUCB (Li et al. 2010) and linear Thompson sampling (Agrawal and Goyal 2013), batched
 * over instances. Both keep per instance the ridge statistics A = lambda I + sum x x^T (stored as its
 * inverse, updated by Sherman-Morrison) and b = sum r x; the arm features come from the environment
 * (`features`, arms x dim, as the linear-bandit family exposes them).
 */
import type { Agent, StepOutcome } from './agent.js';
import type { ActionArray, ArmFeatures, BatchedEnv } from '../envs/types.js';
import type { Rng } from '../core/rng.js';
import { IcrlError } from '../core/errors.js';

function featuresOf(env: BatchedEnv, who: string): ArmFeatures {
  const f = env.armFeatures;
  if (!f || f.values.length !== env.numActions * f.dim) {
    throw new IcrlError(`${who}: ${env.family} has no arm features (armFeatures of arms x dim, as linear-bandit has)`);
  }
  return f;
}

abstract class LinearAgent implements Agent {
  abstract readonly name: string;
  protected env!: BatchedEnv;
  protected rng!: Rng;
  protected x: Float64Array = new Float64Array(0);
  protected d = 0;
  protected k = 0;
  protected n = 0;
  /** Inverse of A per instance: n x d x d. */
  protected ainv = new Float64Array(0);
  protected b = new Float64Array(0);
  protected theta = new Float64Array(0);
  private readonly tmp: Float64Array[] = [];

  constructor(readonly lambda = 1) {}

  reset(env: BatchedEnv, rng: Rng): void {
    const f = featuresOf(env, this.name);
    this.env = env;
    this.rng = rng;
    this.d = f.dim;
    this.k = env.numActions;
    this.n = env.numEnvs;
    this.x = Float64Array.from(f.values);
    const d = this.d;
    this.ainv = new Float64Array(this.n * d * d);
    for (let i = 0; i < this.n; i++) for (let j = 0; j < d; j++) this.ainv[i * d * d + j * d + j] = 1 / this.lambda;
    this.b = new Float64Array(this.n * d);
    this.theta = new Float64Array(this.n * d);
    this.tmp.length = 0;
    this.tmp.push(new Float64Array(d), new Float64Array(d * d), new Float64Array(d));
  }

  abstract act(obs: Float32Array, out: ActionArray): void;

  observe(o: StepOutcome): void {
    const d = this.d;
    const u = this.tmp[0];
    for (let i = 0; i < this.n; i++) {
      const a = o.actions[i] | 0;
      const r = o.rewards[i];
      const A = i * d * d;
      // u = Ainv x; Ainv -= u u^T / (1 + x^T u)
      let denom = 1;
      for (let p = 0; p < d; p++) {
        let s = 0;
        for (let q = 0; q < d; q++) s += this.ainv[A + p * d + q] * this.x[a * d + q];
        u[p] = s;
        denom += this.x[a * d + p] * s;
      }
      for (let p = 0; p < d; p++) for (let q = 0; q < d; q++) this.ainv[A + p * d + q] -= (u[p] * u[q]) / denom;
      for (let p = 0; p < d; p++) this.b[i * d + p] += r * this.x[a * d + p];
      for (let p = 0; p < d; p++) {
        let s = 0;
        for (let q = 0; q < d; q++) s += this.ainv[A + p * d + q] * this.b[i * d + q];
        this.theta[i * d + p] = s;
      }
    }
  }

  /** x_a^T Ainv_i x_a */
  protected width(i: number, a: number): number {
    const d = this.d;
    const A = i * d * d;
    let s = 0;
    for (let p = 0; p < d; p++) {
      let r = 0;
      for (let q = 0; q < d; q++) r += this.ainv[A + p * d + q] * this.x[a * d + q];
      s += this.x[a * d + p] * r;
    }
    return s;
  }

  /** Cholesky factor L (lower) of Ainv_i scaled by v^2, into this.tmp[1]. */
  protected cholesky(i: number, v2: number): Float64Array {
    const d = this.d;
    const A = i * d * d;
    const L = this.tmp[1];
    L.fill(0);
    for (let p = 0; p < d; p++) {
      for (let q = 0; q <= p; q++) {
        let s = v2 * this.ainv[A + p * d + q];
        for (let r = 0; r < q; r++) s -= L[p * d + r] * L[q * d + r];
        if (p === q) L[p * d + p] = Math.sqrt(Math.max(s, 1e-12));
        else L[p * d + q] = s / L[q * d + q];
      }
    }
    return L;
  }

  protected sampleTheta(i: number, v: number): Float64Array {
    const d = this.d;
    const L = this.cholesky(i, v * v);
    const z = this.tmp[2];
    const out = this.tmp[0];
    for (let p = 0; p < d; p++) z[p] = this.rng.normal();
    for (let p = 0; p < d; p++) {
      let s = this.theta[i * d + p];
      for (let q = 0; q <= p; q++) s += L[p * d + q] * z[q];
      out[p] = s;
    }
    return out;
  }
}

/** LinUCB: pulls argmax x_a . theta_hat + alpha * sqrt(x_a^T A^-1 x_a). */
export class LinUcbAgent extends LinearAgent {
  readonly name = 'linucb';
  constructor(
    readonly alpha = 1,
    lambda = 1,
  ) {
    super(lambda);
  }
  act(_obs: Float32Array, out: ActionArray): void {
    const d = this.d;
    for (let i = 0; i < this.n; i++) {
      let best = 0;
      let bv = -Infinity;
      for (let a = 0; a < this.k; a++) {
        let m = 0;
        for (let p = 0; p < d; p++) m += this.x[a * d + p] * this.theta[i * d + p];
        const v = m + this.alpha * Math.sqrt(Math.max(0, this.width(i, a)));
        if (v > bv) {
          bv = v;
          best = a;
        }
      }
      out[i] = best;
    }
  }
}

/** Linear Thompson sampling: samples theta ~ N(theta_hat, v^2 A^-1) and pulls the best arm under it. */
export class LinThompsonAgent extends LinearAgent {
  readonly name = 'lin-thompson';
  constructor(
    readonly v = 0.3,
    lambda = 1,
  ) {
    super(lambda);
  }
  act(_obs: Float32Array, out: ActionArray): void {
    const d = this.d;
    for (let i = 0; i < this.n; i++) {
      const th = this.sampleTheta(i, this.v);
      let best = 0;
      let bv = -Infinity;
      for (let a = 0; a < this.k; a++) {
        let m = 0;
        for (let p = 0; p < d; p++) m += this.x[a * d + p] * th[p];
        if (m > bv) {
          bv = m;
          best = a;
        }
      }
      out[i] = best;
    }
  }
}
