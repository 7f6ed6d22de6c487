import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { h5ready, halfToFloat, floatToHalf } from '../src/data/h5.js';
import { HistoryReader, writeHistories, writeXLand, iterateWindows, type History } from '../src/data/store.js';
import { Rng } from '../src/core/rng.js';
import { CorruptFileError } from '../src/core/errors.js';

const here = dirname(fileURLToPath(import.meta.url));
const fixture = join(here, 'fixtures', 'xland-tiny.h5');

function randomHistory(rng: Rng, taskIndex: number, opts: { N: number; T: number; obsDim: number; numActions: number; numStates: number; actDim?: number }): History {
  const { N, T, obsDim, numActions, numStates } = opts;
  const actDim = opts.actDim ?? 0;
  const nt = N * T;
  const observations = rng.fillNormal(new Float32Array(nt * obsDim)) as Float32Array;
  const actions = actDim > 0 ? (rng.fillUniform(new Float32Array(nt * actDim)) as Float32Array) : Int32Array.from({ length: nt }, () => rng.int(numActions));
  const rewards = rng.fillNormal(new Float32Array(nt)) as Float32Array;
  const dones = Uint8Array.from({ length: nt }, () => rng.bernoulli(0.1));
  return {
    task: { family: 'darkroom', params: { goal: [taskIndex % 10, 3] } },
    taskIndex,
    seed: 1000 + taskIndex,
    algorithm: { kind: 'q-learning', epsilon: 0.1 },
    numHistories: N,
    length: T,
    obsDim,
    numActions: actDim > 0 ? 0 : numActions,
    actDim,
    numStates,
    horizon: 100,
    observations,
    states: numStates > 0 ? Int32Array.from({ length: nt }, () => rng.int(numStates)) : undefined,
    actions,
    rewards,
    dones,
    expertActions: actDim > 0 ? undefined : Int32Array.from({ length: nt }, () => rng.int(numActions)),
  };
}

let dir: string;
beforeAll(async () => {
  await h5ready();
  dir = mkdtempSync(join(tmpdir(), 'icrl-data-'));
  return () => rmSync(dir, { recursive: true, force: true });
});

describe('float16', () => {
  it('round-trips every finite half value', () => {
    for (let h = 0; h < 0x7c00; h += 7) {
      expect(floatToHalf(halfToFloat(h))).toBe(h);
      expect(floatToHalf(-halfToFloat(h))).toBe(h | 0x8000);
    }
    expect(halfToFloat(0x3c00)).toBe(1);
    expect(halfToFloat(0xc000)).toBe(-2);
  });
});

