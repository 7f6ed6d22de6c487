/**
 * WebAssembly SIMD kernels (AssemblyScript sources in `assembly/kernels.ts`, compiled to
 * `build/nn/kernels.wasm` by `npm run build:wasm`). Tensors live in the module's shared memory;
 * large kernels are split between the main thread and worker threads that run the same module on
 * the same memory (`ICRL_NN_THREADS`, default: 2, at most the number of CPUs).
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { allocStorage, arenaMemory, hasArena, inArena, installArena, type Storage } from '../memory.js';
import { Wasm, type WasmMemory } from '../wasmTypes.js';
import type { AttnArgs, AttnBackwardArgs, AttnOperand, F32, GemmArgs, Kernels } from './types.js';

type Fn = (...args: number[]) => number;

interface Exports {
  heapBase: Fn;
  transpose: Fn;
  gemm: Fn;
  attnScratchFloats: Fn;
  attnForward: Fn;
  attnBackward: Fn;
  layerNormForward: Fn;
  layerNormBackward: Fn;
  gelu: Fn;
  geluBackward: Fn;
  adamw: Fn;
  addv: Fn;
  addBiasRows: Fn;
  sumRows: Fn;
  accum: Fn;
}

const FN_NAMES = ['gemm', 'attnForward', 'attnBackward', 'layerNormForward', 'layerNormBackward', 'gelu', 'geluBackward'] as const;
type ParallelFn = (typeof FN_NAMES)[number];

let error = '';
let loaded: Kernels | null = null;
let tried = false;

export function wasmLoadError(): string {
  return error;
}

/** The compiled module's location (same relative path from src/nn/kernels and dist/nn/kernels). */
export function wasmPath(): URL {
  return new URL('../../../build/nn/kernels.wasm', import.meta.url);
}

// Worker threads: each waits on its control word; the main thread posts a job (function index +
// float64 arguments), runs its own share, then waits for the worker to finish.
const WORKER_SRC = `
const { workerData } = require('node:worker_threads');
const { module, memory, ctl: ctlBuf, names } = workerData;
const inst = new WebAssembly.Instance(module, { env: { memory } });
const fns = names.map((n) => inst.exports[n]);
const ctl = new Int32Array(ctlBuf, 0, 4);
const args = new Float64Array(ctlBuf, 16, 60);
let expect = 0;
for (;;) {
  Atomics.wait(ctl, 0, expect);
  const s = Atomics.load(ctl, 0);
  if (s === 1) {
    const n = ctl[2];
    const a = new Array(n);
    for (let i = 0; i < n; i++) a[i] = args[i];
    try { fns[ctl[1]](...a); ctl[3] = 0; } catch (e) { ctl[3] = 1; }
    Atomics.store(ctl, 0, 2);
    Atomics.notify(ctl, 0);
    expect = 2;
  } else if (s === 3) break;
  else expect = s;
}
`;

interface Helper {
  worker: Worker;
  ctl: Int32Array;
  args: Float64Array;
  scratch: Storage | null;
}

class Threads {
  private helpers: Helper[] | null = null;
  constructor(
    private readonly module: object,
    private readonly memory: WasmMemory,
    readonly count: number,
  ) {}

  private start(): Helper[] {
    if (this.helpers) return this.helpers;
    this.helpers = [];
    for (let i = 1; i < this.count; i++) {
      const ctlBuf = new SharedArrayBuffer(16 + 8 * 60);
      const worker = new Worker(WORKER_SRC, { eval: true, workerData: { module: this.module, memory: this.memory, ctl: ctlBuf, names: FN_NAMES } });
      worker.unref();
      this.helpers.push({ worker, ctl: new Int32Array(ctlBuf, 0, 4), args: new Float64Array(ctlBuf, 16, 60), scratch: null });
    }
    return this.helpers;
  }

  /** scratch block of helper `t` (t >= 1); t = 0 is the main thread's */
  helperScratch(t: number, floats: number): number {
    const h = this.start()[t - 1];
    if (!h.scratch || h.scratch.data.length < floats) h.scratch = allocStorage(floats);
    return h.scratch.ptr;
  }

