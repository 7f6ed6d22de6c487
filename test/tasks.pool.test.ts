import { describe, it, expect } from 'vitest';
import { Rng } from '../src/core/rng.js';
import { TaskPool, splitTasks, taskKey } from '../src/tasks/index.js';
import { getFamily } from '../src/envs/index.js';
import { makeTeacher } from '../src/teachers/index.js';

const xland = getFamily('xland').taskSpace({ preset: 'trivial', size: 7, horizon: 10 });
const dktd = getFamily('dark-key-to-door').taskSpace({ size: 4, horizon: 12 });

describe('task pools', () => {
  const train = splitTasks(xland, { seed: 0, heldOut: 5, train: 30 }).train;

  it('an index space over the pool: finite, one task per index, resolved to copies of the pool tasks', () => {
    const pool = new TaskPool(train);
    expect(pool.size).toBe(30);
    expect(pool.space.family).toBe('xland-pool');
    expect(pool.space.finite).toBe(true);
    const all = pool.space.enumerate();
    expect(all.map((t) => t.params.index)).toEqual([...Array(30).keys()]);
    expect(all.map((t) => taskKey(pool.resolve(t)))).toEqual(train.map(taskKey));
    const t = pool.resolve(all[3]);
    (t.params.ruleset as { rules: unknown[] }).rules.push('changed');
    expect(taskKey(pool.resolve(all[3]))).toBe(taskKey(train[3]));
    expect(() => pool.resolve({ family: 'xland-pool', params: { index: 30 } })).toThrow(/index/);
    expect(() => pool.resolve(train[0])).toThrow(/xland-pool/);
  });

  it('refuses an empty pool, a repeated task and mixed families', () => {
    expect(() => new TaskPool([])).toThrow(/at least one task/);
    expect(() => new TaskPool([train[0], train[1], train[0]])).toThrow(/task 2 repeats/);
    expect(() => new TaskPool([train[0], dktd.sample(new Rng(1))])).toThrow(/task 1 is of family "dark-key-to-door"/);
  });

  it('the unit-hypercube teachers that cannot encode rulesets choose among the pool by index', () => {
    expect(() => makeTeacher('plr', xland, 0)).toThrow(/nested space/);
    const pool = new TaskPool(train);
    for (const name of ['random', 'plr', 'robust-plr', 'alp-gmm']) {
      const t = makeTeacher(name, pool.space, 1, { returnRange: [0, 1] });
      const keys = new Set(train.map(taskKey));
      for (let i = 0; i < 40; i++) {
        const task = t.sample();
        expect(keys.has(taskKey(pool.resolve(task))), name).toBe(true);
        t.record(task, (task.params.index as number) / 30);
      }
    }
  });

  it('drawingFrom: the same space sampling uniformly from the pool, its edits unchanged', () => {
    const space = xland.drawingFrom(train);
    const keys = new Set(train.map(taskKey));
    const rng = new Rng(2);
    const drawn = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const t = space.sample(rng);
      expect(keys.has(taskKey(t))).toBe(true);
      drawn.add(taskKey(t));
    }
    expect(drawn.size).toBeGreaterThan(25);
    let left = 0;
    for (let i = 0; i < 20; i++) {
      const e = space.mutate(train[i], rng, { edits: 2 });
      space.check(e);
      if (!keys.has(taskKey(e))) left++;
    }
    expect(left).toBeGreaterThan(15);
    expect(() => xland.drawingFrom([])).toThrow(/at least one task/);
    expect(() => xland.drawingFrom([dktd.sample(new Rng(0))])).toThrow(/dark-key-to-door/);
    // the pool copy is private: changing a drawn task changes nothing
    const a = space.sample(new Rng(5));
    (a.params.ruleset as { rules: unknown[] }).rules.push('changed');
    expect(taskKey(space.sample(new Rng(5)))).not.toBe(taskKey(a));
  });
});
