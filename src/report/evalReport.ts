/**
 * The sections of an evaluation report built from a results file: a table of headline figures, the
 * cumulative regret and per-step suboptimality curves (bandits) or the return per in-context episode
 * (MDPs), each with 95% bands over tasks and the oracle and random references, and the offline
 * suboptimality against dataset size.
 */
import type { EvalResults, AgentResult } from '../eval/results.js';
import type { BanditSummary, EpisodeSummary } from '../eval/metrics.js';
import { bandLineChart, PALETTE, type BandSeries, type ChartSpec, type ReportSection, type TableSpec } from './charts.js';
import { formatFigure } from '../eval/summary.js';
import { llmDiagnosticsSection } from './llmSection.js';

const REF_COLORS: Record<string, string> = { oracle: '#000000', expert: '#5d4037', random: '#9e9e9e' };

/** One colour per agent name across every chart of the report (online first, then offline-only agents). */
function colorMap(res: EvalResults): Map<string, string> {
  const m = new Map<string, string>();
  let k = 0;
  for (const a of res.online?.agents ?? []) m.set(a.name, a.reference ? (REF_COLORS[a.name] ?? '#616161') : PALETTE[k++ % PALETTE.length]);
  for (const a of res.offline?.agents ?? []) if (!m.has(a.name)) m.set(a.name, REF_COLORS[a.name] ?? PALETTE[k++ % PALETTE.length]);
  return m;
}

function colors(agents: AgentResult[], cmap: Map<string, string>): string[] {
  return agents.map((a) => cmap.get(a.name) ?? '#616161');
}

/** Regret-like charts get the log / linear switch (a random agent's line squashes the others). */
export function withLogToggle(c: ChartSpec): ChartSpec {
  return { ...c, logToggle: true };
}

function range(from: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => from + i);
}

function banditSections(res: EvalResults, agents: AgentResult[], cmap: Map<string, string>): ReportSection {
  const col = colors(agents, cmap);
  const steps = res.online!.steps!;
  const x = range(1, steps);
  const regret: BandSeries[] = agents.map((a, k) => {
    const s = a.summary as BanditSummary;
    return { name: a.name, x, mean: s.cumRegret.mean, lo: s.cumRegret.lo, hi: s.cumRegret.hi, reference: a.reference, color: col[k] };
  });
  const sub: BandSeries[] = agents.map((a, k) => {
    const s = a.summary as BanditSummary;
    return { name: a.name, x, mean: s.suboptimality.mean, lo: s.suboptimality.lo, hi: s.suboptimality.hi, reference: a.reference, color: col[k] };
  });
  const table: TableSpec = {
    columns: ['agent', `regret at t=${steps}`, '95% interval', 'optimal-arm steps', 'wall s'],
    rows: agents.map((a) => {
      const s = a.summary as BanditSummary;
      return [a.name + (a.reference ? ' (reference)' : ''), s.finalRegret.mean, `${formatFigure(s.finalRegret.lo)} to ${formatFigure(s.finalRegret.hi)}`, `${(100 * s.optimalFraction).toFixed(1)}%`, s.wallSeconds];
    }),
  };
  return {
    title: 'Online evaluation',
    text: [
      `${res.tasks.count} held-out ${res.env.family} tasks, ${steps} steps each, no weight updates. Regret is measured against the expected reward of the best arm (arm means, not sampled rewards). Lines are means over tasks; shaded bands are 95% confidence intervals of the mean.`,
    ],
    tables: [table],
    charts: [
      withLogToggle(bandLineChart('Cumulative regret', regret, { xName: 'step t', yName: 'cumulative regret', xMin: 1, yMin: 0 }, 'Lower is better; a flattening curve means the agent has found the best arm.')),
      withLogToggle(bandLineChart('Suboptimality per step', sub, { xName: 'step t', yName: 'best mean - chosen mean', xMin: 1, yMin: 0 }, 'Expected reward lost at each step.')),
    ],
  };
}

