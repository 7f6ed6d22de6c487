import { beforeAll, describe, expect, it } from 'vitest';
import { Worker } from 'node:worker_threads';
import { Rng } from '../src/core/rng.js';
import {
  BatchedAntDir,
  BatchedCheetah,
  BatchedTabletop,
  BatchedWalkerParam,
  HAND_INIT,
  MujocoModelError,
  antDirSplit,
  cheetahDirSplit,
  cheetahVelSplit,
  compileModel,
  projectFrame,
  recordEpisode,
  recordingHtml,
  expertSuccess,
  familyNames,
  getFamily,
  loadMujocoRuntime,
  makeEnv,
  mujocoRuntime,
  needsMujoco,
  prepareFamily,
  pushSplit,
  reachSplit,
  tolerance,
  walkerDefaultTask,
  walkerParamSplit,
} from '../src/envs/index.js';
import { taskKey } from '../src/tasks/taskSpace.js';

beforeAll(async () => {
  await prepareFamily('cheetah-vel');
});

function randomActions(rng: Rng, a: Float32Array): void {
  for (let k = 0; k < a.length; k++) a[k] = rng.uniformRange(-1, 1);
}

/** Torso x, y (double precision) of instance i, read from MuJoCo's data. */
function torsoXY(env: BatchedCheetah | BatchedAntDir, i: number): [number, number] {
  const x = env.instance(i).data.xpos as Float64Array;
  return [x[3], x[4]];
}

describe('MuJoCo families: registry and task spaces', () => {
  it('registers cheetah-vel, cheetah-dir and ant-dir, which need the MuJoCo runtime', () => {
    for (const f of ['cheetah-vel', 'cheetah-dir', 'ant-dir']) {
      expect(familyNames()).toContain(f);
      expect(needsMujoco(f)).toBe(true);
    }
    expect(needsMujoco('darkroom')).toBe(false);
    expect(getFamily('cheetah-vel').taskSpace().describeParams().map((p) => p.name)).toEqual(['velocity']);
    expect(getFamily('ant-dir').taskSpace().describeParams().map((p) => p.name)).toEqual(['angle']);
    expect(() => getFamily('cheetah-run')).toThrow(/known: .*cheetah-vel.*ant-dir/);
  });

  it('splits: cheetah-vel and ant-dir 45 train / 5 held out, disjoint and fixed by the seed; cheetah-dir has 2 tasks', () => {
    for (const split of [cheetahVelSplit(), antDirSplit()]) {
      expect(split.train).toHaveLength(45);
      expect(split.heldOut).toHaveLength(5);
      const held = new Set(split.heldOut.map(taskKey));
      expect(split.train.some((t) => held.has(taskKey(t)))).toBe(false);
    }
    expect(cheetahVelSplit().heldOut).toEqual(cheetahVelSplit().heldOut);
    expect(cheetahVelSplit(1).heldOut).not.toEqual(cheetahVelSplit().heldOut);
    for (const t of cheetahVelSplit().train) expect((t.params.velocity as number) >= 0 && (t.params.velocity as number) <= 3).toBe(true);
    expect(cheetahDirSplit().train.map((t) => t.params.direction)).toEqual([-1, 1]);
  });

  it('a task parameter outside its space names the instance and the parameter', () => {
    const env = getFamily('cheetah-vel').make(2, {}, new Rng(0));
    expect(() => env.setTasks([{ family: 'cheetah-vel', params: { velocity: 1 } }, { family: 'cheetah-vel', params: { velocity: 3.5 } }])).toThrow(
      /instance 1.*velocity: 3.5 is outside \[0, 3\]/,
    );
    const dir = getFamily('cheetah-dir').make(1, {}, new Rng(0));
    expect(() => dir.setTasks([{ family: 'cheetah-dir', params: { direction: 0 } }])).toThrow(/direction must be -1 \(backward\) or 1/);
    expect(() => getFamily('ant-dir').make(1, { horizn: 3 })).toThrow(/horizn/);
  });

  it('tasks that only change the reward share one model', () => {
    const env = getFamily('cheetah-vel').make(4, {}, new Rng(0)) as BatchedCheetah;
    expect(new Set(Array.from(env.goal)).size).toBe(4);
    expect(env.modelCount).toBe(1);
    expect(env.mujocoVersion).toMatch(/^3\./);
  });
});

