import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { pairedDifference, reproductions, scoresOf, tableRows, trainInChildren, verdictOf, type Claim, type ScoreMatrix } from '../src/experiments/index.js';
import type { EvalResults } from '../src/eval/results.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const fixture = join(root, 'test', 'fixtures', 'reproduce', 'tiny-entry.mjs');
const collectFixture = join(root, 'test', 'fixtures', 'reproduce', 'tiny-collect-entry.mjs');

/**
 * Runs a fixture to its end without blocking this worker's event loop (a spawnSync of many seconds
 * keeps the test worker from answering vitest's calls on a loaded machine).
 */
function runNode(args: string[], cwd?: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', rej);
    child.on('close', (status) => res({ status, stdout, stderr }));
  });
}

describe('verdicts from intervals', () => {
  const claim: Claim = { text: 'A beats B', left: { agent: 'A', metric: 'lastReturn' }, right: { agent: 'B', metric: 'lastReturn' } };
  const grid = (f: (s: number, i: number) => number): ScoreMatrix => [0, 1, 2].map((s) => Array.from({ length: 10 }, (_, i) => f(s, i)));

  it('holds, does not hold or is inconclusive by where the interval of the paired difference lies', () => {
    const b = grid((s, i) => i + s);
    const better = new Map([['A:lastReturn', grid((s, i) => i + s + 1 + 0.1 * ((i * 7) % 3))], ['B:lastReturn', b]]);
    expect(verdictOf(claim, better).outcome).toBe('holds');
    const worse = new Map([['A:lastReturn', grid((s, i) => i + s - 1)], ['B:lastReturn', b]]);
    expect(verdictOf(claim, worse).outcome).toBe('does not hold');
    const mixed = new Map([['A:lastReturn', grid((s, i) => i + s + (i % 2 === 0 ? 1 : -1))], ['B:lastReturn', b]]);
    const v = verdictOf(claim, mixed);
    expect(v.outcome).toBe('inconclusive');
    expect(v.difference.lo).toBeLessThan(0);
    expect(v.difference.hi).toBeGreaterThan(0);
  });

  it('turns the sign for metrics where lower is better, and applies the fraction', () => {
    const regretA = [[10, 12, 11]];
    const regretB = [[20, 21, 19]];
    const d = pairedDifference(regretA, regretB, true);
    expect(d.estimate).toBeCloseTo(9, 12); // B - A
    // "A within 10% of B" with A above B by 5%: holds; "A below B" does not
    const c: Claim = { text: 'A within 10% of B', left: { agent: 'A', metric: 'finalRegret' }, right: { agent: 'B', metric: 'finalRegret' }, fraction: 1.1 };
    const s = new Map([['A:finalRegret', [[10.5, 10.5, 10.5, 10.5]]], ['B:finalRegret', [[10, 10, 10, 10]]]]);
    expect(verdictOf(c, s).outcome).toBe('holds');
    expect(verdictOf({ ...c, fraction: 1 }, s).outcome).toBe('does not hold');
  });

  it('names a score that was not measured, and refuses scores that point different ways', () => {
    const s = new Map([['A:lastReturn', [[1]]]]);
    expect(() => verdictOf(claim, s)).toThrow(/no score B:lastReturn.*measured: A:lastReturn/);
    expect(() => verdictOf({ ...claim, right: { agent: 'A', metric: 'finalRegret' } }, new Map([['A:lastReturn', [[1]]], ['A:finalRegret', [[1]]]]))).toThrow(/do not point the same way/);
  });

  it('reads per-task scores from results files and aggregates seeds', () => {
    const agent = (name: string, returns: number[][]) => ({ name, spec: {}, summary: { mode: 'episodes', episodes: 3, numTasks: returns.length, returns: { mean: [], lo: [], hi: [] }, oracle: { mean: 1, lo: 1, hi: 1 }, lastOverOracle: 0, perTaskReturns: returns, wallSeconds: 0 } });
    const results = { online: { mode: 'episodes', episodes: 3, agents: [agent('AD', [[0, 1, 3], [1, 1, 2]])] } } as unknown as EvalResults;
    const s = scoresOf(results);
    expect(s.get('AD:firstReturn')).toEqual([0, 1]);
    expect(s.get('AD:lastReturn')).toEqual([3, 2]);
    expect(s.get('AD:meanReturn')).toEqual([4 / 3, 4 / 3]);
    const rows = tableRows([{ agent: 'AD', metric: 'lastReturn' }], new Map([['AD:lastReturn', [[3, 2], [5, 4], [1, 0]]]]));
    expect(rows[0].perSeed).toEqual([2.5, 4.5, 0.5]);
    expect(rows[0].iqm.estimate).toBeCloseTo(2.5, 12);
  });

  it('lists the shipped entries with a paper, a claim and at least the small scale', () => {
    const names = reproductions.names();
    for (const n of ['dpt-bandit', 'ad-darkroom-rmax', 'alp-gmm-toy']) expect(names).toContain(n);
    for (const e of reproductions.list()) {
      expect(e.paper.length).toBeGreaterThan(10);
      expect(e.claims.length).toBeGreaterThan(0);
      expect(e.scales.small).toBeDefined();
    }
  });
});

