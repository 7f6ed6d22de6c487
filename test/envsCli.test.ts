import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function icrl(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['bin/icrl.js', ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('icrl envs', () => {
  it('list --json gives every family with its task-space parameters and default options', () => {
    const r = icrl('envs', 'list', '--json');
    expect(r.status).toBe(0);
    const rows = JSON.parse(r.stdout) as { name: string; options: Record<string, unknown>; taskParams: { name: string; space: string }[] }[];
    expect(rows.map((x) => x.name)).toEqual(['bandit', 'linear-bandit', 'darkroom', 'dark-key-to-door', 'point-robot', 'xland', 'cheetah-vel', 'cheetah-dir', 'ant-dir', 'walker-param', 'reach', 'push', 'mixture']);
    expect(rows.find((x) => x.name === 'cheetah-vel')?.taskParams).toEqual([{ name: 'velocity', space: 'box [0, 3]', description: 'target forward velocity in m/s (unobserved)' }]);
    expect(rows.find((x) => x.name === 'ant-dir')?.options).toEqual({ horizon: 200, frameSkip: 5, ctrlCost: 0.5, contactCost: 0.0005, surviveBonus: 1, terminateWhenUnhealthy: true, threads: 1 });
    const dark = rows.find((x) => x.name === 'darkroom');
    expect(dark?.taskParams.map((p) => p.name)).toEqual(['goalX', 'goalY']);
    expect(dark?.options).toEqual({ size: 10, horizon: 100, permuted: false });
    expect(rows.find((x) => x.name === 'bandit')?.options).toEqual({ arms: 5, reward: 'gaussian', noiseSd: 0.3 });
  });

  it('bench prints one JSON line per figure with a positive rate', () => {
    const r = icrl('envs', 'bench', '--instances', '1,16', '--steps', '20', '--runs', '1', '--min-seconds', '0', '--families', 'darkroom,point-robot');
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { bench: string; family: string; instances: number; actions: string; steps_per_s: number });
    const figures = lines.filter((l) => !l.family.startsWith('('));
    // darkroom has 3 benchmarked variants, point-robot 1; 2 instance counts; 2 action modes
    expect(figures.length).toBe((3 + 1) * 2 * 2);
    for (const l of lines) {
      expect(l.bench).toBe('envs');
      expect(l.steps_per_s).toBeGreaterThan(0);
    }
    expect(new Set(figures.map((l) => l.actions))).toEqual(new Set(['rng-in-loop', 'pregenerated']));
  });

  it('show writes an animated episode of a MuJoCo family and refuses the others', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'icrl-show-')), 'reach.html');
    const r = icrl('envs', 'show', 'reach', '--policy', 'expert', '--steps', '30', '--out', out);
    expect(r.status).toBe(0);
    const line = JSON.parse(r.stdout.trim()) as { frames: number; policy: string; ended: string };
    expect(line).toMatchObject({ frames: 31, policy: 'expert', ended: 'running' });
    expect(readFileSync(out, 'utf8')).toContain('<canvas');
    const bad = icrl('envs', 'show', 'darkroom');
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/darkroom cannot be shown; these can: xland \(an ASCII picture\), cheetah-vel \(an animated episode\)/);
  });

  it('an unknown family or a bad flag is an error naming it', () => {
    const r = icrl('envs', 'bench', '--families', 'darkroom,nope');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/unknown environment family "nope"; known: bandit/);
    const s = icrl('envs', 'bench', '--actions', 'sometimes');
    expect(s.status).toBe(2);
    expect(s.stderr).toMatch(/--actions: "sometimes"/);
  });
});

describe('icrl envs xland-benchmark / show', () => {
  it('writes the same benchmark file for the same seed, and shows a task with the solver playing it', async () => {
    const { mkdtempSync, readFileSync, rmSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'icrl-xb-'));
    try {
      const gen = (name: string, seed: string) => icrl('envs', 'xland-benchmark', '--out', join(dir, name), '--preset', 'small', '--count', '60', '--held-out', '12', '--seed', seed);
      const a = gen('a.json', '3');
      expect(a.status, a.stderr).toBe(0);
      expect(JSON.parse(a.stdout)).toMatchObject({ preset: 'small', count: 60, train: 48, heldOut: 12 });
      expect(gen('b.json', '3').status).toBe(0);
      expect(gen('c.json', '4').status).toBe(0);
      expect(readFileSync(join(dir, 'a.json'), 'utf8')).toBe(readFileSync(join(dir, 'b.json'), 'utf8'));
      expect(readFileSync(join(dir, 'a.json'), 'utf8')).not.toBe(readFileSync(join(dir, 'c.json'), 'utf8'));
      const s = icrl('envs', 'show', 'xland', '--benchmark', join(dir, 'a.json'), '--index', '50', '--play');
      expect(s.status, s.stderr).toBe(0);
      expect(s.stdout).toMatch(/^ruleset [0-9a-f]{16}: goal /);
      const m = /solver: solved, (\d+) steps/.exec(s.stdout);
      expect(m).not.toBeNull();
      expect(s.stdout).toContain(`step ${m![1]}: `);
      expect(s.stdout).toMatch(/-> goal, reward 0\.9\d+/);
      const task = JSON.stringify({ goal: { kind: 'AgentOnTile', tile: { tile: 'goal', color: 'green' } }, rules: [], tiles: [{ tile: 'goal', color: 'green', at: [5, 5] }], agent: { at: [1, 1], dir: 'right' } });
      const one = icrl('envs', 'show', 'xland', '--task', task);
      expect(one.status, one.stderr).toBe(0);
      // (1,1) facing right to (5,5): 4 moves right, a turn, 4 moves down
      expect(one.stdout).toContain('solver: solved, 9 steps (optimal return 0.9667)');
      const badTask = icrl('envs', 'show', 'xland', '--task', task.replace('"green"', '"cyan"'));
      expect(badTask.stderr).toMatch(/ruleset\.goal\.tile\.color/);
      const bad = icrl('envs', 'show', 'xland', '--benchmark', join(dir, 'a.json'), '--index', '60');
      expect(bad.status).not.toBe(0);
      expect(bad.stderr).toMatch(/--index: 60 is not in 0\.\.59/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
