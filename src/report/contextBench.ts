/**
 * The report section of `npm run bench:context` (docs/long-context.md): the cost curves of an
 * in-context evaluation step and of a training token against the context length, one line per
 * backbone variant, on log-log axes (a slope of 0 is a constant cost, 1 a cost linear in the
 * context), with the fitted slopes and the goals as tables.
 */
import { lineChart, type ChartSpec, type ReportSection } from './charts.js';

/** A measured point of the benchmark (its JSON line). */
export interface ContextBenchPoint {
  kind: 'point';
  variant: string;
  /** `eval_step`: one in-context decoding step; `train_token`: one token of a training step */
  phase: 'eval_step' | 'train_token';
  context: number;
  /** milliseconds per evaluation step, or microseconds per training token; absent when skipped */
  value?: number;
  /** the same in CPU time (process CPU time, all threads) */
  cpu_value?: number;
  unit: string;
  /** bytes of the KV cache / state (evaluation), or the peak kernel memory of the step (training) */
  bytes?: number;
  skipped?: string;
}

/** The fitted slope of one curve (its JSON line). */
export interface ContextBenchSlope {
  kind: 'slope';
  variant: string;
  phase: 'eval_step' | 'train_token';
  /** least-squares exponent k of value ~ context^k over the measured points */
  exponent: number;
  /** the same fitted on CPU time */
  cpu_exponent?: number | null;
  points: number;
}

/** A goal of the benchmark (its JSON line), with whether it holds, computed from the points. */
export interface ContextBenchGoal {
  kind: 'goal';
  goal: string;
  holds: boolean | null;
  [key: string]: unknown;
}

export type ContextBenchLine = ContextBenchPoint | ContextBenchSlope | ContextBenchGoal | { kind: string; [key: string]: unknown };

function logLogChart(title: string, points: ContextBenchPoint[], yName: string, description: string, cpu = false): ChartSpec {
  const variants = [...new Set(points.map((p) => p.variant))];
  const val = (p: ContextBenchPoint) => (cpu ? p.cpu_value : p.value);
  const series = variants.map((v) => {
    const ps = points.filter((p) => p.variant === v && val(p) !== undefined).sort((a, b) => a.context - b.context);
    return { name: v, x: ps.map((p) => p.context), y: ps.map((p) => val(p)!) };
  });
  const chart = lineChart(title, series, { xName: 'context (steps)', yName, logY: true }, description);
  (chart.option.xAxis as Record<string, unknown>).type = 'log';
  (chart.option.xAxis as Record<string, unknown>).logBase = 2;
  (chart.option.xAxis as Record<string, unknown>).min = 'dataMin';
  return chart;
}

/** The section of a report that shows the benchmark's lines. */
export function contextBenchSection(lines: ContextBenchLine[]): ReportSection {
  const points = lines.filter((l): l is ContextBenchPoint => l.kind === 'point');
  const slopes = lines.filter((l): l is ContextBenchSlope => l.kind === 'slope');
  const goals = lines.filter((l): l is ContextBenchGoal => l.kind === 'goal');
  const skipped = points.filter((p) => p.skipped);
  const fmt = (v: number | undefined) => (v === undefined ? null : Number(v.toPrecision(4)));
  return {
    title: 'Cost of long contexts (npm run bench:context)',
    text: [
      'Time per in-context evaluation step (one new token per row through the whole model, the KV cache or the recurrent state holding the context) and per training token (forward, backward and AdamW on one sequence of that length), against the context length, on log-log axes: a flat line is a constant cost per step, a slope of 1 a cost that grows linearly with the context.',
      ...skipped.map((p) => `${p.variant}, ${p.phase} at ${p.context}: not measured (${p.skipped}).`),
    ],
    charts: [
      logLogChart('Evaluation: milliseconds per in-context step', points.filter((p) => p.phase === 'eval_step'), 'ms per step', 'One decoding step of every row of the batch at the given context length (wall clock).'),
      logLogChart('Training: microseconds per token', points.filter((p) => p.phase === 'train_token'), 'µs per token', 'One training step on one sequence of the given length, divided by its tokens (wall clock).'),
      ...(points.some((p) => p.cpu_value !== undefined)
        ? [
            logLogChart('Evaluation: CPU milliseconds per in-context step', points.filter((p) => p.phase === 'eval_step'), 'CPU ms per step', 'The same steps in process CPU time (what the work costs on a shared machine).', true),
            logLogChart('Training: CPU microseconds per token', points.filter((p) => p.phase === 'train_token'), 'CPU µs per token', 'The same steps in process CPU time.', true),
          ]
        : []),
    ],
    tables: [
      {
        columns: ['variant', 'phase', 'context', 'value (wall)', 'value (CPU)', 'unit', 'bytes', 'note'],
        rows: points.map((p) => [p.variant, p.phase, p.context, fmt(p.value), fmt(p.cpu_value), p.unit, p.bytes ?? null, p.skipped ?? '']),
      },
      { columns: ['variant', 'phase', 'fitted exponent (wall)', 'fitted exponent (CPU)', 'points'], rows: slopes.map((s) => [s.variant, s.phase, fmt(s.exponent), fmt(s.cpu_exponent ?? undefined), s.points]) },
      { columns: ['goal', 'holds (wall)', 'holds (CPU)'], rows: goals.map((g) => [g.goal, yesNo(g.holds), yesNo((g.holds_cpu as boolean | null | undefined) ?? null)]) },
    ],
  };
}

function yesNo(h: boolean | null): string {
  return h === null ? 'not measured' : h ? 'yes' : 'no';
}

/** Least-squares slope of log(value) against log(context); null with fewer than two points. */
export function fitExponent(points: { context: number; value: number }[]): number | null {
  if (points.length < 2) return null;
  const xs = points.map((p) => Math.log(p.context));
  const ys = points.map((p) => Math.log(p.value));
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  let num = 0;
  let den = 0;
  for (let i = 0; i < xs.length; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den > 0 ? num / den : null;
}
