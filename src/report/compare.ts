/**
 * Several evaluation runs side by side (`icrl report A B C ...`): a table of every run's headline
 * figures with 95% intervals, and the regret / return / offline curves of all runs overlaid, one
 * colour per run. Runs of one setting that differ only in their seed can be aggregated: their
 * per-task scores are pooled, summarised by the mean and the interquartile mean (IQM) with
 * stratified percentile-bootstrap intervals (each resample redraws the tasks within every seed;
 * Agarwal et al., 2021, "Deep Reinforcement Learning at the Edge of the Statistical Precipice"), and
 * their curves are the mean over seeds with a 95% t-interval across seeds.
 */
import { canonicalJson } from '../core/json.js';
import type { EvalResults } from '../eval/results.js';
import type { BanditSummary, EpisodeSummary } from '../eval/metrics.js';
import { interquartileMean, meanCi, meanOf, stratifiedBootstrapCi, type Band } from '../eval/stats.js';
import { formatFigure, headlines, type Headline } from '../eval/summary.js';
import { DASHES, PALETTE, bandLineChart, type BandSeries, type ReportSection, type TableSpec } from './charts.js';
import { withLogToggle } from './evalReport.js';

/** One results file and the label its series carry. */
export interface CompareRun {
  label: string;
  results: EvalResults;
}

/** Runs drawn as one line per agent: one run, or the seeds of one setting. */
export interface CompareGroup {
  label: string;
  runs: CompareRun[];
}

/** What makes two runs the same setting: the resolved config without its seed and output paths. */
export function settingKey(res: EvalResults): string {
  const cfg = res.config && typeof res.config === 'object' ? { ...(res.config as Record<string, unknown>) } : null;
  if (!cfg) return canonicalJson({ name: res.name, env: res.env, tasks: res.tasks.count });
  delete cfg.seed;
  delete cfg.out;
  delete cfg.report;
  return canonicalJson(cfg);
}

/** Each run alone, or (aggregate) the runs of one setting together, in the order first seen. */
export function groupRuns(runs: CompareRun[], aggregate: boolean): CompareGroup[] {
  if (!aggregate) return runs.map((r) => ({ label: r.label, runs: [r] }));
  const groups = new Map<string, CompareGroup>();
  for (const r of runs) {
    const k = settingKey(r.results);
    const g = groups.get(k);
    if (g) g.runs.push(r);
    else groups.set(k, { label: r.results.name, runs: [r] });
  }
  const out = [...groups.values()];
  // two settings of the same name keep apart
  const seen = new Map<string, number>();
  for (const g of out) {
    const n = (seen.get(g.label) ?? 0) + 1;
    seen.set(g.label, n);
    if (n > 1) g.label = `${g.label} #${n}`;
  }
  return out;
}

export interface CompareOptions {
  /** Bootstrap resamples (default 2000). */
  resamples?: number;
  /** Seed of the bootstrap (default 0: the same tables every time). */
  seed?: number;
}

// no-break spaces: an interval stays on one line of its cell
const interval = (lo: number, hi: number): string => `${formatFigure(lo)}\u00a0to\u00a0${formatFigure(hi)}`;

function headlineTable(groups: CompareGroup[], opts: CompareOptions): TableSpec {
  const boot = { samples: opts.resamples ?? 2000, seed: opts.seed ?? 0 };
  const rows: TableSpec['rows'] = [];
  for (const g of groups) {
    const per = g.runs.map((r) => headlines(r.results));
    const key = (h: Headline) => `${h.part}:${h.agent}`;
    const keys = [...new Set(per.flatMap((hs) => hs.map(key)))];
    for (const k of keys) {
      const hs = per.map((x) => x.find((h) => key(h) === k)).filter((h): h is Headline => h !== undefined);
      const first = hs[0];
      const scores = hs.map((h) => h.perTask);
      const m = stratifiedBootstrapCi(scores, meanOf, boot);
      const iqm = stratifiedBootstrapCi(scores, interquartileMean, boot);
      rows.push([g.label, first.agent + (first.reference ? ' (reference)' : ''), first.metric + (first.lowerIsBetter ? ' (lower is better)' : ''), hs.length, m.n, m.estimate, interval(m.lo, m.hi), iqm.estimate, interval(iqm.lo, iqm.hi)]);
    }
  }
  return { columns: ['run', 'agent', 'figure', 'seeds', 'scores', 'mean', '95% interval', 'IQM', '95% interval (IQM)'], rows };
}

/** The mean curve of a group: one run's band, or the mean over seeds with a t-interval across them. */
function groupBand(bands: Band[]): Band {
  if (bands.length === 1) return bands[0];
  const len = Math.min(...bands.map((b) => b.mean.length));
  const out: Band = { mean: [], lo: [], hi: [] };
  for (let i = 0; i < len; i++) {
    const c = meanCi(bands.map((b) => b.mean[i]));
    out.mean.push(c.mean);
    out.lo.push(c.lo);
    out.hi.push(c.hi);
  }
  return out;
}

type Pick = (res: EvalResults, agent: string) => Band | null;

