// WebAssembly kernels against the TypeScript reference kernels, on shapes with ragged edges and on
// sizes large enough to be split between threads.
import { describe, expect, it } from 'vitest';
import { Rng } from '../src/core/rng.js';
import * as nn from '../src/nn/index.js';
import { referenceKernels } from '../src/nn/kernels/reference.js';
import type { AttnArgs, AttnOperand, Kernels } from '../src/nn/kernels/types.js';

const rng = new Rng(11);

/** a Float32Array in kernel memory (as tensors are), filled with normals */
function buf(n: number, sd = 1): Float32Array {
  const t = nn.keep(nn.zeros([n]));
  rng.fillNormal(t.data, 0, sd);
  return t.data;
}

function copy(a: Float32Array): Float32Array {
  const t = nn.keep(nn.zeros([a.length]));
  t.data.set(a);
  return t.data;
}

function maxRelErr(a: Float32Array, b: Float32Array): number {
  let scale = 1e-6;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]));
  let e = 0;
  for (let i = 0; i < a.length; i++) e = Math.max(e, Math.abs(a[i] - b[i]));
  return e / scale;
}

function wasm(): Kernels {
  expect(nn.wasmAvailable(), 'WebAssembly kernels not built: run `npm run build:wasm`').toBe(true);
  return nn.withKernels('wasm', () => nn.kernels());
}

