// Long in-context horizons: the state-space backbone (recurrent decoding equals recomputation,
// gradients), Sink-KV attention (equals attention over an explicitly prepended token) and the
// sliding-window cache (equals attention over the last W positions), for AD and DPT.
import { describe, expect, it } from 'vitest';
import { Rng } from '../src/core/rng.js';
import * as nn from '../src/nn/index.js';
import { CausalSelfAttention, DiagonalSSM, KVCache, SSMState, noGrad, tensor, tidy } from '../src/nn/index.js';
import { makeBatchedEnv } from '../src/envs/index.js';
import { ModelConfigSchema } from '../src/models/config.js';
import { ADAgent, ADModel, DPTAgent, DPTModel, envDims } from '../src/models/index.js';
import { parseTrainConfig } from '../src/train/config.js';
import { contextBenchSection, fitExponent, type ContextBenchLine } from '../src/report/index.js';
import { paramGradError } from './helpers/gradcheck.js';

const cfg = (kind: 'ad' | 'dpt', extra: Record<string, unknown> = {}) => ModelConfigSchema.parse({ kind, layers: 2, dModel: 16, heads: 2, ...extra });

function darkroom(n = 2) {
  const opts = { size: 3, horizon: 4 };
  const env = makeBatchedEnv('darkroom', n, opts, new Rng(10));
  return { env, dims: envDims(env, opts) };
}

