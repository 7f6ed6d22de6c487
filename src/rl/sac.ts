/**
 * Soft Actor-Critic (Haarnoja et al. 2018, "Soft Actor-Critic Algorithms and Applications"), with
 * the defaults and update order of CleanRL's `sac_continuous_action.py`, for N independent learners
 * trained in one program: every network has a leading learner axis and runs as batched matrix
 * multiplies; each learner has its own replay buffer, optimizer state, entropy coefficient and
 * random stream. Learner i's numbers are the same whatever N is (tested).
 *
 * One update (`SacLearners.update`) = a critic step on both Q networks, every `policyFrequency`
 * steps `policyFrequency` actor steps (each followed by an entropy-coefficient step when
 * `autotune`), and every `targetNetworkFrequency` steps a Polyak update of the target critics.
 * Actions are learned in the normalised box [-1, 1]^A (replay, critics' inputs and log-probabilities,
 * as Stable-Baselines3 does) and mapped onto the environment's box when played, so the target
 * entropy -A means the same whatever the action scale; for a [-1, 1] box this is exactly CleanRL.
 * Other differences from CleanRL (docs/rl.md): the entropy-coefficient loss reuses the
 * log-probabilities of the actor step (as the stacked PyTorch reference of the benchmark does)
 * instead of drawing fresh ones, and the critics' weight gradients are not computed during the
 * actor step (CleanRL computes and discards them).
 */
import { z } from 'zod';
import { IcrlError } from '../core/errors.js';
import type { Rng, RngState } from '../core/rng.js';
import type { Agent, StepOutcome } from '../algorithms/agent.js';
import type { ActionArray, BatchedEnv } from '../envs/types.js';
import { BoxSpace } from '../core/spaces.js';
import * as nn from '../nn/index.js';
import type { NamedArray, Tensor } from '../nn/index.js';
import { BatchedAdam, BatchedMLP, concatSlices, noInit } from './nets.js';

const num = z.number().finite();

/** CleanRL's sac_continuous_action.py defaults (buffer 1e6, batch 256, 256 x 256 MLPs, ...). */
export const sacOptionsSchema = z
  .object({
    /** hidden layer sizes of the actor and of each critic */
    hidden: z.array(z.number().int().min(1)).min(1).default([256, 256]),
    gamma: num.min(0).max(1).default(0.99),
    /** target smoothing coefficient */
    tau: num.min(0).max(1).default(0.005),
    batchSize: z.number().int().min(1).default(256),
    /** replay capacity per learner (buffers grow as needed up to this) */
    bufferSize: z.number().int().min(1).default(1_000_000),
    /** environment steps with uniformly random actions before the first update */
    learningStarts: z.number().int().min(0).default(5000),
    policyLr: num.positive().default(3e-4),
    qLr: num.positive().default(1e-3),
    /** actor (and entropy) updates happen every this many steps, this many times (delayed, as TD3) */
    policyFrequency: z.number().int().min(1).default(2),
    targetNetworkFrequency: z.number().int().min(1).default(1),
    /** entropy coefficient when not autotuned, and its initial value when it is (CleanRL starts log alpha at 0) */
    alpha: num.positive().default(0.2),
    /** learn the entropy coefficient towards the target entropy -actDim */
    autotune: z.boolean().default(true),
    /** gradient updates per environment step once learning has started */
    updatesPerStep: z.number().int().min(1).default(1),
    /** updates happen every this many environment steps (`updatesPerStep` of them each time; Stable-Baselines3's train_freq): 2 halves the compute */
    trainFrequency: z.number().int().min(1).default(1),
    logStdMin: num.default(-5),
    logStdMax: num.default(2),
  })
  .strict();
export type SacOptions = z.output<typeof sacOptionsSchema>;
export const SAC_DEFAULTS: SacOptions = sacOptionsSchema.parse({});

/** One learner's replay buffer (grows by doubling up to its capacity, then overwrites the oldest). */
class Replay {
  size = 0;
  private next = 0;
  private cap = 0;
  obs: Float32Array = new Float32Array(0);
  act: Float32Array = new Float32Array(0);
  rew: Float32Array = new Float32Array(0);
  obs2: Float32Array = new Float32Array(0);
  done: Float32Array = new Float32Array(0);
  constructor(
    readonly obsDim: number,
    readonly actDim: number,
    readonly capacity: number,
  ) {}

