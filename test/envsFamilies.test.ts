import { describe, it, expect } from 'vitest';
import { Rng, OutOfSpaceError } from '../src/core/index.js';
import {
  BatchedLinearBandit,
  BatchedDarkKeyToDoor,
  BatchedPointRobot,
  darkKeyToDoorOptimalReturn,
  linearBanditFeatures,
  pointRobotOptimalReturn,
  listFamilies,
  makeEnv,
  needsMujoco,
} from '../src/envs/index.js';

describe('linear-bandit', () => {
  it('pays <theta, x_a> without noise; oracle is the brute-force argmax', () => {
    const env = new BatchedLinearBandit(50, { noiseSd: 0, arms: 8, dim: 3 }, new Rng(5));
    const f = env.features;
    for (let a = 0; a < 8; a++) {
      let norm = 0;
      for (let j = 0; j < 3; j++) norm += f[a * 3 + j] ** 2;
      expect(norm).toBeCloseTo(1, 12);
    }
    expect(linearBanditFeatures({ arms: 8, dim: 3 })).toEqual(f);
    expect(linearBanditFeatures({ arms: 8, dim: 3, featureSeed: 1 })).not.toEqual(f);
    const acts = new Int32Array(50);
    for (let a = 0; a < 8; a++) {
      acts.fill(a);
      env.step(acts);
      for (let i = 0; i < 50; i++) {
        const th = env.getTask(i).params.theta as number[];
        const want = th[0] * f[a * 3] + th[1] * f[a * 3 + 1] + th[2] * f[a * 3 + 2];
        expect(env.rewards[i]).toBeCloseTo(want, 6);
        expect(env.terminated[i]).toBe(1);
      }
    }
    for (let i = 0; i < 50; i++) {
      const th = env.getTask(i).params.theta as number[];
      let best = -Infinity;
      for (let a = 0; a < 8; a++) best = Math.max(best, th[0] * f[a * 3] + th[1] * f[a * 3 + 1] + th[2] * f[a * 3 + 2]);
      expect(env.oracleValue(i)).toBeCloseTo(best, 12);
      const o = env.oracleAction(i);
      expect(th[0] * f[o * 3] + th[1] * f[o * 3 + 1] + th[2] * f[o * 3 + 2]).toBeCloseTo(best, 12);
      expect(env.expectedReward(i, o)).toBeCloseTo(best, 12);
      expect(env.expectedReward(i, 2)).toBeCloseTo(th[0] * f[6] + th[1] * f[7] + th[2] * f[8], 12);
    }
    expect(() => env.expectedReward(0, 8)).toThrow(/linear-bandit action: 8/);
  });

  it('adds Gaussian noise with the configured sd', () => {
    const env = new BatchedLinearBandit(4000, { noiseSd: 0.3 });
    env.setTasks([{ family: 'linear-bandit', params: { theta: [1, 0, 0, 0, 0] } }]);
    env.reset(2);
    env.step(new Int32Array(4000));
    const mean = env.means[0];
    let v = 0;
    for (const r of env.rewards) v += (r - mean) ** 2;
    expect(Math.sqrt(v / 4000)).toBeGreaterThan(0.28);
    expect(Math.sqrt(v / 4000)).toBeLessThan(0.32);
  });

  it('rejects theta outside [-1, 1]^d and bad actions', () => {
    const env = new BatchedLinearBandit(2);
    expect(() => env.setTasks([{ family: 'linear-bandit', params: { theta: [0, 0, 2, 0, 0] } }])).toThrow(/theta\[2\]: 2 is outside \[-1, 1\]/);
    expect(() => env.step(Int32Array.from([3, 10]))).toThrow(/action of instance 1 is 10/);
  });
});

