import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { bestArmPosterior } from '../src/algorithms/index.js';
import { buildTrainingData, comparePosterior, parseTrainConfig, type TrainConfigInput } from '../src/train/index.js';
import { buildModel, saveInContextModel } from '../src/models/index.js';
import { Rng } from '../src/core/rng.js';
import { IcrlError } from '../src/core/errors.js';

/** Monte Carlo estimate of P(best = a): means drawn from the truncated-normal posteriors by rejection. */
function monteCarlo(counts: number[], sums: number[], sd: number, draws: number, rng: Rng): number[] {
  const K = counts.length;
  const wins = new Array<number>(K).fill(0);
  const m = new Array<number>(K).fill(0);
  for (let s = 0; s < draws; s++) {
    for (let a = 0; a < K; a++) {
      if (counts[a] === 0) {
        m[a] = rng.uniform();
        continue;
      }
      const mu = sums[a] / counts[a];
      const sdPost = sd / Math.sqrt(counts[a]);
      let x: number;
      do x = mu + sdPost * rng.normal();
      while (x < 0 || x > 1);
      m[a] = x;
    }
    let best = 0;
    for (let a = 1; a < K; a++) if (m[a] > m[best]) best = a;
    wins[best]++;
  }
  return wins.map((w) => w / draws);
}

describe('exact posterior of the best arm', () => {
  it('is uniform without data and symmetric for symmetric data', () => {
    const out = new Float64Array(4);
    bestArmPosterior([0, 0, 0, 0], [0, 0, 0, 0], { noiseSd: 0.3 }, out);
    for (const p of out) expect(p).toBeCloseTo(0.25, 6);
    bestArmPosterior([3, 3, 7, 7], [1.5, 1.5, 2.1, 2.1], { noiseSd: 0.3 }, out);
    expect(out[0]).toBeCloseTo(out[1], 9);
    expect(out[2]).toBeCloseTo(out[3], 9);
    expect(out[0]).toBeGreaterThan(out[2]); // mean 0.5 beats mean 0.3
    expect(out.reduce((s, p) => s + p, 0)).toBeCloseTo(1, 9);
  });

  it('agrees with Monte Carlo sampling of the truncated-normal posteriors', () => {
    const rng = new Rng(11);
    const cases: [number[], number[]][] = [
      [[0, 2, 5, 1, 12], [0, 1.4, 2.0, 0.1, 9.0]],
      [[40, 3, 0], [30, 2.5, 0]],
      [[1, 1], [0.95, 0.9]],
    ];
    for (const [counts, sums] of cases) {
      const exact = bestArmPosterior(counts, sums, { noiseSd: 0.3 }, new Float64Array(counts.length));
      const mc = monteCarlo(counts, sums, 0.3, 200_000, rng);
      for (let a = 0; a < counts.length; a++) expect(Math.abs(exact[a] - mc[a])).toBeLessThan(0.006);
    }
  });

  it('concentrates on an arm observed to be clearly best', () => {
    const out = bestArmPosterior([200, 200, 3], [160, 100, 0.6], { noiseSd: 0.3 }, new Float64Array(3));
    expect(out[0]).toBeGreaterThan(0.999);
    expect(out[2]).toBeLessThan(1e-3); // 3 pulls averaging 0.2: about 3e-4 of exceeding 0.8
  });

  it('rejects a bad noise, support or grid', () => {
    const out = new Float64Array(2);
    expect(() => bestArmPosterior([1, 1], [0, 0], { noiseSd: 0 }, out)).toThrow(/noiseSd/);
    expect(() => bestArmPosterior([1, 1], [0, 0], { noiseSd: 0.3, lo: 1, hi: 0 }, out)).toThrow(/lo < hi/);
    expect(() => bestArmPosterior([1, 1], [0, 0], { noiseSd: 0.3, grid: 1 }, out)).toThrow(/grid/);
  });
});

