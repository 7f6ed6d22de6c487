import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32c } from '../src/core/tfevents.js';
import { MetricsWriter, trainFromConfig, createTrackers, parseTrainConfig, type TrainConfigInput } from '../src/train/index.js';
import { UnknownNameError } from '../src/core/errors.js';
import { runEvaluation } from '../src/eval/run.js';
import type { BanditSummary } from '../src/eval/metrics.js';
import { trackResults } from '../src/experiments/trackResults.js';

/**
 * An independent reader of TensorBoard event files: TFRecord framing with both CRCs checked (by a
 * bitwise CRC-32C, not the table of the writer), then the Event / Summary protocol buffers decoded
 * field by field.
 */
function crcBitwise(b: Uint8Array): number {
  let c = ~0 >>> 0;
  for (const x of b) {
    c ^= x;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0x82f63b78 & -(c & 1));
  }
  return (~c) >>> 0;
}
const mask = (c: number) => ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0;

interface Event {
  wallTime?: number;
  step: number;
  fileVersion?: string;
  values: { tag: string; value: number }[];
}

function readVarint(b: Uint8Array, p: { i: number }): number {
  let v = 0;
  let mul = 1;
  for (;;) {
    const x = b[p.i++];
    v += (x & 0x7f) * mul;
    if (x < 0x80) return v;
    mul *= 128;
  }
}

/** Fields of one protobuf message: [field, wire, value (number or bytes)]. */
function fields(b: Uint8Array): [number, number, number | Uint8Array][] {
  const out: [number, number, number | Uint8Array][] = [];
  const p = { i: 0 };
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  while (p.i < b.length) {
    const key = readVarint(b, p);
    const f = Math.floor(key / 8);
    const w = key % 8;
    if (w === 0) out.push([f, w, readVarint(b, p)]);
    else if (w === 1) {
      out.push([f, w, dv.getFloat64(p.i, true)]);
      p.i += 8;
    } else if (w === 5) {
      out.push([f, w, dv.getFloat32(p.i, true)]);
      p.i += 4;
    } else if (w === 2) {
      const n = readVarint(b, p);
      out.push([f, w, b.subarray(p.i, p.i + n)]);
      p.i += n;
    } else throw new Error(`wire type ${w}`);
  }
  return out;
}

function readEvents(file: string): Event[] {
  const buf = new Uint8Array(readFileSync(file));
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const events: Event[] = [];
  let o = 0;
  while (o < buf.length) {
    const len = Number(dv.getBigUint64(o, true));
    expect(dv.getUint32(o + 8, true)).toBe(mask(crcBitwise(buf.subarray(o, o + 8))));
    const data = buf.subarray(o + 12, o + 12 + len);
    expect(dv.getUint32(o + 12 + len, true)).toBe(mask(crcBitwise(data)));
    o += 16 + len;
    const ev: Event = { step: 0, values: [] };
    for (const [f, , v] of fields(data)) {
      if (f === 1) ev.wallTime = v as number;
      else if (f === 2) ev.step = v as number;
      else if (f === 3) ev.fileVersion = new TextDecoder().decode(v as Uint8Array);
      else if (f === 5) {
        for (const [sf, , sv] of fields(v as Uint8Array)) {
          expect(sf).toBe(1);
          let tag = '';
          let value = NaN;
          for (const [vf, vw, vv] of fields(sv as Uint8Array)) {
            if (vf === 1) tag = new TextDecoder().decode(vv as Uint8Array);
            if (vf === 2) {
              expect(vw).toBe(5); // simple_value is a float
              value = vv as number;
            }
          }
          ev.values.push({ tag, value });
        }
      }
    }
    events.push(ev);
  }
  expect(o).toBe(buf.length);
  return events;
}

function eventFiles(dir: string): string[] {
  return readdirSync(dir).filter((f) => f.startsWith('events.out.tfevents.')).map((f) => join(dir, f));
}

