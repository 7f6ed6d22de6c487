/**
 * R-max style model-based tabular RL (Brafman and Tennenholtz, 2002), batched over instances, for
 * families with discrete states (`numStates > 0`, read from `env.stateIndex`).
 *
 * Each instance learns an empirical model: a state-action pair becomes *known* after `knownAfter`
 * visits; its reward is the mean observed reward and its successors the observed next states. Unknown
 * pairs are valued optimistically at `optimism / (1 - gamma)` (as if they paid `optimism` per step
 * forever). The agent acts greedily on the Q-values of value iteration over that model, re-planned
 * whenever the model changes. It therefore explores systematically (toward the nearest unknown pairs)
 * and, once a reward has been found that beats the optimism, goes straight to it in every later
 * episode: on Dark Room it finds the goal within a few episodes and then plays near the oracle, a
 * learning history that improves quickly and with near-deterministic actions (a source for
 * Algorithm Distillation whose progress fits in a short context). `optimism` below the largest
 * reward makes it stop exploring once a good reward is known (classic R-max uses the maximum
 * reward, 1 here, and explores every pair first).
 *
 * Episode ends: the transition of the last step of an episode (terminated or truncated) is not
 * recorded (the observation after it is already the next episode's start); its reward is.
 */
import type { Agent, StepOutcome } from './agent.js';
import type { ActionArray, BatchedEnv } from '../envs/types.js';
import type { Rng } from '../core/rng.js';
import { IcrlError } from '../core/errors.js';

export interface RmaxOptions {
  gamma: number;
  /** Value per step assumed for an unknown state-action pair (the optimism). */
  optimism: number;
  /** Visits after which a pair is known. */
  knownAfter: number;
  /** Value iteration stops when no value changes by more than this. */
  tolerance: number;
}

export const RMAX_DEFAULTS: RmaxOptions = { gamma: 0.95, optimism: 0.5, knownAfter: 1, tolerance: 1e-4 };

export class RmaxAgent implements Agent {
  readonly name = 'rmax';
  readonly opts: RmaxOptions;
  private env!: BatchedEnv;
  private rng!: Rng;
  private S = 0;
  private A = 0;
  /** Visits, reward sums per (instance, state, action). */
  private visits = new Float64Array(0);
  private rewardSum = new Float64Array(0);
  /** Successor counts per (instance, state, action): next state -> count. */
  private succ: Map<number, number>[] = [];
  private q = new Float64Array(0);
  private v = new Float64Array(0);
  private dirty = new Uint8Array(0);
  private prevState = new Int32Array(0);

  constructor(opts: Partial<RmaxOptions> = {}) {
    this.opts = { ...RMAX_DEFAULTS, ...opts };
    if (!(this.opts.gamma >= 0 && this.opts.gamma < 1)) throw new IcrlError(`rmax: gamma must be in [0, 1), got ${this.opts.gamma}`);
  }

  reset(env: BatchedEnv, rng: Rng): void {
    if (env.numStates < 1 || env.numActions < 1) throw new IcrlError(`rmax: needs discrete states and actions; ${env.family} has numStates=${env.numStates}, numActions=${env.numActions}`);
    this.env = env;
    this.rng = rng;
    this.S = env.numStates;
    this.A = env.numActions;
    const n = env.numEnvs;
    const size = n * this.S * this.A;
    this.visits = new Float64Array(size);
    this.rewardSum = new Float64Array(size);
    this.succ = Array.from({ length: size }, () => new Map<number, number>());
    const vmax = this.opts.optimism / (1 - this.opts.gamma);
    this.q = new Float64Array(size).fill(vmax);
    this.v = new Float64Array(n * this.S).fill(vmax);
    this.dirty = new Uint8Array(n);
    this.prevState = new Int32Array(n);
  }

  /** Value iteration over instance i's current model, warm-started from its last values. */
  private plan(i: number): void {
    const { gamma, knownAfter, tolerance } = this.opts;
    const S = this.S;
    const A = this.A;
    const vmax = this.opts.optimism / (1 - gamma);
    const qb = i * S * A;
    const vb = i * S;
    for (let sweep = 0; sweep < 10_000; sweep++) {
      let delta = 0;
      for (let s = 0; s < S; s++) {
        let best = -Infinity;
        for (let a = 0; a < A; a++) {
          const j = qb + s * A + a;
          const nv = this.visits[j];
          let qv: number;
          if (nv < knownAfter) qv = vmax;
          else {
            let next = 0;
            let total = 0;
            for (const [sp, c] of this.succ[j]) {
              next += c * this.v[vb + sp];
              total += c;
            }
            qv = this.rewardSum[j] / nv + (total > 0 ? (gamma * next) / total : 0);
          }
          this.q[j] = qv;
          if (qv > best) best = qv;
        }
        const d = Math.abs(best - this.v[vb + s]);
        if (d > delta) delta = d;
        this.v[vb + s] = best;
      }
      if (delta <= tolerance) break;
    }
    this.dirty[i] = 0;
  }

  act(_obs: Float32Array, out: ActionArray): void {
    const si = this.env.stateIndex;
    const A = this.A;
    for (let i = 0; i < this.env.numEnvs; i++) {
      if (this.dirty[i]) this.plan(i);
      const st = si[i];
      this.prevState[i] = st;
      const base = (i * this.S + st) * A;
      let best = 0;
      let bv = -Infinity;
      let ties = 0;
      for (let a = 0; a < A; a++) {
        const qv = this.q[base + a];
        if (qv > bv + 1e-9) {
          bv = qv;
          best = a;
          ties = 1;
        } else if (qv >= bv - 1e-9) {
          ties++;
          if (this.rng.int(ties) === 0) best = a;
        }
      }
      out[i] = best;
    }
  }

  observe(o: StepOutcome): void {
    const si = this.env.stateIndex;
    const { knownAfter } = this.opts;
    for (let i = 0; i < this.env.numEnvs; i++) {
      const j = (i * this.S + this.prevState[i]) * this.A + (o.actions[i] | 0);
      const before = this.visits[j];
      const r = o.rewards[i];
      const oldMean = before > 0 ? this.rewardSum[j] / before : r;
      this.visits[j] = before + 1;
      this.rewardSum[j] += r;
      let changed = r !== oldMean;
      if (!o.terminated[i] && !o.truncated[i]) {
        const m = this.succ[j];
        const c = m.get(si[i]);
        m.set(si[i], (c ?? 0) + 1);
        // a new successor, or a change of the successor frequencies, changes the model
        changed ||= c === undefined || m.size > 1;
      }
      // re-plan when a pair becomes known, or when a known pair's estimates moved
      if (before + 1 === knownAfter || (before + 1 > knownAfter && changed)) this.dirty[i] = 1;
    }
  }
}
