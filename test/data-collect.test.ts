import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtempSync, writeFileSync, readFileSync, existsSync, rmSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn, spawnSync } from 'node:child_process';
import { h5ready } from '../src/data/h5.js';
import { collect, collectConfigSchema, loadDptCollection, openHistoryCollection, readManifest, loadCollectConfig, resolveTasks, type CollectConfig } from '../src/data/collect.js';
import { HistoryReader, readDpt } from '../src/data/store.js';
import { ConfigError } from '../src/core/errors.js';
import { AdSampler, buildAdDataset } from '../src/data/datasets.js';
// shipped configs name the deep learners (sac): their kinds and recorder register on import, as in the CLI
import '../src/rl/index.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
let dir: string;

beforeAll(async () => {
  await h5ready();
  dir = mkdtempSync(join(tmpdir(), 'icrl-collect-'));
  return () => rmSync(dir, { recursive: true, force: true });
});

function cfg(extra: Record<string, unknown>): CollectConfig {
  return collectConfigSchema.parse({
    kind: 'dpt',
    family: 'bandit',
    envOptions: { arms: 5, noiseSd: 0.3 },
    tasks: { count: 300, heldOut: 20, seed: 0 },
    contextLength: 50,
    numEnvs: 64,
    shardSize: 100,
    workers: 0,
    seed: 3,
    ...extra,
  });
}

describe('collect: DPT samples', () => {
  it('labels the optimal arm, uses the Dirichlet-mixture roll-in, and does not depend on the worker count', async () => {
    const a = await collect(cfg({}), { out: join(dir, 'dpt-a'), silent: true });
    expect(a.manifest.complete).toBe(true);
    expect(a.transitions).toBe(300 * 50);
    const ds = await loadDptCollection(join(dir, 'dpt-a'));
    expect(ds.numSamples).toBe(300);
    expect(Array.from(ds.taskIndex)).toEqual(Array.from({ length: 300 }, (_, i) => i));
    const tasks = JSON.parse(readFileSync(join(dir, 'dpt-a', 'tasks.json'), 'utf8')).tasks as { means: number[] }[];
    let bestShare = 0;
    for (let i = 0; i < 300; i++) {
      const m = tasks[i].means;
      expect(ds.optimalActions[i]).toBe(m.indexOf(Math.max(...m)));
      for (let t = 0; t < 50; t++) if (ds.contextActions[i * 50 + t] === ds.optimalActions[i]) bestShare += 1 / (300 * 50);
    }
    // optimal arm extra weight w in {0, 0.1, ..., 1}: E[share] = E[w] + E[1 - w] / 5 = 0.5 + 0.1 = 0.6
    expect(bestShare).toBeGreaterThan(0.55);
    expect(bestShare).toBeLessThan(0.65);
    // rewards are noisy means of the pulled arm
    let err = 0;
    for (let i = 0; i < 300; i++) for (let t = 0; t < 50; t++) err += (ds.contextRewards[i * 50 + t] - tasks[i].means[ds.contextActions[i * 50 + t]]) ** 2;
    expect(Math.sqrt(err / (300 * 50))).toBeCloseTo(0.3, 1);
    // the same collection computed in 2 worker threads (compiled code from dist/) is identical
    const b = await collect(cfg({ workers: 2 }), { out: join(dir, 'dpt-b'), silent: true, workerThreadsOnly: true });
    expect(b.manifest.complete).toBe(true);
    expect(b.computedByWorkers).toBe(3);
    expect(await loadDptCollection(join(dir, 'dpt-b'))).toEqual(ds);
  });

  it('rejects a bad config naming the file and field', () => {
    const f = join(dir, 'bad.yaml');
    writeFileSync(f, 'kind: dpt\nfamily: bandit\ntasks: { count: 10 }\ncontextLength: 5\nnumEnv: 3\n');
    expect(() => loadCollectConfig(f)).toThrow(ConfigError);
    expect(() => loadCollectConfig(f)).toThrow(/bad\.yaml[\s\S]*numEnv/);
    writeFileSync(f, 'kind: histories\nfamily: darkroom\ntasks: { count: 10 }\nsteps: 5\n');
    expect(() => loadCollectConfig(f)).toThrow(/algorithm: required/);
  });

  it('draws stratified training tasks of an infinite space, and refuses draw: stratified elsewhere', () => {
    const base = { kind: 'histories', family: 'point-robot', algorithm: { kind: 'random' }, steps: 5, numEnvs: 2, shardSize: 2, workers: 0 };
    const tasks = (t: Record<string, unknown>) => resolveTasks(collectConfigSchema.parse({ ...base, tasks: { count: 8, heldOut: 5, ...t } }));
    const strat = tasks({ draw: 'stratified' });
    expect(strat).toHaveLength(8);
    expect(strat).not.toEqual(tasks({}));
    expect(tasks({ draw: 'random' })).toEqual(tasks({}));
    expect(() => tasks({ draw: 'stratified', split: 'heldOut' })).toThrow(/tasks\.draw: stratified .* has split: heldOut/);
    expect(() => resolveTasks(collectConfigSchema.parse({ ...base, family: 'darkroom', algorithm: { kind: 'random' }, tasks: { count: 4, draw: 'stratified' } }))).toThrow(/darkroom is finite/);
  });
});

