import { describe, it, expect } from 'vitest';
import { Rng, OutOfSpaceError, UnknownNameError, ConfigError } from '../src/core/index.js';
import { taskKey } from '../src/tasks/index.js';
import {
  BatchedBandit,
  BatchedDarkRoom,
  darkroomSplit,
  darkroomOptimalReturn,
  getFamily,
  listFamilies,
  makeEnv,
  ACTION_PERMUTATIONS,
} from '../src/envs/index.js';

/** Breadth-first search distances over a generic discrete transition function. */
function bfs(numStates: number, numActions: number, start: number, next: (s: number, a: number) => number): Int32Array {
  const dist = new Int32Array(numStates).fill(-1);
  const queue = [start];
  dist[start] = 0;
  for (let q = 0; q < queue.length; q++) {
    const s = queue[q];
    for (let a = 0; a < numActions; a++) {
      const t = next(s, a);
      if (dist[t] < 0) {
        dist[t] = dist[s] + 1;
        queue.push(t);
      }
    }
  }
  return dist;
}

describe('registry', () => {
  it('lists families and rejects unknown names, listing the known ones', () => {
    const names = listFamilies().map((f) => f.name);
    expect(names).toContain('bandit');
    expect(names).toContain('darkroom');
    expect(() => getFamily('nope')).toThrow(UnknownNameError);
    expect(() => getFamily('nope')).toThrow(/environment family "nope"; known: .*bandit.*darkroom/);
  });
  it('rejects unknown or bad family options by name', () => {
    expect(() => new BatchedDarkRoom(1, { sise: 10 })).toThrow(ConfigError);
    expect(() => new BatchedDarkRoom(1, { sise: 10 })).toThrow(/sise/);
    expect(() => new BatchedBandit(1, { arms: 1 })).toThrow(/arms/);
  });
});

describe('bandit', () => {
  const task = { family: 'bandit', params: { means: [0.1, 0.9, 0.5, 0.3, 0.2] } };

  it('pays the arm mean without noise, one-step episodes that reset automatically', () => {
    const env = new BatchedBandit(3, { noiseSd: 0 });
    env.setTasks([task]);
    env.reset();
    env.step(Int32Array.from([0, 1, 4]));
    expect(Array.from(env.rewards)).toEqual([0.1, 0.9, 0.2].map(Math.fround));
    expect(Array.from(env.terminated)).toEqual([1, 1, 1]);
    expect(Array.from(env.truncated)).toEqual([0, 0, 0]);
    expect(Array.from(env.episodeStep)).toEqual([0, 0, 0]);
    expect(env.oracleAction(0)).toBe(1);
    expect(env.oracleValue(2)).toBeCloseTo(0.9, 12);
    expect(env.expectedReward(1, 2)).toBeCloseTo(0.5, 12);
  });

  it('Gaussian noise has the configured sd and is reproducible by seed', () => {
    const run = (seed: number): Float32Array => {
      const env = new BatchedBandit(2000, { noiseSd: 0.3 });
      env.setTasks([task]);
      env.reset(seed);
      env.step(new Int32Array(2000).fill(1));
      return env.rewards.slice();
    };
    const r = run(7);
    expect(run(7)).toEqual(r);
    expect(run(8)).not.toEqual(r);
    let m = 0;
    for (const x of r) m += x;
    m /= r.length;
    let v = 0;
    for (const x of r) v += (x - m) ** 2;
    const sd = Math.sqrt(v / (r.length - 1));
    expect(m).toBeGreaterThan(0.9 - 0.03);
    expect(m).toBeLessThan(0.9 + 0.03);
    expect(sd).toBeGreaterThan(0.27);
    expect(sd).toBeLessThan(0.33);
  });

  it('Bernoulli rewards are 0/1 with the arm mean as probability', () => {
    const env = new BatchedBandit(4000, { reward: 'bernoulli' });
    env.setTasks([task]);
    env.reset(1);
    env.step(new Int32Array(4000).fill(2));
    let s = 0;
    let other = 0;
    for (const x of env.rewards) {
      if (x !== 0 && x !== 1) other++;
      s += x;
    }
    expect(other).toBe(0);
    expect(s / 4000).toBeGreaterThan(0.46);
    expect(s / 4000).toBeLessThan(0.54);
  });

  it('oracle beats random play', () => {
    const n = 500;
    const env = new BatchedBandit(n, { noiseSd: 0 }, new Rng(3));
    const rng = new Rng(4);
    const random = new Int32Array(n);
    const oracle = new Int32Array(n);
    let rr = 0;
    let ro = 0;
    let worst = 0;
    for (let t = 0; t < 20; t++) {
      rng.fillInt(random, 5);
      for (let i = 0; i < n; i++) oracle[i] = env.oracleAction(i);
      env.step(random);
      for (const x of env.rewards) rr += x;
      env.step(oracle);
      for (let i = 0; i < n; i++) {
        ro += env.rewards[i];
        worst = Math.max(worst, Math.abs(env.rewards[i] - env.oracleValue(i)));
      }
    }
    expect(worst).toBeLessThan(1e-6);
    expect(ro).toBeGreaterThan(rr);
  });

  it('rejects out-of-range actions and tasks by name, changing nothing', () => {
    const env = new BatchedBandit(3, { noiseSd: 0 });
    env.setTasks([task]);
    env.step(Int32Array.from([0, 0, 0]));
    expect(() => env.step(Int32Array.from([0, 5, 0]))).toThrow(/action of instance 1 is 5/);
    expect(() => env.step(Int32Array.from([0, 1, -1]))).toThrow(/action of instance 2 is -1/);
    expect(() => env.step(new Float32Array(3) as unknown as Int32Array)).toThrow(OutOfSpaceError);
    expect(() => env.setTasks([{ family: 'bandit', params: { means: [0.1, 1.2, 0.5, 0.3, 0.2] } }])).toThrow(/means\[1\]: 1\.2 is outside \[0, 1\]/);
    expect(() => env.setTasks([{ family: 'bandit', params: { means: [0.1, 0.2] } }])).toThrow(OutOfSpaceError);
    expect(Array.from(env.rewards)).toEqual([0.1, 0.1, 0.1].map(Math.fround));
  });
});

