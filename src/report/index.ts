/**
 * Public API of the reports. `renderReport(results, options)` returns the HTML of a self-contained
 * report (ECharts inlined, opens offline); `writeReport(path, results, options)` writes it atomically.
 * Other parts of the project add their own charts as generic sections:
 *
 *   writeReport('runs/x/report.html', results, {
 *     sections: [{ title: 'Teacher', charts: [heatmapChart('Task density', xs, ys, counts, { xName: 'a', yName: 'b' })] }],
 *   });
 *
 * `results` may be null for a report made only of sections (e.g. a teacher run).
 */
import { dirname, isAbsolute, resolve } from 'node:path';
import type { EvalResults } from '../eval/results.js';
import { writeFileAtomic } from '../core/atomic.js';
import { evalSections } from './evalReport.js';
import { renderDocument, type ReportDocument } from './html.js';
import { readMetrics, trainingSection } from './training.js';
import type { ReportSection } from './charts.js';

export * from './charts.js';
export { renderDocument, escapeHtml, type ReportDocument } from './html.js';
export { readMetrics, trainingSection, type MetricsTable } from './training.js';
export { evalSections } from './evalReport.js';

export interface ReportOptions {
  /** Page title (default: the run's name). */
  title?: string;
  /** Extra lines under the title. */
  subtitle?: string[];
  /** Trainer metrics files (JSON lines) to chart as training curves; added to results.trainingMetrics. */
  trainingMetrics?: string[];
  /** Folder that relative metrics paths are resolved against: the results file's folder (writeReport's default: the report's folder). */
  baseDir?: string;
  /** Extra sections, appended after the evaluation (teacher density, LLM transcripts, ...). */
  sections?: ReportSection[];
  /** Sections placed before the evaluation. */
  leadSections?: ReportSection[];
}

function facts(res: EvalResults): [string, string][] {
  const f: [string, string][] = [
    ['environment', `${res.env.family}${Object.keys(res.env.options).length ? ` ${JSON.stringify(res.env.options)}` : ''}`],
    ['held-out tasks', `${res.tasks.count} (${res.tasks.source})`],
    ['seed', String(res.seed)],
  ];
  if (res.online) f.push(['online', res.online.mode === 'steps' ? `${res.online.steps} steps per task` : `${res.online.episodes} in-context episodes per task`]);
  if (res.offline) f.push(['offline dataset sizes', res.offline.sizes.join(', ')]);
  f.push(['evaluation time', `${res.elapsedSeconds.toFixed(1)} s`]);
  const p = res.provenance;
  if (p) {
    f.push(['started', p.startedAt]);
    f.push(['version', `${p.package.name} ${p.package.version}${p.git ? `, commit ${p.git.commit.slice(0, 12)}${p.git.dirty ? ' (uncommitted changes)' : ''}` : ''}, Node.js ${p.node}`]);
  }
  return f;
}

/** Builds the document of a report (sections only, no HTML yet). */
export function buildReport(results: EvalResults | null, options: ReportOptions = {}): ReportDocument {
  const sections: ReportSection[] = [...(options.leadSections ?? [])];
  if (results) sections.push(...evalSections(results));
  const metrics = [...(results?.trainingMetrics ?? []), ...(options.trainingMetrics ?? [])];
  for (const m of [...new Set(metrics)]) {
    const file = isAbsolute(m) ? m : resolve(options.baseDir ?? process.cwd(), m);
    sections.push(trainingSection(readMetrics(file)));
  }
  sections.push(...(options.sections ?? []));
  return {
    title: options.title ?? (results ? `icrl evaluation: ${results.name}` : 'icrl report'),
    subtitle: options.subtitle,
    facts: results ? facts(results) : undefined,
    sections,
  };
}

/** The HTML of a report. */
export function renderReport(results: EvalResults | null, options: ReportOptions = {}): string {
  return renderDocument(buildReport(results, options));
}

/** Writes a report atomically; relative metrics paths of `results` resolve against the report's folder by default. */
export function writeReport(path: string, results: EvalResults | null, options: ReportOptions = {}): string {
  const html = renderReport(results, { baseDir: dirname(resolve(path)), ...options });
  writeFileAtomic(path, html);
  return path;
}
export { contextBenchSection, fitExponent, type ContextBenchLine, type ContextBenchPoint, type ContextBenchSlope, type ContextBenchGoal } from './contextBench.js';