describe('collect: continuous actions (point-robot)', () => {
  it('writes DPT samples with float actions and oracle labels, and random-agent histories', async () => {
    const c = collectConfigSchema.parse({ kind: 'dpt', family: 'point-robot', tasks: { count: 30, heldOut: 5 }, contextLength: 20, numEnvs: 16, shardSize: 16, workers: 0 });
    await collect(c, { out: join(dir, 'pr-dpt'), silent: true });
    const ds = await loadDptCollection(join(dir, 'pr-dpt'));
    expect([ds.numSamples, ds.actDim, ds.contextActions.length, ds.optimalActions.length]).toEqual([30, 2, 30 * 20 * 2, 60]);
    for (const v of ds.contextActions) expect(Math.abs(v)).toBeLessThanOrEqual(Math.fround(0.1));
    // the oracle moves toward the goal on the upper half circle: never down by more than allowed
    for (let i = 0; i < 30; i++) expect(Math.hypot(ds.optimalActions[2 * i], ds.optimalActions[2 * i + 1])).toBeGreaterThan(0);
    const h = collectConfigSchema.parse({ kind: 'histories', family: 'point-robot', tasks: { count: 3, heldOut: 5 }, algorithm: { kind: 'random' }, steps: 50, numEnvs: 3, shardSize: 3, workers: 0 });
    await collect(h, { out: join(dir, 'pr-h'), silent: true });
    const [{ reader }] = await openHistoryCollection(join(dir, 'pr-h'));
    const x = reader.readHistory('2');
    expect([x.actDim, x.numActions, x.actions.length, x.expertActions!.length]).toEqual([2, 0, 100, 100]);
    expect(x.actions).toBeInstanceOf(Float32Array);
    reader.close();
  });
});

describe('collect: learning histories', () => {
  it('records whole Q-learning histories on Dark Room that improve over episodes', async () => {
    const c = collectConfigSchema.parse({
      kind: 'histories',
      family: 'darkroom',
      tasks: { count: 20, seed: 0 },
      algorithm: { kind: 'q-learning', initQ: 1, epsilon: 0.1, epsilonEnd: 0.01, epsilonDecaySteps: 3000 },
      steps: 6000,
      numEnvs: 10,
      shardSize: 10,
      workers: 0,
    });
    await collect(c, { out: join(dir, 'ad'), silent: true });
    const shards = await openHistoryCollection(join(dir, 'ad'));
    // the AD dataset builder reads the shards directly (streams = histories)
    const ad = buildAdDataset(shards);
    expect([ad.offsets.length - 1, ad.offsets[20], ad.obsDim, ad.numActions]).toEqual([20, 20 * 6000, 2, 5]);
    expect(new AdSampler(ad, 400, 1).sample(4).targets.length).toBe(1600);
    let first = 0;
    let last = 0;
    const seen: number[] = [];
    for (const { reader, groups } of shards) {
      for (const g of groups) {
        const h = reader.readHistory(g);
        seen.push(h.taskIndex);
        expect(h.length).toBe(6000);
        // dones every 100 steps (episode end by time limit)
        expect(h.dones.reduce((a, b) => a + b, 0)).toBe(60);
        // expert actions are the optimal moves; rewards only on the goal
        for (let t = 0; t < 100; t++) first += h.rewards[t];
        for (let t = 5900; t < 6000; t++) last += h.rewards[t];
      }
      reader.close();
    }
    expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(last / 20).toBeGreaterThan(first / 20 + 20);
    // a truncated shard: the error names the file and the groups it holds
    const shard = join(dir, 'ad', 'shard-00001.h5');
    const bytes = readFileSync(shard);
    writeFileSync(shard, bytes.subarray(0, bytes.length >> 1));
    // (the manifest's size and checksum catch it before HDF5 opens it)
    await expect(openHistoryCollection(join(dir, 'ad'))).rejects.toThrow(/shard-00001\.h5: size mismatch: expected \d+ bytes, found \d+ bytes/);
    expect(() => new HistoryReader(shard, 'shard of groups 10..19')).toThrow(/shard-00001\.h5: cannot open as HDF5 \(truncated or corrupt\); shard of groups 10\.\.19: truncated file/);
  });
});

describe('shipped collect configs', () => {
  it('all validate', () => {
    const files = readdirSync(join(root, 'configs')).filter((f) => f.startsWith('collect-'));
    expect(files.length).toBeGreaterThanOrEqual(6);
    for (const f of files) expect(() => loadCollectConfig(join(root, 'configs', f)), f).not.toThrow();
  });
});