  private grow(): void {
    const cap = Math.min(this.capacity, Math.max(1024, this.cap * 2));
    const g = (a: Float32Array, w: number): Float32Array => {
      const b = new Float32Array(cap * w);
      b.set(a);
      return b;
    };
    this.obs = g(this.obs, this.obsDim);
    this.act = g(this.act, this.actDim);
    this.rew = g(this.rew, 1);
    this.obs2 = g(this.obs2, this.obsDim);
    this.done = g(this.done, 1);
    this.cap = cap;
  }

  /** the stored rows (size of them) and the write position, for checkpoints */
  exportState(prefix: string, out: Record<string, NamedArray>): { size: number; next: number } {
    const n = this.size;
    out[`${prefix}.obs`] = { shape: [n, this.obsDim], data: this.obs.subarray(0, n * this.obsDim) };
    out[`${prefix}.act`] = { shape: [n, this.actDim], data: this.act.subarray(0, n * this.actDim) };
    out[`${prefix}.rew`] = { shape: [n], data: this.rew.subarray(0, n) };
    out[`${prefix}.obs2`] = { shape: [n, this.obsDim], data: this.obs2.subarray(0, n * this.obsDim) };
    out[`${prefix}.done`] = { shape: [n], data: this.done.subarray(0, n) };
    return { size: this.size, next: this.next };
  }

  importState(prefix: string, t: Map<string, NamedArray>, st: { size: number; next: number }, file: string): void {
    const get = (k: string, w: number): Float32Array => {
      const a = t.get(`${prefix}.${k}`);
      if (!a || a.data.length !== st.size * w) throw new IcrlError(`${file}: replay tensor "${prefix}.${k}" missing or not ${st.size} x ${w}`, 'CORRUPT_FILE');
      const b = new Float32Array(Math.max(1, st.size) * w);
      b.set(a.data);
      return b;
    };
    this.obs = get('obs', this.obsDim);
    this.act = get('act', this.actDim);
    this.rew = get('rew', 1);
    this.obs2 = get('obs2', this.obsDim);
    this.done = get('done', 1);
    this.cap = Math.max(1, st.size);
    this.size = st.size;
    this.next = st.next;
  }

  add(o: Float32Array, a: Float32Array, r: number, o2: Float32Array, d: number): void {
    if (this.next >= this.cap && this.cap < this.capacity) this.grow();
    const k = this.next;
    this.obs.set(o, k * this.obsDim);
    this.act.set(a, k * this.actDim);
    this.rew[k] = r;
    this.obs2.set(o2, k * this.obsDim);
    this.done[k] = d;
    this.next = (k + 1) % this.capacity;
    if (this.size < this.capacity) this.size++;
  }
}

export interface SacSpec {
  obsDim: number;
  actDim: number;
  /** action box per dimension (the policy's tanh output is mapped onto it) */
  low: ArrayLike<number>;
  high: ArrayLike<number>;
}

/** N independent SAC learners (one random stream each) trained in lockstep. */
export class SacLearners {
  readonly n: number;
  readonly opts: SacOptions;
  readonly actor: BatchedMLP;
  readonly q1: BatchedMLP;
  readonly q2: BatchedMLP;
  readonly q1Target: BatchedMLP;
  readonly q2Target: BatchedMLP;
  readonly logAlpha: Tensor;
  readonly actorOpt: BatchedAdam;
  readonly qOpt: BatchedAdam;
  readonly alphaOpt: BatchedAdam;
  readonly targetEntropy: number;
  /** gradient updates done (CleanRL's global step counter drives the delayed updates) */
  updates = 0;
  private readonly replay: Replay[];
  private readonly scale: Float32Array;
  private readonly bias: Float32Array;

