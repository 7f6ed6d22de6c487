import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../src/core/rng.js';
import { ConfigError, IcrlError, OutOfSpaceError } from '../src/core/errors.js';
import { BatchedMixture, cheetahVelSplit, getFamily, mixtureLayout, needsMujoco, prepareFamily, reachSplit, type BatchedEnv } from '../src/envs/index.js';
import { splitTasks, taskKey, type Task } from '../src/tasks/taskSpace.js';

beforeAll(async () => {
  await prepareFamily('mixture');
});

const mixture = () => getFamily('mixture');

/** Steps `member` (a plain family env) and `mix` (instance `i` of the mixture plays the same task) side by side with the same actions. */
function sideBySide(member: BatchedEnv, mix: BatchedEnv, i: number, k: number, steps: number, rng: Rng): { memberReturn: number; mixReturn: number } {
  const a = new Float32Array(member.actDim);
  const am = new Float32Array(mix.numEnvs * mix.actDim);
  let memberReturn = 0;
  let mixReturn = 0;
  const L = (mix as BatchedMixture).layout;
  const enc = new Float32Array(mix.obsDim);
  for (let t = 0; t < steps; t++) {
    for (let j = 0; j < a.length; j++) a[j] = rng.uniformRange(-1, 1);
    am.fill(0);
    am.set(a, i * mix.actDim);
    member.step(a);
    mix.step(am);
    memberReturn += member.rewards[0];
    mixReturn += mix.rewards[i];
    expect(mix.truncated[i]).toBe(member.truncated[0]);
    L.encodeObs(k, member.obs, 0, enc, 0);
    expect(Array.from(mix.obs.subarray(i * mix.obsDim, (i + 1) * mix.obsDim))).toEqual(Array.from(enc));
  }
  return { memberReturn, mixReturn };
}