describe('TensorBoard tracker', () => {
  it('CRC-32C matches the published check value', () => {
    expect(crc32c(new TextEncoder().encode('123456789'))).toBe(0xe3069283);
    expect(crcBitwise(new TextEncoder().encode('123456789'))).toBe(0xe3069283);
  });

  it('writes records a reader decodes; a resumed run rewrites the file from the kept metrics', () => {
    const dir = mkdtempSync(join(tmpdir(), 'icrl-tb-'));
    try {
      const sinks = createTrackers([{ type: 'tensorboard' }], { outDir: dir, runName: 'x' });
      const w = new MetricsWriter(join(dir, 'metrics.jsonl'), sinks);
      w.resetTo(0);
      w.write({ kind: 'config', step: 0, name: 'x' });
      w.write({ kind: 'train', step: 10, loss: 1.25, lr: 0.001 });
      const bytes = w.bytes;
      w.write({ kind: 'train', step: 20, loss: 0.5, lr: 0.002 });
      w.write({ kind: 'eval', step: 20, agent: 'dpt', valLoss: 0.75, meanRegret: 3.5, returns: [1, 2] });
      const files = eventFiles(join(dir, 'tensorboard'));
      expect(files.length).toBe(1);
      const ev = readEvents(files[0]);
      expect(ev[0].fileVersion).toBe('brain.Event:2');
      expect(ev[0].wallTime).toBeGreaterThan(1.5e9);
      expect(ev.slice(1).map((e) => e.step)).toEqual([10, 20, 20]);
      expect(ev[1].values).toEqual([{ tag: 'train/loss', value: 1.25 }, { tag: 'train/lr', value: Math.fround(0.001) }]);
      expect(ev[3].values.map((v) => v.tag)).toEqual(['eval/dpt/valLoss', 'eval/dpt/meanRegret', 'eval/dpt/returns/episode_1', 'eval/dpt/returns/episode_2']);
      // resume at the first checkpoint: steps after it are gone from both files
      const w2 = new MetricsWriter(join(dir, 'metrics.jsonl'), createTrackers([{ type: 'tensorboard' }], { outDir: dir, runName: 'x' }));
      w2.resetTo(bytes);
      w2.write({ kind: 'train', step: 20, loss: 0.25, lr: 0.002 });
      const after = eventFiles(join(dir, 'tensorboard'));
      expect(after.length).toBe(1);
      const ev2 = readEvents(after[0]);
      expect(ev2.slice(1).map((e) => [e.step, e.values[0].value])).toEqual([
        [10, 1.25],
        [20, 0.25],
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an unknown tracker or option is refused by name (Weights & Biases is not a tracker)', () => {
    expect(() => createTrackers([{ type: 'wandb' }], { outDir: '.', runName: 'x' })).toThrow(UnknownNameError);
    expect(() => createTrackers([{ type: 'tensorboard', logdir: 'x' }], { outDir: '.', runName: 'x' }, 'cfg: trackers')).toThrow(/cfg: trackers\[0\] \(tensorboard\)[^]*logdir: unknown key/);
  });

  it('a training run with trackers: [tensorboard] logs its loss and held-out evaluations', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'icrl-tbtrain-'));
    try {
      const cfg: TrainConfigInput = {
        name: 'tb',
        seed: 1,
        out: join(dir, 'run'),
        model: { kind: 'dpt', layers: 1, dModel: 8, heads: 2 },
        data: { family: 'bandit', envOptions: { arms: 3 }, split: { seed: 0, heldOut: 4, train: 64 }, validationFraction: 0.1, dpt: { samples: 64, contextLength: 6 } },
        optim: { steps: 6, batchSize: 4, lr: 3e-3, warmupSteps: 1 },
        eval: { every: 3, tasks: 4, steps: 6 },
        logEvery: 2,
        checkpointEvery: 3,
        trackers: [{ type: 'tensorboard' }],
      };
      await trainFromConfig(parseTrainConfig(cfg), { progressBar: false });
      const files = eventFiles(join(dir, 'run', 'tensorboard'));
      expect(files.length).toBe(1);
      const ev = readEvents(files[0]);
      const tags = new Set(ev.flatMap((e) => e.values.map((v) => v.tag)));
      expect(tags.has('train/loss')).toBe(true);
      expect([...tags].some((t) => /^eval\/.+\/meanRegret$/.test(t))).toBe(true);
      expect(ev.filter((e) => e.values.some((v) => v.tag === 'train/loss')).map((e) => e.step)).toEqual([2, 4, 6]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  // Debian has no python3-tensorboard: ICRL_TENSORBOARD_PYTHON may name a Python that has it
  it('an evaluation\'s curves go to TensorBoard with the curve\'s x as the step (icrl eval --tracker)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'icrl-tbeval-'));
    try {
      const { results } = await runEvaluation(
        { name: 'e', env: { family: 'bandit', options: { arms: 3 } }, tasks: { heldOut: 4 }, online: { steps: 12, agents: [{ type: 'ucb' }], references: [] }, offline: { sizes: [1, 10], agents: [{ type: 'lcb' }] } },
        { write: false, progress: false, log: () => {} },
      );
      trackResults(results, createTrackers([{ type: 'tensorboard' }], { outDir: dir, runName: 'e' }));
      const ev = readEvents(eventFiles(join(dir, 'tensorboard'))[0]);
      const series = (tag: string) => ev.flatMap((e) => e.values.filter((v) => v.tag === tag).map((v) => [e.step, v.value]));
      const s = results.online!.agents[0].summary as BanditSummary;
      expect(series('online/ucb/cumRegret')).toEqual(s.cumRegret.mean.map((m, t) => [t + 1, Math.fround(m)]));
      expect(series('offline/lcb/suboptimality').map(([n]) => n)).toEqual([1, 10]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const py = process.env.ICRL_TENSORBOARD_PYTHON ?? '/usr/bin/python3';
  const haveTb = existsSync(py) && spawnSync(py, ['-c', 'import tensorboard'], { encoding: 'utf8' }).status === 0;
  it.skipIf(!haveTb)('TensorBoard itself reads the file (when a Python with tensorboard is there)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'icrl-tbpy-'));
    try {
      const w = new MetricsWriter(join(dir, 'metrics.jsonl'), createTrackers([{ type: 'tensorboard' }], { outDir: dir, runName: 'x' }));
      w.resetTo(0);
      w.write({ kind: 'train', step: 3, loss: 0.5 });
      const code = `from tensorboard.backend.event_processing.event_accumulator import EventAccumulator as E\na=E(${JSON.stringify(join(dir, 'tensorboard'))});a.Reload();print([(s.step,s.value) for s in a.Scalars('train/loss')])`;
      const r = spawnSync(py, ['-c', code], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout.trim()).toBe('[(3, 0.5)]');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