  constructor(
    readonly spec: SacSpec,
    readonly rngs: Rng[],
    options: Partial<SacOptions> = {},
  ) {
    this.opts = sacOptionsSchema.parse(options);
    const n = rngs.length;
    if (n < 1) throw new IcrlError('sac: needs at least one learner (one random stream each)', 'CONFIG');
    this.n = n;
    const { obsDim, actDim } = spec;
    this.scale = new Float32Array(actDim);
    this.bias = new Float32Array(actDim);
    for (let j = 0; j < actDim; j++) {
      const lo = spec.low[j];
      const hi = spec.high[j];
      if (!(Number.isFinite(lo) && Number.isFinite(hi) && hi > lo)) throw new IcrlError(`sac: action dimension ${j} needs a finite box, got [${lo}, ${hi}]`, 'CONFIG');
      this.scale[j] = (hi - lo) / 2;
      this.bias[j] = (hi + lo) / 2;
    }
    const h = this.opts.hidden;
    // per learner: actor, then q1, then q2 from its own stream (targets are copies)
    const initRngs = rngs.map((r) => r.split('init'));
    this.actor = new BatchedMLP(n, [obsDim, ...h, 2 * actDim], initRngs, 'actor');
    this.q1 = new BatchedMLP(n, [obsDim + actDim, ...h, 1], initRngs, 'q1');
    this.q2 = new BatchedMLP(n, [obsDim + actDim, ...h, 1], initRngs, 'q2');
    this.q1Target = new BatchedMLP(n, [obsDim + actDim, ...h, 1], initRngs, 'q1Target', noInit);
    this.q2Target = new BatchedMLP(n, [obsDim + actDim, ...h, 1], initRngs, 'q2Target', noInit);
    this.q1Target.copyFrom(this.q1);
    this.q2Target.copyFrom(this.q2);
    this.q1Target.setTrainable(false);
    this.q2Target.setTrainable(false);
    this.logAlpha = nn.parameter([n], (d) => d.fill(this.opts.autotune ? 0 : Math.log(this.opts.alpha)), 'logAlpha');
    this.targetEntropy = -actDim;
    this.actorOpt = new BatchedAdam(this.actor.parameters(), n, this.opts.policyLr);
    this.qOpt = new BatchedAdam([...this.q1.parameters(), ...this.q2.parameters()], n, this.opts.qLr);
    this.alphaOpt = new BatchedAdam([this.logAlpha], n, this.opts.qLr);
    this.replay = rngs.map(() => new Replay(obsDim, actDim, this.opts.bufferSize));
  }

  /** entropy coefficient of learner i */
  alpha(i: number): number {
    return this.opts.autotune ? Math.exp(this.logAlpha.data[i]) : this.opts.alpha;
  }

  bufferSize(i: number): number {
    return this.replay[i].size;
  }

  /** stores one transition of learner i (done = 1 when the episode terminated: no bootstrap) */
  store(i: number, obs: Float32Array, action: Float32Array, reward: number, nextObs: Float32Array, done: number): void {
    this.replay[i].add(obs, action, reward, nextObs, done);
  }

  /** the policy's head split into mean and squashed log-std (CleanRL's mapping into [logStdMin, logStdMax]) */
  private policy(obs: Tensor): { mean: Tensor; logStd: Tensor } {
    const A = this.spec.actDim;
    const out = this.actor.forward(obs);
    const mean = nn.slice(out, 2, 0, A);
    const raw = nn.tanh(nn.slice(out, 2, A, 2 * A));
    const { logStdMin: lo, logStdMax: hi } = this.opts;
    return { mean, logStd: nn.affine(raw, 0.5 * (hi - lo), lo + 0.5 * (hi - lo)) };
  }

  /** standard normal noise [N, rows, A], learner i's block from its own stream */
  private noise(rows: number): Float32Array {
    const A = this.spec.actDim;
    const z = new Float32Array(this.n * rows * A);
    for (let i = 0; i < this.n; i++) this.rngs[i].fillNormal(z.subarray(i * rows * A, (i + 1) * rows * A));
    return z;
  }

  private sample(obs: Tensor, rows: number): { action: Tensor; logProb: Tensor } {
    const { mean, logStd } = this.policy(obs);
    return nn.tanhGaussian(mean, logStd, this.noise(rows));
  }