describe('icrl reproduce list', () => {
  it('stops quietly when its reader closes the pipe early (| head)', () => {
    const r = spawnSync('bash', ['-c', `"${process.execPath}" "${join(root, 'bin', 'icrl.js')}" reproduce list | head -1`], { encoding: 'utf8' });
    expect(r.stdout.trim()).toBe('dpt-bandit');
    expect(r.stderr).not.toMatch(/EPIPE|Unhandled/);
  });
});

describe('icrl reproduce end to end', () => {
  it('a run killed during its second training seed resumes to the numbers of an uninterrupted run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'icrl-reproduce-'));
    try {
      const whole = join(dir, 'whole');
      const r1 = await runNode([fixture, whole, '2']);
      expect(r1.status, r1.stderr).toBe(0);
      expect(r1.stdout).toMatch(/(HOLDS|DOES NOT HOLD|INCONCLUSIVE): DPT's regret is below random's/);
      const killed = join(dir, 'killed');
      const child = spawn(process.execPath, [fixture, killed, '2'], { stdio: 'ignore' });
      const exited = new Promise<void>((res) => child.on('exit', () => res()));
      const seed1 = join(killed, 'train', 'DPT-seed1', 'checkpoints', 'latest.json');
      let killedMidway = false;
      while (child.exitCode === null) {
        if (existsSync(seed1)) {
          child.kill('SIGKILL');
          killedMidway = true;
          break;
        }
        await new Promise((r) => setTimeout(r, 5));
      }
      await exited;
      expect(killedMidway).toBe(true);
      expect(existsSync(join(killed, 'reproduce.json'))).toBe(false);
      const r2 = await runNode([fixture, killed, '2']);
      expect(r2.status, r2.stderr).toBe(0);
      expect(r2.stdout).toMatch(/seed 0: complete .* not run again/);
      const a = JSON.parse(readFileSync(join(whole, 'reproduce.json'), 'utf8'));
      const b = JSON.parse(readFileSync(join(killed, 'reproduce.json'), 'utf8'));
      expect(b.table).toEqual(a.table);
      expect(b.verdicts).toEqual(a.verdicts);
      expect(a.table.map((r: { agent: string }) => r.agent)).toEqual(['DPT', 'UCB', 'random']);
      expect(readFileSync(join(killed, 'report.html'), 'utf8')).toContain('Verdicts');
      expect(readdirSync(killed).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it("evaluates again when an agent's options changed, and keeps a finished evaluation of the same spec", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'icrl-reproduce-spec-'));
    try {
      const r1 = await runNode([fixture, dir, '1']);
      expect(r1.status, r1.stderr).toBe(0);
      const greedy = JSON.stringify({ actionSelection: 'greedy' });
      const r2 = await runNode([fixture, dir, '1', greedy]);
      expect(r2.status, r2.stderr).toBe(0);
      expect(r2.stdout).not.toMatch(/evaluate seed 0: complete/);
      expect(r2.stdout).toMatch(/evaluate seed 0: .* -> /);
      const results = JSON.parse(readFileSync(join(dir, 'eval', 'seed0', 'results.json'), 'utf8'));
      expect(results.config.online.agents.find((a: { name?: string }) => a.name === 'DPT').actionSelection).toBe('greedy');
      const r3 = await runNode([fixture, dir, '1', greedy]);
      expect(r3.status, r3.stderr).toBe(0);
      expect(r3.stdout).toMatch(/evaluate seed 0: complete .* not run again/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('seeds trained in parallel child processes give the numbers of a sequential run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'icrl-reproduce-par-'));
    try {
      const seq = join(dir, 'seq');
      const par = join(dir, 'par');
      const a = await runNode([fixture, seq, '2']);
      expect(a.status, a.stderr).toBe(0);
      const b = await runNode([fixture, par, '2', '{}', '1', '2']);
      expect(b.status, b.stderr).toBe(0);
      expect(b.stdout).toMatch(/train 2 runs, 2 at a time in child processes/);
      expect(b.stdout).toMatch(/train DPT, seed 1: done in/);
      // the entry's own pass then finds every run trained
      expect(b.stdout.match(/already trained: \d+ steps/g)?.length).toBe(2);
      expect(existsSync(join(par, 'train', 'DPT-seed0.log'))).toBe(true);
      const x = JSON.parse(readFileSync(join(seq, 'reproduce.json'), 'utf8'));
      const y = JSON.parse(readFileSync(join(par, 'reproduce.json'), 'utf8'));
      expect(y.table).toEqual(x.table);
      expect(y.verdicts).toEqual(x.verdicts);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('a training child that fails is named with the end of its log', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'icrl-reproduce-fail-'));
    try {
      const ctx = { out: dir, seeds: [0], scale: 'small' as const, progress: false, say: () => {} };
      const job = { label: 'X, seed 0', file: join(dir, 'missing.yaml'), set: ['seed=0'], dir: join(dir, 'train', 'X-seed0') };
      await expect(trainInChildren(ctx, [job], 2)).rejects.toThrow(/training X, seed 0 in a child process failed \(exit code \d+\); its log, \S*X-seed0\.log, ends:\n.*missing\.yaml/s);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('with progress on, a training child logs its progress and the parent says where each running child is', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'icrl-reproduce-prog-'));
    try {
      const lines: string[] = [];
      const ctx = { out: dir, seeds: [0], scale: 'small' as const, progress: true, say: (l: string) => lines.push(l) };
      const job = { label: 'X, seed 0', file: join(root, 'test', 'fixtures', 'reproduce', 'tiny-dpt.yaml'), set: ['seed=0'], dir: join(dir, 'train', 'X-seed0') };
      await trainInChildren(ctx, [job], 1, 50);
      expect(lines.some((l) => /^ {2}training: X, seed 0 (starting|\d+\/\d+ steps, ETA \S+)$/.test(l))).toBe(true);
      expect(lines.some((l) => /train X, seed 0: done in \d+ s/.test(l))).toBe(true);
      expect(readFileSync(join(dir, 'train', 'X-seed0.log'), 'utf8')).toMatch(/\d+\/\d+ steps/);
      expect(existsSync(join(dir, 'train', 'X-seed0', 'model'))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('with several evaluation runs per seed, every per-task score is the mean over the runs, each run with its own seed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'icrl-reproduce-runs-'));
    try {
      const r = await runNode([fixture, dir, '1', '{}', '2']);
      expect(r.status, r.stderr).toBe(0);
      const read = (sub: string) => JSON.parse(readFileSync(join(dir, 'eval', sub, 'results.json'), 'utf8')) as EvalResults & { config: { seed: number } };
      const [a, b] = [read('seed0'), read('seed0-run1')];
      expect(a.config.seed).toBe(0);
      expect(b.config.seed).not.toBe(0);
      const ucb = (x: EvalResults) => scoresOf(x).get('UCB:finalRegret')!;
      expect(ucb(b)).not.toEqual(ucb(a)); // other random streams
      const out = JSON.parse(readFileSync(join(dir, 'reproduce.json'), 'utf8'));
      for (const agent of ['DPT', 'UCB', 'random']) {
        const [x, y] = [a, b].map((res) => scoresOf(res).get(`${agent}:finalRegret`)!);
        const want = x.reduce((acc, v, i) => acc + (v + y[i]) / 2, 0) / x.length;
        const row = out.table.find((t: { agent: string }) => t.agent === agent);
        expect(row.perSeed[0]).toBeCloseTo(want, 9);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('a run given only evaluation options evaluates the models of the run without them, in its own folder', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'icrl-reproduce-evalopt-'));
    try {
      const base = join(dir, 'runs', 'reproduce', 'tiny-small');
      const a = await runNode([fixture, 'default', '1'], dir);
      expect(a.status, a.stderr).toBe(0);
      expect(a.stdout).not.toMatch(/models: trained in/);
      const b = await runNode([fixture, 'default', '1', '{}', '1', '1', '{"runs":2}'], dir);
      expect(b.status, b.stderr).toBe(0);
      expect(b.stdout).toMatch(/models: trained in \S*tiny-small\/train \(the run without runs, which change only the evaluation\)/);
      expect(b.stdout).toMatch(/already trained: \d+ steps/);
      const diag = join(dir, 'runs', 'reproduce', 'tiny-small-2');
      expect(existsSync(join(diag, 'train'))).toBe(false);
      expect(existsSync(join(diag, 'eval', 'seed0-run1', 'results.json'))).toBe(true);
      // run 0 of the diagnostic is the entry's own evaluation of the same model
      const dpt = (d: string) => scoresOf(JSON.parse(readFileSync(join(d, 'eval', 'seed0', 'results.json'), 'utf8')) as EvalResults).get('DPT:finalRegret');
      expect(dpt(diag)).toEqual(dpt(base));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('a run killed during its collection keeps the finished shards and resumes to the numbers of an uninterrupted run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'icrl-reproduce-collect-'));
    try {
      const whole = join(dir, 'whole');
      const r1 = await runNode([collectFixture, whole, '1']);
      expect(r1.status, r1.stderr).toBe(0);
      expect(r1.stdout).toMatch(/collect noisy: .*\n {2}collected 10 shards: 10 of 10 shards/);
      expect(r1.stdout).toMatch(/collect noisy-own, seed 0: .*noisy-own-seed0\n/);
      expect(JSON.parse(readFileSync(join(whole, 'collect', 'noisy-own-seed0', 'manifest.json'), 'utf8')).config.seed).toBe(0);
      expect(r1.stdout).toMatch(/LHF filter: \d+ of \d+ histories with weight > 0/);
      const killed = join(dir, 'killed');
      const child = spawn(process.execPath, [collectFixture, killed, '1'], { stdio: 'ignore' });
      const exited = new Promise<void>((res) => child.on('exit', () => res()));
      const manifest = join(killed, 'collect', 'noisy', 'manifest.json');
      let shardsAtKill = -1;
      while (child.exitCode === null) {
        if (existsSync(manifest)) {
          try {
            const m = JSON.parse(readFileSync(manifest, 'utf8'));
            const done = Object.keys(m.shards).length;
            if (done >= 1 && !m.complete) {
              child.kill('SIGKILL');
              shardsAtKill = done;
              break;
            }
          } catch {
            // the manifest is replaced atomically; a read between write and rename sees the old one
          }
        }
        await new Promise((r) => setTimeout(r, 2));
      }
      await exited;
      expect(shardsAtKill).toBeGreaterThanOrEqual(1);
      expect(shardsAtKill).toBeLessThan(10);
      expect(existsSync(join(killed, 'train'))).toBe(false);
      const r2 = await runNode([collectFixture, killed, '1']);
      expect(r2.status, r2.stderr).toBe(0);
      expect(r2.stdout).toMatch(/collected \d+ shards \(\d+ kept from before\): 10 of 10 shards/);
      const a = JSON.parse(readFileSync(join(whole, 'reproduce.json'), 'utf8'));
      const b = JSON.parse(readFileSync(join(killed, 'reproduce.json'), 'utf8'));
      expect(b.table).toEqual(a.table);
      expect(b.verdicts).toEqual(a.verdicts);
      expect(a.table.map((r: { agent: string }) => r.agent)).toEqual(['AD', 'AD-LHF', 'random']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
