import { describe, it, expect } from 'vitest';
import { Rng } from '../src/core/rng.js';
import { getFamily } from '../src/envs/index.js';
import { makeAgent, NoisyAgent } from '../src/algorithms/index.js';
import { play } from '../src/algorithms/play.js';
import { AdSampler, buildAdDataset, buildAdWindows, allocDptDataset, DptSampler } from '../src/data/datasets.js';
import { scoreHistories, applyFilter, performanceCurve, curveStats } from '../src/data/lhf.js';
import type { History } from '../src/data/store.js';
import { generateDptSamples, RollinSchema, type Rollin } from '../src/data/dpt.js';

function toyHistory(taskIndex: number, T: number, N = 1): History {
  const nt = N * T;
  return {
    task: { family: 'darkroom', params: { goalX: taskIndex, goalY: 0 } },
    taskIndex,
    seed: 0,
    algorithm: null,
    numHistories: N,
    length: T,
    obsDim: 2,
    numActions: 5,
    actDim: 0,
    numStates: 100,
    horizon: 10,
    observations: Float32Array.from({ length: nt * 2 }, (_, k) => taskIndex * 1000 + k),
    actions: Int32Array.from({ length: nt }, (_, k) => (k * 3 + taskIndex) % 5),
    rewards: Float32Array.from({ length: nt }, (_, k) => (k % 7) / 7),
    dones: Uint8Array.from({ length: nt }, (_, k) => ((k % T) % 10 === 9 ? 1 : 0)),
  };
}

describe('AD dataset', () => {
  it('builds across-episode windows: observation, previous action and reward, target = action', () => {
    const hs = [toyHistory(0, 50), toyHistory(1, 30, 2)];
    const ds = buildAdDataset(hs);
    expect(Array.from(ds.offsets)).toEqual([0, 50, 80, 110]);
    expect(Array.from(ds.streamTask)).toEqual([0, 1, 1]);
    const w = buildAdWindows(ds, 20, 10);
    // stream 0: starts 0,10,20,30; streams 1,2: starts 0,10
    expect(w.batchSize).toBe(8);
    for (let b = 0; b < w.batchSize; b++) {
      const s = w.streams[b];
      const st = w.starts[b];
      const h = hs[s === 0 ? 0 : 1];
      const off = s === 2 ? 30 : 0;
      for (let t = 0; t < 20; t++) {
        const k = off + st + t;
        const r = b * 20 + t;
        expect(w.targets[r]).toBe(h.actions[k]);
        expect(w.observations[r * 2]).toBe(h.observations[k * 2]);
        if (st + t === 0) {
          expect(w.prevActions[r]).toBe(-1);
          expect(w.prevRewards[r]).toBe(0);
          expect(w.episodeStart[r]).toBe(1);
        } else {
          expect(w.prevActions[r]).toBe(h.actions[k - 1]);
          expect(w.prevRewards[r]).toBe(h.rewards[k - 1]);
          expect(w.episodeStart[r]).toBe((st + t) % 10 === 0 ? 1 : 0);
        }
      }
    }
  });

  it('samples seeded batches; stream weights of 0 exclude a stream', () => {
    const ds = buildAdDataset([toyHistory(0, 50), toyHistory(1, 30, 2)]);
    const a = new AdSampler(ds, 20, 1).sample(16);
    const b = new AdSampler(ds, 20, 1).sample(16);
    expect(a).toEqual(b);
    const c = new AdSampler(ds, 20, 2, [0, 1, 0]).sample(64);
    expect(new Set(c.streams)).toEqual(new Set([1]));
    expect(Math.max(...c.starts)).toBeLessThanOrEqual(10);
  });
});