describe('MuJoCo families: bad input', () => {
  it('an action of the wrong width, with NaN or out of [-1, 1] names the instance and the action', () => {
    const env = getFamily('cheetah-vel').make(2, {}, new Rng(0));
    expect(() => env.step(new Float32Array(6))).toThrow(/expected 12 action values \(2 instances x 6\)/);
    const a = new Float32Array(12);
    a[8] = Number.NaN;
    expect(() => env.step(a)).toThrow(/instance 1 is \[0, 0, NaN, 0, 0, 0\]; coordinate 2/);
    a[8] = 1.5;
    expect(() => env.step(a)).toThrow(/instance 1 .*must be in \[-1, 1\]/);
    expect(() => env.step(new Int32Array(12))).toThrow(/Float32Array/);
    expect(env.episodeStep[0]).toBe(0);
  });

  it('a model file MuJoCo refuses names the file and quotes MuJoCo', () => {
    const rt = mujocoRuntime('test');
    expect(() => compileModel(rt, '<mujoco><worldbody><geom type="sphere"/></worldbody></mujoco>', 'models/broken.xml')).toThrow(MujocoModelError);
    expect(() => compileModel(rt, '<mujoco><worldbody><geom type="sphere"/></worldbody></mujoco>', 'models/broken.xml')).toThrow(
      /models\/broken.xml: Error: size 0 must be positive in geom/,
    );
    expect(() => compileModel(rt, '<mujoco><worldbody><geom type="sphere" size="1"></worldbody></mujoco>', 'models/unclosed.xml')).toThrow(
      /models\/unclosed.xml: .*XML parse error.*MISMATCHED_ELEMENT/,
    );
  });
});

