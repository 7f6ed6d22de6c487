import { describe, it, expect } from 'vitest';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { z } from 'zod';
import { applyOverrides, ConfigError, loadConfig, mergeConfigs, readConfigFile } from '../src/core/index.js';

const schema = z
  .object({
    name: z.string(),
    optim: z.object({ lr: z.number(), steps: z.number().int() }).strict(),
    model: z.object({ layers: z.number().int(), sizes: z.array(z.number()).default([]) }).strict(),
    agents: z.array(z.object({ type: z.string(), c: z.number().optional() }).strict()).default([]),
    flag: z.boolean().default(false),
  })
  .strict();

function dir(files: Record<string, string>): string {
  const d = mkdtempSync(join(tmpdir(), 'icrl-config-'));
  for (const [f, t] of Object.entries(files)) writeFileSync(join(d, f), t);
  return d;
}

describe('config composition', () => {
  it('extends: deep merge of objects, lists and scalars replaced, chains followed, relative to the file', () => {
    const d = dir({
      'base.yaml': 'name: base\noptim: { lr: 0.001, steps: 100 }\nmodel: { layers: 4, sizes: [1, 2, 3] }\nagents: [{ type: ucb, c: 1 }]\n',
      'mid.yaml': 'extends: base.yaml\nname: mid\nmodel: { layers: 2 }\n',
      'small.yaml': 'extends: mid.yaml\noptim: { steps: 10 }\nmodel: { sizes: [9] }\n',
    });
    try {
      const c = loadConfig(schema, join(d, 'small.yaml'));
      expect(c).toEqual({ name: 'mid', optim: { lr: 0.001, steps: 10 }, model: { layers: 2, sizes: [9] }, agents: [{ type: 'ucb', c: 1 }], flag: false });
      expect(mergeConfigs({ a: { b: 1, c: 2 } }, { a: { c: 3 } })).toEqual({ a: { b: 1, c: 3 } });
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  it('an extends cycle, a missing parent and a bad extends value are errors naming the file', () => {
    const d = dir({ 'a.yaml': 'extends: b.yaml\nname: a\n', 'b.yaml': 'extends: a.yaml\n', 'c.yaml': 'extends: nope.yaml\n', 'e.yaml': 'extends: 3\n' });
    try {
      expect(() => readConfigFile(join(d, 'a.yaml'))).toThrow(/extends cycle/);
      expect(() => readConfigFile(join(d, 'c.yaml'))).toThrow(/nope\.yaml: config file not found/);
      expect(() => readConfigFile(join(d, 'e.yaml'))).toThrow(/e\.yaml: extends: expected a config file name/);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  it('--set overrides are YAML-typed, reach into lists, and a typo names its key', () => {
    const d = dir({ 'x.yaml': 'name: x\noptim: { lr: 0.001, steps: 100 }\nmodel: { layers: 4 }\nagents: [{ type: ucb, c: 1 }]\n' });
    try {
      const f = join(d, 'x.yaml');
      const c = loadConfig(schema, f, ['optim.lr=3e-4', 'model.sizes=[1, 2]', 'agents.0.c=2', 'agents.1={type: greedy}', 'flag=true', 'name=y=z']);
      expect(c.optim.lr).toBe(0.0003);
      expect(c.model.sizes).toEqual([1, 2]);
      expect(c.agents).toEqual([{ type: 'ucb', c: 2 }, { type: 'greedy' }]);
      expect(c.flag).toBe(true);
      expect(c.name).toBe('y=z');
      expect(() => loadConfig(schema, f, ['optim.lrr=1'])).toThrow(/x\.yaml: invalid configuration\n {2}optim\.lrr: unknown key/);
      expect(() => loadConfig(schema, f, ['optim.steps=many'])).toThrow(/optim\.steps: Invalid input: expected number/);
      expect(() => loadConfig(schema, f, ['optim.lr'])).toThrow(ConfigError);
      expect(() => loadConfig(schema, f, ['agents.5.c=1'])).toThrow(/agents is a list of 1; "5" is not an index/);
      expect(applyOverrides({ a: 1 }, [])).toEqual({ a: 1 });
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  it('every shipped config reads, and the -small configs extend their published set-up', () => {
    const files = readdirSync('configs').filter((f) => f.endsWith('.yaml'));
    for (const f of files) expect(() => readConfigFile(join('configs', f)), f).not.toThrow();
    for (const base of ['ad-darkroom', 'dpt-bandit', 'dpt-darkroom', 't2mir-ad-darkroom', 'collect-darkroom-ad', 'collect-darkroom-dpt', 'collect-dpt-bandit', 'eval-bandit']) {
      const small = readConfigFile(join('configs', `${base}-small.yaml`)) as Record<string, unknown>;
      const big = readConfigFile(join('configs', `${base}.yaml`)) as Record<string, unknown>;
      expect(Object.keys(small).sort(), base).toEqual(Object.keys(big).sort());
    }
  });

  it('the CLI takes --set and names a bad key', () => {
    const r = spawnSync(process.execPath, ['bin/icrl.js', 'eval', 'configs/eval-bandit-small.yaml', '--set', 'online.stepz=5'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/online\.stepz: unknown key/);
  });
});

describe('provenance', () => {
  it('names the start time, package version, git commit of this checkout, Node.js and the command line', async () => {
    const { provenance } = await import('../src/core/index.js');
    const p = provenance();
    expect(Number.isNaN(Date.parse(p.startedAt))).toBe(false);
    expect(p.package.name).toBe('icrl');
    expect(p.package.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(p.node).toBe(process.version);
    expect(Array.isArray(p.command)).toBe(true);
    const inCheckout = spawnSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8' });
    if (inCheckout.status === 0) expect(p.git?.commit).toBe(inCheckout.stdout.trim());
  });

  it('results.json carries it with the resolved config (the metrics config line: test/train.test.ts)', async () => {
    const { evaluateAndReport } = await import('../src/experiments/index.js');
    const d = mkdtempSync(join(tmpdir(), 'icrl-prov-'));
    try {
      const { results } = await evaluateAndReport(
        { name: 'p', seed: 0, env: { family: 'bandit', options: { arms: 3 } }, tasks: { heldOut: 4, seed: 0 }, online: { steps: 5, agents: [{ type: 'greedy' }], references: [] }, out: d },
        { progress: false, log: () => undefined },
      );
      expect(results.provenance?.package.name).toBe('icrl');
      expect((results.config as { online: { steps: number } }).online.steps).toBe(5);
      const { readResults } = await import('../src/eval/index.js');
      expect(readResults(join(d, 'results.json')).provenance?.node).toBe(process.version);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});

describe('bad inputs are named errors', () => {
  it('CLI numbers go through one validated parser; a config path that is a folder; NaN weights', async () => {
    const icrl = (...a: string[]) => spawnSync(process.execPath, ['bin/icrl.js', ...a], { encoding: 'utf8' });
    for (const [args, msg] of [
      [['collect', 'configs/collect-dpt-bandit-small.yaml', '-w', 'abc'], /--workers: expected an integer in \[0, 256\], got "abc"/],
      [['collect', 'configs/collect-dpt-bandit-small.yaml', '-w', '1.5'], /--workers: expected an integer/],
      [['collect', 'configs/collect-dpt-bandit-small.yaml', '--max-shards', '-1'], /--max-shards: expected an integer >= 0, got "-1"/],
      [['train', 'configs/dpt-bandit-small.yaml', '--steps', '1e3'], /--steps: expected an integer >= 1/],
      [['eval', 'configs'], /configs: is a folder, not a config file/],
    ] as [string[], RegExp][]) {
      const r = icrl(...args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(msg);
    }
    const { Linear, saveWeights, loadWeights } = await import('../src/nn/index.js');
    const { Rng } = await import('../src/core/index.js');
    const d = mkdtempSync(join(tmpdir(), 'icrl-nan-'));
    try {
      const m = new Linear(2, 2, new Rng(0));
      m.namedParameters()[0][1].data[1] = NaN;
      saveWeights(join(d, 'w.safetensors'), m);
      expect(() => loadWeights(join(d, 'w.safetensors'), new Linear(2, 2, new Rng(1)))).toThrow(/holds NaN at index 1; weights must be finite/);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});

describe('commands without their config', () => {
  it('print their own help, not the top-level one, and exit 2', () => {
    for (const c of ['eval', 'collect']) {
      const r = spawnSync(process.execPath, ['bin/icrl.js', c], { encoding: 'utf8' });
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`icrl ${c}: missing the config argument[\\s\\S]*Usage: icrl ${c} \\[options\\]`));
    }
  });
});
