/**
 * Training curves from a trainer's metrics file (JSON lines, one object per logged step). The reader
 * is generic: it charts every numeric field against the step, puts all losses on one chart, and draws
 * array-valued fields whose name mentions experts (MoE expert load / usage) as stacked areas.
 */
import { basename, dirname, resolve } from 'node:path';
import { readJsonLines } from '../core/jsonl.js';
import { DASHES, PALETTE, lineChart, stackedAreaChart, type ChartSpec, type ReportSection } from './charts.js';

export interface MetricsTable {
  file: string;
  /** Numeric series by flattened field name ("loss", "eval.regret", "expertLoad.layer3"). */
  scalars: Map<string, { x: number[]; y: number[] }>;
  /** Array-valued series (expert usage): per field, the step and the vector at that step. */
  vectors: Map<string, { x: number[]; v: number[][] }>;
}

const STEP_KEYS = ['step', 'iter', 'iteration', 'update'];
const SKIP = /^(time|timestamp|elapsed|wall|wallSeconds|seconds|date|epoch_time)$/i;
/** Counters and settings that are not worth a chart. */
const SKIP_SERIES = /(^|\.)(samples|parameters|config\..*)$|^config\./;

function flatten(prefix: string, v: unknown, x: number, t: MetricsTable): void {
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return;
    const s = t.scalars.get(prefix) ?? { x: [], y: [] };
    s.x.push(x);
    s.y.push(v);
    t.scalars.set(prefix, s);
  } else if (Array.isArray(v)) {
    if (v.length > 0 && v.every((e) => typeof e === 'number')) {
      const s = t.vectors.get(prefix) ?? { x: [], v: [] };
      s.x.push(x);
      s.v.push(v as number[]);
      t.vectors.set(prefix, s);
    } else {
      v.forEach((e, i) => flatten(`${prefix}[${i}]`, e, x, t));
    }
  } else if (typeof v === 'object' && v !== null) {
    for (const [k, e] of Object.entries(v)) flatten(prefix ? `${prefix}.${k}` : k, e, x, t);
  }
}

/** Reads a JSON-lines metrics file into chartable series; a bad line is an error naming the file and line. */
export function readMetrics(file: string): MetricsTable {
  const t: MetricsTable = { file, scalars: new Map(), vectors: new Map() };
  let n = 0;
  readJsonLines(file, 'training metrics file').forEach((obj) => {
    const stepKey = STEP_KEYS.find((k) => typeof obj[k] === 'number');
    const x = stepKey ? (obj[stepKey] as number) : n;
    const kind = typeof obj.kind === 'string' ? obj.kind : typeof obj.type === 'string' ? obj.type : typeof obj.split === 'string' ? obj.split : '';
    // Lines of several agents (held-out evaluations of the model and of baselines) stay apart.
    const agent = typeof obj.agent === 'string' ? obj.agent : '';
    const prefix = [kind && kind !== 'train' ? kind : '', agent].filter((p) => p !== '').join('.');
    for (const [k, v] of Object.entries(obj)) {
      if (k === stepKey || SKIP.test(k) || k === 'kind' || k === 'type' || k === 'split' || k === 'agent') continue;
      flatten(prefix ? `${prefix}.${k}` : k, v, x, t);
    }
    n++;
  });
  return t;
}

function isConstant(y: number[]): boolean {
  return y.every((v) => v === y[0]);
}

/** The name of a metrics file's run: its config line's name, else its folder's name. */
export function metricsLabel(file: string): string {
  const first = readJsonLines(file, 'training metrics file').find((r) => r.kind === 'config');
  return typeof first?.name === 'string' && first.name !== '' ? first.name : basename(dirname(resolve(file)));
}

/** One run's metrics in an overlay: its label names its series, its colour draws them. */
export interface LabelledMetrics {
  label: string;
  table: MetricsTable;
}

/**
 * Charts of one or more metrics files: losses together, other metrics one chart each (held-out
 * regret of the model beside the baselines'), expert usage stacked per run. With several runs every
 * chart overlays them: one colour per run, series named "<run>: <field>" (the run's label alone
 * when the chart has one field), line patterns telling apart the fields of a run.
 */