describe('mixture family', () => {
  it('is registered, needs MuJoCo with its default members, and lays out cheetah-vel + reach: 22 + 2 observation values, 6 actions, 200 steps', () => {
    expect(needsMujoco('mixture')).toBe(true);
    const L = mixtureLayout({}, getFamily);
    expect(L.members.map((m) => [m.name, m.obsDim, m.actDim])).toEqual([
      ['cheetah-vel', 20, 6],
      ['reach', 22, 4],
    ]);
    expect([L.padDim, L.obsDim, L.actDim, L.horizon]).toEqual([22, 24, 6, 200]);
    expect(mixtureLayout({ memberId: false }, getFamily).obsDim).toBe(22);
  });

  it('splits per member with the members\' own splits: held-out cheetah-vel and reach tasks are those of cheetahVelSplit and reachSplit', () => {
    const s = splitTasks(mixture().taskSpace({}), { seed: 0, heldOut: 10, train: 20 });
    expect(s.heldOut.map((t) => t.params.member)).toEqual(Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? 'cheetah-vel' : 'reach')));
    const inner = (ts: Task[], m: string) => ts.filter((t) => t.params.member === m).map((t) => JSON.stringify(t.params.params));
    expect(inner(s.heldOut, 'cheetah-vel')).toEqual(cheetahVelSplit(0).heldOut.map((t) => JSON.stringify(t.params)));
    expect(inner(s.heldOut, 'reach')).toEqual(reachSplit(0).heldOut.map((t) => JSON.stringify(t.params)));
    expect(inner(s.train, 'cheetah-vel')).toEqual(cheetahVelSplit(0).train.slice(0, 10).map((t) => JSON.stringify(t.params)));
    const held = new Set(s.heldOut.map(taskKey));
    expect(s.train.some((t) => held.has(taskKey(t)))).toBe(false);
    expect(() => splitTasks(mixture().taskSpace({}), { seed: 0, heldOut: 5 })).toThrow(/multiple of the 2 members/);
  });

  it('checks tasks by member and names what is wrong; rejects discrete, nested and repeated members', () => {
    const space = mixture().taskSpace({});
    expect(() => space.check({ family: 'mixture', params: { member: 'reach', params: { goal: [0, 0.85, 0.1], puck: [0, 0.65] } } })).not.toThrow();
    expect(() => space.check({ family: 'mixture', params: { member: 'walker', params: {} } })).toThrow(/not one of the members \(cheetah-vel, reach\)/);
    expect(() => space.check({ family: 'mixture', params: { member: 'cheetah-vel', params: { velocity: 7 } } })).toThrow(OutOfSpaceError);
    expect(() => space.check({ family: 'mixture', params: { member: 'cheetah-vel', params: { velocity: 1 }, extra: 1 } })).toThrow(/extra: unknown parameter/);
    const r = new Rng(3);
    const t = space.sample(r);
    expect(space.check(space.mutate(t, r, { edits: 2 })).params.member).toBe(t.params.member);
    expect(() => mixture().make(1, { members: [{ family: 'darkroom' }, { family: 'point-robot' }] })).toThrow(/darkroom has discrete actions/);
    expect(() => mixture().make(1, { members: [{ family: 'bandit' }] })).toThrow(/bandit is a bandit family/);
    expect(() => mixture().taskSpace({ members: [{ family: 'reach' }, { family: 'reach' }] })).toThrow(ConfigError);
    expect(() => mixture().make(1, { members: [{ family: 'cheetah-vel' }, { family: 'reach' }] })).toThrow(/horizons 200 and 100; give the mixture a common horizon/);
  });

  it("plays each member's task exactly as the member family does: the same rewards, the member's observation padded with its one-hot", () => {
    const s = splitTasks(mixture().taskSpace({}), { seed: 0, heldOut: 4 });
    const mix = mixture().make(4, {}, new Rng(5));
    mix.setTasks(s.heldOut);
    mix.reset(7);
    for (const i of [0, 1]) {
      expect(mix.getTask!(i)).toEqual(s.heldOut[i]);
      expect(mix.obs[i * mix.obsDim + 22 + i]).toBe(1);
      expect(mix.obs[i * mix.obsDim + 22 + (1 - i)]).toBe(0);
    }
    // the mixture's reset(seed) reseeds member k with new Rng(seed).split(`member-${k}`): the member itself reset that way starts in the same state
    for (const [k, name] of [[0, 'cheetah-vel'], [1, 'reach']] as const) {
      const task = s.heldOut[k];
      const member = getFamily(name).make(1, name === 'reach' ? { horizon: 200 } : {}, new Rng(0));
      member.setTasks([{ family: name, params: task.params.params as Task['params'] }]);
      member.reset(new Rng(7).split(`member-${k}`).nextU32());
      const solo = mixture().make(1, {}, new Rng(9));
      solo.setTasks([task]);
      solo.reset(7);
      const r = sideBySide(member, solo, 0, k, 210, new Rng(1));
      expect(r.mixReturn).toBe(r.memberReturn);
      expect(r.mixReturn).not.toBe(0);
    }
  });

  it('steps mixed batches with random actions, ends 200-step episodes, reports reach success and the scripted expert on reach instances, and repeats with the same seed', () => {
    const run = () => {
      const s = splitTasks(mixture().taskSpace({}), { seed: 0, heldOut: 4 });
      const env = mixture().make(4, {}, new Rng(2));
      env.setTasks(s.heldOut);
      env.reset(4);
      const rng = new Rng(6);
      const a = new Float32Array(4 * env.actDim);
      const out: number[] = [];
      const success: number[] = [];
      for (let t = 0; t < 200; t++) {
        for (let k = 0; k < a.length; k++) a[k] = rng.uniformRange(-1, 1);
        for (const i of [1, 3]) env.expertAction!(i, a.subarray(i * env.actDim, (i + 1) * env.actDim));
        env.step(a);
        for (let i = 0; i < 4; i++) {
          out.push(env.rewards[i]);
          if (env.truncated[i]) success.push(env.finalEpisodeSuccess![i]);
        }
      }
      expect(success).toEqual([0, 1, 0, 1]);
      expect(() => env.expertAction!(0, new Float32Array(env.actDim))).toThrow(/cheetah-vel, which has no scripted expert/);
      expect(env.obs.every(Number.isFinite)).toBe(true);
      return out;
    };
    expect(run()).toEqual(run());
  });

  it('refuses actions outside [-1, 1] by instance and coordinate and changes one instance\'s member with setTask', () => {
    const env = mixture().make(2, {}, new Rng(0));
    const a = new Float32Array(2 * env.actDim);
    a[env.actDim + 2] = 1.5;
    expect(() => env.step(a)).toThrow(/instance 1 .* coordinate 2 must be in \[-1, 1\]/);
    const reachTask: Task = { family: 'mixture', params: { member: 'reach', params: reachSplit(0).heldOut[0].params } };
    env.setTask!(0, reachTask);
    expect(env.getTask!(0)).toEqual(reachTask);
    expect(env.obs[22 + 1]).toBe(1);
    expect(env.episodeStep[0]).toBe(0);
    expect(() => env.setTask!(0, { family: 'reach', params: {} })).toThrow(IcrlError);
  });

  it('has the exact oracle when every member has one, rescaled to the mixture\'s actions (point-robot: x 10)', () => {
    const env = mixture().make(1, { members: [{ family: 'point-robot' }] }, new Rng(0));
    const pr = getFamily('point-robot').make(1, {}, new Rng(0));
    const task = { family: 'point-robot', params: { angle: 1 } };
    env.setTasks([{ family: 'mixture', params: { member: 'point-robot', params: task.params } }]);
    pr.setTasks([task]);
    expect(env.exactOracle).toBe(true);
    expect(mixture().make(1, {}, new Rng(0)).exactOracle).toBe(false);
    const a = new Float32Array(2);
    const b = new Float32Array(2);
    env.oracleAction(0, a);
    pr.oracleAction(0, b);
    expect(a[0]).toBeCloseTo(b[0] * 10, 5);
    expect(a[1]).toBeCloseTo(b[1] * 10, 5);
    expect(env.oracleValue(0)).toBe(pr.oracleValue(0));
    env.step(a);
    pr.step(b);
    expect(env.rewards[0]).toBeCloseTo(pr.rewards[0], 6);
  });
});
