import { describe, expect, it } from 'vitest';
import { Rng } from '../src/core/rng.js';
import { adTrainingData, parseTrainConfig } from '../src/train/index.js';
import type { AdBatch } from '../src/train/index.js';
import type { History } from '../src/data/store.js';
import { adTokenSize, envDims } from '../src/models/features.js';
import { makeBatchedEnv } from '../src/envs/index.js';

const H = 10;
/** A Dark Room history of `episodes` H-step episodes: action at step t is t % 5, reward at step t is t (its step index). */
function history(episodes: number, boundaryShift = 0): History {
  const T = episodes * H;
  return {
    task: { family: 'darkroom', params: { goalX: 1, goalY: 2 } },
    taskIndex: 0,
    seed: 0,
    algorithm: null,
    numHistories: 1,
    length: T,
    obsDim: 2,
    numActions: 5,
    actDim: 0,
    numStates: 81,
    horizon: H,
    observations: new Float32Array(T * 2),
    actions: Int32Array.from({ length: T }, (_, t) => t % 5),
    rewards: Float32Array.from({ length: T }, (_, t) => t),
    dones: Uint8Array.from({ length: T }, (_, t) => ((t + boundaryShift) % H === H - 1 ? 1 : 0)),
  };
}

function cfg(episodeStride: number, windowEpisodes = 3, firstEpisodes?: number) {
  return parseTrainConfig({
    name: 'stride',
    out: 'runs/stride',
    model: { kind: 'ad', layers: 1, dModel: 8, heads: 2 },
    data: { family: 'darkroom', envOptions: { horizon: H }, split: { seed: 0, heldOut: 4 }, validationFraction: 0, ad: { collection: 'unused', windowEpisodes, episodeStride, ...(firstEpisodes !== undefined ? { firstEpisodes } : {}) } },
    optim: { steps: 1, batchSize: 2, lr: 0.001 },
  });
}

describe('AD windows of every k-th episode (data.ad.episodeStride)', () => {
  const env = makeBatchedEnv('darkroom', 1, { horizon: H }, new Rng(0));
  const dims = envDims(env, { horizon: H });
  const ts = adTokenSize(dims);
  // token layout: obs one-hots, previous action one-hot (5), previous reward, has-previous, episode start
  const rewardAt = ts - 3;

  it('cuts windows of episodes e, e + k, e + 2k, each token carrying the previous step of the window', () => {
    const data = adTrainingData(cfg(4), { train: [history(20)], val: [], heldOut: [], source: null, length: 20 * H, dims });
    expect(data.contextLength).toBe(3 * H);
    const r = new Rng(3);
    const firsts = new Set<number>();
    for (let n = 0; n < 200; n++) {
      const b = data.sample(r, 2, 'train', false) as AdBatch;
      for (let row = 0; row < 2; row++) {
        const L = 3 * H;
        const tok = (t: number) => b.tokens.subarray((row * L + t) * ts, (row * L + t + 1) * ts);
        // the targets are the actions of the window's steps; recover each step's index from the next token's previous reward
        const stepOf = (t: number) => tok(t + 1)[rewardAt];
        const e0 = Math.round(stepOf(0)) / H;
        firsts.add(e0);
        expect(Number.isInteger(e0)).toBe(true);
        for (let j = 0; j < 3; j++) {
          for (let t = 0; t < H; t++) {
            const k = j * H + t;
            const g = (e0 + 4 * j) * H + t;
            expect((b.targets as Int32Array)[row * L + k]).toBe(g % 5);
            expect(tok(k)[ts - 1]).toBe(t === 0 ? 1 : 0);
            if (k + 1 < L && t + 1 < H) expect(stepOf(k)).toBe(g);
          }
          // an episode's first token carries the last step of the window's previous episode
          if (j > 0) expect(tok(j * H)[rewardAt]).toBe((e0 + 4 * (j - 1)) * H + H - 1);
        }
        expect(tok(0)[ts - 2]).toBe(e0 > 0 ? 1 : 0);
      }
    }
    // every first episode the span allows (0 .. 20 - 9) is drawn, none beyond
    expect([...firsts].sort((a, b) => a - b)).toEqual(Array.from({ length: 12 }, (_, i) => i));
  });

  it('refuses a span longer than the histories, episodes of another length, and streamed reads', () => {
    expect(() => adTrainingData(cfg(10), { train: [history(20)], val: [], heldOut: [], source: null, length: 20 * H, dims })).toThrow(/span 210 steps, more than the histories' 200/);
    const odd = adTrainingData(cfg(2), { train: [history(20, 3)], val: [], heldOut: [], source: null, length: 20 * H, dims });
    expect(() => odd.sample(new Rng(0), 2, 'train', false)).toThrow(/data\.ad\.episodeStride needs episodes of exactly the horizon \(10 steps\)/);
    const c = cfg(2) as unknown as { data: { ad: Record<string, unknown> } };
    expect(() => parseTrainConfig({ ...c, data: { ...c.data, ad: { ...c.data.ad, read: 'stream' } } }, 'x.yaml')).toThrow(/episodeStride/);
    expect(cfg(1).data.ad!.episodeStride).toBe(1);
  });

  it('firstEpisodes: windows start in the first N episodes of a history, strided or not', () => {
    const starts = (data: ReturnType<typeof adTrainingData>): Set<number> => {
      const r = new Rng(4);
      const L = data.contextLength;
      const seen = new Set<number>();
      for (let n = 0; n < 300; n++) {
        const b = data.sample(r, 2, 'train', false) as AdBatch;
        // the window's first step: the second token's previous reward (the reward at step t is t)
        for (let row = 0; row < 2; row++) seen.add(Math.round(b.tokens[(row * L + 1) * ts + rewardAt]));
      }
      return seen;
    };
    const strided = starts(adTrainingData(cfg(4, 3, 5), { train: [history(20)], val: [], heldOut: [], source: null, length: 20 * H, dims }));
    expect([...strided].sort((a, b) => a - b)).toEqual([0, 10, 20, 30, 40]);
    // unstrided: any step of the first 3 episodes
    const plain = starts(adTrainingData(cfg(1, 2, 3), { train: [history(20)], val: [], heldOut: [], source: null, length: 20 * H, dims }));
    expect(Math.max(...plain)).toBe(3 * H - 1);
    expect(Math.min(...plain)).toBe(0);
    // more first episodes than the span allows: the span's limit holds
    const wide = starts(adTrainingData(cfg(4, 3, 100), { train: [history(20)], val: [], heldOut: [], source: null, length: 20 * H, dims }));
    expect(Math.max(...wide)).toBe(11 * H);
    const c = cfg(2, 3, 4) as unknown as { data: { ad: Record<string, unknown> } };
    expect(() => parseTrainConfig({ ...c, data: { ...c.data, ad: { ...c.data.ad, episodeStride: 1, read: 'stream' } } }, 'x.yaml')).toThrow(/firstEpisodes/);
  });
});
