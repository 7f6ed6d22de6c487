/**
 * Metrics of an evaluation. Bandits: cumulative regret R_t = sum_{s<=t} (mu* - mu_{a_s}) and the
 * per-step suboptimality mu* - mu_{a_t}, both from the arms' expected values (never the sampled
 * rewards, which would add noise that is no fault of the agent). MDPs: return per in-context episode.
 * Each is summarised by its mean over tasks with a 95% interval.
 */
import type { EpisodeRecord, StepRecord } from './evaluator.js';
import { bandOverTasks, meanCi, type Band } from './stats.js';

/** Per-step suboptimality of one task: best - expected[t]. */
export function suboptimality(expected: ArrayLike<number>, best: number): Float64Array {
  const out = new Float64Array(expected.length);
  for (let t = 0; t < expected.length; t++) out[t] = best - expected[t];
  return out;
}

/** Cumulative regret of one task: running sum of the suboptimality. */
export function cumulativeRegret(expected: ArrayLike<number>, best: number): Float64Array {
  const out = new Float64Array(expected.length);
  let s = 0;
  for (let t = 0; t < expected.length; t++) {
    s += best - expected[t];
    out[t] = s;
  }
  return out;
}

export interface Scalar {
  mean: number;
  lo: number;
  hi: number;
}

function scalar(values: ArrayLike<number>): Scalar {
  const m = meanCi(values);
  return { mean: m.mean, lo: m.lo, hi: m.hi };
}

/** Summary of a bandit-mode run: bands over t = 1..T, and the final regret. */
export interface BanditSummary {
  mode: 'steps';
  steps: number;
  numTasks: number;
  cumRegret: Band;
  suboptimality: Band;
  finalRegret: Scalar;
  /** Final cumulative regret of each task (in task order). */
  perTaskFinalRegret: number[];
  /** Fraction of steps on an optimal arm (mean over tasks). */
  optimalFraction: number;
  wallSeconds: number;
}

export function summarizeSteps(rec: StepRecord): BanditSummary {
  const regret = rec.expected.map((e, i) => cumulativeRegret(e, rec.best[i]));
  const sub = rec.expected.map((e, i) => suboptimality(e, rec.best[i]));
  const finals = regret.map((r) => r[r.length - 1]);
  let opt = 0;
  for (let i = 0; i < rec.numTasks; i++) {
    let c = 0;
    for (let t = 0; t < rec.steps; t++) if (rec.best[i] - rec.expected[i][t] <= 1e-12) c++;
    opt += c / rec.steps;
  }
  return {
    mode: 'steps',
    steps: rec.steps,
    numTasks: rec.numTasks,
    cumRegret: bandOverTasks(regret),
    suboptimality: bandOverTasks(sub),
    finalRegret: scalar(finals),
    perTaskFinalRegret: finals,
    optimalFraction: opt / rec.numTasks,
    wallSeconds: rec.wallSeconds,
  };
}

/** Summary of an MDP-mode run: return per in-context episode, and the oracle's. */
export interface EpisodeSummary {
  mode: 'episodes';
  episodes: number;
  numTasks: number;
  returns: Band;
  /** Mean over tasks of the oracle's expected return per episode; null for a family without an exact oracle (MuJoCo). */
  oracle: Scalar | null;
  /** Return of the last episode relative to the oracle's (mean over tasks of return / oracle); null without an oracle. */
  lastOverOracle: number | null;
  perTaskReturns: number[][];
  /** Success rate per in-context episode (fraction of tasks, with a 95% band) and each task's flags; absent for a family without a success criterion. */
  successRate?: Band;
  perTaskSuccess?: number[][];
  wallSeconds: number;
}

export function summarizeEpisodes(rec: EpisodeRecord): EpisodeSummary {
  const last = rec.returns.map((r) => r[r.length - 1]);
  const oracle = rec.oracle;
  let s = 0;
  let n = 0;
  if (oracle) {
    for (let i = 0; i < rec.numTasks; i++) {
      if (oracle[i] !== 0) {
        s += last[i] / oracle[i];
        n++;
      }
    }
  }
  return {
    mode: 'episodes',
    episodes: rec.episodes,
    numTasks: rec.numTasks,
    returns: bandOverTasks(rec.returns),
    oracle: oracle ? scalar(oracle) : null,
    lastOverOracle: oracle ? (n > 0 ? s / n : NaN) : null,
    perTaskReturns: rec.returns.map((r) => Array.from(r)),
    ...(rec.successes ? { successRate: bandOverTasks(rec.successes), perTaskSuccess: rec.successes.map((r) => Array.from(r)) } : {}),
    wallSeconds: rec.wallSeconds,
  };
}
