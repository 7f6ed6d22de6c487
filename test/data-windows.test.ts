import { describe, expect, it, beforeAll, vi } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../src/core/rng.js';
import { ConfigError } from '../src/core/errors.js';
import { h5ready } from '../src/data/h5.js';
import { HistoryReader } from '../src/data/store.js';
import { HistoryWindows } from '../src/data/windows.js';
import { collect, collectConfigSchema, openHistoryCollection } from '../src/data/collect.js';
import { buildTrainingData, parseTrainConfig, trainFromConfig, type AdBatch, type TrainConfigInput } from '../src/train/index.js';

// Histories longer than one HDF5 chunk (4,096 steps) so that windows cross chunk boundaries.
const STEPS = 4500;
const HORIZON = 10;
const envOptions = { size: 4, horizon: HORIZON };

/** Index of the first element where two arrays differ (-1: none); toEqual on 10^5-element typed arrays is slow. */
function firstDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

describe('AD training windows streamed from the history store (data.ad.read: stream)', () => {
  let dir: string;
  let data: string;
  beforeAll(async () => {
    await h5ready();
    dir = mkdtempSync(join(tmpdir(), 'icrl-windows-'));
    data = join(dir, 'hist');
    const config = collectConfigSchema.parse({
      kind: 'histories',
      family: 'darkroom',
      envOptions,
      tasks: { count: 6, split: 'train', heldOut: 4, seed: 0 },
      algorithm: { kind: 'rmax' },
      steps: STEPS,
      historiesPerTask: 2,
      numEnvs: 6,
      shardSize: 4,
      workers: 0,
      seed: 3,
    });
    await collect(config, { out: data, silent: true });
    return () => rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  function cfg(read: 'memory' | 'stream', windowEpisodes: number, extra: Record<string, unknown> = {}): TrainConfigInput {
    return {
      name: `windows-${read}`,
      seed: 1,
      out: join(dir, `run-${read}`),
      model: { kind: 'ad', backbone: 'ssm', layers: 1, dModel: 16, heads: 2 },
      data: { family: 'darkroom', envOptions, split: { seed: 0, heldOut: 4 }, validationFraction: 0.2, ad: { collection: data, windowEpisodes, read } },
      optim: { steps: 2, batchSize: 4, lr: 1e-3 },
      eval: { every: 0, tasks: 2, episodes: 2 },
      logEvery: 1,
      checkpointEvery: 2,
      ...extra,
    };
  }

  it('draws the same batches as the in-memory path, reading only the drawn windows from the shards', async () => {
    const L = 420 * HORIZON; // 4,200 steps: most windows cross the chunk boundary at step 4,096
    const mem = await buildTrainingData(parseTrainConfig(cfg('memory', 420)), dir, new Rng(0), () => {});
    const reads: { start: number; stop: number; runs: number }[] = [];
    const original = HistoryReader.prototype.read;
    const spy = vi.spyOn(HistoryReader.prototype, 'read').mockImplementation(function (this: HistoryReader, ...args: Parameters<HistoryReader['read']>) {
      const o = args[1] ?? {};
      reads.push({ start: o.start ?? 0, stop: o.stop ?? STEPS, runs: (o.h1 ?? 2) - (o.h0 ?? 0) });
      return original.apply(this, args);
    });
    const logs: string[] = [];
    const str = await buildTrainingData(parseTrainConfig(cfg('stream', 420)), dir, new Rng(0), (l) => logs.push(l));
    try {
      expect(reads).toEqual([]); // indexing reads metadata (and rewards for the log line) only
      expect(logs.join('\n')).toMatch(/indexed 12 learning histories of 4500 steps/);
      expect(str.description).toMatch(/streamed from/);
      expect([str.numTrainTasks, str.numValTasks, str.contextLength]).toEqual([mem.numTrainTasks, mem.numValTasks, mem.contextLength]);
      for (const [split, paired] of [['train', false], ['train', true], ['val', false]] as const) {
        for (let k = 0; k < 3; k++) {
          const a = mem.sample(new Rng(10 + k), 4, split, paired) as AdBatch;
          const b = str.sample(new Rng(10 + k), 4, split, paired) as AdBatch;
          expect(b.T).toBe(L);
          expect(b.tokens.length).toBe(a.tokens.length);
          expect(firstDifference(b.tokens, a.tokens)).toBe(-1);
          expect(firstDifference(b.targets, a.targets)).toBe(-1);
        }
      }
      // every read is one run and at most the window plus the step before it
      expect(reads.length).toBe(9 * 4);
      for (const r of reads) {
        expect(r.runs).toBe(1);
        expect(r.stop - r.start).toBeLessThanOrEqual(L + 1);
        expect(r.stop - r.start).toBeGreaterThanOrEqual(L);
      }
      expect(reads.some((r) => r.start > 0)).toBe(true); // windows not at a stream's start carry the previous step
    } finally {
      spy.mockRestore();
      str.close?.();
    }
  });

  it('trains from the store, and names the field of a stream without collection or a window longer than the histories', async () => {
    const lines: string[] = [];
    const res = await trainFromConfig(cfg('stream', 20) as never, { log: (l: string) => lines.push(l), progressBar: false });
    expect(res.steps).toBe(2);
    expect(lines.join('\n')).toMatch(/windows of 20 episodes = 200 steps read from the store per batch/);

    const noColl = cfg('stream', 20);
    noColl.data = { ...noColl.data, ad: { source: { kind: 'rmax' }, episodes: 30, windowEpisodes: 20, read: 'stream' } };
    expect(() => parseTrainConfig(noColl)).toThrow(/data\.ad\.read: stream reads the windows from the store: it needs data\.ad\.collection/);

    const lhf = cfg('stream', 20);
    lhf.data = { ...lhf.data, ad: { collection: data, windowEpisodes: 20, read: 'stream', lhf: { mode: 'filter' } } };
    expect(() => parseTrainConfig(lhf)).toThrow(/data\.ad\.lhf: LHF scores whole histories in memory/);

    const long = cfg('stream', 451, { out: join(dir, 'run-long') });
    await expect(trainFromConfig(long as never, { progressBar: false })).rejects.toThrow(ConfigError);
    await expect(trainFromConfig(long as never, { progressBar: false })).rejects.toThrow(/data\.ad\.windowEpisodes x horizon \(4510 steps\) exceeds the collected histories \(4500 steps in .*shard-00000\.h5, group "0"\)/);
  });

  it('indexes groups by task then run, and refuses a window outside its stream naming the file and group', async () => {
    const w = HistoryWindows.index(await openHistoryCollection(data));
    try {
      expect(w.streams.map((s) => `${s.taskIndex}:${s.run}`)).toEqual(Array.from({ length: 12 }, (_, i) => `${i >> 1}:${i & 1}`));
      expect(w.taskIndices()).toEqual([0, 1, 2, 3, 4, 5]);
      expect(w.subset((t) => t >= 4).streams.length).toBe(4);
      const x = w.window(3, 0, 50);
      expect([x.offset, x.hasPrev, x.rewards.length]).toEqual([0, false, 50]);
      const y = w.window(3, 100, 50);
      expect([y.offset, y.hasPrev, y.rewards.length]).toEqual([1, true, 51]);
      expect(y.observations.length).toBe(51 * w.obsDim);
      expect(() => w.window(3, STEPS - 10, 50)).toThrow(/shard-00000\.h5: group "1" run 1: window \[4490, 4540\) outside its 4500 steps/);
    } finally {
      w.close();
    }
  });
});
