// Fault injection: `icrl collect`, `icrl train` and `icrl eval` on tiny configs are killed with
// SIGKILL at rename points of their atomic writes (the ICRL_FAULT_RENAME hook of src/core/atomic.ts),
// rerun, and compared with an uninterrupted run: the same outputs (timings aside), no temporary
// file and no lock left. The default suite kills at four rename points per command, spread from the
// first to the last; ICRL_SLOW=1 kills at every rename point, just before and just after it.
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { stringify } from 'yaml';
import { isAtomicTemp, LOCK_FILE } from '../src/core/index.js';
import { decodeSafetensors } from '../src/nn/safetensors.js';
import { h5ready } from '../src/data/h5.js';
import { readDpt } from '../src/data/store.js';

const root = join(import.meta.dirname, '..');
const cli = join(root, 'bin', 'icrl.js');
const SLOW = Boolean(process.env.ICRL_SLOW);

interface Run {
  status: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

function icrl(cwd: string, args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((res) => {
    const child = spawn(process.execPath, [cli, ...args, '--no-progress'], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += String(d)));
    child.on('exit', (status, signal) => res({ status, signal, stderr }));
  });
}

/** Runs `jobs` at most `n` at a time. */
async function pool<T>(n: number, jobs: (() => Promise<T>)[]): Promise<T[]> {
  const out: T[] = new Array(jobs.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, jobs.length) }, async () => {
      while (next < jobs.length) {
        const k = next++;
        out[k] = await jobs[k]();
      }
    }),
  );
  return out;
}

/** Every file and folder under `dir` (relative paths). */
function walk(dir: string, base = dir): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    out.push(relative(base, p));
    if (statSync(p).isDirectory()) out.push(...walk(p, base));
  }
  return out;
}

function leftovers(dir: string): string[] {
  return walk(dir).filter((p) => isAtomicTemp(p.split('/').pop()!) || p.endsWith(LOCK_FILE));
}

const json = (f: string) => JSON.parse(readFileSync(f, 'utf8'));

/** What must be identical after a kill and a rerun (timings and provenance removed). */
const OUTPUTS: Record<string, (dir: string) => Promise<unknown> | unknown> = {
  async collect(dir) {
    await h5ready();
    const m = json(join(dir, 'manifest.json'));
    // HDF5 files carry their write time, so shards are compared by their data
    const shards = Object.values(m.shards as Record<string, { file: string; bytes: number; sha256: string }>).map((s) => {
      const { ds, tasks } = readDpt(join(dir, s.file));
      return { file: s.file, tasks, data: Object.fromEntries(Object.entries(ds).map(([k, v]) => [k, ArrayBuffer.isView(v) ? Array.from(v as Float32Array) : v])) };
    });
    for (const s of Object.values(m.shards as Record<string, Record<string, unknown>>)) {
      delete s.bytes;
      delete s.sha256;
    }
    return { manifest: m, tasks: json(join(dir, 'tasks.json')), shards };
  },
  train(dir) {
    const lines = readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => {
        const { tokensPerSecond: _t, seconds: _s, provenance: _p, ...rest } = JSON.parse(l);
        return rest;
      });
    const { trainSeconds: _t, resumedFrom: _r, evals, ...result } = json(join(dir, 'result.json'));
    const model = decodeSafetensors(readFileSync(join(dir, 'model', 'model.safetensors')));
    return {
      lines,
      result: { ...result, evals: (evals as Record<string, unknown>[]).map(({ seconds: _s, ...e }) => e) },
      model: [...model.tensors].map(([k, t]) => [k, t.shape, Array.from(t.data)]),
      spec: json(join(dir, 'model', 'config.json')).model,
    };
  },
  eval(dir) {
    const { elapsedSeconds: _e, provenance: _p, sha256: _d, ...r } = json(join(dir, 'results.json'));
    for (const a of r.online?.agents ?? []) delete a.summary.wallSeconds;
    expect(existsSync(join(dir, 'report.html'))).toBe(true);
    return r;
  },
};