/** Exact finite-horizon dynamic programming for Dark Key-to-Door, written from the rules independently of the env. */
function keyDoorDp(size: number, key: number, door: number, horizon: number): number {
  const dx = [1, -1, 0, 0, 0];
  const dy = [0, 0, 1, -1, 0];
  const ns = size * size;
  // value[hasKey * ns + cell] with t steps to go
  let v = new Float64Array(2 * ns);
  for (let left = 1; left <= horizon; left++) {
    const nv = new Float64Array(2 * ns);
    for (let k = 0; k < 2; k++) {
      for (let c = 0; c < ns; c++) {
        let best = -Infinity;
        for (let a = 0; a < 5; a++) {
          let x = (c % size) + dx[a];
          let y = Math.floor(c / size) + dy[a];
          if (x < 0 || x >= size || y < 0 || y >= size) {
            x = c % size;
            y = Math.floor(c / size);
          }
          const c2 = y * size + x;
          let val: number;
          if (k === 0 && c2 === key) val = 1 + v[ns + c2];
          else if (k === 1 && c2 === door) val = 1; // terminal
          else val = v[k * ns + c2];
          best = Math.max(best, val);
        }
        nv[k * ns + c] = best;
      }
    }
    v = nv;
  }
  return v[0];
}

describe('dark-key-to-door', () => {
  it('key then door: rewards, termination and automatic reset', () => {
    const env = new BatchedDarkKeyToDoor(1);
    env.setTasks([{ family: 'dark-key-to-door', params: { keyX: 1, keyY: 0, doorX: 1, doorY: 1 } }]);
    env.reset();
    const a = new Int32Array(1);
    a[0] = 2; // to (0, 1): nothing
    env.step(a);
    expect(env.rewards[0]).toBe(0);
    a[0] = 0; // to (1, 1): the door, but no key yet
    env.step(a);
    expect(env.rewards[0]).toBe(0);
    expect(env.terminated[0]).toBe(0);
    expect(Array.from(env.obs)).toEqual([1, 1, 0]);
    a[0] = 3; // to (1, 0): key
    env.step(a);
    expect(env.rewards[0]).toBe(1);
    expect(Array.from(env.obs)).toEqual([1, 0, 1]);
    expect(env.stateIndex[0]).toBe(64 + 1);
    a[0] = 4; // stay on the key cell: no second key reward
    env.step(a);
    expect(env.rewards[0]).toBe(0);
    a[0] = 2; // to the door with the key
    env.step(a);
    expect(env.rewards[0]).toBe(1);
    expect(env.terminated[0]).toBe(1);
    expect(env.truncated[0]).toBe(0);
    expect(Array.from(env.finalObs)).toEqual([1, 1, 1]);
    expect(Array.from(env.obs)).toEqual([0, 0, 0]);
    expect(env.episodeStep[0]).toBe(0);
    // truncation after 50 steps when doing nothing
    a[0] = 4;
    for (let t = 1; t <= 50; t++) {
      env.step(a);
      expect(env.truncated[0]).toBe(t === 50 ? 1 : 0);
      expect(env.terminated[0]).toBe(0);
    }
  });

  it('a key on the start cell is picked up by staying', () => {
    const env = new BatchedDarkKeyToDoor(1);
    env.setTasks([{ family: 'dark-key-to-door', params: { keyX: 0, keyY: 0, doorX: 3, doorY: 0 } }]);
    expect(env.oracleAction(0)).toBe(4);
    env.step(Int32Array.from([4]));
    expect(env.rewards[0]).toBe(1);
    expect(env.oracleValue(0)).toBe(2);
  });

  it('oracle value equals exact dynamic programming over (cell, hasKey) and the oracle policy achieves it', () => {
    for (const [size, horizon] of [
      [4, 7],
      [8, 50],
      [8, 12],
    ]) {
      const env = new BatchedDarkKeyToDoor(1, { size, horizon });
      const all = env.taskSpace.enumerate();
      const tasks = size === 4 ? all : new Rng(9).shuffle(all.slice()).slice(0, 150);
      const big = new BatchedDarkKeyToDoor(tasks.length, { size, horizon });
      big.setTasks(tasks);
      const got = new Float64Array(tasks.length);
      const act = new Int32Array(tasks.length);
      const alive = new Uint8Array(tasks.length).fill(1);
      for (let t = 0; t < horizon; t++) {
        for (let i = 0; i < act.length; i++) act[i] = big.oracleAction(i);
        big.step(act);
        for (let i = 0; i < act.length; i++) {
          if (alive[i]) got[i] += big.rewards[i];
          if (big.terminated[i] || big.truncated[i]) alive[i] = 0;
        }
      }
      for (let i = 0; i < tasks.length; i++) {
        const want = keyDoorDp(size, big.keyCell[i], big.doorCell[i], horizon);
        expect(big.oracleValue(i)).toBe(want);
        expect(got[i]).toBe(want);
        expect(darkKeyToDoorOptimalReturn(size, 0, big.keyCell[i], big.doorCell[i], horizon)).toBe(want);
      }
    }
  });

  it('oracle beats random', () => {
    const n = 256;
    const env = new BatchedDarkKeyToDoor(n, {}, new Rng(1));
    const rng = new Rng(2);
    const act = new Int32Array(n);
    let rand = 0;
    for (let t = 0; t < 500; t++) {
      rng.fillInt(act, 5);
      env.step(act);
      for (const r of env.rewards) rand += r;
    }
    let opt = 0;
    for (let i = 0; i < n; i++) opt += env.oracleValue(i) * 10; // 500 steps = 10 episodes
    expect(opt).toBeGreaterThan(2 * rand);
  });

  it('rejects a key on the door and out-of-grid positions', () => {
    const env = new BatchedDarkKeyToDoor(1);
    expect(() => env.setTasks([{ family: 'dark-key-to-door', params: { keyX: 2, keyY: 2, doorX: 2, doorY: 2 } }])).toThrow(/key and door must be on different cells/);
    expect(() => env.setTasks([{ family: 'dark-key-to-door', params: { keyX: 8, keyY: 2, doorX: 2, doorY: 2 } }])).toThrow(/keyX: 8/);
    expect(() => env.step(Int32Array.from([-3]))).toThrow(/action of instance 0 is -3/);
  });
});