  /** runs parts[0] here and parts[1..] on the helpers, then waits for all */
  run(fn: ParallelFn, parts: number[][], local: (args: number[]) => void): void {
    const helpers = this.start();
    const id = FN_NAMES.indexOf(fn);
    for (let t = 1; t < parts.length; t++) {
      const h = helpers[t - 1];
      const a = parts[t];
      for (let i = 0; i < a.length; i++) h.args[i] = a[i];
      h.ctl[1] = id;
      h.ctl[2] = a.length;
      Atomics.store(h.ctl, 0, 1);
      Atomics.notify(h.ctl, 0);
    }
    local(parts[0]);
    let failed = false;
    for (let t = 1; t < parts.length; t++) {
      const h = helpers[t - 1];
      while (Atomics.load(h.ctl, 0) === 1) Atomics.wait(h.ctl, 0, 1);
      if (h.ctl[3] !== 0) failed = true;
      Atomics.store(h.ctl, 0, 0);
    }
    if (failed) throw new Error(`nn: WebAssembly kernel ${fn} failed in a worker thread`);
  }
}

/** splits [0, n) into `parts` ranges aligned to `align` */
function ranges(n: number, parts: number, align: number): [number, number][] {
  const out: [number, number][] = [];
  let s = 0;
  for (let p = 0; p < parts; p++) {
    const e = p === parts - 1 ? n : Math.min(n, Math.ceil(((n * (p + 1)) / parts) / align) * align);
    if (e > s) out.push([s, e]);
    s = e;
  }
  return out;
}

export function loadWasmKernels(): Kernels | null {
  if (tried) return loaded;
  tried = true;
  if (typeof (globalThis as { WebAssembly?: unknown }).WebAssembly === 'undefined') {
    error = 'no WebAssembly in this runtime';
    return null;
  }
  if (hasArena()) {
    error = 'kernel memory already installed';
    return null;
  }
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(wasmPath());
  } catch {
    error = `${wasmPath().pathname} not found`;
    return null;
  }
  let memory: WasmMemory;
  let ex: Exports;
  let module: object;
  try {
    memory = new Wasm.Memory({ initial: 16, maximum: 65536, shared: true });
    module = new Wasm.Module(bytes);
    ex = new Wasm.Instance(module, { env: { memory } }).exports as unknown as Exports;
  } catch (e) {
    error = `cannot instantiate ${wasmPath().pathname}: ${(e as Error).message}`;
    return null;
  }
  installArena(memory, ex.heapBase());
  const envThreads = Number(process.env.ICRL_NN_THREADS ?? '');
  const nThreads = Number.isInteger(envThreads) && envThreads >= 1 ? Math.min(envThreads, 16) : Math.min(2, availableParallelism());
  const threads = new Threads(module, memory, nThreads);
  loaded = makeKernels(ex, threads);
  return loaded;
}

/** Work (multiply-adds) below which a kernel stays on one thread. */
const PAR_MIN = 1 << 19;

