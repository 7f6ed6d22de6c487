/**
 * Chart sections of a report. A chart is a plain ECharts option object (JSON only: no functions), so
 * any part of the project can add its own charts; the helpers below build the common ones (lines
 * with 95% interval bands, heatmaps for teacher densities, stacked areas for expert usage).
 */

/** One chart: an ECharts option (JSON-serialisable) and how to show it. */
export interface ChartSpec {
  title: string;
  /** One line under the title: what the chart shows and how to read it. */
  description?: string;
  /** Height in pixels (default 360). */
  height?: number;
  /** The ECharts option; series whose id starts with "band:" are interval bands, not lines. */
  option: Record<string, unknown>;
  /** Offer a linear / log switch of the y axis (regret and suboptimality, where a random agent's line squashes the others). */
  logToggle?: boolean;
}

/** A table of figures shown in a section. */
export interface TableSpec {
  columns: string[];
  rows: (string | number | null)[][];
}

/** A titled part of the report. */
export interface ReportSection {
  title: string;
  /** Paragraphs of plain text (escaped when rendered). */
  text?: string[];
  tables?: TableSpec[];
  charts?: ChartSpec[];
  /** Pictures drawn by the project's own code (e.g. xland grids), shown side by side. */
  figures?: FigureSpec[];
}

/**
 * A picture as SVG markup. The markup is inserted as it is (it must come from the project's own
 * drawing code, such as `xlandSvg`, never from user text); the caption is escaped.
 */
export interface FigureSpec {
  svg: string;
  caption?: string;
}

