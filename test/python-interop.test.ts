/**
 * python/icrl_torch: our models in PyTorch. A DPT trained by our trainer and an AD model (weights
 * drawn at random, layer norms included) are loaded into PyTorch by python/compare_logits.py, which
 * must give the action logits of our engine to 1e-5 on the same contexts; the model it saves back is
 * loaded by our engine and gives the same logits again (PyTorch -> icrl). The h5py reader of
 * histories reads a file we wrote. Needs Debian's python3-torch, python3-numpy and python3-h5py
 * (CI installs them); skipped with a message where they are missing.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnAsync } from './helpers/spawn.js';
import { Rng } from '../src/core/rng.js';
import { loadSafetensors, saveSafetensors, noGrad } from '../src/nn/index.js';
import { ADModel, DPTModel, ModelConfigSchema, buildModel, envDims, loadInContextModel, saveInContextModel, writeDptToken, type InContextModel } from '../src/models/index.js';
import { makeBatchedEnv } from '../src/envs/index.js';
import { parseTrainConfig, trainFromConfig } from '../src/train/index.js';
import { writeHistories } from '../src/data/store.js';
import { h5ready } from '../src/data/h5.js';

const PY = '/usr/bin/python3';
const SCRIPT = join(import.meta.dirname, '..', 'python', 'compare_logits.py');
const probe = existsSync(PY) ? await spawnAsync(PY, ['-c', 'import torch, numpy, h5py']) : null;
const havePy = probe !== null && probe.status === 0;
if (!havePy) process.stderr.write(`python-interop.test: SKIPPED: ${PY} cannot import torch, numpy and h5py (apt-get install python3-torch python3-numpy python3-h5py; CI installs them)\n`);

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

async function runPython(modelDir: string, inputs: string, outputs: string, saveDir: string): Promise<{ kind: string; shape: number[] }> {
  const r = await spawnAsync(PY, [SCRIPT, modelDir, inputs, outputs, saveDir]);
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as { kind: string; shape: number[] };
}

function dptLogits(model: InContextModel, tokens: Float32Array, B: number, T: number, queries: Float32Array): Float32Array {
  return noGrad(() => Float32Array.from((model as DPTModel).forwardAll(tokens, B, T, queries).data));
}

describe.skipIf(!havePy)('PyTorch interop (python/icrl_torch)', () => {
  it('a trained DPT (a two-hidden-layer head) gives the same action logits in PyTorch as in our engine (1e-5), and back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'icrl-py-'));
    try {
      const arms = 4;
      await trainFromConfig(
        parseTrainConfig({
          name: 'py-dpt',
          seed: 2,
          out: join(dir, 'run'),
          model: { kind: 'dpt', layers: 2, dModel: 16, heads: 4, countFeatures: true, headLayers: 2 },
          data: { family: 'bandit', envOptions: { arms }, split: { seed: 0, heldOut: 4, train: 64 }, validationFraction: 0.1, dpt: { samples: 128, contextLength: 10 } },
          optim: { steps: 20, batchSize: 8, lr: 1e-2, warmupSteps: 2 },
          logEvery: 10,
          checkpointEvery: 20,
        }),
        { progressBar: false },
      );
      const { model } = loadInContextModel(join(dir, 'run'));
      const m = model as DPTModel;
      // contexts as the agent builds them: bandit transitions (s, a, r, s') with random arms and rewards
      const B = 3;
      const T = 10;
      const rng = new Rng(7);
      const dims = m.dims;
      const s = new Float32Array(dims.obsDim);
      const tokens = new Float32Array(B * T * m.tokenSize);
      for (let i = 0; i < B * T; i++) writeDptToken(dims, s, 0, [rng.int(arms)], 0, rng.normal(0.5, 0.5), s, 0, tokens, i * m.tokenSize);
      const queries = new Float32Array(B * m.querySize);
      const ours = dptLogits(m, tokens, B, T, queries);
      const inputs = join(dir, 'inputs.safetensors');
      saveSafetensors(inputs, { tokens: { shape: [B, T, m.tokenSize], data: tokens }, queries: { shape: [B, m.querySize], data: queries } });
      const info = await runPython(join(dir, 'run'), inputs, join(dir, 'out.safetensors'), join(dir, 'from-torch'));
      expect(info.kind).toBe('dpt');
      expect(info.shape).toEqual([B, T + 1, arms]);
      const theirs = loadSafetensors(join(dir, 'out.safetensors')).tensors.get('logits')!.data;
      const diff = maxAbsDiff(ours, theirs);
      process.stderr.write(`python-interop: DPT max |logit difference| ours vs PyTorch = ${diff.toExponential(2)}\n`);
      expect(diff).toBeLessThan(1e-5);
      expect(Math.max(...ours.map(Math.abs))).toBeGreaterThan(0.1); // not trivially zero
      // PyTorch -> icrl: the folder saved from PyTorch loads in our engine with the same weights
      const back = loadInContextModel(join(dir, 'from-torch')).model;
      expect(maxAbsDiff(ours, dptLogits(back, tokens, B, T, queries))).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an AD model (random weights, learned positions) gives the same logits in PyTorch', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'icrl-pyad-'));
    try {
      const env = makeBatchedEnv('darkroom', 1, {});
      const dims = envDims(env, {});
      const cfg = ModelConfigSchema.parse({ kind: 'ad', layers: 2, dModel: 16, heads: 2, ffnMult: 2 });
      const model = buildModel({ model: cfg, dims, contextLength: 12 }, new Rng(3)) as ADModel;
      // every tensor random, so that a layer norm or bias loaded in the wrong place shows
      const rng = new Rng(4);
      for (const p of model.parameters()) for (let i = 0; i < p.data.length; i++) p.data[i] = rng.normal(0, 0.3);
      saveInContextModel(join(dir, 'ad'), model);
      const B = 2;
      const T = 12;
      const tokens = new Float32Array(B * T * model.tokenSize);
      for (let i = 0; i < tokens.length; i++) tokens[i] = rng.uniform() < 0.2 ? 1 : 0;
      model.eval();
      const ours = noGrad(() => Float32Array.from(model.forward(tokens, B, T).data));
      const inputs = join(dir, 'in.safetensors');
      saveSafetensors(inputs, { tokens: { shape: [B, T, model.tokenSize], data: tokens } });
      const info = await runPython(join(dir, 'ad'), inputs, join(dir, 'out.safetensors'), join(dir, 'back'));
      expect(info.shape).toEqual([B, T, dims.numActions]);
      const diff = maxAbsDiff(ours, loadSafetensors(join(dir, 'out.safetensors')).tensors.get('logits')!.data);
      process.stderr.write(`python-interop: AD max |logit difference| ours vs PyTorch = ${diff.toExponential(2)}\n`);
      expect(diff).toBeLessThan(1e-5);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a DPT with the query state in the sequence (model.queryToken; random weights, random queries) gives the same logits in PyTorch', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'icrl-pyqt-'));
    try {
      const env = makeBatchedEnv('darkroom', 1, {});
      const dims = envDims(env, {});
      const cfg = ModelConfigSchema.parse({ kind: 'dpt', layers: 2, dModel: 16, heads: 2, queryToken: true });
      const model = buildModel({ model: cfg, dims, contextLength: 6 }, new Rng(5)) as DPTModel;
      const rng = new Rng(6);
      for (const p of model.parameters()) for (let i = 0; i < p.data.length; i++) p.data[i] = rng.normal(0, 0.3);
      saveInContextModel(join(dir, 'dpt'), model);
      const B = 2;
      const T = 6;
      const tokens = new Float32Array(B * T * model.tokenSize).map(() => (rng.uniform() < 0.2 ? 1 : 0));
      const queries = new Float32Array(B * model.querySize).map(() => (rng.uniform() < 0.3 ? 1 : 0));
      model.eval();
      const ours = dptLogits(model, tokens, B, T, queries);
      const inputs = join(dir, 'in.safetensors');
      saveSafetensors(inputs, { tokens: { shape: [B, T, model.tokenSize], data: tokens }, queries: { shape: [B, model.querySize], data: queries } });
      const info = await runPython(join(dir, 'dpt'), inputs, join(dir, 'out.safetensors'), join(dir, 'back'));
      expect(info.shape).toEqual([B, T + 1, dims.numActions]);
      const diff = maxAbsDiff(ours, loadSafetensors(join(dir, 'out.safetensors')).tensors.get('logits')!.data);
      process.stderr.write(`python-interop: DPT (queryToken) max |logit difference| ours vs PyTorch = ${diff.toExponential(2)}\n`);
      expect(diff).toBeLessThan(1e-5);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the h5py reader returns our histories (attributes decoded, arrays as written)', async () => {
    await h5ready();
    const dir = mkdtempSync(join(tmpdir(), 'icrl-pyh5-'));
    try {
      const N = 2;
      const T = 30;
      const rng = new Rng(9);
      const actions = new Int32Array(N * T).map(() => rng.int(5));
      const rewards = new Float32Array(N * T).map(() => rng.uniform());
      writeHistories(join(dir, 'shard-00000.h5'), [
        {
          task: { family: 'darkroom', params: { goal: [1, 2] } },
          taskIndex: 3,
          seed: 11,
          algorithm: { kind: 'q-learning' },
          numHistories: N,
          length: T,
          obsDim: 2,
          numActions: 5,
          actDim: 0,
          numStates: 100,
          horizon: 10,
          observations: new Float32Array(N * T * 2).map(() => rng.int(10)),
          states: new Int32Array(N * T).map(() => rng.int(100)),
          actions,
          rewards,
          dones: new Uint8Array(N * T).map((_, i) => ((i % T) + 1) % 10 === 0 ? 1 : 0),
        },
      ]);
      const code = `import sys, json; sys.path.insert(0, ${JSON.stringify(join(import.meta.dirname, '..', 'python'))})
from icrl_torch import read_histories
hs = list(read_histories(sys.argv[1]))
h = hs[0]
print(json.dumps({"n": len(hs), "task": h["attrs"]["task"], "algo": h["attrs"]["source-algorithm"], "shape": list(h["actions"].shape), "actions": h["actions"].ravel().tolist(), "rewards": h["rewards"].ravel().tolist(), "dones": int(h["dones"].sum())}))`;
      const r = await spawnAsync(PY, ['-c', code, dir]);
      expect(r.status, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout) as { n: number; task: unknown; algo: unknown; shape: number[]; actions: number[]; rewards: number[]; dones: number };
      expect(out.n).toBe(1);
      expect(out.task).toEqual({ goal: [1, 2] });
      expect(out.algo).toEqual({ kind: 'q-learning' });
      expect(out.shape).toEqual([N, T]);
      expect(out.actions).toEqual(Array.from(actions));
      expect(out.rewards).toEqual(Array.from(rewards));
      expect(out.dones).toBe(6);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