describe('MuJoCo families: dynamics', () => {
  it('zero action: the half-cheetah stays upright for a whole episode', () => {
    const env = getFamily('cheetah-vel').make(2, {}, new Rng(3)) as BatchedCheetah;
    env.reset(3);
    const a = new Float32Array(12);
    let maxPitch = 0;
    let minZ = Infinity;
    for (let s = 0; s < 199; s++) {
      env.step(a);
      maxPitch = Math.max(maxPitch, Math.abs(env.obs[1]), Math.abs(env.obs[21]));
      minZ = Math.min(minZ, env.obs[19], env.obs[39]);
    }
    expect(maxPitch).toBeLessThan(0.5); // rooty, radians
    expect(minZ).toBeGreaterThan(0.3); // torso height, m (starts at 0.7, settles on its legs)
    expect(env.blowupCount).toBe(0);
  });

  it('zero action: the ant stands (no termination, torso between 0.3 and 1 m) for a whole episode', () => {
    const env = getFamily('ant-dir').make(2, {}, new Rng(4)) as BatchedAntDir;
    env.reset(4);
    const a = new Float32Array(16);
    let minZ = Infinity;
    let maxZ = -Infinity;
    for (let s = 0; s < 199; s++) {
      env.step(a);
      expect(env.terminated[0] + env.terminated[1]).toBe(0);
      minZ = Math.min(minZ, env.obs[0], env.obs[27]);
      maxZ = Math.max(maxZ, env.obs[0], env.obs[27]);
    }
    expect(minZ).toBeGreaterThan(0.3);
    expect(maxZ).toBeLessThan(1);
  });

  it('observation layout: cheetah qpos[1..8], qvel, torso position; ant qpos[2..14], qvel', () => {
    const c = getFamily('cheetah-vel').make(1, {}, new Rng(0)) as BatchedCheetah;
    const act = new Float32Array(6).fill(0.3);
    c.step(act);
    const d = c.instance(0).data;
    const q = d.qpos as Float64Array;
    const v = d.qvel as Float64Array;
    const x = d.xpos as Float64Array;
    const want = [...Array.from(q).slice(1), ...Array.from(v), x[3], x[4], x[5]].map(Math.fround);
    expect(Array.from(c.obs)).toEqual(want);
    const ant = getFamily('ant-dir').make(1, {}, new Rng(0)) as BatchedAntDir;
    ant.step(new Float32Array(8).fill(-0.2));
    const ad = ant.instance(0).data;
    expect(Array.from(ant.obs)).toEqual([...Array.from(ad.qpos as Float64Array).slice(2), ...Array.from(ad.qvel as Float64Array)].map(Math.fround));
    expect(ant.obsDim).toBe(27);
    expect(c.obsDim).toBe(20);
  });

  it('reward formulas match hand computation on logged states (cheetah-vel, cheetah-dir, ant-dir)', () => {
    const rng = new Rng(9);
    for (const fam of ['cheetah-vel', 'cheetah-dir'] as const) {
      const env = getFamily(fam).make(3, {}, new Rng(1)) as BatchedCheetah;
      const a = new Float32Array(18);
      for (let s = 0; s < 30; s++) {
        randomActions(rng, a);
        const before = [0, 1, 2].map((i) => torsoXY(env, i)[0]);
        env.step(a);
        for (let i = 0; i < 3; i++) {
          const vx = (torsoXY(env, i)[0] - before[i]) / 0.05;
          let c = 0;
          for (let k = 0; k < 6; k++) c += a[6 * i + k] ** 2;
          const g = env.goal[i];
          const want = fam === 'cheetah-vel' ? -Math.abs(vx - g) - 0.05 * c : g * vx - 0.05 * c;
          expect(env.rewards[i]).toBe(Math.fround(want));
        }
      }
    }
    const ant = getFamily('ant-dir').make(2, {}, new Rng(2)) as BatchedAntDir;
    const a = new Float32Array(16);
    for (let s = 0; s < 30; s++) {
      randomActions(rng, a);
      const before = [0, 1].map((i) => torsoXY(ant, i));
      ant.step(a);
      for (let i = 0; i < 2; i++) {
        if (ant.terminated[i]) continue;
        const [x, y] = torsoXY(ant, i);
        const g = ant.getTask(i).params.angle as number;
        const forward = ((x - before[i][0]) / 0.05) * Math.cos(g) + ((y - before[i][1]) / 0.05) * Math.sin(g);
        let c = 0;
        for (let k = 0; k < 8; k++) c += a[8 * i + k] ** 2;
        let contact = 0;
        for (const f of ant.instance(i).data.cfrc_ext as Float64Array) contact += Math.min(1, Math.max(-1, f)) ** 2;
        expect(ant.rewards[i]).toBeCloseTo(forward - 0.5 * c - 0.5e-3 * contact + 1, 5);
      }
    }
  });

  it('the same seed gives bit-identical trajectories; another seed does not', () => {
    const run = (seed: number): number[] => {
      const env = getFamily('ant-dir').make(2, {}, new Rng(seed));
      env.reset(seed);
      const rng = new Rng(seed).split('actions');
      const a = new Float32Array(16);
      const out: number[] = [];
      for (let s = 0; s < 40; s++) {
        randomActions(rng, a);
        env.step(a);
        out.push(...env.obs, ...env.rewards);
      }
      return out;
    };
    const r = run(7);
    expect(run(7)).toEqual(r);
    expect(run(8)).not.toEqual(r);
  });

  it('automatic reset after the horizon: truncated, finalObs kept, a fresh noisy start', () => {
    const env = getFamily('cheetah-dir').make(2, { horizon: 10 }, new Rng(0)) as BatchedCheetah;
    env.reset(1);
    const start = Array.from(env.obs.subarray(0, 20));
    const a = new Float32Array(12).fill(0.5);
    for (let s = 0; s < 9; s++) {
      env.step(a);
      expect(env.truncated[0]).toBe(0);
    }
    const last = Array.from(env.obs.subarray(0, 20));
    env.step(a);
    expect(Array.from(env.truncated)).toEqual([1, 1]);
    expect(env.terminated[0]).toBe(0);
    expect(env.episodeStep[0]).toBe(0);
    const fin = Array.from(env.finalObs.subarray(0, 20));
    expect(fin).not.toEqual(last);
    // the torso is back near the origin with fresh noise (not the previous start)
    expect(Math.abs(env.obs[17])).toBeLessThan(0.2);
    expect(Array.from(env.obs.subarray(0, 20))).not.toEqual(start);
    env.step(a);
    expect(env.truncated[0]).toBe(0);
    expect(env.episodeStep[0]).toBe(1);
  });

  it('physics blow-ups end the episode with truncated, reward 0, are counted, and never put NaN in an observation', () => {
    const env = getFamily('cheetah-vel').make(3, {}, new Rng(0)) as BatchedCheetah;
    const a = new Float32Array(18);
    env.step(a);
    const good = Array.from(env.obs.subarray(20, 40));
    (env.instance(1).data.qvel as Float64Array)[3] = Number.NaN; // NaN: MuJoCo resets the data itself
    (env.instance(2).data.qvel as Float64Array)[0] = 5e7; // huge but finite: our limit
    env.step(a);
    expect(Array.from(env.blewUp)).toEqual([0, 1, 1]);
    expect(Array.from(env.truncated)).toEqual([0, 1, 1]);
    expect(env.rewards[1]).toBe(0);
    expect(Array.from(env.finalObs.subarray(20, 40))).toEqual(good);
    expect(env.obs.every(Number.isFinite)).toBe(true);
    expect(env.finalObs.every(Number.isFinite)).toBe(true);
    expect(Array.from(env.blowups)).toEqual([0, 1, 1]);
    expect(env.blowupCount).toBe(2);
    env.step(a);
    expect(Array.from(env.blewUp)).toEqual([0, 0, 0]);
    expect(env.episodeStep[1]).toBe(1);
    // at the very start of an episode too (MuJoCo's warning; the simulated time alone would not tell)
    env.reset(5);
    (env.instance(0).data.qvel as Float64Array)[4] = Number.NaN;
    env.step(a);
    expect(Array.from(env.blewUp)).toEqual([1, 0, 0]);
    expect(env.obs.every(Number.isFinite)).toBe(true);
    expect(env.blowupCount).toBe(3);
  });

  it('the Gymnasium-like single-instance view works on a MuJoCo family', () => {
    const one = makeEnv('cheetah-vel', { task: { family: 'cheetah-vel', params: { velocity: 2 } }, seed: 1 });
    const [obs] = one.reset(1);
    expect(obs).toHaveLength(20);
    const [obs2, reward, terminated, truncated] = one.step([0, 0, 0, 0, 0, 0]);
    expect(obs2).toHaveLength(20);
    expect(reward).toBeLessThan(0); // -|v - 2| at rest
    expect([terminated, truncated]).toEqual([false, false]);
  });

  it('make before the runtime is loaded (a fresh thread) says what to call', async () => {
    const url = new URL('../dist/envs/index.js', import.meta.url).href;
    const code = `import('${url}').then((m) => { try { m.getFamily('ant-dir').make(1); require('node:worker_threads').parentPort.postMessage('made'); } catch (e) { require('node:worker_threads').parentPort.postMessage(e.message); } });`;
    const w = new Worker(code, { eval: true });
    const msg = await new Promise<string>((res, rej) => {
      w.once('message', res);
      w.once('error', rej);
    });
    await w.terminate();
    expect(msg).toMatch(/ant-dir: the MuJoCo WebAssembly runtime is not loaded in this thread; call `await loadMujocoRuntime\(\)` \(or `await prepareFamily\('ant-dir'\)`\)/);
  });

  it('loadMujocoRuntime is idempotent (one module per thread)', async () => {
    const a = await loadMujocoRuntime();
    expect(await loadMujocoRuntime()).toBe(a);
  });
});

