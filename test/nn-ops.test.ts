// Finite-difference gradient checks for every op of src/nn, run on the active kernels and on the
// TypeScript reference kernels.
import { describe, expect, it } from 'vitest';
import { Rng } from '../src/core/rng.js';
import * as nn from '../src/nn/index.js';
import { Tensor } from '../src/nn/index.js';

type Op = (xs: Tensor[]) => Tensor;

function randTensor(rng: Rng, shape: number[], sd = 1): Tensor {
  const t = nn.zeros(shape);
  rng.fillNormal(t.data, 0, sd);
  return t;
}

/** max |analytic - numeric| / (atol + rtol |numeric|) over every input coordinate; < 1 passes */
function gradcheck(op: Op, inputs: Tensor[], seed = 1, eps = 1e-2): number {
  const rng = new Rng(seed);
  const xs = inputs.map((t) => {
    const c = nn.tensor(t.data, t.shape, true);
    return nn.keep(c);
  });
  const out0 = nn.noGrad(() => op(xs));
  const R = new Float64Array(out0.size);
  for (let i = 0; i < R.length; i++) R[i] = rng.normal();
  const lossOf = (o: Tensor): number => {
    let s = 0;
    const d = o.data;
    for (let i = 0; i < d.length; i++) s += d[i] * R[i];
    return s;
  };
  nn.tidy(() => {
    const out = op(xs);
    out.backward(Float32Array.from(R));
  });
  let worst = 0;
  for (const x of xs) {
    const g = x.grad ? x.grad.toArray() : new Float32Array(x.size);
    const d = x.data;
    for (let i = 0; i < x.size; i++) {
      const orig = d[i];
      d[i] = orig + eps;
      const up = nn.tidy(() => nn.noGrad(() => lossOf(op(xs))));
      d[i] = orig - eps;
      const down = nn.tidy(() => nn.noGrad(() => lossOf(op(xs))));
      d[i] = orig;
      const num = (up - down) / (2 * eps);
      const err = Math.abs(g[i] - num) / (3e-3 + 3e-2 * Math.abs(num));
      if (err > worst) worst = err;
    }
  }
  return worst;
}

const rng = new Rng(7);
const r = (...shape: number[]) => randTensor(rng, shape);
/** inputs drawn again until no value of `pre` lies within 0.05 of a kink (finite differences straddle kinks) */
function awayFromKinks(make: () => Tensor[], pre: Op, kinks: number[]): Tensor[] {
  for (;;) {
    const xs = make();
    const z = nn.noGrad(() => pre(xs)).data;
    if (!z.some((v) => kinks.some((k) => Math.abs(v - k) < 0.05))) return xs;
  }
}
const fixedNoise = randTensor(new Rng(5), [24]).toArray();
/** the long-context ops draw from their own stream (the other cases' inputs stay as they were) */
const rngLong = new Rng(17);
const rs = (...shape: number[]) => randTensor(rngLong, shape);

