import { describe, expect, it } from 'vitest';
import { Rng } from '../src/core/rng.js';
import { makeBatchedEnv } from '../src/envs/index.js';
import { envDims, standardizedDims, writeObs, writeDptToken, writeAdToken, dptTokenSize, adTokenSize, buildModel, modelSpec } from '../src/models/index.js';
import { ModelSpecSchema } from '../src/models/io.js';
import { ModelConfigSchema } from '../src/train/config.js';
import { buildTrainingData, parseTrainConfig } from '../src/train/index.js';

describe('input standardisation (data.normalize)', () => {
  it('feeds raw observations at mean 0 and standard deviation 1 per coordinate, and rewards at standard deviation 1', () => {
    const env = makeBatchedEnv('point-robot', 1, {}, new Rng(0));
    const d = envDims(env, {});
    expect(d.obsSizes).toBeNull();
    const r = new Rng(1);
    const steps = 4000;
    const observations = Float32Array.from({ length: steps * d.obsDim }, (_, i) => (i % d.obsDim === 0 ? 5 + 3 * r.normal(0, 1) : -2 + 0.5 * r.normal(0, 1)));
    const rewards = Float32Array.from({ length: steps }, () => 10 * r.normal(0, 1) - 4);
    const s = standardizedDims(d, [{ observations, rewards }]);
    const f = new Float32Array(d.obsDim);
    const mean = new Float64Array(d.obsDim);
    const sq = new Float64Array(d.obsDim);
    for (let t = 0; t < steps; t++) {
      writeObs(s, observations, t * d.obsDim, f, 0);
      for (let c = 0; c < d.obsDim; c++) {
        mean[c] += f[c] / steps;
        sq[c] += (f[c] * f[c]) / steps;
      }
    }
    for (let c = 0; c < d.obsDim; c++) {
      expect(Math.abs(mean[c])).toBeLessThan(1e-3);
      expect(Math.sqrt(sq[c] - mean[c] ** 2)).toBeCloseTo(1, 3);
    }
    expect(s.rewardScale! * 10).toBeCloseTo(1, 1);
    // the reward slot of both token kinds carries the scaled reward; the unscaled dims leave it as it is
    const tok = new Float32Array(dptTokenSize(s));
    writeDptToken(s, observations, 0, new Float32Array(d.actDim), 0, 3, observations, 0, tok, 0);
    expect(tok[d.obsDim + d.actDim]).toBeCloseTo(3 * s.rewardScale!, 5);
    const ad = new Float32Array(adTokenSize(s));
    writeAdToken(d, observations, 0, new Float32Array(d.actDim), 0, 3, true, false, ad, 0);
    expect(ad[d.obsDim + d.actDim]).toBe(3);
    // saved with the model: a model spec keeps the statistics
    const model = buildModel({ model: ModelConfigSchema.parse({ kind: 'dpt', layers: 1, dModel: 8, heads: 2 }), dims: s, contextLength: 4 }, new Rng(2));
    const back = ModelSpecSchema.parse(JSON.parse(JSON.stringify(modelSpec(model, {}))));
    expect(back.dims.obsScale).toEqual(s.obsScale);
    expect(back.dims.rewardScale).toBe(s.rewardScale);
  });

  it('keeps one-hot observations and says where it cannot apply', async () => {
    const env = makeBatchedEnv('darkroom', 1, {}, new Rng(0));
    const d = envDims(env, {});
    const s = standardizedDims(d, [{ observations: new Float32Array([1, 2, 3, 4]), rewards: new Float32Array([0, 1]) }]);
    expect(s.obsShift).toBeUndefined();
    expect(s.rewardScale).toBeCloseTo(2, 5);
    const cfg = parseTrainConfig({
      name: 'n',
      out: 'runs/n',
      model: { kind: 'dpt', layers: 1, dModel: 8, heads: 2 },
      data: { family: 'bandit', split: { heldOut: 4, train: 8 }, normalize: true, dpt: { samples: 8, contextLength: 4 } },
      optim: { steps: 1, batchSize: 2, lr: 0.001 },
    });
    await expect(Promise.resolve().then(() => buildTrainingData(cfg, '.', new Rng(0), () => {}))).rejects.toThrow(/data\.normalize .* needs data\.dpt\.collection/);
  });
});