  /**
   * Normalised actions in [-1, 1]^A for one observation per learner (obs: N x obsDim): sampled from
   * the policy, or tanh of its mean when `deterministic` (CleanRL's evaluation action). Writes N x A.
   */
  act(obs: Float32Array, out: Float32Array, deterministic = false): void {
    const { obsDim, actDim } = this.spec;
    nn.noGrad(() =>
      nn.tidy(() => {
        const o = nn.tensor(obs.subarray(0, this.n * obsDim), [this.n, 1, obsDim]);
        if (deterministic) {
          const m = this.policy(o).mean.data;
          for (let k = 0; k < this.n * actDim; k++) out[k] = Math.tanh(m[k]);
        } else out.set(this.sample(o, 1).action.data.subarray(0, this.n * actDim));
      }),
    );
  }

  /**
   * Greedy actions in the environment's box for `rows` observations per learner (obs: N x rows x
   * obsDim, learner-major) into out (N x rows x actDim), in chunks of at most 4,096 rows.
   */
  greedyActions(obs: Float32Array, rows: number, out: Float32Array): void {
    const { obsDim: D, actDim: A } = this.spec;
    const N = this.n;
    const CH = 4096;
    for (let r0 = 0; r0 < rows; r0 += CH) {
      const r1 = Math.min(rows, r0 + CH);
      const m = r1 - r0;
      nn.noGrad(() =>
        nn.tidy(() => {
          const x = nn.zeros([N, m, D]);
          for (let i = 0; i < N; i++) x.data.set(obs.subarray((i * rows + r0) * D, (i * rows + r1) * D), i * m * D);
          const mean = this.policy(x).mean.data;
          for (let i = 0; i < N; i++)
            for (let r = 0; r < m; r++)
              for (let j = 0; j < A; j++) {
                const v = this.bias[j] + this.scale[j] * Math.tanh(mean[(i * m + r) * A + j]);
                out[((i * rows + r0 + r) * A) + j] = Math.min(this.spec.high[j], Math.max(this.spec.low[j], v));
              }
        }),
      );
    }
  }

  /** a uniformly random normalised action for each learner (from its own stream) */
  randomActions(out: Float32Array): void {
    const A = this.spec.actDim;
    for (let i = 0; i < this.n; i++) for (let j = 0; j < A; j++) out[i * A + j] = 2 * this.rngs[i].uniform() - 1;
  }

  /** maps normalised actions (N x A) onto the action box: bias + scale * a, clipped to the box against rounding */
  toBox(unit: Float32Array, out: Float32Array): void {
    const A = this.spec.actDim;
    for (let k = 0; k < this.n * A; k++) {
      const j = k % A;
      const v = this.bias[j] + this.scale[j] * unit[k];
      out[k] = Math.min(this.spec.high[j], Math.max(this.spec.low[j], v));
    }
  }

  /** a minibatch per learner (indices from its own stream) as [N, B, .] tensors */
  private batch(): { o: Tensor; a: Tensor; r: Float32Array; o2: Tensor; d: Float32Array } {
    const { obsDim: D, actDim: A } = this.spec;
    const B = this.opts.batchSize;
    const N = this.n;
    const o = nn.zeros([N, B, D]);
    const a = nn.zeros([N, B, A]);
    const o2 = nn.zeros([N, B, D]);
    const r = new Float32Array(N * B);
    const d = new Float32Array(N * B);
    const od = o.data;
    const ad = a.data;
    const o2d = o2.data;
    for (let i = 0; i < N; i++) {
      const rb = this.replay[i];
      if (rb.size === 0) throw new IcrlError(`sac: learner ${i} has an empty replay buffer (store transitions before updating)`, 'STATE');
      for (let b = 0; b < B; b++) {
        const k = this.rngs[i].int(rb.size);
        const row = i * B + b;
        od.set(rb.obs.subarray(k * D, (k + 1) * D), row * D);
        o2d.set(rb.obs2.subarray(k * D, (k + 1) * D), row * D);
        ad.set(rb.act.subarray(k * A, (k + 1) * A), row * A);
        r[row] = rb.rew[k];
        d[row] = rb.done[k];
      }
    }
    return { o, a, r, o2, d };
  }