/** Lines of every group's non-reference agents (colour per group, pattern per agent), then the first group's references. */
function overlay(groups: CompareGroup[], agentsOf: (res: EvalResults) => { name: string; reference: boolean }[], pick: Pick, x: (res: EvalResults) => number[]): BandSeries[] {
  const out: BandSeries[] = [];
  groups.forEach((g, gi) => {
    const first = g.runs[0].results;
    const own = agentsOf(first).filter((a) => !a.reference);
    own.forEach((a, ai) => {
      const bands = g.runs.map((r) => pick(r.results, a.name)).filter((b): b is Band => b !== null);
      if (bands.length === 0) return;
      const b = groupBand(bands);
      const xs = x(first).slice(0, b.mean.length);
      out.push({ name: own.length > 1 ? `${g.label}: ${a.name}` : g.label, x: xs, mean: b.mean, lo: b.lo, hi: b.hi, color: PALETTE[gi % PALETTE.length], dash: DASHES[ai % DASHES.length] });
    });
  });
  const ref = groups[0]?.runs[0].results;
  if (ref) {
    const greys: Record<string, string> = { oracle: '#000000', random: '#9e9e9e' };
    for (const a of agentsOf(ref).filter((a) => a.reference)) {
      const b = pick(ref, a.name);
      if (b) out.push({ name: a.name, x: x(ref).slice(0, b.mean.length), mean: b.mean, reference: true, color: greys[a.name] ?? '#616161' });
    }
  }
  return out;
}

const online = (res: EvalResults) => (res.online?.agents ?? []).map((a) => ({ name: a.name, reference: a.reference === true }));
const steps = (res: EvalResults) => Array.from({ length: res.online?.steps ?? 0 }, (_, i) => i + 1);
const episodes = (res: EvalResults) => Array.from({ length: res.online?.episodes ?? 0 }, (_, i) => i + 1);
function onlineBand(field: 'cumRegret' | 'suboptimality' | 'returns'): Pick {
  return (res, agent) => {
    const a = res.online?.agents.find((x) => x.name === agent);
    if (!a) return null;
    if (field === 'returns') return a.summary.mode === 'episodes' ? (a.summary as EpisodeSummary).returns : null;
    return a.summary.mode === 'steps' ? (a.summary as BanditSummary)[field] : null;
  };
}

/** The sections of a side-by-side report of several runs (or seed groups). */
export function compareSections(groups: CompareGroup[], opts: CompareOptions = {}): ReportSection[] {
  const sections: ReportSection[] = [];
  const aggregated = groups.some((g) => g.runs.length > 1);
  sections.push({
    title: 'Runs side by side',
    text: [
      `${groups.length} ${aggregated ? 'settings' : 'runs'}: ${groups.map((g) => `${g.label}${g.runs.length > 1 ? ` (${g.runs.length} seeds: ${g.runs.map((r) => r.results.seed).join(', ')})` : ''}`).join('; ')}. One colour per ${aggregated ? 'setting' : 'run'} in every chart.`,
      `Each figure is summarised over its per-task scores (pooled over the seeds of a setting): the mean and the interquartile mean (IQM, the mean of the middle 50%), each with a 95% percentile-bootstrap interval (${opts.resamples ?? 2000} resamples, tasks redrawn within each seed).${aggregated ? ' Curves of a setting are the mean over its seeds with a 95% t-interval across seeds.' : ' Curves are means over tasks with 95% bands.'}`,
    ],
    tables: [headlineTable(groups, opts)],
  });
  const withMode = (m: 'steps' | 'episodes') => groups.filter((g) => g.runs[0].results.online?.mode === m);
  const bandits = withMode('steps');
  const charts = [];
  if (bandits.length > 0) {
    charts.push(
      withLogToggle(bandLineChart('Cumulative regret', overlay(bandits, online, onlineBand('cumRegret'), steps), { xName: 'step t', yName: 'cumulative regret', xMin: 1, yMin: 0 }, 'Lower is better; one colour per run.')),
      withLogToggle(bandLineChart('Suboptimality per step', overlay(bandits, online, onlineBand('suboptimality'), steps), { xName: 'step t', yName: 'best mean - chosen mean', xMin: 1, yMin: 0 }, 'Expected reward lost at each step.')),
    );
  }
  const mdps = withMode('episodes');
  if (mdps.length > 0) {
    charts.push(bandLineChart('Return per in-context episode', overlay(mdps, online, onlineBand('returns'), episodes), { xName: 'episode', yName: 'return', xMin: 1 }, 'Higher is better; one colour per run.'));
  }
  if (charts.length > 0) sections.push({ title: 'Online evaluation, side by side', charts });
  const offline = groups.filter((g) => (g.runs[0].results.offline?.agents.length ?? 0) > 0);
  if (offline.length > 0) {
    const offAgents = (res: EvalResults) => (res.offline?.agents ?? []).map((a) => ({ name: a.name, reference: false }));
    const pick: Pick = (res, agent) => res.offline?.agents.find((a) => a.name === agent)?.suboptimality ?? null;
    const series = overlay(offline, offAgents, pick, (res) => res.offline?.sizes ?? []);
    const sizes = offline[0].runs[0].results.offline!.sizes;
    const logX = sizes[0] > 0 && sizes[sizes.length - 1] / sizes[0] >= 20;
    sections.push({ title: 'Offline evaluation, side by side', charts: [withLogToggle(bandLineChart('Offline suboptimality against dataset size', series, { xName: 'dataset size n', yName: 'suboptimality of the chosen arm', logX, yMin: 0 }))] });
  }
  return sections;
}
