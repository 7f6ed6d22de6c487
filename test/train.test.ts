import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { stringify } from 'yaml';
import { trainFromConfig, TrainingDivergedError, TrainingStoppedError, readMetrics, latestCheckpoint, type TrainConfigInput } from '../src/train/index.js';
import { loadTrainConfig } from '../src/train/config.js';
import { ConfigError } from '../src/core/errors.js';
import { loadInContextModel, loadModelAgent } from '../src/models/index.js';
import { makeBatchedEnv } from '../src/envs/index.js';
import { Rng } from '../src/core/rng.js';

const root = join(import.meta.dirname, '..');

function tinyDpt(out: string, extra: Partial<TrainConfigInput> = {}): TrainConfigInput {
  return {
    name: 'tiny-dpt',
    seed: 3,
    out,
    model: { kind: 'dpt', layers: 1, dModel: 16, heads: 2 },
    data: { family: 'bandit', envOptions: { arms: 3 }, split: { seed: 0, heldOut: 8, train: 256 }, validationFraction: 0.1, dpt: { samples: 256, contextLength: 8 } },
    optim: { steps: 40, batchSize: 8, lr: 3e-3, warmupSteps: 5 },
    eval: { every: 20, tasks: 8, steps: 10 },
    logEvery: 2,
    checkpointEvery: 5,
    ...extra,
  };
}

function trainLosses(file: string): [number, number][] {
  return readMetrics(file)
    .filter((r) => r.kind === 'train')
    .map((r) => [r.step, r.loss as number]);
}

