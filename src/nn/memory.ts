/**
 * Float32 storage for tensors. When the WebAssembly kernels are available every buffer lives in
 * their (shared) linear memory, so kernels read and write tensors in place with no copy and worker
 * threads see the same bytes. Buffers come from size-class free lists; they go back on
 * `dispose()`, at the end of a `tidy()` scope, or (as a safety net) when the garbage collector
 * finalizes a storage nobody references any more.
 */

import { IcrlError } from '../core/errors.js';
import type { WasmMemory } from './wasmTypes.js';

/** A block of float32 values. `ptr` is its byte address in the kernel memory, or -1 on the JS heap. */
export class Storage {
  refs = 0;
  freed = false;
  constructor(
    readonly data: Float32Array,
    readonly ptr: number,
    readonly cls: number,
  ) {}
}

interface Arena {
  memory: WasmMemory;
  /** every SharedArrayBuffer/ArrayBuffer object that memory.buffer has returned (they change on grow) */
  buffers: WeakSet<ArrayBufferLike>;
  top: number;
  free: Map<number, number[]>;
}

let arena: Arena | null = null;
let liveBytes = 0;
let peakBytes = 0;

const finalizer = new FinalizationRegistry<{ ptr: number; cls: number; token: { freed: boolean } }>((h) => {
  if (!h.token.freed) {
    h.token.freed = true;
    releaseBlock(h.ptr, h.cls);
  }
});

/** Size classes: 2^k, 1.25 * 2^k, 1.5 * 2^k, 1.75 * 2^k floats (at most 25% waste), minimum 16. */
export function sizeClass(n: number): number {
  if (n <= 16) return 16;
  const p = 2 ** Math.floor(Math.log2(n));
  for (const f of [1, 1.25, 1.5, 1.75, 2]) {
    const c = Math.ceil((p * f) / 16) * 16;
    if (c >= n) return c;
  }
  return 2 * p;
}

/** Installs the kernel memory that storage is allocated from (done once by the WebAssembly kernels). */
export function installArena(memory: WasmMemory, reservedBytes: number): void {
  if (arena) throw new Error('nn: the kernel memory is already installed');
  arena = { memory, buffers: new WeakSet(), top: align(reservedBytes, 64), free: new Map() };
  arena.buffers.add(memory.buffer);
}

export function hasArena(): boolean {
  return arena !== null;
}

export function arenaMemory(): WasmMemory | null {
  return arena ? arena.memory : null;
}

/** True when `v` is a view of the kernel memory (so kernels can use it in place). */
export function inArena(v: Float32Array | Int32Array | Uint8Array): boolean {
  return arena !== null && arena.buffers.has(v.buffer);
}

function align(x: number, a: number): number {
  return Math.ceil(x / a) * a;
}

function currentBuffer(): ArrayBufferLike {
  const a = arena!;
  const b = a.memory.buffer;
  a.buffers.add(b);
  return b;
}

function allocBlock(cls: number): number {
  const a = arena!;
  const list = a.free.get(cls);
  if (list && list.length > 0) return list.pop()!;
  const bytes = cls * 4;
  const ptr = a.top;
  const end = ptr + bytes;
  const have = a.memory.buffer.byteLength;
  if (end > have) {
    const pages = Math.ceil((end - have) / 65536);
    // grow at least 64 MiB at a time so that a training step does not grow page by page
    const want = Math.max(pages, 1024);
    try {
      a.memory.grow(want);
    } catch {
      try {
        a.memory.grow(pages);
      } catch {
        throw new IcrlError(
          `nn: out of kernel memory allocating ${(bytes / 2 ** 20).toFixed(1)} MiB (live tensors ${(liveBytes / 2 ** 20).toFixed(0)} MiB of at most 4096 MiB); ` +
            'dispose tensors you no longer need (wrap each step in tidy()) or use smaller batches',
          'NN_MEMORY',
        );
      }
    }
    currentBuffer();
  }
  a.top = end;
  return ptr;
}

function releaseBlock(ptr: number, cls: number): void {
  const a = arena!;
  let list = a.free.get(cls);
  if (!list) {
    list = [];
    a.free.set(cls, list);
  }
  list.push(ptr);
  liveBytes -= cls * 4;
}

/** Allocates an uninitialised storage of n floats. */
export function allocStorage(n: number, zero = false): Storage {
  if (arena === null) return new Storage(new Float32Array(n), -1, 0);
  const cls = sizeClass(n);
  const ptr = allocBlock(cls);
  liveBytes += cls * 4;
  if (liveBytes > peakBytes) peakBytes = liveBytes;
  const data = new Float32Array(currentBuffer(), ptr, n);
  if (zero) data.fill(0);
  const s = new Storage(data, ptr, cls);
  const token = { freed: false };
  (s as unknown as { token: typeof token }).token = token;
  finalizer.register(s, { ptr, cls, token }, s);
  return s;
}

/** Returns a storage's block to the pool now. */
export function freeStorage(s: Storage): void {
  if (s.freed) return;
  s.freed = true;
  if (s.ptr < 0) return;
  const token = (s as unknown as { token: { freed: boolean } }).token;
  if (token.freed) return;
  token.freed = true;
  finalizer.unregister(s);
  releaseBlock(s.ptr, s.cls);
}

/** Bytes of kernel memory held by live tensors, the peak so far, and the memory size. */
export function memoryStats(): { liveBytes: number; peakBytes: number; heapBytes: number } {
  return { liveBytes, peakBytes, heapBytes: arena ? arena.memory.buffer.byteLength : 0 };
}

/** Starts a new peak measurement: the peak becomes the bytes live now. */
export function resetMemoryPeak(): void {
  peakBytes = liveBytes;
}

/** Scratch block (not tracked by scopes) of at least n floats, reused between calls. */
export class Scratch {
  private s: Storage | null = null;
  get(n: number): Storage {
    if (this.s === null || this.s.data.length < n) {
      if (this.s) freeStorage(this.s);
      this.s = allocStorage(Math.max(n, 16));
    }
    return this.s;
  }
}