describe('darkroom', () => {
  it('moves, hits walls, pays 1 on the goal and truncates at 100 steps', () => {
    const env = new BatchedDarkRoom(1);
    env.setTasks([{ family: 'darkroom', params: { goalX: 2, goalY: 0 } }]);
    const obs = env.reset();
    expect(Array.from(obs)).toEqual([0, 0]);
    const a = new Int32Array(1);
    a[0] = 1; // x-1 into the wall
    env.step(a);
    expect(Array.from(env.obs)).toEqual([0, 0]);
    expect(env.rewards[0]).toBe(0);
    a[0] = 3; // y-1 into the wall
    env.step(a);
    expect(Array.from(env.obs)).toEqual([0, 0]);
    a[0] = 2;
    env.step(a);
    expect(Array.from(env.obs)).toEqual([0, 1]);
    expect(env.stateIndex[0]).toBe(10);
    a[0] = 3;
    env.step(a);
    a[0] = 0;
    env.step(a);
    expect(env.rewards[0]).toBe(0);
    env.step(a);
    expect(Array.from(env.obs)).toEqual([2, 0]);
    expect(env.rewards[0]).toBe(1);
    a[0] = 4;
    let total = 1;
    for (let t = 7; t <= 100; t++) {
      env.step(a);
      total += env.rewards[0];
      expect(env.terminated[0]).toBe(0);
      expect(env.truncated[0]).toBe(t === 100 ? 1 : 0);
    }
    expect(total).toBe(95);
    // automatic reset: back at the start, final observation kept
    expect(Array.from(env.obs)).toEqual([0, 0]);
    expect(Array.from(env.finalObs)).toEqual([2, 0]);
    expect(env.episodeStep[0]).toBe(0);
    env.step(a);
    expect(env.truncated[0]).toBe(0);
    expect(env.episodeStep[0]).toBe(1);
  });

  it('oracle value equals BFS-derived optimum and the oracle policy achieves it, for every goal (10x10 and 20x20)', () => {
    for (const size of [10, 20]) {
      const env = new BatchedDarkRoom(size * size, { size });
      const tasks = env.taskSpace.enumerate();
      expect(tasks.length).toBe(size * size);
      env.setTasks(tasks);
      // BFS distances from the start cell over the real transition function (via a 1-instance env)
      const probe = new BatchedDarkRoom(1, { size, horizon: 1000 });
      const a = new Int32Array(1);
      const next = (s: number, act: number): number => {
        (probe as unknown as { stateIndex: Int32Array }).stateIndex[0] = s;
        probe.episodeStep[0] = 0;
        a[0] = act;
        probe.step(a);
        return probe.stateIndex[0];
      };
      const dist = bfs(size * size, 5, 0, next);
      const got = new Float64Array(size * size);
      const act = new Int32Array(size * size);
      for (let t = 0; t < 100; t++) {
        for (let i = 0; i < act.length; i++) act[i] = env.oracleAction(i);
        env.step(act);
        for (let i = 0; i < act.length; i++) got[i] += env.rewards[i];
      }
      for (let i = 0; i < tasks.length; i++) {
        const g = env.goalCell[i];
        const d = dist[g];
        const expected = d === 0 ? 100 : Math.max(0, 100 - d + 1);
        expect(env.oracleValue(i)).toBe(expected);
        expect(got[i]).toBe(expected);
        expect(darkroomOptimalReturn(size, 0, g, 100)).toBe(expected);
      }
    }
  });

  it('oracle beats random over the held-out goals', () => {
    const { heldOut } = darkroomSplit();
    const env = new BatchedDarkRoom(heldOut.length);
    env.setTasks(heldOut);
    const rng = new Rng(1);
    const act = new Int32Array(heldOut.length);
    let rand = 0;
    for (let t = 0; t < 100; t++) {
      rng.fillInt(act, 5);
      env.step(act);
      for (const r of env.rewards) rand += r;
    }
    let opt = 0;
    for (let i = 0; i < heldOut.length; i++) opt += env.oracleValue(i);
    expect(opt).toBeGreaterThan(rand * 5);
  });

  it('permuted actions: the task permutation remaps moves and the oracle follows it', () => {
    const env = new BatchedDarkRoom(120, { permuted: true });
    const tasks = Array.from({ length: 120 }, (_, p) => ({ family: 'darkroom', params: { goalX: 9, goalY: 9, perm: p } }));
    env.setTasks(tasks);
    // action a of permutation p moves like base action ACTION_PERMUTATIONS[p][a]
    const act = new Int32Array(120);
    for (let p = 0; p < 120; p++) act[p] = ACTION_PERMUTATIONS[p].indexOf(2); // the action that moves y+1
    env.step(act);
    for (let p = 0; p < 120; p++) expect([env.obs[2 * p], env.obs[2 * p + 1]]).toEqual([0, 1]);
    env.reset();
    const got = new Float64Array(120);
    for (let t = 0; t < 100; t++) {
      for (let i = 0; i < 120; i++) act[i] = env.oracleAction(i);
      env.step(act);
      for (let i = 0; i < 120; i++) got[i] += env.rewards[i];
    }
    for (let i = 0; i < 120; i++) expect(got[i]).toBe(100 - 18 + 1);
    expect(new Set(ACTION_PERMUTATIONS.map((p) => p.join(''))).size).toBe(120);
    expect(Array.from(ACTION_PERMUTATIONS[0])).toEqual([0, 1, 2, 3, 4]);
  });

  it('protocol split: 80 / 20 goals with seed 0, fixed and disjoint', () => {
    const a = darkroomSplit();
    const b = darkroomSplit();
    expect(a.train.length).toBe(80);
    expect(a.heldOut.length).toBe(20);
    expect(a.heldOut.map(taskKey)).toEqual(b.heldOut.map(taskKey));
    expect(a.train.map(taskKey)).toEqual(b.train.map(taskKey));
    const held = new Set(a.heldOut.map(taskKey));
    expect(a.train.some((t) => held.has(taskKey(t)))).toBe(false);
    expect(new Set([...a.train, ...a.heldOut].map(taskKey)).size).toBe(100);
    // pinned: the first held-out goals of the protocol split never change
    expect(a.heldOut.slice(0, 3).map((t) => t.params)).toMatchInlineSnapshot(`
      [
        {
          "goalX": 7,
          "goalY": 4,
        },
        {
          "goalX": 7,
          "goalY": 7,
        },
        {
          "goalX": 5,
          "goalY": 7,
        },
      ]
    `);
    const p = darkroomSplit({ permuted: true });
    expect(p.train.length).toBe(100);
    expect(p.heldOut.length).toBe(20);
    expect(p.heldOut.every((t) => t.params.goalX === 9 && t.params.goalY === 9)).toBe(true);
  });

  it('setTask changes one instance and restarts only its episode; getTask reads tasks back', () => {
    const env = new BatchedDarkRoom(2);
    env.setTasks([{ family: 'darkroom', params: { goalX: 3, goalY: 3 } }]);
    env.step(Int32Array.from([0, 0]));
    env.setTask(1, { family: 'darkroom', params: { goalX: 5, goalY: 6 } });
    expect(Array.from(env.obs)).toEqual([1, 0, 0, 0]);
    expect(Array.from(env.episodeStep)).toEqual([1, 0]);
    expect(env.getTask(1).params).toEqual({ goalX: 5, goalY: 6 });
    expect(env.getTask(0).params).toEqual({ goalX: 3, goalY: 3 });
    expect(() => env.setTask(1, { family: 'darkroom', params: { goalX: 5, goalY: -1 } })).toThrow(/goalY: -1/);
    expect(() => env.setTask(2, { family: 'darkroom', params: { goalX: 5, goalY: 1 } })).toThrow(/instance 2 does not exist/);
  });

  it('rejects bad actions, goals and permutations by name', () => {
    const env = new BatchedDarkRoom(4);
    expect(() => env.step(Int32Array.from([0, 0, 5, 0]))).toThrow(/darkroom: action of instance 2 is 5; expected an integer in \{0\.\.4\}/);
    expect(() => env.step(Int32Array.from([0, 0]))).toThrow(/expected 4 actions/);
    expect(() => env.setTasks([{ family: 'darkroom', params: { goalX: 10, goalY: 0 } }])).toThrow(/goalX: 10 is not in discrete \{0\.\.9\}/);
    expect(() => env.setTasks([{ family: 'darkroom', params: { goalX: 1, goalY: 0, perm: 3 } }])).toThrow(/perm: unknown parameter/);
    const p = new BatchedDarkRoom(1, { permuted: true });
    expect(() => p.setTasks([{ family: 'darkroom', params: { goalX: 1, goalY: 0, perm: 120 } }])).toThrow(/perm: 120/);
    expect(() => env.setTasks([{ family: 'bandit', params: { goalX: 1, goalY: 0 } }])).toThrow(/family/);
  });
});

