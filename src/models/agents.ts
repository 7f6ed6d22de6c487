/**
 * Trained models as agents (the `Agent` interface of src/algorithms/agent.ts), playing a batch of
 * environment instances at once with batched key/value-cache decoding: each step feeds one new token
 * per instance through the model; nothing already seen is recomputed.
 *
 * DPT agent: the context is every interaction so far (s, a, r, s'), across episodes; each step
 * appends the last transition to the cache and asks the head for the action at the current state.
 * The cache grows by doubling (no positions, so there is no length limit besides memory). With
 * `context: episodes` (the DPT paper's online mode) the transitions of the running episode wait and
 * enter the cache together when it ends, so each episode is played from the earlier ones. A DPT with
 * `model.queryToken` (the query state in the sequence) has no cache: the agent keeps the context's
 * tokens and every step recomputes the sequence for the current state (cost linear in the context
 * per step).
 *
 * AD agent: one token per step (observation, previous action, previous reward); episodes
 * accumulate in the context. The context window is the model's trained window (contextLength
 * tokens, its learned positions). When it is full, the oldest `slide` tokens are dropped, where
 * slide = max(episode horizon, window / 4) (at most window - 1), and the kept tokens are re-encoded
 * from position 0 in one batched forward pass; with Dark Room's fixed 100-step episodes and a
 * 4-episode window this drops exactly the oldest episode, so the context always starts at an
 * episode boundary, as the training windows do. This is the only recomputation, once per episode.
 * A state-space backbone, or a sliding-window cache without learned positions, has no such limit
 * (`backbone.unbounded`): every step enters the state or the ring and nothing is re-encoded.
 *
 * Action choice: `sample` (default) draws from the predicted distribution with the agent's seeded
 * stream (the DPT and AD papers sample; it is what makes the model explore); `greedy` takes the
 * argmax. Continuous actions (point-robot) are the predicted vector clipped to the action bounds.
 */
import type { Agent, StepOutcome } from '../algorithms/agent.js';
import type { ActionArray, BatchedEnv } from '../envs/types.js';
import type { Rng } from '../core/rng.js';
import { IcrlError } from '../core/errors.js';
import { KVCache, noGrad, tensor, tidy } from '../nn/index.js';
import type { BackboneCache } from './backbone.js';
import { ADModel } from './ad.js';
import { DPTModel } from './dpt.js';
import { writeAdToken, writeDptToken, writeObs, type EnvDims } from './features.js';

export type ActionSelection = 'sample' | 'greedy';

export interface ModelAgentOptions {
  actionSelection?: ActionSelection;
  /**
   * DPT only: what the context holds online. `steps` (default): every transition so far, the last
   * one appended after each step. `episodes`: the agent's completed episodes only, as in the DPT
   * paper's online MDP evaluation (its first episode is played from an empty context, each later one
   * from all the earlier ones); the transitions of an episode enter the context when it ends (every
   * instance of the batch must end its episodes at the same steps).
   */
  context?: 'steps' | 'episodes';
  /** Softmax temperature when sampling (default 1). */
  temperature?: number;
  name?: string;
}

function checkEnv(dims: EnvDims, env: BatchedEnv, who: string): void {
  if (env.family !== dims.family) throw new IcrlError(`${who}: the model was trained on ${dims.family}, not ${env.family}`);
  if (env.obsDim !== dims.obsDim || env.numActions !== dims.numActions || env.actDim !== dims.actDim) {
    throw new IcrlError(
      `${who}: environment shape (obsDim ${env.obsDim}, numActions ${env.numActions}, actDim ${env.actDim}) differs from the model's (obsDim ${dims.obsDim}, numActions ${dims.numActions}, actDim ${dims.actDim})`,
    );
  }
}