describe('walker-param', () => {
  it('zero action: the walker falls and the episode terminates', () => {
    const env = getFamily('walker-param').make(2, {}, new Rng(0)) as BatchedWalkerParam;
    env.setTasks([walkerDefaultTask()]);
    env.reset(0);
    const a = new Float32Array(12);
    const fell: number[] = [-1, -1];
    for (let s = 0; s < 200 && fell.includes(-1); s++) {
      env.step(a);
      for (let i = 0; i < 2; i++) if (env.terminated[i] && fell[i] < 0) fell[i] = s + 1;
    }
    for (const f of fell) {
      expect(f).toBeGreaterThan(5);
      expect(f).toBeLessThan(200);
    }
    // the final observation is the fallen state: height below 0.8 m or pitch beyond 1 rad
    expect(env.finalObs[0] <= 0.8 || Math.abs(env.finalObs[1]) >= 1).toBe(true);
  });

  it('each physics task gets its own model with the multipliers applied; equal tasks share one', () => {
    const { train } = walkerParamSplit();
    expect(train).toHaveLength(45);
    expect(walkerParamSplit().heldOut).toHaveLength(5);
    const env = getFamily('walker-param').make(3, {}, new Rng(0)) as BatchedWalkerParam;
    env.setTasks([train[0], train[1], train[0]]);
    // the base, the 3 tasks drawn by make (kept for reuse), the 2 set now (train[0] twice)
    expect(env.modelCount).toBe(1 + 3 + 2);
    expect(env.instance(2).model).toBe(env.instance(0).model);
    const m0 = env.instance(0).model;
    const m1 = env.instance(1).model;
    expect(m1).not.toBe(m0);
    const def = getFamily('walker-param').make(1, {}, new Rng(0)) as BatchedWalkerParam;
    def.setTasks([walkerDefaultTask()]);
    const ref = def.instance(0).model;
    const p = train[0].params;
    const mass = m0.body_mass as Float64Array;
    const refMass = ref.body_mass as Float64Array;
    for (let b = 0; b < 7; b++) expect(mass[b + 1]).toBeCloseTo(refMass[b + 1] * 1.5 ** (p.mass as number[])[b], 12);
    expect((m0.body_inertia as Float64Array)[3 + 1]).toBeCloseTo((ref.body_inertia as Float64Array)[3 + 1] * 1.5 ** (p.inertia as number[])[1], 12);
    expect((m0.dof_damping as Float64Array)[5]).toBeCloseTo((ref.dof_damping as Float64Array)[5] * 1.3 ** (p.damping as number[])[2], 12);
    expect((m0.geom_friction as Float64Array)[4]).toBeCloseTo((ref.geom_friction as Float64Array)[4] * 1.5 ** (p.friction as number[])[4], 12);
    // mj_setConst ran: the subtree mass of the torso is the sum of the scaled masses
    let sum = 0;
    for (let b = 1; b <= 7; b++) sum += mass[b];
    expect((m0.body_subtreemass as Float64Array)[1]).toBeCloseTo(sum, 10);
    // different physics, different motion under the same actions
    env.setTasks([train[0], train[1], train[2]]);
    env.reset(0);
    const a = new Float32Array(18).fill(0.4);
    for (let s = 0; s < 10; s++) env.step(a);
    expect(env.obs[0]).not.toBe(env.obs[17]);
  });

  it('keeps at most 64 models of tasks no instance plays (least recently used freed first)', () => {
    const env = getFamily('walker-param').make(1, {}, new Rng(0)) as BatchedWalkerParam;
    const tasks = env.taskSpace.sampleMany(new Rng(5), 70);
    for (const t of tasks) env.setTask(0, t);
    expect(env.modelCount).toBe(1 + 1 + 64); // the base, the one in use, 64 kept
    env.setTask(0, tasks[69]);
    expect(env.modelCount).toBe(66);
    env.close();
    expect(() => env.step(new Float32Array(6))).toThrow(/closed/);
  });

  it('reward = forward velocity + 1 - 0.001 |a|^2; observation qpos[1..8], clipped qvel', () => {
    const env = getFamily('walker-param').make(1, {}, new Rng(1)) as BatchedWalkerParam;
    const rng = new Rng(3);
    const a = new Float32Array(6);
    for (let s = 0; s < 20; s++) {
      randomActions(rng, a);
      const x0 = (env.instance(0).data.qpos as Float64Array)[0];
      env.step(a);
      if (env.terminated[0]) break;
      const d = env.instance(0).data;
      const q = d.qpos as Float64Array;
      let c = 0;
      for (const v of a) c += v * v;
      expect(env.rewards[0]).toBe(Math.fround((q[0] - x0) / 0.008 + 1 - 1e-3 * c));
      expect(Array.from(env.obs)).toEqual([...Array.from(q).slice(1), ...Array.from(d.qvel as Float64Array).map((v) => Math.min(10, Math.max(-10, v)))].map(Math.fround));
    }
  });
});

