// `icrl envs show` for a MuJoCo family, opened in headless Chromium (playwright-core, as
// test/report.test.ts checks the report): the page loads with no error and no network request, the
// animation advances through its frames and draws the bodies, and they move.
import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const CHROMIUM = process.env.ICRL_CHROMIUM ?? '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) process.stderr.write(`envsViewer.test: ${CHROMIUM} not found; the headless-browser check is skipped (install Debian's chromium, as .ci/run does)\n`);

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'icrl-viewer-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the MuJoCo episode viewer in a browser', () => {
  it.skipIf(!haveChromium)('icrl envs show reach --task ... --policy expert: loads cleanly, animates its frames, draws the hand moving', async () => {
    const out = join(dir, 'reach.html');
    const task = JSON.stringify({ goal: [0.05, 0.85, 0.2], puck: [0, 0.65] });
    const r = spawnSync(process.execPath, ['bin/icrl.js', 'envs', 'show', 'reach', '--task', task, '--policy', 'expert', '--steps', '40', '--view', 'top', '--fps', '50', '--out', out], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const line = JSON.parse(r.stdout.trim()) as { frames: number; ended: string; task: { goal: number[] } };
    expect(line.frames).toBe(41);
    expect(line.task.goal).toEqual([0.05, 0.85, 0.2]);

    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1000, height: 700 } });
      const errors: string[] = [];
      const requests: string[] = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      page.on('request', (q) => {
        if (!q.url().startsWith('file:')) requests.push(q.url());
      });
      await page.goto(pathToFileURL(out).href);
      // browser-side code as strings: the test is type-checked without the DOM library
      const ink = `(() => { const c = document.getElementById('c'); const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let n = 0, h = 0; for (let p = 0; p < d.length; p += 4) if (d[p + 3] > 0) { n++; h = (h * 31 + d[p] + 7 * d[p + 1] + 13 * d[p + 2] + p) % 1000000007; } return { n, h, frame: window.__icrlEpisode.frame }; })()`;
      // it plays: at least 5 more frames drawn and the frame moved on
      await page.waitForFunction('window.__icrlEpisode && window.__icrlEpisode.drawn >= 1', null, { timeout: 20_000 });
      const drawn0 = (await page.evaluate('window.__icrlEpisode.drawn')) as number;
      const frame0 = (await page.evaluate('window.__icrlEpisode.frame')) as number;
      await page.waitForFunction(`window.__icrlEpisode.drawn >= ${drawn0 + 5} && window.__icrlEpisode.frame !== ${frame0}`, null, { timeout: 20_000 });
      // paused, two chosen frames drawn by the page's own draw() (its script's globals): the start and
      // frame 10, while the hand is still on its way (the tail of the episode, the hand at the goal,
      // draws the same picture in every frame, so frames picked by timing could look alike)
      await page.evaluate(`document.getElementById('p').click()`);
      const info = (await page.evaluate('window.__icrlEpisode')) as { frames: number; drawn: number };
      expect(info.frames).toBe(41);
      const first = (await page.evaluate(`(() => { i = 0; draw(); return ${ink}; })()`)) as { n: number; h: number; frame: number };
      const later = (await page.evaluate(`(() => { i = 10; draw(); return ${ink}; })()`)) as { n: number; h: number; frame: number };
      expect(errors).toEqual([]);
      expect(requests).toEqual([]);
      expect(first.frame).toBe(0);
      expect(later.frame).toBe(10);
      expect(first.n).toBeGreaterThan(1000);
      expect(later.n).toBeGreaterThan(1000);
      expect(later.h).not.toBe(first.h);
      expect(await page.textContent('#f')).toBe('10');
    } finally {
      await browser.close();
    }
  });
});
