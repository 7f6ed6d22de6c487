// Continuous-control in-context evaluation: the SAC expert agent (`sac-policy`), AD and DPT training
// data from a history file (DPT from the expert labels), the per-episode scores of a reproduction and
// its entry options.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../src/core/rng.js';
import * as nn from '../src/nn/index.js';
import { ConfigError } from '../src/core/errors.js';
import { getFamily } from '../src/envs/index.js';
import { splitTasks, type Task } from '../src/tasks/taskSpace.js';
import { collectSacHistories, SacPolicyAgent, type SacAgent } from '../src/rl/index.js';
import type { History } from '../src/data/index.js';
import { makeEvalAgent } from '../src/eval/agents.js';
import { evaluateOnline } from '../src/eval/evaluator.js';
import { parseTrainConfig } from '../src/train/config.js';
import { buildTrainingData } from '../src/train/data.js';
import { historyEpisodeReturns, reproductions, runReproduction, sacHistories, scoresOf } from '../src/experiments/index.js';
import { readResults, writeResults, type EvalResults } from '../src/eval/results.js';
import type { EpisodeSummary } from '../src/eval/metrics.js';
import { runEvaluation } from '../src/eval/run.js';
import type { DptBatch } from '../src/models/batches.js';

const dir = mkdtempSync(join(tmpdir(), 'icrl-continuous-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const space = getFamily('point-robot').taskSpace({});
const split = splitTasks(space, { seed: 0, heldOut: 3, train: 4 });
const T = 120;
let trainFile = '';
let train: History[] = [];
let expertFile = '';
let expert: SacAgent;

beforeAll(async () => {
  const sac = { hidden: [8, 8], batchSize: 8, learningStarts: 40 };
  trainFile = join(dir, 'train.h5');
  train = (await collectSacHistories({ family: 'point-robot', tasks: split.train, sac, steps: T, seed: 1, file: trainFile })).histories;
  expertFile = join(dir, 'heldout.safetensors');
  expert = (await collectSacHistories({ family: 'point-robot', tasks: split.heldOut, sac, steps: T, seed: 2, file: join(dir, 'heldout.h5'), checkpoint: expertFile })).agent;
}, 60_000);

describe('sac-policy: the final SAC policies as an evaluation agent', () => {
  it('plays on each task the greedy action of the learner trained on it, whatever the order of the tasks', async () => {
    const tasks: Task[] = [split.heldOut[2], split.heldOut[0], split.heldOut[1]];
    const env = getFamily('point-robot').make(3, {}, new Rng(0));
    env.setTasks(tasks);
    env.reset();
    const agent = await makeEvalAgent({ type: 'sac-policy', checkpoint: expertFile }, { source: 'test' });
    agent.reset(env, new Rng(0));
    const out = new Float32Array(6);
    agent.act(env.obs, out);
    // the learners in collection order see the same observations (every episode starts at the origin)
    const want = new Float32Array(6);
    expert.learners!.greedyActions(new Float32Array(6), 1, want);
    for (const [i, j] of [[0, 2], [1, 0], [2, 1]]) expect([...out.subarray(2 * i, 2 * i + 2)]).toEqual([...want.subarray(2 * j, 2 * j + 2)]);
    // a whole evaluation is deterministic: every in-context episode has the same return
    const rec = await evaluateOnline(agent, env, tasks, { episodes: 2, seed: 0, progress: false });
    if (rec.mode !== 'episodes') throw new Error('episodes mode');
    for (const r of rec.returns) expect(r[1]).toBe(r[0]);
  });

  it('refuses a task no learner trained on, unless told to take the nearest task', () => {
    const other = { family: 'point-robot', params: { angle: (split.heldOut[0].params.angle as number) + 1e-3 } };
    const env = getFamily('point-robot').make(1, {}, new Rng(0));
    env.setTasks([other]);
    expect(() => new SacPolicyAgent(expertFile).reset(env, new Rng(0))).toThrow(/no learner .* was trained on task/);
    const near = new SacPolicyAgent(expertFile, 'nearest');
    near.reset(env, new Rng(0));
    const out = new Float32Array(2);
    near.act(env.obs, out);
    const want = new Float32Array(6);
    expert.learners!.greedyActions(new Float32Array(6), 1, want);
    expect([...out]).toEqual([...want.subarray(0, 2)]);
  });

  it('plays the per-task policy files of a sac collection folder (one actor each)', async () => {
    const folder = join(dir, 'collection');
    mkdirSync(folder);
    writeFileSync(join(folder, 'manifest.json'), JSON.stringify({ config: { family: 'point-robot' } }));
    const L = expert.learners!;
    // file j holds learner j's actor, as a sac collection writes it
    split.heldOut.forEach((task, j) => {
      const tensors: Record<string, { shape: number[]; data: Float32Array }> = {};
      for (const p of L.actor.parameters()) {
        const per = p.size / L.n;
        tensors[p.name!] = { shape: [1, ...p.shape.slice(1)], data: p.data.slice(j * per, (j + 1) * per) };
      }
      const meta = { kind: 'sac-policy', learners: 1, spec: { obsDim: 2, actDim: 2, low: [-0.1, -0.1], high: [0.1, 0.1] }, options: { hidden: [8, 8] }, extra: { task: task.params, taskIndex: j } };
      nn.saveSafetensors(join(folder, `policy-0000${j}.safetensors`), tensors, { icrl_rl: JSON.stringify(meta) });
    });
    const agent = new SacPolicyAgent(folder);
    expect(agent.tasks).toEqual(split.heldOut);
    const env = getFamily('point-robot').make(3, {}, new Rng(0));
    env.setTasks([split.heldOut[1], split.heldOut[2], split.heldOut[0]]);
    env.reset();
    agent.reset(env, new Rng(0));
    const out = new Float32Array(6);
    agent.act(env.obs, out);
    const want = new Float32Array(6);
    L.greedyActions(new Float32Array(6), 1, want);
    for (const [i, j] of [[0, 1], [1, 2], [2, 0]]) expect([...out.subarray(2 * i, 2 * i + 2)]).toEqual([...want.subarray(2 * j, 2 * j + 2)]);
  });

  it('refuses a checkpoint that does not name its tasks, naming the file', async () => {
    const bare = join(dir, 'bare.safetensors');
    expert.saveCheckpoint(bare);
    expect(() => new SacPolicyAgent(bare)).toThrow(/bare\.safetensors: the checkpoint does not name the tasks/);
  });
});

const trainConfig = (data: Record<string, unknown>, kind: 'ad' | 'dpt') =>
  parseTrainConfig({
    name: 't',
    out: join(dir, 'out'),
    model: { kind, layers: 1, dModel: 8, heads: 1 },
    data: { family: 'point-robot', split: { seed: 0, heldOut: 3, train: 4 }, validationFraction: 0.25, ...data },
    optim: { steps: 1, batchSize: 4, lr: 0.001 },
  });

describe('training data from a history file', () => {
  it('DPT: windows of one run, a query state of the same run and the expert action there', async () => {
    const cfg = trainConfig({ dpt: { collection: trainFile, contextLength: 20 } }, 'dpt');
    const data = await buildTrainingData(cfg, '.', new Rng(0), () => {});
    expect(data.numTrainTasks).toBe(3);
    expect(data.numValTasks).toBe(1);
    const b = data.sample(new Rng(3), 6, 'train', false) as DptBatch;
    expect(b.T).toBe(20);
    expect(b.labels).toBeInstanceOf(Float32Array);
    for (let i = 0; i < b.B; i++) {
      // the query is an observation of a training history, its label the expert action recorded there
      const q = [b.queries[2 * i], b.queries[2 * i + 1]];
      const found = train.slice(0, 3).some((h) => {
        for (let t = 0; t < h.length; t++) {
          if (h.observations[2 * t] === q[0] && h.observations[2 * t + 1] === q[1] && h.expertActions![2 * t] === b.labels[2 * i] && h.expertActions![2 * t + 1] === b.labels[2 * i + 1]) return true;
        }
        return false;
      });
      expect(found, `sample ${i}`).toBe(true);
    }
    expect(() => trainConfig({ dpt: { collection: trainFile, contextLength: 20, samples: 10 } }, 'dpt')).toThrow(/either collection or samples/);
    expect(() => trainConfig({ dpt: { contextLength: 20 } }, 'dpt')).toThrow(/samples/);
  });

  it('AD reads the histories of a file; a file with a held-out task is refused, naming it', async () => {
    const ad = await buildTrainingData(trainConfig({ ad: { collection: trainFile, windowEpisodes: 2 } }, 'ad'), '.', new Rng(0), () => {});
    expect(ad.contextLength).toBe(40);
    expect(ad.numTrainTasks).toBe(3);
    await expect(buildTrainingData(trainConfig({ ad: { collection: join(dir, 'heldout.h5'), windowEpisodes: 2 } }, 'ad'), '.', new Rng(0), () => {})).rejects.toThrow(/task 0 of \S*heldout\.h5 is a held-out task/);
  });

  it('episode returns of a history add up its rewards between episode ends', () => {
    const h = train[0];
    const r = historyEpisodeReturns(h)[0];
    expect(r.length).toBe(T / 20);
    let s = 0;
    for (let t = 0; t < 20; t++) s += h.rewards[t];
    expect(r[0]).toBeCloseTo(s, 10);
  });
});

describe('reproduction scores and options', () => {
  it('the return of every in-context episode is a score (return1 .. returnK)', () => {
    const res = { online: { agents: [{ name: 'AD', summary: { mode: 'episodes', episodes: 3, perTaskReturns: [[1, 2, 3], [4, 5, 6]] } }] } } as unknown as EvalResults;
    const s = scoresOf(res);
    expect(s.get('AD:return1')).toEqual([1, 4]);
    expect(s.get('AD:return3')).toEqual([3, 6]);
    expect(s.get('AD:lastReturn')).toEqual([3, 6]);
  });

  it('ad-continuous and dpt-continuous take the family as an option, a typo named before any work', async () => {
    for (const name of ['ad-continuous', 'dpt-continuous']) {
      const e = reproductions.get(name);
      expect(reproductions.parseOptions(name, {})).toEqual({ family: 'cheetah-vel' });
      expect(reproductions.parseOptions(name, { evalRuns: 3 })).toEqual({ family: 'cheetah-vel', evalRuns: 3 });
      expect(() => reproductions.parseOptions(name, { evalRuns: 0 })).toThrow(/evalRuns/);
      expect(e.claims.length).toBeGreaterThanOrEqual(2);
    }
    await expect(runReproduction('ad-continuous', { out: join(dir, 'r'), options: { famly: 'point-robot' } })).rejects.toThrow(ConfigError);
    await expect(runReproduction('ad-continuous', { out: join(dir, 'r'), options: { family: 'push' } })).rejects.toThrow(/family/);
  });
});

describe('success rates (reach, push)', () => {
  it('are recorded per in-context episode for a family with a success criterion, and are scores', async () => {
    const cfg = { name: 'reach-success', env: { family: 'reach' }, tasks: { heldOut: 5, seed: 0, limit: 3 }, online: { episodes: 2, references: ['expert', 'random'] }, out: join(dir, 'reach') };
    const { results } = await runEvaluation(cfg as never, { write: false, progress: false, log: () => {} });
    const [expertRes, randomRes] = results.online!.agents;
    const e = expertRes.summary as EpisodeSummary;
    const r = randomRes.summary as EpisodeSummary;
    // the scripted expert reaches every goal in both episodes; random actions from the start rarely come within 5 cm
    expect(e.perTaskSuccess).toEqual([[1, 1], [1, 1], [1, 1]]);
    expect(e.successRate!.mean).toEqual([1, 1]);
    expect(r.perTaskSuccess!.flat().every((x) => x === 0 || x === 1)).toBe(true);
    expect(scoresOf(results).get('expert:success2')).toEqual([1, 1, 1]);
    // results of a family without an exact oracle (oracle: null) read back
    const file = join(dir, 'reach-results.json');
    writeResults(file, results);
    expect((readResults(file).online!.agents[0].summary as EpisodeSummary).perTaskSuccess).toEqual([[1, 1], [1, 1], [1, 1]]);
    // point-robot has no success criterion: no rates
    const pr = await runEvaluation({ name: 'pr', env: { family: 'point-robot' }, tasks: { heldOut: 2, seed: 0 }, online: { episodes: 1, references: ['random'] }, out: join(dir, 'pr') } as never, { write: false, progress: false, log: () => {} });
    expect((pr.results.online!.agents[0].summary as EpisodeSummary).successRate).toBeUndefined();
  }, 60_000);
});

describe('the SAC data stage of the continuous reproductions', () => {
  it('collects once, finds its files on a rerun, and refuses a folder of another set-up, naming it', async () => {
    const spec = { family: 'point-robot', envOptions: {}, split: { seed: 0, heldOut: 2, train: 2 }, steps: 40, sac: { hidden: [4], batchSize: 4, learningStarts: 20 }, seed: 0 };
    const d = join(dir, 'sacdata');
    const lines: string[] = [];
    const first = await sacHistories(spec, d, (l) => lines.push(l));
    expect(first.seconds.train).not.toBeNull();
    expect(new SacPolicyAgent(first.expert).tasks).toEqual(splitTasks(space, spec.split).heldOut);
    lines.length = 0;
    const again = await sacHistories(spec, d, (l) => lines.push(l));
    expect(again).toEqual(first);
    expect(lines.every((l) => l.includes('collected before, not again'))).toBe(true);
    await expect(sacHistories({ ...spec, steps: 60 }, d, () => {})).rejects.toThrow(/data\.json: histories of another set-up/);
  }, 30_000);
});
