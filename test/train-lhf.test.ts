import { describe, expect, it } from 'vitest';
import { Rng } from '../src/core/rng.js';
import { lhfScoresPerTask, weightedPicker, parseTrainConfig } from '../src/train/index.js';
import type { History } from '../src/data/store.js';

/** A Dark Room history of `episodes` 10-step episodes whose reward per step is curve[e] in episode e. */
function history(taskIndex: number, goalX: number, curve: number[]): History {
  const H = 10;
  const T = curve.length * H;
  return {
    task: { family: 'darkroom', params: { goalX, goalY: 0 } },
    taskIndex,
    seed: 0,
    algorithm: null,
    numHistories: 1,
    length: T,
    obsDim: 2,
    numActions: 5,
    actDim: 0,
    numStates: 100,
    horizon: H,
    observations: new Float32Array(T * 2),
    actions: new Int32Array(T),
    rewards: Float32Array.from({ length: T }, (_, t) => curve[Math.floor(t / H)]),
    dones: Uint8Array.from({ length: T }, (_, t) => (t % H === H - 1 ? 1 : 0)),
  };
}

describe('LHF in AD training', () => {
  it('draws streams in proportion to their weights and never one of weight 0', () => {
    const pick = weightedPicker([0, 3, 0, 1]);
    const r = new Rng(7);
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 20000; i++) counts[pick(r)]++;
    expect(counts[0]).toBe(0);
    expect(counts[2]).toBe(0);
    expect(counts[1] / 20000).toBeGreaterThan(0.73);
    expect(counts[1] / 20000).toBeLessThan(0.77);
    expect(() => weightedPicker([0, 0])).toThrow(/sum to 0/);
    expect(() => weightedPicker([1, -1])).toThrow(/weight 1 is -1/);
  });

  it('scores each history among the histories of its own task, so every task keeps its best', () => {
    // task A (goal 0) is easy: even its worse history beats every history of task B (goal 1)
    const hs = [
      history(0, 0, [0.5, 0.7, 0.9, 0.9]), // A, improving
      history(1, 0, [0.6, 0.6, 0.6, 0.6]), // A, flat
      history(2, 1, [0.0, 0.1, 0.3, 0.4]), // B, improving
      history(3, 1, [0.2, 0.0, 0.2, 0.0]), // B, unstable
      history(4, 0, [0.7, 0.5, 0.6, 0.5]), // A again in another group (a collection cycles its goals)
    ];
    const s = lhfScoresPerTask(hs, { mode: 'filter', keep: 0.5, lambda: 0.5, temperature: 0.2, edge: 0.25, blockSteps: 0 });
    const kept = s.filter((h) => h.kept).map((h) => h.taskIndex).sort();
    // goal 0 has three histories (round(1.5) = 2 kept), goal 1 two (1 kept): the improving one of each
    expect(kept).toEqual([0, 1, 2]);
    // scored over all five together, task A's flat history (0.6 per step) would outrank task B's only improving one
    expect(s.find((h) => h.taskIndex === 3)!.kept).toBe(false);
    expect(s.find((h) => h.taskIndex === 4)!.kept).toBe(false);
  });

  it('accepts data.ad.lhf with LHF\'s options and names a wrong one', () => {
    const base = {
      name: 'x',
      out: 'runs/x',
      model: { kind: 'ad', layers: 1, dModel: 16, heads: 2 },
      data: { family: 'darkroom', split: { seed: 0, heldOut: 20 }, ad: { source: { kind: 'rmax' }, episodes: 4, windowEpisodes: 2, lhf: { mode: 'reweight', temperature: 0.5 } } },
      optim: { steps: 1, batchSize: 2, lr: 0.001 },
    };
    expect(parseTrainConfig(base).data.ad!.lhf!.mode).toBe('reweight');
    const bad = { ...base, data: { ...base.data, ad: { ...base.data.ad, lhf: { mode: 'drop' } } } };
    expect(() => parseTrainConfig(bad, 'bad.yaml')).toThrow(/data\.ad\.lhf\.mode/);
  });
});
