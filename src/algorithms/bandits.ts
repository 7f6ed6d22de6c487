/**
 * Classical bandit algorithms, batched over the instances of a bandit environment (each instance its
 * own task and its own statistics). They read nothing but their own pulls and rewards, except the
 * oracle, which asks the environment for the best arm.
 *
 * Conventions: ties are broken toward the lowest arm index, except where noted; an index policy that
 * needs every arm's statistics pulls each untried arm once first (lowest index first).
 */
import type { Agent, StepOutcome } from './agent.js';
import type { ActionArray, BatchedEnv } from '../envs/types.js';
import type { Rng } from '../core/rng.js';
import { IcrlError } from '../core/errors.js';

/** Shared statistics: pull counts and reward sums per instance and arm. */
export abstract class BanditAgent implements Agent {
  abstract readonly name: string;
  protected env!: BatchedEnv;
  protected rng!: Rng;
  protected n = 0;
  protected k = 0;
  /** Pulls of arm a by instance i: counts[i * k + a]. */
  protected counts = new Float64Array(0);
  protected sums = new Float64Array(0);
  /** Total pulls per instance (all instances pull in lockstep, but kept per instance for clarity). */
  protected t = new Float64Array(0);

  reset(env: BatchedEnv, rng: Rng): void {
    if (env.numActions < 1) throw new IcrlError(`${this.name}: needs discrete actions; ${env.family} has continuous actions`);
    this.env = env;
    this.rng = rng;
    this.n = env.numEnvs;
    this.k = env.numActions;
    this.counts = new Float64Array(this.n * this.k);
    this.sums = new Float64Array(this.n * this.k);
    this.t = new Float64Array(this.n);
    this.onReset();
  }

  protected onReset(): void {}

  abstract act(obs: Float32Array, out: ActionArray): void;

  observe(o: StepOutcome): void {
    const k = this.k;
    for (let i = 0; i < this.n; i++) {
      const j = i * k + (o.actions[i] | 0);
      this.counts[j] += 1;
      this.sums[j] += o.rewards[i];
      this.t[i] += 1;
    }
  }

  /** Lowest-index untried arm of instance i, or -1. */
  protected untried(i: number): number {
    const base = i * this.k;
    for (let a = 0; a < this.k; a++) if (this.counts[base + a] === 0) return a;
    return -1;
  }

  /** Empirical mean of arm a of instance i (0 when untried). */
  mean(i: number, a: number): number {
    const c = this.counts[i * this.k + a];
    return c > 0 ? this.sums[i * this.k + a] / c : 0;
  }
}

/** UCB1-style index: mean + c * sqrt(2 ln t / n_a) (c = 1 is UCB1; DPT's baseline uses c = 1.0). */
export class UcbAgent extends BanditAgent {
  readonly name = 'ucb';
  constructor(readonly c = 1) {
    super();
  }
  act(_obs: Float32Array, out: ActionArray): void {
    const k = this.k;
    for (let i = 0; i < this.n; i++) {
      const u = this.untried(i);
      if (u >= 0) {
        out[i] = u;
        continue;
      }
      const logt = Math.log(this.t[i]);
      let best = 0;
      let bv = -Infinity;
      for (let a = 0; a < k; a++) {
        const c = this.counts[i * k + a];
        const v = this.sums[i * k + a] / c + this.c * Math.sqrt((2 * logt) / c);
        if (v > bv) {
          bv = v;
          best = a;
        }
      }
      out[i] = best;
    }
  }
}

/** Offline pessimism: mean - c * sqrt(1 / n_a) (DPT's offline baseline, c = 0.8); untried arms are never chosen unless all are. */
export class LcbAgent extends BanditAgent {
  readonly name = 'lcb';
  constructor(readonly c = 0.8) {
    super();
  }
  act(_obs: Float32Array, out: ActionArray): void {
    for (let i = 0; i < this.n; i++) out[i] = lcbArm(this.counts, this.sums, i, this.k, this.c, this.rng);
  }
}