const cases: [string, Op, () => Tensor[]][] = [
  ['add', ([a, b]) => nn.add(a, b), () => [r(3, 4), r(3, 4)]],
  ['add broadcast', ([a, b]) => nn.add(a, b), () => [r(2, 3, 4), r(3, 1)]],
  ['sub broadcast', ([a, b]) => nn.sub(a, b), () => [r(4, 1), r(3)]],
  ['mul broadcast', ([a, b]) => nn.mul(a, b), () => [r(2, 3), r(2, 1)]],
  ['div', ([a, b]) => nn.div(a, nn.affine(nn.square(b), 1, 1)), () => [r(2, 3), r(2, 3)]],
  ['addBias', ([a, b]) => nn.addBias(a, b), () => [r(2, 3, 5), r(5)]],
  ['affine', ([a]) => nn.affine(a, -1.5, 2), () => [r(7)]],
  ['relu', ([a]) => nn.relu(a), () => [r(11)]],
  ['gelu', ([a]) => nn.gelu(a), () => [r(13)]],
  ['sigmoid', ([a]) => nn.sigmoid(a), () => [r(6)]],
  ['tanh', ([a]) => nn.tanh(a), () => [r(6)]],
  ['exp', ([a]) => nn.exp(a), () => [r(6)]],
  ['log', ([a]) => nn.log(nn.affine(nn.square(a), 1, 0.5)), () => [r(6)]],
  ['matmul', ([a, b]) => nn.matmul(a, b), () => [r(3, 5), r(5, 4)]],
  ['matmul transA', ([a, b]) => nn.matmul(a, b, { transA: true }), () => [r(5, 3), r(5, 4)]],
  ['matmul transB', ([a, b]) => nn.matmul(a, b, { transB: true }), () => [r(3, 5), r(4, 5)]],
  ['matmul transA transB', ([a, b]) => nn.matmul(a, b, { transA: true, transB: true }), () => [r(5, 3), r(4, 5)]],
  ['matmul folded batch', ([a, b]) => nn.matmul(a, b), () => [r(2, 3, 5), r(5, 4)]],
  ['batched matmul', ([a, b]) => nn.matmul(a, b), () => [r(2, 3, 5), r(2, 5, 4)]],
  ['batched matmul transA', ([a, b]) => nn.matmul(a, b, { transA: true }), () => [r(2, 5, 3), r(2, 5, 4)]],
  ['batched matmul transB', ([a, b]) => nn.matmul(a, b, { transB: true }), () => [r(2, 3, 5), r(2, 4, 5)]],
  ['batched matmul both', ([a, b]) => nn.matmul(a, b, { transA: true, transB: true }), () => [r(2, 5, 3), r(2, 4, 5)]],
  ['shared B, transA', ([a, b]) => nn.matmul(a, b, { transA: true }), () => [r(2, 5, 3), r(5, 4)]],
  ['linear', ([x, w, b]) => nn.linear(x, w, b), () => [r(2, 3, 4), r(4, 6), r(6)]],
  ['layerNorm', ([x, g, b]) => nn.layerNorm(x, g, b), () => [r(3, 8), r(8), r(8)]],
  ['softmax', ([x]) => nn.softmax(x), () => [r(3, 5)]],
  ['logSoftmax', ([x]) => nn.logSoftmax(x), () => [r(3, 5)]],
  ['l2Normalize', ([x]) => nn.l2Normalize(x), () => [r(3, 4)]],
  ['sum', ([x]) => nn.sum(x), () => [r(3, 4)]],
  ['sum axis', ([x]) => nn.sum(x, 1), () => [r(2, 3, 4)]],
  ['mean axis keepdim', ([x]) => nn.mean(x, 0, true), () => [r(3, 4)]],
  ['embedding', ([w]) => nn.embedding(w, [2, 0, 2, 1], [2, 2]), () => [r(3, 4)]],
  ['gatherRows', ([x]) => nn.gatherRows(x, [1, 1, 0]), () => [r(3, 2)]],
  ['scatterAddRows', ([x]) => nn.scatterAddRows(x, [2, 0, 2], 4), () => [r(3, 2)]],
  ['concat', ([a, b]) => nn.concat([a, b], 1), () => [r(2, 3, 2), r(2, 1, 2)]],
  ['slice', ([a]) => nn.slice(a, 1, 1, 3), () => [r(2, 4, 3)]],
  ['split', ([a]) => nn.mul(...(nn.split(a, [2, 2], -1) as [Tensor, Tensor])), () => [r(3, 4)]],
  ['reshape', ([a]) => nn.mul(a.reshape([6, -1]), a.reshape([6, 2])), () => [r(3, 4)]],
  ['transpose', ([a]) => nn.transpose(a, 0, 2), () => [r(2, 3, 4)]],
  ['permute', ([a]) => nn.permute(a, [1, 2, 0]), () => [r(2, 3, 4)]],
  ['dropout', ([a]) => nn.dropout(a, 0.3, new Rng(3)), () => [r(20)]],
  ['causalSelfAttention 1 head', ([qkv]) => nn.causalSelfAttention(qkv, 1), () => [r(2, 5, 12)]],
  ['causalSelfAttention 2 heads', ([qkv]) => nn.causalSelfAttention(qkv, 2), () => [r(1, 6, 12)]],
  ['causalAttention', ([q, k, v]) => nn.causalAttention(q, k, v, 2), () => [r(2, 4, 6), r(2, 4, 6), r(2, 4, 6)]],
  ['attention, queries after cached keys', ([q, k, v]) => nn.attention(q, k, v, 2), () => [rs(2, 3, 4), rs(2, 7, 4), rs(2, 7, 4)]],
  ['attention, sliding window 3 with a sink', ([q, k, v]) => nn.attention(q, k, v, 2, { window: 3, sinks: 1, qOffset: 1 }), () => [rs(2, 6, 4), rs(2, 7, 4), rs(2, 7, 4)]],
  ['ssmScan', ([a, x]) => nn.ssmScan(nn.sigmoid(a), x), () => [rs(3), rs(2, 6, 3)]],
  ['ssmScan with resets', ([a, x]) => nn.ssmScan(nn.sigmoid(a), x, { reset: new Float32Array([0, 0, 1, 0, 0, 0, 1, 0, 0, 1, 0, 0]) }), () => [rs(5), rs(2, 6, 5)]],
  ['topk values', ([x]) => nn.topk(x, 2).values, () => [r(4, 5)]],
  ['crossEntropy masked', ([x]) => nn.crossEntropy(x, [1, -1, 4, 0], [1, 1, 0.5, 0]), () => [r(4, 5)]],
  ['mse weighted', ([x, y]) => nn.mse(x, y, new Float32Array([1, 0, 2, 1, 1, 1])), () => [r(2, 3), r(2, 3)]],
  ['loadBalancingLoss', ([x]) => nn.loadBalancingLoss(nn.softmax(x), new Int32Array([0, 1, 1, 2, 2, 2])), () => [r(3, 4)]],
  ['infoNCE', ([a, b]) => nn.infoNCE(a, b, 0.5), () => [r(4, 3), r(4, 3)]],
  ['batchedLinear', ([x, w, b]) => nn.batchedLinear(x, w, b), () => [r(3, 5, 4), r(3, 4, 6), r(3, 6)]],
  ['batchedLinear relu', ([x, w, b]) => nn.batchedLinear(x, w, b, 'relu'), () => awayFromKinks(() => [r(2, 7, 3), r(2, 3, 9), r(2, 9)], ([x, w, b]) => nn.batchedLinear(x, w, b), [0])],
  ['batchedLinear tanh', ([x, w, b]) => nn.batchedLinear(x, w, b, 'tanh'), () => [r(2, 5, 3), r(2, 3, 7), r(2, 7)]],
  ['batchedLinear no bias', ([x, w]) => nn.batchedLinear(x, w), () => [r(4, 2, 3), r(4, 3, 1)]],
  ['minimum', ([a, b]) => nn.minimum(a, b), () => [r(3, 4), r(3, 4)]],
  ['maximum', ([a, b]) => nn.maximum(a, b), () => [r(3, 4), r(3, 4)]],
  ['clamp', ([a]) => nn.clamp(a, -0.5, 0.7), () => awayFromKinks(() => [r(12)], ([a]) => a, [-0.5, 0.7])],
  [
    'tanhGaussian action and logProb',
    ([m, s]) => {
      const { action, logProb } = nn.tanhGaussian(m, s, fixedNoise, { scale: [0.5, 2, 1], bias: [0, 1, -1] });
      return nn.concat([action, logProb], -1);
    },
    () => [nn.scale(r(2, 4, 3), 0.5), nn.scale(r(2, 4, 3), 0.3)],
  ],
  ['gaussianLogProb (broadcast log-std)', ([x, m, s]) => nn.gaussianLogProb(x, m, s), () => [r(2, 3, 4), r(2, 3, 4), nn.scale(r(2, 1, 4), 0.5)]],
  ['gaussianEntropy', ([s]) => nn.gaussianEntropy(s), () => [r(2, 1, 4)]],
  ['categoricalLogProb', ([x]) => nn.categoricalLogProb(x, [1, 0, 4, 2, 2, 3]), () => [r(2, 3, 5)]],
  ['categoricalEntropy', ([x]) => nn.categoricalEntropy(x), () => [r(2, 3, 5)]],
];