describe('reach and push', () => {
  it('50 goal variations split 45 / 5; the push goal lies on the table', () => {
    expect(reachSplit().train).toHaveLength(45);
    expect(pushSplit().heldOut).toHaveLength(5);
    for (const t of pushSplit().train) expect((t.params.goal as number[])[2]).toBe(0.02);
    const env = getFamily('push').make(1, {}, new Rng(0));
    expect(() => env.setTasks([{ family: 'push', params: { goal: [0, 0.85, 0.1], puck: [0, 0.65] } }])).toThrow(/push.params.goal\[2\]: 0.1 is outside \[0.02, 0.02\]/);
  });

  it('the scripted reach expert succeeds on at least 95% of the 50 goals', () => {
    const r = expertSuccess('reach');
    expect(r.goals).toBe(50);
    expect(r.success_rate).toBeGreaterThanOrEqual(0.95);
  });

  it('the scripted push expert succeeds on at least 80% of the 50 goals', () => {
    const r = expertSuccess('push');
    expect(r.goals).toBe(50);
    expect(r.success_rate).toBeGreaterThanOrEqual(0.8);
  });

  it('the hand moves 1 cm per unit of action within its workspace; the gripper opens and closes', () => {
    const env = getFamily('reach').make(1, {}, new Rng(0)) as BatchedTabletop;
    expect(Array.from(env.obs.subarray(0, 3))).toEqual(HAND_INIT.map(Math.fround));
    env.step(Float32Array.from([1, -0.5, 0.25, -1]));
    expect(env.obs[0]).toBeCloseTo(0.01, 6);
    expect(env.obs[1]).toBeCloseTo(0.595, 6);
    expect(env.obs[2]).toBeCloseTo(0.2025, 6);
    for (let s = 0; s < 30; s++) env.step(Float32Array.from([0, 0, 1, -1]));
    expect(env.obs[2]).toBeCloseTo(0.35, 6); // the top of the workspace
    expect(env.obs[3]).toBeGreaterThan(0.8); // open
    for (let s = 0; s < 20; s++) env.step(Float32Array.from([0, 0, 0, 1]));
    expect(env.obs[3]).toBeLessThan(0.05); // closed
    // the previous frame follows the current one
    const cur = Array.from(env.obs.subarray(0, 11));
    env.step(Float32Array.from([0.3, 0, 0, 1]));
    expect(Array.from(env.obs.subarray(11, 22))).toEqual(cur);
  });

  it('rewards match Meta-World-shaped hand computations on logged states', () => {
    const rng = new Rng(4);
    for (const fam of ['reach', 'push'] as const) {
      const env = getFamily(fam).make(2, {}, new Rng(1)) as BatchedTabletop;
      const a = new Float32Array(8);
      const out = new Float32Array(4);
      let sawSuccess = false;
      for (let s = 0; s < 99; s++) {
        // the expert on instance 0 (to reach the goal), random actions on instance 1
        env.expertAction(0, out);
        a.set(out, 0);
        for (let k = 4; k < 8; k++) a[k] = rng.uniformRange(-1, 1);
        env.step(a);
        for (let i = 0; i < 2; i++) {
          const d = env.instance(i).data;
          const h = d.mocap_pos as Float64Array;
          const q = d.qpos as Float64Array;
          const g = Array.from(env.goal.subarray(3 * i, 3 * i + 3));
          const st = Array.from(env.puckStart.subarray(2 * i, 2 * i + 2));
          let want: number;
          let ok: boolean;
          if (fam === 'reach') {
            const dist = Math.hypot(h[0] - g[0], h[1] - g[1], h[2] - g[2]);
            want = 10 * tolerance(dist, 0.05, Math.hypot(HAND_INIT[0] - g[0], HAND_INIT[1] - g[1], HAND_INIT[2] - g[2]));
            ok = dist <= 0.05;
          } else {
            const tcp = Math.hypot(h[0] - q[2], h[1] - q[3], h[2] - q[4]);
            const toGoal = Math.hypot(q[2] - g[0], q[3] - g[1]);
            const near = tolerance(tcp, 0.04, Math.hypot(HAND_INIT[0] - st[0], HAND_INIT[1] - st[1], HAND_INIT[2] - 0.02));
            const inPlace = tolerance(toGoal, 0.05, Math.hypot(st[0] - g[0], st[1] - g[1]));
            want = toGoal < 0.05 ? 10 : 2 * near + (tcp < 0.05 ? 1 + 5 * inPlace : 0);
            ok = toGoal <= 0.07;
          }
          expect(env.rewards[i]).toBe(Math.fround(want));
          expect(env.success[i]).toBe(ok ? 1 : 0);
          if (ok) sawSuccess = true;
        }
      }
      expect(sawSuccess).toBe(true);
    }
    // the long-tail tolerance: 1 inside the bound, 0.1 at bound + margin
    expect(tolerance(0.03, 0.05, 0.2)).toBe(1);
    expect(tolerance(0.25, 0.05, 0.2)).toBeCloseTo(0.1, 12);
  });
});

