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
import { mkdirSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { EvalResults } from '../eval/results.js';
import { writeFileAtomic } from '../core/atomic.js';
import { evalSections } from './evalReport.js';
import { renderDocument, type ReportDocument } from './html.js';
import { metricsLabel, readMetrics, trainingCompareSection, trainingSection, type LabelledMetrics } from './training.js';
import { chartCsv, type ReportSection } from './charts.js';
import { compareSections, groupRuns, type CompareOptions } from './compare.js';

export * from './charts.js';
export { renderDocument, escapeHtml, columnFormatter, type ReportDocument } from './html.js';
export { readMetrics, metricsLabel, trainingSection, trainingCharts, trainingCompareSection, type MetricsTable, type LabelledMetrics } from './training.js';
export { evalSections, withLogToggle } from './evalReport.js';
export { compareSections, groupRuns, settingKey, type CompareRun, type CompareGroup, type CompareOptions } from './compare.js';

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

/** Metrics files read for an overlay; labels made unique (", 2", ", 3") where runs share a name. */
function labelled(files: { label: string; file: string }[]): LabelledMetrics[] {
  const count = new Map<string, number>();
  return files.map((f) => {
    const n = (count.get(f.label) ?? 0) + 1;
    count.set(f.label, n);
    return { label: n > 1 ? `${f.label}, ${n}` : f.label, table: readMetrics(f.file) };
  });
}

/** Builds the document of a report (sections only, no HTML yet). */
export function buildReport(results: EvalResults | null, options: ReportOptions = {}): ReportDocument {
  const sections: ReportSection[] = [...(options.leadSections ?? [])];
  if (results) sections.push(...evalSections(results));
  const metrics = [...(results?.trainingMetrics ?? []), ...(options.trainingMetrics ?? [])];
  const files = [...new Set(metrics.map((m) => (isAbsolute(m) ? m : resolve(options.baseDir ?? process.cwd(), m))))];
  if (files.length === 1) sections.push(trainingSection(readMetrics(files[0])));
  else if (files.length > 1) sections.push(trainingCompareSection(labelled(files.map((f) => ({ label: metricsLabel(f), file: f })))));
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
export function writeReport(path: string, results: EvalResults | null, options: ReportOptions & { csvDir?: string } = {}): string {
  const doc = buildReport(results, { baseDir: dirname(resolve(path)), ...options });
  writeFileAtomic(path, renderDocument(doc));
  if (options.csvDir) writeChartCsvs(options.csvDir, doc);
  return path;
}

/** Writes the data of every chart of a document as CSV files `NN-<title>.csv` (chartCsv); returns their paths. */
export function writeChartCsvs(dir: string, doc: ReportDocument): string[] {
  mkdirSync(dir, { recursive: true });
  const charts = doc.sections.flatMap((s) => s.charts ?? []);
  return charts.map((c, i) => {
    const slug = c.title.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '') || 'chart';
    const file = join(dir, `${String(i + 1).padStart(2, '0')}-${slug}.csv`);
    writeFileAtomic(file, chartCsv(c));
    return file;
  });
}

/** A results file of a side-by-side report, with the label of its series. */
export interface CompareInput {
  label: string;
  results: EvalResults;
  /** Folder its relative trainingMetrics paths resolve against (its results file's folder). */
  baseDir?: string;
}

export interface CompareReportOptions extends CompareOptions {
  title?: string;
  /** Aggregate the runs of one setting (same config but the seed) into one line each. */
  aggregate?: boolean;
  /** More training metrics files to overlay, with their labels (the runs' own trainingMetrics are added under their labels). */
  trainingMetrics?: { label: string; file: string }[];
}

/** The document of a side-by-side report of several evaluation runs. */
export function buildCompareReport(runs: CompareInput[], options: CompareReportOptions = {}): ReportDocument {
  const groups = groupRuns(runs, options.aggregate === true);
  const sections = compareSections(groups, options);
  const metrics: { label: string; file: string }[] = [];
  for (const r of runs) for (const m of r.results.trainingMetrics ?? []) metrics.push({ label: r.label, file: isAbsolute(m) ? m : resolve(r.baseDir ?? process.cwd(), m) });
  metrics.push(...(options.trainingMetrics ?? []));
  const unique = metrics.filter((m, i) => metrics.findIndex((x) => resolve(x.file) === resolve(m.file)) === i);
  if (unique.length > 0) sections.push(trainingCompareSection(labelled(unique)));
  return {
    title: options.title ?? `icrl comparison: ${groups.map((g) => g.label).join(' vs ')}`,
    subtitle: runs.map((r) => `${r.label}: ${r.results.name}, seed ${r.results.seed}${r.results.provenance ? `, ${r.results.provenance.startedAt}` : ''}`),
    sections,
  };
}

/** Writes a side-by-side report (and, with csvDir, the CSV of every chart). */
export function writeCompareReport(path: string, runs: CompareInput[], options: CompareReportOptions & { csvDir?: string } = {}): string {
  const doc = buildCompareReport(runs, options);
  writeFileAtomic(path, renderDocument(doc));
  if (options.csvDir) writeChartCsvs(options.csvDir, doc);
  return path;
}
export { contextBenchSection, fitExponent, type ContextBenchLine, type ContextBenchPoint, type ContextBenchSlope, type ContextBenchGoal } from './contextBench.js';