  /** One SAC update of every learner on a fresh minibatch from its own buffer. Returns the mean losses over learners. */
  update(): { qLoss: number; actorLoss: number | null; alpha: number } {
    const { gamma, batchSize: B, policyFrequency, targetNetworkFrequency, tau, autotune } = this.opts;
    const N = this.n;
    const step = this.updates++;
    let qLoss = 0;
    let actorLoss: number | null = null;
    nn.tidy(() => {
      const { o, a, r, o2, d } = this.batch();
      // TD target: r + gamma (1 - d) (min of the target critics - alpha log pi) at a fresh next action
      const y = nn.noGrad(() => {
        const s2 = this.sample(o2, B);
        const x2 = nn.concat([o2, s2.action], 2);
        const qt = nn.minimum(this.q1Target.forward(x2), this.q2Target.forward(x2)).data;
        const lp = s2.logProb.data;
        const yv = new Float32Array(N * B);
        for (let i = 0; i < N; i++) {
          const al = this.alpha(i);
          for (let b = 0; b < B; b++) {
            const k = i * B + b;
            yv[k] = r[k] + gamma * (1 - d[k]) * (qt[k] - al * lp[k]);
          }
        }
        return nn.tensor(yv, [N, B, 1]);
      });
      // critic step: sum over learners of each learner's mean squared errors
      this.qOpt.zeroGrad();
      const x = nn.concat([o, a], 2);
      const l1 = nn.sum(nn.square(nn.sub(this.q1.forward(x), y)));
      const l2 = nn.sum(nn.square(nn.sub(this.q2.forward(x), y)));
      const ql = nn.scale(nn.add(l1, l2), 1 / B);
      ql.backward();
      this.qOpt.update();
      qLoss = ql.item() / N;
      if (step % policyFrequency === 0) {
        this.q1.setTrainable(false);
        this.q2.setTrainable(false);
        try {
          for (let rep = 0; rep < policyFrequency; rep++) {
            this.actorOpt.zeroGrad();
            const s = this.sample(o, B);
            const xn = nn.concat([o, s.action], 2);
            const qn = nn.minimum(this.q1.forward(xn), this.q2.forward(xn));
            const alphas = nn.tensor(Float32Array.from({ length: N }, (_, i) => this.alpha(i)), [N, 1, 1]);
            const al = nn.scale(nn.sum(nn.sub(nn.mul(alphas, s.logProb), qn)), 1 / B);
            al.backward();
            this.actorOpt.update();
            actorLoss = al.item() / N;
            if (autotune) {
              // d/dlogAlpha of mean(-alpha (logp + target entropy)) = -alpha mean(logp + target entropy)
              const lp = s.logProb.data;
              const g = new Float32Array(N);
              for (let i = 0; i < N; i++) {
                let m = 0;
                for (let b = 0; b < B; b++) m += lp[i * B + b] + this.targetEntropy;
                g[i] = -Math.exp(this.logAlpha.data[i]) * (m / B);
              }
              if (!this.logAlpha.grad) this.logAlpha.grad = nn.keep(nn.zeros([N]));
              this.logAlpha.grad.data.set(g);
              this.alphaOpt.update();
            }
          }
        } finally {
          this.q1.setTrainable(true);
          this.q2.setTrainable(true);
        }
      }
      if (step % targetNetworkFrequency === 0) {
        this.q1Target.softUpdateFrom(this.q1, tau);
        this.q2Target.softUpdateFrom(this.q2, tau);
      }
    });
    let alphaMean = 0;
    for (let i = 0; i < N; i++) alphaMean += this.alpha(i) / N;
    return { qLoss, actorLoss, alpha: alphaMean };
  }

  /** learner i's trainable state (actor, critics, targets, log alpha), concatenated: for comparisons */
  learnerParams(i: number): Float32Array {
    const nets = [this.actor, this.q1, this.q2, this.q1Target, this.q2Target];
    const parts = [...nets.map((m) => m.learnerParams(i)), concatSlices([this.logAlpha], this.n, i)];
    const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }

  /** random stream states (checkpoints) */
  rngStates(): RngState[] {
    return this.rngs.map((r) => r.getState());
  }