describe('collect: resume after SIGKILL', () => {
  it('a killed run, started again, completes with every task exactly once and the same data', async () => {
    if (!existsSync(join(root, 'dist', 'cli', 'main.js'))) throw new Error('dist/ is not built (test/globalSetup.ts builds it)');
    const config = {
      kind: 'dpt',
      family: 'bandit',
      envOptions: { arms: 5, noiseSd: 0.3 },
      tasks: { count: 1200, heldOut: 20, seed: 1 },
      contextLength: 100,
      numEnvs: 60,
      shardSize: 60,
      workers: 2,
      seed: 5,
    };
    const file = join(dir, 'kill.json');
    writeFileSync(file, JSON.stringify(config));
    const out = join(dir, 'killed');
    const child = spawn(process.execPath, [join(root, 'bin', 'icrl.js'), 'collect', file, '--out', out, '--no-progress'], { stdio: 'ignore' });
    // wait until some shards are done, then kill -9 mid-run
    let doneAtKill = -1;
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
      let m = null;
      try {
        m = readManifest(out);
      } catch {
        // being renamed
      }
      if (m && Object.keys(m.shards).length >= 2) {
        child.kill('SIGKILL');
        doneAtKill = Object.keys(m.shards).length;
        break;
      }
    }
    await new Promise((r) => child.once('exit', r));
    expect(doneAtKill, 'the run must be killed after some shards').toBeGreaterThanOrEqual(2);
    const after = readManifest(out)!;
    expect(after.complete, 'killed before completion (make the test collection larger if this fails)').toBe(false);
    // resume by running the same command again
    const r = spawnSync(process.execPath, [join(root, 'bin', 'icrl.js'), 'collect', file, '--out', out, '--no-progress'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/error/i);
    const m = readManifest(out)!;
    expect(m.complete).toBe(true);
    expect(readdirSync(out).filter((f) => f.includes('.tmp'))).toEqual([]);
    // every task exactly once, across the shard files themselves
    const ids: number[] = [];
    for (const f of readdirSync(out).filter((x) => x.endsWith('.h5')).sort()) ids.push(...Array.from(readDpt(join(out, f)).ds.taskIndex));
    expect(ids.length).toBe(1200);
    expect([...ids].sort((a, b) => a - b)).toEqual(Array.from({ length: 1200 }, (_, i) => i));
    // and the data equal an uninterrupted run
    const ref = join(dir, 'reference');
    await collect(collectConfigSchema.parse({ ...config, workers: 0 }), { out: ref, silent: true });
    expect(await loadDptCollection(out)).toEqual(await loadDptCollection(ref));
  });
});

describe('collect: own only its files, verify shards on resume', () => {
  it('refuses a new collection into a folder with files it did not write; --force starts over and keeps them', async () => {
    const out = mkdtempSync(join(dir, 'foreign-'));
    const foreign = ['shard-7.h5.backup', 'thesis.tmp-draft.docx', 'manifest.json.old'];
    for (const f of foreign) writeFileSync(join(out, f), 'mine');
    await expect(collect(cfg({}), { out, silent: true })).rejects.toThrow(/holds files icrl collect did not write \(.*manifest\.json\.old.*\); collect into an empty or new folder, or pass --force/);
    const r = await collect(cfg({}), { out, silent: true, force: true });
    expect(r.manifest.complete).toBe(true);
    for (const f of foreign) expect(readFileSync(join(out, f), 'utf8')).toBe('mine');
    // a resumed run leaves them alone too
    await collect(cfg({}), { out, silent: true });
    for (const f of foreign) expect(existsSync(join(out, f))).toBe(true);
  });

  it('a listed shard that was deleted or truncated is computed again, to the same data', async () => {
    const out = join(dir, 'verify');
    const first = await collect(cfg({}), { out, silent: true });
    const s0 = first.manifest.shards['0'];
    expect(s0.bytes).toBeGreaterThan(0);
    expect(s0.sha256).toMatch(/^[0-9a-f]{64}$/);
    // HDF5 files carry write times, so the data is compared, not the bytes
    const data0 = readDpt(join(out, s0.file)).ds;
    const data2 = readDpt(join(out, first.manifest.shards['2'].file)).ds;
    const bytes0 = readFileSync(join(out, s0.file));
    writeFileSync(join(out, s0.file), bytes0.subarray(0, bytes0.length >> 1)); // truncated
    rmSync(join(out, first.manifest.shards['2'].file)); // deleted
    const again = await collect(cfg({}), { out, silent: true });
    expect(again.computed).toBe(2);
    expect(readDpt(join(out, s0.file)).ds).toEqual(data0);
    expect(readDpt(join(out, again.manifest.shards['2'].file)).ds).toEqual(data2);
    const untouched = await collect(cfg({}), { out, silent: true });
    expect(untouched.computed).toBe(0);
  });
});
