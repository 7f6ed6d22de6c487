/**
 * Proximal Policy Optimization (Schulman et al. 2017) with generalized advantage estimation
 * (Schulman et al. 2016), following CleanRL's `ppo.py` (discrete, categorical policy) and
 * `ppo_continuous_action.py` (Gaussian policy with a state-independent log-std), for N independent
 * learners trained in one program: one environment instance per learner, stacked networks with a
 * leading learner axis, per-learner rollouts, advantage normalisation, gradient clipping, Adam
 * state and random streams.
 *
 * Each learner collects `numSteps` steps, then `updateEpochs` passes over its rollout in
 * `numMinibatches` shuffled minibatches: clipped surrogate objective, (optionally clipped) value
 * loss, entropy bonus, gradients clipped to `maxGradNorm` per learner, Adam (eps 1e-5), learning
 * rate annealed linearly to 0 over `totalSteps` when given. Differences from CleanRL: one
 * environment per learner; no observation / reward normalisation wrappers (continuous); no
 * `target_kl` early stop (it would stop learners at different epochs; CleanRL's default is off);
 * continuous actions are clipped to the box when played (CleanRL's ClipAction wrapper), the
 * unclipped sample is what the policy is trained on.
 */
import { z } from 'zod';
import { IcrlError } from '../core/errors.js';
import { BoxSpace } from '../core/spaces.js';
import type { Rng, RngState } from '../core/rng.js';
import type { Agent, StepOutcome } from '../algorithms/agent.js';
import type { ActionArray, BatchedEnv } from '../envs/types.js';
import * as nn from '../nn/index.js';
import type { NamedArray, Tensor } from '../nn/index.js';
import { BatchedAdam, BatchedMLP, clipGradNormPerLearner, concatSlices, orthogonalInit } from './nets.js';

const num = z.number().finite();

export const ppoOptionsSchema = z
  .object({
    hidden: z.array(z.number().int().min(1)).min(1).default([64, 64]),
    activation: z.enum(['tanh', 'relu']).default('tanh'),
    /** rollout length per learner (CleanRL: 128 discrete, 2048 continuous) */
    numSteps: z.number().int().min(1).optional(),
    /** Adam learning rate (CleanRL: 2.5e-4 discrete, 3e-4 continuous) */
    lr: num.positive().optional(),
    /** environment steps per learner over which the learning rate is annealed to 0 (0: constant) */
    totalSteps: z.number().int().min(0).default(0),
    gamma: num.min(0).max(1).default(0.99),
    gaeLambda: num.min(0).max(1).default(0.95),
    /** CleanRL: 4 discrete, 32 continuous */
    numMinibatches: z.number().int().min(1).optional(),
    /** CleanRL: 4 discrete, 10 continuous */
    updateEpochs: z.number().int().min(1).optional(),
    normAdv: z.boolean().default(true),
    clipCoef: num.positive().default(0.2),
    clipVloss: z.boolean().default(true),
    /** CleanRL: 0.01 discrete, 0 continuous */
    entCoef: num.min(0).optional(),
    vfCoef: num.min(0).default(0.5),
    maxGradNorm: num.positive().default(0.5),
    adamEps: num.positive().default(1e-5),
    /** initial log-std of the Gaussian policy (continuous) */
    initLogStd: num.default(0),
  })
  .strict();
export type PpoOptionsInput = z.input<typeof ppoOptionsSchema>;
type Parsed = z.output<typeof ppoOptionsSchema>;
export type PpoOptions = Required<Parsed>;

/** CleanRL's defaults for the options that differ between ppo.py and ppo_continuous_action.py */
export const PPO_DISCRETE_DEFAULTS = { numSteps: 128, lr: 2.5e-4, numMinibatches: 4, updateEpochs: 4, entCoef: 0.01 } as const;
export const PPO_CONTINUOUS_DEFAULTS = { numSteps: 2048, lr: 3e-4, numMinibatches: 32, updateEpochs: 10, entCoef: 0 } as const;

/** the options with the action-type defaults filled in */
export function resolvePpoOptions(o: Parsed, discrete: boolean): PpoOptions {
  const d = discrete ? PPO_DISCRETE_DEFAULTS : PPO_CONTINUOUS_DEFAULTS;
  const r: PpoOptions = {
    ...o,
    numSteps: o.numSteps ?? d.numSteps,
    lr: o.lr ?? d.lr,
    numMinibatches: o.numMinibatches ?? d.numMinibatches,
    updateEpochs: o.updateEpochs ?? d.updateEpochs,
    entCoef: o.entCoef ?? d.entCoef,
  };
  if (r.numSteps % r.numMinibatches !== 0) throw new IcrlError(`ppo: numSteps ${r.numSteps} is not a multiple of numMinibatches ${r.numMinibatches}`, 'CONFIG');
  return r;
}

