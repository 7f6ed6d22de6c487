// Fuzzing the readers: with a fixed seed, N mutated variants (bit flips, random bytes, zeroed runs
// of up to 512 bytes, truncation, insertions, deletions, 0xff runs, copied blocks) of a DPT shard
// (read through its collection), a safetensors file, a collection manifest, a results.json (read and
// drawn as a report) and a YAML training config. Each variant is read in a worker thread under a
// timeout; it must read back identical to the original or fail with an error of the project (an
// IcrlError subclass), never with a raw TypeError / RangeError, never hang, and never read back
// different data. A mutated config may also be another valid config (a changed digit is a
// different setting, which no reader can tell); those are counted apart. N = 300 per file kind,
// ICRL_FUZZ_VARIANTS=N for more. The test prints the counts.
import { describe, expect, it } from 'vitest';
import { Worker } from 'node:worker_threads';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { Rng } from '../src/core/rng.js';
import { collect, collectConfigSchema } from '../src/data/collect.js';
import { encodeSafetensors } from '../src/nn/safetensors.js';
import { runEvaluation } from '../src/eval/run.js';

const N = Number(process.env.ICRL_FUZZ_VARIANTS ?? 300);
const TIMEOUT_MS = 15_000;

/** One mutation of `src`, drawn from `rng`. */
function mutate(src: Uint8Array, rng: Rng): Uint8Array {
  const b = Uint8Array.from(src);
  const n = b.length;
  const at = rng.int(n);
  switch (rng.int(8)) {
    case 0:
      b[at] ^= 1 << rng.int(8);
      return b;
    case 1:
      b[at] = rng.int(256);
      return b;
    case 2:
      b.fill(0, at, Math.min(n, at + 1 + rng.int(512)));
      return b;
    case 3:
      return b.subarray(0, at);
    case 4: {
      const ins = Uint8Array.from({ length: 1 + rng.int(16) }, () => rng.int(256));
      return Uint8Array.from([...b.subarray(0, at), ...ins, ...b.subarray(at)]);
    }
    case 5:
      return Uint8Array.from([...b.subarray(0, at), ...b.subarray(Math.min(n, at + 1 + rng.int(16)))]);
    case 6:
      b.fill(0xff, at, Math.min(n, at + 1 + rng.int(64)));
      return b;
    default: {
      const len = 1 + rng.int(256);
      const from = rng.int(n);
      b.set(src.subarray(from, Math.min(n, from + len)).subarray(0, Math.max(0, n - at)), at);
      return b;
    }
  }
}

type Outcome = string;

/** Reads each path in a worker of `kind`, restarting it after a hang; returns one outcome per path (index 0 is the reference). */
async function readAll(kind: string, paths: string[]): Promise<Outcome[]> {
  const out: Outcome[] = new Array(paths.length);
  let next = 0;
  while (next < paths.length) {
    const w = new Worker(new URL('./helpers/fuzzReader.js', import.meta.url), { workerData: { kind } });
    await new Promise<void>((res, rej) => {
      w.once('message', () => res());
      w.once('error', rej);
    });
    const hung = await new Promise<boolean>((res) => {
      let timer: NodeJS.Timeout;
      const send = () => {
        if (next >= paths.length) return res(false);
        timer = setTimeout(() => res(true), TIMEOUT_MS);
        w.postMessage({ i: next, path: paths[next], ref: next === 0 });
      };
      w.on('message', (m: { i: number; outcome: Outcome }) => {
        clearTimeout(timer);
        out[m.i] = m.outcome;
        next = m.i + 1;
        send();
      });
      w.on('error', (e) => {
        clearTimeout(timer);
        out[next] = `raw:worker crashed: ${e.message}`;
        next++;
        res(false);
      });
      send();
    });
    if (hung) {
      out[next] = 'hang';
      next++;
    }
    await w.terminate();
  }
  return out;
}

function tally(outcomes: Outcome[]): Record<string, number> {
  const t: Record<string, number> = {};
  for (const o of outcomes) {
    const k = o.startsWith('raw:') ? 'raw' : o;
    t[k] = (t[k] ?? 0) + 1;
  }
  return t;
}

