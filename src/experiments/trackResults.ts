/**
 * An evaluation's curves sent to metrics trackers (`icrl eval --tracker tensorboard`): per agent, the
 * mean cumulative regret and suboptimality at every step (bandits), the mean return of every
 * in-context episode (MDPs), and the offline suboptimality at every dataset size, each as a scalar
 * series whose step is the x of the curve (tags `online/<agent>/cumRegret`, `online/<agent>/return`,
 * `offline/<agent>/suboptimality`).
 */
import type { EvalResults } from '../eval/results.js';
import type { BanditSummary, EpisodeSummary } from '../eval/metrics.js';
import type { MetricsSink, TrackedRecord } from '../train/trackers.js';

/** The records of an evaluation's curves, in step order per agent. */
export function resultsRecords(res: EvalResults): TrackedRecord[] {
  const out: TrackedRecord[] = [];
  for (const a of res.online?.agents ?? []) {
    if (a.summary.mode === 'steps') {
      const s = a.summary as BanditSummary;
      for (let t = 0; t < s.steps; t++) out.push({ kind: 'online', agent: a.name, step: t + 1, cumRegret: s.cumRegret.mean[t], suboptimality: s.suboptimality.mean[t] });
    } else {
      const s = a.summary as EpisodeSummary;
      for (let k = 0; k < s.episodes; k++) out.push({ kind: 'online', agent: a.name, step: k + 1, return: s.returns.mean[k] });
    }
  }
  const off = res.offline;
  for (const a of off?.agents ?? []) off!.sizes.forEach((n, j) => out.push({ kind: 'offline', agent: a.name, step: n, suboptimality: a.suboptimality.mean[j] }));
  return out;
}

/** Writes an evaluation's curves to the sinks (each starts afresh: a rerun replaces them). */
export function trackResults(res: EvalResults, sinks: readonly MetricsSink[]): void {
  const recs = resultsRecords(res);
  for (const s of sinks) {
    s.restart(recs);
    s.close();
  }
}