export interface PpoSpec {
  obsDim: number;
  /** discrete: number of actions (actDim 0); continuous: 0 and actDim > 0 with the box */
  numActions: number;
  actDim: number;
  low?: ArrayLike<number>;
  high?: ArrayLike<number>;
}

/** N independent PPO learners (one random stream each) collecting and updating in lockstep. */
export class PpoLearners {
  readonly n: number;
  readonly opts: PpoOptions;
  readonly discrete: boolean;
  readonly actor: BatchedMLP;
  readonly critic: BatchedMLP;
  readonly logStd: Tensor | null;
  readonly opt: BatchedAdam;
  /** rollouts done (each followed by an update) */
  updates = 0;
  /** position in the current rollout */
  t = 0;
  private readonly A: number;
  // rollout storage, learner-major: [N, T, .]
  private readonly obs: Float32Array;
  private readonly acts: Float32Array;
  private readonly logp: Float32Array;
  private readonly val: Float32Array;
  private readonly rew: Float32Array;
  private readonly done: Float32Array;

  constructor(
    readonly spec: PpoSpec,
    readonly rngs: Rng[],
    options: PpoOptionsInput = {},
  ) {
    const n = rngs.length;
    if (n < 1) throw new IcrlError('ppo: needs at least one learner (one random stream each)', 'CONFIG');
    this.n = n;
    this.discrete = spec.numActions > 0;
    if (!this.discrete && !(spec.actDim > 0 && spec.low && spec.high)) throw new IcrlError('ppo: a continuous policy needs actDim > 0 and the action box', 'CONFIG');
    this.opts = resolvePpoOptions(ppoOptionsSchema.parse(options), this.discrete);
    this.A = this.discrete ? spec.numActions : spec.actDim;
    const h = this.opts.hidden;
    const L = h.length + 1;
    const initRngs = rngs.map((r) => r.split('init'));
    this.actor = new BatchedMLP(n, [spec.obsDim, ...h, this.A], initRngs, 'actor', orthogonalInit(L, 0.01), this.opts.activation);
    this.critic = new BatchedMLP(n, [spec.obsDim, ...h, 1], initRngs, 'critic', orthogonalInit(L, 1), this.opts.activation);
    this.logStd = this.discrete ? null : nn.parameter([n, 1, this.A], (d) => d.fill(this.opts.initLogStd), 'logStd');
    const params = [...this.actor.parameters(), ...this.critic.parameters(), ...(this.logStd ? [this.logStd] : [])];
    this.opt = new BatchedAdam(params, n, this.opts.lr, 0.9, 0.999, this.opts.adamEps);
    const T = this.opts.numSteps;
    this.obs = new Float32Array(n * T * spec.obsDim);
    this.acts = new Float32Array(n * T * (this.discrete ? 1 : this.A));
    this.logp = new Float32Array(n * T);
    this.val = new Float32Array(n * T);
    this.rew = new Float32Array(n * T);
    this.done = new Float32Array(n * T);
  }

  /**
   * Samples one action per learner for obs (N x obsDim), records obs, action, log-probability and
   * value at the current rollout position, and writes the actions to play (continuous: clipped to
   * the box) into `out`.
   */
  act(obs: Float32Array, out: ActionArray): void {
    const { obsDim: D } = this.spec;
    const N = this.n;
    const T = this.opts.numSteps;
    const t = this.t;
    const A = this.A;
    nn.noGrad(() =>
      nn.tidy(() => {
        const o = nn.tensor(obs.subarray(0, N * D), [N, 1, D]);
        const head = this.actor.forward(o).data;
        const v = this.critic.forward(o).data;
        for (let i = 0; i < N; i++) {
          this.obs.set(obs.subarray(i * D, (i + 1) * D), (i * T + t) * D);
          this.val[i * T + t] = v[i];
          const rng = this.rngs[i];
          if (this.discrete) {
            // softmax sampling by inversion
            let m = -Infinity;
            for (let a = 0; a < A; a++) m = Math.max(m, head[i * A + a]);
            let z = 0;
            for (let a = 0; a < A; a++) z += Math.exp(head[i * A + a] - m);
            const u = rng.uniform() * z;
            let acc = 0;
            let pick = A - 1;
            for (let a = 0; a < A; a++) {
              acc += Math.exp(head[i * A + a] - m);
              if (u < acc) {
                pick = a;
                break;
              }
            }
            (out as Int32Array)[i] = pick;
            this.acts[i * T + t] = pick;
            this.logp[i * T + t] = head[i * A + pick] - m - Math.log(z);
          } else {
            const ls = this.logStd!.data;
            let lp = 0;
            for (let j = 0; j < A; j++) {
              const s = Math.exp(ls[i * A + j]);
              const e = rng.normal();
              const a = head[i * A + j] + s * e;
              this.acts[(i * T + t) * A + j] = a;
              lp += -0.5 * e * e - ls[i * A + j] - 0.5 * Math.log(2 * Math.PI);
              (out as Float32Array)[i * A + j] = Math.min(this.spec.high![j], Math.max(this.spec.low![j], a));
            }
            this.logp[i * T + t] = lp;
          }
        }
      }),
    );
  }