describe('viewer', () => {
  it('projects the geoms: the cheetah torso is a 1 m segment above the ground line', () => {
    const env = getFamily('cheetah-vel').make(1, {}, new Rng(0)) as BatchedCheetah;
    const rec = recordEpisode(env, 'zero', 5, 0);
    expect(rec.frames).toHaveLength(6);
    const shapes = projectFrame(rec.geoms, rec.frames[0].xpos, rec.frames[0].xmat, 'side');
    expect(shapes[0]).toMatchObject({ kind: 'ground', y: 0 });
    const torso = shapes[1];
    expect(torso.kind).toBe('segment');
    if (torso.kind !== 'segment') return;
    expect(Math.hypot(torso.x2 - torso.x1, torso.y2 - torso.y1)).toBeCloseTo(1, 2);
    expect(torso.width).toBeCloseTo(0.092, 6);
    expect((torso.y1 + torso.y2) / 2).toBeGreaterThan(0.5);
    const html = recordingHtml(rec, 'side', 20);
    expect(html).toContain('<canvas');
    expect(html).toContain('6 frames');
  });

  it('records until the episode ends (the walker falls under zero action)', () => {
    const env = getFamily('walker-param').make(1, {}, new Rng(0)) as BatchedWalkerParam;
    env.setTasks([walkerDefaultTask()]);
    const rec = recordEpisode(env, 'zero', 200, 0);
    expect(rec.ended).toBe('terminated');
    expect(rec.frames.length).toBe(rec.rewards.length);
    expect(() => recordEpisode(env, 'expert', 5)).toThrow(/no scripted expert/);
    const push = getFamily('push').make(1, {}, new Rng(0)) as BatchedTabletop;
    const top = recordEpisode(push, 'expert', 100, 0);
    expect(top.ended).toBe('truncated');
    expect(projectFrame(top.geoms, top.frames[0].xpos, top.frames[0].xmat, 'top').some((s) => s.kind === 'polygon')).toBe(true);
  });
});

