/**
 * Renders a report as one self-contained HTML file: the ECharts library is inlined when there are
 * charts (no CDN, opens offline from disk; a page of tables and pictures only goes without it), the
 * chart options travel as JSON in a data block, and a small script draws every chart on load, each
 * with a toolbox: PNG, SVG, the CSV of its data, box zoom, and a log / linear switch of the y axis on
 * regret charts. After drawing, `window.__icrlReport` lists each chart with its line series and
 * drawn points (and exposes the CSV, SVG and log switch) so that a headless browser test can check
 * what was drawn.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { chartCsv, type ChartSpec, type FigureSpec, type ReportSection, type TableSpec } from './charts.js';
import { formatFigure } from '../eval/summary.js';

export interface ReportDocument {
  title: string;
  /** Short lines under the title (run name, date, seed, ...). */
  subtitle?: string[];
  /** Key facts shown as a small table at the top. */
  facts?: [string, string][];
  sections: ReportSection[];
}

let echartsSource: string | null = null;

/** The minified ECharts library (read once from the installed package). */
export function echartsScript(): string {
  if (echartsSource === null) {
    const require = createRequire(import.meta.url);
    const file = require.resolve('echarts/dist/echarts.min.js');
    echartsSource = readFileSync(file, 'utf8').replace(/<\/script/gi, '<\\/script');
  }
  return echartsSource;
}

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** JSON that is safe inside a <script> element. */
function scriptJson(v: unknown): string {
  return JSON.stringify(v).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/**
 * Numbers of a table column share one format: integers as they are; otherwise 4 significant digits
 * in plain notation, or, when a value of the column needs it (|v| < 1e-3 or >= 1e6), the whole column
 * in exponent notation with 3 decimals.
 */
export function columnFormatter(values: readonly (string | number | null)[]): (v: number) => string {
  const nums = values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v) && !Number.isInteger(v));
  const exp = nums.some((v) => v !== 0 && (Math.abs(v) < 1e-3 || Math.abs(v) >= 1e6));
  return (v: number) => {
    if (!Number.isFinite(v)) return Number.isNaN(v) ? 'n/a' : String(v);
    if (Number.isInteger(v) && Math.abs(v) < 1e15) return String(v);
    if (exp) return v.toExponential(3);
    return formatFigure(v);
  };
}

function fmtCell(v: string | number | null, fmt: (v: number) => string): string {
  if (v === null) return '';
  if (typeof v === 'number') return fmt(v);
  return escapeHtml(v);
}