  /** greedy actions: the most probable one (lowest index on ties), or the mean clipped to the box */
  actGreedy(obs: Float32Array, out: ActionArray): void {
    const { obsDim: D } = this.spec;
    const N = this.n;
    const A = this.A;
    nn.noGrad(() =>
      nn.tidy(() => {
        const head = this.actor.forward(nn.tensor(obs.subarray(0, N * D), [N, 1, D])).data;
        for (let i = 0; i < N; i++) {
          if (this.discrete) {
            let best = 0;
            for (let a = 1; a < A; a++) if (head[i * A + a] > head[i * A + best]) best = a;
            (out as Int32Array)[i] = best;
          } else for (let j = 0; j < A; j++) (out as Float32Array)[i * A + j] = Math.min(this.spec.high![j], Math.max(this.spec.low![j], head[i * A + j]));
        }
      }),
    );
  }

  /**
   * Records the rewards and episode ends (terminated or truncated: no bootstrap across them, as
   * CleanRL) of the last `act`; when the rollout is full, updates every learner with `nextObs`
   * (the observations after the step) for the bootstrap value. Returns true when it updated.
   */
  record(rewards: Float32Array, ended: (i: number) => boolean, nextObs: Float32Array): boolean {
    const T = this.opts.numSteps;
    for (let i = 0; i < this.n; i++) {
      this.rew[i * T + this.t] = rewards[i];
      this.done[i * T + this.t] = ended(i) ? 1 : 0;
    }
    this.t++;
    if (this.t < T) return false;
    this.update(nextObs);
    this.t = 0;
    return true;
  }

  /** GAE advantages and returns of the full rollout ([N, T] each) */
  private advantages(nextObs: Float32Array): { adv: Float32Array; ret: Float32Array } {
    const { gamma, gaeLambda: lam, numSteps: T } = this.opts;
    const N = this.n;
    const D = this.spec.obsDim;
    const next = nn.noGrad(() => nn.tidy(() => this.critic.forward(nn.tensor(nextObs.subarray(0, N * D), [N, 1, D])).toArray()));
    const adv = new Float32Array(N * T);
    const ret = new Float32Array(N * T);
    for (let i = 0; i < N; i++) {
      let last = 0;
      for (let t = T - 1; t >= 0; t--) {
        const k = i * T + t;
        const nonTerminal = 1 - this.done[k];
        const nextValue = t === T - 1 ? next[i] : this.val[k + 1];
        const delta = this.rew[k] + gamma * nextValue * nonTerminal - this.val[k];
        last = delta + gamma * lam * nonTerminal * last;
        adv[k] = last;
        ret[k] = last + this.val[k];
      }
    }
    return { adv, ret };
  }