/** random AD tokens [B, T, ts] with an episode start every `horizon` steps */
function adTokens(rng: Rng, B: number, T: number, ts: number, horizon: number): Float32Array {
  const x = new Float32Array(B * T * ts);
  for (let i = 0; i < B * T; i++) {
    for (let c = 0; c < ts - 1; c++) x[i * ts + c] = rng.uniform() < 0.3 ? 1 : 0;
    x[i * ts + ts - 1] = (i % T) % horizon === 0 ? 1 : 0;
  }
  return x;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** outputs of a model fed in chunks of the given sizes through one cache, concatenated per row */
function decodeInChunks(model: ADModel, tokens: Float32Array, B: number, T: number, chunks: number[]): Float32Array {
  const ts = model.tokenSize;
  const A = model.outSize;
  const cache = model.backbone.createCache(B, T);
  const out = new Float32Array(B * T * A);
  let t0 = 0;
  for (const n of chunks) {
    const part = new Float32Array(B * n * ts);
    for (let b = 0; b < B; b++) part.set(tokens.subarray((b * T + t0) * ts, (b * T + t0 + n) * ts), b * n * ts);
    const y = noGrad(() => tidy(() => model.forward(part, B, n, cache).toArray()));
    for (let b = 0; b < B; b++) out.set(y.subarray(b * n * A, (b + 1) * n * A), (b * T + t0) * A);
    t0 += n;
  }
  expect(t0).toBe(T);
  expect(cache.length).toBe(T);
  return out;
}

describe('state-space backbone', () => {
  for (const reset of ['none', 'episode'] as const) {
    it(`AD-SSM: recurrent decoding (one step at a time, and in chunks) equals the full scan (reset ${reset})`, () => {
      const { dims } = darkroom();
      const model = new ADModel(cfg('ad', { backbone: 'ssm', ssm: { stateSize: 12, reset } }), dims, 40, new Rng(3));
      expect(model.backbone.pos).toBeNull();
      expect(model.backbone.unbounded).toBe(true);
      const B = 2;
      const T = 40;
      const tokens = adTokens(new Rng(4), B, T, model.tokenSize, 4);
      const full = noGrad(() => tidy(() => model.forward(tokens, B, T).toArray()));
      const steps = decodeInChunks(model, tokens, B, T, new Array<number>(T).fill(1));
      const chunks = decodeInChunks(model, tokens, B, T, [7, 1, 1, 20, 11]);
      expect(maxAbsDiff(steps, full)).toBeLessThan(2e-5);
      expect(maxAbsDiff(chunks, full)).toBeLessThan(2e-5);
    });
  }

  it('episode resets make each episode independent of the ones before it', () => {
    const { dims } = darkroom();
    const model = new ADModel(cfg('ad', { backbone: 'ssm', ssm: { reset: 'episode' } }), dims, 12, new Rng(5));
    const tokens = adTokens(new Rng(6), 1, 12, model.tokenSize, 4);
    const other = Float32Array.from(tokens);
    for (let c = 0; c < 4 * model.tokenSize - 1; c++) other[c] = 1 - other[c]; // change the first episode only
    other[4 * model.tokenSize - 1] = tokens[4 * model.tokenSize - 1];
    const a = noGrad(() => tidy(() => model.forward(tokens, 1, 12).toArray()));
    const b = noGrad(() => tidy(() => model.forward(other, 1, 12).toArray()));
    const A = model.outSize;
    expect(maxAbsDiff(a.subarray(4 * A), b.subarray(4 * A))).toBeLessThan(1e-6);
    expect(maxAbsDiff(a.subarray(0, 4 * A), b.subarray(0, 4 * A))).toBeGreaterThan(1e-3);
  });

  it('the state is O(1): its size does not depend on the context length', () => {
    const s = new SSMState(4, 32, 3);
    expect(s.bytes).toBe(4 * 4 * 32 * 3);
  });

  it('DiagonalSSM: finite-difference gradients of its parameters (log λ, log Δ, B, C, D)', () => {
    const layer = new DiagonalSSM(4, new Rng(8), { stateSize: 3, dtMin: 0.05, dtMax: 0.5 });
    const x = nn.keep(tensor(Float32Array.from({ length: 2 * 6 * 4 }, (_, i) => Math.sin(i * 1.7)), [2, 6, 4]));
    const R = Float32Array.from({ length: 2 * 6 * 4 }, (_, i) => Math.cos(i * 0.9));
    expect(paramGradError(() => layer.forward(x), layer.parameters(), R)).toBeLessThan(1);
  });

  it('AD-SSM agent plays past its training window without re-encoding, equal to recomputation over the whole history', () => {
    const { env, dims } = darkroom();
    const model = new ADModel(cfg('ad', { backbone: 'ssm' }), dims, 8, new Rng(11));
    const agent = new ADAgent(model, { actionSelection: 'greedy' });
    env.reset(1);
    agent.reset(env, new Rng(12));
    const N = 2;
    const ts = model.tokenSize;
    const ctx: number[][] = [[], []];
    const actions = new Int32Array(N);
    let prevA = [-1, -1];
    let prevR = [0, 0];
    let start = [1, 1];
    for (let t = 0; t < 20; t++) {
      for (let i = 0; i < N; i++) {
        const tok = new Array<number>(ts).fill(0);
        tok[env.obs[2 * i]] = 1;
        tok[3 + env.obs[2 * i + 1]] = 1;
        if (prevA[i] >= 0) {
          tok[6 + prevA[i]] = 1;
          tok[11] = prevR[i];
          tok[12] = 1;
        }
        tok[13] = start[i];
        ctx[i].push(...tok);
      }
      agent.act(env.obs, actions);
      const L = ctx[0].length / ts;
      const full = noGrad(() => tidy(() => model.forward(Float32Array.from([...ctx[0], ...ctx[1]]), N, L).toArray()));
      for (let i = 0; i < N; i++) {
        const o = (i * L + L - 1) * 5;
        let best = 0;
        for (let a = 1; a < 5; a++) if (full[o + a] > full[o + best]) best = a;
        expect(actions[i]).toBe(best);
      }
      env.step(actions);
      agent.observe({ actions, rewards: env.rewards, obs: env.obs, terminated: env.terminated, truncated: env.truncated });
      prevA = [actions[0], actions[1]];
      prevR = [env.rewards[0], env.rewards[1]];
      start = [env.truncated[0], env.truncated[1]];
    }
    expect(agent.slides).toBe(0);
    expect(agent.contextSize).toBe(20);
  });

  it('DPT-SSM: the cached prediction equals the naive recomputation', () => {
    const dims = envDims(makeBatchedEnv('bandit', 1, { arms: 5 }, new Rng(0)), { arms: 5 });
    const model = new DPTModel(cfg('dpt', { backbone: 'ssm' }), dims, 16, new Rng(7));
    const N = 3;
    const env = makeBatchedEnv('bandit', N, { arms: 5 }, new Rng(8));
    const agent = new DPTAgent(model, { actionSelection: 'greedy' });
    agent.reset(env, new Rng(9));
    const actions = new Int32Array(N);
    const ts = model.tokenSize;
    const hist: number[][] = Array.from({ length: N }, () => []);
    for (let t = 0; t < 10; t++) {
      agent.act(env.obs, actions);
      const packed = new Float32Array(N * t * ts);
      for (let i = 0; i < N; i++) packed.set(hist[i], i * t * ts);
      const pred = noGrad(() => tidy(() => model.predictNaive(packed, N, t, new Float32Array(N * model.querySize)).toArray()));
      for (let i = 0; i < N; i++) {
        let best = 0;
        for (let a = 1; a < 5; a++) if (pred[i * 5 + a] > pred[i * 5 + best]) best = a;
        expect(actions[i]).toBe(best);
      }
      env.step(actions);
      for (let i = 0; i < N; i++) {
        const tok = new Array<number>(ts).fill(0);
        tok[1 + actions[i]] = 1;
        tok[6] = env.rewards[i];
        tok[7 + actions[i]] = env.rewards[i];
        hist[i].push(...tok);
      }
      agent.observe({ actions, rewards: env.rewards, obs: env.obs, terminated: env.terminated, truncated: env.truncated });
    }
  });
});

/** softmax attention of one head computed by hand in double precision */
function naiveAttention(q: Float32Array, keys: Float32Array[], values: Float32Array[], scale: number): Float64Array {
  const s = keys.map((k) => k.reduce((acc, kv, i) => acc + kv * q[i], 0) * scale);
  const m = Math.max(...s);
  const e = s.map((v) => Math.exp(v - m));
  const z = e.reduce((a, b) => a + b, 0);
  const o = new Float64Array(q.length);
  values.forEach((v, j) => v.forEach((x, i) => (o[i] += (e[j] / z) * x)));
  return o;
}

/**
 * The attention output (before the output projection) of a layer on x [1, T, d], recomputed by
 * hand: keys and values from the layer's qkv projection with an explicit token prepended whose key
 * is the layer's sink key and whose value is `sinkValue`; each query sees the prepended token and
 * the positions max(0, i - window + 1) .. i.
 */
function explicitSinkAttention(layer: CausalSelfAttention, x: nn.Tensor, sinkValue: Float32Array, window: number): Float32Array {
  const [, T, d] = x.shape;
  const H = layer.nHeads;
  const hd = d / H;
  const qkv = noGrad(() => layer.qkv.forward(x).toArray());
  const out = new Float32Array(T * d);
  for (let h = 0; h < H; h++)
    for (let i = 0; i < T; i++) {
      const row = (t: number, part: number) => qkv.slice(t * 3 * d + part * d + h * hd, t * 3 * d + part * d + (h + 1) * hd);
      const keys = [layer.sinkKey!.data.slice(h * hd, (h + 1) * hd)];
      const values = [sinkValue.slice(h * hd, (h + 1) * hd)];
      for (let j = window > 0 ? Math.max(0, i - window + 1) : 0; j <= i; j++) {
        keys.push(row(j, 1));
        values.push(row(j, 2));
      }
      out.set(naiveAttention(row(i, 0), keys, values, 1 / Math.sqrt(hd)), i * d + h * hd);
    }
  return out;
}

/** a layer's output with its attention output replaced by `a` (the projection only) */
function project(layer: CausalSelfAttention, a: Float32Array, T: number): Float32Array {
  return noGrad(() => tidy(() => layer.proj.forward(tensor(a, [1, T, layer.dim])).toArray()));
}

describe('Sink-KV attention', () => {
  it('a learned sink key with a zero value equals attention over an explicitly prepended token with zero value', () => {
    const layer = new CausalSelfAttention(8, 2, new Rng(21), 0, { sink: 'key' });
    expect(layer.sinkValue).toBeNull();
    const x = tensor(Float32Array.from({ length: 9 * 8 }, (_, i) => Math.sin(i * 0.37) * 2), [1, 9, 8]);
    const y = noGrad(() => tidy(() => layer.forward(x).toArray()));
    const ref = project(layer, explicitSinkAttention(layer, x, new Float32Array(8), 0), 9);
    expect(maxAbsDiff(y, ref)).toBeLessThan(1e-5);
    // the sink matters: without it the output differs
    const plain = new CausalSelfAttention(8, 2, new Rng(21), 0);
    expect(maxAbsDiff(y, noGrad(() => tidy(() => plain.forward(x).toArray())))).toBeGreaterThan(1e-3);
  });

  it('a learned sink key and value equals attention over a prepended token with that value; both get gradients', () => {
    const layer = new CausalSelfAttention(8, 2, new Rng(22), 0, { sink: 'key-value' });
    layer.sinkValue!.data.set(Float32Array.from({ length: 8 }, (_, i) => i - 3.5));
    const x = tensor(Float32Array.from({ length: 2 * 7 * 8 }, (_, i) => Math.cos(i * 0.21)), [2, 7, 8]);
    const y = noGrad(() => tidy(() => layer.forward(x).toArray()));
    const x0 = tensor(x.data.subarray(0, 7 * 8), [1, 7, 8]);
    const ref = project(layer, explicitSinkAttention(layer, x0, layer.sinkValue!.data, 0), 7);
    expect(maxAbsDiff(y.subarray(0, 7 * 8), ref)).toBeLessThan(1e-5);
    tidy(() => nn.sum(layer.forward(x)).backward());
    expect(layer.sinkKey!.grad!.data.some((v) => v !== 0)).toBe(true);
    expect(layer.sinkValue!.grad!.data.some((v) => v !== 0)).toBe(true);
  });

  it('the sink key gradient matches finite differences', () => {
    const layer = new CausalSelfAttention(4, 1, new Rng(23), 0, { sink: 'key' });
    const x = tensor(Float32Array.from({ length: 5 * 4 }, (_, i) => Math.sin(i)), [1, 5, 4]);
    const R = Float32Array.from({ length: 5 * 4 }, (_, i) => Math.cos(2 * i));
    const lossOf = () => noGrad(() => tidy(() => layer.forward(x).toArray().reduce((s, v, i) => s + v * R[i], 0)));
    tidy(() => layer.forward(x).backward(R));
    const g = layer.sinkKey!.grad!.toArray();
    for (let i = 0; i < 4; i++) {
      const o = layer.sinkKey!.data[i];
      layer.sinkKey!.data[i] = o + 1e-2;
      const up = lossOf();
      layer.sinkKey!.data[i] = o - 1e-2;
      const down = lossOf();
      layer.sinkKey!.data[i] = o;
      expect(Math.abs(g[i] - (up - down) / 2e-2)).toBeLessThan(3e-3 + 3e-2 * Math.abs((up - down) / 2e-2));
    }
  });

  it('a sliding window with a sink equals attention over the sink and the last W positions', () => {
    const layer = new CausalSelfAttention(8, 2, new Rng(24), 0, { sink: 'key', window: 3 });
    const x = tensor(Float32Array.from({ length: 10 * 8 }, (_, i) => Math.sin(i * 0.53) * 1.5), [1, 10, 8]);
    const y = noGrad(() => tidy(() => layer.forward(x).toArray()));
    const ref = project(layer, explicitSinkAttention(layer, x, new Float32Array(8), 3), 10);
    expect(maxAbsDiff(y, ref)).toBeLessThan(1e-5);
  });

  it('AD with Sink-KV: cached decoding equals the full forward pass', () => {
    const { dims } = darkroom();
    const model = new ADModel(cfg('ad', { attention: { sink: 'key' } }), dims, 24, new Rng(25));
    const tokens = adTokens(new Rng(26), 2, 24, model.tokenSize, 4);
    const full = noGrad(() => tidy(() => model.forward(tokens, 2, 24).toArray()));
    expect(maxAbsDiff(decodeInChunks(model, tokens, 2, 24, new Array<number>(24).fill(1)), full)).toBeLessThan(2e-5);
    expect(maxAbsDiff(decodeInChunks(model, tokens, 2, 24, [10, 1, 13]), full)).toBeLessThan(2e-5);
  });
});

describe('sliding-window cache', () => {
  for (const sink of ['none', 'key'] as const) {
    it(`AD with a window of 5 (sink ${sink}): the ring cache, step by step and in chunks that wrap, equals the full windowed pass`, () => {
      const { dims } = darkroom();
      const model = new ADModel(cfg('ad', { positions: 'none', attention: { sink, window: 5 } }), dims, 8, new Rng(27));
      expect(model.backbone.unbounded).toBe(true);
      const cache = model.backbone.createCache(2) as KVCache;
      expect(cache.slots).toBe(5 + (sink === 'key' ? 1 : 0));
      const T = 23;
      const tokens = adTokens(new Rng(28), 2, T, model.tokenSize, 4);
      const full = noGrad(() => tidy(() => model.forward(tokens, 2, T).toArray()));
      expect(maxAbsDiff(decodeInChunks(model, tokens, 2, T, new Array<number>(T).fill(1)), full)).toBeLessThan(2e-5);
      expect(maxAbsDiff(decodeInChunks(model, tokens, 2, T, [3, 4, 1, 9, 6]), full)).toBeLessThan(2e-5);
    });
  }

  it('the windowed cache memory stays at W slots however long the context', () => {
    const c = new KVCache(2, 1000, 16, 3, { sinks: 1, window: 64 });
    expect(c.bytes).toBe(8 * 2 * 65 * 16 * 3);
    c.length = 100000;
    expect(c.fits(1)).toBe(true);
  });
});

describe('backbone options in configs', () => {
  const base = {
    name: 't',
    out: 'runs/t',
    data: { family: 'darkroom', split: { heldOut: 20 }, ad: { source: { kind: 'rmax' }, episodes: 4, windowEpisodes: 2 } },
    optim: { steps: 1, batchSize: 2, lr: 0.001 },
  };
  it('refuses options that do not fit the backbone, naming the field', () => {
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ backbone: 'ssm', attention: { sink: 'key' } }, /model\.attention/],
      [{ ssm: { stateSize: 8 } }, /model\.ssm/],
      [{ backbone: 'ssm', positions: 'learned' }, /model\.positions/],
      [{ attention: { window: 100 } }, /model\.attention\.window.*positions: none/],
      [{ backbone: 'ssm', ssm: { dtMin: 0.5, dtMax: 0.1 } }, /dtMax/],
    ];
    for (const [extra, re] of bad) expect(() => parseTrainConfig({ ...base, model: { kind: 'ad', layers: 1, dModel: 8, heads: 2, ...extra } })).toThrow(re);
    expect(() => parseTrainConfig({ ...base, model: { kind: 'dpt', layers: 1, dModel: 8, heads: 2, backbone: 'ssm', ssm: { reset: 'episode' } } })).toThrow(/model\.ssm\.reset/);
    expect(parseTrainConfig({ ...base, model: { kind: 'ad', layers: 1, dModel: 8, heads: 2, positions: 'none', attention: { sink: 'key-value', window: 100 } } }).model.attention).toEqual({ sink: 'key-value', window: 100 });
  });
});