function tinyConfig(family = 'bandit'): TrainConfigInput {
  return {
    name: 'tiny-posterior',
    seed: 2,
    out: 'unused',
    model: { kind: 'dpt', layers: 1, dModel: 16, heads: 2 },
    data:
      family === 'bandit'
        ? { family, envOptions: { arms: 3 }, split: { seed: 0, heldOut: 4, train: 200 }, validationFraction: 0.2, dpt: { samples: 200, contextLength: 12 } }
        : { family, split: { seed: 0, heldOut: 4 }, validationFraction: 0.2, dpt: { samples: 64, contextLength: 12 } },
    optim: { steps: 1, batchSize: 4, lr: 1e-3 },
  };
}

/** The tiny config's data (built as icrl train builds it) and an untrained model for it. */
async function tinyDataAndModel(family = 'bandit') {
  const cfg = parseTrainConfig(tinyConfig(family));
  const data = await buildTrainingData(cfg, process.cwd(), new Rng(cfg.seed).split('data-build'), () => {});
  const model = buildModel({ model: cfg.model, dims: data.dims, contextLength: data.contextLength }, new Rng(1));
  return { data, model };
}

describe('comparePosterior', () => {
  it('reports the exact posterior floor and a non-negative KL per range of context lengths', async () => {
    const { data, model } = await tinyDataAndModel();
    const rep = comparePosterior([model], data, { batches: 2, batchSize: 8, every: 1, binEdges: [1, 4, 13] });
    expect(rep.contexts).toBe(16);
    expect(rep.bins.map((b) => [b.from, b.to, b.count])).toEqual([
      [0, 1, 16],
      [1, 4, 48],
      [4, 13, 144],
    ]);
    expect(rep.overall.count).toBe(208);
    for (const b of [...rep.bins, rep.overall]) {
      expect(b.models[0].kl).toBeGreaterThan(0);
      expect(Number.isFinite(b.models[0].nll)).toBe(true);
    }
    // Before any pull the exact posterior is uniform: its cross-entropy is log 3 whatever the label.
    expect(rep.bins[0].bayesNll).toBeCloseTo(Math.log(3), 9);
    // The same seed reads the same contexts.
    const again = comparePosterior([model], data, { batches: 2, batchSize: 8, every: 1, binEdges: [1, 4, 13] });
    expect(again.overall.models[0].kl).toBe(rep.overall.models[0].kl);
  });

  it('refuses data it cannot compare', async () => {
    const { data, model } = await tinyDataAndModel('darkroom');
    expect(() => comparePosterior([model], data)).toThrow(IcrlError);
    expect(() => comparePosterior([model], data)).toThrow(/independent uniform arm means/);
  });
});

describe('icrl posterior', () => {
  it('prints the comparison of a saved model as JSON, and a clear error for an MDP config', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'icrl-posterior-'));
    try {
      const { data, model } = await tinyDataAndModel();
      saveInContextModel(join(dir, 'model'), model);
      writeFileSync(join(dir, 'tiny.yaml'), stringify(tinyConfig()));
      const cli = join(process.cwd(), 'bin', 'icrl.js');
      const r = spawnSync(process.execPath, [cli, 'posterior', join(dir, 'tiny.yaml'), join(dir, 'model'), '--batches', '2', '--batch-size', '8', '--json'], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      const rep = JSON.parse(r.stdout);
      // the CLI reads the same contexts as the library call with the same seed
      const direct = comparePosterior([model], data, { batches: 2, batchSize: 8 });
      expect(rep.overall.models[0].kl).toBeCloseTo(direct.overall.models[0].kl, 5);
      expect(rep.bins).toHaveLength(4);
      writeFileSync(join(dir, 'room.yaml'), stringify(tinyConfig('darkroom')));
      const bad = spawnSync(process.execPath, [cli, 'posterior', join(dir, 'room.yaml'), join(dir, 'model')], { encoding: 'utf8' });
      expect(bad.status).toBe(2);
      expect(bad.stderr).toMatch(/independent uniform arm means/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