  /** one PPO update of every learner on its own full rollout */
  private update(nextObs: Float32Array): void {
    const o = this.opts;
    const N = this.n;
    const T = o.numSteps;
    const D = this.spec.obsDim;
    const A = this.A;
    const aw = this.discrete ? 1 : A;
    const mb = T / o.numMinibatches;
    if (o.totalSteps > 0) {
      const numUpdates = Math.max(1, Math.floor(o.totalSteps / T));
      this.opt.lr = Math.max(0, 1 - this.updates / numUpdates) * o.lr;
    }
    this.updates++;
    const { adv, ret } = this.advantages(nextObs);
    const perm = new Int32Array(N * T);
    for (let epoch = 0; epoch < o.updateEpochs; epoch++) {
      for (let i = 0; i < N; i++) {
        const p = perm.subarray(i * T, (i + 1) * T);
        for (let k = 0; k < T; k++) p[k] = k;
        const rng = this.rngs[i];
        for (let k = T - 1; k > 0; k--) {
          const j = rng.int(k + 1);
          const tmp = p[k];
          p[k] = p[j];
          p[j] = tmp;
        }
      }
      for (let start = 0; start < T; start += mb) {
        nn.tidy(() => {
          const ob = new Float32Array(N * mb * D);
          const ac = new Float32Array(N * mb * aw);
          const oldLp = new Float32Array(N * mb);
          const oldV = new Float32Array(N * mb);
          const advMb = new Float32Array(N * mb);
          const retMb = new Float32Array(N * mb);
          for (let i = 0; i < N; i++) {
            let mean = 0;
            for (let b = 0; b < mb; b++) {
              const k = i * T + perm[i * T + start + b];
              const row = i * mb + b;
              ob.set(this.obs.subarray(k * D, (k + 1) * D), row * D);
              ac.set(this.acts.subarray(k * aw, (k + 1) * aw), row * aw);
              oldLp[row] = this.logp[k];
              oldV[row] = this.val[k];
              advMb[row] = adv[k];
              retMb[row] = ret[k];
              mean += adv[k];
            }
            if (o.normAdv) {
              // per learner and minibatch, unbiased std (torch.std), as CleanRL
              mean /= mb;
              let sq = 0;
              for (let b = 0; b < mb; b++) sq += (advMb[i * mb + b] - mean) ** 2;
              const sd = Math.sqrt(sq / Math.max(1, mb - 1));
              for (let b = 0; b < mb; b++) advMb[i * mb + b] = (advMb[i * mb + b] - mean) / (sd + 1e-8);
            }
          }
          const obT = nn.tensor(ob, [N, mb, D]);
          const head = this.actor.forward(obT);
          let newLp: Tensor;
          let entSum: Tensor;
          if (this.discrete) {
            newLp = nn.categoricalLogProb(head, Int32Array.from(ac));
            entSum = nn.scale(nn.sum(nn.categoricalEntropy(head)), 1 / mb);
          } else {
            newLp = nn.gaussianLogProb(nn.tensor(ac, [N, mb, A]), head, this.logStd!);
            entSum = nn.sum(nn.gaussianEntropy(this.logStd!));
          }
          const ratio = nn.exp(nn.sub(newLp, nn.tensor(oldLp, [N, mb, 1])));
          const negAdv = nn.tensor(advMb.map((v) => -v), [N, mb, 1]);
          const pg = nn.scale(nn.sum(nn.maximum(nn.mul(negAdv, ratio), nn.mul(negAdv, nn.clamp(ratio, 1 - o.clipCoef, 1 + o.clipCoef)))), 1 / mb);
          const v = this.critic.forward(obT);
          const retT = nn.tensor(retMb, [N, mb, 1]);
          let vl: Tensor;
          if (o.clipVloss) {
            const oldVT = nn.tensor(oldV, [N, mb, 1]);
            const vClipped = nn.add(oldVT, nn.clamp(nn.sub(v, oldVT), -o.clipCoef, o.clipCoef));
            vl = nn.scale(nn.sum(nn.maximum(nn.square(nn.sub(v, retT)), nn.square(nn.sub(vClipped, retT)))), 0.5 / mb);
          } else vl = nn.scale(nn.sum(nn.square(nn.sub(v, retT))), 0.5 / mb);
          const loss = nn.add(nn.sub(pg, nn.scale(entSum, o.entCoef)), nn.scale(vl, o.vfCoef));
          this.opt.zeroGrad();
          loss.backward();
          clipGradNormPerLearner(this.opt.params, N, o.maxGradNorm);
          this.opt.update();
        });
      }
    }
  }

  private stateTensors(): Record<string, NamedArray | Tensor> {
    const out: Record<string, NamedArray | Tensor> = {};
    for (const p of this.opt.params) out[p.name!] = p;
    Object.assign(out, this.opt.stateTensors('opt'));
    const T = this.opts.numSteps;
    const N = this.n;
    out['rollout.obs'] = { shape: [N, T, this.spec.obsDim], data: this.obs };
    out['rollout.act'] = { shape: [N, T, this.discrete ? 1 : this.A], data: this.acts };
    for (const [k, v] of [
      ['logp', this.logp],
      ['val', this.val],
      ['rew', this.rew],
      ['done', this.done],
    ] as const)
      out[`rollout.${k}`] = { shape: [N, T], data: v };
    return out;
  }

  /**
   * Writes weights, Adam moments and step, the rollout so far and its position, the random streams
   * and the counters to one safetensors file (atomically); `extra` goes into its metadata.
   */
  saveCheckpoint(file: string, extra: Record<string, unknown> = {}): void {
    const meta = { kind: 'ppo', learners: this.n, options: this.opts, t: this.t, updates: this.updates, adamStep: this.opt.step, lr: this.opt.lr, rng: this.rngs.map((r) => r.getState()), extra };
    nn.saveSafetensors(file, this.stateTensors(), { icrl_rl: JSON.stringify(meta) });
  }

