// Batched SAC (src/rl): the squashed Gaussian's log-density against its closed form, learner
// independence (learner i's numbers do not depend on how many learners train beside it), the
// registry entry, and learning on point-robot.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Rng } from '../src/core/rng.js';
import { makeAgent } from '../src/algorithms/index.js';
import { pointRobotFamily } from '../src/envs/pointRobot.js';
import * as nn from '../src/nn/index.js';
import { SacAgent, SacLearners, learningCurves } from '../src/rl/index.js';

describe('tanh-Gaussian log-density', () => {
  it('equals log N(u; mean, std) - log(scale (1 - tanh(u)^2)) computed in double precision', () => {
    const rng = new Rng(3);
    const A = 3;
    const rows = 50;
    const mean = new Float32Array(rows * A);
    const logStd = new Float32Array(rows * A);
    const noise = new Float32Array(rows * A);
    rng.fillNormal(mean, 0, 0.8);
    rng.fillNormal(logStd, -0.5, 0.5);
    rng.fillNormal(noise);
    const scale = [0.1, 1, 2.5];
    const bias = [0, 0.5, -1];
    const { action, logProb } = nn.tanhGaussian(nn.tensor(mean, [rows, A]), nn.tensor(logStd, [rows, A]), noise, { scale, bias, eps: 0 });
    expect(logProb.shape).toEqual([rows, 1]);
    for (let r = 0; r < rows; r++) {
      let lp = 0;
      for (let j = 0; j < A; j++) {
        const k = r * A + j;
        const sd = Math.exp(logStd[k]);
        const u = mean[k] + sd * noise[k];
        const a = bias[j] + scale[j] * Math.tanh(u);
        expect(action.data[k]).toBeCloseTo(a, 5);
        // density of a: normal density of u = atanh((a - bias) / scale), divided by |da/du|
        const uBack = Math.atanh((a - bias[j]) / scale[j]);
        const logNormal = -0.5 * ((uBack - mean[k]) / sd) ** 2 - Math.log(sd) - 0.5 * Math.log(2 * Math.PI);
        lp += logNormal - Math.log(scale[j] * (1 - Math.tanh(uBack) ** 2));
      }
      expect(Math.abs(logProb.data[r] - lp)).toBeLessThan(2e-3 * Math.max(1, Math.abs(lp)));
    }
  });

  it('is a density: exp(logProb) integrates to 1 over the action interval', () => {
    // one dimension, scale 2 (actions in (-2, 2)): the noise that lands on each grid action
    const mu = 0.3;
    const ls = -0.4;
    const grid = 4000;
    const noise = new Float32Array(grid);
    const da = 4 / grid;
    for (let g = 0; g < grid; g++) {
      const a = -2 + (g + 0.5) * da;
      noise[g] = (Math.atanh(a / 2) - mu) / Math.exp(ls);
    }
    const { logProb } = nn.tanhGaussian(nn.full([grid, 1], mu), nn.full([grid, 1], ls), noise, { scale: [2], eps: 0 });
    let total = 0;
    for (let g = 0; g < grid; g++) total += Math.exp(logProb.data[g]) * da;
    expect(total).toBeGreaterThan(0.995);
    expect(total).toBeLessThan(1.005);
  });
});

/** learners with their streams, buffers filled from each learner's own stream (sizes large enough for the batched kernels to split whole learners between threads) */
function smallLearners(seeds: number[]): SacLearners {
  const rngs = seeds.map((s) => new Rng(42).split(s));
  const L = new SacLearners({ obsDim: 5, actDim: 2, low: [-1, -2], high: [1, 2] }, rngs, { hidden: [64, 64], batchSize: 64, policyFrequency: 2 });
  seeds.forEach((s, i) => {
    const r = new Rng(7).split(s);
    const o = new Float32Array(5);
    const o2 = new Float32Array(5);
    const a = new Float32Array(2);
    for (let t = 0; t < 100; t++) {
      r.fillNormal(o);
      r.fillNormal(o2);
      a[0] = 2 * r.uniform() - 1;
      a[1] = 2 * r.uniform() - 1;
      L.store(i, o, a, r.normal(), o2, t % 9 === 0 ? 1 : 0);
    }
  });
  return L;
}