/** Writes one action per row from predictions [N, outSize]. */
function chooseActions(pred: Float32Array, dims: EnvDims, N: number, out: ActionArray, sel: ActionSelection, temperature: number, rng: Rng): void {
  if (dims.numActions > 0) {
    const A = dims.numActions;
    const p = new Float64Array(A);
    for (let i = 0; i < N; i++) {
      const o = i * A;
      let best = 0;
      for (let a = 1; a < A; a++) if (pred[o + a] > pred[o + best]) best = a;
      if (sel === 'greedy') {
        out[i] = best;
        continue;
      }
      const m = pred[o + best];
      for (let a = 0; a < A; a++) p[a] = Math.exp((pred[o + a] - m) / temperature);
      out[i] = rng.choice(p);
    }
    return;
  }
  const lo = dims.actLow ?? -Infinity;
  const hi = dims.actHigh ?? Infinity;
  for (let k = 0; k < N * dims.actDim; k++) out[k] = Math.min(hi, Math.max(lo, pred[k]));
}

/** A copy of a dense cache with more room (rows keep their positions and sink slots). */
function growCache(c: KVCache, maxLen: number): KVCache {
  const n = new KVCache(c.batch, maxLen, c.dim, c.layers.length, { sinks: c.sinks, window: c.window });
  const used = c.sinks + c.length;
  for (let l = 0; l < c.layers.length; l++) {
    for (const key of ['k', 'v'] as const) {
      const src = c.layers[l][key];
      const dst = n.layers[l][key];
      for (let b = 0; b < c.batch; b++) dst.set(src.subarray(b * c.slots * c.dim, (b * c.slots + used) * c.dim), b * n.slots * c.dim);
    }
  }
  n.length = c.length;
  return n;
}

export class DPTAgent implements Agent {
  readonly name: string;
  private env: BatchedEnv | null = null;
  private rng: Rng | null = null;
  private cache: BackboneCache | null = null;
  private h: Float32Array = new Float32Array(0);
  private lastObs: Float32Array = new Float32Array(0);
  private token: Float32Array = new Float32Array(0);
  private query: Float32Array = new Float32Array(0);
  private readonly sel: ActionSelection;
  private readonly temperature: number;
  private readonly episodic: boolean;
  /** context: episodes: tokens of the running episode, [steps][N * tokenSize]. */
  private pending: Float32Array[] = [];
  /** model.queryToken: the context's tokens [N, ctxLength, tokenSize] (no cache). */
  private ctx: Float32Array = new Float32Array(0);
  private ctxLength = 0;

  constructor(
    readonly model: DPTModel,
    opts: ModelAgentOptions = {},
  ) {
    this.name = opts.name ?? (model.cfg.moe ? 't2mir-dpt' : 'dpt');
    this.sel = opts.actionSelection ?? 'sample';
    this.temperature = opts.temperature ?? 1;
    this.episodic = opts.context === 'episodes';
  }

  /** Number of transitions in the context. */
  get contextSize(): number {
    if (this.model.queryToken) return this.ctxLength;
    return this.cache ? this.cache.length - 1 : 0;
  }

  reset(env: BatchedEnv, rng: Rng): void {
    checkEnv(this.model.dims, env, this.name);
    this.env = env;
    this.rng = rng;
    const N = env.numEnvs;
    this.model.eval();
    this.lastObs = new Float32Array(N * env.obsDim);
    this.token = new Float32Array(N * this.model.tokenSize);
    this.query = new Float32Array(N * this.model.querySize);
    this.pending = [];
    this.ctx = new Float32Array(0);
    this.ctxLength = 0;
    if (this.model.queryToken) {
      this.cache = null;
      return;
    }
    this.cache = this.model.backbone.createCache(N, 128);
    this.h = noGrad(() => tidy(() => this.model.startCache(this.cache!).toArray()));
  }