  /** Restores a checkpoint of a learner set with the same learner count, spec and options; returns its `extra`. */
  restoreCheckpoint(file: string): Record<string, unknown> {
    const f = nn.loadSafetensors(file);
    const raw = f.metadata.icrl_rl;
    if (!raw) throw new IcrlError(`${file}: not an rl checkpoint (no icrl_rl metadata)`, 'CORRUPT_FILE');
    const meta = JSON.parse(raw) as { kind: string; learners: number; options: PpoOptions; t: number; updates: number; adamStep: number; lr: number; rng: RngState[]; extra: Record<string, unknown> };
    if (meta.kind !== 'ppo' || meta.learners !== this.n) throw new IcrlError(`${file}: a ${meta.kind} checkpoint of ${meta.learners} learners, expected ppo with ${this.n}`, 'CORRUPT_FILE');
    if (JSON.stringify(meta.options) !== JSON.stringify(this.opts)) throw new IcrlError(`${file}: saved with other PPO options (${JSON.stringify(meta.options)})`, 'CORRUPT_FILE');
    for (const [name, t] of Object.entries(this.stateTensors())) {
      const src = f.tensors.get(name);
      const dst = t.data;
      if (!src || src.data.length !== dst.length) throw new IcrlError(`${file}: tensor "${name}" missing or of another shape than [${t.shape.join(', ')}]`, 'CORRUPT_FILE');
      dst.set(src.data);
    }
    this.rngs.forEach((r, i) => r.setState(meta.rng[i]));
    this.t = meta.t;
    this.updates = meta.updates;
    this.opt.step = meta.adamStep;
    this.opt.lr = meta.lr;
    return meta.extra;
  }

  /** learner i's parameters (actor, critic, log-std), concatenated: for comparisons */
  learnerParams(i: number): Float32Array {
    return concatSlices(this.opt.params, this.n, i);
  }
}

/**
 * PPO as a source algorithm: one learner per environment instance (each instance its own task),
 * all trained at once; every `numSteps` steps each learner updates on its rollout.
 */
export class PpoAgent implements Agent {
  readonly name = 'ppo';
  readonly input: PpoOptionsInput;
  learners: PpoLearners | null = null;
  private env!: BatchedEnv;

  constructor(opts: PpoOptionsInput = {}) {
    ppoOptionsSchema.parse(opts);
    this.input = opts;
  }

  reset(env: BatchedEnv, rng: Rng): void {
    this.env = env;
    const rngs = Array.from({ length: env.numEnvs }, (_, i) => rng.split(`ppo-learner-${i}`));
    let spec: PpoSpec;
    if (env.numActions > 0) spec = { obsDim: env.obsDim, numActions: env.numActions, actDim: 0 };
    else {
      const sp = env.actionSpace;
      if (!(sp instanceof BoxSpace) || sp.spec.low.length !== env.actDim) throw new IcrlError(`ppo: ${env.family} has neither discrete actions nor a box of ${env.actDim} dimensions`, 'CONFIG');
      spec = { obsDim: env.obsDim, numActions: 0, actDim: env.actDim, low: sp.spec.low, high: sp.spec.high };
    }
    this.learners = new PpoLearners(spec, rngs, this.input);
  }

  act(obs: Float32Array, out: ActionArray): void {
    if (!this.learners) throw new IcrlError('ppo: act() before reset()', 'STATE');
    this.learners.act(obs, out);
  }

  /** saves the learners (see PpoLearners.saveCheckpoint) */
  saveCheckpoint(file: string): void {
    if (!this.learners) throw new IcrlError('ppo: saveCheckpoint() before reset()', 'STATE');
    this.learners.saveCheckpoint(file);
  }

  /** restores a checkpoint after reset() on the same environment shape */
  restoreCheckpoint(file: string): void {
    if (!this.learners) throw new IcrlError('ppo: restoreCheckpoint() before reset()', 'STATE');
    this.learners.restoreCheckpoint(file);
  }

  actGreedy(obs: Float32Array, out: ActionArray): void {
    if (!this.learners) throw new IcrlError('ppo: actGreedy() before reset()', 'STATE');
    this.learners.actGreedy(obs, out);
  }

  observe(o: StepOutcome): void {
    if (!this.learners) throw new IcrlError('ppo: observe() before reset()', 'STATE');
    this.learners.record(o.rewards, (i) => o.terminated[i] === 1 || o.truncated[i] === 1, o.obs);
  }
}
