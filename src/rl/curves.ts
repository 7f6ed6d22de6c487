/**
 * Learning curves of batched learners: train one learner per environment instance (each instance
 * its own task) and evaluate every learner's deterministic policy at regular intervals on a copy
 * of the environment with the same tasks.
 */
import type { Agent } from '../algorithms/agent.js';
import { IcrlError } from '../core/errors.js';
import type { Rng } from '../core/rng.js';
import type { ActionArray, BatchedEnv } from '../envs/types.js';

/** an agent whose learners can act greedily (mean action, or the most probable one) */
export interface GreedyActor extends Agent {
  actGreedy(obs: Float32Array, out: ActionArray): void;
}

export interface LearningCurves {
  /** environment steps per learner at each evaluation */
  steps: number[];
  /** mean evaluation return per evaluation (rows) and task (columns) */
  returns: number[][];
  /**
   * success rate of each evaluation (rows) and task (columns): the fraction of evaluation episodes
   * that ended in success, for families that report it (`finalEpisodeSuccess`: reach, push); null
   * for the others
   */
  success: number[][] | null;
  /** each task's optimal expected return (the family's oracle), null where the family has no exact one (MuJoCo) */
  oracle: (number | null)[];
  /** seconds of wall-clock training (evaluations excluded) */
  trainSeconds: number;
}

/** the per-episode success flags of a family that reports them (reach, push), else null */
export function episodeSuccessFlags(env: BatchedEnv): Uint8Array | null {
  const f = (env as { finalEpisodeSuccess?: unknown }).finalEpisodeSuccess;
  return f instanceof Uint8Array && f.length === env.numEnvs ? f : null;
}

/**
 * Mean return of each instance's greedy policy over `episodes` whole episodes of evalEnv, and the
 * fraction of those episodes that ended in success where the family reports it (null otherwise).
 */
export function evaluateGreedyDetailed(agent: GreedyActor, evalEnv: BatchedEnv, episodes: number): { returns: number[]; success: number[] | null } {
  const n = evalEnv.numEnvs;
  evalEnv.reset();
  const flags = episodeSuccessFlags(evalEnv);
  const ret = new Float64Array(n);
  const wins = new Float64Array(n);
  const ends = new Float64Array(n);
  const out = evalEnv.numActions > 0 ? new Int32Array(n) : new Float32Array(n * evalEnv.actDim);
  for (let t = 0; t < episodes * evalEnv.horizon; t++) {
    agent.actGreedy(evalEnv.obs, out);
    evalEnv.step(out);
    for (let i = 0; i < n; i++) {
      ret[i] += evalEnv.rewards[i];
      if (flags && (evalEnv.terminated[i] || evalEnv.truncated[i])) {
        ends[i]++;
        wins[i] += flags[i];
      }
    }
  }
  return { returns: Array.from(ret, (v) => v / episodes), success: flags ? Array.from(wins, (w, i) => (ends[i] > 0 ? w / ends[i] : 0)) : null };
}

/** mean return of each instance's greedy policy over `episodes` whole episodes of evalEnv */
export function evaluateGreedy(agent: GreedyActor, evalEnv: BatchedEnv, episodes: number): number[] {
  return evaluateGreedyDetailed(agent, evalEnv, episodes).returns;
}

/**
 * Trains `agent` (reset here on `env`) for `steps` steps per learner and evaluates it every
 * `evalEvery` steps (and at the end) on `evalEnv`, which must hold the same tasks.
 */
export function learningCurves(agent: GreedyActor, env: BatchedEnv, evalEnv: BatchedEnv, steps: number, evalEvery: number, evalEpisodes: number, rng: Rng): LearningCurves {
  if (evalEnv.numEnvs !== env.numEnvs) throw new IcrlError(`learningCurves: evaluation environment has ${evalEnv.numEnvs} instances, training ${env.numEnvs}`, 'CONFIG');
  env.reset();
  const r = agent.reset(env, rng);
  if (r instanceof Promise) throw new IcrlError(`learningCurves: ${agent.name} resets asynchronously`, 'CONFIG');
  const out = env.numActions > 0 ? new Int32Array(env.numEnvs) : new Float32Array(env.numEnvs * env.actDim);
  const oracleOf = (i: number): number | null => {
    try {
      return env.oracleValue(i);
    } catch {
      return null;
    }
  };
  const curves: LearningCurves = { steps: [], returns: [], success: episodeSuccessFlags(evalEnv) ? [] : null, oracle: Array.from({ length: env.numEnvs }, (_, i) => oracleOf(i)), trainSeconds: 0 };
  const evaluate = (t: number): void => {
    curves.steps.push(t);
    const e = evaluateGreedyDetailed(agent, evalEnv, evalEpisodes);
    curves.returns.push(e.returns);
    if (curves.success && e.success) curves.success.push(e.success);
  };
  evaluate(0);
  let t0 = performance.now();
  for (let t = 1; t <= steps; t++) {
    const a = agent.act(env.obs, out);
    if (a instanceof Promise) throw new IcrlError(`learningCurves: ${agent.name} acts asynchronously`, 'CONFIG');
    env.step(out);
    agent.observe({ actions: out, rewards: env.rewards, obs: env.obs, terminated: env.terminated, truncated: env.truncated });
    if (t % evalEvery === 0 || t === steps) {
      curves.trainSeconds += (performance.now() - t0) / 1000;
      evaluate(t);
      t0 = performance.now();
    }
  }
  return curves;
}
