#!/usr/bin/env node
// In-context evaluation throughput (docs/protocols.md, "Benchmarks: how figures are taken"):
// model-in-the-loop steps per second for DPT on 200 bandits x 500 steps, with the key/value cache
// (src/models/agents.ts: one new token per step) against the naive method that re-runs the whole
// context at every step, measured in the same run on the same bandits. The model has the dpt-bandit
// shape (4 layers, d_model 32, 1 head) with seeded random weights: throughput does not depend on the
// weights, only on the shapes.
// Prints one JSON line. Options: --bandits N (200), --steps T (500), --naive-bandits N (20 by
// default: the naive method re-encodes up to 200 x 500 tokens per step and takes many minutes on 200
// bandits on 2 cores; its rate is measured over all 500 steps of its bandits, in bandit-steps per
// second like the cached rate; pass --naive-bandits 200 for the full-size comparison).
import { parseArgs } from 'node:util';
import { existsSync } from 'node:fs';

const root = new URL('..', import.meta.url);
if (!existsSync(new URL('dist/models/index.js', root))) {
  process.stderr.write('bench:eval: the project is not built; run `npm run build` first\n');
  process.exit(1);
}
const { Rng } = await import(new URL('dist/core/rng.js', root).href);
const { makeBatchedEnv } = await import(new URL('dist/envs/index.js', root).href);
const { DPTModel, DPTAgent, envDims, writeDptToken, writeObs } = await import(new URL('dist/models/index.js', root).href);
const { ModelConfigSchema } = await import(new URL('dist/train/config.js', root).href);
const { noGrad, tidy, wasmAvailable, kernels } = await import(new URL('dist/nn/index.js', root).href);

const { values } = parseArgs({
  options: {
    bandits: { type: 'string', default: '200' },
    steps: { type: 'string', default: '500' },
    'naive-bandits': { type: 'string' },
  },
});
const N = Number(values.bandits);
const T = Number(values.steps);
const NN = Number(values['naive-bandits'] ?? 20);

const envOptions = { arms: 5, noiseSd: 0.3 };
const cfg = ModelConfigSchema.parse({ kind: 'dpt', layers: 4, dModel: 32, heads: 1 });
const dims = envDims(makeBatchedEnv('bandit', 1, envOptions, new Rng(0)), envOptions);
const model = new DPTModel(cfg, dims, T, new Rng(1));
model.eval();

function choose(pred, n, out) {
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let a = 1; a < 5; a++) if (pred[i * 5 + a] > pred[i * 5 + best]) best = a;
    out[i] = best;
  }
}

// cached: the model agent itself (greedy, so both methods take the same actions)
function runCached(n) {
  const env = makeBatchedEnv('bandit', n, envOptions, new Rng(2));
  env.reset(3);
  const agent = new DPTAgent(model, { actionSelection: 'greedy' });
  const actions = new Int32Array(n);
  const t0 = performance.now();
  agent.reset(env, new Rng(4));
  const taken = [];
  for (let t = 0; t < T; t++) {
    agent.act(env.obs, actions);
    taken.push(Int32Array.from(actions));
    env.step(actions);
    agent.observe({ actions, rewards: env.rewards, obs: env.obs, terminated: env.terminated, truncated: env.truncated });
  }
  return { seconds: (performance.now() - t0) / 1000, taken };
}

// naive: every step re-encodes [start, t_1..t_t] for each of its n bandits and reads the last
// prediction. It steps the same N-bandit environment as the cached run (same tasks, same reward noise
// stream); bandits n..N-1 replay the cached run's actions, so the two methods must choose identical
// actions on the first n bandits (checked below: same_actions).
function runNaive(n, replay) {
  const env = makeBatchedEnv('bandit', N, envOptions, new Rng(2));
  env.reset(3);
  const all = new Int32Array(N);
  const ts = model.tokenSize;
  const tokens = new Float32Array(n * T * ts); // [n, T, ts]; the first t rows of each bandit are filled
  const packed = new Float32Array(n * T * ts);
  const queries = new Float32Array(n * model.querySize);
  const actions = new Int32Array(n);
  const taken = [];
  const t0 = performance.now();
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < n; i++) writeObs(dims, env.obs, i, queries, i * model.querySize);
    for (let i = 0; i < n; i++) packed.set(tokens.subarray(i * T * ts, (i * T + t) * ts), i * t * ts);
    const pred = noGrad(() => tidy(() => model.predictNaive(packed.subarray(0, n * t * ts), n, t, queries).toArray()));
    choose(pred, n, actions);
    taken.push(Int32Array.from(actions));
    const prev = Float32Array.from(env.obs);
    all.set(replay[t]);
    all.set(actions);
    env.step(all);
    for (let i = 0; i < n; i++) writeDptToken(dims, prev, i, actions, i, env.rewards[i], env.finalObs, i, tokens, (i * T + t) * ts);
  }
  return { seconds: (performance.now() - t0) / 1000, taken };
}

runCached(Math.min(N, 8)); // warm-up (JIT, kernels)
const cached = runCached(N);
const naive = runNaive(Math.min(NN, N), cached.taken);
// both methods must choose the same actions (same model, same bandits, greedy)
let agree = 0;
let total = 0;
for (let t = 0; t < T; t++)
  for (let i = 0; i < Math.min(N, NN); i++) {
    agree += cached.taken[t][i] === naive.taken[t][i] ? 1 : 0;
    total++;
  }
const cachedRate = (N * T) / cached.seconds;
const naiveRate = (NN * T) / naive.seconds;
process.stdout.write(
  JSON.stringify({
    bench: 'eval',
    model: 'dpt-bandit shape: 4 layers, d_model 32, 1 head (random weights)',
    kernels: wasmAvailable() && kernels().name !== 'reference' ? 'wasm' : 'reference',
    bandits: N,
    steps: T,
    cached_steps_per_s: Math.round(cachedRate),
    cached_seconds: Number(cached.seconds.toFixed(2)),
    naive_bandits: NN,
    naive_steps_per_s: Math.round(naiveRate),
    naive_seconds: Number(naive.seconds.toFixed(2)),
    speedup: Number((cachedRate / naiveRate).toFixed(1)),
    same_actions: Number((agree / total).toFixed(4)),
  }) + '\n',
);
