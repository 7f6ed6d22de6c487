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
import type { AttnArgs, AttnBackwardArgs, AttnOperand, F32, GemmArgs, Kernels, ScanArgs } from './types.js';

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
  gemmBatched: Fn;
  relu: Fn;
  reluBackward: Fn;
  tanhv: Fn;
  tanhBackward: Fn;
  scanRange: Fn;
}

const FN_NAMES = ['gemm', 'attnForward', 'attnBackward', 'layerNormForward', 'layerNormBackward', 'gelu', 'geluBackward', 'gemmBatched', 'relu', 'reluBackward', 'transpose', 'scanRange'] as const;
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

// Worker threads share one control block. A job is a list of chunks (independent calls of one
// kernel on disjoint data); the main thread and the workers claim chunks with compare-and-swap on
// a monotonic counter until none is left, so a worker that the OS has not scheduled yet costs
// nothing: the main thread then runs the chunks itself. Counters never reset, which keeps a late
// worker from running a chunk twice.
const MAX_CHUNKS = 64;
const MAX_ARGS = 48;
const SEQ = 0;
const NEXT = 1;
const END = 2;
const START = 3;
const DONE = 4;
const FN = 5;
const NARGS = 6;
const FAILED = 7;
/** functions whose last argument is the calling thread's scratch block */
const SCRATCH_FNS = ['attnForward', 'attnBackward'];

const WORKER_SRC = `
const { workerData } = require('node:worker_threads');
const { module, memory, sab, names, scratchFns, tid } = workerData;
const inst = new WebAssembly.Instance(module, { env: { memory } });
const fns = names.map((n) => inst.exports[n]);
const usesScratch = names.map((n) => scratchFns.includes(n));
const ctl = new Int32Array(sab, 0, 16);
const f64 = new Float64Array(sab, 64);
let seen = 0;
for (;;) {
  Atomics.wait(ctl, ${SEQ}, seen);
  seen = Atomics.load(ctl, ${SEQ});
  if (seen < 0) break;
  for (;;) {
    const cur = Atomics.load(ctl, ${NEXT});
    const end = Atomics.load(ctl, ${END});
    if (cur >= end) break;
    if (Atomics.compareExchange(ctl, ${NEXT}, cur, cur + 1) !== cur) continue;
    const chunk = cur - Atomics.load(ctl, ${START});
    const id = Atomics.load(ctl, ${FN});
    const na = Atomics.load(ctl, ${NARGS});
    const base = 16 + chunk * ${MAX_ARGS};
    const a = new Array(na);
    for (let i = 0; i < na; i++) a[i] = f64[base + i];
    if (usesScratch[id]) a[na - 1] = f64[tid];
    try { fns[id](...a); } catch (e) { Atomics.store(ctl, ${FAILED}, 1); }
    Atomics.add(ctl, ${DONE}, 1);
    Atomics.notify(ctl, ${DONE});
  }
}
`;

class Threads {
  private workers: Worker[] | null = null;
  private readonly sab = new SharedArrayBuffer(64 + 8 * (16 + MAX_CHUNKS * MAX_ARGS));
  private readonly ctl = new Int32Array(this.sab, 0, 16);
  private readonly f64 = new Float64Array(this.sab, 64);
  private readonly scratch: (Storage | null)[] = [];
  constructor(
    private readonly module: object,
    private readonly memory: WasmMemory,
    readonly count: number,
  ) {}

  private start(): void {
    if (this.workers) return;
    this.workers = [];
    for (let t = 1; t < this.count; t++) {
      const w = new Worker(WORKER_SRC, { eval: true, workerData: { module: this.module, memory: this.memory, sab: this.sab, names: FN_NAMES, scratchFns: SCRATCH_FNS, tid: t } });
      w.unref();
      this.workers.push(w);
    }
  }

  /** makes sure every helper has a scratch block of `floats` (thread 0, the main thread, has its own) */
  ensureScratch(floats: number): void {
    for (let t = 1; t < this.count; t++) {
      const s = this.scratch[t];
      if (!s || s.data.length < floats) {
        this.scratch[t] = allocStorage(floats);
        this.f64[t] = this.scratch[t]!.ptr;
      }
    }
  }

