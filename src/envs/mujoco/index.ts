/**
 * MuJoCo task families over the official MuJoCo WebAssembly module (npm `mujoco-js`). Load the
 * runtime once per thread with `await loadMujocoRuntime()` before `make` (see runtime.ts).
 */
export * from './runtime.js';
export * from './base.js';
export * from './cheetah.js';
export * from './ant.js';
export * from './walker.js';
export * from './tabletop.js';
export * from './viewer.js';
export * from './threaded.js';
