/**
 * `icrl runs` over a folder holding one run of each kind, made by the commands themselves (train,
 * collect and lhf with --json: their one JSON document on stdout), and `icrl report A B` with labels.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { evaluateAndReport } from '../src/experiments/evaluate.js';
import { listRuns } from '../src/experiments/runs.js';
import { spawnAsync } from './helpers/spawn.js';

const CLI = join(import.meta.dirname, '..', 'bin', 'icrl.js');

describe('icrl runs', () => {
  it('lists an evaluation, a training, a collection and an LHF run with their main figures', { timeout: 180_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'icrl-runs-'));
    // asynchronous: a training or collection that holds the worker's event loop can time out vitest's RPC
    const icrl = async (...args: string[]) => {
      const r = await spawnAsync(process.execPath, [CLI, ...args], { cwd: dir });
      expect(r.status, `icrl ${args.join(' ')}: ${r.stderr}`).toBe(0);
      return r.stdout;
    };
    try {
      // the evaluations from code (icrl eval's own output is tested in eval.cli.test.ts): fewer processes
      for (const [out, seed] of [['eval-a', 0], ['eval-b', 5]] as const) {
        await evaluateAndReport(
          { name: 'ev', seed, env: { family: 'bandit', options: { arms: 3 } }, tasks: { heldOut: 5 }, online: { steps: 20, agents: [{ type: 'thompson' }] }, out: join('runs', out) },
          { baseDir: dir, progress: false, log: () => {} },
        );
      }
      writeFileSync(
        join(dir, 't.yaml'),
        stringify({
          name: 'tr',
          out: 'runs/train',
          model: { kind: 'dpt', layers: 1, dModel: 8, heads: 2 },
          data: { family: 'bandit', envOptions: { arms: 3 }, split: { seed: 0, heldOut: 4, train: 32 }, validationFraction: 0.1, dpt: { samples: 32, contextLength: 5 } },
          optim: { steps: 4, batchSize: 4, lr: 0.003, warmupSteps: 1 },
          eval: { every: 4, tasks: 4, steps: 5 },
          logEvery: 2,
        }),
      );
      const train = JSON.parse(await icrl('train', 't.yaml', '--no-progress', '--json')) as { name: string; steps: number; finalLoss: number; evals: unknown[] };
      expect(train.name).toBe('tr');
      expect(train.steps).toBe(4);
      expect(train.evals.length).toBeGreaterThan(0);
      writeFileSync(
        join(dir, 'c.yaml'),
        stringify({ kind: 'histories', family: 'darkroom', tasks: { count: 4, split: 'train', heldOut: 0.2, seed: 0 }, algorithm: { kind: 'q-learning' }, steps: 200, numEnvs: 4, shardSize: 4, workers: 0, out: 'runs/data/dr' }),
      );
      const col = JSON.parse(await icrl('collect', 'c.yaml', '--no-progress', '--json')) as { shards: number; numShards: number; complete: boolean; transitions: number };
      expect(col).toMatchObject({ shards: 1, numShards: 1, complete: true, transitions: 800 });
      const lhf = JSON.parse(await icrl('lhf', 'runs/data/dr', '--json')) as { histories: number; kept: number; out: string };
      expect(lhf.histories).toBe(4);
      expect(existsSync(join(dir, lhf.out))).toBe(true);

      const listed = JSON.parse(await icrl('runs', '--json')) as { runs: { path: string; kind: string; name: string; date: string; figure: string; value?: { mean: number } }[] };
      expect(listed.runs.map((r) => [r.path, r.kind])).toEqual([
        [join('data', 'dr'), 'collect'],
        [join('data', 'dr'), 'lhf'],
        ['eval-a', 'eval'],
        ['eval-b', 'eval'],
        ['train', 'train'],
      ]);
      const ev = listed.runs.find((r) => r.path === 'eval-a')!;
      const res = JSON.parse(readFileSync(join(dir, 'runs', 'eval-a', 'results.json'), 'utf8'));
      expect(ev.value!.mean).toBe(res.online.agents[0].summary.finalRegret.mean);
      expect(ev.date).toBe(res.provenance.startedAt);
      expect(ev.figure).toMatch(/^thompson: regret at t=20 /);
      expect(listed.runs.find((r) => r.kind === 'train')!.figure).toMatch(/loss [\d.]+, validation [\d.]+, held-out regret [\d.]+/);
      expect(listed.runs.find((r) => r.kind === 'collect')!.figure).toBe('1/1 shards, 4 tasks, 800 transitions');
      const text = await icrl('runs', 'runs', '--kind', 'eval');
      expect(text.split('\n')[0]).toMatch(/^path +kind +name +date +main figure$/);
      expect(text.trim().split('\n').length).toBe(3);

      // two evaluations side by side, labelled
      const out = await icrl('report', 'runs/eval-a/results.json', 'runs/eval-b/results.json', '--labels', 'seed0,seed5', '-o', 'cmp.html');
      expect(out).toContain('report: cmp.html');
      const html = readFileSync(join(dir, 'cmp.html'), 'utf8');
      expect(html).toContain('"name":"seed0"');
      expect(html).toContain('"name":"seed5"');
      const bad = spawnSync(process.execPath, [CLI, 'report', 'runs/eval-a/results.json', 'runs/eval-b/results.json', '--labels', 'only-one'], { cwd: dir, encoding: 'utf8' });
      expect(bad.status).toBe(2);
      expect(bad.stderr).toContain('--labels: 1 labels for 2 results files');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('lists an icrl reproduce run with its verdict counts', () => {
    const dir = mkdtempSync(join(tmpdir(), 'icrl-runs-rep-'));
    try {
      const out = join(dir, 'reproduce', 'dpt-bandit-small');
      mkdirSync(out, { recursive: true });
      const verdicts = [{ outcome: 'holds' }, { outcome: 'does not hold' }, { outcome: 'holds' }, { outcome: 'inconclusive' }];
      writeFileSync(join(out, 'reproduce.json'), JSON.stringify({ format: 'icrl-reproduction', version: 1, name: 'dpt-bandit', scale: 'small', seeds: [0, 1, 2], verdicts, provenance: { startedAt: '2026-12-02T03:00:00.000Z' } }));
      writeFileSync(join(dir, 'reproduce', 'not-a-run.json'), '{}');
      const runs = listRuns(dir);
      expect(runs).toEqual([
        { path: join('reproduce', 'dpt-bandit-small'), kind: 'reproduce', name: 'dpt-bandit (small)', date: '2026-12-02T03:00:00.000Z', figure: '3 seeds; claims: 2 hold, 1 do not hold, 1 inconclusive', value: { metric: 'claims holding', mean: 2 } },
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
