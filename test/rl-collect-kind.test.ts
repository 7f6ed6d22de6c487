// `sac` as an `icrl collect` source algorithm: one learner per task of a shard batch, histories with
// final-policy expert_actions and the evaluations over training, per-task policy files, worker
// threads (which import the recorder's module), and a SIGKILLed collection that continues from its
// learners' resume point with the uninterrupted run's results.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { collect, collectConfigSchema, openHistoryCollection, parseCollectConfig, policyFile, readManifest } from '../src/data/index.js';
import { Rng } from '../src/core/rng.js';
import { getFamily, prepareFamily } from '../src/envs/index.js';
import { loadPolicy, loadSacPolicy, PpoAgent, ppoHooks, SacAgent, sacHooks, trainAndRecord } from '../src/rl/index.js';
import { spawnAsync } from './helpers/spawn.js';

const root = join(import.meta.dirname, '..');
const dir = mkdtempSync(join(tmpdir(), 'icrl-rlkind-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const T = 120;
const base = {
  kind: 'histories',
  family: 'point-robot',
  tasks: { count: 4, heldOut: 10, seed: 2 },
  algorithm: { kind: 'sac', hidden: [16, 16], batchSize: 16, learningStarts: 40 },
  steps: T,
  numEnvs: 2,
  shardSize: 2,
  training: { checkpointEvery: 60, evalEvery: 40, evalEpisodes: 1 },
  compression: 1,
  seed: 4,
};

function bytes(a: ArrayBufferView): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

async function readAll(out: string) {
  const parts = await openHistoryCollection(out);
  const hs = [];
  for (const { reader, groups } of parts) {
    for (const g of groups) hs.push(reader.readHistory(g));
    reader.close();
  }
  return hs;
}

describe('collect kind sac', () => {
  it('records histories with final-policy labels, evaluations and policy files; worker threads give the same shards', async () => {
    const out = join(dir, 'here');
    const r = await collect(collectConfigSchema.parse({ ...base, workers: 0 }), { out, silent: true });
    expect(r.manifest.complete).toBe(true);
    const files = readdirSync(out).sort();
    expect(files.filter((f) => f.startsWith('policy-'))).toEqual(['policy-00000.safetensors', 'policy-00001.safetensors', 'policy-00002.safetensors', 'policy-00003.safetensors']);
    expect(files.some((f) => f.includes('resume'))).toBe(false);
    const hs = await readAll(out);
    expect(hs.map((h) => h.taskIndex)).toEqual([0, 1, 2, 3]);
    for (const h of hs) {
      expect(h.actions).toBeInstanceOf(Float32Array);
      expect(h.expertActions).toBeInstanceOf(Float32Array);
      expect(h.actions.length).toBe(T * 2);
      expect(h.algorithm).toMatchObject({ kind: 'sac', hidden: [16, 16] });
      expect([...h.evaluation!.steps]).toEqual([0, 40, 80, 120]);
      expect(h.evaluation!.returns.length).toBe(4);
      expect(h.evaluation!.returns.every((v) => Number.isFinite(v) && v < 0)).toBe(true);
      // the policy file is the learner's final actor: its greedy actions are the history's labels
      const p = loadSacPolicy(policyFile(out, h.taskIndex));
      expect(p.learners).toBe(1);
      expect(p.extra.taskIndex).toBe(h.taskIndex);
      const a = new Float32Array(2);
      for (const t of [0, 77, T - 1]) {
        p.actGreedy(h.observations.subarray(t * 2, t * 2 + 2), a);
        // (one row here, the whole history at once for the labels: the products may round differently in the last bit)
        for (let q = 0; q < 2; q++) expect(a[q], `task ${h.taskIndex} step ${t}`).toBeCloseTo(h.expertActions![t * 2 + q], 6);
      }
    }
    // two shards, one of them computed in a worker thread (compiled dist/, which imports src/rl's recorder)
    if (!existsSync(join(root, 'dist', 'rl', 'collectKinds.js'))) throw new Error('dist/ is not built (test/globalSetup.ts builds it)');
    const w = await collect(collectConfigSchema.parse({ ...base, workers: 2 }), { out: join(dir, 'workers'), silent: true, workerThreadsOnly: true });
    expect(w.computedByWorkers).toBe(2);
    const hw = await readAll(join(dir, 'workers'));
    for (let i = 0; i < 4; i++) for (const k of ['observations', 'actions', 'rewards', 'dones', 'expertActions'] as const) expect(bytes(hw[i][k]!).equals(bytes(hs[i][k]!)), `${k} of task ${i}`).toBe(true);

    // h5py reads the documented layout, expert_actions and evaluations included
    const probe = spawnSync('/usr/bin/python3', ['-c', 'import h5py'], { encoding: 'utf8' });
    if (probe.status !== 0) {
      console.warn('SKIPPED: h5py is not installed for /usr/bin/python3 (apt-get install python3-h5py); CI installs it');
      return;
    }
    const script = `
import h5py, json, sys
g = h5py.File(sys.argv[1], 'r')['1']
print(json.dumps({k: [str(g[k].dtype), list(g[k].shape)] for k in g} | {'algo': json.loads(g.attrs['source-algorithm'])['kind'], 'steps': g['eval_steps'][()].tolist()}))
`;
    const py = spawnSync('/usr/bin/python3', ['-c', script, join(out, 'shard-00000.h5')], { encoding: 'utf8' });
    expect(py.status, py.stderr).toBe(0);
    const o = JSON.parse(py.stdout);
    expect(o.observations).toEqual(['float32', [1, T, 2]]);
    expect(o.actions).toEqual(['float32', [1, T, 2]]);
    expect(o.expert_actions).toEqual(['float32', [1, T, 2]]);
    expect(o.eval_returns).toEqual(['float32', [1, 4]]);
    expect(o.eval_steps).toEqual(['int32', [4]]);
    expect(o.steps).toEqual([0, 40, 80, 120]);
    expect(o.algo).toBe('sac');
  }, 60_000);

  it('a collection SIGKILLed inside a shard continues from the resume point and equals the uninterrupted run', async () => {
    if (!existsSync(join(root, 'dist', 'cli', 'main.js'))) throw new Error('dist/ is not built (test/globalSetup.ts builds it)');
    // one shard of 2 tasks, long enough to be killed after its first resume point
    const config = { ...base, tasks: { count: 2, heldOut: 10, seed: 2 }, steps: 600, training: { checkpointEvery: 100, evalEvery: 300, evalEpisodes: 1 }, workers: 1 };
    const file = join(dir, 'kill.json');
    writeFileSync(file, JSON.stringify(config));
    const out = join(dir, 'killed');
    const child = spawn(process.execPath, [join(root, 'bin', 'icrl.js'), 'collect', file, '--out', out, '--no-progress'], { stdio: 'ignore' });
    const resume = join(out, 'shard-00000.h5.resume-0.safetensors');
    let killed = false;
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && child.exitCode === null) {
      await new Promise((r) => setTimeout(r, 10));
      if (existsSync(resume)) {
        child.kill('SIGKILL');
        killed = true;
        break;
      }
    }
    await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
    expect(killed, 'the run must be killed after its first resume point').toBe(true);
    expect(readManifest(out)!.complete, 'killed before the shard was written (make steps larger if this fails)').toBe(false);
    const r = await spawnAsync(process.execPath, [join(root, 'bin', 'icrl.js'), 'collect', file, '--out', out, '--no-progress']);
    expect(r.status, r.stderr).toBe(0);
    expect(readManifest(out)!.complete).toBe(true);
    expect(existsSync(resume)).toBe(false);
    const ref = join(dir, 'uninterrupted');
    await collect(parseCollectConfig({ ...config, workers: 0 }), { out: ref, silent: true });
    const a = await readAll(out);
    const b = await readAll(ref);
    expect(a.length).toBe(2);
    for (let i = 0; i < 2; i++) {
      for (const k of ['observations', 'actions', 'rewards', 'dones', 'expertActions'] as const) expect(bytes(a[i][k]!).equals(bytes(b[i][k]!)), `${k} of task ${i}`).toBe(true);
      expect([...a[i].evaluation!.returns]).toEqual([...b[i].evaluation!.returns]);
    }
    // the policy files are the same final learners
    for (let i = 0; i < 2; i++) {
      const x = loadSacPolicy(policyFile(out, i));
      const y = loadSacPolicy(policyFile(ref, i));
      const oa = new Float32Array(2);
      const ob = new Float32Array(2);
      x.actGreedy(a[i].observations.subarray(0, 2), oa);
      y.actGreedy(a[i].observations.subarray(0, 2), ob);
      expect([...oa]).toEqual([...ob]);
    }
  }, 90_000);

  it('ppo records discrete histories with greedy labels and evaluations; a run stopped after a resume point continues identically', async () => {
    const ppo = { ...base, family: 'darkroom', envOptions: { size: 5, horizon: 20 }, tasks: { count: 2, heldOut: 0.2, seed: 1 }, algorithm: { kind: 'ppo', numSteps: 32, numMinibatches: 2, updateEpochs: 2 }, steps: 160, training: { checkpointEvery: 40, evalEvery: 80, evalEpisodes: 1 }, workers: 0 };
    const out = join(dir, 'ppo');
    await collect(parseCollectConfig(ppo), { out, silent: true });
    const hs = await readAll(out);
    expect(hs.length).toBe(2);
    for (const h of hs) {
      expect(h.actions).toBeInstanceOf(Int32Array);
      expect(h.expertActions).toBeInstanceOf(Int32Array);
      expect(h.expertActions!.every((a) => Number.isInteger(a) && a >= 0 && a < h.numActions)).toBe(true);
      expect([...h.evaluation!.steps]).toEqual([0, 80, 160]);
      // the policy file is the final actor: its greedy actions are the labels
      const p = loadPolicy(policyFile(out, h.taskIndex));
      expect([p.kind, p.discrete, p.learners]).toEqual(['ppo', true, 1]);
      const a = new Int32Array(1);
      for (const t of [0, 50, 159]) {
        p.actGreedy(h.observations.subarray(t * h.obsDim, (t + 1) * h.obsDim), a);
        expect(a[0], `task ${h.taskIndex} step ${t}`).toBe(h.expertActions![t]);
      }
    }
    expect(readdirSync(out).filter((f) => f.startsWith('policy-'))).toEqual(['policy-00000.safetensors', 'policy-00001.safetensors']);
    expect(readdirSync(out).some((f) => f.includes('resume'))).toBe(false);
    expect(() => loadSacPolicy(policyFile(out, 0))).toThrow(/a ppo policy, not sac/);
    // the loop itself, stopped after its resume point at step 120 (in the middle of a rollout) and run again
    const fam = getFamily('darkroom');
    const tasks = [3, 17].map((goal) => fam.taskSpace({ size: 5 }).enumerate()[goal]);
    const run = (resume: string, onStep?: (t: number) => void) => {
      const env = fam.make(2, { size: 5, horizon: 20 }, new Rng(1).split('make'));
      env.setTasks(tasks);
      const evalEnv = fam.make(2, { size: 5, horizon: 20 }, new Rng(1).split('eval'));
      evalEnv.setTasks(tasks);
      const agent = new PpoAgent({ numSteps: 32, numMinibatches: 2, updateEpochs: 2 });
      return trainAndRecord({ env, evalEnv, agent, ...ppoHooks(agent), steps: 160, rng: new Rng(9), resume, runId: 'ppo-test', checkpointEvery: 40, evalEvery: 80, onStep });
    };
    const whole = run(join(dir, 'ppo-whole.safetensors'));
    const resume = join(dir, 'ppo-resume.safetensors');
    expect(() =>
      run(resume, (t) => {
        if (t === 130) throw new Error('killed');
      }),
    ).toThrow('killed');
    expect(existsSync(resume)).toBe(true);
    let stepped = 0;
    const again = run(resume, () => stepped++);
    expect(stepped, 'continued from the resume point at step 120').toBe(40);
    for (const k of ['observations', 'actions', 'rewards', 'dones', 'expertActions', 'evalReturns'] as const) expect(bytes(again[k]).equals(bytes(whole[k])), k).toBe(true);
  });

  it('sac on a MuJoCo family (random initial states) stopped after a resume point continues identically', async () => {
    await prepareFamily('cheetah-vel');
    const fam = getFamily('cheetah-vel');
    const tasks = [0.5, 2].map((velocity) => ({ family: 'cheetah-vel', params: { velocity } }));
    const run = (resume: string, onStep?: (t: number) => void) => {
      const env = fam.make(2, { horizon: 20 }, new Rng(3).split('make'));
      env.setTasks(tasks);
      const evalEnv = fam.make(2, { horizon: 20 }, new Rng(3).split('eval'));
      evalEnv.setTasks(tasks);
      const agent = new SacAgent({ hidden: [8, 8], batchSize: 8, learningStarts: 30 });
      return trainAndRecord({ env, evalEnv, agent, ...sacHooks(agent), steps: 120, rng: new Rng(4), resume, runId: 'sac-mujoco-test', checkpointEvery: 40, evalEvery: 60, onStep });
    };
    const whole = run(join(dir, 'mj-whole.safetensors'));
    const resume = join(dir, 'mj-resume.safetensors');
    expect(() =>
      run(resume, (t) => {
        if (t === 100) throw new Error('killed');
      }),
    ).toThrow('killed');
    let stepped = 0;
    const again = run(resume, () => stepped++);
    expect(stepped, 'continued from the resume point at step 80').toBe(40);
    for (const k of ['observations', 'actions', 'rewards', 'dones', 'expertActions', 'evalReturns'] as const) expect(bytes(again[k]).equals(bytes(whole[k])), k).toBe(true);
  });

  it('refuses training settings for a source algorithm that does not record its own histories', () => {
    expect(() => parseCollectConfig({ ...base, algorithm: { kind: 'random' } })).toThrow(/training: only for source algorithms that record their own histories \(sac, ppo\), not "random"/);
  });
});