  act(obs: Float32Array, out: ActionArray): void {
    const env = this.env;
    if (!env || !this.rng) throw new IcrlError(`${this.name}: act() before reset()`);
    const N = env.numEnvs;
    const d = this.model.dims;
    this.lastObs.set(obs.subarray(0, N * env.obsDim));
    for (let i = 0; i < N; i++) writeObs(d, obs, i * env.obsDim, this.query, i * this.model.querySize);
    const pred = noGrad(() =>
      tidy(() => {
        if (this.model.queryToken) return this.model.predictNaive(this.ctx, N, this.ctxLength, this.query).toArray();
        const h = tensor(this.h, [N, this.model.cfg.dModel]);
        return this.model.predict(h, this.query).toArray();
      }),
    );
    chooseActions(pred, d, N, out, this.sel, this.temperature, this.rng);
  }

  observe(o: StepOutcome): void {
    const env = this.env;
    if (!env || (!this.cache && !this.model.queryToken)) throw new IcrlError(`${this.name}: observe() before reset()`);
    const N = env.numEnvs;
    const d = this.model.dims;
    const od = env.obsDim;
    const tok = this.token;
    const ts = this.model.tokenSize;
    const aw = d.numActions > 0 ? 1 : d.actDim;
    let ends = 0;
    for (let i = 0; i < N; i++) {
      const ended = o.terminated[i] === 1 || o.truncated[i] === 1;
      if (ended) ends++;
      writeDptToken(d, this.lastObs, i * od, o.actions, i * aw, o.rewards[i], ended ? env.finalObs : o.obs, i * od, tok, i * ts);
    }
    if (!this.episodic) {
      this.append(tok, 1);
      return;
    }
    this.pending.push(tok.slice());
    if (ends === 0) return;
    if (ends < N) throw new IcrlError(`${this.name}: context: episodes needs every instance to end its episodes at the same steps; ${ends} of ${N} ended at step ${this.pending.length} of the episode`);
    // the finished episode enters the context: tokens [N, steps, ts]
    const S = this.pending.length;
    const all = new Float32Array(N * S * ts);
    for (let t = 0; t < S; t++) for (let i = 0; i < N; i++) all.set(this.pending[t].subarray(i * ts, (i + 1) * ts), (i * S + t) * ts);
    this.pending = [];
    this.append(all, S);
  }

  /** Appends T tokens per instance ([N, T, tokenSize]) to the cache and keeps the last summary. */
  private append(tokens: Float32Array, T: number): void {
    const N = this.env!.numEnvs;
    if (this.model.queryToken) {
      // [N, C, ts] + [N, T, ts] -> [N, C + T, ts]
      const ts = this.model.tokenSize;
      const C = this.ctxLength;
      const next = new Float32Array(N * (C + T) * ts);
      for (let i = 0; i < N; i++) {
        next.set(this.ctx.subarray(i * C * ts, (i + 1) * C * ts), i * (C + T) * ts);
        next.set(tokens.subarray(i * T * ts, (i + 1) * T * ts), (i * (C + T) + C) * ts);
      }
      this.ctx = next;
      this.ctxLength = C + T;
      return;
    }
    if (this.cache instanceof KVCache && !this.cache.fits(T)) {
      let room = this.cache.maxLen * 2;
      while (this.cache.length + T > room) room *= 2;
      this.cache = growCache(this.cache, room);
    }
    const cache = this.cache!;
    this.h = noGrad(() => tidy(() => this.model.appendTokens(tokens, N, T, cache).toArray()));
  }
}

export class ADAgent implements Agent {
  readonly name: string;
  private env: BatchedEnv | null = null;
  private rng: Rng | null = null;
  private cache: BackboneCache | null = null;
  /** Tokens currently in the context, [N, window, tokenSize]. */
  private hist: Float32Array = new Float32Array(0);
  private prevAction: Float32Array = new Float32Array(0);
  private prevReward: Float32Array = new Float32Array(0);
  private hasPrev = false;
  /** 1 where the next token starts an episode. */
  private episodeStart: Uint8Array = new Uint8Array(0);
  private token: Float32Array = new Float32Array(0);
  private readonly sel: ActionSelection;
  private readonly temperature: number;
  /** Tokens dropped when the window is full (see the file comment). */
  slide = 0;
  /** Number of times the context was slid (re-encoded). */
  slides = 0;