describe('trainer', () => {
  it('a run killed with SIGKILL and restarted gives the same losses as an uninterrupted one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'icrl-train-'));
    try {
      const cfgFile = join(dir, 'tiny.yaml');
      const cfg = tinyDpt(join(dir, 'killed'));
      // T2MIR-DPT: the resumed state includes the momentum routers; needs 2+ samples per task
      cfg.model = { kind: 'dpt', layers: 2, dModel: 16, heads: 2, moe: { layers: [1], tokenExperts: 3, tokenTopK: 2, taskExperts: 4, taskTopK: 2 } };
      cfg.data = { ...cfg.data, split: { seed: 0, heldOut: 8, train: 64 }, dpt: { samples: 256, contextLength: 8 } };
      cfg.optim = { steps: 60, batchSize: 8, lr: 3e-3, warmupSteps: 5 };
      writeFileSync(cfgFile, stringify(cfg));
      const cli = join(root, 'bin', 'icrl.js');
      // killed run: SIGKILL as soon as a checkpoint beyond the first exists
      const child = spawn(process.execPath, [cli, 'train', cfgFile, '--no-progress'], { stdio: 'ignore' });
      const killedDir = join(dir, 'killed');
      const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
      let killedAt = -1;
      while (child.exitCode === null) {
        const l = existsSync(join(killedDir, 'checkpoints', 'latest.json')) ? latestCheckpoint(killedDir) : null;
        if (l && l.step >= 10) {
          child.kill('SIGKILL');
          killedAt = l.step;
          break;
        }
        await new Promise((r) => setTimeout(r, 5));
      }
      await exited;
      expect(killedAt).toBeGreaterThanOrEqual(10);
      expect(killedAt).toBeLessThan(60);
      const partial = trainLosses(join(killedDir, 'metrics.jsonl'));
      expect(partial[partial.length - 1][0]).toBeLessThan(60);
      // restart: resumes from the last checkpoint
      const r = spawnSync(process.execPath, [cli, 'train', cfgFile, '--no-progress'], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/resumed from step \d+/);
      // uninterrupted run of the same config elsewhere
      const r2 = spawnSync(process.execPath, [cli, 'train', cfgFile, '--no-progress', '--out', join(dir, 'full')], { encoding: 'utf8' });
      expect(r2.status, r2.stderr).toBe(0);
      const a = trainLosses(join(killedDir, 'metrics.jsonl'));
      const b = trainLosses(join(dir, 'full', 'metrics.jsonl'));
      expect(a.length).toBe(30);
      expect(a).toEqual(b);
      // result.json holds every evaluation, also those before the resume point
      const resultEvals = (d: string) => (JSON.parse(readFileSync(join(d, 'result.json'), 'utf8')).evals as Record<string, unknown>[]).map(({ seconds: _s, ...e }) => e);
      expect(resultEvals(killedDir)).toEqual(resultEvals(join(dir, 'full')));
      expect(resultEvals(killedDir).length).toBeGreaterThanOrEqual(3);
      const evalsA = readMetrics(join(killedDir, 'metrics.jsonl')).filter((m) => m.kind === 'eval').map((m) => [m.step, m.valLoss, m.meanRegret]);
      const evalsB = readMetrics(join(dir, 'full', 'metrics.jsonl')).filter((m) => m.kind === 'eval').map((m) => [m.step, m.valLoss, m.meanRegret]);
      expect(evalsA).toEqual(evalsB);
      // expert load is logged for T2MIR
      const line = readMetrics(join(dir, 'full', 'metrics.jsonl')).find((m) => m.kind === 'train')!;
      expect(line.expertLoad).toHaveProperty('layer1');
      expect(typeof line.contrastiveLoss).toBe('number');
      // the config line says where the run comes from
      const cfgLine = readMetrics(join(dir, 'full', 'metrics.jsonl')).find((m) => m.kind === 'config')!;
      expect((cfgLine.provenance as { package: { name: string } }).package.name).toBe('icrl');
      expect(typeof (cfgLine.provenance as { startedAt: string }).startedAt).toBe('string');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('stops on a non-finite loss naming the step, keeping the last good checkpoint', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'icrl-nan-'));
    try {
      const cfg = tinyDpt(join(dir, 'run'), { optim: { steps: 40, batchSize: 8, lr: 1e25, warmupSteps: 0, gradClip: 0 }, checkpointEvery: 1 });
      let err: unknown = null;
      try {
        await trainFromConfig(cfg as never, { progressBar: false });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(TrainingDivergedError);
      const step = (err as TrainingDivergedError).step;
      expect((err as Error).message).toContain(`step ${step}`);
      const last = latestCheckpoint(join(dir, 'run'));
      expect(last).not.toBeNull();
      expect(last!.step).toBe(step - 1);
      // a run without a final model loads from its latest checkpoint
      const agent = loadModelAgent(join(dir, 'run'));
      expect(agent.name).toBe('dpt');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('stopIf stops a run after the step it names, checkpointed there, and the rerun resumes to the losses of an uninterrupted run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'icrl-stop-'));
    try {
      const cfg = tinyDpt(join(dir, 'stopped'));
      let asked = 0;
      // step 7 lies between the checkpoints of the cadence (every 5)
      const err = await trainFromConfig(cfg as never, { progressBar: false, stopIf: () => (++asked === 7 ? 'told to' : null) }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TrainingStoppedError);
      expect((err as TrainingStoppedError).step).toBe(7);
      expect((err as Error).message).toMatch(/training stopped at step 7: told to\. .*resumes from step 7/);
      expect(latestCheckpoint(join(dir, 'stopped'))!.step).toBe(7);
      expect(existsSync(join(dir, 'stopped', '.icrl.lock'))).toBe(false);
      const resumed = await trainFromConfig(cfg as never, { progressBar: false });
      expect(resumed.resumedFrom).toBe(7);
      const full = await trainFromConfig(tinyDpt(join(dir, 'full')) as never, { progressBar: false });
      expect(trainLosses(resumed.metricsFile)).toEqual(trainLosses(full.metricsFile));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('icrl train with ICRL_EXIT_WITH_PARENT=1 checkpoints and stops once the process that started it is SIGKILLed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'icrl-orphan-'));
    try {
      const cfgFile = join(dir, 'tiny.yaml');
      // long enough that only the parent's death ends it within the test
      writeFileSync(cfgFile, stringify(tinyDpt(join(dir, 'run'), { optim: { steps: 1_000_000, batchSize: 8, lr: 3e-3, warmupSteps: 5 }, eval: { every: 0, tasks: 8, steps: 10 }, checkpointEvery: 1000 })));
      const cli = join(root, 'bin', 'icrl.js');
      // the parent starts icrl train, prints its pid, waits until the run has begun (its metrics file), then SIGKILLs itself
      const parent = `const { spawn } = require('node:child_process'); const { existsSync } = require('node:fs');
        const c = spawn(process.execPath, ${JSON.stringify([cli, 'train', cfgFile, '--no-progress'])}, { stdio: 'ignore', env: { ...process.env, ICRL_EXIT_WITH_PARENT: '1' } });
        console.log(c.pid);
        const t = setInterval(() => { if (existsSync(${JSON.stringify(join(dir, 'run', 'metrics.jsonl'))})) { clearInterval(t); process.kill(process.pid, 'SIGKILL'); } }, 20);`;
      const r = spawnSync(process.execPath, ['-e', parent], { encoding: 'utf8', timeout: 60_000 });
      expect(r.signal).toBe('SIGKILL');
      const pid = Number(r.stdout.trim());
      expect(pid).toBeGreaterThan(0);
      const alive = () => {
        try {
          process.kill(pid, 0);
          return true;
        } catch {
          return false;
        }
      };
      const t0 = Date.now();
      while (alive() && Date.now() - t0 < 30_000) await new Promise((res) => setTimeout(res, 50));
      const stillAlive = alive();
      if (stillAlive) process.kill(pid, 'SIGKILL');
      expect(stillAlive).toBe(false);
      expect(existsSync(join(dir, 'run', '.icrl.lock'))).toBe(false);
      const last = latestCheckpoint(join(dir, 'run'));
      expect(last).not.toBeNull();
      expect(last!.step).toBeGreaterThan(0);
      expect(last!.step).toBeLessThan(1000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);

  it('trains a model that loads back as an agent (library call, as the quick start does)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'icrl-lib-'));
    try {
      const phases = new Set<string>();
      const res = await trainFromConfig(tinyDpt(join(dir, 'run')) as never, { progressBar: false, onProgress: (p) => phases.add(p.phase) });
      expect([...phases]).toEqual(expect.arrayContaining(['data', 'train', 'eval', 'done']));
      expect(res.evals.length).toBe(2);
      expect(Number.isFinite(res.finalLoss)).toBe(true);
      const agent = loadModelAgent(res.outDir);
      const env = makeBatchedEnv('bandit', 4, { arms: 3 }, new Rng(1));
      agent.reset(env, new Rng(2));
      const a = new Int32Array(4);
      agent.act(env.obs, a);
      for (const x of a) expect(x >= 0 && x < 3).toBe(true);
      const lines = readFileSync(res.metricsFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      const t = lines.find((l) => l.kind === 'train');
      for (const k of ['loss', 'lr', 'gradNorm', 'tokensPerSecond']) expect(typeof t[k]).toBe('number');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("initFrom starts from a trained model's weights, and refuses a model of another shape", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'icrl-init-'));
    try {
      const quiet = { eval: { every: 0, tasks: 8, steps: 10 } };
      const a = await trainFromConfig(tinyDpt(join(dir, 'a'), quiet) as never, { progressBar: false });
      // one step at a vanishing learning rate: the weights stay where they started
      const still = { ...quiet, optim: { steps: 1, batchSize: 8, lr: 1e-12, warmupSteps: 0 } };
      const logs: string[] = [];
      const b = await trainFromConfig(tinyDpt(join(dir, 'b'), { ...still, initFrom: a.outDir }) as never, { progressBar: false, log: (l) => logs.push(l) });
      const c = await trainFromConfig(tinyDpt(join(dir, 'c'), still) as never, { progressBar: false });
      expect(logs.some((l) => /initialised from the weights of .*a/.test(l))).toBe(true);
      const weights = (p: string) => loadInContextModel(p).model.parameters().flatMap((t) => [...t.toArray()]);
      const wa = weights(a.outDir);
      const gap = (w: number[]) => Math.max(...w.map((x, i) => Math.abs(x - wa[i])));
      expect(gap(weights(b.outDir))).toBeLessThan(1e-6);
      expect(gap(weights(c.outDir))).toBeGreaterThan(1e-2);
      // it learns from where the trained model left off: its first loss is the trained model's level
      expect(trainLosses(join(b.outDir, 'metrics.jsonl'))[0][1]).toBeLessThan(trainLosses(join(c.outDir, 'metrics.jsonl'))[0][1]);
      // the digest reads a path as the folder it names: rerun with another spelling, b resumes as finished
      const spelled = relative(process.cwd(), a.outDir);
      expect(spelled).not.toBe(a.outDir);
      const again = await trainFromConfig(tinyDpt(join(dir, 'b'), { ...still, initFrom: spelled }) as never, { progressBar: false });
      expect(again.resumedFrom).toBe(1);
      await expect(trainFromConfig(tinyDpt(join(dir, 'b'), { ...still, initFrom: c.outDir }) as never, { progressBar: false })).rejects.toThrow(/different configuration/);
      const wide = tinyDpt(join(dir, 'd'), { ...still, initFrom: a.outDir });
      wide.model = { kind: 'dpt', layers: 1, dModel: 32, heads: 2 };
      await expect(trainFromConfig(wide as never, { progressBar: false })).rejects.toThrow(/initFrom: the model at .* has another model section/);
      await expect(trainFromConfig(tinyDpt(join(dir, 'e'), { ...still, initFrom: join(dir, 'nowhere') }) as never, { progressBar: false })).rejects.toThrow(/initFrom: .*no such directory/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('config errors name the file and the field', () => {
    const dir = mkdtempSync(join(tmpdir(), 'icrl-cfg-'));
    try {
      const f = join(dir, 'bad.yaml');
      const cfg = tinyDpt('x') as Record<string, unknown>;
      (cfg.optim as Record<string, unknown>).leraningRate = 1;
      writeFileSync(f, stringify(cfg));
      expect(() => loadTrainConfig(f)).toThrow(ConfigError);
      expect(() => loadTrainConfig(f)).toThrow(/bad\.yaml[\s\S]*optim\.leraningRate/);
      const ad = { ...tinyDpt('y'), model: { kind: 'ad', layers: 1, dModel: 8, heads: 1, countFeatures: true } };
      writeFileSync(f, stringify(ad));
      expect(() => loadTrainConfig(f)).toThrow(/model\.countFeatures/);
      writeFileSync(f, stringify({ ...tinyDpt('v'), eval: { every: 0, validationBatches: 0 } }));
      expect(() => loadTrainConfig(f)).toThrow(/eval\.validationBatches/);
      const roll = tinyDpt('z') as { data: { dpt: Record<string, unknown> } };
      roll.data.dpt.rollin = { mixture: [{ weight: 1, rollin: 'thompson' }] };
      writeFileSync(f, stringify(roll));
      expect(() => loadTrainConfig(f)).toThrow(/data\.dpt\.rollin/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('every shipped training config is valid', () => {
    for (const name of ['dpt-bandit', 'dpt-darkroom', 'ad-darkroom', 't2mir-ad-darkroom']) {
      for (const v of ['', '-small']) {
        const f = join(root, 'configs', `${name}${v}.yaml`);
        const c = loadTrainConfig(f);
        expect(c.model.kind).toBe(name.includes('ad-') ? 'ad' : 'dpt');
      }
    }
    for (const f of readdirSync(join(root, 'configs')).filter((n) => /^(dpt|ad|t2mir)-.*\.yaml$/.test(n))) {
      expect(() => loadTrainConfig(join(root, 'configs', f)), f).not.toThrow();
    }
  });

  it('a finished run rerun is a no-op that keeps its results; --fresh killed early leaves nothing stale; a bad state.json is named', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'icrl-train-'));
    try {
      const cfg = tinyDpt(join(dir, 'run')) as never;
      const first = await trainFromConfig(cfg, { progressBar: false });
      expect(first.evals.length).toBeGreaterThan(0);
      const lines: string[] = [];
      const again = await trainFromConfig(cfg, { progressBar: false, log: (l) => lines.push(l) });
      expect(lines.join('\n')).toMatch(/already trained to step 40 .*nothing to do/);
      expect(again.finalLoss).toBe(first.finalLoss);
      const strip = (r: typeof first) => r.evals.map(({ seconds: _s, ...e }) => e);
      expect(strip(again)).toEqual(strip(first));
      expect(JSON.parse(readFileSync(join(dir, 'run', 'result.json'), 'utf8')).finalLoss).toBe(first.finalLoss);
      // --fresh, stopped before its first checkpoint, then a plain rerun: trains from scratch
      await expect(
        trainFromConfig(cfg, {
          resume: false,
          onProgress: (p) => {
            if (p.phase === 'train' && p.step >= 2) throw new Error('stopped');
          },
        }),
      ).rejects.toThrow(/stopped/);
      const third = await trainFromConfig(cfg, { progressBar: false });
      expect(third.resumedFrom).toBeNull();
      expect(third.finalLoss).toBe(first.finalLoss);
      // a hand-edited state.json is refused with the field named, and the run falls back to the
      // previous checkpoint (with a warning) and ends as before
      const l = latestCheckpoint(join(dir, 'run'))!;
      const st = JSON.parse(readFileSync(join(l.dir, 'state.json'), 'utf8'));
      writeFileSync(join(l.dir, 'state.json'), JSON.stringify({ ...st, step: 'abc' }));
      const warned: string[] = [];
      const fourth = await trainFromConfig(cfg, { progressBar: false, log: (x) => warned.push(x) });
      expect(warned.join('\n')).toMatch(/step-000040 is corrupt \(.*state\.json: not a checkpoint state: step: .*trying the previous one/);
      expect(warned.join('\n')).toMatch(/resuming from the older checkpoint .*step-000035 \(step 35\)/);
      expect(fourth.resumedFrom).toBe(35);
      expect(fourth.finalLoss).toBe(first.finalLoss);
      expect(strip(fourth)).toEqual(strip(first));
      // a weights file changed on disk: its checksum names it; with every checkpoint corrupt the run stops
      const l2 = latestCheckpoint(join(dir, 'run'))!;
      const w = readFileSync(join(l2.dir, 'model.safetensors'));
      w[w.length - 3] ^= 0x10;
      writeFileSync(join(l2.dir, 'model.safetensors'), w);
      for (const e of readdirSync(join(dir, 'run', 'checkpoints'))) if (/^step-/.test(e) && join(dir, 'run', 'checkpoints', e) !== l2.dir) rmSync(join(dir, 'run', 'checkpoints', e), { recursive: true });
      await expect(trainFromConfig(cfg, { progressBar: false, log: () => {} })).rejects.toThrow(/no checkpoint loads \(.*model\.safetensors: content SHA-256 mismatch: expected [0-9a-f]{64}, found [0-9a-f]{64}/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
