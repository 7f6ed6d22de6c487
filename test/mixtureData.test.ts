import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../src/core/errors.js';
import { h5ready, HistoryReader } from '../src/data/index.js';
import { prepareFamily } from '../src/envs/index.js';
import { loadTrainConfig, trainFromConfig } from '../src/train/index.js';
import '../src/rl/index.js';
import { mixtureHistories, type MixtureDataSpec } from '../src/experiments/mixtureData.js';
import { t2mirMixClaims, t2mirMixTable, memberOnly, onMember } from '../src/experiments/t2mirMix.js';
import { reproductions, runReproduction, verdictOf } from '../src/experiments/index.js';
import { z } from 'zod';

const dir = mkdtempSync(join(tmpdir(), 'icrl-mixture-data-'));
const configs = join(dir, 'configs');
const OPTIONS = { members: [{ family: 'point-robot' }, { family: 'reach' }], horizon: 20 };
const SPEC: MixtureDataSpec = {
  options: OPTIONS,
  members: [
    { member: 'point-robot', collect: 'pr.yaml' },
    { member: 'reach', collect: 'reach.yaml' },
  ],
};

beforeAll(async () => {
  await prepareFamily('mixture');
  await h5ready();
  rmSync(configs, { recursive: true, force: true });
  mkdirSync(configs);
  const c = (family: string, envOptions: object) => `${JSON.stringify({ kind: 'histories', family, envOptions, tasks: { count: 3, split: 'train', heldOut: 2, seed: 0 }, algorithm: { kind: 'random' }, steps: 60, numEnvs: 3, shardSize: 3, workers: 0, seed: 0, out: join(dir, 'unused') })}\n`;
  writeFileSync(join(configs, 'pr.yaml'), c('point-robot', { horizon: 20 }));
  // reach has no exact oracle for a plain recorder's labels: a PPO learner records it (and labels with its final policy)
  writeFileSync(join(configs, 'reach.yaml'), c('reach', { horizon: 20 }).replace('{"kind":"random"}', '{"kind":"ppo"}'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('mixture histories from the members\' collections', () => {
  it('collects each member, rewrites the histories in the mixture layout (interleaved, padded, one-hot, actions rescaled), finds them on a rerun, and a model trains on them', async () => {
    const lines: string[] = [];
    const out = join(dir, 'data');
    const d = await mixtureHistories(SPEC, out, configs, (l) => lines.push(l));
    const r = new HistoryReader(d.all);
    const hs = r.groups().map((g) => r.readHistory(g));
    r.close();
    expect(hs.map((h) => h.task.params.member)).toEqual(['point-robot', 'reach', 'point-robot', 'reach', 'point-robot', 'reach']);
    expect(hs.map((h) => h.taskIndex)).toEqual([0, 1, 2, 3, 4, 5]);
    for (const h of hs) expect([h.task.family, h.obsDim, h.actDim, h.horizon, h.length]).toEqual(['mixture', 24, 4, 20, 60]);
    // point-robot: observation (x, y) then zeros, one-hot at 22; actions in [-0.1, 0.1] rescaled to [-1, 1], zeros beyond its 2
    const pr = new HistoryReader(join(out, 'point-robot', 'shard-00000.h5'));
    const orig = pr.readHistory('0');
    pr.close();
    const h = hs[0];
    expect(h.task.params.params).toEqual(orig.task.params);
    for (let t = 0; t < 5; t++) {
      expect(h.observations[t * 24]).toBe(orig.observations[t * 2]);
      expect(h.observations[t * 24 + 1]).toBe(orig.observations[t * 2 + 1]);
      expect(Array.from(h.observations.subarray(t * 24 + 2, t * 24 + 24))).toEqual([...new Array<number>(20).fill(0), 1, 0]);
      expect(h.actions[t * 4]).toBeCloseTo(orig.actions[t * 2] * 10, 5);
      expect([h.actions[t * 4 + 2], h.actions[t * 4 + 3]]).toEqual([0, 0]);
    }
    expect(Array.from(h.rewards)).toEqual(Array.from(orig.rewards));
    expect(hs[1].observations[22 + 1]).toBe(1);
    const pm = new HistoryReader(d.perMember.reach);
    expect(pm.groups().map((g) => pm.readHistory(g).task.params.member)).toEqual(['reach', 'reach', 'reach']);
    pm.close();

    const again: string[] = [];
    await mixtureHistories(SPEC, out, configs, (l) => again.push(l));
    expect(again.join('\n')).toMatch(/written before, not again/);
    await expect(mixtureHistories({ ...SPEC, options: { ...OPTIONS, memberId: false } }, out, configs, () => {})).rejects.toThrow(ConfigError);

    // the trainer and its end-of-training evaluation take the mixture as one family
    const res = await trainFromConfig(
      {
        name: 'ad-mixture-tiny',
        out: join(dir, 'ad'),
        model: { kind: 'ad', layers: 1, dModel: 8, heads: 1 },
        data: { family: 'mixture', envOptions: OPTIONS, split: { seed: 0, heldOut: 2, train: 6 }, validationFraction: 0, ad: { collection: d.all, windowEpisodes: 1 } },
        optim: { steps: 2, batchSize: 2, lr: 0.001 },
        eval: { every: 0, tasks: 2, episodes: 1 },
      } as never,
      { progressBar: false },
    );
    expect(res.steps).toBe(2);
    expect(res.evals.length).toBeGreaterThan(0);
  });
});

describe('t2mir-vs-dense-mix entry', () => {
  it('is registered with T2MIR-vs-dense claims on the mixed set, per member and per family, computed from the scores', () => {
    const e = reproductions.get('t2mir-vs-dense-mix');
    expect(e.claims).toEqual(t2mirMixClaims());
    expect(e.claims).toHaveLength(10);
    // the per-family claims are left out of a run with --set perFamily=false, the others never
    expect(e.claims.map((c) => c.optional === true)).toEqual([...new Array<boolean>(6).fill(false), ...new Array<boolean>(4).fill(true)]);
    expect(e.scales.small?.table).toEqual(t2mirMixTable());
    const scores = new Map<string, number[][]>();
    const put = (agent: string, v: number) => scores.set(`${agent}:meanReturn`, [[v, v + 1], [v, v + 2]]);
    for (const a of ['AD', 'DPT']) {
      put(a, 0);
      put(`T2MIR-${a}`, 5);
      for (const m of ['cheetah-vel', 'reach']) {
        put(onMember(a, m), 0);
        put(onMember(`T2MIR-${a}`, m), -5);
        put(memberOnly(a, m), 0);
        put(memberOnly(`T2MIR-${a}`, m), 0);
      }
    }
    const v = e.claims.map((c) => verdictOf(c, scores).outcome);
    expect(v).toHaveLength(10);
    expect(v.slice(0, 2)).toEqual(['holds', 'holds']);
    expect(v.slice(2, 6)).toEqual(['does not hold', 'does not hold', 'does not hold', 'does not hold']);
    expect(v.slice(6)).toEqual(['inconclusive', 'inconclusive', 'inconclusive', 'inconclusive']);
  });
});

describe('t2mir-vs-dense-mix configs', () => {
  it('give each T2MIR model the data, steps, batch and rate of its dense twin, on the mixture split the evaluation holds out', () => {
    for (const [dense, moe] of [
      ['t2mir-mix-ad-small.yaml', 't2mir-mix-t2mir-ad-small.yaml'],
      ['t2mir-mix-dpt-small.yaml', 't2mir-mix-t2mir-dpt-small.yaml'],
    ]) {
      const a = loadTrainConfig(join('configs', dense));
      const b = loadTrainConfig(join('configs', moe));
      expect(b.data).toEqual(a.data);
      expect(b.optim).toEqual(a.optim);
      expect({ ...b.model, moe: undefined }).toEqual({ ...a.model, moe: undefined });
      expect(a.model.moe).toBeUndefined();
      expect(b.model.moe?.layers).toEqual([1]);
      expect(a.data.family).toBe('mixture');
      expect(a.data.split).toEqual({ seed: 0, heldOut: 10, train: 20 });
    }
  });
});

describe('optional claims', () => {
  it('get no verdict when the run did not measure their scores, and a verdict when it did', async () => {
    const run = (withB: boolean) => async () => {
      const scores = new Map<string, number[][]>([['A:score', [[2], [3]]], ['Z:score', [[1], [1]]]]);
      if (withB) scores.set('B:score', [[0], [0]]);
      return { seeds: [0, 1], scores, sections: [], files: [] };
    };
    for (const withB of [true, false]) {
      const name = `optional-claims-test-${withB}`;
      reproductions.register({
        name,
        description: 'test entry',
        options: z.object({}).strict(),
        paper: 'a test, not a paper at all',
        claim: 'A is above Z; B is above Z when measured',
        claims: [
          { text: 'A above Z', left: { agent: 'A', metric: 'score' }, right: { agent: 'Z', metric: 'score' } },
          { text: 'B above Z', left: { agent: 'B', metric: 'score' }, right: { agent: 'Z', metric: 'score' }, optional: true },
        ],
        scales: { small: { budget: 'none', table: [{ agent: 'A', metric: 'score' }], run: run(withB) } },
      });
      const s = await runReproduction(name, { seeds: 2, out: join(dir, name), say: () => {} });
      expect(s.verdicts.map((v) => [v.claim, v.outcome])).toEqual(withB ? [['A above Z', 'holds'], ['B above Z', 'does not hold']] : [['A above Z', 'holds']]);
    }
  });
});
