/**
 * The headline figures of an evaluation results file, one per agent: the final cumulative regret
 * (bandits), the return of the last in-context episode (MDPs) or the offline suboptimality at the
 * largest dataset, with the per-task scores they are means of. `icrl eval` prints them, `icrl runs`
 * shows the main one, `icrl report A B ...` tabulates them across runs.
 */
import type { EvalResults } from './results.js';
import type { BanditSummary, EpisodeSummary } from './metrics.js';

export interface Headline {
  agent: string;
  reference: boolean;
  part: 'online' | 'offline';
  /** What the figure is, e.g. "regret at t=500". */
  metric: string;
  lowerIsBetter: boolean;
  /** Mean over tasks, with its 95% interval as stored in the results (Student's t over tasks). */
  mean: number;
  lo: number;
  hi: number;
  /** The score of every task (what `mean` averages). */
  perTask: number[];
}

/** Every agent's headline figure, online agents first. */
export function headlines(res: EvalResults): Headline[] {
  const out: Headline[] = [];
  for (const a of res.online?.agents ?? []) {
    if (a.summary.mode === 'steps') {
      const s = a.summary as BanditSummary;
      out.push({ agent: a.name, reference: a.reference === true, part: 'online', metric: `regret at t=${s.steps}`, lowerIsBetter: true, mean: s.finalRegret.mean, lo: s.finalRegret.lo, hi: s.finalRegret.hi, perTask: [...s.perTaskFinalRegret] });
    } else {
      const s = a.summary as EpisodeSummary;
      const k = s.episodes - 1;
      out.push({ agent: a.name, reference: a.reference === true, part: 'online', metric: `return, episode ${s.episodes}`, lowerIsBetter: false, mean: s.returns.mean[k], lo: s.returns.lo[k], hi: s.returns.hi[k], perTask: s.perTaskReturns.map((r) => r[k]) });
    }
  }
  const off = res.offline;
  if (off && off.sizes.length > 0) {
    const j = off.sizes.length - 1;
    for (const a of off.agents) {
      out.push({ agent: a.name, reference: false, part: 'offline', metric: `offline suboptimality at n=${off.sizes[j]}`, lowerIsBetter: true, mean: a.suboptimality.mean[j], lo: a.suboptimality.lo[j], hi: a.suboptimality.hi[j], perTask: a.perTask.map((r) => r[j]) });
    }
  }
  return out;
}

/** The run's main figure: the first non-reference online agent's headline (else the first headline). */
export function mainHeadline(res: EvalResults): Headline | null {
  const all = headlines(res);
  return all.find((h) => !h.reference && h.part === 'online') ?? all.find((h) => !h.reference) ?? all[0] ?? null;
}

/** A number for tables and summaries: 4 significant digits, no exponent between 1e-3 and 1e6. */
export function formatFigure(v: number | null | undefined): string {
  if (v === null || v === undefined || Number.isNaN(v)) return 'n/a';
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e6 || a < 1e-3) return v.toExponential(3);
  const decimals = Math.max(0, 3 - Math.floor(Math.log10(a)));
  return v.toFixed(Math.min(decimals, 6));
}

/** The headlines as aligned text lines (what `icrl eval` prints on stdout). */
export function formatHeadlines(res: EvalResults): string[] {
  const hs = headlines(res);
  const width = Math.max(5, ...hs.map((h) => h.agent.length + (h.reference ? 12 : 0)));
  return hs.map((h) => `${(h.agent + (h.reference ? ' (reference)' : '')).padEnd(width)}  ${h.metric}: ${formatFigure(h.mean)} [${formatFigure(h.lo)}, ${formatFigure(h.hi)}]`);
}