describe('single-instance view', () => {
  it('follows Gymnasium conventions over a batch of one', () => {
    const env = makeEnv('darkroom', { task: { family: 'darkroom', params: { goalX: 0, goalY: 1 } } });
    const [obs, info] = env.reset(0);
    expect(obs).toEqual([0, 0]);
    expect(info.stateIndex).toBe(0);
    const [o1, r1, te, tr] = env.step(2);
    expect(o1).toEqual([0, 1]);
    expect(r1).toBe(1);
    expect(te).toBe(false);
    expect(tr).toBe(false);
    expect(env.oracleAction()).toBe(4);
    expect(env.oracleValue()).toBe(100);
    let last: ReturnType<typeof env.step> = env.step(4);
    for (let t = 3; t <= 100; t++) last = env.step(4);
    expect(last[3]).toBe(true);
    expect(last[0]).toEqual([0, 1]);
    expect(last[4].episodeStep).toBe(100);
    expect(() => env.step(4)).toThrow(/call reset\(\)/);
    env.reset();
    expect(() => env.step(7)).toThrow(/darkroom action: 7/);
    expect(() => env.step(1.5)).toThrow(/darkroom action: 1\.5/);
    const b = makeEnv('bandit', { options: { noiseSd: 0 }, task: { family: 'bandit', params: { means: [0, 1, 0, 0, 0] } } });
    b.reset(3);
    const [, r, term] = b.step(1);
    expect(r).toBe(1);
    expect(term).toBe(true);
    expect(() => makeEnv('nope')).toThrow(/known: /);
  });
});