export const PALETTE = ['#d62728', '#1f77b4', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22', '#7f7f7f'];

/** One line of a band chart: a mean curve with an optional 95% band. */
export interface BandSeries {
  name: string;
  x: number[];
  mean: number[];
  lo?: number[];
  hi?: number[];
  /** Dashed line without band (references such as the oracle or random). */
  reference?: boolean;
  color?: string;
  /** Line pattern (default solid; references dashed): several agents of one run in one colour. */
  dash?: LineDash;
}

/** An ECharts line type: a name or a dash array in pixels. */
export type LineDash = 'solid' | 'dashed' | 'dotted' | number[];

/** Patterns that tell apart the lines of one colour (the agents of one run). */
export const DASHES: LineDash[] = ['solid', [8, 4], [2, 3], [10, 3, 2, 3], [14, 6]];

function finiteOrNull(v: number): number | null {
  return Number.isFinite(v) ? v : null;
}

/** Keeps at most `max` points (evenly spaced, always the last) so that long runs stay light. */
export function thinIndices(n: number, max = 500): number[] {
  if (n <= max) return Array.from({ length: n }, (_, i) => i);
  const out: number[] = [];
  const stride = (n - 1) / (max - 1);
  for (let k = 0; k < max; k++) out.push(Math.round(k * stride));
  return [...new Set(out)];
}

export interface AxisOptions {
  xName: string;
  yName: string;
  logX?: boolean;
  /** Integer x categories such as episode numbers still use a value axis; this sets its minimum. */
  xMin?: number;
  yMin?: number;
}

/**
 * Lines with 95% interval bands. The band of a line is drawn as two stacked area series (the lower
 * bound, transparent, then the width of the interval, shaded) with ids "band:<name>:lo/width".
 */
export function bandLineChart(title: string, series: BandSeries[], axes: AxisOptions, description?: string): ChartSpec {
  const out: Record<string, unknown>[] = [];
  series.forEach((s, k) => {
    const color = s.color ?? PALETTE[k % PALETTE.length];
    const idx = thinIndices(s.x.length);
    const data = idx.map((i) => [s.x[i], finiteOrNull(s.mean[i])]);
    if (s.lo && s.hi && !s.reference) {
      out.push({
        id: `band:${s.name}:lo`,
        name: s.name,
        type: 'line',
        stack: `band:${s.name}`,
        // stack the width on the lower bound whatever their signs (ECharts' default stacks negative
        // and positive values separately, which draws the band of a negative curve from 0)
        stackStrategy: 'all',
        data: idx.map((i) => [s.x[i], finiteOrNull(s.lo![i])]),
        lineStyle: { opacity: 0 },
        symbol: 'none',
        silent: true,
        tooltip: { show: false },
        z: 1,
      });
      out.push({
        id: `band:${s.name}:width`,
        name: s.name,
        type: 'line',
        stack: `band:${s.name}`,
        stackStrategy: 'all',
        data: idx.map((i) => [s.x[i], finiteOrNull(s.hi![i] - s.lo![i])]),
        lineStyle: { opacity: 0 },
        areaStyle: { color, opacity: 0.18 },
        symbol: 'none',
        silent: true,
        tooltip: { show: false },
        z: 1,
      });
    }
    out.push({
      id: `line:${s.name}`,
      name: s.name,
      type: 'line',
      data,
      showSymbol: data.length <= 30,
      symbolSize: 6,
      color,
      lineStyle: { width: 2, color, type: s.dash ?? (s.reference ? 'dashed' : 'solid') },
      z: 3,
    });
  });
  return {
    title,
    description,
    option: {
      animation: false,
      color: series.map((s, k) => s.color ?? PALETTE[k % PALETTE.length]),
      tooltip: { trigger: 'axis' },
      legend: { top: 0, data: series.map((s) => s.name) },
      grid: { left: 64, right: 24, top: 40, bottom: 48 },
      xAxis: { type: axes.logX ? 'log' : 'value', name: axes.xName, nameLocation: 'middle', nameGap: 28, min: axes.xMin ?? 'dataMin' },
      yAxis: { type: 'value', name: axes.yName, nameLocation: 'middle', nameGap: 48, min: axes.yMin },
      series: out,
    },
  };
}

/** Plain lines (no bands), e.g. training curves; a series may set its colour and line pattern. */
export function lineChart(title: string, series: { name: string; x: number[]; y: number[]; color?: string; dash?: LineDash }[], axes: AxisOptions & { logY?: boolean }, description?: string): ChartSpec {
  return {
    title,
    description,
    option: {
      animation: false,
      tooltip: { trigger: 'axis' },
      legend: { top: 0, type: 'scroll', data: series.map((s) => s.name) },
      grid: { left: 64, right: 24, top: 40, bottom: 48 },
      xAxis: { type: 'value', name: axes.xName, nameLocation: 'middle', nameGap: 28, min: axes.xMin ?? 'dataMin' },
      yAxis: { type: axes.logY ? 'log' : 'value', name: axes.yName, nameLocation: 'middle', nameGap: 48, scale: true },
      series: series.map((s, k) => {
        const idx = thinIndices(s.x.length, 1000);
        return {
          id: `line:${s.name}`,
          name: s.name,
          type: 'line',
          showSymbol: s.x.length <= 30,
          color: s.color ?? PALETTE[k % PALETTE.length],
          ...(s.dash ? { lineStyle: { type: s.dash } } : {}),
          data: idx.map((i) => [s.x[i], finiteOrNull(s.y[i])]),
        };
      }),
    },
  };
}

/** Stacked areas summing to a whole, e.g. the share of tokens routed to each expert over training. */
export function stackedAreaChart(title: string, x: number[], series: { name: string; y: number[] }[], axes: AxisOptions, description?: string): ChartSpec {
  const idx = thinIndices(x.length, 1000);
  return {
    title,
    description,
    option: {
      animation: false,
      tooltip: { trigger: 'axis' },
      legend: { top: 0, type: 'scroll', data: series.map((s) => s.name) },
      grid: { left: 64, right: 24, top: 40, bottom: 48 },
      xAxis: { type: 'value', name: axes.xName, nameLocation: 'middle', nameGap: 28, min: 'dataMin' },
      yAxis: { type: 'value', name: axes.yName, nameLocation: 'middle', nameGap: 48 },
      series: series.map((s, k) => ({
        id: `line:${s.name}`,
        name: s.name,
        type: 'line',
        stack: 'total',
        showSymbol: false,
        color: PALETTE[k % PALETTE.length],
        areaStyle: { opacity: 0.7 },
        lineStyle: { width: 0.5 },
        data: idx.map((i) => [x[i], finiteOrNull(s.y[i])]),
      })),
    },
  };
}

/** A heatmap over a 2-D grid of cells, e.g. the density of tasks a teacher sampled. */
export function heatmapChart(title: string, xLabels: (string | number)[], yLabels: (string | number)[], values: number[][], axes: AxisOptions & { valueName?: string }, description?: string): ChartSpec {
  const data: [number, number, number][] = [];
  let max = 0;
  for (let y = 0; y < yLabels.length; y++) {
    for (let x = 0; x < xLabels.length; x++) {
      const v = values[y]?.[x] ?? 0;
      data.push([x, y, v]);
      if (v > max) max = v;
    }
  }
  return {
    title,
    description,
    option: {
      animation: false,
      tooltip: { position: 'top' },
      grid: { left: 64, right: 90, top: 20, bottom: 48 },
      xAxis: { type: 'category', name: axes.xName, nameLocation: 'middle', nameGap: 28, data: xLabels.map(String) },
      yAxis: { type: 'category', name: axes.yName, nameLocation: 'middle', nameGap: 48, data: yLabels.map(String) },
      visualMap: { min: 0, max: max || 1, calculable: true, orient: 'vertical', right: 0, top: 'center', text: [axes.valueName ?? 'count', ''] },
      series: [{ id: `heatmap:${title}`, name: axes.valueName ?? 'count', type: 'heatmap', data }],
    },
  };
}

function csvField(v: unknown): string {
  if (v === null || v === undefined) return '';
  const t = String(v);
  return /[",\n]/.test(t) ? `"${t.replace(/"/g, '""')}"` : t;
}

/**
 * The data of a chart as CSV, in long form: `series,x,y` for lines and areas (with `lo,hi` columns
 * when the chart has 95% bands, rebuilt from its band series), `x,y,value` for heatmaps. Points are
 * those drawn (long runs are thinned to at most 500 or 1,000 points per line).
 */
export function chartCsv(c: ChartSpec): string {
  const series = (c.option.series ?? []) as { id?: string; name?: string; type?: string; data?: unknown[] }[];
  if (series.some((s) => s.type === 'heatmap')) {
    const xl = ((c.option.xAxis as { data?: unknown[] })?.data ?? []) as unknown[];
    const yl = ((c.option.yAxis as { data?: unknown[] })?.data ?? []) as unknown[];
    const rows = ['x,y,value'];
    for (const s of series) for (const d of (s.data ?? []) as number[][]) rows.push([xl[d[0]] ?? d[0], yl[d[1]] ?? d[1], d[2]].map(csvField).join(','));
    return `${rows.join('\n')}\n`;
  }
  const bands = new Map<string, { lo?: unknown[]; width?: unknown[] }>();
  for (const s of series) {
    const m = typeof s.id === 'string' ? /^band:(.*):(lo|width)$/.exec(s.id) : null;
    if (m) bands.set(m[1], { ...bands.get(m[1]), [m[2]]: s.data });
  }
  const withBands = bands.size > 0;
  const rows = [withBands ? 'series,x,y,lo,hi' : 'series,x,y'];
  for (const s of series) {
    if (typeof s.id === 'string' && s.id.startsWith('band:')) continue;
    const b = bands.get(String(s.name));
    ((s.data ?? []) as (number | null)[][]).forEach((d, i) => {
      const cells: unknown[] = [s.name, d[0], d[1]];
      if (withBands) {
        const lo = (b?.lo?.[i] as (number | null)[] | undefined)?.[1];
        const w = (b?.width?.[i] as (number | null)[] | undefined)?.[1];
        cells.push(lo ?? null, lo !== null && lo !== undefined && w !== null && w !== undefined ? lo + w : null);
      }
      rows.push(cells.map(csvField).join(','));
    });
  }
  return `${rows.join('\n')}\n`;
}
