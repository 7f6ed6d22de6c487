/**
 * Training curves from a trainer's metrics file (JSON lines, one object per logged step). The reader
 * is generic: it charts every numeric field against the step, puts all losses on one chart, and draws
 * array-valued fields whose name mentions experts (MoE expert load / usage) as stacked areas.
 */
import { basename } from 'node:path';
import { readJsonLines } from '../core/jsonl.js';
import { lineChart, stackedAreaChart, type ChartSpec, type ReportSection } from './charts.js';

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

/** Charts of one metrics file: losses together, other metrics one chart each, expert usage stacked. */
export function trainingSection(table: MetricsTable, title?: string): ReportSection {
  const charts: ChartSpec[] = [];
  const names = [...table.scalars.keys()];
  const losses = names.filter((k) => /loss/i.test(k));
  if (losses.length > 0) {
    const allPositive = losses.every((k) => table.scalars.get(k)!.y.every((v) => v > 0));
    charts.push(
      lineChart(
        'Training loss',
        losses.map((k) => ({ name: k, x: table.scalars.get(k)!.x, y: table.scalars.get(k)!.y })),
        { xName: 'step', yName: 'loss', logY: allPositive },
        'Every loss the trainer logged, against the optimizer step.',
      ),
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
    const all = keys.map((k) => table.scalars.get(k)!);
    const changing = all.some((s) => s.y.length >= 2 && !isConstant(s.y));
    if (!changing) continue;
    const label = (k: string) => (keys.length > 1 ? k.split('.').slice(0, -1).join('.') || k : k);
    charts.push(lineChart(g, keys.map((k) => ({ name: label(k), x: table.scalars.get(k)!.x, y: table.scalars.get(k)!.y })), { xName: 'step', yName: g }));
  }
  for (const [k, s] of table.vectors) {
    const width = Math.max(...s.v.map((r) => r.length));
    const series = Array.from({ length: width }, (_, e) => ({ name: `${/expert/i.test(k) ? 'expert' : k} ${e}`, y: s.v.map((r) => r[e] ?? 0) }));
    if (/expert/i.test(k)) {
      charts.push(stackedAreaChart(`Expert usage: ${k}`, s.x, series, { xName: 'step', yName: 'share of tokens' }, 'Share of routed tokens per expert (stacked); an even split means balanced load.'));
    } else {
      charts.push(lineChart(k, series.map((e) => ({ name: e.name, x: s.x, y: e.y })), { xName: 'step', yName: k }));
    }
  }
  return {
    title: title ?? `Training curves (${basename(table.file)})`,
    text: charts.length === 0 ? ['The metrics file holds no numeric series that change over training.'] : undefined,
    charts,
  };
}
