import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { evaluateAndReport as runEvaluation } from '../src/experiments/evaluate.js';
import { readResults } from '../src/eval/results.js';
import { renderReport, writeReport, writeCompareReport, heatmapChart, bandLineChart, chartCsv, columnFormatter, readMetrics } from '../src/report/index.js';

const CHROMIUM = process.env.ICRL_CHROMIUM ?? '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) process.stderr.write(`report.test: ${CHROMIUM} not found; the headless-browser checks are skipped (install Debian's chromium, as .ci/run does)\n`);

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'icrl-report-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function metricsFile(): string {
  const f = join(dir, 'metrics.jsonl');
  const lines: string[] = [];
  for (let s = 0; s <= 50; s += 5) {
    const share = [0.5 - s / 200, 0.3, 0.2 + s / 200];
    lines.push(JSON.stringify({ step: s, loss: 1.6 * Math.exp(-s / 20) + 0.1, aux: { balanceLoss: 0.01 }, lr: 1e-4 * Math.min(1, (s + 1) / 10), tokensPerSec: 1000 + s, expertLoad: share, time: 12.5 }));
  }
  lines.push(JSON.stringify({ step: 50, kind: 'eval', regret: 12.3 }));
  lines.push(JSON.stringify({ step: 50, kind: 'eval', agent: 'ucb', regret: 40.1 }));
  writeFileSync(f, lines.join('\n') + '\n{"step": 5'); // a partial last line (killed run) is ignored
  return f;
}

describe('report', () => {
  it('writes results and a self-contained report; the results read back', async () => {
    const out = join(dir, 'bandit');
    const { results, reportPath, resultsPath } = await runEvaluation(
      {
        name: 'refs',
        seed: 1,
        env: { family: 'bandit', options: { arms: 5, noiseSd: 0 } },
        tasks: { heldOut: 12, seed: 0 },
        online: { steps: 40, agents: [], references: ['oracle', 'random'] },
        offline: { sizes: [0, 5, 20], datasetOptions: { noiseSd: 0.3 }, agents: [{ type: 'random' }] },
        out,
        report: { trainingMetrics: [metricsFile()] },
      },
      { progress: false, baseDir: dir, log: () => {} },
    );
    expect(results.online!.agents.map((a) => a.name)).toEqual(['oracle', 'random']);
    const back = readResults(resultsPath!);
    expect(back.online!.agents[1].summary).toEqual(JSON.parse(JSON.stringify(results.online!.agents[1].summary)));
    const html = readFileSync(reportPath!, 'utf8');
    expect(html).not.toMatch(/<script[^>]+src=/); // nothing loaded from elsewhere
    expect(html).not.toMatch(/https?:\/\/cdn/);
    expect(html.length).toBeGreaterThan(500_000); // ECharts is inlined
    const m = readMetrics(metricsFile());
    expect(m.scalars.get('loss')!.y.length).toBe(11);
    expect(m.scalars.get('eval.regret')!.y).toEqual([12.3]);
    expect(m.scalars.get('eval.ucb.regret')!.y).toEqual([40.1]);
    expect(m.vectors.get('expertLoad')!.v.length).toBe(11);
  });

  it('escapes text and script-breaking data', () => {
    const html = renderReport(null, { title: '<b>x</b>', sections: [{ title: 'T & U', text: ['</script><script>alert(1)</script>'], charts: [heatmapChart('h</script>', [0, 1], [0], [[1, 2]], { xName: 'a', yName: 'b' })] }] });
    expect(html).toContain('&lt;b&gt;x&lt;/b&gt;');
    expect(html).not.toContain('</script><script>alert(1)');
  });

  it.skipIf(!haveChromium)('renders in headless Chromium: every chart drawn with its series', async () => {
    const { chromium } = await import('playwright-core');
    const reportPath = join(dir, 'bandit', 'report.html');
    // A teacher-style extra section, to check generic sections draw too.
    const extra = join(dir, 'extra.html');
    writeReport(extra, readResults(join(dir, 'bandit', 'results.json')), {
      baseDir: join(dir, 'bandit'), // the results' relative paths are relative to their folder
      sections: [{ title: 'Teacher', charts: [heatmapChart('Task density', [0, 1, 2], [0, 1], [[1, 2, 3], [4, 5, 6]], { xName: 'x', yName: 'y' })] }],
    });
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    try {
      for (const file of [reportPath, extra]) {
        const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
        const requests: string[] = [];
        page.on('request', (r) => {
          if (!r.url().startsWith('file:')) requests.push(r.url());
        });
        const errors: string[] = [];
        page.on('pageerror', (e) => errors.push(String(e)));
        await page.goto(pathToFileURL(file).href);
        // Browser-side code as strings: the test is type-checked without the DOM library.
        await page.waitForFunction('window.__icrlReport && window.__icrlReport.ready === true', null, { timeout: 20_000 });
        const info = (await page.evaluate(`window.__icrlReport.charts.map((c) => {
          const canvas = document.querySelector('#' + c.id + ' canvas');
          let inked = 0;
          if (canvas) {
            const d = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
            for (let p = 3; p < d.length; p += 4) if (d[p] > 0) inked++;
          }
          return { ...c, hasCanvas: canvas !== null, inked, width: canvas ? canvas.width : 0 };
        })`)) as { id: string; title: string; series: number; seriesNames: string[]; hasCanvas: boolean; inked: number; width: number }[];
        expect(errors).toEqual([]);
        expect(requests).toEqual([]);
        const titles = info.map((c) => c.title);
        expect(titles).toContain('Cumulative regret');
        expect(titles).toContain('Suboptimality per step');
        expect(titles).toContain('Offline suboptimality against dataset size');
        expect(titles).toContain('Training loss');
        expect(titles.some((t) => t.startsWith('Expert usage'))).toBe(true);
        const regret = info.find((c) => c.title === 'Cumulative regret')!;
        expect(regret.seriesNames).toEqual(['oracle', 'random']);
        expect(info.find((c) => c.title.startsWith('Expert usage'))!.series).toBe(3);
        for (const c of info) {
          expect(c.hasCanvas, c.title).toBe(true);
          expect(c.width, c.title).toBeGreaterThan(100);
          expect(c.inked, `${c.title}: drawn pixels`).toBeGreaterThan(1000);
        }
        if (file === extra) expect(titles).toContain('Task density');
        await page.close();
      }
    } finally {
      await browser.close();
    }
  });

  it('table numbers of a column share one format', () => {
    // the example: 5.735e-3 beside 2.020; now both plain with 4 significant digits
    const f = columnFormatter([0.005735, 2.02, 3]);
    expect([f(0.005735), f(2.02), f(3)]).toEqual(['0.005735', '2.020', '3']);
    const e = columnFormatter([0.00001234, 2.5]);
    expect([e(0.00001234), e(2.5)]).toEqual(['1.234e-5', '2.500e+0']);
    const g = columnFormatter([0.05735, 2.02, 150.25]);
    expect([g(0.05735), g(2.02), g(150.25)]).toEqual(['0.05735', '2.020', '150.3']);
  });

  it('chart data as CSV: lines with their 95% bands, heatmaps as cells', () => {
    const c = bandLineChart('r', [{ name: 'a,b', x: [1, 2], mean: [1, 2], lo: [0.5, 1.5], hi: [1.5, 3] }, { name: 'ref', x: [1, 2], mean: [0, 0], reference: true }], { xName: 'x', yName: 'y' });
    expect(chartCsv(c)).toBe('series,x,y,lo,hi\n"a,b",1,1,0.5,1.5\n"a,b",2,2,1.5,3\nref,1,0,,\nref,2,0,,\n');
    expect(chartCsv(heatmapChart('h', ['p', 'q'], [0], [[1, 2]], { xName: 'a', yName: 'b' }))).toBe('x,y,value\np,0,1\nq,0,2\n');
  });

  it('a band stacks its width on its lower bound whatever the signs (a negative curve keeps its band around it)', () => {
    const c = bandLineChart('neg', [{ name: 'n', x: [1, 2], mean: [-500, -470], lo: [-510, -490], hi: [-490, -450] }], { xName: 'x', yName: 'y' });
    const series = (c.option as { series: { id: string; stack?: string; stackStrategy?: string }[] }).series;
    const band = series.filter((x) => x.stack);
    expect(band.map((x) => x.id)).toEqual(['band:n:lo', 'band:n:width']);
    for (const b of band) expect(b.stackStrategy).toBe('all');
  });

  it.skipIf(!haveChromium)('a two-run report in Chromium: no console error, every chart has data and two labelled series, toolbox, log switch, CSV, SVG', async () => {
    const runs = [];
    for (const [label, seed] of [['alpha', 3], ['beta', 4]] as const) {
      const mf = join(dir, `m-${label}.jsonl`);
      writeFileSync(mf, [JSON.stringify({ kind: 'config', step: 0, name: `train-${label}` }), ...[2, 4, 6].map((s) => JSON.stringify({ kind: 'train', step: s, loss: 1 / (s + seed) })), JSON.stringify({ kind: 'eval', step: 6, agent: 'dpt', meanRegret: seed })].join('\n') + '\n');
      const { results } = await runEvaluation(
        {
          name: `run-${label}`,
          seed,
          env: { family: 'bandit', options: { arms: 3, noiseSd: 0 } },
          tasks: { heldOut: 8, seed: 0 },
          online: { steps: 30, agents: [{ type: 'ucb' }], references: ['oracle', 'random'] },
          offline: { sizes: [1, 5, 50], datasetOptions: { noiseSd: 0.3 }, agents: [{ type: 'lcb' }] },
          out: join(dir, `cmp-${label}`),
          report: { trainingMetrics: [mf] },
        },
        { progress: false, baseDir: dir, log: () => {} },
      );
      runs.push({ label, results, baseDir: join(dir, `cmp-${label}`) });
    }
    const file = join(dir, 'compare.html');
    writeCompareReport(file, runs, { csvDir: join(dir, 'csv') });
    expect(readdirSync(join(dir, 'csv')).length).toBeGreaterThanOrEqual(5);
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'] });
    try {
      const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      await page.goto(pathToFileURL(file).href);
      await page.waitForFunction('window.__icrlReport && window.__icrlReport.ready === true', null, { timeout: 20_000 });
      const charts = (await page.evaluate('window.__icrlReport.charts')) as { id: string; title: string; seriesNames: string[]; points: number; tools: string[]; logToggle: boolean }[];
      const titles = charts.map((c) => c.title);
      for (const t of ['Cumulative regret', 'Suboptimality per step', 'Offline suboptimality against dataset size', 'Training loss', 'meanRegret']) expect(titles).toContain(t);
      for (const c of charts) {
        expect(c.points, `${c.title}: points drawn`).toBeGreaterThan(0);
        const labelled = c.seriesNames.filter((n) => /^(alpha|beta)\b/.test(n));
        expect(labelled.filter((n) => n.startsWith('alpha')).length, c.title).toBe(1);
        expect(labelled.filter((n) => n.startsWith('beta')).length, c.title).toBe(1);
        expect(c.tools).toEqual(expect.arrayContaining(['saveAsImage', 'mySvg', 'myCsv', 'dataZoom']));
      }
      const regret = charts.find((c) => c.title === 'Cumulative regret')!;
      expect(regret.seriesNames).toEqual(['alpha', 'beta', 'oracle', 'random']);
      expect(regret.logToggle).toBe(true);
      expect(await page.evaluate(`window.__icrlReport.toggleLog('${regret.id}')`)).toBe('log');
      expect(await page.evaluate(`window.__icrlReport.yAxisType('${regret.id}')`)).toBe('log');
      expect(await page.evaluate(`window.__icrlReport.toggleLog('${regret.id}')`)).toBe('value');
      const csv = (await page.evaluate(`window.__icrlReport.csv('${regret.id}')`)) as string;
      expect(csv.split('\n')[0]).toBe('series,x,y,lo,hi');
      expect(csv).toMatch(/^alpha,30,/m);
      expect(csv).toMatch(/^beta,30,/m);
      const svg = (await page.evaluate(`window.__icrlReport.svg('${regret.id}')`)) as string;
      expect(svg.startsWith('<svg')).toBe(true);
      expect(svg).toContain('alpha');
      const shot = await page.locator(`#${regret.id}`).screenshot();
      expect(shot.length).toBeGreaterThan(5000);
      expect(errors).toEqual([]);
      await page.close();
    } finally {
      await browser.close();
    }
  });
});