describe('finite-difference gradient checks', () => {
  for (const kernelsName of ['active', 'reference'] as const) {
    describe(`${kernelsName} kernels`, () => {
      for (const [name, op, make] of cases) {
        it(name, () => {
          const run = () => gradcheck(op, make());
          const err = kernelsName === 'reference' ? nn.withKernels('reference', run) : run();
          expect(err).toBeLessThan(1);
        });
      }
    });
  }
});

describe('ops', () => {
  it('matmul matches a direct product', () => {
    const a = nn.tensor([1, 2, 3, 4, 5, 6], [2, 3]);
    const b = nn.tensor([1, 0, 0, 1, 1, 1], [3, 2]);
    expect([...nn.matmul(a, b).data]).toEqual([4, 5, 10, 11]);
  });
  it('causal attention ignores future positions', () => {
    const q = r(1, 5, 4);
    const k = r(1, 5, 4);
    const v = r(1, 5, 4);
    const y1 = nn.causalAttention(q, k, v, 2).toArray();
    k.data[4 * 4] += 10;
    v.data[4 * 4 + 1] -= 3;
    const y2 = nn.causalAttention(q, k, v, 2).toArray();
    expect([...y2.subarray(0, 16)]).toEqual([...y1.subarray(0, 16)]);
    expect(y2[16]).not.toBe(y1[16]);
  });
  it('ssmScan equals the recurrence h_t = a h_{t-1} + x_t, with resets and an initial state', () => {
    const B = 2;
    const T = 40;
    const P = 5;
    const a = nn.sigmoid(r(P));
    const x = r(B, T, P);
    const reset = new Float32Array(B * T);
    reset[7] = 1;
    reset[T + 30] = 1;
    const h0 = r(B, P).toArray();
    const h = nn.ssmScan(a, x, { reset, h0 }).toArray();
    const ad = a.data;
    const xd = x.data;
    let worst = 0;
    for (let b = 0; b < B; b++)
      for (let c = 0; c < P; c++) {
        let st = h0[b * P + c];
        for (let t = 0; t < T; t++) {
          st = (reset[b * T + t] ? 0 : ad[c] * st) + xd[(b * T + t) * P + c];
          worst = Math.max(worst, Math.abs(st - h[(b * T + t) * P + c]));
        }
      }
    expect(worst).toBeLessThan(1e-5);
  });
  it('ssmScan in two calls (state carried through h0) equals one call', () => {
    const a = nn.sigmoid(r(4));
    const x = r(3, 10, 4);
    const whole = nn.ssmScan(a, x).toArray();
    const first = nn.ssmScan(a, nn.slice(x, 1, 0, 6)).toArray();
    const h0 = new Float32Array(3 * 4);
    for (let b = 0; b < 3; b++) h0.set(first.subarray((b * 6 + 5) * 4, (b * 6 + 6) * 4), b * 4);
    const second = nn.ssmScan(a, nn.slice(x, 1, 6, 10), { h0 }).toArray();
    for (let b = 0; b < 3; b++)
      for (let t = 6; t < 10; t++) for (let c = 0; c < 4; c++) expect(second[(b * 4 + t - 6) * 4 + c]).toBeCloseTo(whole[(b * 10 + t) * 4 + c], 5);
  });
  it('sliding-window attention equals attention over the last W keys', () => {
    const W = 4;
    const q = r(2, 9, 6);
    const k = r(2, 9, 6);
    const v = r(2, 9, 6);
    const y = nn.attention(q, k, v, 3, { window: W }).toArray();
    for (let i = 0; i < 9; i++) {
      const lo = Math.max(0, i - W + 1);
      const ref = nn.attention(nn.slice(q, 1, i, i + 1), nn.slice(k, 1, lo, i + 1), nn.slice(v, 1, lo, i + 1), 3).toArray();
      for (let b = 0; b < 2; b++) for (let c = 0; c < 6; c++) expect(y[(b * 9 + i) * 6 + c]).toBeCloseTo(ref[b * 6 + c], 5);
    }
  });
  it('tidy disposes intermediates and keeps results', () => {
    const x = nn.keep(r(4, 4));
    let inner: Tensor | null = null;
    const out = nn.tidy(() => {
      inner = nn.relu(x);
      return nn.add(inner, x);
    });
    expect((inner as unknown as Tensor).disposed).toBe(true);
    expect(out.disposed).toBe(false);
    expect(() => (inner as unknown as Tensor).data).toThrow(/used after dispose/);
  });
  it('noGrad records nothing', () => {
    const x = nn.tensor([1, 2], [2], true);
    const y = nn.noGrad(() => nn.mul(x, x));
    expect(y.requiresGrad).toBe(false);
  });
  it('shape errors name the op and shapes', () => {
    expect(() => nn.matmul(r(2, 3), r(4, 5))).toThrow(/matmul: inner dimensions differ: \[2, 3\]/);
    expect(() => nn.add(r(2, 3), r(4))).toThrow(/do not broadcast/);
  });
  it('dropout is reproducible from the seed', () => {
    const x = nn.ones([50]);
    const a = nn.dropout(x, 0.5, new Rng(9)).toArray();
    const b = nn.dropout(x, 0.5, new Rng(9)).toArray();
    expect([...a]).toEqual([...b]);
    expect(a.some((v) => v === 0)).toBe(true);
  });
});
