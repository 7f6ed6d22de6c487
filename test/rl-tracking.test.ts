// Velocity tracking of greedy policies on cheetah-vel (the criterion), and SAC's
// trainFrequency (updates every k environment steps).
import { describe, expect, it } from 'vitest';
import { Rng } from '../src/core/rng.js';
import { getFamily, prepareFamily } from '../src/envs/index.js';
import { pointRobotFamily } from '../src/envs/pointRobot.js';
import { SacAgent, velocityTracking } from '../src/rl/index.js';

describe('velocityTracking', () => {
  it('averages |v - goal| over the second half of each episode, per instance', async () => {
    await prepareFamily('cheetah-vel');
    const fam = getFamily('cheetah-vel');
    const tasks = [0.5, 2.5].map((velocity) => ({ family: 'cheetah-vel', params: { velocity } }));
    const env = fam.make(2, { horizon: 40 }, new Rng(1));
    env.setTasks(tasks);
    // a fixed open-loop gait for instance 0, no torque for instance 1
    let t = 0;
    const policy = {
      actGreedy(_obs: Float32Array, out: Float32Array): void {
        for (let j = 0; j < 6; j++) out[j] = Math.sin(0.4 * t + j);
        out.fill(0, 6);
        t++;
      },
    };
    const r = velocityTracking(policy, env, 2, 7);
    // the same episodes replayed step by step
    const ref = fam.make(2, { horizon: 40 }, new Rng(1));
    ref.setTasks(tasks);
    ref.reset(7);
    t = 0;
    const err = [0, 0];
    const ret = [0, 0];
    const a = new Float32Array(12);
    const vel = (ref as unknown as { velocity: Float64Array }).velocity;
    for (let k = 0; k < 80; k++) {
      policy.actGreedy(ref.obs, a);
      ref.step(a);
      for (let i = 0; i < 2; i++) {
        ret[i] += ref.rewards[i];
        if (k % 40 >= 20) err[i] += Math.abs(vel[i] - tasks[i].params.velocity);
      }
    }
    for (let i = 0; i < 2; i++) {
      expect(r.meanAbsError[i]).toBeCloseTo(err[i] / 40, 10);
      expect(r.meanReturn[i]).toBeCloseTo(ret[i] / 2, 6);
      expect(r.goal[i]).toBe(tasks[i].params.velocity);
    }
    // no torque: the cheetah stays (nearly) where it is
    expect(Math.abs(r.meanVelocity[1])).toBeLessThan(0.05);
    expect(r.meanAbsError[1]).toBeGreaterThan(2.4);
  });

  it('names a family without target velocities', () => {
    const env = pointRobotFamily.make(1);
    expect(() => velocityTracking({ actGreedy: () => undefined }, env, 1, 0)).toThrow(/point-robot has no per-instance "velocity"/);
  });
});

describe('SAC trainFrequency', () => {
  it('updates every k steps after learningStarts', () => {
    const counts = [1, 3].map((k) => {
      const env = pointRobotFamily.make(2);
      env.setTasks([0.5, 2].map((angle) => ({ family: 'point-robot', params: { angle } })));
      env.reset(0);
      const agent = new SacAgent({ hidden: [8], batchSize: 4, learningStarts: 10, trainFrequency: k });
      agent.reset(env, new Rng(2));
      const a = new Float32Array(4);
      for (let s = 0; s < 40; s++) {
        agent.act(env.obs, a);
        env.step(a);
        agent.observe({ actions: a, rewards: env.rewards, obs: env.obs, terminated: env.terminated, truncated: env.truncated });
      }
      return agent.learners!.updates;
    });
    // steps counted 11..39 train: every one of them, or those divisible by 3
    expect(counts).toEqual([29, 10]);
  });
});
