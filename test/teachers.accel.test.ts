import { describe, it, expect } from 'vitest';
import { BoxSpace, CategoricalSpace, DiscreteSpace, Rng } from '../src/core/index.js';
import { TaskSpace, taskKey, type Task } from '../src/tasks/index.js';
import { getFamily } from '../src/envs/index.js';
import { RULESET_EDITS, checkRuleset, makeLayout, mutateRuleset, parseRuleset, type Ruleset } from '../src/envs/xland/index.js';
import { ACCEL_DEFAULTS, AccelTeacher, UnsupportedTaskSpaceError, makeTeacher } from '../src/teachers/index.js';

const mixed = new TaskSpace('mixed', {
  pos: new BoxSpace([0, -2], [1, 2]),
  size: new DiscreteSpace(4, 5),
  kind: new CategoricalSpace(['a', 'b', 'c']),
});
const dktd = getFamily('dark-key-to-door').taskSpace({ size: 6 });
const xland = (preset: string) => getFamily('xland').taskSpace({ preset });

describe('task mutations (ACCEL level edits) stay inside the task space', () => {
  it('default edits of box, discrete and categorical parameters, over many seeds and step sizes', () => {
    let changed = 0;
    let total = 0;
    for (let seed = 0; seed < 300; seed++) {
      const rng = new Rng(seed);
      const t = mixed.sample(rng);
      for (const boxStep of [0.05, 0.5, 5]) {
        const m = mixed.mutate(t, rng, { edits: 1 + (seed % 6), boxStep });
        mixed.check(m);
        total++;
        if (taskKey(m) !== taskKey(t)) changed++;
      }
      // one edit changes one parameter, and a discrete one by exactly one step
      const one = mixed.mutate(t, rng, { edits: 1 });
      const diff = Object.keys(t.params).filter((k) => JSON.stringify(t.params[k]) !== JSON.stringify(one.params[k]));
      expect(diff.length).toBeLessThanOrEqual(1);
      if (diff[0] === 'size') expect(Math.abs((one.params.size as number) - (t.params.size as number))).toBe(1);
      if (diff[0] === 'pos') expect((one.params.pos as number[]).filter((v, i) => v !== (t.params.pos as number[])[i]).length).toBe(1);
    }
    expect(changed / total).toBeGreaterThan(0.9);
    // huge steps are clipped to the box: the bounds are reached, never passed
    const rng = new Rng(1);
    const hits = new Set<number>();
    for (let k = 0; k < 200; k++) {
      const m = mixed.mutate(mixed.sample(rng), rng, { edits: 3, boxStep: 10 });
      for (const v of m.params.pos as number[]) if (v === 1 || v === 0 || v === 2 || v === -2) hits.add(v);
    }
    expect(hits.size).toBeGreaterThan(1);
    // the input task is left as it was
    const t = mixed.sample(new Rng(2));
    const copy = structuredClone(t);
    mixed.mutate(t, new Rng(3), { edits: 10 });
    expect(t).toEqual(copy);
    expect(() => mixed.mutate(t, rng, { edits: -1 })).toThrow(/edits must be a non-negative integer/);
  });

  it('Dark Key-to-Door: each edit moves the key or the door one cell, never onto the other or off the grid', () => {
    for (let seed = 0; seed < 400; seed++) {
      const rng = new Rng(seed);
      const t = dktd.sample(rng);
      const m = dktd.mutate(t, rng, { edits: 1 });
      dktd.check(m);
      const p = t.params as Record<string, number>;
      const q = m.params as Record<string, number>;
      const moved = Math.abs(p.keyX - q.keyX) + Math.abs(p.keyY - q.keyY) + Math.abs(p.doorX - q.doorX) + Math.abs(p.doorY - q.doorY);
      expect(moved).toBe(1);
      dktd.check(dktd.mutate(t, rng, { edits: 1 + (seed % 9) }));
    }
  });

  it('xland rulesets: every edit kind keeps rulesets inside the space (checked by checkRuleset), over many seeds and presets', () => {
    for (const preset of ['trivial', 'small', 'medium']) {
      const space = xland(preset);
      const layout = makeLayout('single', 9);
      const accepted = new Map<string, number>(RULESET_EDITS.map((e) => [e, 0]));
      for (let seed = 0; seed < 60; seed++) {
        const rng = new Rng(seed);
        const t = space.sample(rng);
        const m = space.mutate(t, rng, { edits: 1 + (seed % 5) });
        space.check(m);
        for (const edit of RULESET_EDITS) {
          const r = mutateRuleset(parseRuleset(t.params.ruleset), layout, rng, edit);
          try {
            checkRuleset(parseRuleset(r), layout);
            accepted.set(edit, accepted.get(edit)! + 1);
          } catch {
            // refused edits are drawn again by the task space's mutate
          }
        }
      }
      // each kind of edit yields valid rulesets (not all are refused)
      for (const [edit, n] of accepted) expect(n, `${preset}: ${edit}`).toBeGreaterThan(5);
    }
    // the edits do what they say
    const layout = makeLayout('single', 9);
    const base = parseRuleset(xland('small').sample(new Rng(4)).params.ruleset) as Ruleset;
    const rng = new Rng(5);
    expect(mutateRuleset(base, layout, rng, 'add-rule').rules.length).toBe(base.rules.length + 1);
    if (base.rules.length > 0) expect(mutateRuleset(base, layout, rng, 'remove-rule').rules.length).toBe(base.rules.length - 1);
    const moved = mutateRuleset(base, layout, rng, 'move-tile');
    expect(moved.tiles.filter((t) => t.at).length).toBe(base.tiles.filter((t) => t.at).length + 1);
    const recoloured = mutateRuleset(base, layout, rng, 'recolour-tile');
    expect(recoloured.tiles.filter((t, i) => t.color !== base.tiles[i].color).length).toBe(1);
    expect(recoloured.meta).toBeUndefined();
  });
});