function renderTable(t: TableSpec): string {
  const head = t.columns.map((c) => `<th>${escapeHtml(c)}</th>`).join('');
  const fmts = t.columns.map((_, j) => columnFormatter(t.rows.map((r) => r[j] ?? null)));
  const body = t.rows.map((r) => `<tr>${r.map((v, j) => `<td${typeof v === 'number' ? ' class="num"' : ''}>${fmtCell(v, fmts[j] ?? formatFigure)}</td>`).join('')}</tr>`).join('\n');
  return `<table><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

const CSS = `
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0; color: #222; background: #fafafa; }
header { background: #263238; color: #fff; padding: 18px 32px; }
header h1 { margin: 0 0 4px 0; font-size: 22px; }
header p { margin: 2px 0; color: #cfd8dc; font-size: 13px; }
main { max-width: 1100px; margin: 0 auto; padding: 8px 24px 48px; }
section { background: #fff; border: 1px solid #e0e0e0; border-radius: 6px; margin: 18px 0; padding: 12px 20px; }
section h2 { font-size: 18px; margin: 6px 0 10px; }
.chart { margin: 12px 0 20px; }
.chart h3 { font-size: 15px; margin: 4px 0; }
.chart p { font-size: 13px; color: #555; margin: 2px 0 6px; }
.plot { width: 100%; }
table { border-collapse: collapse; font-size: 13px; margin: 8px 0; }
th, td { border-bottom: 1px solid #e0e0e0; padding: 4px 10px; text-align: left; }
td.num { white-space: nowrap; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.facts td:first-child { color: #555; }
.figures { display: flex; flex-wrap: wrap; gap: 10px; margin: 8px 0; }
.figures figure { margin: 0; }
.figures figcaption { font-size: 12px; color: #555; max-width: 260px; }
`;

// Drawn in the page: every chart gets a toolbox (PNG, SVG, CSV of its data, box zoom and reset on
// x-y charts, the log / linear switch where the chart offers one) and shift + wheel zoom on x.
const BOOT = `
(function () {
  var charts = JSON.parse(document.getElementById('icrl-charts').textContent);
  var drawn = [];
  var byId = {};
  function slug(t) { return String(t).toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '') || 'chart'; }
  function download(name, type, text) {
    var a = document.createElement('a');
    a.href = URL.createObjectURL(new Blob([text], { type: type }));
    a.download = name;
    document.body.appendChild(a);
    a.click();
    setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 0);
  }
  function svgOf(id) {
    var e = byId[id];
    var div = document.createElement('div');
    div.style.cssText = 'position:absolute;left:-10000px;top:0;width:' + e.el.clientWidth + 'px;height:' + e.el.clientHeight + 'px';
    document.body.appendChild(div);
    var svg = echarts.init(div, null, { renderer: 'svg' });
    var opt = e.chart.getOption();
    opt.toolbox = [{ show: false }];
    svg.setOption(opt);
    var text = svg.renderToSVGString();
    svg.dispose();
    div.remove();
    return text;
  }
  function points(chart) {
    var n = 0;
    (chart.getOption().series || []).forEach(function (s) {
      if (typeof s.id === 'string' && s.id.indexOf('band:') === 0) return;
      (s.data || []).forEach(function (d) { var y = Array.isArray(d) ? d[d.length - 1] : d; if (y !== null && y !== undefined && !isNaN(y)) n++; });
    });
    return n;
  }
  function toggleLog(id) {
    var e = byId[id];
    e.log = !e.log;
    var y = e.spec.option.yAxis || {};
    e.chart.setOption({ yAxis: Object.assign({}, y, e.log ? { type: 'log', logBase: 10, min: function (v) { return v.min > 0 ? Math.pow(10, Math.floor(Math.log10(v.min))) : null; }, scale: true } : { type: 'value', min: y.min === undefined ? null : y.min, scale: y.scale === true }) });
    return e.log ? 'log' : 'value';
  }
  var ICONS = {
    svg: 'path://M4,2H14L20,8V22H4ZM14,2V8H20M7,17C9,18 11,18 11,16C11,14 7,15 7,13C7,11 9,11 11,12M13,11L15,18L17,11',
    csv: 'path://M4,2H14L20,8V22H4ZM14,2V8H20M7,12H17M7,15H17M7,18H17M10,10V20M14,10V20',
    log: 'path://M3,3V21H21M6,18C9,8 13,6 20,5'
  };
  charts.forEach(function (c) {
    var el = document.getElementById(c.id);
    var chart = echarts.init(el, null, { renderer: 'canvas' });
    var e = { el: el, chart: chart, spec: c, log: false };
    byId[c.id] = e;
    chart.setOption(c.option);
    var xy = c.option.xAxis && c.option.xAxis.type !== 'category';
    var f = {
      saveAsImage: { title: 'PNG', name: slug(c.title), pixelRatio: 2 },
      mySvg: { show: true, title: 'SVG', icon: ICONS.svg, onclick: function () { download(slug(c.title) + '.svg', 'image/svg+xml', svgOf(c.id)); } },
      myCsv: { show: true, title: 'CSV', icon: ICONS.csv, onclick: function () { download(slug(c.title) + '.csv', 'text/csv', c.csv); } }
    };
    if (xy) {
      f.dataZoom = { title: { zoom: 'zoom (drag a box)', back: 'undo zoom' }, yAxisIndex: 'none' };
      f.restore = { title: 'reset' };
    }
    if (c.logToggle) f.myLog = { show: true, title: 'log / linear y axis', icon: ICONS.log, onclick: function () { toggleLog(c.id); } };
    var extra = { toolbox: { right: 4, top: 0, itemSize: 14, feature: f } };
    if (xy) extra.dataZoom = [{ type: 'inside', xAxisIndex: 0, filterMode: 'none', zoomOnMouseWheel: 'shift', moveOnMouseWheel: false, moveOnMouseMove: true }];
    chart.setOption(extra);
    var series = (c.option.series || []).filter(function (s) { return !(typeof s.id === 'string' && s.id.indexOf('band:') === 0); });
    drawn.push({ id: c.id, title: c.title, series: series.length, seriesNames: series.map(function (s) { return s.name; }), points: points(chart), tools: Object.keys(f), logToggle: c.logToggle === true });
    window.addEventListener('resize', function () { chart.resize(); });
  });
  window.__icrlReport = {
    ready: true,
    charts: drawn,
    csv: function (id) { return byId[id].spec.csv; },
    svg: svgOf,
    toggleLog: toggleLog,
    points: function (id) { return points(byId[id].chart); },
    yAxisType: function (id) { return byId[id].chart.getOption().yAxis[0].type; }
  };
})();
`;

/** The whole HTML page of a report. */
export function renderDocument(doc: ReportDocument): string {
  const charts: ChartData[] = [];
  const parts: string[] = [];
  if (doc.facts && doc.facts.length > 0) {
    parts.push(`<section><h2>Summary</h2><table class="facts">${doc.facts.map(([k, v]) => `<tr><td>${escapeHtml(k)}</td><td>${escapeHtml(v)}</td></tr>`).join('')}</table></section>`);
  }
  for (const s of doc.sections) {
    const body: string[] = [`<h2>${escapeHtml(s.title)}</h2>`];
    for (const p of s.text ?? []) body.push(`<p>${escapeHtml(p)}</p>`);
    for (const t of s.tables ?? []) body.push(renderTable(t));
    for (const c of s.charts ?? []) body.push(renderChart(c, charts));
    if (s.figures && s.figures.length > 0) body.push(renderFigures(s.figures));
    parts.push(`<section>${body.join('\n')}</section>`);
  }
  const sub = (doc.subtitle ?? []).map((l) => `<p>${escapeHtml(l)}</p>`).join('');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(doc.title)}</title>
<style>${CSS}</style>
</head>
<body>
<header><h1>${escapeHtml(doc.title)}</h1>${sub}</header>
<main>
${parts.join('\n')}
</main>
<script type="application/json" id="icrl-charts">${scriptJson(charts)}</script>
${charts.length > 0 ? `<script>${echartsScript()}</script>` : ''}
<script>${BOOT}</script>
</body>
</html>
`;
}

function renderFigures(figs: FigureSpec[]): string {
  const items = figs.map((f) => `<figure>${f.svg}${f.caption ? `<figcaption>${escapeHtml(f.caption)}</figcaption>` : ''}</figure>`);
  return `<div class="figures">${items.join('')}</div>`;
}

/** What the page gets of a chart: its option, the CSV of its data, whether it has the log switch. */
interface ChartData {
  id: string;
  title: string;
  option: Record<string, unknown>;
  csv: string;
  logToggle?: boolean;
}

function renderChart(c: ChartSpec, charts: ChartData[]): string {
  const id = `chart-${charts.length + 1}`;
  charts.push({ id, title: c.title, option: c.option, csv: chartCsv(c), ...(c.logToggle ? { logToggle: true } : {}) });
  const desc = c.description ? `<p>${escapeHtml(c.description)}</p>` : '';
  return `<div class="chart"><h3>${escapeHtml(c.title)}</h3>${desc}<div class="plot" id="${id}" style="height:${c.height ?? 360}px"></div></div>`;
}