describe('bench:context report section', () => {
  it('fits the exponent of a power law and draws one line per variant on log-log axes', () => {
    expect(fitExponent([1, 4, 16].map((c) => ({ context: c, value: 3 * c ** 0.5 })))).toBeCloseTo(0.5, 10);
    expect(fitExponent([{ context: 4, value: 1 }])).toBeNull();
    const lines: ContextBenchLine[] = [
      { kind: 'point', variant: 'ssm', phase: 'eval_step', context: 512, value: 1, unit: 'ms per step', bytes: 10 },
      { kind: 'point', variant: 'ssm', phase: 'eval_step', context: 4096, value: 1.1, unit: 'ms per step', bytes: 10 },
      { kind: 'point', variant: 'transformer-dense', phase: 'eval_step', context: 512, value: 1, unit: 'ms per step', bytes: 10 },
      { kind: 'point', variant: 'transformer-dense', phase: 'train_token', context: 65536, unit: 'µs per token', skipped: 'projected 900 s per measured step' },
      { kind: 'goal', goal: 'g', holds: true },
    ];
    const sec = contextBenchSection(lines);
    const evalChart = sec.charts![0].option as { xAxis: { type: string }; series: { name: string; data: number[][] }[] };
    expect(evalChart.xAxis.type).toBe('log');
    expect(evalChart.series.map((s) => s.name)).toEqual(['ssm', 'transformer-dense']);
    expect(evalChart.series[0].data).toEqual([[512, 1], [4096, 1.1]]);
    expect(sec.text!.some((t) => t.includes('65536') && t.includes('projected 900 s'))).toBe(true);
    expect(sec.tables![2].rows).toEqual([['g', 'yes', 'not measured']]);
  });
});