describe('WebAssembly kernels agree with the reference', () => {
  const gemmShapes: [number, number, number, number][] = [
    [1, 1, 1, 1],
    [5, 7, 3, 1],
    [13, 21, 17, 2],
    [130, 70, 67, 1], // split by rows between threads
    [20, 200, 300, 1], // split by columns
    [64, 5, 256, 1], // narrow output (a model head)
    [33, 40, 600, 1], // K blocked (> 256)
  ];
  for (const [M, N, K, batch] of gemmShapes)
    for (const transA of [false, true])
      for (const transB of [false, true])
        for (const accumulate of [false, true])
          it(`gemm M=${M} N=${N} K=${K} batch=${batch} transA=${transA} transB=${transB} accumulate=${accumulate}`, () => {
            const a = buf(batch * M * K);
            const b = buf(batch * K * N);
            const c0 = buf(batch * M * N);
            // a fused bias (added to every row) when not accumulating and A is not transposed
            const bias = !accumulate && !transA ? buf(N) : null;
            const args = { transA, transB, M, N, K, a, b, accumulate, bias, batch, strideA: M * K, strideB: K * N, strideC: M * N };
            const cw = copy(c0);
            const cr = copy(c0);
            wasm().gemm({ ...args, c: cw });
            referenceKernels.gemm({ ...args, c: cr });
            expect(maxRelErr(cw, cr)).toBeLessThan(1e-5);
          });

  function attnCase(B: number, H: number, hd: number, Tq: number, Tk: number, qOffset: number, packed: boolean, window = 0, sinks = 0): void {
    const d = H * hd;
    // q, k, v either packed side by side ([B, T, 3d], as after the qkv projection) or separate
    const op = (arr: Float32Array, col: number, rowStride: number, T: number): AttnOperand => ({ arr: arr.subarray(col), rowStride, batchStride: T * rowStride });
    const qkv = buf(B * Math.max(Tq, Tk) * 3 * d);
    const q = packed ? op(qkv, 0, 3 * d, Tq) : op(buf(B * Tq * d), 0, d, Tq);
    const k = packed ? op(qkv, d, 3 * d, Tk) : op(buf(B * Tk * d), 0, d, Tk);
    const v = packed ? op(qkv, 2 * d, 3 * d, Tk) : op(buf(B * Tk * d), 0, d, Tk);
    const mk = (): AttnArgs => ({
      B, H, hd, Tq, Tk, qOffset, window, sinks, scale: 1 / Math.sqrt(hd), q, k, v,
      out: op(buf(B * Tq * d), 0, d, Tq),
      lse: buf(B * H * Tq),
    });
    const aw = mk();
    const ar = mk();
    wasm().attentionForward(aw);
    referenceKernels.attentionForward(ar);
    expect(maxRelErr(aw.out.arr, ar.out.arr)).toBeLessThan(2e-5);
    expect(maxRelErr(aw.lse!, ar.lse!)).toBeLessThan(2e-5);
    const dout = op(buf(B * Tq * d), 0, d, Tq);
    const grads = () => ({ dq: op(buf(B * Tq * d), 0, d, Tq), dk: op(buf(B * Tk * d), 0, d, Tk), dv: op(buf(B * Tk * d), 0, d, Tk) });
    const gw = grads();
    const gr = { dq: op(copy(gw.dq.arr), 0, d, Tq), dk: op(copy(gw.dk.arr), 0, d, Tk), dv: op(copy(gw.dv.arr), 0, d, Tk) };
    wasm().attentionBackward({ ...ar, lse: ar.lse!, dout, ...gw });
    referenceKernels.attentionBackward({ ...ar, lse: ar.lse!, dout, ...gr });
    expect(maxRelErr(gw.dq.arr, gr.dq.arr)).toBeLessThan(5e-5);
    expect(maxRelErr(gw.dk.arr, gr.dk.arr)).toBeLessThan(5e-5);
    expect(maxRelErr(gw.dv.arr, gr.dv.arr)).toBeLessThan(5e-5);
  }

  it('attention, one head, ragged length, packed qkv', () => attnCase(2, 1, 8, 13, 13, 0, true));
  it('attention, 3 heads of 5, separate q/k/v', () => attnCase(2, 3, 5, 9, 9, 0, false));
  it('attention, head dim 32 (dpt-bandit), packed', () => attnCase(2, 1, 32, 37, 37, 0, true));
  it('attention split between threads (8 heads of 8)', () => attnCase(4, 8, 8, 70, 70, 0, true));
  it('attention with cached keys (query offset)', () => attnCase(3, 2, 4, 3, 11, 8, false));
  it('attention decoding one row over a cache (head dim 32, ragged key count)', () => attnCase(3, 1, 32, 1, 23, 22, false));
  it('attention decoding one row, 8 heads of 8, packed, split between threads', () => attnCase(16, 8, 8, 1, 40, 39, true));
  it('attention decoding one row, odd head dim', () => attnCase(2, 3, 5, 1, 9, 8, false));
  it('attention, sliding window of 5 with one sink key', () => attnCase(2, 2, 4, 19, 20, 1, false, 5, 1));
  it('attention, sliding window of 16, no sink, split between threads', () => attnCase(4, 8, 8, 70, 70, 0, true, 16, 0));
  it('attention, sliding window over cached keys (query offset), two sinks', () => attnCase(3, 2, 8, 6, 30, 24, false, 7, 2));
  it('attention, sliding window of 9 with a sink over 100 rows (masked key blocks skipped)', () => attnCase(2, 2, 8, 100, 101, 1, false, 9, 1));
  it('attention decoding one row, sliding window with a sink (two key ranges)', () => attnCase(3, 2, 8, 1, 40, 39, false, 9, 1));

  function scanCase(B: number, T: number, P: number, reverse: boolean, withReset: boolean, withH0: boolean): void {
    const a = buf(P);
    for (let c = 0; c < P; c++) a[c] = 0.5 + 0.49 * Math.tanh(a[c]);
    const x = buf(B * T * P);
    const reset = withReset ? buf(B * T) : null;
    if (reset) for (let i = 0; i < reset.length; i++) reset[i] = reset[i] > 1.2 ? 1 : 0;
    const h0 = withH0 ? buf(B * P) : null;
    const hw = buf(B * T * P);
    const hr = copy(hw);
    wasm().scan({ B, T, P, a, x, h: hw, reset, h0, reverse });
    referenceKernels.scan({ B, T, P, a, x, h: hr, reset, h0, reverse });
    expect(maxRelErr(hw, hr)).toBeLessThan(2e-5);
  }
  it('scan, ragged channels, one thread', () => scanCase(2, 9, 7, false, false, false));
  for (const reverse of [false, true]) {
    const dir = reverse ? 'reverse' : 'forward';
    it(`scan ${dir}, many rows (threads over rows), resets and an initial state`, () => scanCase(9, 300, 64, reverse, true, true));
    it(`scan ${dir}, few rows and many channels (threads over channel groups)`, () => scanCase(1, 2000, 64, reverse, true, false));
    it(`scan ${dir}, one row of 6 channels over 5,000 steps (threads over time chunks: associative scan)`, () => scanCase(1, 5000, 6, reverse, true, true));
  }

  it('layer norm forward and backward', () => {
    for (const [rows, d] of [
      [7, 5],
      [300, 64],
      [5000, 32], // split between threads
    ]) {
      const x = buf(rows * d);
      const gamma = buf(d);
      const beta = buf(d);
      const run = (k: Kernels) => {
        const out = buf(rows * d);
        const mean = buf(rows);
        const rstd = buf(rows);
        k.layerNormForward(x, gamma, beta, out, mean, rstd, rows, d, 1e-5);
        return { out, mean, rstd };
      };
      const fw = run(wasm());
      const fr = run(referenceKernels);
      expect(maxRelErr(fw.out, fr.out)).toBeLessThan(1e-5);
      const dy = buf(rows * d);
      const dx0 = buf(rows * d);
      for (const acc of [false, true]) {
        const bw = { dx: copy(dx0), dg: copy(gamma), db: copy(beta) };
        const br = { dx: copy(dx0), dg: copy(gamma), db: copy(beta) };
        wasm().layerNormBackward(dy, x, gamma, fr.mean, fr.rstd, bw.dx, acc, bw.dg, bw.db, rows, d);
        referenceKernels.layerNormBackward(dy, x, gamma, fr.mean, fr.rstd, br.dx, acc, br.dg, br.db, rows, d);
        expect(maxRelErr(bw.dx, br.dx)).toBeLessThan(1e-5);
        expect(maxRelErr(bw.dg, br.dg)).toBeLessThan(1e-5);
        expect(maxRelErr(bw.db, br.db)).toBeLessThan(1e-5);
      }
    }
  });

  it('GELU forward and backward (including the far tails)', () => {
    for (const n of [7, 300_001]) {
      const x = buf(n, 3);
      x[0] = -12;
      x[1] = 12;
      const yw = buf(n);
      const yr = buf(n);
      wasm().gelu(x, yw, n);
      referenceKernels.gelu(x, yr, n);
      expect(maxRelErr(yw, yr)).toBeLessThan(1e-5);
      const dy = buf(n);
      for (const acc of [false, true]) {
        const dw = buf(n);
        const dr = copy(dw);
        wasm().geluBackward(x, dy, dw, n, acc);
        referenceKernels.geluBackward(x, dy, dr, n, acc);
        expect(maxRelErr(dw, dr)).toBeLessThan(1e-5);
      }
    }
  });

  // a leading learner axis with a per-item bias: few items (split inside each), many items (whole
  // items split between threads), transposed operands; each item must also equal the item alone
  for (const [M, N, K, batch] of [
    [37, 45, 23, 3],
    [256, 64, 64, 16],
    [64, 1, 256, 16],
  ] as const)
    for (const [transA, transB] of [
      [false, false],
      [false, true],
      [true, false],
    ] as const)
      it(`batched gemm with per-item bias M=${M} N=${N} K=${K} batch=${batch} transA=${transA} transB=${transB}`, () => {
        const a = buf(batch * M * K);
        const b = buf(batch * K * N);
        const bias = transA ? null : buf(batch * N);
        const args = { transA, transB, M, N, K, a, b, accumulate: false, bias, strideBias: N, batch, strideA: M * K, strideB: K * N, strideC: M * N };
        const cw = buf(batch * M * N);
        const cr = buf(batch * M * N);
        wasm().gemm({ ...args, c: cw });
        referenceKernels.gemm({ ...args, c: cr });
        expect(maxRelErr(cw, cr)).toBeLessThan(1e-5);
        const i = batch - 1;
        const one = buf(M * N);
        const sub = (x: Float32Array, n: number) => x.subarray(i * n, (i + 1) * n);
        wasm().gemm({ ...args, a: sub(a, M * K), b: sub(b, K * N), bias: bias ? sub(bias, N) : null, batch: 1, c: one });
        expect([...one]).toEqual([...sub(cw, M * N)]);
      });

  it('ReLU forward and backward', () => {
    for (const n of [7, 4096 * 20 + 3]) {
      const x = buf(n);
      x[0] = -0;
      x[1] = Number.NaN;
      const yw = buf(n);
      const yr = buf(n);
      wasm().relu(x, yw, n);
      referenceKernels.relu(x, yr, n);
      expect([...yw]).toEqual([...yr]);
      const dy = buf(n);
      for (const acc of [false, true]) {
        const dw = buf(n);
        const dr = copy(dw);
        wasm().reluBackward(yw, dy, dw, n, acc);
        referenceKernels.reluBackward(yr, dy, dr, n, acc);
        expect([...dw]).toEqual([...dr]);
      }
    }
  });

  it('tanh forward and backward (agreement; a tail element equals the same value in the SIMD body)', () => {
    for (const n of [7, 1001]) {
      const x = buf(n, 3);
      const yw = buf(n);
      const yr = buf(n);
      wasm().tanh(x, yw, n);
      referenceKernels.tanh(x, yr, n);
      for (let i = 0; i < n; i++) expect(Math.abs(yw[i] - yr[i])).toBeLessThan(3e-7);
      const tail = copy(x.subarray(n - 1, n));
      const one = buf(1);
      wasm().tanh(tail, one, 1);
      const body = copy(new Float32Array([x[n - 1], x[n - 1], x[n - 1], x[n - 1]]));
      const four = buf(4);
      wasm().tanh(body, four, 4);
      expect(one[0]).toBe(four[0]);
      const dy = buf(n);
      for (const acc of [false, true]) {
        const dw = buf(n);
        const dr = copy(dw);
        wasm().tanhBackward(yw, dy, dw, n, acc);
        referenceKernels.tanhBackward(yw, dy, dr, n, acc);
        expect(maxRelErr(dw, dr)).toBeLessThan(1e-6);
      }
    }
  });

  it('AdamW update', () => {
    const n = 1003;
    const p = buf(n);
    const g = buf(n);
    const m = buf(n, 0.1);
    const v = copy(buf(n).map((x) => x * x));
    const s = [p, m, v].map(copy);
    const r = [p, m, v].map(copy);
    wasm().adamw(s[0], g, s[1], s[2], n, 1e-3, 0.9, 0.999, 1e-8, 0.01, 0.3, 0.02);
    referenceKernels.adamw(r[0], g, r[1], r[2], n, 1e-3, 0.9, 0.999, 1e-8, 0.01, 0.3, 0.02);
    for (let i = 0; i < 3; i++) expect(maxRelErr(s[i], r[i])).toBeLessThan(1e-5);
  });

  it('a whole training step gives the same loss and gradients with either kernels', () => {
    const model = new nn.GPT({ nLayers: 2, dModel: 32, nHeads: 4, maxLen: 40, inDim: 6, nOut: 5 }, new Rng(3));
    const x = nn.keep(nn.zeros([3, 40, 6]));
    new Rng(4).fillNormal(x.data);
    const y = new Int32Array(120).map((_, i) => i % 5);
    const step = (name: 'wasm' | 'reference') =>
      nn.withKernels(name, () =>
        nn.tidy(() => {
          model.zeroGrad();
          const loss = nn.crossEntropy(model.forward(x), y);
          loss.backward();
          return { loss: loss.item(), grads: model.parameters().map((p) => p.grad!.toArray()) };
        }),
      );
    const w = step('wasm');
    const r = step('reference');
    expect(Math.abs(w.loss - r.loss)).toBeLessThan(1e-5);
    for (let i = 0; i < w.grads.length; i++) expect(maxRelErr(w.grads[i], r.grads[i])).toBeLessThan(1e-4);
  });
});
