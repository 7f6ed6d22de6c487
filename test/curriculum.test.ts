import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng, loadConfig, ConfigError } from '../src/core/index.js';
import { getFamily } from '../src/envs/index.js';
import { splitTasks, taskKey } from '../src/tasks/index.js';
import {
  curriculumConfigSchema,
  runCurriculum,
  trainWithTeacher,
  selectPretrainingTasks,
  GoalQStudent,
  evaluateStudent,
  checkTeachers,
  drawTrainTask,
} from '../src/experiments/curriculum.js';
import { makeTeacher } from '../src/teachers/index.js';

const small = curriculumConfigSchema.parse({
  env: { size: 6, horizon: 20 },
  teachers: ['random', 'alp-gmm'],
  teacherOptions: { 'alp-gmm': { fitRate: 50 } },
  seeds: 2,
  heldOut: 20,
  student: { episodes: 200, parallel: 8, evalEvery: 50 },
  pretraining: { histories: 30, historyEpisodes: 6, parallel: 10 },
});

describe('curricula in the loop', () => {
  it('the goal-conditioned student learns: held-out return rises from its untrained value', () => {
    const space = getFamily('dark-key-to-door').taskSpace({ size: 6, horizon: 20 });
    const { heldOut } = splitTasks(space, { seed: 0, heldOut: 20 });
    const run = trainWithTeacher(small, 'random', 0, heldOut, space, true);
    expect(run.episodes).toEqual([0, 50, 100, 150, 200]);
    expect(run.heldOutReturn[run.heldOutReturn.length - 1]).toBeGreaterThan(run.heldOutReturn[0] + 0.5);
    // density windows count every proposed key cell once
    const total = (run.density ?? []).reduce((a, w) => a + w.counts.flat().reduce((x, y) => x + y, 0), 0);
    expect(total).toBe(200);
    // same seed, same numbers
    const again = trainWithTeacher(small, 'random', 0, heldOut, space, false);
    expect(again.heldOutReturn).toEqual(run.heldOutReturn);
  });

  it('an optimal student scores the oracle return on held-out tasks', () => {
    const size = 6;
    const horizon = 20;
    const space = getFamily('dark-key-to-door').taskSpace({ size, horizon });
    const { heldOut } = splitTasks(space, { seed: 1, heldOut: 15 });
    const s = new GoalQStudent(size, 0.2, 0.95, new Rng(0));
    // hand-set Q: prefer the move that reduces the offset to the target (x first, then y; stay on it)
    for (let wall = 0; wall < 9; wall++) {
      for (let hk = 0; hk < 2; hk++) {
        for (let dy = -(size - 1); dy <= size - 1; dy++) {
          for (let dx = -(size - 1); dx <= size - 1; dx++) {
            const st = ((wall * 2 + hk) * s.span + dy + size - 1) * s.span + dx + size - 1;
            const a = dx > 0 ? 0 : dx < 0 ? 1 : dy > 0 ? 2 : dy < 0 ? 3 : 4;
            s.q[st * 5 + a] = 1;
          }
        }
      }
    }
    const ev = evaluateStudent(s, heldOut, size, horizon, new Rng(0));
    const env = getFamily('dark-key-to-door').make(heldOut.length, { size, horizon });
    env.setTasks(heldOut);
    let oracle = 0;
    for (let i = 0; i < heldOut.length; i++) oracle += env.oracleValue(i);
    expect(ev.meanReturn).toBeCloseTo(oracle / heldOut.length, 10);
  });

  it('held-out tasks never reach training; pretraining selection records whole histories', () => {
    const space = getFamily('dark-key-to-door').taskSpace({ size: 3, horizon: 20 });
    // 72 tasks, 60 held out: most proposals must be redrawn
    const { heldOut } = splitTasks(space, { seed: 0, heldOut: 60 });
    const keys = new Set(heldOut.map(taskKey));
    const teacher = makeTeacher('random', space, 0);
    for (let i = 0; i < 300; i++) expect(keys.has(taskKey(drawTrainTask(teacher, keys)))).toBe(false);
    const space6 = getFamily('dark-key-to-door').taskSpace({ size: 6, horizon: 20 });
    const split6 = splitTasks(space6, { seed: 0, heldOut: 20 });
    const sel = selectPretrainingTasks(small, 'alp-gmm', 0, split6.heldOut, space6);
    expect(sel.progress.length).toBe(30);
    for (const p of sel.progress) expect(Math.abs(p)).toBeLessThanOrEqual(2);
    for (const o of sel.optimal) expect([0, 1, 2]).toContain(o);
  });

  it('runs every teacher against uniform at equal budget, over seeds', () => {
    const res = runCurriculum(small, { silent: true });
    expect(res.student.map((s) => s.teacher)).toEqual(['random', 'alp-gmm']);
    for (const s of res.student) {
      expect(s.finalReturn.perSeed.length).toBe(2);
      expect(s.curve.episodes).toEqual([0, 50, 100, 150, 200]);
    }
    expect(res.pretraining?.map((p) => p.teacher)).toEqual(['random', 'alp-gmm']);
    expect(res.density.length).toBe(2);
  });

  it('bad configs name the file and the field', () => {
    const dir = mkdtempSync(join(tmpdir(), 'icrl-cur-'));
    const f = join(dir, 'bad.yaml');
    writeFileSync(f, 'student:\n  episodez: 10\n');
    expect(() => loadConfig(curriculumConfigSchema, f)).toThrow(ConfigError);
    expect(() => loadConfig(curriculumConfigSchema, f)).toThrow(/bad\.yaml: invalid configuration\n.*student\.episodez: unknown key/);
    writeFileSync(f, 'env:\n  size: 1\n');
    expect(() => loadConfig(curriculumConfigSchema, f)).toThrow(/env\.size/);
    expect(() => checkTeachers(['alp-gmm', 'nope'], 'c.yaml')).toThrow(/c\.yaml: teachers: unknown teacher "nope"/);
    expect(checkTeachers(['alp-gmm'], 'c.yaml')).toEqual(['random', 'alp-gmm']);
  });

  it('the shipped configs are valid', () => {
    for (const f of ['configs/curriculum-dktd.yaml', 'configs/curriculum-quick.yaml']) {
      const c = loadConfig(curriculumConfigSchema, f);
      checkTeachers(c.teachers, f);
    }
  });
});

