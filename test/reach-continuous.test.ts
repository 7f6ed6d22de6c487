// The reach set-up of the continuous reproductions: the `ppo-policy` expert (the final policies of a
// ppo collection folder, each task its own), its refusal of the other learner's files, the success
// claims made only for families that score success, and the reach configs around one split.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../src/core/rng.js';
import { readConfigFile } from '../src/core/config.js';
import { getFamily } from '../src/envs/index.js';
import { splitTasks, taskKey } from '../src/tasks/taskSpace.js';
import { collect, parseCollectConfig, resolveTasks, loadCollectConfig } from '../src/data/index.js';
import { LearnerPolicyAgent, loadPolicy } from '../src/rl/index.js';
import { makeEvalAgent } from '../src/eval/agents.js';
import { applicableClaims, CONTINUOUS_SETUPS, continuousClaims, continuousOptions, continuousRun, continuousTable, packageConfigs, reproductions, expertName, sourceName } from '../src/experiments/index.js';

const dir = mkdtempSync(join(tmpdir(), 'icrl-reach-continuous-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const space = getFamily('point-robot').taskSpace({});
const split = splitTasks(space, { seed: 0, heldOut: 3, train: 2 });
const ppoDir = join(dir, 'ppo');
const sacDir = join(dir, 'sac');

const collection = (kind: 'ppo' | 'sac', out: string) =>
  parseCollectConfig(
    {
      kind: 'histories',
      family: 'point-robot',
      tasks: { count: 3, split: 'heldOut', heldOut: 3, seed: 0 },
      algorithm: kind === 'ppo' ? { kind, hidden: [8], numSteps: 20, numMinibatches: 2, updateEpochs: 1 } : { kind, hidden: [8], batchSize: 4, learningStarts: 20 },
      steps: 40,
      numEnvs: 3,
      shardSize: 3,
      workers: 1,
      seed: 0,
      out,
    },
    'test',
  );

beforeAll(async () => {
  await collect(collection('ppo', ppoDir), { out: ppoDir, silent: true });
  await collect(collection('sac', sacDir), { out: sacDir, silent: true });
}, 60_000);

describe('ppo-policy: the final PPO policies of a ppo collection as the expert', () => {
  it('plays on each task the greedy action of the policy file of that task, whatever the order', async () => {
    const agent = await makeEvalAgent({ type: 'ppo-policy', checkpoint: ppoDir }, { source: 'test' });
    expect(agent.name).toBe('ppo-policy');
    expect((agent as LearnerPolicyAgent).tasks.map(taskKey)).toEqual(split.heldOut.map(taskKey));
    const order = [2, 0, 1];
    const env = getFamily('point-robot').make(3, {}, new Rng(0));
    env.setTasks(order.map((j) => split.heldOut[j]));
    env.reset();
    // a state where the policies differ (every episode starts at the origin)
    const obs = new Float32Array([0.3, -0.2, -0.5, 0.1, 0.05, 0.4]);
    agent.reset(env, new Rng(0));
    const out = new Float32Array(6);
    agent.act(obs, out);
    const files = readdirSync(ppoDir).filter((f) => f.startsWith('policy-')).sort();
    order.forEach((j, i) => {
      const p = loadPolicy(join(ppoDir, files[j]));
      expect(p.kind).toBe('ppo');
      const want = new Float32Array(2);
      p.actGreedy(obs.subarray(2 * i, 2 * i + 2), want);
      expect([...out.subarray(2 * i, 2 * i + 2)]).toEqual([...want]);
    });
    // the policies of different tasks are different networks
    const a = new Float32Array(2);
    const b = new Float32Array(2);
    loadPolicy(join(ppoDir, files[0])).actGreedy(obs.subarray(0, 2), a);
    loadPolicy(join(ppoDir, files[1])).actGreedy(obs.subarray(0, 2), b);
    expect([...a]).not.toEqual([...b]);
  });

  it("refuses the other learner's policy files and a checkpoint file, naming them", () => {
    expect(() => new LearnerPolicyAgent(ppoDir, 'exact', 'sac')).toThrow(/sac-policy: \S*policy-00000\.safetensors is a ppo policy, not sac \(use ppo-policy\)/);
    expect(() => new LearnerPolicyAgent(sacDir, 'exact', 'ppo')).toThrow(/ppo-policy: \S*policy-00000\.safetensors is a sac policy, not ppo/);
    expect(() => new LearnerPolicyAgent(join(ppoDir, 'policy-00000.safetensors'), 'exact', 'ppo')).toThrow(/ppo-policy: checkpoint \S*policy-00000\.safetensors must be the folder of a ppo collection/);
  });
});

describe('the reach set-up of ad-continuous / dpt-continuous', () => {
  it('takes family=reach, names its learner PPO, and makes the success claims only there', () => {
    expect(reproductions.parseOptions('ad-continuous', { family: 'reach' })).toEqual({ family: 'reach' });
    expect(CONTINUOUS_SETUPS.reach.learner).toBe('PPO');
    expect(expertName('PPO')).toBe('PPO expert');
    expect(sourceName('PPO')).toBe('PPO (source)');
    for (const [model, base] of [['AD', 2], ['DPT', 5]] as const) {
      const claims = continuousClaims(model);
      expect(applicableClaims(claims, { family: 'cheetah-vel' }).length).toBe(base);
      expect(applicableClaims(claims, { family: 'point-robot' }).length).toBe(base);
      const reach = applicableClaims(claims, { family: 'reach' });
      expect(reach.length).toBe(base + 2);
      // each keeps its index in the entry's list (its bootstrap seed): the claims of the other families are unchanged
      expect(reach.map(([, i]) => i)).toEqual(claims.map((_, i) => i));
      const success = reach.slice(base).map(([c]) => c);
      expect(success.map((c) => c.left.metric)).toEqual(['success4', 'success4']);
      expect(success[1]).toMatchObject({ right: { agent: 'PPO expert', metric: 'success4' }, fraction: 0.5 });
      const rows = continuousTable(model).map((r) => `${r.agent}:${r.metric}`);
      expect(rows).toEqual(expect.arrayContaining([`${model}:success4`, 'PPO expert:return1', 'PPO (source):return1', 'expert:success1', 'SAC expert:return1']));
    }
  });

  it('collects, trains and evaluates around the split of Meta-World ML1 by seed 0 (45 / 5)', async () => {
    await import('../src/rl/index.js');
    const s = CONTINUOUS_SETUPS.reach;
    if (s.data.kind !== 'collections') throw new Error('reach: two collections expected');
    const configs = packageConfigs();
    const reach = getFamily('reach').taskSpace({});
    const want = splitTasks(reach, s.data.split);
    expect(resolveTasks(loadCollectConfig(join(configs, s.data.train))).map(taskKey)).toEqual(want.train.map(taskKey));
    expect(resolveTasks(loadCollectConfig(join(configs, s.data.heldOut))).map(taskKey)).toEqual(want.heldOut.map(taskKey));
    for (const m of ['AD', 'DPT'] as const) {
      const tc = readConfigFile(join(configs, s.train[m])) as { data: { family: string; split: unknown } };
      expect(tc.data.family).toBe('reach');
      expect(tc.data.split).toEqual(s.data.split);
    }
    const ec = readConfigFile(join(configs, s.eval)) as { env: { family: string }; tasks: { heldOut: number; seed: number }; online: { episodes: number } };
    expect(ec).toMatchObject({ env: { family: 'reach' }, tasks: { heldOut: 5, seed: 0 } });
    expect(ec.online.episodes).toBeGreaterThanOrEqual(4);
  });
});

describe('the cheetah-vel set-up of ad-continuous / dpt-continuous', () => {
  it("gives DPT 30 training velocities whose first 10 are AD's, all around the split by seed 0 with 5 held out", async () => {
    await import('../src/rl/index.js');
    const s = CONTINUOUS_SETUPS['cheetah-vel'];
    if (s.data.kind !== 'collection' || !s.data.dpt || !s.data.heldOut) throw new Error('cheetah-vel: a collection with a DPT collection and a held-out one expected');
    const configs = packageConfigs();
    const space = getFamily('cheetah-vel').taskSpace({});
    const adTasks = resolveTasks(loadCollectConfig(join(configs, s.data.collect))).map(taskKey);
    const dptTasks = resolveTasks(loadCollectConfig(join(configs, s.data.dpt.collect))).map(taskKey);
    expect(adTasks).toEqual(splitTasks(space, s.data.split).train.map(taskKey));
    expect(dptTasks).toEqual(splitTasks(space, s.data.dpt.split).train.map(taskKey));
    expect(dptTasks.slice(0, adTasks.length)).toEqual(adTasks);
    // the held-out velocities do not depend on how many training ones are drawn
    const held = resolveTasks(loadCollectConfig(join(configs, s.data.heldOut.collect))).map(taskKey);
    expect(held).toEqual(splitTasks(space, s.data.split).heldOut.map(taskKey));
    expect(held).toEqual(splitTasks(space, s.data.dpt.split).heldOut.map(taskKey));
    // the stratified variant (a pilot in docs/results.md): one velocity in every 0.1 m/s, the same held-out 5
    const strat = resolveTasks(loadCollectConfig(join(configs, 'collect-cheetah-vel-sac-dpt-stratified.yaml')));
    expect(strat.map(taskKey)).toEqual(splitTasks(space, { ...s.data.dpt.split, draw: 'stratified' }).train.map(taskKey));
    expect(strat.map((t) => Math.floor((t.params.velocity as number) / 0.1)).sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i));
    expect(splitTasks(space, { ...s.data.dpt.split, draw: 'stratified' }).heldOut.map(taskKey)).toEqual(held);
    for (const [m, split] of [['AD', s.data.split], ['DPT', s.data.dpt.split]] as const) {
      const tc = readConfigFile(join(configs, s.train[m])) as { data: { family: string; split: unknown } };
      expect(tc.data).toMatchObject({ family: 'cheetah-vel', split });
    }
  });
});

describe('the diagnostic held-out velocities of the cheetah-vel entries (--set heldOut=more)', () => {
  it('are 20 unseen velocities of the split by seed 1, none a training velocity of AD or DPT, with their own SAC learners', async () => {
    await import('../src/rl/index.js');
    const s = CONTINUOUS_SETUPS['cheetah-vel'];
    const more = s.moreHeldOut;
    if (s.data.kind !== 'collection' || !s.data.dpt || !more) throw new Error('cheetah-vel: a collection set-up with diagnostic held-out tasks expected');
    const configs = packageConfigs();
    const cv = getFamily('cheetah-vel').taskSpace({});
    const held = splitTasks(cv, more.split).heldOut.map(taskKey);
    expect(held).toHaveLength(20);
    expect(resolveTasks(loadCollectConfig(join(configs, more.collect))).map(taskKey)).toEqual(held);
    const ec = readConfigFile(join(configs, more.eval)) as { env: { family: string }; tasks: { heldOut: number; seed: number }; online: { episodes: number } };
    expect(ec).toMatchObject({ env: { family: 'cheetah-vel' }, tasks: { heldOut: 20, seed: 1 }, online: { episodes: 4 } });
    const trained = new Set([s.data.collect, s.data.dpt.collect].flatMap((c) => resolveTasks(loadCollectConfig(join(configs, c))).map(taskKey)));
    const entryHeld = resolveTasks(loadCollectConfig(join(configs, s.data.heldOut!.collect))).map(taskKey);
    for (const k of held) {
      expect(trained.has(k)).toBe(false);
      expect(entryHeld).not.toContain(k);
    }
  });

  it('are refused on families that have none, before any work', async () => {
    const run = continuousRun('DPT');
    const ctx = { out: join(dir, 'more'), seeds: [0], scale: 'small' as const, options: { family: 'reach', heldOut: 'more' }, progress: false, say: () => {} };
    await expect(run(ctx)).rejects.toThrow(/--set heldOut=more: reach has no diagnostic held-out tasks \(cheetah-vel has\)/);
    expect(() => continuousOptions.parse({ heldOut: 'all' })).toThrow();
  });
});