/** A learner on Dark Key-to-Door whose returns on a task fluctuate while it is half learned. */
function noisyLearner(rng: Rng): (t: Task) => number {
  const seen = new Map<string, number>();
  return (t) => {
    const k = taskKey(t);
    const n = (seen.get(k) ?? 0) + 1;
    seen.set(k, n);
    const p = t.params as Record<string, number>;
    const far = p.doorX + p.doorY >= 8;
    // far doors: solved now and then (high max-MC regret); near doors: always solved (no regret)
    return far ? (rng.uniform53() < 0.5 ? 2 : 0) : 2;
  };
}

describe('ACCEL', () => {
  it('has the published defaults (facebookresearch/dcd, MiniGrid ACCEL)', () => {
    const t = makeTeacher('accel', mixed, 0) as AccelTeacher;
    expect([t.bufferSize, t.replayProb, t.rho, t.staleness, t.temperature, t.edits, t.editorProb, t.scoreKind, t.robust]).toEqual([4000, 0.8, 0.5, 0.3, 0.3, 5, 1, 'max-mc', true]);
    expect(ACCEL_DEFAULTS.bufferSize).toBe(4000);
    expect(() => makeTeacher('accel', mixed, 0, { edits: 1.5 })).toThrow(/edits/);
    expect(() => makeTeacher('accel', mixed, 0, { scroe: 'max-mc' })).toThrow(/scroe/);
  });

  it('replays, then proposes the edited replay for evaluation only; the buffer keeps the high-regret levels', () => {
    const rng = new Rng(9);
    const learner = noisyLearner(rng.split('learner'));
    const t = makeTeacher('accel', dktd, 1, { bufferSize: 30, returnRange: [0, 2], edits: 1 }) as AccelTeacher;
    let afterReplayIsEdit = 0;
    let replays = 0;
    let prevReplay: Task | null = null;
    for (let e = 0; e < 3000; e++) {
      const before = { ...t.counts };
      const task = t.sample();
      dktd.check(task);
      const kind = t.counts.replay > before.replay ? 'replay' : t.counts.edit > before.edit ? 'edit' : 'new';
      if (kind !== 'new') expect(t.lastSampleTrains).toBe(kind === 'replay');
      if (prevReplay && kind === 'edit') {
        afterReplayIsEdit++;
        const a = prevReplay.params as Record<string, number>;
        const b = task.params as Record<string, number>;
        expect(Math.abs(a.keyX - b.keyX) + Math.abs(a.keyY - b.keyY) + Math.abs(a.doorX - b.doorX) + Math.abs(a.doorY - b.doorY)).toBe(1);
      }
      if (kind === 'replay') replays++;
      prevReplay = kind === 'replay' ? task : null;
      t.record(task, learner(task));
    }
    expect(replays).toBeGreaterThan(1000);
    // (the last replay's edit may fall after the loop)
    expect(afterReplayIsEdit).toBeGreaterThanOrEqual(replays - 1);
    // the buffer holds mostly levels the learner solves only sometimes (far doors): after a success
    // their max-MC regret is 0 again, so some of them leave
    const far = t.buffer().filter((l) => (l.task.params.doorX as number) + (l.task.params.doorY as number) >= 8).length;
    // uniform sampling gives far doors about a sixth of the time
    const uniform = dktd.sampleMany(new Rng(2), 3000).filter((x) => (x.params.doorX as number) + (x.params.doorY as number) >= 8).length / 3000;
    expect(uniform).toBeLessThan(0.2);
    expect(far / t.size).toBeGreaterThan(2 * uniform);
  });

  it('works on xland rulesets (no unit encoding): valid proposals, a state round trip, and a clear error for unit proposals', () => {
    const space = xland('trivial');
    const t1 = makeTeacher('accel', space, 3, { bufferSize: 8 });
    const t2 = makeTeacher('accel', space, 3, { bufferSize: 8 });
    const ret = (t: Task, e: number) => (taskKey(t).length % 3) / 2 + (e % 2);
    for (let e = 0; e < 60; e++) {
      const a = t1.sample();
      const b = t2.sample();
      space.check(a);
      expect(b).toEqual(a);
      t1.record(a, ret(a, e));
      t2.record(b, ret(b, e));
    }
    const t3 = makeTeacher('accel', space, 77, { bufferSize: 8 });
    t3.loadState(JSON.parse(JSON.stringify(t1.saveState())));
    for (let e = 0; e < 40; e++) {
      const a = t1.sample();
      const c = t3.sample();
      expect(c).toEqual(a);
      t1.record(a, ret(a, e));
      t3.record(c, ret(c, e));
    }
    expect(JSON.stringify(t3.saveState())).toBe(JSON.stringify(t1.saveState()));
    expect(() => t1.sampleUnit()).toThrow(UnsupportedTaskSpaceError);
    expect(() => t1.sampleUnit()).toThrow(/unit-hypercube proposals need/);
    // a state from another space is refused
    expect(() => makeTeacher('accel', dktd, 0).loadState(t1.saveState(), 'accel.json')).toThrow(/accel\.json: the state was saved on task space/);
  });
});
