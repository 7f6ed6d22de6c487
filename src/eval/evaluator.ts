/**
 * Online in-context evaluation: an agent plays every held-out task at once (one batched environment,
 * one instance per task) with no weight updates; whatever it learns, it learns from its own history.
 * Bandits run for T steps and record, per task and step, the chosen arm, the sampled reward and the
 * expected reward of the chosen arm (for regret against the oracle's expected value). MDPs run K
 * in-context episodes per task (episodes accumulate in the agent's history, as AD expects) and record
 * the return and length of every episode. Asynchronous agents (LLM agents) are awaited.
 */
import type { Agent } from '../algorithms/agent.js';
import type { ActionArray, BatchedEnv } from '../envs/types.js';
import type { Task } from '../tasks/taskSpace.js';
import { Rng } from '../core/rng.js';
import { IcrlError } from '../core/errors.js';
import { Progress } from '../core/progress.js';

/** Expected reward of taking `action` in instance i's current state (bandits: the arm's mean). */
export type ExpectedRewardFn = (i: number, action: number) => number;

/**
 * The expected reward of an action, as the environment's family declares it (`expectedReward`, which
 * every bandit family has); null when the family does not know it (regret cannot be computed exactly).
 */
export function expectedRewardFn(env: BatchedEnv): ExpectedRewardFn | null {
  const f = env.expectedReward;
  return f ? (i, a) => f.call(env, i, a) : null;
}

export interface OnlineEvalOptions {
  /** Steps per task (bandit mode: one decision per step, regret recorded). */
  steps?: number;
  /** In-context episodes per task (MDP mode: returns per episode recorded). */
  episodes?: number;
  /** Seed of this evaluation; the environment and the agent get child streams of it. */
  seed: number;
  /** Progress bar label; false for none. */
  progress?: string | false;
  /** Expected reward of an action (bandit mode); found with {@link expectedRewardFn} when absent. */
  expectedReward?: ExpectedRewardFn;
  /** Called after every step with the number of steps done (tests, LLM logging). */
  onStep?: (step: number) => void;
}

/** Bandit-mode record: per task and step, what was chosen and what it was worth. */
export interface StepRecord {
  mode: 'steps';
  agent: string;
  family: string;
  numTasks: number;
  steps: number;
  /** actions[i][t]: arm chosen on task i at step t. */
  actions: Int32Array[];
  /** rewards[i][t]: sampled reward. */
  rewards: Float32Array[];
  /** expected[i][t]: expected reward of the chosen arm. */
  expected: Float64Array[];
  /** best[i]: expected reward of the best arm of task i. */
  best: Float64Array;
  wallSeconds: number;
}

/** MDP-mode record: per task, the return and length of each in-context episode. */
export interface EpisodeRecord {
  mode: 'episodes';
  agent: string;
  family: string;
  numTasks: number;
  episodes: number;
  /** returns[i][k]: undiscounted return of episode k on task i. */
  returns: Float64Array[];
  lengths: Int32Array[];
  /** oracle[i]: expected return of the optimal policy per episode on task i; null when the family has no exact oracle (`exactOracle: false`). */
  oracle: Float64Array | null;
  /** successes[i][k]: 1 where episode k on task i succeeded; null for a family without a success criterion (`finalEpisodeSuccess`). */
  successes?: Uint8Array[] | null;
  totalSteps: number;
  wallSeconds: number;
}

export type OnlineRecord = StepRecord | EpisodeRecord;

/** A progress bar that appears only once the work has taken a couple of seconds (quick runs stay quiet). */
export class LazyProgress {
  private bar: Progress | null = null;
  private done = 0;
  private readonly start = Date.now();
  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly unit: string,
    private readonly delayMs = 2000,
  ) {}
  tick(n = 1): void {
    this.done += n;
    if (!this.bar && Date.now() - this.start >= this.delayMs && this.done < this.total) {
      this.bar = new Progress(this.label, this.total, { unit: this.unit });
    }
    this.bar?.update(this.done);
  }
  finish(): void {
    this.bar?.finish();
  }
}

function isPromise(x: unknown): x is Promise<unknown> {
  return typeof x === 'object' && x !== null && typeof (x as { then?: unknown }).then === 'function';
}

function prepare(env: BatchedEnv, tasks: Task[], agent: Agent, seed: number): { agentRng: Rng; out: ActionArray } {
  if (tasks.length === 0) throw new IcrlError('evaluate: no tasks given');
  if (env.numEnvs !== tasks.length) {
    throw new IcrlError(`evaluate: the environment has ${env.numEnvs} instances but ${tasks.length} tasks were given (one instance per task)`);
  }
  const rng = new Rng(seed);
  env.setTasks(tasks);
  env.reset(rng.split('env').nextU32());
  const agentRng = rng.split(`agent:${agent.name}`);
  const out: ActionArray = env.numActions > 0 ? new Int32Array(env.numEnvs) : new Float32Array(env.numEnvs * env.actDim);
  return { agentRng, out };
}

/**
 * Evaluates `agent` online on `tasks` (one per instance of `env`). Give `steps` for bandit mode or
 * `episodes` for MDP mode.
 */
export async function evaluateOnline(agent: Agent, env: BatchedEnv, tasks: Task[], opts: OnlineEvalOptions): Promise<OnlineRecord> {
  if ((opts.steps === undefined) === (opts.episodes === undefined)) {
    throw new IcrlError('evaluate: give exactly one of steps (bandits) or episodes (MDPs)');
  }
  if (opts.steps !== undefined) return evaluateSteps(agent, env, tasks, opts, opts.steps);
  return evaluateEpisodes(agent, env, tasks, opts, opts.episodes!);
}