describe('history store', () => {
  it('round-trips histories exactly (discrete, continuous, several histories per task, multi-chunk)', () => {
    const rng = new Rng(7);
    const hs = [
      randomHistory(rng, 0, { N: 1, T: 5000, obsDim: 2, numActions: 5, numStates: 100 }),
      randomHistory(rng, 1, { N: 3, T: 37, obsDim: 5, numActions: 300, numStates: 0 }),
      randomHistory(rng, 2, { N: 2, T: 50, obsDim: 4, numActions: 0, numStates: 0, actDim: 2 }),
    ];
    const file = join(dir, 'rt.h5');
    writeHistories(file, hs);
    const r = new HistoryReader(file);
    expect(r.groups()).toEqual(['0', '1', '2']);
    for (const h of hs) {
      const back = r.readHistory(String(h.taskIndex));
      expect(back).toEqual(h);
    }
    // streaming windows reassemble the same arrays
    const parts: Float32Array[] = [];
    for (const w of iterateWindows(r, '0', 1234)) parts.push(w.rewards);
    const joined = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
    let o = 0;
    for (const p of parts) {
      joined.set(p, o);
      o += p.length;
    }
    expect(joined).toEqual(hs[0].rewards);
    // a slice of histories x steps
    const s = r.read('1', { h0: 1, h1: 3, start: 10, stop: 20 });
    expect(s.numHistories).toBe(2);
    expect(s.length).toBe(10);
    expect(Array.from(s.actions)).toEqual([...Array.from(hs[1].actions.subarray(37 + 10, 37 + 20)), ...Array.from(hs[1].actions.subarray(74 + 10, 74 + 20))]);
    r.close();
  });

  it('reads the XLand-100B-layout fixture (written by h5py: float16 rewards, bool dones) exactly', () => {
    const r = new HistoryReader(fixture);
    expect(r.groups()).toEqual(['0', '1']);
    const N = 2;
    const T = 4100;
    for (const gi of [0, 1]) {
      const info = r.info(String(gi));
      expect(info.layout).toBe('xland');
      expect([info.numHistories, info.length, info.obsShape]).toEqual([N, T, [5, 5]]);
      const x = r.readXLand(String(gi));
      expect(x.rulesetId).toBe(100 + gi);
      expect(x.benchmarkId).toBe('trivial-1m');
      expect(x.envId).toBe('XLand-MiniGrid-R1-9x9');
      for (let n = 0; n < N; n++) {
        for (let t = 0; t < T; t++) {
          const k = n * T + t;
          if (x.actions[k] !== (n + 2 * t + gi) % 6) throw new Error(`actions[${n},${t}]`);
          const rew = halfToFloat(floatToHalf((t % 5) * 0.25 - 0.5 + n * 0.125));
          if (x.rewards[k] !== rew) throw new Error(`rewards[${n},${t}] = ${x.rewards[k]}, expected ${rew}`);
          if (x.dones[k] !== ((t + n) % 7 === 6 ? 1 : 0)) throw new Error(`dones[${n},${t}]`);
          if (x.expertActions[k] !== (3 * t + n) % 6) throw new Error(`expert_actions[${n},${t}]`);
          for (let i = 0; i < 5; i++) {
            for (let j = 0; j < 5; j++) {
              if (x.states[k * 25 + i * 5 + j] !== (n * 7 + t * 3 + i * 5 + j + gi) % 13) throw new Error(`states[${n},${t},${i},${j}]`);
            }
          }
        }
      }
      // streaming slice across the chunk boundary at 4096
      const s = r.read(String(gi), { start: 4090, stop: 4100, h0: 1, h1: 2 });
      expect(s.obsDim).toBe(25);
      expect(s.observations[0]).toBe((7 + 4090 * 3 + gi) % 13);
      expect(Array.from(s.dones)).toEqual(Array.from({ length: 10 }, (_, q) => ((4090 + q + 1) % 7 === 6 ? 1 : 0)));
    }
    r.close();
  });

  it('writes the XLand layout that its reader reads back', () => {
    const rng = new Rng(3);
    const N = 2;
    const T = 100;
    const g = {
      rulesetId: 42,
      benchmarkId: 'small-1m',
      envId: 'XLand-MiniGrid-R4-13x13',
      numHistories: N,
      length: T,
      states: Uint8Array.from({ length: N * T * 25 }, () => rng.int(256)),
      actions: Uint8Array.from({ length: N * T }, () => rng.int(6)),
      rewards: Float32Array.from({ length: N * T }, () => rng.uniform()),
      dones: Uint8Array.from({ length: N * T }, () => rng.bernoulli(0.05)),
      expertActions: Uint8Array.from({ length: N * T }, () => rng.int(6)),
    };
    const file = join(dir, 'xl.h5');
    writeXLand(file, [g]);
    const r = new HistoryReader(file);
    expect(r.readXLand('0')).toEqual(g);
    r.close();
  });

  it('names the file and the group for a truncated or corrupt file', () => {
    const rng = new Rng(11);
    const hs = [0, 1, 2].map((i) => randomHistory(rng, i, { N: 1, T: 3000, obsDim: 2, numActions: 5, numStates: 0 }));
    const file = join(dir, 'good.h5');
    writeHistories(file, hs);
    const bytes = readFileSync(file);
    // truncated: HDF5 refuses to open it; the error names the file and the groups it should hold
    const trunc = join(dir, 'trunc.h5');
    writeFileSync(trunc, bytes.subarray(0, Math.floor(bytes.length * 0.7)));
    expect(() => new HistoryReader(trunc, 'holds groups 0..2')).toThrow(CorruptFileError);
    expect(() => new HistoryReader(trunc, 'holds groups 0..2')).toThrow(/trunc\.h5.*truncated or corrupt.*holds groups 0\.\.2.*truncated file/);
    // corrupt: scramble bytes inside the (incompressible, so large) data of a group; reading it names
    // file, group and dataset
    const r0 = new HistoryReader(file);
    const clean = r0.read('2');
    r0.close();
    const bad = Buffer.from(bytes);
    for (let k = Math.floor(bytes.length * 0.3); k < Math.floor(bytes.length * 0.32); k++) bad[k] ^= 0xa5;
    const corrupt = join(dir, 'corrupt.h5');
    writeFileSync(corrupt, bad);
    let err: unknown = null;
    try {
      const r = new HistoryReader(corrupt);
      for (const gname of r.groups()) r.read(gname);
      r.close();
    } catch (e) {
      err = e;
    }
    expect(err, 'reading a scrambled file must fail').toBeInstanceOf(CorruptFileError);
    expect(String((err as Error).message)).toMatch(/corrupt\.h5: group "\d": dataset "\w+" steps 0\.\.3000: /);
    expect(clean.rewards.length).toBe(3000);
  });

  it('h5py opens our file and sees the layout', () => {
    const probe = spawnSync('/usr/bin/python3', ['-c', 'import h5py'], { encoding: 'utf8' });
    if (probe.status !== 0) {
      console.warn('SKIPPED: h5py is not installed for /usr/bin/python3 (apt-get install python3-h5py); CI installs it');
      return;
    }
    const rng = new Rng(5);
    const h = randomHistory(rng, 4, { N: 2, T: 5000, obsDim: 2, numActions: 5, numStates: 100 });
    const file = join(dir, 'py.h5');
    writeHistories(file, [h]);
    const script = `
import h5py, json, sys
f = h5py.File(sys.argv[1], 'r')
g = f['4']
out = {k: [str(g[k].dtype), list(g[k].shape), list(g[k].chunks), g[k].compression, g[k].compression_opts] for k in g}
out['attrs'] = {k: (v.item() if hasattr(v, 'item') else v) for k, v in g.attrs.items()}
out['sum_actions'] = int(g['actions'][:].astype('int64').sum())
out['obs_first'] = [float(x) for x in g['observations'][1, 4999]]
print(json.dumps(out))
`;
    const r = spawnSync('/usr/bin/python3', ['-c', script, file], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.observations).toEqual(['float32', [2, 5000, 2], [1, 4096, 2], 'gzip', 6]);
    expect(out.actions).toEqual(['uint8', [2, 5000], [1, 4096], 'gzip', 6]);
    expect(out.states).toEqual(['uint16', [2, 5000], [1, 4096], 'gzip', 6]);
    expect(out.rewards).toEqual(['float32', [2, 5000], [1, 4096], 'gzip', 6]);
    expect(out.dones).toEqual(['uint8', [2, 5000], [1, 4096], 'gzip', 6]);
    expect(out.expert_actions).toEqual(['uint8', [2, 5000], [1, 4096], 'gzip', 6]);
    expect(out.attrs['env-id']).toBe('darkroom');
    expect(out.attrs['task-index']).toBe(4);
    expect(out.attrs.seed).toBe(1004);
    expect(JSON.parse(out.attrs.task)).toEqual({ goal: [4, 3] });
    expect(JSON.parse(out.attrs['source-algorithm'])).toEqual({ kind: 'q-learning', epsilon: 0.1 });
    expect(out.sum_actions).toBe(Array.from(h.actions).reduce((a, b) => a + b, 0));
    expect(out.obs_first).toEqual(Array.from(h.observations.subarray((5000 + 4999) * 2, (5000 + 4999) * 2 + 2)));
  });
});