  private stateTensors(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    for (const m of [this.actor, this.q1, this.q2, this.q1Target, this.q2Target]) for (const p of m.parameters()) out[p.name!] = p;
    out.logAlpha = this.logAlpha;
    Object.assign(out, this.actorOpt.stateTensors('actorOpt'), this.qOpt.stateTensors('qOpt'), this.alphaOpt.stateTensors('alphaOpt'));
    return out;
  }

  /**
   * Writes everything a learner set needs to continue exactly (weights, targets, entropy
   * coefficients, Adam moments and steps, replay buffers, random streams, counters) to one
   * safetensors file (atomically); `extra` goes into its metadata and `extraTensors` into the file
   * as `extra.<name>` (a caller's own state, e.g. a history recorded so far).
   */
  saveCheckpoint(file: string, extra: Record<string, unknown> = {}, extraTensors: Record<string, NamedArray> = {}): void {
    const tensors: Record<string, NamedArray | Tensor> = { ...this.stateTensors() };
    for (const [k, v] of Object.entries(extraTensors)) tensors[`extra.${k}`] = v;
    const replay = this.replay.map((r, i) => r.exportState(`replay.${i}`, tensors as Record<string, NamedArray>));
    const meta = {
      kind: 'sac',
      learners: this.n,
      spec: { obsDim: this.spec.obsDim, actDim: this.spec.actDim, low: Array.from(this.spec.low), high: Array.from(this.spec.high) },
      options: this.opts,
      updates: this.updates,
      adamSteps: [this.actorOpt.step, this.qOpt.step, this.alphaOpt.step],
      rng: this.rngStates(),
      replay,
      extra,
    };
    nn.saveSafetensors(file, tensors, { icrl_rl: JSON.stringify(meta) });
  }

  /** Restores a checkpoint of a learner set with the same learner count, shapes and options; returns its `extra`. */
  restoreCheckpoint(file: string): Record<string, unknown> {
    const f = nn.loadSafetensors(file);
    const raw = f.metadata.icrl_rl;
    if (!raw) throw new IcrlError(`${file}: not an rl checkpoint (no icrl_rl metadata)`, 'CORRUPT_FILE');
    const meta = JSON.parse(raw) as { kind: string; learners: number; spec: SacSpec; options: SacOptions; updates: number; adamSteps: number[]; rng: RngState[]; replay: { size: number; next: number }[]; extra: Record<string, unknown> };
    if (meta.kind !== 'sac' || meta.learners !== this.n) throw new IcrlError(`${file}: a ${meta.kind} checkpoint of ${meta.learners} learners, expected sac with ${this.n}`, 'CORRUPT_FILE');
    if (JSON.stringify(meta.options) !== JSON.stringify(this.opts)) throw new IcrlError(`${file}: saved with other SAC options (${JSON.stringify(meta.options)})`, 'CORRUPT_FILE');
    for (const [name, t] of Object.entries(this.stateTensors())) {
      const src = f.tensors.get(name);
      if (!src || src.data.length !== t.size) throw new IcrlError(`${file}: tensor "${name}" missing or of another shape than [${t.shape.join(', ')}]`, 'CORRUPT_FILE');
      t.data.set(src.data);
    }
    this.replay.forEach((r, i) => r.importState(`replay.${i}`, f.tensors, meta.replay[i], file));
    this.rngs.forEach((r, i) => r.setState(meta.rng[i]));
    this.updates = meta.updates;
    [this.actorOpt.step, this.qOpt.step, this.alphaOpt.step] = meta.adamSteps;
    return meta.extra;
  }
}

/** the box of a continuous family's action space */
function boxOf(env: BatchedEnv): { low: number[]; high: number[] } {
  const sp = env.actionSpace;
  if (env.numActions > 0 || env.actDim < 1 || !(sp instanceof BoxSpace)) throw new IcrlError(`sac: needs a continuous (box) action space; ${env.family} has ${env.numActions} discrete actions`, 'CONFIG');
  const { low, high } = sp.spec;
  if (low.length !== env.actDim) throw new IcrlError(`sac: ${env.family}'s action box has ${low.length} dimensions, actDim is ${env.actDim}`, 'CONFIG');
  return { low: [...low], high: [...high] };
}

