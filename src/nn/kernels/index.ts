/**
 * Kernel selection. The WebAssembly SIMD kernels are used when their compiled module is present
 * (built by `npm run build:wasm`, part of `npm install`); `ICRL_NN_KERNELS=reference` or
 * `setKernels('reference')` switches to the plain TypeScript kernels. Storage always lives in the
 * WebAssembly memory when the module loaded, so switching at run time is safe.
 */
import { IcrlError } from '../../core/errors.js';
import { referenceKernels } from './reference.js';
import type { Kernels } from './types.js';
import { loadWasmKernels, wasmLoadError } from './wasm.js';

let active: Kernels = referenceKernels;
let wasm: Kernels | null = null;

function init(): void {
  const want = process.env.ICRL_NN_KERNELS ?? 'wasm';
  if (want !== 'reference' && want !== 'wasm') throw new IcrlError(`ICRL_NN_KERNELS must be "wasm" or "reference", got "${want}"`, 'CONFIG');
  wasm = loadWasmKernels();
  if (want === 'wasm') {
    if (wasm) active = wasm;
    else if (!process.env.ICRL_NN_QUIET) process.stderr.write(`nn: WebAssembly kernels unavailable (${wasmLoadError()}); using the TypeScript reference kernels. Run \`npm run build:wasm\`.\n`);
  }
}
init();

/** The kernels the ops use now. */
export function kernels(): Kernels {
  return active;
}

/** Whether the WebAssembly kernels are loaded (they may still be switched off). */
export function wasmAvailable(): boolean {
  return wasm !== null;
}

/** Selects the kernels: 'wasm' (SIMD, threads) or 'reference' (plain TypeScript). */
export function setKernels(name: 'wasm' | 'reference'): void {
  if (name === 'reference') active = referenceKernels;
  else {
    if (!wasm) throw new IcrlError(`WebAssembly kernels are not available: ${wasmLoadError()}`, 'NN_WASM');
    active = wasm;
  }
}

/** Runs `fn` with the given kernels, then restores the previous ones. */
export function withKernels<T>(name: 'wasm' | 'reference', fn: () => T): T {
  const prev = active;
  setKernels(name);
  try {
    return fn();
  } finally {
    active = prev;
  }
}

export { referenceKernels };
export type { Kernels };