  constructor(
    readonly model: ADModel,
    opts: ModelAgentOptions = {},
  ) {
    this.name = opts.name ?? (model.cfg.moe ? 't2mir-ad' : 'ad');
    this.sel = opts.actionSelection ?? 'sample';
    this.temperature = opts.temperature ?? 1;
  }

  get contextSize(): number {
    return this.cache ? this.cache.length : 0;
  }

  reset(env: BatchedEnv, rng: Rng): void {
    checkEnv(this.model.dims, env, this.name);
    this.env = env;
    this.rng = rng;
    const N = env.numEnvs;
    const W = this.model.contextLength;
    this.model.eval();
    this.cache = this.model.backbone.createCache(N, W);
    // a recurrent state or a sliding-window cache never fills: nothing is kept to re-encode
    this.hist = new Float32Array(this.model.backbone.unbounded ? 0 : N * W * this.model.tokenSize);
    const aw = env.numActions > 0 ? 1 : env.actDim;
    this.prevAction = new Float32Array(N * aw);
    this.prevReward = new Float32Array(N);
    this.hasPrev = false;
    this.episodeStart = new Uint8Array(N).fill(1);
    this.token = new Float32Array(N * this.model.tokenSize);
    this.slide = Math.min(W - 1, Math.max(env.horizon, Math.ceil(W / 4)));
    this.slides = 0;
  }

  act(obs: Float32Array, out: ActionArray): void {
    const env = this.env;
    const cache = this.cache;
    if (!env || !cache || !this.rng) throw new IcrlError(`${this.name}: act() before reset()`);
    const N = env.numEnvs;
    const d = this.model.dims;
    const ts = this.model.tokenSize;
    const W = this.model.contextLength;
    const aw = d.numActions > 0 ? 1 : d.actDim;
    const tok = this.token;
    for (let i = 0; i < N; i++) writeAdToken(d, obs, i * env.obsDim, this.prevAction, i * aw, this.prevReward[i], this.hasPrev, this.episodeStart[i] === 1, tok, i * ts);
    if (!this.model.backbone.unbounded) {
      if (cache.length === W) this.slideWindow();
      const len = cache.length;
      for (let i = 0; i < N; i++) this.hist.set(tok.subarray(i * ts, (i + 1) * ts), (i * W + len) * ts);
    }
    const pred = noGrad(() => tidy(() => this.model.forward(tok, N, 1, cache).toArray()));
    chooseActions(pred, d, N, out, this.sel, this.temperature, this.rng);
  }

  private slideWindow(): void {
    const cache = this.cache!;
    const N = this.env!.numEnvs;
    const ts = this.model.tokenSize;
    const W = this.model.contextLength;
    const keep = W - this.slide;
    const kept = new Float32Array(N * keep * ts);
    for (let i = 0; i < N; i++) {
      const row = this.hist.subarray((i * W + this.slide) * ts, (i * W + W) * ts);
      kept.set(row, i * keep * ts);
      this.hist.set(row, i * W * ts);
    }
    cache.reset();
    noGrad(() => tidy(() => void this.model.forward(kept, N, keep, cache)));
    this.slides++;
  }

  observe(o: StepOutcome): void {
    const env = this.env;
    if (!env) throw new IcrlError(`${this.name}: observe() before reset()`);
    const aw = env.numActions > 0 ? 1 : env.actDim;
    this.prevAction.set(o.actions.subarray(0, env.numEnvs * aw));
    this.prevReward.set(o.rewards.subarray(0, env.numEnvs));
    for (let i = 0; i < env.numEnvs; i++) this.episodeStart[i] = o.terminated[i] === 1 || o.truncated[i] === 1 ? 1 : 0;
    this.hasPrev = true;
  }
}
