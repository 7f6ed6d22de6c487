/**
 * Tabular Q-learning with epsilon-greedy exploration, batched over instances (each its own Q table),
 * for families with discrete states (`numStates > 0`, read from `env.stateIndex`). Run over many
 * episodes it produces the improving learning histories Algorithm Distillation is trained on.
 *
 * Episode ends: an episode that ends (terminated or truncated) is not bootstrapped past its last step.
 * Dark Room episodes end only by time limit and its observation carries no time, so this is a small
 * bias that keeps the learner independent of how a family encodes its final observation.
 *
 * `NoisyAgent` wraps any discrete agent and replaces its action by a uniformly random one with
 * probability epsilon (fixed, or drawn per instance from a range): the suboptimal histories of
 * learning-history filtering studies. The wrapped learner observes the action actually taken.
 */
import type { Agent, StepOutcome } from './agent.js';
import type { ActionArray, BatchedEnv } from '../envs/types.js';
import type { Rng } from '../core/rng.js';
import { IcrlError } from '../core/errors.js';

export interface QLearningOptions {
  /** Learning rate. */
  alpha: number;
  gamma: number;
  /** Exploration rate at the start, decayed linearly to `epsilonEnd` over `epsilonDecaySteps` steps. */
  epsilon: number;
  epsilonEnd: number;
  epsilonDecaySteps: number;
  /** Initial Q value (optimistic initialisation when > 0). */
  initQ: number;
}

export const Q_LEARNING_DEFAULTS: QLearningOptions = {
  alpha: 0.3,
  gamma: 0.9,
  epsilon: 0.3,
  epsilonEnd: 0.01,
  epsilonDecaySteps: 10_000,
  initQ: 0,
};

export class QLearningAgent implements Agent {
  readonly name = 'q-learning';
  readonly opts: QLearningOptions;
  private env!: BatchedEnv;
  private rng!: Rng;
  private q = new Float64Array(0);
  private s = 0;
  private a = 0;
  private prevState = new Int32Array(0);
  private steps = 0;

  constructor(opts: Partial<QLearningOptions> = {}) {
    this.opts = { ...Q_LEARNING_DEFAULTS, ...opts };
  }

  reset(env: BatchedEnv, rng: Rng): void {
    if (env.numStates < 1 || env.numActions < 1) throw new IcrlError(`q-learning: needs discrete states and actions; ${env.family} has numStates=${env.numStates}, numActions=${env.numActions}`);
    this.env = env;
    this.rng = rng;
    this.s = env.numStates;
    this.a = env.numActions;
    this.q = new Float64Array(env.numEnvs * this.s * this.a).fill(this.opts.initQ);
    this.prevState = new Int32Array(env.numEnvs);
    this.steps = 0;
  }

  /** Current exploration rate. */
  get epsilon(): number {
    const o = this.opts;
    const f = o.epsilonDecaySteps > 0 ? Math.min(1, this.steps / o.epsilonDecaySteps) : 1;
    return o.epsilon + (o.epsilonEnd - o.epsilon) * f;
  }

  /** Greedy action of instance i in state st (random tie-break). */
  greedy(i: number, st: number): number {
    const base = (i * this.s + st) * this.a;
    let best = 0;
    let bv = -Infinity;
    let ties = 0;
    for (let a = 0; a < this.a; a++) {
      const v = this.q[base + a];
      if (v > bv) {
        bv = v;
        best = a;
        ties = 1;
      } else if (v === bv) {
        ties++;
        if (this.rng.int(ties) === 0) best = a;
      }
    }
    return best;
  }

  act(_obs: Float32Array, out: ActionArray): void {
    const eps = this.epsilon;
    const si = this.env.stateIndex;
    for (let i = 0; i < this.env.numEnvs; i++) {
      const st = si[i];
      this.prevState[i] = st;
      out[i] = this.rng.uniform() < eps ? this.rng.int(this.a) : this.greedy(i, st);
    }
  }

  observe(o: StepOutcome): void {
    const { alpha, gamma } = this.opts;
    const S = this.s;
    const A = this.a;
    const si = this.env.stateIndex;
    for (let i = 0; i < this.env.numEnvs; i++) {
      const s0 = this.prevState[i];
      const a = o.actions[i] | 0;
      let target = o.rewards[i];
      if (!o.terminated[i] && !o.truncated[i]) {
        const base = (i * S + si[i]) * A;
        let m = -Infinity;
        for (let b = 0; b < A; b++) m = Math.max(m, this.q[base + b]);
        target += gamma * m;
      }
      const j = (i * S + s0) * A + a;
      this.q[j] += alpha * (target - this.q[j]);
    }
    this.steps++;
  }
}

/**
 * Replaces the wrapped agent's discrete action by a uniform one with probability epsilon per step.
 * With `decay`, epsilon falls linearly from its start value to `decay.epsilonEnd` over the first
 * `decay.steps` steps after a reset and stays there: the noise schedule of noise distillation
 * (AD-epsilon, Zisman et al. 2024), which turns a demonstrator into improving learning histories.
 */
export class NoisyAgent implements Agent {
  readonly name: string;
  private env!: BatchedEnv;
  private rng!: Rng;
  private steps = 0;
  /** Noise level of each instance at the start (drawn once per reset when a range is given). */
  epsilons = new Float64Array(0);

  constructor(
    readonly base: Agent,
    readonly epsilon: number | [number, number],
    readonly decay?: { epsilonEnd: number; steps: number },
  ) {
    this.name = `noisy-${base.name}`;
  }

  reset(env: BatchedEnv, rng: Rng): void | Promise<void> {
    if (env.numActions < 1) throw new IcrlError(`noisy: needs discrete actions; ${env.family} has continuous actions`);
    this.env = env;
    this.rng = rng.split('noise');
    this.steps = 0;
    this.epsilons = new Float64Array(env.numEnvs);
    const e = this.epsilon;
    for (let i = 0; i < env.numEnvs; i++) this.epsilons[i] = typeof e === 'number' ? e : this.rng.uniformRange(e[0], e[1]);
    return this.base.reset(env, rng.split('base'));
  }

  /** Epsilon of instance i at the current step. */
  epsilonAt(i: number): number {
    const e0 = this.epsilons[i];
    if (!this.decay) return e0;
    const f = this.decay.steps > 0 ? Math.min(1, this.steps / this.decay.steps) : 1;
    return e0 + (this.decay.epsilonEnd - e0) * f;
  }

  act(obs: Float32Array, out: ActionArray): void | Promise<void> {
    const r = this.base.act(obs, out);
    if (r instanceof Promise) return r.then(() => this.perturb(out));
    this.perturb(out);
  }

  private perturb(out: ActionArray): void {
    for (let i = 0; i < this.env.numEnvs; i++) if (this.rng.uniform() < this.epsilonAt(i)) out[i] = this.rng.int(this.env.numActions);
    this.steps++;
  }

  observe(o: StepOutcome): void {
    this.base.observe(o);
  }
}