describe('DPT sampler', () => {
  it('visits every sample once per epoch, reproducibly', () => {
    const ds = allocDptDataset(10, 3, 1, 5, 0);
    for (let i = 0; i < 10; i++) ds.taskIndex[i] = i;
    const s = new DptSampler(ds, 4);
    const seen: number[] = [];
    for (let k = 0; k < 5; k++) seen.push(...s.sample(2).taskIndex);
    expect([...seen].sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const again = new DptSampler(ds, 4);
    expect(Array.from(again.sample(10).taskIndex)).toEqual(seen);
  });
});

describe('LHF', () => {
  it('scores improvement and stability of a performance curve', () => {
    expect(curveStats(Float64Array.from([0, 0.2, 0.4, 0.6, 0.8, 1]), 0.2)).toEqual({ improvement: 1, stability: 0 });
    const s = curveStats(Float64Array.from([0, 1, 0, 1, 0, 1]), 0.2);
    expect(s.improvement).toBe(1);
    expect(s.stability).toBeCloseTo(-0.4);
    expect(Array.from(performanceCurve([1, 0, 1, 1, 0], [0, 1, 0, 0, 1]))).toEqual([0.5, 2 / 3]);
  });

  it('on noisy Q-learning histories the filtered set has a higher mean improvement', async () => {
    const fam = getFamily('darkroom');
    const n = 40;
    const H = 100;
    const E = 40;
    const env = fam.make(n, {}, new Rng(0));
    const goals = fam.taskSpace().enumerate();
    const tasks = Array.from({ length: n }, (_, i) => goals[(i * 7 + 11) % goals.length]);
    env.setTasks(tasks);
    const agent = new NoisyAgent(makeAgent({ kind: 'q-learning', initQ: 1, epsilon: 0.1, epsilonEnd: 0.01, epsilonDecaySteps: 20 * H }), [0, 0.8]);
    const rewards = Array.from({ length: n }, () => new Float32Array(E * H));
    const dones = Array.from({ length: n }, () => new Uint8Array(E * H));
    await play(env, agent, E * H, new Rng(3), (t) => {
      for (let i = 0; i < n; i++) {
        rewards[i][t.step] = t.rewards[i];
        dones[i][t.step] = t.terminated[i] | t.truncated[i];
      }
    });
    const hs: History[] = tasks.map((task, i) => ({
      ...toyHistory(i, E * H),
      task,
      rewards: rewards[i],
      dones: dones[i],
    }));
    const scores = scoreHistories(hs, { mode: 'filter', keep: 0.5, lambda: 0.5 });
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const all = mean(scores.map((s) => s.improvement));
    const kept = mean(scores.filter((s) => s.kept).map((s) => s.improvement));
    expect(scores.filter((s) => s.kept).length).toBe(20);
    expect(kept).toBeGreaterThan(all);
    // the kept histories are the less noisy ones
    const noiseAll = mean(Array.from(agent.epsilons));
    const noiseKept = mean(scores.filter((s) => s.kept).map((s) => agent.epsilons[s.taskIndex]));
    expect(noiseKept).toBeLessThan(noiseAll);
    expect(applyFilter(hs, scores).length).toBe(20);
    // reweighting: weights have mean 1 and rise with the score
    const rw = scoreHistories(hs, { mode: 'reweight', temperature: 0.2 });
    expect(mean(rw.map((s) => s.weight))).toBeCloseTo(1, 10);
    const byScore = [...rw].sort((a, b) => a.score - b.score);
    expect(byScore[0].weight).toBeLessThan(byScore[byScore.length - 1].weight);
  });
});

describe('DPT roll-ins', () => {
  const fam = getFamily('bandit');
  const n = 400;
  const T = 200;
  const gen = (rollin: Rollin, seed = 3) => {
    const env = fam.make(n, { arms: 5, noiseSd: 0.3 }, new Rng(seed));
    const tasks = Array.from({ length: n }, (_, i) => fam.taskSpace({ arms: 5 }).sample(new Rng(100).split(i)));
    return generateDptSamples(env, tasks, T, rollin, new Rng(seed).split('gen'), 0);
  };
  // share of context pulls on the optimal arm, and mean (over contexts) of the largest arm share
  const shares = (ds: ReturnType<typeof gen>) => {
    let best = 0;
    let top = 0;
    for (let i = 0; i < n; i++) {
      const c = new Float64Array(5);
      for (let t = 0; t < T; t++) c[ds.contextActions[i * T + t]]++;
      best += c[ds.optimalActions[i]] / (T * n);
      top += Math.max(...c) / (T * n);
    }
    return { best, top };
  };

  it('dirichlet-flat: unbalanced pulls that carry nothing about the optimal arm', () => {
    const s = shares(gen('dirichlet-flat'));
    expect(s.best).toBeGreaterThan(0.15);
    expect(s.best).toBeLessThan(0.25);
    expect(s.top).toBeGreaterThan(0.4); // uniform: about 0.23
  });

  it('an algorithm roll-in plays like that algorithm; a mixture draws a component per context', () => {
    const ts = shares(gen({ algorithm: { kind: 'thompson' } }));
    // Thompson sampling concentrates on the best arm from its own observations
    expect(ts.best).toBeGreaterThan(0.6);
    const uni = shares(gen('uniform'));
    expect(uni.best).toBeGreaterThan(0.17);
    expect(uni.best).toBeLessThan(0.23);
    const mix = shares(gen({ mixture: [{ weight: 1, rollin: { algorithm: { kind: 'thompson' } } }, { weight: 1, rollin: 'uniform' }] }));
    expect(mix.best).toBeGreaterThan(uni.best + 0.15);
    expect(mix.best).toBeLessThan(ts.best - 0.15);
    // same seed, same data
    expect(gen({ mixture: [{ weight: 1, rollin: 'dirichlet-flat' }, { weight: 2, rollin: { algorithm: { kind: 'ucb' } } }] })).toEqual(
      gen({ mixture: [{ weight: 1, rollin: 'dirichlet-flat' }, { weight: 2, rollin: { algorithm: { kind: 'ucb' } } }] }),
    );
  });

  it('a bad roll-in is a config error naming the field', () => {
    expect(RollinSchema.safeParse('thompson').success).toBe(false);
    expect(RollinSchema.safeParse({ mixture: [] }).success).toBe(false);
    expect(() => gen({ algorithm: { kind: 'nope' } })).toThrow(/rollin\.algorithm\.kind/);
    const robot = getFamily('point-robot');
    const env = robot.make(2, {}, new Rng(0));
    const tasks = [0, 1].map((i) => robot.taskSpace({}).sample(new Rng(i)));
    expect(() => generateDptSamples(env, tasks, 4, 'dirichlet-flat', new Rng(0), 0)).toThrow(/continuous actions/);
  });
});