describe('icrl teach (CLI)', () => {
  const cli = (args: string[]) => spawnSync('node', ['bin/icrl.js', 'teach', ...args], { encoding: 'utf8' });

  it('bench prints one JSON line per teacher with "mastered" and writes series, densities and a chart', () => {
    const out = mkdtempSync(join(tmpdir(), 'icrl-tb-'));
    const r = cli(['bench', '--episodes', '1500', '--seeds', '2', '--teachers', 'random,alp-gmm,adr', '--dims', '2', '--unlearnable', '0.3', '--workers', '1', '--out', out]);
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    const rows = lines.filter((l) => l.teacher);
    expect(rows.length).toBe(6);
    for (const l of rows) {
      expect(typeof l.mastered).toBe('number');
      expect(l.seeds).toBe(2);
      expect(l.episodes).toBe(1500);
    }
    expect(lines.filter((l) => l.order).map((l) => l.variant)).toEqual(['toy-2d', 'toy-2d-unlearnable30']);
    const series = JSON.parse(readFileSync(join(out, 'teach-bench.json'), 'utf8'));
    expect(series.runs.length).toBe(12);
    expect(series.runs[0].episodes).toEqual([0, 1000, 1500]);
    expect(existsSync(join(out, 'teach-density.json'))).toBe(true);
    expect(readFileSync(join(out, 'teach-bench.html'), 'utf8')).toContain('Mastered cells over episodes');
  });

  it('bad options and bad configs exit with a clear message', () => {
    const r = cli(['bench', '--teachers', 'random,alpgmm', '--episodes', '10']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/unknown teacher "alpgmm"; known: random, alp-gmm/);
    const r2 = cli(['bench', '--episodes', 'many']);
    expect(r2.status).toBe(2);
    expect(r2.stderr).toMatch(/--episodes: expected an integer >= 1, got "many"/);
    const r4 = cli(['bench', '--teacher-options', '{"alp": {}}']);
    expect(r4.status).toBe(2);
    expect(r4.stderr).toMatch(/unknown teacher "alp"/);
    const r3 = cli(['curriculum', 'configs/does-not-exist.yaml']);
    expect(r3.status).toBe(2);
    expect(r3.stderr).toMatch(/config file not found/);
  });

  it('curriculum prints one line per teacher and part', () => {
    const out = mkdtempSync(join(tmpdir(), 'icrl-cq-'));
    const r = cli(['curriculum', 'configs/curriculum-quick.yaml', '--seeds', '1', '--quiet', '--out', out]);
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.filter((l) => l.part === 'student').map((l) => l.teacher)).toEqual(['random', 'alp-gmm', 'plr']);
    expect(lines.filter((l) => l.part === 'pretraining-selection').length).toBe(3);
    expect(existsSync(join(out, 'curriculum.html'))).toBe(true);
  });
});