describe('batched SAC learners', () => {
  for (const kernelsName of ['wasm', 'reference'] as const)
    it(`learner i after K updates is the same with N = 1 and N = 8 (${kernelsName} kernels)`, () => {
      nn.withKernels(kernelsName === 'wasm' && !nn.wasmAvailable() ? 'reference' : kernelsName, () => {
        const K = 5;
        const many = smallLearners([0, 1, 2, 3, 4, 5, 6, 7]);
        const alone = smallLearners([5]);
        for (let k = 0; k < K; k++) {
          many.update();
          alone.update();
        }
        const a = alone.learnerParams(0);
        const b = many.learnerParams(5);
        expect(a.length).toBe(b.length);
        expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
        // and the learners did change (so the comparison is not of initial weights)
        expect(Buffer.from(many.learnerParams(4).buffer).equals(Buffer.from(smallLearners([4]).learnerParams(0).buffer))).toBe(false);
        const ma = new Float32Array(2);
        alone.act(new Float32Array(5).fill(0.5), ma, true);
        expect(Number.isFinite(ma[0]) && Math.abs(ma[0]) <= 1).toBe(true);
      });
    });

  it('resumed from a checkpoint equals uninterrupted training (weights, optimizer, replay, streams)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'icrl-sac-'));
    try {
      const seeds = [0, 1, 2];
      const a = smallLearners(seeds);
      for (let k = 0; k < 3; k++) a.update();
      const file = join(dir, 'sac.safetensors');
      a.saveCheckpoint(file, { note: 'x' });
      const b = new SacLearners({ obsDim: 5, actDim: 2, low: [-1, -2], high: [1, 2] }, seeds.map((s) => new Rng(99).split(s)), { hidden: [64, 64], batchSize: 64, policyFrequency: 2 });
      expect(b.restoreCheckpoint(file)).toEqual({ note: 'x' });
      const o = new Float32Array(5).fill(0.1);
      for (const L of [a, b]) {
        L.store(1, o, new Float32Array([0.5, -0.5]), 1, o, 0);
        for (let k = 0; k < 4; k++) L.update();
      }
      for (let i = 0; i < seeds.length; i++) expect(Buffer.from(b.learnerParams(i).buffer).equals(Buffer.from(a.learnerParams(i).buffer))).toBe(true);
      // (a split stream's key word may be held signed; the stream is the same)
      const norm = (L: SacLearners) => L.rngStates().map((st) => ({ ...st, key: st.key.map((k) => k >>> 0) }));
      expect(norm(b)).toEqual(norm(a));
      expect(b.bufferSize(1)).toBe(a.bufferSize(1));
      const other = new SacLearners({ obsDim: 5, actDim: 2, low: [-1, -2], high: [1, 2] }, [new Rng(0)], { hidden: [64, 64], batchSize: 64 });
      expect(() => other.restoreCheckpoint(file)).toThrow(/3 learners, expected sac with 1/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is in the algorithm registry with CleanRL defaults and strict options', () => {
    const agent = makeAgent({ kind: 'sac' }) as SacAgent;
    expect(agent).toBeInstanceOf(SacAgent);
    expect(agent.opts).toMatchObject({ hidden: [256, 256], batchSize: 256, tau: 0.005, gamma: 0.99, learningStarts: 5000, policyLr: 3e-4, qLr: 1e-3, autotune: true });
    expect(() => makeAgent({ kind: 'sac', batchsize: 3 })).toThrow(/batchsize/);
  });

  it('refuses a discrete action space, naming the family', () => {
    const agent = makeAgent({ kind: 'sac', hidden: [4] });
    expect(() => agent.reset({ family: 'dark-room', numActions: 5, actDim: 0 } as never, new Rng(0))).toThrow(/dark-room/);
  });

  it('learns on point-robot: greedy returns move most of the way from the untrained policy to the oracle', () => {
    const n = 2;
    const tasks = [0.6, 2.4].map((angle) => ({ family: 'point-robot', params: { angle } }));
    const env = pointRobotFamily.make(n);
    env.setTasks(tasks);
    const evalEnv = pointRobotFamily.make(n);
    evalEnv.setTasks(tasks);
    const agent = new SacAgent({ hidden: [64, 64], batchSize: 64, learningStarts: 200 });
    const c = learningCurves(agent, env, evalEnv, 1600, 800, 1, new Rng(1));
    for (let i = 0; i < n; i++) {
      const first = c.returns[0][i];
      const last = c.returns[c.returns.length - 1][i];
      expect(last - first).toBeGreaterThan(0.5 * (c.oracle[i]! - first));
    }
  }, 60_000);
});
