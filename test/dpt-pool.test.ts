// DPT samples whose query states come from any run of the split (data.dpt.query: pool), labelled by
// the final policy of the context's task from the collection's policy files.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, collectConfigSchema, openHistoryCollection, policyFile, type History } from '../src/data/index.js';
import { Rng } from '../src/core/rng.js';
import { loadPolicy, loadSacPolicy } from '../src/rl/index.js';
import { buildTrainingData, parseTrainConfig, trainFromConfig } from '../src/train/index.js';
import type { DptBatch } from '../src/models/batches.js';

const dir = mkdtempSync(join(tmpdir(), 'icrl-dptpool-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const out = join(dir, 'sac');
const out2 = join(dir, 'sac-stratified');
const hs: History[] = [];
const hs2: History[] = [];

beforeAll(async () => {
  const cfg = {
    kind: 'histories',
    family: 'point-robot',
    tasks: { count: 4, heldOut: 10, seed: 2 },
    algorithm: { kind: 'sac', hidden: [8, 8], batchSize: 8, learningStarts: 40 },
    steps: 100,
    numEnvs: 4,
    shardSize: 4,
    compression: 1,
    seed: 3,
    workers: 0,
  };
  await collect(collectConfigSchema.parse(cfg), { out, silent: true });
  // a second collection of other training tasks of the same split (drawn stratified)
  await collect(collectConfigSchema.parse({ ...cfg, tasks: { count: 2, heldOut: 10, seed: 2, draw: 'stratified' }, numEnvs: 2, shardSize: 2 }), { out: out2, silent: true });
  for (const [o, list] of [[out, hs], [out2, hs2]] as const) {
    for (const { reader, groups } of await openHistoryCollection(o)) {
      for (const g of groups) list.push(reader.readHistory(g));
      reader.close();
    }
  }
}, 60_000);

/** The step of history h whose (s, a) a point-robot DPT token [s, a, r, s'] starts with, or -1. */
function stepOf(h: History, tok: Float32Array): number {
  for (let t = 0; t < h.length; t++) if (h.observations[2 * t] === tok[0] && h.observations[2 * t + 1] === tok[1] && h.actions[2 * t] === tok[2] && h.actions[2 * t + 1] === tok[3]) return t;
  return -1;
}

/** The greedy action of training task k's final policy at x (the first 3 tasks of the collection). */
function trainingPolicies(): (k: number, x: Float32Array) => number[] {
  const policies = hs.slice(0, 3).map((h) => loadSacPolicy(policyFile(out, h.taskIndex)));
  return (k, x) => {
    const a = new Float32Array(2);
    policies[k].actGreedy(Float32Array.from(x), a);
    return [...a];
  };
}

/**
 * For data whose training contexts (at fraction 1) are all played, not a learner's: validation
 * samples are a learner's own run, the same seed draws the same samples, and fraction 0.5 mixes
 * played contexts with the learners' own.
 */
async function expectOwnValidationSameSeedAndMix(data: Awaited<ReturnType<typeof buildTrainingData>>, cfg: (fraction: number) => ReturnType<typeof parseTrainConfig>): Promise<void> {
  const ts = 2 + 2 + 1 + 2;
  const v = data.sample(new Rng(9), 4, 'val', false) as DptBatch;
  expect(stepOf(hs[3], v.tokens.subarray(0, ts))).toBeGreaterThanOrEqual(0);
  const again = await buildTrainingData(cfg(1), '.', new Rng(0), () => {});
  expect((again.sample(new Rng(8), 4, 'train', false) as DptBatch).tokens).toEqual((data.sample(new Rng(8), 4, 'train', false) as DptBatch).tokens);
  const half = await buildTrainingData(cfg(0.5), '.', new Rng(0), () => {});
  const hb = half.sample(new Rng(10), 16, 'train', false) as DptBatch;
  const own = Array.from({ length: 16 }, (_, i) => hs.some((h) => stepOf(h, hb.tokens.subarray(i * hb.T * ts, i * hb.T * ts + ts)) >= 0)).filter(Boolean).length;
  expect(own).toBeGreaterThan(0);
  expect(own).toBeLessThan(16);
}

const config = (query: 'run' | 'pool', collection: string | string[] = out, contextFrom: 'window' | 'run' = 'window') =>
  parseTrainConfig({
    name: 'pool',
    out: join(dir, 'train'),
    model: { kind: 'dpt', layers: 1, dModel: 8, heads: 2 },
    data: { family: 'point-robot', split: { seed: 2, heldOut: 10, train: 4 }, validationFraction: 0.25, dpt: { collection, contextLength: 10, query, contextFrom } },
    optim: { steps: 1, batchSize: 4, lr: 0.001 },
  });

describe('DPT query states from the pool of the split (data.dpt.query: pool)', () => {
  it("labels a query state of any run with the final policy of the context's task", async () => {
    const data = await buildTrainingData(config('pool'), '.', new Rng(0), () => {});
    const policies = hs.map((h) => loadSacPolicy(policyFile(out, h.taskIndex)));
    const train = hs.slice(0, 3);
    const ts = 2 + 2 + 1 + 2; // [s, a, r, s']
    let otherRun = 0;
    const r = new Rng(5);
    for (let n = 0; n < 20; n++) {
      const b = data.sample(r, 4, 'train', false) as DptBatch;
      for (let i = 0; i < b.B; i++) {
        // the context's run: the training history holding its first transition (s, a)
        const tok = b.tokens.subarray(i * b.T * ts, i * b.T * ts + ts);
        const ctx = train.findIndex((h) => stepOf(h, tok) >= 0);
        expect(ctx, `sample ${i}`).toBeGreaterThanOrEqual(0);
        const q = b.queries.subarray(2 * i, 2 * i + 2);
        const want = new Float32Array(2);
        policies[ctx].actGreedy(Float32Array.from(q), want);
        expect([b.labels[2 * i], b.labels[2 * i + 1]]).toEqual([...want]);
        // the query state is one of a training run's, not always of the context's own
        const from = train.findIndex((h) => {
          for (let t = 0; t < h.length; t++) if (h.observations[2 * t] === q[0] && h.observations[2 * t + 1] === q[1]) return true;
          return false;
        });
        expect(from).toBeGreaterThanOrEqual(0);
        if (from !== ctx) otherRun++;
      }
    }
    expect(otherRun).toBeGreaterThan(20);
  });

  it("ownQueries draws a share of the query states from the context task's own run, still labelled by its policy", async () => {
    const withOwn = (ownQueries: number) => parseTrainConfig({ ...config('pool'), data: { ...config('pool').data, dpt: { ...config('pool').data.dpt!, ownQueries } } });
    const policies = hs.map((h) => loadSacPolicy(policyFile(out, h.taskIndex)));
    const train = hs.slice(0, 3);
    const ts = 2 + 2 + 1 + 2;
    const runOfQuery = (q: Float32Array) => train.findIndex((h) => {
      for (let t = 0; t < h.length; t++) if (h.observations[2 * t] === q[0] && h.observations[2 * t + 1] === q[1]) return true;
      return false;
    });
    const ownShare = async (f: number): Promise<number> => {
      const data = await buildTrainingData(withOwn(f), '.', new Rng(0), () => {});
      let own = 0;
      const r = new Rng(5);
      for (let n = 0; n < 10; n++) {
        const b = data.sample(r, 4, 'train', false) as DptBatch;
        for (let i = 0; i < b.B; i++) {
          const ctx = train.findIndex((h) => stepOf(h, b.tokens.subarray(i * b.T * ts, i * b.T * ts + ts)) >= 0);
          const q = b.queries.subarray(2 * i, 2 * i + 2);
          const want = new Float32Array(2);
          policies[ctx].actGreedy(Float32Array.from(q), want);
          expect([b.labels[2 * i], b.labels[2 * i + 1]]).toEqual([...want]);
          if (runOfQuery(q) === ctx) own++;
        }
      }
      return own / 40;
    };
    expect(await ownShare(1)).toBe(1);
    const half = await ownShare(0.5);
    expect(half).toBeGreaterThan(0.4);
    expect(half).toBeLessThan(1);
    expect(() => parseTrainConfig({ ...config('run'), data: { ...config('run').data, dpt: { ...config('run').data.dpt!, ownQueries: 0.5 } } })).toThrow(/ownQueries/);
  });

  it("trains on several collections together, each history labelled by its own folder's policy", async () => {
    const data = await buildTrainingData(config('pool', [out, out2]), '.', new Rng(0), () => {});
    expect(data.numTrainTasks + data.numValTasks).toBe(6);
    expect(data.numValTasks).toBe(2); // validationFraction 0.25 of the 6: the last 2, those of the second folder
    const ts = 2 + 2 + 1 + 2;
    // every sample's context is a run of `runs`, its label that run's folder policy at the query state
    const expectLabelledBy = (b: DptBatch, runs: History[], folder: string, what: string): void => {
      const policies = runs.map((h) => loadSacPolicy(policyFile(folder, h.taskIndex)));
      for (let i = 0; i < b.B; i++) {
        const ctx = runs.findIndex((h) => stepOf(h, b.tokens.subarray(i * b.T * ts, i * b.T * ts + ts)) >= 0);
        expect(ctx, `${what} ${i}`).toBeGreaterThanOrEqual(0);
        const want = new Float32Array(2);
        policies[ctx].actGreedy(Float32Array.from(b.queries.subarray(2 * i, 2 * i + 2)), want);
        expect([b.labels[2 * i], b.labels[2 * i + 1]]).toEqual([...want]);
      }
    };
    const r = new Rng(6);
    for (let n = 0; n < 10; n++) expectLabelledBy(data.sample(r, 4, 'train', false) as DptBatch, hs.slice(0, 4), out, 'sample');
    // the validation samples: contexts of the second folder's runs, labelled by its policies
    expectLabelledBy(data.sample(new Rng(7), 4, 'val', false) as DptBatch, hs2, out2, 'validation sample');
    await expect(buildTrainingData(config('pool', [out, out]), '.', new Rng(0), () => {})).rejects.toThrow(/data\.dpt\.collection: .*sac and .*sac both hold task/);
  });

  it('needs a collection folder with policy files', async () => {
    expect(() => parseTrainConfig({ name: 'x', out: 'x', model: { kind: 'dpt', layers: 1, dModel: 8, heads: 2 }, data: { family: 'bandit', split: { heldOut: 4, train: 8 }, dpt: { samples: 8, contextLength: 4, query: 'pool' } }, optim: { steps: 1, batchSize: 2, lr: 0.001 } })).toThrow(/data\.dpt\.query/);
    const shard = join(out, 'shard-00000.h5');
    await expect(buildTrainingData(config('pool', shard), '.', new Rng(0), () => {})).rejects.toThrow(/pool needs data\.dpt\.collection to be a collection folder/);
  });

  it('contextFrom: run draws a context of distinct steps of one run, in time order, from all of it', async () => {
    const data = await buildTrainingData(config('pool', out, 'run'), '.', new Rng(0), () => {});
    const train = hs.slice(0, 3);
    const ts = 2 + 2 + 1 + 2;
    const r = new Rng(7);
    let spread = 0;
    let n = 0;
    for (let k = 0; k < 10; k++) {
      const b = data.sample(r, 4, 'train', false) as DptBatch;
      for (let i = 0; i < b.B; i++) {
        // each token's step in the run holding the first token
        const tok = (t: number) => b.tokens.subarray((i * b.T + t) * ts, (i * b.T + t) * ts + ts);
        const h = train.find((x) => stepOf(x, tok(0)) >= 0)!;
        const steps = Array.from({ length: b.T }, (_, t) => stepOf(h, tok(t)));
        for (let t = 1; t < b.T; t++) expect(steps[t]).toBeGreaterThan(steps[t - 1]);
        spread += steps[b.T - 1] - steps[0];
        n++;
      }
    }
    // consecutive windows span T - 1 = 9 steps; contexts of the whole 100-step run span far more
    expect(spread / n).toBeGreaterThan(50);
    expect(() => parseTrainConfig({ name: 'x', out: 'x', model: { kind: 'dpt', layers: 1, dModel: 8, heads: 2 }, data: { family: 'bandit', split: { heldOut: 4, train: 8 }, dpt: { samples: 8, contextLength: 4, contextFrom: 'run' } }, optim: { steps: 1, batchSize: 2, lr: 0.001 } })).toThrow(/data\.dpt\.collection/);
  });

  it("crossPlay draws contexts played on a task by other tasks' policies, labelled by the task's own", async () => {
    const cross = (fraction: number) => parseTrainConfig({ ...config('pool'), data: { ...config('pool').data, dpt: { ...config('pool').data.dpt!, crossPlay: { episodes: 2, fraction } } } });
    const logs: string[] = [];
    const data = await buildTrainingData(cross(1), '.', new Rng(0), (l) => logs.push(l));
    expect(logs.some((l) => /cross-play: 2 episode\(s\) on each of the 3 training tasks/.test(l))).toBe(true);
    const train = hs.slice(0, 3);
    const greedy = trainingPolicies();
    const ts = 2 + 2 + 1 + 2;
    const r = new Rng(8);
    const players = new Set<string>();
    for (let n = 0; n < 10; n++) {
      const b = data.sample(r, 4, 'train', false) as DptBatch;
      for (let i = 0; i < b.B; i++) {
        const tok = b.tokens.subarray(i * b.T * ts, i * b.T * ts + ts);
        // not a step of any learner's own run: played by a training task's final policy
        expect(hs.every((h) => stepOf(h, tok) < 0)).toBe(true);
        const player = train.findIndex((_, k) => greedy(k, tok.subarray(0, 2)).every((v, c) => v === tok[2 + c]));
        expect(player, `sample ${i}`).toBeGreaterThanOrEqual(0);
        // labelled by the policy of another task, the context's
        const label = [b.labels[2 * i], b.labels[2 * i + 1]];
        const q = b.queries.subarray(2 * i, 2 * i + 2);
        const task = train.findIndex((_, k) => k !== player && greedy(k, q).every((v, c) => v === label[c]));
        expect(task, `sample ${i}`).toBeGreaterThanOrEqual(0);
        players.add(`${player}->${task}`);
      }
    }
    expect(players.size).toBeGreaterThan(2);
    // validation contexts stay the learners' own; the same seed gives the same cross-play; a fraction mixes both kinds
    await expectOwnValidationSameSeedAndMix(data, cross);
    expect(() => parseTrainConfig({ ...config('run'), data: { ...config('run').data, dpt: { ...config('run').data.dpt!, crossPlay: { episodes: 2, fraction: 1 } } } })).toThrow(/crossPlay.*query: pool/);
  });

  it("selfPlay draws contexts and query states from a trained DPT model's online play on the task, labelled by the task's policy", async () => {
    // the player: a DPT model trained (a few steps) by the pool config
    const player = join(dir, 'player');
    await trainFromConfig({ ...config('pool'), out: player, optim: { ...config('pool').optim, steps: 3 } }, { outDir: player, progressBar: false, log: () => {} });
    const selfCfg = (fraction: number, checkpoint = player) => parseTrainConfig({ ...config('pool'), data: { ...config('pool').data, dpt: { ...config('pool').data.dpt!, selfPlay: { checkpoint, episodes: 2, runs: 2, fraction } } } });
    const logs: string[] = [];
    const data = await buildTrainingData(selfCfg(1), '.', new Rng(0), (l) => logs.push(l));
    expect(logs.some((l) => /self-play: 2 run\(s\) of 2 episode\(s\) on each of the 3 training tasks .* mean return per episode \S+ \/ \S+/.test(l))).toBe(true);
    const train = hs.slice(0, 3);
    const greedy = trainingPolicies();
    const ts = 2 + 2 + 1 + 2;
    const inHistory = (x: ArrayLike<number>) => hs.some((h) => {
      for (let t = 0; t < h.length; t++) if (h.observations[2 * t] === x[0] && h.observations[2 * t + 1] === x[1]) return true;
      return false;
    });
    const r = new Rng(8);
    const tasks = new Set<number>();
    // query states no learner visited (an episode's start state is every run's)
    let offHistory = 0;
    for (let n = 0; n < 10; n++) {
      const b = data.sample(r, 4, 'train', false) as DptBatch;
      for (let i = 0; i < b.B; i++) {
        const tok = b.tokens.subarray(i * b.T * ts, i * b.T * ts + ts);
        // the context is not a learner's run, nor (but for start states) the query state: both are the model's play
        expect(hs.every((h) => stepOf(h, tok) < 0)).toBe(true);
        const q = b.queries.subarray(2 * i, 2 * i + 2);
        if (!inHistory(q)) offHistory++;
        // labelled by one training task's final policy
        const label = [b.labels[2 * i], b.labels[2 * i + 1]];
        const task = train.findIndex((_, k) => greedy(k, q).every((v, c) => v === label[c]));
        expect(task, `sample ${i}`).toBeGreaterThanOrEqual(0);
        tasks.add(task);
      }
    }
    expect(tasks.size).toBeGreaterThan(1);
    expect(offHistory).toBeGreaterThan(30);
    // validation samples stay the learners' own; the same seed plays and draws the same; a fraction mixes both kinds
    await expectOwnValidationSameSeedAndMix(data, (f) => selfCfg(f));
    // clear errors: no such model, not with query: run
    await expect(buildTrainingData(selfCfg(1, join(dir, 'nowhere')), '.', new Rng(0), () => {})).rejects.toThrow(/selfPlay\.checkpoint.*no such directory/);
    expect(() => parseTrainConfig({ ...config('run'), data: { ...config('run').data, dpt: { ...config('run').data.dpt!, selfPlay: { checkpoint: player, episodes: 2, fraction: 1 } } } })).toThrow(/selfPlay.*query: pool/);
    // queries: pool: the context is still the model's play, every query state one of the learners' histories
    const poolCfg = parseTrainConfig({ ...config('pool'), data: { ...config('pool').data, dpt: { ...config('pool').data.dpt!, selfPlay: { checkpoint: player, episodes: 2, runs: 2, fraction: 1, queries: 'pool' } } } });
    const poolData = await buildTrainingData(poolCfg, '.', new Rng(0), () => {});
    expect(poolData.description).toMatch(/a window of 2 run\(s\)/);
    for (let n = 0; n < 10; n++) {
      const b = poolData.sample(r, 4, 'train', false) as DptBatch;
      for (let i = 0; i < b.B; i++) {
        expect(hs.every((h) => stepOf(h, b.tokens.subarray(i * b.T * ts, i * b.T * ts + ts)) < 0)).toBe(true);
        const q = b.queries.subarray(2 * i, 2 * i + 2);
        expect(inHistory(q)).toBe(true);
        const label = [b.labels[2 * i], b.labels[2 * i + 1]];
        expect(train.findIndex((_, k) => greedy(k, q).every((v, c) => v === label[c]))).toBeGreaterThanOrEqual(0);
      }
    }
  }, 60_000);

  it("labels pool queries with a PPO collection's final policies too", async () => {
    const ppoOut = join(dir, 'ppo');
    const cfg = { kind: 'histories', family: 'point-robot', tasks: { count: 4, heldOut: 10, seed: 2 }, algorithm: { kind: 'ppo', numSteps: 25, numMinibatches: 1, updateEpochs: 1 }, steps: 100, numEnvs: 4, shardSize: 4, compression: 1, seed: 3, workers: 0 };
    await collect(collectConfigSchema.parse(cfg), { out: ppoOut, silent: true });
    const ppoHs: History[] = [];
    for (const { reader, groups } of await openHistoryCollection(ppoOut)) {
      for (const g of groups) ppoHs.push(reader.readHistory(g));
      reader.close();
    }
    const data = await buildTrainingData(config('pool', ppoOut), '.', new Rng(0), () => {});
    const policies = ppoHs.slice(0, 3).map((h) => loadPolicy(policyFile(ppoOut, h.taskIndex)));
    const ts = 2 + 2 + 1 + 2;
    const b = data.sample(new Rng(2), 4, 'train', false) as DptBatch;
    for (let i = 0; i < b.B; i++) {
      const tok = b.tokens.subarray(i * b.T * ts, i * b.T * ts + ts);
      const ctx = ppoHs.slice(0, 3).findIndex((h) => stepOf(h, tok) >= 0);
      expect(ctx).toBeGreaterThanOrEqual(0);
      const want = new Float32Array(2);
      policies[ctx].actGreedy(Float32Array.from(b.queries.subarray(2 * i, 2 * i + 2)), want);
      expect([b.labels[2 * i], b.labels[2 * i + 1]]).toEqual([...want]);
    }
  });
});