describe('point-robot', () => {
  const task = (angle: number) => ({ family: 'point-robot', params: { angle } });

  it('moves by the action, pays minus the distance to the goal, truncates after 20 steps', () => {
    const env = new BatchedPointRobot(1);
    env.setTasks([task(Math.PI / 2)]); // goal (0, 1)
    env.reset();
    const a = Float32Array.from([0.1, -0.05]);
    env.step(a);
    const x = Math.fround(0.1);
    const y = Math.fround(-0.05);
    expect(env.obs[0]).toBe(Math.fround(x));
    expect(env.obs[1]).toBe(Math.fround(y));
    expect(env.rewards[0]).toBeCloseTo(-Math.hypot(x - Math.cos(Math.PI / 2), y - 1), 6);
    a.fill(0);
    for (let t = 2; t <= 20; t++) {
      env.step(a);
      expect(env.truncated[0]).toBe(t === 20 ? 1 : 0);
      expect(env.terminated[0]).toBe(0);
    }
    expect(env.finalObs[0]).toBe(Math.fround(0.1));
    expect(Array.from(env.obs)).toEqual([0, 0]);
    expect(env.episodeStep[0]).toBe(0);
  });

  it('errors on actions outside the box instead of clamping', () => {
    const env = new BatchedPointRobot(3);
    expect(() => env.step(Float32Array.from([0, 0, 0.1, 0.1, 0.11, 0]))).toThrow(/action of instance 2 is \[0\.11.*\]; coordinate 0 must be in \[-0\.1, 0\.1\]/);
    expect(() => env.step(Float32Array.from([0, NaN, 0, 0, 0, 0]))).toThrow(/instance 0/);
    expect(() => env.step(new Int32Array(6) as unknown as Float32Array)).toThrow(OutOfSpaceError);
    expect(() => env.setTasks([task(-0.1)])).toThrow(/angle: -0\.1 is outside/);
    const single = makeEnv('point-robot');
    single.reset();
    expect(() => single.step([0.2, 0])).toThrow(/point-robot action\[0\]: 0\.2 is outside/);
  });

  it('oracle achieves the optimal return and no discretized action sequence does better', () => {
    const horizon = 3;
    const env = new BatchedPointRobot(1, { horizon });
    const grid = [-0.1, -0.05, 0, 0.05, 0.1];
    const out = new Float32Array(2);
    for (const angle of [0, 0.3, Math.PI / 4, 1.2, Math.PI / 2, 2.5, Math.PI]) {
      env.setTasks([task(angle)]);
      let ret = 0;
      for (let t = 0; t < horizon; t++) {
        env.oracleAction(0, out);
        env.step(out);
        ret += env.rewards[0];
      }
      expect(ret).toBeCloseTo(env.oracleValue(0), 5);
      // brute force over 25^3 action sequences
      const gx = Math.cos(angle);
      const gy = Math.sin(angle);
      let best = -Infinity;
      const rec = (t: number, x: number, y: number, acc: number): void => {
        if (t === horizon) {
          best = Math.max(best, acc);
          return;
        }
        for (const ax of grid) for (const ay of grid) rec(t + 1, x + ax, y + ay, acc - Math.hypot(x + ax - gx, y + ay - gy));
      };
      rec(0, 0, 0, 0);
      expect(env.oracleValue(0)).toBeGreaterThanOrEqual(best - 1e-9);
    }
  });

  it('oracle beats random over full episodes', () => {
    const n = 200;
    const env = new BatchedPointRobot(n, {}, new Rng(4));
    const rng = new Rng(5);
    const u = new Float32Array(2 * n);
    let rand = 0;
    for (let t = 0; t < 20; t++) {
      rng.fillUniform(u);
      for (let k = 0; k < u.length; k++) u[k] = (2 * u[k] - 1) * 0.1;
      env.step(u);
      for (const r of env.rewards) rand += r;
    }
    let opt = 0;
    for (let i = 0; i < n; i++) opt += env.oracleValue(i);
    expect(opt).toBeGreaterThan(rand);
    // a goal on an axis is the slowest to reach (one coordinate moves): its value bounds every other from below
    for (let i = 0; i < n; i++) expect(env.oracleValue(i)).toBeGreaterThanOrEqual(pointRobotOptimalReturn(1, 0, 0.1, 20) - 1e-9);
  });
});

