// Small checks of the robustness helpers (the whole-command checks are test/faults.test.ts,
// test/fuzz.test.ts and test/lock.test.ts; docs/robustness.md lists every case).
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChecksumError, ConfigError, CorruptFileError, FileSystemError, checkMemory, makeDir, verifyFile, fileDigest } from '../src/core/index.js';
import { confinedMetricsPath, readResults, runEvaluation } from '../src/eval/index.js';
import { buildReport } from '../src/report/index.js';
import { parseTrainConfig } from '../src/train/config.js';
import { validateConfig } from '../src/core/config.js';
import { evalConfigSchema } from '../src/eval/config.js';

describe('robustness helpers', () => {
  it('metrics paths of a results file stay inside the tree of runs', () => {
    const runs = join(tmpdir(), 'runs');
    const res = join(runs, 'eval-x');
    expect(confinedMetricsPath(res, '../dpt-small/metrics.jsonl', 'r.json')).toBe(join(runs, 'dpt-small', 'metrics.jsonl'));
    expect(confinedMetricsPath(res, 'dpt/metrics.jsonl', 'r.json')).toBe(join(res, 'dpt', 'metrics.jsonl'));
    for (const bad of ['../../etc/passwd', '/etc/passwd', '../../x/metrics.jsonl', '../dpt/result.json']) expect(() => confinedMetricsPath(res, bad, 'r.json')).toThrow(CorruptFileError);
  });

  it('a folder that cannot be made is a FileSystemError, not an endless mkdir', () => {
    if (process.platform !== 'linux') return;
    expect(() => makeDir('/proc/self/icrl-x/y')).toThrow(FileSystemError);
    const d = mkdtempSync(join(tmpdir(), 'icrl-rob-'));
    try {
      writeFileSync(join(d, 'file'), 'x');
      expect(() => makeDir(join(d, 'file', 'sub'))).toThrow(/ENOTDIR/);
      makeDir(join(d, 'a', 'b', 'c'));
      const f = join(d, 'file');
      const dg = fileDigest(f);
      verifyFile(f, dg);
      writeFileSync(f, 'y');
      expect(() => verifyFile(f, dg)).toThrow(ChecksumError);
      expect(() => verifyFile(f, dg)).toThrow(new RegExp(`content SHA-256 mismatch: expected ${dg.sha256}, found [0-9a-f]{64}`));
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  it('sizes above the schemas or the memory budget are refused before any work', () => {
    process.env.ICRL_MEMORY_GB = '1';
    try {
      expect(() => checkMemory(2 * 2 ** 30, 'a test array', 'src', 'field')).toThrow(/field: a test array needs 2\.0 GB of memory, more than the 1\.0 GB/);
      checkMemory(2 ** 29, 'a test array', 'src', 'field');
    } finally {
      delete process.env.ICRL_MEMORY_GB;
    }
    const ev = { env: { family: 'bandit' }, tasks: { heldOut: 4 }, online: { steps: 1e12, agents: [] } };
    expect(() => validateConfig(evalConfigSchema, ev, 'ev')).toThrow(/online\.steps: Too big/);
    const tc = {
      name: 't',
      out: 'runs/t',
      model: { kind: 'dpt', layers: 1, dModel: 8, heads: 2 },
      data: { family: 'bandit', split: { heldOut: 4, train: 8 }, dpt: { samples: 8, contextLength: 4 }, ad: { source: { kind: 'ucb' }, episodes: 2, windowEpisodes: 1 } },
      optim: { steps: 2, batchSize: 2, lr: 0.01 },
    };
    expect(() => parseTrainConfig(tc)).toThrow(ConfigError);
    expect(() => parseTrainConfig(tc)).toThrow(/data\.ad: a dpt model learns from data\.dpt/);
  });

  it('results.json: its digest is checked, an incomplete run is marked in the report', async () => {
    const d = mkdtempSync(join(tmpdir(), 'icrl-rob-'));
    try {
      const { resultsPath } = await runEvaluation({ env: { family: 'bandit', options: { arms: 3 } }, tasks: { heldOut: 4 }, online: { steps: 5, agents: [{ type: 'ucb' }], references: [] }, out: d }, { progress: false, log: () => {} });
      const doc = JSON.parse(readFileSync(resultsPath!, 'utf8'));
      expect(doc.status).toEqual({ complete: true, done: ['online: ucb'], failed: [], pending: [] });
      doc.status = { complete: false, done: ['online: ucb'], failed: [], pending: ['online: greedy'] };
      writeFileSync(resultsPath!, JSON.stringify(doc));
      expect(() => readResults(resultsPath!)).toThrow(ChecksumError);
      delete doc.sha256;
      writeFileSync(resultsPath!, JSON.stringify(doc));
      const report = buildReport(readResults(resultsPath!), { baseDir: d });
      expect(report.title).toMatch(/\(incomplete\)$/);
      expect(report.facts?.[0]).toEqual(['status', expect.stringMatching(/^INCOMPLETE: 1 of 2 agents evaluated; not yet run: online: greedy/)]);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});
