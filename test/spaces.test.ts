import { describe, it, expect } from 'vitest';
import { z } from 'zod';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BoxSpace, CategoricalSpace, DiscreteSpace, DictSpace, spaceFromSpec, Rng, loadConfig, ConfigError, OutOfSpaceError } from '../src/core/index.js';
import { TaskSpace, splitTasks, serializeTasks, deserializeTasks, taskKey } from '../src/tasks/index.js';

describe('spaces', () => {
  it('sample inside, reject outside with the field named', () => {
    const s = new DictSpace({ mean: new BoxSpace(0, 1), arms: new DiscreteSpace(4, 2), kind: new CategoricalSpace(['a', 'b']) });
    const r = new Rng(0);
    for (let i = 0; i < 100; i++) expect(s.contains(s.sample(r))).toBe(true);
    expect(() => s.check({ mean: 1.5, arms: 3, kind: 'a' })).toThrow(/task\.mean: 1\.5 is outside \[0, 1\]/);
    expect(() => s.check({ mean: 0.5, arms: 6, kind: 'a' })).toThrow(/task\.arms/);
    expect(() => s.check({ mean: 0.5, arms: 3, kind: 'c' })).toThrow(/task\.kind/);
    expect(() => s.check({ mean: 0.5, arms: 3, kind: 'a', extra: 1 })).toThrow(/task\.extra: unknown parameter/);
    expect(() => s.check({ mean: 0.5, arms: 3 })).toThrow(OutOfSpaceError);
    const back = spaceFromSpec(JSON.parse(JSON.stringify(s.spec)));
    expect(back.describe()).toBe(s.describe());
  });
  it('vector boxes check each dimension', () => {
    const b = new BoxSpace([0, -1], [1, 1]);
    expect(b.contains([0.5, -0.5])).toBe(true);
    expect(() => b.check([0.5, 2], 'goal')).toThrow(/goal\[1\]/);
  });
});