async function evaluateSteps(agent: Agent, env: BatchedEnv, tasks: Task[], opts: OnlineEvalOptions, T: number): Promise<StepRecord> {
  if (!Number.isInteger(T) || T < 1) throw new IcrlError(`evaluate: steps must be a positive integer, got ${T}`);
  if (env.numActions === 0) throw new IcrlError(`evaluate: bandit mode (steps) needs discrete actions; ${env.family} has continuous actions`);
  const { agentRng, out } = prepare(env, tasks, agent, opts.seed);
  const meanOf = opts.expectedReward ?? expectedRewardFn(env);
  if (!meanOf) {
    throw new IcrlError(`evaluate: cannot compute regret on ${env.family}: its environment exposes no expected reward per action and its tasks have no "means"; evaluate it in episodes mode`);
  }
  const N = env.numEnvs;
  const A = env.numActions;
  const best = new Float64Array(N);
  for (let i = 0; i < N; i++) {
    let b = -Infinity;
    for (let a = 0; a < A; a++) b = Math.max(b, meanOf(i, a));
    best[i] = b;
  }
  const actions = Array.from({ length: N }, () => new Int32Array(T));
  const rewards = Array.from({ length: N }, () => new Float32Array(T));
  const expected = Array.from({ length: N }, () => new Float64Array(T));
  const bar = opts.progress === false ? null : new LazyProgress(opts.progress ?? `eval ${agent.name}`, T, 'steps');
  const t0 = performance.now();
  const r = agent.reset(env, agentRng);
  if (isPromise(r)) await r;
  for (let t = 0; t < T; t++) {
    const p = agent.act(env.obs, out);
    if (isPromise(p)) await p;
    for (let i = 0; i < N; i++) {
      const a = out[i];
      actions[i][t] = a;
      expected[i][t] = meanOf(i, a);
    }
    env.step(out);
    for (let i = 0; i < N; i++) rewards[i][t] = env.rewards[i];
    agent.observe({ actions: out, rewards: env.rewards, obs: env.obs, terminated: env.terminated, truncated: env.truncated });
    bar?.tick(1);
    opts.onStep?.(t + 1);
  }
  bar?.finish();
  return {
    mode: 'steps',
    agent: agent.name,
    family: env.family,
    numTasks: N,
    steps: T,
    actions,
    rewards,
    expected,
    best,
    wallSeconds: (performance.now() - t0) / 1000,
  };
}

async function evaluateEpisodes(agent: Agent, env: BatchedEnv, tasks: Task[], opts: OnlineEvalOptions, K: number): Promise<EpisodeRecord> {
  if (!Number.isInteger(K) || K < 1) throw new IcrlError(`evaluate: episodes must be a positive integer, got ${K}`);
  const { agentRng, out } = prepare(env, tasks, agent, opts.seed);
  const N = env.numEnvs;
  let oracle: Float64Array | null = null;
  if (env.exactOracle !== false) {
    oracle = new Float64Array(N);
    for (let i = 0; i < N; i++) oracle[i] = env.oracleValue(i);
  }
  const returns = Array.from({ length: N }, () => new Float64Array(K));
  const lengths = Array.from({ length: N }, () => new Int32Array(K));
  const successFlags = env.finalEpisodeSuccess;
  const successes = successFlags ? Array.from({ length: N }, () => new Uint8Array(K)) : null;
  const done = new Int32Array(N); // finished episodes per instance
  const running = new Float64Array(N);
  const runningLen = new Int32Array(N);
  let remaining = N;
  const maxSteps = K * env.horizon;
  const bar = opts.progress === false ? null : new LazyProgress(opts.progress ?? `eval ${agent.name}`, N * K, 'episodes');
  const t0 = performance.now();
  const r = agent.reset(env, agentRng);
  if (isPromise(r)) await r;
  let step = 0;
  while (remaining > 0) {
    if (step >= maxSteps) {
      throw new IcrlError(`evaluate: ${env.family} did not end ${K} episodes within ${maxSteps} steps (horizon ${env.horizon}); the environment's truncation is broken`);
    }
    const p = agent.act(env.obs, out);
    if (isPromise(p)) await p;
    env.step(out);
    let ended = 0;
    for (let i = 0; i < N; i++) {
      if (done[i] >= K) continue;
      running[i] += env.rewards[i];
      runningLen[i] += 1;
      if (env.terminated[i] || env.truncated[i]) {
        returns[i][done[i]] = running[i];
        lengths[i][done[i]] = runningLen[i];
        if (successes) successes[i][done[i]] = successFlags![i];
        done[i] += 1;
        running[i] = 0;
        runningLen[i] = 0;
        ended++;
        if (done[i] === K) remaining--;
      }
    }
    agent.observe({ actions: out, rewards: env.rewards, obs: env.obs, terminated: env.terminated, truncated: env.truncated });
    step++;
    if (ended) bar?.tick(ended);
    opts.onStep?.(step);
  }
  bar?.finish();
  return {
    mode: 'episodes',
    agent: agent.name,
    family: env.family,
    numTasks: N,
    episodes: K,
    returns,
    lengths,
    oracle,
    successes,
    totalSteps: step,
    wallSeconds: (performance.now() - t0) / 1000,
  };
}