describe('every MuJoCo family', () => {
  it('steps a batch with random actions, resets automatically, keeps observations finite, and repeats with the same seed', () => {
    for (const name of familyNames().filter(needsMujoco)) {
      const run = (): number[] => {
        const env = getFamily(name).make(4, { horizon: 15 }, new Rng(11));
        env.reset(3);
        const rng = new Rng(12);
        const act = new Float32Array(4 * env.actDim);
        const out: number[] = [];
        const bad: string[] = [];
        let ends = 0;
        for (let t = 0; t < 40; t++) {
          randomActions(rng, act);
          env.step(act);
          for (let i = 0; i < 4; i++) {
            out.push(env.rewards[i]);
            if (env.terminated[i] || env.truncated[i]) {
              ends++;
              if (env.episodeStep[i] !== 0) bad.push(`${name}: instance ${i} ended but episodeStep is ${env.episodeStep[i]}`);
            } else if (env.episodeStep[i] <= 0) bad.push(`${name}: instance ${i} running with episodeStep ${env.episodeStep[i]}`);
          }
        }
        expect(bad).toEqual([]);
        expect(ends).toBeGreaterThanOrEqual(8);
        expect(env.obs.every(Number.isFinite)).toBe(true);
        expect(env.obs.length).toBe(4 * env.obsDim);
        return out;
      };
      expect(run()).toEqual(run());
    }
  });
});

describe('MuJoCo families in icrl envs bench', () => {
  it('caps instances and steps per run and says what was asked', async () => {
    const { benchCase, MUJOCO_BENCH_CAP } = await import('../src/envs/bench.js');
    const r = benchCase({ family: 'cheetah-vel', variant: 'default', options: {} }, { instances: 64, steps: 1000, actions: 'pregenerated', runs: 1, minSeconds: 0, seed: 0 });
    expect(r.instances).toBe(MUJOCO_BENCH_CAP.instances);
    expect(r.steps).toBe(MUJOCO_BENCH_CAP.steps);
    expect(r.instances_requested).toBe(64);
    expect(r.steps_requested).toBe(1000);
    expect(r.steps_per_s).toBeGreaterThan(0);
  });
});