/** The LCB choice for instance i from pull counts and reward sums (random arm when nothing was pulled). */
export function lcbArm(counts: ArrayLike<number>, sums: ArrayLike<number>, i: number, k: number, c: number, rng?: Rng): number {
  let best = -1;
  let bv = -Infinity;
  for (let a = 0; a < k; a++) {
    const n = counts[i * k + a];
    if (n === 0) continue;
    const v = sums[i * k + a] / n - c * Math.sqrt(1 / n);
    if (v > bv) {
      bv = v;
      best = a;
    }
  }
  if (best < 0) return rng ? rng.int(k) : 0;
  return best;
}

/** Greedy on the empirical mean after one pull of each arm (DPT's "Emp" baseline). */
export class GreedyAgent extends BanditAgent {
  readonly name: string = 'greedy';
  act(_obs: Float32Array, out: ActionArray): void {
    for (let i = 0; i < this.n; i++) {
      const u = this.untried(i);
      out[i] = u >= 0 ? u : this.argmaxMean(i);
    }
  }
  protected argmaxMean(i: number): number {
    let best = 0;
    let bv = -Infinity;
    for (let a = 0; a < this.k; a++) {
      const m = this.mean(i, a);
      if (m > bv) {
        bv = m;
        best = a;
      }
    }
    return best;
  }
}

/** Epsilon-greedy: a uniformly random arm with probability epsilon, else the greedy arm. */
export class EpsilonGreedyAgent extends GreedyAgent {
  override readonly name = 'epsilon-greedy';
  constructor(readonly epsilon = 0.1) {
    super();
  }
  override act(obs: Float32Array, out: ActionArray): void {
    super.act(obs, out);
    for (let i = 0; i < this.n; i++) if (this.rng.uniform() < this.epsilon) out[i] = this.rng.int(this.k);
  }
}

/**
 * Gaussian Thompson sampling: prior N(priorMean, priorVar) per arm (docs/protocols.md: 0.5 and 1/12, the
 * mean and variance of U[0, 1]), Gaussian likelihood with known noise sd; each step samples every
 * arm's posterior and pulls the best sample.
 */
export class GaussianThompsonAgent extends BanditAgent {
  readonly name = 'thompson';
  constructor(
    readonly priorMean = 0.5,
    readonly priorVar = 1 / 12,
    readonly noiseSd = 0.3,
  ) {
    super();
  }
  act(_obs: Float32Array, out: ActionArray): void {
    const k = this.k;
    const p0 = 1 / this.priorVar;
    // noiseSd 0 (noiseless rewards): use a tiny variance so the posterior collapses on the observed mean
    const nv = Math.max(this.noiseSd * this.noiseSd, 1e-6);
    for (let i = 0; i < this.n; i++) {
      let best = 0;
      let bv = -Infinity;
      for (let a = 0; a < k; a++) {
        const c = this.counts[i * k + a];
        const prec = p0 + c / nv;
        const mu = (this.priorMean * p0 + this.sums[i * k + a] / nv) / prec;
        const v = mu + this.rng.normal() / Math.sqrt(prec);
        if (v > bv) {
          bv = v;
          best = a;
        }
      }
      out[i] = best;
    }
  }
}

/**
 * Beta-Bernoulli Thompson sampling with a Beta(alpha, beta) prior. Rewards in [0, 1] that are not
 * 0/1 count as a Bernoulli trial with that success probability (Agrawal and Goyal's trick), drawn
 * from the agent's own stream; rewards outside [0, 1] are clipped.
 */
