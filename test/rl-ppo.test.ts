// Batched PPO (src/rl): CleanRL defaults per action type, learner independence, orthogonal
// initialisation, learning on a small Dark Room.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Rng } from '../src/core/rng.js';
import { makeAgent } from '../src/algorithms/index.js';
import { darkroomFamily } from '../src/envs/darkroom.js';
import * as nn from '../src/nn/index.js';
import { PpoAgent, PpoLearners, learningCurves, orthogonalInit } from '../src/rl/index.js';

const spec = (discrete: boolean) => (discrete ? { obsDim: 3, numActions: 4, actDim: 0 } : { obsDim: 3, numActions: 0, actDim: 2, low: [-1, -1], high: [1, 1] });
const make = (seeds: number[], discrete: boolean, base = 9) => new PpoLearners(spec(discrete), seeds.map((s) => new Rng(base).split(s)), { hidden: [32, 32], numSteps: 16, numMinibatches: 2, updateEpochs: 2 });

/** steps t0..t1-1 of a deterministic fake environment */
function feed(L: PpoLearners, seeds: number[], discrete: boolean, t0: number, t1: number): void {
  const n = seeds.length;
  const obs = new Float32Array(n * 3);
  const out = discrete ? new Int32Array(n) : new Float32Array(n * 2);
  const rew = new Float32Array(n);
  for (let t = t0; t < t1; t++) {
    seeds.forEach((s, i) => {
      for (let d = 0; d < 3; d++) obs[i * 3 + d] = Math.sin(s + t * 0.7 + d);
    });
    L.act(obs, out);
    seeds.forEach((s, i) => (rew[i] = discrete ? (out[i] === s % 4 ? 1 : 0) : -Math.abs(out[2 * i] - 0.3)));
    L.record(rew, () => t % 7 === 6, obs);
  }
}

/** learners fed a deterministic fake environment for one rollout (so that they update once) */
function rollout(seeds: number[], discrete: boolean): PpoLearners {
  const L = make(seeds, discrete);
  feed(L, seeds, discrete, 0, 16);
  expect(L.updates).toBe(1);
  return L;
}

describe('batched PPO learners', () => {
  for (const discrete of [true, false])
    it(`learner i after an update is the same with N = 1 and N = 5 (${discrete ? 'categorical' : 'Gaussian'})`, () => {
      const many = rollout([0, 1, 2, 3, 4], discrete);
      const alone = rollout([3], discrete);
      expect(Buffer.from(alone.learnerParams(0).buffer).equals(Buffer.from(many.learnerParams(3).buffer))).toBe(true);
      expect(Buffer.from(many.learnerParams(2).buffer).equals(Buffer.from(many.learnerParams(3).buffer))).toBe(false);
    });

  it('resumed mid-rollout from a checkpoint equals uninterrupted training', () => {
    const dir = mkdtempSync(join(tmpdir(), 'icrl-ppo-'));
    try {
      for (const discrete of [true, false]) {
        const seeds = [0, 1];
        const a = make(seeds, discrete);
        feed(a, seeds, discrete, 0, 21);
        const file = join(dir, `ppo-${discrete}.safetensors`);
        a.saveCheckpoint(file);
        const b = make(seeds, discrete, 123);
        b.restoreCheckpoint(file);
        feed(a, seeds, discrete, 21, 40);
        feed(b, seeds, discrete, 21, 40);
        expect(a.updates).toBe(2);
        for (const i of [0, 1]) expect(Buffer.from(b.learnerParams(i).buffer).equals(Buffer.from(a.learnerParams(i).buffer))).toBe(true);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('orthogonal initialisation gives orthonormal columns (tall) or rows (wide) times the gain', () => {
    for (const [fi, fo] of [
      [6, 4],
      [3, 5],
    ]) {
      const w = new Float32Array(fi * fo);
      orthogonalInit(2, 0.5)(0, fi, fo, new Rng(1), w, new Float32Array(fo));
      const g = Math.SQRT2;
      const tall = fi >= fo;
      const cnt = tall ? fo : fi;
      for (let a = 0; a < cnt; a++)
        for (let b = 0; b < cnt; b++) {
          let dot = 0;
          for (let k = 0; k < (tall ? fi : fo); k++) dot += tall ? w[k * fo + a] * w[k * fo + b] : w[a * fo + k] * w[b * fo + k];
          expect(dot).toBeCloseTo(a === b ? g * g : 0, 5);
        }
    }
  });

  it('is in the registry; the action type picks CleanRL defaults; options are strict', () => {
    const a = makeAgent({ kind: 'ppo' }) as PpoAgent;
    expect(a).toBeInstanceOf(PpoAgent);
    a.reset(darkroomFamily.make(2, { size: 5 }), new Rng(0));
    expect(a.learners!.opts).toMatchObject({ numSteps: 128, lr: 2.5e-4, numMinibatches: 4, updateEpochs: 4, entCoef: 0.01, clipCoef: 0.2, gaeLambda: 0.95, maxGradNorm: 0.5 });
    const c = new PpoLearners({ obsDim: 2, numActions: 0, actDim: 2, low: [-1, -1], high: [1, 1] }, [new Rng(0)], {});
    expect(c.opts).toMatchObject({ numSteps: 2048, lr: 3e-4, numMinibatches: 32, updateEpochs: 10, entCoef: 0 });
    expect(() => makeAgent({ kind: 'ppo', clipcoef: 0.1 })).toThrow(/clipcoef/);
    expect(() => new PpoLearners({ obsDim: 2, numActions: 3, actDim: 0 }, [new Rng(0)], { numSteps: 10, numMinibatches: 4 })).toThrow(/multiple of numMinibatches/);
  });

  it('learns on a 5 x 5 Dark Room: greedy returns within 10% of the oracle on most goals', () => {
    const goals = [
      [4, 4],
      [2, 3],
      [4, 0],
      [0, 4],
      [3, 1],
      [1, 2],
    ];
    const tasks = goals.map(([x, y]) => ({ family: 'darkroom', params: { goalX: x, goalY: y } }));
    const env = darkroomFamily.make(tasks.length, { size: 5, horizon: 20 });
    env.setTasks(tasks);
    const evalEnv = darkroomFamily.make(tasks.length, { size: 5, horizon: 20 });
    evalEnv.setTasks(tasks);
    const agent = new PpoAgent({ numSteps: 64, numMinibatches: 2, lr: 1e-3 });
    const c = nn.withKernels(nn.wasmAvailable() ? 'wasm' : 'reference', () => learningCurves(agent, env, evalEnv, 12000, 12000, 1, new Rng(2)));
    const final = c.returns[c.returns.length - 1];
    const near = final.filter((r, i) => r >= 0.9 * c.oracle[i]!).length;
    expect(near).toBeGreaterThanOrEqual(4);
  }, 60_000);
});