/**
 * SAC as a source algorithm: one learner per environment instance (each instance its own task),
 * all trained at once. Uniformly random actions for the first `learningStarts` steps, then the
 * policy's samples; after each step every learner stores its transition and, past
 * `learningStarts`, takes `updatesPerStep` updates (CleanRL: one per step).
 */
export class SacAgent implements Agent {
  readonly name = 'sac';
  readonly opts: SacOptions;
  learners: SacLearners | null = null;
  private env!: BatchedEnv;
  private steps = 0;
  private lastObs = new Float32Array(0);
  private lastAct = new Float32Array(0);

  constructor(opts: Partial<SacOptions> = {}) {
    this.opts = sacOptionsSchema.parse(opts);
  }

  reset(env: BatchedEnv, rng: Rng): void {
    const box = boxOf(env);
    this.env = env;
    const rngs = Array.from({ length: env.numEnvs }, (_, i) => rng.split(`sac-learner-${i}`));
    this.learners = new SacLearners({ obsDim: env.obsDim, actDim: env.actDim, ...box }, rngs, this.opts);
    this.steps = 0;
    this.lastObs = new Float32Array(env.numEnvs * env.obsDim);
    this.lastAct = new Float32Array(env.numEnvs * env.actDim);
  }

  act(obs: Float32Array, out: ActionArray): void {
    const L = this.learners;
    if (!L) throw new IcrlError('sac: act() before reset()', 'STATE');
    if (!(out instanceof Float32Array)) throw new IcrlError('sac: continuous actions need a Float32Array', 'CONFIG');
    this.lastObs.set(obs.subarray(0, this.lastObs.length));
    if (this.steps < this.opts.learningStarts) L.randomActions(this.lastAct);
    else L.act(obs, this.lastAct);
    L.toBox(this.lastAct, out);
  }

  /** saves the learners and the agent's step counter (see SacLearners.saveCheckpoint) */
  saveCheckpoint(file: string, extra: Record<string, unknown> = {}, extraTensors: Record<string, NamedArray> = {}): void {
    if (!this.learners) throw new IcrlError('sac: saveCheckpoint() before reset()', 'STATE');
    this.learners.saveCheckpoint(file, { ...extra, agentSteps: this.steps }, extraTensors);
  }

  /** restores a checkpoint after reset() on the same environment shape; returns the caller's `extra` */
  restoreCheckpoint(file: string): Record<string, unknown> {
    if (!this.learners) throw new IcrlError('sac: restoreCheckpoint() before reset()', 'STATE');
    const { agentSteps, ...extra } = this.learners.restoreCheckpoint(file);
    this.steps = Number(agentSteps ?? 0);
    return extra;
  }

  /** every learner's mean action squashed into the box (evaluation) */
  actGreedy(obs: Float32Array, out: ActionArray): void {
    const L = this.learners;
    if (!L) throw new IcrlError('sac: actGreedy() before reset()', 'STATE');
    const unit = new Float32Array(L.n * L.spec.actDim);
    L.act(obs, unit, true);
    L.toBox(unit, out as Float32Array);
  }

  observe(o: StepOutcome): void {
    const L = this.learners;
    if (!L) throw new IcrlError('sac: observe() before reset()', 'STATE');
    const { obsDim: D, actDim: A, numEnvs } = this.env;
    for (let i = 0; i < numEnvs; i++) {
      const ended = o.terminated[i] || o.truncated[i];
      const next = (ended ? this.env.finalObs : o.obs).subarray(i * D, (i + 1) * D);
      L.store(i, this.lastObs.subarray(i * D, (i + 1) * D), this.lastAct.subarray(i * A, (i + 1) * A), o.rewards[i], next, o.terminated[i] ? 1 : 0);
    }
    // CleanRL trains when global_step > learning_starts
    if (this.steps > this.opts.learningStarts && this.steps % this.opts.trainFrequency === 0) for (let u = 0; u < this.opts.updatesPerStep; u++) L.update();
    this.steps++;
  }
}
