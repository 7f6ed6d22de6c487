/**
 * WebAssembly SIMD kernels (AssemblyScript sources in `assembly/`). Not built yet in this
 * revision: the loader reports the module as unavailable.
 */
import type { Kernels } from './types.js';

let error = 'not built';

export function loadWasmKernels(): Kernels | null {
  error = 'not built';
  return null;
}

export function wasmLoadError(): string {
  return error;
}