function episodeSections(res: EvalResults, agents: AgentResult[], cmap: Map<string, string>): ReportSection {
  const col = colors(agents, cmap);
  const K = res.online!.episodes!;
  const x = range(1, K);
  const series: BandSeries[] = agents.map((a, k) => {
    const s = a.summary as EpisodeSummary;
    return { name: a.name, x, mean: s.returns.mean, lo: s.returns.lo, hi: s.returns.hi, reference: a.reference, color: col[k] };
  });
  const first = agents.find((a) => !a.reference)?.summary as EpisodeSummary | undefined;
  const oracle = first?.oracle ?? null;
  if (oracle && !agents.some((a) => a.name === 'oracle')) {
    series.push({ name: 'oracle', x, mean: x.map(() => oracle.mean), reference: true, color: REF_COLORS.oracle });
  }
  const table: TableSpec = {
    columns: oracle ? ['agent', 'return, episode 1', `return, episode ${K}`, 'last / oracle', 'wall s'] : ['agent', 'return, episode 1', `return, episode ${K}`, 'wall s'],
    rows: agents.map((a) => {
      const s = a.summary as EpisodeSummary;
      const name = a.name + (a.reference ? ' (reference)' : '');
      return oracle ? [name, s.returns.mean[0], s.returns.mean[K - 1], s.lastOverOracle ?? NaN, s.wallSeconds] : [name, s.returns.mean[0], s.returns.mean[K - 1], s.wallSeconds];
    }),
  };
  // families with a success criterion (reach, push): success rate per in-context episode
  const withSuccess = agents.filter((a) => (a.summary as EpisodeSummary).successRate);
  const charts = [bandLineChart('Return per in-context episode', series, { xName: 'episode', yName: 'return', xMin: 1 }, 'Higher is better; a rising curve means the agent improves in context.')];
  if (withSuccess.length > 0) {
    table.columns.splice(table.columns.length - 1, 0, `success rate, episode ${K}`);
    table.rows.forEach((row, k) => row.splice(row.length - 1, 0, (agents[k].summary as EpisodeSummary).successRate?.mean[K - 1] ?? NaN));
    const rates: BandSeries[] = withSuccess.map((a) => {
      const r = (a.summary as EpisodeSummary).successRate!;
      return { name: a.name, x, mean: r.mean, lo: r.lo, hi: r.hi, reference: a.reference, color: col[agents.indexOf(a)] };
    });
    charts.push(bandLineChart('Success rate per in-context episode', rates, { xName: 'episode', yName: 'fraction of tasks', xMin: 1, yMin: 0 }, "Fraction of held-out tasks whose episode met the family's success criterion at any step."));
  }
  return {
    title: 'Online evaluation',
    text: [
      `${res.tasks.count} held-out ${res.env.family} tasks, ${K} in-context episodes each (the agent keeps its history across episodes; no weight updates). Lines are mean returns over tasks with 95% bands; ${oracle ? "the dashed black line is the oracle's expected return." : `${res.env.family} has no exact oracle, so there is no oracle line and no ratio to it (references: ${agents.filter((a) => a.reference).map((a) => a.name).join(', ') || 'none'}).`}`,
    ],
    tables: [table],
    charts,
  };
}

function offlineSection(res: EvalResults, cmap: Map<string, string>): ReportSection {
  const off = res.offline!;
  const series: BandSeries[] = off.agents.map((a) => ({ name: a.name, x: off.sizes, mean: a.suboptimality.mean, lo: a.suboptimality.lo, hi: a.suboptimality.hi, color: cmap.get(a.name) }));
  const last = off.sizes.length - 1;
  return {
    title: 'Offline evaluation',
    text: [
      `Each agent reads a fixed dataset of n logged pulls per task (drawn by a Dirichlet-mixture behaviour policy) and then picks one arm; the figure is the expected reward lost by that pick (best mean - chosen mean), mean over ${res.tasks.count} tasks with 95% bands.`,
    ],
    tables: [
      {
        columns: ['agent', ...off.sizes.map((n) => `n=${n}`)],
        rows: off.agents.map((a) => [a.name, ...a.suboptimality.mean]),
      },
    ],
    charts: [withLogToggle(bandLineChart('Offline suboptimality against dataset size', series, { xName: 'dataset size n', yName: 'suboptimality of the chosen arm', logX: off.sizes[0] > 0 && off.sizes[last] / off.sizes[0] >= 20, yMin: 0 }))],
  };
}

/** Report sections of an evaluation results file (training curves are added by the caller). */
export function evalSections(res: EvalResults): ReportSection[] {
  const cmap = colorMap(res);
  const out: ReportSection[] = [];
  if (res.notes.length > 0) out.push({ title: 'Notes', text: res.notes });
  if (res.online && res.online.agents.length > 0) {
    out.push(res.online.mode === 'steps' ? banditSections(res, res.online.agents, cmap) : episodeSections(res, res.online.agents, cmap));
  }
  const llm = res.online ? llmDiagnosticsSection(res.online.agents) : null;
  if (llm) out.push(llm);
  if (res.offline && res.offline.agents.length > 0) out.push(offlineSection(res, cmap));
  return out;
}
