import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { runQuickstart } from '../src/experiments/quickstart.js';
import { readResults } from '../src/eval/results.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'icrl-qs-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const tinyTrain = `
train:
  name: qs-tiny
  seed: 0
  out: ignored
  model: { kind: dpt, layers: 1, dModel: 8, heads: 1 }
  data:
    family: bandit
    envOptions: { arms: 3, noiseSd: 0.3 }
    split: { seed: 0, heldOut: 8, train: 200 }
    dpt: { samples: 200, contextLength: 10 }
  optim: { steps: 6, batchSize: 8, lr: 0.001 }
  eval: { every: 0, tasks: 4, steps: 10 }
  logEvery: 2
  checkpointEvery: 6
`;
const tinyEval = `
eval:
  seed: 0
  env: { family: bandit, options: { arms: 3, noiseSd: 0.3 } }
  tasks: { heldOut: 8, seed: 0 }
  online:
    steps: 20
    agents: [{ type: ucb, name: UCB }, { type: thompson, name: Thompson }, { type: greedy, name: greedy }]
  offline: { sizes: [1, 10], agents: [{ type: lcb, name: LCB }] }
`;

describe('quick start', () => {
  it('trains the DPT of its config, evaluates it beside the baselines and writes the report', async () => {
    const cfg = join(dir, 'qs.yaml');
    writeFileSync(cfg, `name: qs\nout: ${JSON.stringify(join(dir, 'run'))}\n${tinyTrain}${tinyEval}`);
    const lines: string[] = [];
    const r = await runQuickstart(cfg, { progress: false, say: (l) => lines.push(l) });
    const res = readResults(r.resultsPath);
    expect(res.online!.agents.map((a) => a.name)).toEqual(['DPT', 'UCB', 'Thompson', 'greedy', 'oracle', 'random']);
    expect(res.offline!.agents.map((a) => a.name)).toEqual(['DPT', 'LCB']);
    expect(res.offline!.agents[0].spec.actionSelection).toBe('greedy');
    expect(res.trainingMetrics!.length).toBe(1);
    expect(existsSync(join(dir, 'run', 'dpt', 'model'))).toBe(true);
    const html = readFileSync(r.reportPath, 'utf8');
    expect(html).toContain('Training loss');
    expect(lines[lines.length - 1]).toContain(r.reportPath);
    expect(lines.some((l) => /^\s+DPT\s+\d/.test(l))).toBe(true);
  });

  it('run again after the training config changed, it trains from scratch instead of failing', async () => {
    const cfg = join(dir, 'qs3.yaml');
    const out = JSON.stringify(join(dir, 'run3'));
    writeFileSync(cfg, `out: ${out}\n${tinyTrain}${tinyEval}`);
    await runQuickstart(cfg, { progress: false, say: () => {} });
    writeFileSync(cfg, `out: ${out}\n${tinyTrain.replace('dModel: 8', 'dModel: 12')}${tinyEval}`);
    const lines: string[] = [];
    const r = await runQuickstart(cfg, { progress: false, say: (l) => lines.push(l) });
    expect(lines.join('\n')).toContain('training from scratch');
    expect(readResults(r.resultsPath).online!.agents[0].name).toBe('DPT');
  });

  it('without a train section it runs the baselines and says so', async () => {
    const cfg = join(dir, 'qs2.yaml');
    writeFileSync(cfg, `out: ${JSON.stringify(join(dir, 'run2'))}\n${tinyEval}`);
    const lines: string[] = [];
    const r = await runQuickstart(cfg, { progress: false, say: (l) => lines.push(l) });
    expect(lines.join('\n')).toMatch(/no train section.*baselines only/);
    expect(readResults(r.resultsPath).notes.join(' ')).toMatch(/no DPT/);
  });

  // The real thing (npm start): minutes on 2 cores.
  it.skipIf(!process.env.ICRL_SLOW)('npm start: the shipped quick start ends with a report whose regret chart shows DPT and the baselines', () => {
    const out = join(dir, 'npmstart');
    const p = spawnSync(process.execPath, ['bin/icrl.js', 'quickstart', '--out', out, '--no-progress'], { encoding: 'utf8', timeout: 20 * 60_000 });
    expect(p.status, p.stderr).toBe(0);
    expect(p.stdout).toContain(join(out, 'report.html'));
    const res = readResults(join(out, 'results.json'));
    const names = res.online!.agents.map((a) => a.name);
    for (const n of ['DPT', 'UCB', 'Thompson', 'greedy']) expect(names).toContain(n);
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    const charts = JSON.parse(/<script type="application\/json" id="icrl-charts">(.*?)<\/script>/s.exec(html)![1]);
    const regret = charts.find((c: { title: string }) => c.title === 'Cumulative regret');
    const lines = regret.option.series.filter((s: { id: string }) => s.id.startsWith('line:')).map((s: { name: string }) => s.name);
    expect(lines).toEqual(expect.arrayContaining(['DPT', 'UCB', 'Thompson', 'greedy']));
  });
});
