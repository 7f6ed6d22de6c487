/**
 * Offline evaluation on bandits (the DPT paper's offline protocol): every task comes with a fixed
 * logged dataset of pulls drawn by a behaviour policy; the agent reads the first n logged pulls (it
 * never chooses them) and then picks one arm. The figure is the suboptimality of that pick, best mean
 * - chosen mean, against n. Agents meant for this (LCB, DPT in greedy mode) choose by pessimism or
 * by their prediction; an online explorer such as UCB shows why pessimism matters.
 *
 * The behaviour policy is the DPT pretraining roll-in (docs/protocols.md): arm probabilities drawn from a
 * Dirichlet(1, ..., 1), mixed with a point mass on the best arm whose weight is drawn from
 * {0, 0.1, ..., 1}.
 */
import type { Agent } from '../algorithms/agent.js';
import type { BatchedEnv } from '../envs/types.js';
import type { Task } from '../tasks/taskSpace.js';
import { Rng } from '../core/rng.js';
import { IcrlError } from '../core/errors.js';
import { expectedRewardFn, LazyProgress } from './evaluator.js';

export interface OfflineDataset {
  /** actions[i][s]: arm of the s-th logged pull of task i. */
  actions: Int32Array[];
  /** rewards[i][s]: its sampled reward. */
  rewards: Float32Array[];
  /** Weight of the point mass on the best arm in each task's behaviour policy. */
  optimalWeight: Float64Array;
}

/**
 * Logs `size` pulls per task from the Dirichlet-mixture behaviour policy, with rewards sampled by
 * `env` (give it the training noise, e.g. noiseSd 0.3). `env.numEnvs` must equal the number of tasks.
 */
export function makeOfflineDataset(env: BatchedEnv, tasks: Task[], size: number, seed: number): OfflineDataset {
  if (env.numEnvs !== tasks.length) throw new IcrlError(`offline dataset: ${env.numEnvs} instances for ${tasks.length} tasks`);
  if (!Number.isInteger(size) || size < 1) throw new IcrlError(`offline dataset: size must be a positive integer, got ${size}`);
  const N = tasks.length;
  const A = env.numActions;
  const rng = new Rng(seed);
  env.setTasks(tasks);
  env.reset(rng.split('env').nextU32());
  const policyRng = rng.split('policy');
  const pullRng = rng.split('pulls');
  const probs: Float64Array[] = [];
  const optimalWeight = new Float64Array(N);
  for (let i = 0; i < N; i++) {
    const p = policyRng.dirichlet(new Float64Array(A).fill(1));
    const w = policyRng.int(11) / 10;
    const best = env.oracleAction(i);
    for (let a = 0; a < A; a++) p[a] = (1 - w) * p[a] + (a === best ? w : 0);
    probs.push(p);
    optimalWeight[i] = w;
  }
  const actions = Array.from({ length: N }, () => new Int32Array(size));
  const rewards = Array.from({ length: N }, () => new Float32Array(size));
  const out = new Int32Array(N);
  for (let s = 0; s < size; s++) {
    for (let i = 0; i < N; i++) out[i] = pullRng.choice(probs[i]);
    env.step(out);
    for (let i = 0; i < N; i++) {
      actions[i][s] = out[i];
      rewards[i][s] = env.rewards[i];
    }
  }
  return { actions, rewards, optimalWeight };
}

export interface OfflineRecord {
  agent: string;
  sizes: number[];
  /** subopt[i][k]: best mean - mean of the arm chosen on task i after reading sizes[k] pulls. */
  subopt: Float64Array[];
  /** chosen[i][k]: the arm chosen. */
  chosen: Int32Array[];
}

/**
 * Feeds each task's logged pulls to `agent` one by one (as `observe` outcomes) and asks it for an
 * arm (`act`) after each size in `sizes`. The dataset's rewards, not the environment's, are what the
 * agent sees; `env` only tells the agent the shape of the problem and gives the arm means.
 */
export async function evaluateOffline(agent: Agent, env: BatchedEnv, tasks: Task[], data: OfflineDataset, sizes: number[], opts: { seed: number; progress?: string | false }): Promise<OfflineRecord> {
  const N = tasks.length;
  if (env.numEnvs !== N) throw new IcrlError(`offline evaluation: ${env.numEnvs} instances for ${N} tasks`);
  const sorted = [...sizes].sort((a, b) => a - b);
  const maxSize = sorted[sorted.length - 1];
  if (sorted.some((s, k) => !Number.isInteger(s) || s < 0 || (k > 0 && s === sorted[k - 1]))) throw new IcrlError(`offline evaluation: sizes must be distinct non-negative integers, got ${sizes.join(', ')}`);
  if (maxSize > data.actions[0].length) throw new IcrlError(`offline evaluation: size ${maxSize} exceeds the dataset's ${data.actions[0].length} pulls per task`);
  env.setTasks(tasks);
  env.reset(new Rng(opts.seed).split('env').nextU32());
  const meanOf = expectedRewardFn(env);
  if (!meanOf) throw new IcrlError(`offline evaluation: ${env.family} exposes no arm means`);
  const best = new Float64Array(N);
  for (let i = 0; i < N; i++) best[i] = meanOf(i, env.oracleAction(i));
  const subopt = Array.from({ length: N }, () => new Float64Array(sorted.length));
  const chosen = Array.from({ length: N }, () => new Int32Array(sorted.length));
  const r = agent.reset(env, new Rng(opts.seed).split(`agent:${agent.name}`));
  if (r instanceof Promise) await r;
  const out = new Int32Array(N);
  const actions = new Int32Array(N);
  const rewards = new Float32Array(N);
  const terminated = new Uint8Array(N).fill(1);
  const truncated = new Uint8Array(N);
  const bar = opts.progress === false ? null : new LazyProgress(opts.progress ?? `offline ${agent.name}`, maxSize, 'pulls');
  let k = 0;
  for (let s = 0; s <= maxSize; s++) {
    if (s === sorted[k]) {
      const p = agent.act(env.obs, out);
      if (p instanceof Promise) await p;
      for (let i = 0; i < N; i++) {
        chosen[i][k] = out[i];
        subopt[i][k] = best[i] - meanOf(i, out[i]);
      }
      k++;
    }
    if (s === maxSize) break;
    for (let i = 0; i < N; i++) {
      actions[i] = data.actions[i][s];
      rewards[i] = data.rewards[i][s];
    }
    agent.observe({ actions, rewards, obs: env.obs, terminated, truncated });
    bar?.tick(1);
  }
  bar?.finish();
  return { agent: agent.name, sizes: sorted, subopt, chosen };
}
