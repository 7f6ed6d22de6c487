import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runPool } from '../src/core/pool.js';

let dir: string;
let script: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'icrl-pool-'));
  // a worker that reports when it started each job and how long it ran (compiled pool from dist/)
  script = join(dir, 'worker.mjs');
  writeFileSync(
    script,
    `import { serveJobs } from ${JSON.stringify(new URL('../dist/core/pool.js', import.meta.url).href)};
serveJobs((ms) => { const t0 = Date.now(); while (Date.now() - t0 < ms) {} return t0; });
`,
  );
  return () => rmSync(dir, { recursive: true, force: true });
});

describe('runPool', () => {
  it("starts the workers' jobs before this thread's own long synchronous job, one job per worker with prefetch 1", async () => {
    const starts: { at: number; byWorker: boolean }[] = [];
    let hereEnd = 0;
    const byWorkers = await runPool<number, number>({
      script,
      workers: 2,
      jobs: [600, 600, 600],
      prefetch: 1,
      // this thread's job never yields: while it runs, no worker message is handled here
      computeHere: (ms) => {
        const t0 = Date.now();
        while (Date.now() - t0 < ms) hereEnd = Date.now();
        hereEnd = Date.now();
        return t0;
      },
      onResult: (_i, at, byWorker) => starts.push({ at, byWorker }),
    });
    expect(byWorkers).toBe(2);
    expect(starts.filter((s) => !s.byWorker)).toHaveLength(1);
    // the three jobs ran side by side: both workers had begun before this thread's job ended
    for (const s of starts.filter((x) => x.byWorker)) expect(s.at).toBeLessThan(hereEnd);
  });
});