  /** runs the chunks (argument lists) of `fn` on every thread; `local` runs one chunk here */
  run(fn: ParallelFn, chunks: number[][], local: (args: number[]) => void): void {
    if (chunks.length > MAX_CHUNKS) throw new Error(`nn: ${chunks.length} chunks exceed ${MAX_CHUNKS}`);
    this.start();
    const { ctl, f64 } = this;
    const n = chunks.length;
    const start = Atomics.load(ctl, NEXT);
    const doneTarget = Atomics.load(ctl, DONE) + n;
    const nargs = chunks[0].length;
    for (let c = 0; c < n; c++) {
      const a = chunks[c];
      const base = 16 + c * MAX_ARGS;
      for (let i = 0; i < nargs; i++) f64[base + i] = a[i];
    }
    Atomics.store(ctl, START, start);
    Atomics.store(ctl, FN, FN_NAMES.indexOf(fn));
    Atomics.store(ctl, NARGS, nargs);
    Atomics.store(ctl, END, start + n);
    Atomics.add(ctl, SEQ, 1);
    Atomics.notify(ctl, SEQ);
    for (;;) {
      const cur = Atomics.load(ctl, NEXT);
      if (cur >= start + n) break;
      if (Atomics.compareExchange(ctl, NEXT, cur, cur + 1) !== cur) continue;
      local(chunks[cur - start]);
      Atomics.add(ctl, DONE, 1);
    }
    for (;;) {
      const d = Atomics.load(ctl, DONE);
      if (d >= doneTarget) break;
      Atomics.wait(ctl, DONE, d, 50);
    }
    if (Atomics.load(ctl, FAILED) !== 0) {
      Atomics.store(ctl, FAILED, 0);
      throw new Error(`nn: WebAssembly kernel ${fn} failed in a worker thread`);
    }
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

/** Work (multiply-adds) of the smallest chunk handed to another thread. */
const CHUNK_MIN = 1 << 18;

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
  const scratch = (floats: number): number => {
    if (!mainScratch.s || mainScratch.s.data.length < floats) mainScratch.s = allocStorage(floats);
    if (threads.count > 1) threads.ensureScratch(floats);
    return mainScratch.s.ptr;
  };
  /** how many chunks a job of `work` multiply-adds is cut into (1: stay on this thread) */
  const chunkCount = (work: number, items: number): number => (threads.count > 1 ? Math.max(1, Math.min(items, 4 * threads.count, Math.floor(work / CHUNK_MIN))) : 1);
  const exec = (fn: ParallelFn, chunks: number[][], f: Fn, scratchPtr = -1): void => {
    const local = scratchPtr >= 0 ? (a: number[]) => f(...a.slice(0, -1), scratchPtr) : (a: number[]) => f(...a);
    if (chunks.length === 1) local(chunks[0]);
    else threads.run(fn, chunks, local);
  };
  let packB: Storage | null = null;

  const gemmOne = (transA: boolean, M: number, N: number, K: number, pa: number, pb: number, ldb: number, pc: number, acc: number, bias: number): void => {
    const rsA = transA ? 1 : K;
    const csA = transA ? M : 1;
    const work = M * N * K;
    if (M >= 64) {
      const n = chunkCount(work, Math.floor(M / 16));
      exec('gemm', ranges(M, n, 4).map(([s, e]) => [e - s, N, K, pa + 4 * s * rsA, rsA, csA, pb, ldb, pc + 4 * s * N, N, acc, bias]), ex.gemm);
    } else {
      const n = N >= 16 ? chunkCount(work, Math.floor(N / 8)) : 1;
      exec('gemm', ranges(N, n, 8).map(([s, e]) => [M, e - s, K, pa, rsA, csA, pb + 4 * s, ldb, pc + 4 * s, N, acc, bias ? bias + 4 * s : 0]), ex.gemm);
    }
  };

  let packBs: Storage | null = null;
  const gemm = (p: GemmArgs): void => {
    const { transA, transB, M, N, K } = p;
    const pa = pin(p.a);
    const pb = pin(p.b);
    const pc = out(p.c, p.accumulate);
    const pbias = p.bias && !p.accumulate ? pin(p.bias) : 0;
    const sBias = p.strideBias ?? 0;
    const work = p.batch * M * N * K;
    if (p.batch >= 2 * threads.count && threads.count > 1 && work >= 8 * CHUNK_MIN && M > 0 && N > 0) {
      // many items (a leading learner axis): whole items are the chunks, every B packed first
      let bptr = pb;
      let sB = p.strideB;
      if (transB) {
        const items = p.strideB === 0 ? 1 : p.batch;
        if (!packBs || packBs.data.length < items * K * N) packBs = allocStorage(items * K * N);
        const dst = packBs.ptr;
        const tchunks = Array.from({ length: items }, (_, i) => [pb + 4 * i * p.strideB, N, K, K, dst + 4 * i * K * N, N]);
        // one item per chunk (at most MAX_CHUNKS per job)
        for (let c = 0; c < tchunks.length; c += MAX_CHUNKS) exec('transpose', tchunks.slice(c, c + MAX_CHUNKS), ex.transpose);
        bptr = packBs.ptr;
        sB = p.strideB === 0 ? 0 : K * N;
      }
      const rsA = transA ? 1 : K;
      const csA = transA ? M : 1;
      const acc = p.accumulate ? 1 : 0;
      // small chunks: whole items, or row ranges of items when there are few (a worker descheduled
      // in the middle of a chunk holds up little; the calling thread takes the chunks left)
      const total = Math.min(MAX_CHUNKS, Math.floor(work / CHUNK_MIN));
      const per = Math.max(1, Math.min(Math.floor(M / 16), Math.floor(total / p.batch)));
      let chunks: number[][];
      if (per > 1) {
        chunks = [];
        for (let i = 0; i < p.batch; i++)
          for (const [r0, r1] of ranges(M, per, 4)) chunks.push([i, i + 1, r1 - r0, N, K, pa + 4 * r0 * rsA, p.strideA, rsA, csA, bptr, sB, N, pc + 4 * r0 * N, p.strideC, N, acc, pbias, sBias]);
      } else {
        const n = Math.min(p.batch, MAX_CHUNKS, Math.floor(work / (4 * CHUNK_MIN)));
        chunks = ranges(p.batch, n, 1).map(([s, e]) => [s, e, M, N, K, pa, p.strideA, rsA, csA, bptr, sB, N, pc, p.strideC, N, acc, pbias, sBias]);
      }
      exec('gemmBatched', chunks, ex.gemmBatched);
      done();
      return;
    }
    for (let i = 0; i < p.batch; i++) {
      let bptr = pb + 4 * i * p.strideB;
      if (transB) {
        // B' = B^T packed as [K, N]
        if (!packB || packB.data.length < K * N) packB = allocStorage(K * N);
        ex.transpose(bptr, N, K, K, packB.ptr, N);
        bptr = packB.ptr;
      }
      gemmOne(transA, M, N, K, pa + 4 * i * p.strideA, bptr, N, pc + 4 * i * p.strideC, p.accumulate ? 1 : 0, pbias ? pbias + 4 * i * sBias : 0);
    }
    done();
  };

  const opnd = (o: AttnOperand, isOut = false, copyIn = true): [number, number, number] => [isOut ? out(o.arr, copyIn) : pin(o.arr), o.rowStride, o.batchStride];

  const attentionForward = (p: AttnArgs): void => {
    const units = p.B * p.H;
    const lse = p.lse ? out(p.lse, false) : 0;
    const common = [p.H, p.hd, p.Tq, p.Tk, p.qOffset, p.scale, ...opnd(p.q), ...opnd(p.k), ...opnd(p.v), ...opnd(p.out, true, false), lse, p.window ?? 0, p.sinks ?? 0];
    const sp = scratch(ex.attnScratchFloats(p.hd, p.Tk));
    const work = 2 * units * p.Tq * Math.min(p.Tk, p.Tq + p.qOffset) * p.hd;
    const chunks = ranges(units, chunkCount(work, units), 1).map(([s, e]) => [s, e, ...common, 0]);
    exec('attnForward', chunks, ex.attnForward, sp);
    done();
  };

  const attentionBackward = (p: AttnBackwardArgs): void => {
    const units = p.B * p.H;
    const common = [
      p.H, p.hd, p.Tq, p.Tk, p.qOffset, p.scale,
      ...opnd(p.q), ...opnd(p.k), ...opnd(p.v), ...opnd(p.out), pin(p.lse),
      ...opnd(p.dout), ...opnd(p.dq, true), ...opnd(p.dk, true), ...opnd(p.dv, true),
      p.window ?? 0, p.sinks ?? 0,
    ];
    const sp = scratch(ex.attnScratchFloats(p.hd, p.Tk));
    const work = 5 * units * p.Tq * Math.min(p.Tk, p.Tq + p.qOffset) * p.hd;
    const chunks = ranges(units, chunkCount(work, units), 1).map(([s, e]) => [s, e, ...common, 0]);
    exec('attnBackward', chunks, ex.attnBackward, sp);
    done();
  };

  const layerNormForward = (x: F32, gamma: F32, beta: F32, o: F32, mean: F32, rstd: F32, rows: number, d: number, eps: number): void => {
    const args = [pin(x), pin(gamma), pin(beta), out(o, false), out(mean, false), out(rstd, false)];
    const chunks = ranges(rows, chunkCount(4 * rows * d, rows), 1).map(([s, e]) => [...args, s, e, d, eps]);
    exec('layerNormForward', chunks, ex.layerNormForward);
    done();
  };

  const lnPartials: Storage[] = [];
  const layerNormBackward = (dy: F32, x: F32, gamma: F32, mean: F32, rstd: F32, dx: F32, accumulateDx: boolean, dgamma: F32, dbeta: F32, rows: number, d: number): void => {
    const base = [pin(dy), pin(x), pin(gamma), pin(mean), pin(rstd), out(dx, accumulateDx), accumulateDx ? 1 : 0];
    const pg = out(dgamma, true);
    const pbeta = out(dbeta, true);
    const rs = ranges(rows, chunkCount(6 * rows * d, rows), 1);
    // chunk 0 accumulates into dgamma/dbeta; the others into private zeroed partials, added afterwards
    const chunks = rs.map(([s, e], c) => {
      if (c === 0) return [...base, pg, pbeta, s, e, d];
      if (!lnPartials[c] || lnPartials[c].data.length < 2 * d) lnPartials[c] = allocStorage(2 * d);
      lnPartials[c].data.fill(0, 0, 2 * d);
      return [...base, lnPartials[c].ptr, lnPartials[c].ptr + 4 * d, s, e, d];
    });
    exec('layerNormBackward', chunks, ex.layerNormBackward);
    for (let c = 1; c < rs.length; c++) {
      ex.accum(lnPartials[c].ptr, pg, d, 1);
      ex.accum(lnPartials[c].ptr + 4 * d, pbeta, d, 1);
    }
    done();
  };

  const gelu = (x: F32, o: F32, n: number): void => {
    const px = pin(x);
    const po = out(o, false);
    const chunks = ranges(n, chunkCount(8 * n, Math.ceil(n / 1024)), 4).map(([s, e]) => [px + 4 * s, po + 4 * s, e - s]);
    exec('gelu', chunks, ex.gelu);
    done();
  };

  const geluBackward = (x: F32, dy: F32, dx: F32, n: number, accumulate: boolean): void => {
    const px = pin(x);
    const pdy = pin(dy);
    const pdx = out(dx, accumulate);
    const chunks = ranges(n, chunkCount(10 * n, Math.ceil(n / 1024)), 4).map(([s, e]) => [px + 4 * s, pdy + 4 * s, pdx + 4 * s, e - s, accumulate ? 1 : 0]);
    exec('geluBackward', chunks, ex.geluBackward);
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

  const relu = (x: F32, y: F32, n: number): void => {
    const px = pin(x);
    const py = out(y, false);
    const chunks = ranges(n, chunkCount(4 * n, Math.ceil(n / 4096)), 4).map(([s, e]) => [px + 4 * s, py + 4 * s, e - s]);
    exec('relu', chunks, ex.relu);
    done();
  };
  const reluBackward = (y: F32, dy: F32, dx: F32, n: number, accumulate: boolean): void => {
    const py = pin(y);
    const pdy = pin(dy);
    const pdx = out(dx, accumulate);
    const chunks = ranges(n, chunkCount(4 * n, Math.ceil(n / 4096)), 4).map(([s, e]) => [py + 4 * s, pdy + 4 * s, pdx + 4 * s, e - s, accumulate ? 1 : 0]);
    exec('reluBackward', chunks, ex.reluBackward);
    done();
  };

  const tanh = (x: F32, y: F32, n: number): void => {
    ex.tanhv(pin(x), out(y, false), n);
    done();
  };
  const tanhBackward = (y: F32, dy: F32, dx: F32, n: number, accumulate: boolean): void => {
    ex.tanhBackward(pin(y), pin(dy), out(dx, accumulate), n, accumulate ? 1 : 0);
    done();
  };

  // The scan: threads over rows or channel groups when there are enough of them; otherwise over time
  // chunks, as an associative scan in three passes: (1) each chunk from a zero state, keeping the
  // product of its coefficients; (2) here, in order, the state entering each chunk (carry_k =
  // end_{k-1}, end_k = local end_k + prod_k carry_k); (3) each chunk adds prod(start..t) carry_k.
  let scanBuf: Storage | null = null;
  const scan = (p: ScanArgs): void => {
    const { B, T, P } = p;
    const pa = pin(p.a);
    const px = pin(p.x);
    const ph = out(p.h, false);
    const pr = p.reset ? pin(p.reset) : 0;
    const p0 = p.h0 ? pin(p.h0) : 0;
    const rev = p.reverse ? 1 : 0;
    const groups = B * Math.ceil(P / 4);
    const work = 4 * B * T * P;
    const nt = threads.count;
    if (nt > 1 && work >= 2 * CHUNK_MIN && groups < 2 * nt && T >= 256) {
      const C = Math.min(MAX_CHUNKS, 4 * nt, Math.floor(T / 64));
      const rs = ranges(T, C, 1);
      const n = rs.length;
      const order = rev ? [...rs].reverse() : rs;
      const need = 2 * n * B * P;
      if (!scanBuf || scanBuf.data.length < need) scanBuf = allocStorage(need);
      const prodPtr = scanBuf.ptr;
      const carryPtr = scanBuf.ptr + 4 * n * B * P;
      exec('scanRange', order.map(([t0, t1], k) => [0, B, t0, t1, T, P, 0, P, pa, px, ph, pr, k === 0 ? p0 : 0, rev, 0, prodPtr + 4 * k * B * P]), ex.scanRange);
      const mem = arenaMemory()!.buffer;
      const h = new Float32Array(mem, ph, B * T * P);
      const prod = new Float32Array(mem, prodPtr, n * B * P);
      const carry = new Float32Array(mem, carryPtr, n * B * P);
      const end = new Float64Array(B * P);
      const endT = (k: number): number => (rev ? order[k][0] : order[k][1] - 1);
      for (let b = 0; b < B; b++) for (let c = 0; c < P; c++) end[b * P + c] = h[(b * T + endT(0)) * P + c];
      for (let k = 1; k < n; k++)
        for (let b = 0; b < B; b++)
          for (let c = 0; c < P; c++) {
            const i = b * P + c;
            carry[k * B * P + i] = end[i];
            end[i] = h[(b * T + endT(k)) * P + c] + prod[k * B * P + i] * end[i];
          }
      exec('scanRange', order.slice(1).map(([t0, t1], k) => [0, B, t0, t1, T, P, 0, P, pa, 0, ph, pr, carryPtr + 4 * (k + 1) * B * P, rev, 1, 0]), ex.scanRange);
    } else if (nt > 1 && work >= 2 * CHUNK_MIN && B >= 2 * nt) {
      const chunks = ranges(B, chunkCount(work, B), 1).map(([b0, b1]) => [b0, b1, 0, T, T, P, 0, P, pa, px, ph, pr, p0, rev, 0, 0]);
      exec('scanRange', chunks, ex.scanRange);
    } else if (nt > 1 && work >= 2 * CHUNK_MIN) {
      const chunks = ranges(P, chunkCount(work, Math.ceil(P / 4)), 4).map(([c0, c1]) => [0, B, 0, T, T, P, c0, c1, pa, px, ph, pr, p0, rev, 0, 0]);
      exec('scanRange', chunks, ex.scanRange);
    } else ex.scanRange(0, B, 0, T, T, P, 0, P, pa, px, ph, pr, p0, rev, 0, 0);
    done();
  };

  return { name: 'wasm', scan, add, addBias, sumRows, accumulate, gemm, attentionForward, attentionBackward, layerNormForward, layerNormBackward, gelu, geluBackward, adamw, relu, reluBackward, tanh, tanhBackward };
}

/** number of threads the WebAssembly kernels use */
export function wasmThreads(): number {
  const envThreads = Number(process.env.ICRL_NN_THREADS ?? '');
  return Number.isInteger(envThreads) && envThreads >= 1 ? Math.min(envThreads, 16) : Math.min(2, availableParallelism());
}