describe('fuzz: mutated files read back identical or fail with a named error', () => {
  it(`${N} variants each of a DPT shard, a safetensors file, a manifest, a results.json and a YAML config`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'icrl-fuzz-'));
    try {
      // the originals
      const base = join(dir, 'collection');
      await collect(
        collectConfigSchema.parse({ kind: 'dpt', family: 'bandit', envOptions: { arms: 3 }, tasks: { count: 24, heldOut: 4 }, contextLength: 6, numEnvs: 8, shardSize: 24, workers: 0 }),
        { out: base, silent: true },
      );
      const rng = new Rng(20261202);
      const weights = encodeSafetensors(
        { 'embed.weight': { shape: [4, 8], data: Float32Array.from({ length: 32 }, (_, i) => Math.sin(i)) }, 'head.bias': { shape: [3], data: new Float32Array([0.5, -1, 2]) } },
        { format: 'icrl-model/1' },
      );
      writeFileSync(join(dir, 'weights.safetensors'), weights);
      const evalOut = join(dir, 'eval');
      await runEvaluation(
        { name: 'fuzz', env: { family: 'bandit', options: { arms: 3 } }, tasks: { heldOut: 4, seed: 0 }, online: { steps: 6, agents: [{ type: 'ucb' }], references: ['random'] }, offline: { sizes: [1, 2], agents: [{ type: 'lcb' }] }, out: evalOut },
        { progress: false, log: () => {} },
      );
      const config = stringify({
        name: 'fuzz-dpt',
        seed: 3,
        out: 'runs/fuzz',
        model: { kind: 'dpt', layers: 1, dModel: 8, heads: 2 },
        data: { family: 'bandit', envOptions: { arms: 3 }, split: { seed: 0, heldOut: 4, train: 64 }, dpt: { samples: 64, contextLength: 4 } },
        optim: { steps: 6, batchSize: 4, lr: 0.003, warmupSteps: 1 },
        eval: { every: 3, tasks: 4, steps: 5 },
      });
      writeFileSync(join(dir, 'config.yaml'), config);

      // the variants: files, or collection folders holding the mutated file
      const kinds: { kind: string; original: Uint8Array; place: (bytes: Uint8Array, k: number) => string }[] = [
        {
          kind: 'shard',
          original: readFileSync(join(base, 'shard-00000.h5')),
          place: (bytes, k) => {
            const d = join(dir, 'shard', String(k));
            mkdirSync(d, { recursive: true });
            cpSync(join(base, 'manifest.json'), join(d, 'manifest.json'));
            writeFileSync(join(d, 'shard-00000.h5'), bytes);
            return d;
          },
        },
        {
          kind: 'manifest',
          original: readFileSync(join(base, 'manifest.json')),
          place: (bytes, k) => {
            const d = join(dir, 'manifest', String(k));
            mkdirSync(d, { recursive: true });
            cpSync(join(base, 'shard-00000.h5'), join(d, 'shard-00000.h5'));
            writeFileSync(join(d, 'manifest.json'), bytes);
            return d;
          },
        },
        { kind: 'safetensors', original: weights, place: (bytes, k) => file('safetensors', k, 'w.safetensors', bytes) },
        { kind: 'results', original: readFileSync(join(evalOut, 'results.json')), place: (bytes, k) => file('results', k, 'results.json', bytes) },
        { kind: 'config', original: readFileSync(join(dir, 'config.yaml')), place: (bytes, k) => file('config', k, 'config.yaml', bytes) },
      ];
      function file(kind: string, k: number, name: string, bytes: Uint8Array): string {
        const d = join(dir, kind, String(k));
        mkdirSync(d, { recursive: true });
        writeFileSync(join(d, name), bytes);
        return join(d, name);
      }

      const lines: string[] = [];
      for (const { kind, original, place } of kinds) {
        const krng = rng.split(kind);
        const paths = [place(original, 0)];
        for (let k = 1; k <= N; k++) paths.push(place(mutate(original, krng), k));
        const outcomes = await readAll(kind, paths);
        expect(outcomes[0], `${kind}: the original`).toBe('identical');
        const variants = outcomes.slice(1);
        const t = tally(variants);
        lines.push(`fuzz: ${kind}: ${N} variants: ${Object.entries(t).sort().map(([k, v]) => `${k} ${v}`).join(', ')}`);
        const raw = variants.map((o, k) => [k + 1, o] as const).filter(([, o]) => o.startsWith('raw:'));
        expect(raw, `${kind}: raw errors`).toEqual([]);
        expect(t.hang ?? 0, `${kind}: hangs`).toBe(0);
        // a different read is silent corruption, except for a config, which may be another valid one
        const different = variants.map((o, k) => [k + 1, o] as const).filter(([, o]) => o === 'different').map(([k]) => k);
        if (kind !== 'config') expect(different, `${kind}: variants read back with different content (variant numbers)`).toEqual([]);
        expect((t.identical ?? 0) + Object.entries(t).filter(([k]) => k.startsWith('named:')).reduce((a, [, v]) => a + v, 0) + (kind === 'config' ? (t.different ?? 0) : 0)).toBe(N);
        rmSync(join(dir, kind), { recursive: true, force: true });
      }
      process.stdout.write(`${lines.join('\n')}\n`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 600_000);
});