export class BetaThompsonAgent extends BanditAgent {
  readonly name = 'thompson-beta';
  private succ = new Float64Array(0);
  private fail = new Float64Array(0);
  constructor(
    readonly alpha = 1,
    readonly beta = 1,
  ) {
    super();
  }
  protected override onReset(): void {
    this.succ = new Float64Array(this.n * this.k);
    this.fail = new Float64Array(this.n * this.k);
  }
  override observe(o: StepOutcome): void {
    super.observe(o);
    for (let i = 0; i < this.n; i++) {
      const j = i * this.k + (o.actions[i] | 0);
      const r = Math.min(1, Math.max(0, o.rewards[i]));
      const s = r === 0 || r === 1 ? r : this.rng.bernoulli(r);
      if (s === 1) this.succ[j] += 1;
      else this.fail[j] += 1;
    }
  }
  act(_obs: Float32Array, out: ActionArray): void {
    const k = this.k;
    for (let i = 0; i < this.n; i++) {
      let best = 0;
      let bv = -Infinity;
      for (let a = 0; a < k; a++) {
        const v = this.rng.beta(this.alpha + this.succ[i * k + a], this.beta + this.fail[i * k + a]);
        if (v > bv) {
          bv = v;
          best = a;
        }
      }
      out[i] = best;
    }
  }
}

/** Uniformly random actions: discrete, or uniform in the action box for continuous actions. */
export class RandomAgent implements Agent {
  readonly name = 'random';
  private env!: BatchedEnv;
  private rng!: Rng;
  private lo: number[] = [];
  private hi: number[] = [];
  reset(env: BatchedEnv, rng: Rng): void {
    this.env = env;
    this.rng = rng;
    if (env.numActions < 1) {
      const sp = env.actionSpace.spec;
      if (sp.kind !== 'box') throw new IcrlError(`random: ${env.family} has neither discrete actions nor a box action space`);
      const { low, high } = sp;
      this.lo = Array.from({ length: env.actDim }, (_, q) => low[low.length === 1 ? 0 : q]);
      this.hi = Array.from({ length: env.actDim }, (_, q) => high[high.length === 1 ? 0 : q]);
    }
  }
  act(_obs: Float32Array, out: ActionArray): void {
    const env = this.env;
    if (env.numActions > 0) {
      for (let i = 0; i < env.numEnvs; i++) out[i] = this.rng.int(env.numActions);
      return;
    }
    const A = env.actDim;
    for (let i = 0; i < env.numEnvs; i++) for (let q = 0; q < A; q++) out[i * A + q] = this.rng.uniformRange(this.lo[q], this.hi[q]);
  }
  observe(_outcome?: StepOutcome): void {}
}

/**
 * The family's scripted expert (`env.expertAction`: reach and push), a reference that knows the task
 * like the oracle but without a claim of optimality; an environment without one is an error naming it.
 */
export class ExpertAgent implements Agent {
  readonly name = 'expert';
  private env!: BatchedEnv;
  private buf = new Float32Array(0);
  reset(env: BatchedEnv): void {
    if (typeof env.expertAction !== 'function') {
      throw new IcrlError(`expert: ${env.family} has no scripted expert (only reach and push have one); use the oracle where the family has one, or a trained policy`);
    }
    this.env = env;
    this.buf = new Float32Array(Math.max(1, env.actDim));
  }
  act(_obs: Float32Array, out: ActionArray): void {
    const env = this.env;
    const d = env.actDim;
    for (let i = 0; i < env.numEnvs; i++) {
      env.expertAction!(i, this.buf);
      for (let q = 0; q < d; q++) out[i * d + q] = this.buf[q];
    }
  }
  observe(_outcome?: StepOutcome): void {}
}

/** The environment's optimal action in the current state (knows the task; a reference, not a learner). */
export class OracleAgent implements Agent {
  readonly name = 'oracle';
  private env!: BatchedEnv;
  private buf = new Float32Array(0);
  reset(env: BatchedEnv): void {
    this.env = env;
    this.buf = new Float32Array(Math.max(1, env.actDim));
  }
  act(_obs: Float32Array, out: ActionArray): void {
    const env = this.env;
    if (env.numActions > 0) {
      for (let i = 0; i < env.numEnvs; i++) out[i] = env.oracleAction(i);
    } else {
      const d = env.actDim;
      for (let i = 0; i < env.numEnvs; i++) {
        env.oracleAction(i, this.buf);
        for (let q = 0; q < d; q++) out[i * d + q] = this.buf[q];
      }
    }
  }
  observe(_outcome?: StepOutcome): void {}
}