describe('task spaces and splits', () => {
  const grid = new TaskSpace('toy', { x: new DiscreteSpace(10), y: new DiscreteSpace(10) }, {
    enumerate: () => Array.from({ length: 100 }, (_, i) => ({ x: i % 10, y: Math.floor(i / 10) })),
  });
  const cont = new TaskSpace('cont', { a: new BoxSpace(0, 1) });
  it('finite split is deterministic by seed and disjoint', () => {
    const s1 = splitTasks(grid, { seed: 0, heldOut: 20 });
    const s2 = splitTasks(grid, { seed: 0, heldOut: 20 });
    const s3 = splitTasks(grid, { seed: 1, heldOut: 20 });
    expect(s1).toEqual(s2);
    expect(s1.train.length).toBe(80);
    expect(s1.heldOut.length).toBe(20);
    expect(s1.heldOut).not.toEqual(s3.heldOut);
    const tr = new Set(s1.train.map(taskKey));
    expect(s1.heldOut.some((t) => tr.has(taskKey(t)))).toBe(false);
  });
  it('infinite split samples reproducibly', () => {
    const a = splitTasks(cont, { seed: 3, heldOut: 5, train: 10 });
    expect(a).toEqual(splitTasks(cont, { seed: 3, heldOut: 5, train: 10 }));
    expect(a.train.length).toBe(10);
  });
  it('stratified draws put one task in every 1/n of each box dimension, keep the held-out tasks, and refuse other spaces', () => {
    const plane = new TaskSpace('plane', { p: new BoxSpace([-1, 0], [1, 10]), v: new BoxSpace(2, 5) });
    const n = 25;
    const tasks = plane.sampleStratified(new Rng(4), n);
    expect(tasks).toEqual(plane.sampleStratified(new Rng(4), n));
    expect(tasks).not.toEqual(plane.sampleStratified(new Rng(5), n));
    for (const t of tasks) plane.check(t);
    const strata = (xs: number[], lo: number, hi: number, k = n): number[] => xs.map((x) => Math.floor(((x - lo) / (hi - lo)) * k)).sort((a, b) => a - b);
    const all = Array.from({ length: n }, (_, i) => i);
    expect(strata(tasks.map((t) => (t.params.p as number[])[0]), -1, 1)).toEqual(all);
    expect(strata(tasks.map((t) => (t.params.p as number[])[1]), 0, 10)).toEqual(all);
    expect(strata(tasks.map((t) => t.params.v as number), 2, 5)).toEqual(all);
    // independent draws of as many tasks leave strata empty
    const random = plane.sampleMany(new Rng(4), n).map((t) => t.params.v as number);
    expect(new Set(strata(random, 2, 5)).size).toBeLessThan(n);
    // in a split: the same held-out tasks as the random draw, training tasks stratified, none held out
    const r = splitTasks(cont, { seed: 3, heldOut: 5, train: 10 });
    const s = splitTasks(cont, { seed: 3, heldOut: 5, train: 10, draw: 'stratified' });
    expect(s.heldOut).toEqual(r.heldOut);
    expect(s.train).not.toEqual(r.train);
    expect(strata(s.train.map((t) => t.params.a as number), 0, 1, 10)).toEqual(all.slice(0, 10));
    expect(() => splitTasks(grid, { seed: 0, heldOut: 20, draw: 'stratified' })).toThrow(/toy: draw: stratified is for infinite task spaces/);
    const mixed = new TaskSpace('mixed', { a: new BoxSpace(0, 1), k: new DiscreteSpace(3) });
    expect(() => mixed.sampleStratified(new Rng(0), 4)).toThrow(/mixed: stratified draws need an infinite space of box parameters.*k: /);
  });
  it('round-trips tasks through JSON and validates them', () => {
    const tasks = grid.enumerate().slice(0, 5);
    expect(deserializeTasks(grid, serializeTasks(grid, tasks))).toEqual(tasks);
    const bad = serializeTasks(grid, tasks).replace('"x": 0', '"x": 12');
    expect(() => deserializeTasks(grid, bad, 'lib.json')).toThrow(/lib\.json: tasks\[0\].*toy\.params\.x/);
  });
});

describe('config files', () => {
  const schema = z.strictObject({ seed: z.number().int(), env: z.strictObject({ family: z.string(), arms: z.number().int().positive() }) });
  const dir = mkdtempSync(join(tmpdir(), 'icrl-cfg-'));
  it('loads YAML and JSON', () => {
    writeFileSync(join(dir, 'a.yaml'), 'seed: 1\nenv:\n  family: bandit\n  arms: 5\n');
    writeFileSync(join(dir, 'a.json'), JSON.stringify({ seed: 1, env: { family: 'bandit', arms: 5 } }));
    expect(loadConfig(schema, join(dir, 'a.yaml'))).toEqual(loadConfig(schema, join(dir, 'a.json')));
  });
  it('names the file, the field and what was expected', () => {
    writeFileSync(join(dir, 'b.yaml'), 'seed: 1\nenv:\n  family: bandit\n  arms: -2\n');
    expect(() => loadConfig(schema, join(dir, 'b.yaml'))).toThrow(/b\.yaml[\s\S]*env\.arms: .*>0/);
    writeFileSync(join(dir, 'c.yaml'), 'seed: 1\nenv:\n  family: bandit\n  arms: 2\n  armz: 3\n');
    try {
      loadConfig(schema, join(dir, 'c.yaml'));
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as ConfigError).message).toMatch(/c\.yaml[\s\S]*env\.armz: unknown key/);
      expect((e as ConfigError).field).toBe('env.armz');
    }
    writeFileSync(join(dir, 'd.yaml'), 'seed: [1\n');
    expect(() => loadConfig(schema, join(dir, 'd.yaml'))).toThrow(/d\.yaml: cannot parse as YAML/);
    expect(() => loadConfig(schema, join(dir, 'nope.yaml'))).toThrow(/nope\.yaml: config file not found/);
  });
});