export function trainingCharts(runs: LabelledMetrics[]): ChartSpec[] {
  const multi = runs.length > 1;
  const charts: ChartSpec[] = [];
  const names = [...new Set(runs.flatMap((r) => [...r.table.scalars.keys()]))];
  const seriesOf = (keys: string[], sub: (k: string) => string) =>
    runs.flatMap((r, ri) =>
      keys
        .filter((k) => r.table.scalars.has(k))
        .map((k) => {
          const s = r.table.scalars.get(k)!;
          const ki = keys.indexOf(k);
          if (!multi) return { name: sub(k), x: s.x, y: s.y };
          return { name: keys.length > 1 ? `${r.label}: ${sub(k)}` : r.label, x: s.x, y: s.y, color: PALETTE[ri % PALETTE.length], dash: DASHES[ki % DASHES.length] };
        }),
    );
  const losses = names.filter((k) => /loss/i.test(k));
  if (losses.length > 0) {
    const allPositive = runs.every((r) => losses.every((k) => (r.table.scalars.get(k)?.y ?? []).every((v) => v > 0)));
    charts.push(
      lineChart('Training loss', seriesOf(losses, (k) => k), { xName: 'step', yName: 'loss', logY: allPositive }, `Every loss the trainer logged, against the optimizer step${multi ? '; one colour per run' : ''}.`),
    );
  }
  // One chart per metric name: "eval.dpt.meanRegret" and "baseline.thompson.meanRegret" share the
  // chart "meanRegret" (the held-out regret of the model during training beside the baselines').
  const groups = new Map<string, string[]>();
  for (const k of names) {
    if (losses.includes(k) || SKIP_SERIES.test(k)) continue;
    const parts = k.split('.');
    const g = parts[parts.length - 1];
    groups.set(g, [...(groups.get(g) ?? []), k]);
  }
  for (const [g, keys] of groups) {
    const all = runs.flatMap((r) => keys.map((k) => r.table.scalars.get(k)).filter((s) => s !== undefined));
    // with several runs, a figure logged once per run (a final evaluation) is worth a chart when the runs differ
    const changing = all.some((s) => s.y.length >= 2 && !isConstant(s.y)) || (multi && !isConstant(all.flatMap((s) => s.y)));
    if (!changing) continue;
    const label = (k: string) => (keys.length > 1 ? k.split('.').slice(0, -1).join('.') || k : k);
    charts.push(lineChart(g, seriesOf(keys, label), { xName: 'step', yName: g }));
  }
  for (const r of runs) {
    for (const [k, s] of r.table.vectors) {
      const width = Math.max(...s.v.map((row) => row.length));
      const series = Array.from({ length: width }, (_, e) => ({ name: `${/expert/i.test(k) ? 'expert' : k} ${e}`, y: s.v.map((row) => row[e] ?? 0) }));
      const suffix = multi ? ` (${r.label})` : '';
      if (/expert/i.test(k)) {
        charts.push(stackedAreaChart(`Expert usage: ${k}${suffix}`, s.x, series, { xName: 'step', yName: 'share of tokens' }, 'Share of routed tokens per expert (stacked); an even split means balanced load.'));
      } else {
        charts.push(lineChart(`${k}${suffix}`, series.map((e) => ({ name: e.name, x: s.x, y: e.y })), { xName: 'step', yName: k }));
      }
    }
  }
  return charts;
}

/** The training-curves section of one metrics file. */
export function trainingSection(table: MetricsTable, title?: string): ReportSection {
  const charts = trainingCharts([{ label: basename(table.file), table }]);
  return {
    title: title ?? `Training curves (${basename(table.file)})`,
    text: charts.length === 0 ? ['The metrics file holds no numeric series that change over training.'] : undefined,
    charts,
  };
}

/** One section overlaying the training curves of several runs. */
export function trainingCompareSection(runs: LabelledMetrics[]): ReportSection {
  const charts = trainingCharts(runs);
  return {
    title: 'Training curves, side by side',
    text: [`${runs.map((r) => `${r.label} (${basename(r.table.file)})`).join(', ')}: one colour per run.`, ...(charts.length === 0 ? ['The metrics files hold no numeric series that change over training.'] : [])],
    charts,
  };
}