function makeKernels(ex: Exports, threads: Threads): Kernels {
  // views not in the kernel memory are copied to scratch blocks and back
  const tmp: Storage[] = [];
  let tmpUsed = 0;
  const pin = (v: F32, copyIn = true): number => {
    if (inArena(v)) return v.byteOffset;
    if (tmpUsed >= tmp.length) tmp.push(allocStorage(Math.max(16, v.length)));
    let s = tmp[tmpUsed];
    if (s.data.length < v.length) {
      s = allocStorage(v.length);
      tmp[tmpUsed] = s;
    }
    tmpUsed++;
    if (copyIn) s.data.set(v);
    return s.ptr;
  };
  const copyBack: [F32, number][] = [];
  const out = (v: F32, copyIn: boolean): number => {
    const p = pin(v, copyIn);
    if (!inArena(v)) copyBack.push([v, p]);
    return p;
  };
  const done = (): void => {
    for (const [v, p] of copyBack) v.set(new Float32Array(arenaMemory()!.buffer, p, v.length));
    copyBack.length = 0;
    tmpUsed = 0;
  };
  const mainScratch: { s: Storage | null } = { s: null };
  const scratchFor = (t: number, floats: number): number => {
    if (t === 0) {
      if (!mainScratch.s || mainScratch.s.data.length < floats) mainScratch.s = allocStorage(floats);
      return mainScratch.s.ptr;
    }
    return threads.helperScratch(t, floats);
  };
  let packB: Storage | null = null;

  const gemmOne = (transA: boolean, M: number, N: number, K: number, pa: number, pb: number, ldb: number, pc: number, acc: number): void => {
    const rsA = transA ? 1 : K;
    const csA = transA ? M : 1;
    const work = M * N * K;
    if (threads.count > 1 && work >= PAR_MIN) {
      if (M >= 64) {
        const parts = ranges(M, threads.count, 4).map(([s, e]) => [e - s, N, K, pa + 4 * s * rsA, rsA, csA, pb, ldb, pc + 4 * s * N, N, acc]);
        threads.run('gemm', parts, (a) => ex.gemm(...a));
        return;
      }
      if (N >= 16) {
        const parts = ranges(N, threads.count, 8).map(([s, e]) => [M, e - s, K, pa, rsA, csA, pb + 4 * s, ldb, pc + 4 * s, N, acc]);
        threads.run('gemm', parts, (a) => ex.gemm(...a));
        return;
      }
    }
    ex.gemm(M, N, K, pa, rsA, csA, pb, ldb, pc, N, acc);
  };

  const gemm = (p: GemmArgs): void => {
    const { transA, transB, M, N, K } = p;
    const pa = pin(p.a);
    const pb = pin(p.b);
    const pc = out(p.c, p.accumulate);
    for (let i = 0; i < p.batch; i++) {
      let bptr = pb + 4 * i * p.strideB;
      if (transB) {
        // B' = B^T packed as [K, N]
        if (!packB || packB.data.length < K * N) packB = allocStorage(K * N);
        ex.transpose(bptr, N, K, K, packB.ptr, N);
        bptr = packB.ptr;
      }
      gemmOne(transA, M, N, K, pa + 4 * i * p.strideA, bptr, N, pc + 4 * i * p.strideC, p.accumulate ? 1 : 0);
    }
    done();
  };

  const opnd = (o: AttnOperand, isOut = false, copyIn = true): [number, number, number] => [isOut ? out(o.arr, copyIn) : pin(o.arr), o.rowStride, o.batchStride];

  const attentionForward = (p: AttnArgs): void => {
    const units = p.B * p.H;
    const lse = p.lse ? out(p.lse, false) : 0;
    const common = [p.H, p.hd, p.Tq, p.Tk, p.qOffset, p.scale, ...opnd(p.q), ...opnd(p.k), ...opnd(p.v), ...opnd(p.out, true, false), lse];
    const floats = ex.attnScratchFloats(p.hd, p.Tk);
    const work = units * p.Tq * Math.min(p.Tk, p.Tq + p.qOffset) * p.hd;
    const nt = threads.count > 1 && work >= PAR_MIN && units >= 2 ? threads.count : 1;
    const parts = ranges(units, nt, 1).map(([s, e], t) => [s, e, ...common, scratchFor(t, floats)]);
    if (parts.length === 1) ex.attnForward(...parts[0]);
    else threads.run('attnForward', parts, (a) => ex.attnForward(...a));
    done();
  };

  const attentionBackward = (p: AttnBackwardArgs): void => {
    const units = p.B * p.H;
    const common = [
      p.H, p.hd, p.Tq, p.Tk, p.qOffset, p.scale,
      ...opnd(p.q), ...opnd(p.k), ...opnd(p.v), ...opnd(p.out), pin(p.lse),
      ...opnd(p.dout), ...opnd(p.dq, true), ...opnd(p.dk, true), ...opnd(p.dv, true),
    ];
    const floats = ex.attnScratchFloats(p.hd, p.Tk);
    const work = units * p.Tq * Math.min(p.Tk, p.Tq + p.qOffset) * p.hd;
    const nt = threads.count > 1 && work >= PAR_MIN && units >= 2 ? threads.count : 1;
    const parts = ranges(units, nt, 1).map(([s, e], t) => [s, e, ...common, scratchFor(t, floats)]);
    if (parts.length === 1) ex.attnBackward(...parts[0]);
    else threads.run('attnBackward', parts, (a) => ex.attnBackward(...a));
    done();
  };

  const layerNormForward = (x: F32, gamma: F32, beta: F32, o: F32, mean: F32, rstd: F32, rows: number, d: number, eps: number): void => {
    const args = [pin(x), pin(gamma), pin(beta), out(o, false), out(mean, false), out(rstd, false)];
    const nt = threads.count > 1 && rows * d >= PAR_MIN / 2 ? threads.count : 1;
    const parts = ranges(rows, nt, 1).map(([s, e]) => [...args, s, e, d, eps]);
    if (parts.length === 1) ex.layerNormForward(...parts[0]);
    else threads.run('layerNormForward', parts, (a) => ex.layerNormForward(...a));
    done();
  };

  const lnPartials: Storage[] = [];
  const layerNormBackward = (dy: F32, x: F32, gamma: F32, mean: F32, rstd: F32, dx: F32, accumulateDx: boolean, dgamma: F32, dbeta: F32, rows: number, d: number): void => {
    const base = [pin(dy), pin(x), pin(gamma), pin(mean), pin(rstd), out(dx, accumulateDx), accumulateDx ? 1 : 0];
    const pg = out(dgamma, true);
    const pbeta = out(dbeta, true);
    const nt = threads.count > 1 && rows * d >= PAR_MIN / 2 ? threads.count : 1;
    const rs = ranges(rows, nt, 1);
    if (rs.length === 1) ex.layerNormBackward(...base, pg, pbeta, 0, rows, d);
    else {
      // helpers accumulate into private zeroed dgamma/dbeta, added afterwards
      const parts = rs.map(([s, e], t) => {
        if (t === 0) return [...base, pg, pbeta, s, e, d];
        if (!lnPartials[t] || lnPartials[t].data.length < 2 * d) lnPartials[t] = allocStorage(2 * d);
        lnPartials[t].data.fill(0, 0, 2 * d);
        return [...base, lnPartials[t].ptr, lnPartials[t].ptr + 4 * d, s, e, d];
      });
      threads.run('layerNormBackward', parts, (a) => ex.layerNormBackward(...a));
      for (let t = 1; t < rs.length; t++) {
        ex.accum(lnPartials[t].ptr, pg, d, 1);
        ex.accum(lnPartials[t].ptr + 4 * d, pbeta, d, 1);
      }
    }
    done();
  };

  const gelu = (x: F32, o: F32, n: number): void => {
    const px = pin(x);
    const po = out(o, false);
    const nt = threads.count > 1 && n >= PAR_MIN / 4 ? threads.count : 1;
    const parts = ranges(n, nt, 4).map(([s, e]) => [px + 4 * s, po + 4 * s, e - s]);
    if (parts.length === 1) ex.gelu(...parts[0]);
    else threads.run('gelu', parts, (a) => ex.gelu(...a));
    done();
  };

  const geluBackward = (x: F32, dy: F32, dx: F32, n: number, accumulate: boolean): void => {
    const px = pin(x);
    const pdy = pin(dy);
    const pdx = out(dx, accumulate);
    const nt = threads.count > 1 && n >= PAR_MIN / 4 ? threads.count : 1;
    const parts = ranges(n, nt, 4).map(([s, e]) => [px + 4 * s, pdy + 4 * s, pdx + 4 * s, e - s, accumulate ? 1 : 0]);
    if (parts.length === 1) ex.geluBackward(...parts[0]);
    else threads.run('geluBackward', parts, (a) => ex.geluBackward(...a));
    done();
  };

  const adamw = (p: F32, g: F32, m: F32, v: F32, n: number, lr: number, beta1: number, beta2: number, eps: number, decay: number, bc1: number, bc2: number): void => {
    ex.adamw(out(p, true), pin(g), out(m, true), out(v, true), n, lr, beta1, beta2, eps, decay, bc1, bc2);
    done();
  };

  const add = (a: F32, b: F32, y: F32, n: number): void => {
    ex.addv(pin(a), pin(b), out(y, false), n);
    done();
  };
  const addBias = (x: F32, bias: F32, y: F32, rows: number, m: number): void => {
    ex.addBiasRows(pin(x), pin(bias), out(y, false), rows, m);
    done();
  };
  const sumRows = (g: F32, rows: number, m: number, acc: F32): void => {
    ex.sumRows(pin(g), rows, m, out(acc, true));
    done();
  };
  const accumulate = (x: F32, y: F32, n: number, acc: boolean): void => {
    ex.accum(pin(x), out(y, acc), n, acc ? 1 : 0);
    done();
  };

  return { name: 'wasm', add, addBias, sumRows, accumulate, gemm, attentionForward, attentionBackward, layerNormForward, layerNormBackward, gelu, geluBackward, adamw };
}

/** number of threads the WebAssembly kernels use */
export function wasmThreads(): number {
  const envThreads = Number(process.env.ICRL_NN_THREADS ?? '');
  return Number.isInteger(envThreads) && envThreads >= 1 ? Math.min(envThreads, 16) : Math.min(2, availableParallelism());
}