function configs(dir: string): Record<string, string[]> {
  writeFileSync(
    join(dir, 'train.yaml'),
    stringify({
      name: 'tiny-dpt',
      seed: 3,
      out: 'out',
      model: { kind: 'dpt', layers: 1, dModel: 8, heads: 2 },
      data: { family: 'bandit', envOptions: { arms: 3 }, split: { seed: 0, heldOut: 4, train: 64 }, validationFraction: 0.1, dpt: { samples: 64, contextLength: 4 } },
      optim: { steps: 6, batchSize: 4, lr: 0.003, warmupSteps: 1 },
      eval: { every: 3, tasks: 4, steps: 5 },
      logEvery: 1,
      checkpointEvery: 3,
    }),
  );
  writeFileSync(join(dir, 'collect.yaml'), stringify({ kind: 'dpt', family: 'bandit', envOptions: { arms: 3 }, tasks: { count: 6, heldOut: 4 }, contextLength: 4, numEnvs: 4, shardSize: 3, workers: 0, out: 'out' }));
  writeFileSync(
    join(dir, 'eval.yaml'),
    stringify({
      name: 'ev',
      env: { family: 'bandit', options: { arms: 3 } },
      tasks: { heldOut: 4, seed: 0 },
      online: { steps: 5, agents: [{ type: 'ucb' }, { type: 'greedy' }], references: ['random'] },
      offline: { sizes: [1, 3], agents: [{ type: 'lcb' }] },
      out: 'out',
    }),
  );
  return { collect: ['collect', '../collect.yaml'], train: ['train', '../train.yaml'], eval: ['eval', '../eval.yaml'] };
}

/** Kill points: four spread over [1, R] before the rename (default), or all, before and after (ICRL_SLOW). */
function points(R: number): string[] {
  if (SLOW) return Array.from({ length: R }, (_, i) => [`${i + 1}`, `${i + 1}:after`]).flat();
  const ks = [...new Set([1, Math.round(1 + (R - 1) / 3), Math.round(1 + (2 * (R - 1)) / 3), R])];
  return ks.map(String);
}

describe('fault injection: SIGKILL at rename points, then a rerun', () => {
  for (const command of ['collect', 'train', 'eval'] as const) {
    it(`icrl ${command} ends as an uninterrupted run, with no temporary file or lock left`, async () => {
      const dir = mkdtempSync(join(tmpdir(), `icrl-faults-${command}-`));
      try {
        const args = configs(dir)[command];
        // the uninterrupted run, tracing its renames
        const ref = join(dir, 'ref');
        const trace = join(dir, 'trace.txt');
        const { mkdirSync } = await import('node:fs');
        mkdirSync(ref);
        const r0 = await icrl(ref, args, { ICRL_FAULT_TRACE: trace });
        expect(r0.status, r0.stderr).toBe(0);
        const R = readFileSync(trace, 'utf8').trim().split('\n').length;
        expect(R).toBeGreaterThanOrEqual(6);
        const want = await OUTPUTS[command](join(ref, 'out'));
        const kills = points(R);
        const outcomes = await pool(
          3,
          kills.map((k) => async () => {
            const d = join(dir, `kill-${k.replace(':', '-')}`);
            mkdirSync(d);
            const killed = await icrl(d, args, { ICRL_FAULT_RENAME: k });
            const again = await icrl(d, args);
            return { k, killed, again, d };
          }),
        );
        for (const { k, killed, again, d } of outcomes) {
          expect(killed.signal, `kill at rename ${k}: ${killed.stderr}`).toBe('SIGKILL');
          expect(again.status, `rerun after a kill at rename ${k}: ${again.stderr}`).toBe(0);
          expect(again.stderr).not.toMatch(/\n\s+at /);
          expect(leftovers(d), `kill at rename ${k}`).toEqual([]);
          expect(await OUTPUTS[command](join(d, 'out')), `kill at rename ${k} of ${R}`).toEqual(want);
        }
        process.stdout.write(`faults: icrl ${command}: ${kills.length} kills at renames ${kills.join(', ')} of ${R}: every rerun identical to the uninterrupted run\n`);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }, 240_000);
  }
});