describe('every family', () => {
  it('steps a batch with random valid actions, resets automatically, and gives the same results for the same seed', () => {
    // the MuJoCo families have the same checks, at their own sizes, in envsMujoco.test.ts
    for (const fam of listFamilies().filter((f) => !needsMujoco(f.name))) {
      const run = (): number[] => {
        const env = fam.make(64, {}, new Rng(11));
        env.reset(3);
        const rng = new Rng(12);
        const act = env.numActions > 0 ? new Int32Array(64) : new Float32Array(64 * env.actDim);
        const out: number[] = [];
        const bad: string[] = [];
        let ends = 0;
        for (let t = 0; t < 150; t++) {
          if (act instanceof Int32Array) rng.fillInt(act, env.numActions);
          else {
            rng.fillUniform(act);
            for (let k = 0; k < act.length; k++) act[k] = (2 * act[k] - 1) * 0.1;
          }
          env.step(act);
          for (let i = 0; i < 64; i++) {
            out.push(env.rewards[i]);
            if (env.terminated[i] || env.truncated[i]) {
              ends++;
              if (env.episodeStep[i] !== 0) bad.push(`${fam.name}: instance ${i} ended but episodeStep is ${env.episodeStep[i]}`);
            } else if (env.episodeStep[i] <= 0) bad.push(`${fam.name}: instance ${i} running with episodeStep ${env.episodeStep[i]}`);
            if (env.numStates > 0 && !(env.stateIndex[i] >= 0 && env.stateIndex[i] < env.numStates)) bad.push(`${fam.name}: stateIndex ${env.stateIndex[i]}`);
          }
        }
        expect(bad).toEqual([]);
        expect(ends).toBeGreaterThan(0);
        for (let k = 0; k < env.obs.length; k++) expect(Number.isFinite(env.obs[k])).toBe(true);
        return out;
      };
      expect(run()).toEqual(run());
      expect(fam.taskSpace().describeParams().length).toBeGreaterThan(0);
    }
  });
});
