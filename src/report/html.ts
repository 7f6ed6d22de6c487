/**
 * Renders a report as one self-contained HTML file: the ECharts library is inlined when there are
 * charts (no CDN, opens offline from disk; a page of tables and pictures only goes without it), the chart options travel as JSON in a data block, and a small script draws
 * every chart on load. After drawing, `window.__icrlReport` lists each chart with its number of line
 * series so that a headless browser test can check what was drawn.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { ChartSpec, FigureSpec, ReportSection, TableSpec } from './charts.js';

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

function fmtCell(v: string | number | null): string {
  if (v === null) return '';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return String(v);
    if (Number.isInteger(v)) return String(v);
    const a = Math.abs(v);
    return a !== 0 && (a < 0.01 || a >= 1e5) ? v.toExponential(3) : v.toFixed(a < 10 ? 3 : 1);
  }
  return escapeHtml(v);
}

function renderTable(t: TableSpec): string {
  const head = t.columns.map((c) => `<th>${escapeHtml(c)}</th>`).join('');
  const body = t.rows.map((r) => `<tr>${r.map((v) => `<td${typeof v === 'number' ? ' class="num"' : ''}>${fmtCell(v)}</td>`).join('')}</tr>`).join('\n');
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
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.facts td:first-child { color: #555; }
.figures { display: flex; flex-wrap: wrap; gap: 10px; margin: 8px 0; }
.figures figure { margin: 0; }
.figures figcaption { font-size: 12px; color: #555; max-width: 260px; }
`;

const BOOT = `
(function () {
  var charts = JSON.parse(document.getElementById('icrl-charts').textContent);
  var drawn = [];
  charts.forEach(function (c) {
    var el = document.getElementById(c.id);
    var chart = echarts.init(el, null, { renderer: 'canvas' });
    chart.setOption(c.option);
    var series = (c.option.series || []).filter(function (s) { return !(typeof s.id === 'string' && s.id.indexOf('band:') === 0); });
    drawn.push({ id: c.id, title: c.title, series: series.length, seriesNames: series.map(function (s) { return s.name; }) });
    window.addEventListener('resize', function () { chart.resize(); });
  });
  window.__icrlReport = { ready: true, charts: drawn };
})();
`;

/** The whole HTML page of a report. */
export function renderDocument(doc: ReportDocument): string {
  const charts: { id: string; title: string; option: Record<string, unknown> }[] = [];
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

function renderChart(c: ChartSpec, charts: { id: string; title: string; option: Record<string, unknown> }[]): string {
  const id = `chart-${charts.length + 1}`;
  charts.push({ id, title: c.title, option: c.option });
  const desc = c.description ? `<p>${escapeHtml(c.description)}</p>` : '';
  return `<div class="chart"><h3>${escapeHtml(c.title)}</h3>${desc}<div class="plot" id="${id}" style="height:${c.height ?? 360}px"></div></div>`;
}
