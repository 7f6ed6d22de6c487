/**
 * The public API of the `icrl` package (`import ... from 'icrl'`).
 *
 * Each part of the project is importable on its own path, with its whole API: `icrl/envs`,
 * `icrl/nn`, `icrl/rl`, `icrl/eval`, `icrl/models`, `icrl/train`, `icrl/data`, `icrl/algorithms`,
 * `icrl/teachers`, `icrl/tasks`, `icrl/core`, `icrl/report`, `icrl/experiments`, `icrl/queue` (the `exports` map
 * of package.json).
 * The root exports each part as a namespace (`import { envs, nn } from 'icrl'`), since some names
 * exist in more than one part, plus the main entry points by name:
 *
 *   import { makeBatchedEnv, splitTasks, makeAgent, evaluateOnline, summarizeSteps, kernelInfo } from 'icrl';
 *
 *   const env = makeBatchedEnv('bandit', 100, { arms: 5 });
 *   const tasks = splitTasks(env.taskSpace, { seed: 0, heldOut: 100 }).heldOut;
 *   const rec = await evaluateOnline(makeAgent({ kind: 'thompson' }), env, tasks, { steps: 500, seed: 0 });
 *   if (rec.mode === 'steps') console.log(summarizeSteps(rec).finalRegret.mean, kernelInfo());
 */
import { kernels, wasmAvailable } from './nn/index.js';
import { rngBackend, type RngBackend } from './core/rng.js';

export * as algorithms from './algorithms/index.js';
export * as core from './core/index.js';
export * as data from './data/index.js';
export * as envs from './envs/index.js';
export * as evaluation from './eval/index.js';
export * as experiments from './experiments/index.js';
export * as models from './models/index.js';
export * as nn from './nn/index.js';
export * as queue from './queue/index.js';
export * as rl from './rl/index.js';
export * as report from './report/index.js';
export * as tasks from './tasks/index.js';
export * as teachers from './teachers/index.js';
export * as train from './train/index.js';

// The main entry points, by name.
export { IcrlError, ConfigError, UnknownNameError } from './core/errors.js';
export { Rng, rngBackend, setRngBackend, type RngBackend, type Seed } from './core/rng.js';
export { makeBatchedEnv, makeEnv, getFamily, listFamilies, familyNames, type BatchedEnv, type EnvFamily, type ActionArray } from './envs/index.js';
export { TaskSpace, splitTasks, type Task } from './tasks/index.js';
export { makeAgent, listAgentKinds, type Agent } from './algorithms/index.js';
export { evaluateOnline, evaluateOffline, summarizeSteps, summarizeEpisodes, runEvaluation, type OnlineRecord, type StepRecord, type EpisodeRecord } from './eval/index.js';
export { Tensor, tensor, kernels, setKernels, wasmAvailable } from './nn/index.js';
export { trainFromConfig, loadTrainConfig } from './train/index.js';
export { makeTeacher, teachers as teacherRegistry } from './teachers/index.js';
export { Registry, DuplicateNameError } from './core/index.js';
export { envFamilies, registerFamily } from './envs/index.js';
export { agentKinds, registerAgentKind } from './algorithms/index.js';
export { modelKinds } from './models/index.js';
export { evaluateAndReport, runQuickstart } from './experiments/index.js';
export { renderReport, writeReport } from './report/index.js';

/** Which compiled kernels this process runs on. */
export interface KernelInfo {
  /** Kernels of the neural engine's ops now: 'wasm' (SIMD, threads) or 'reference' (TypeScript). */
  nn: 'wasm' | 'reference';
  /** Whether build/nn/kernels.wasm loaded (it may still be switched off with setKernels). */
  nnWasmLoaded: boolean;
  /** Block generator of the random streams: 'wasm' (build/core/rng.wasm) or 'reference'. */
  rng: RngBackend;
}

/**
 * Reports the kernels in use. Both fall back to TypeScript references when their `.wasm` file is
 * missing (or ICRL_NN_KERNELS / ICRL_RNG say so); results are the same, the neural engine is slower.
 */
export function kernelInfo(): KernelInfo {
  return { nn: kernels().name, nnWasmLoaded: wasmAvailable(), rng: rngBackend() };
}
