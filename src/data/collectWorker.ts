/**
 * Worker thread of `collect` (core/pool.ts): once HDF5 is initialized it takes shard indices,
 * computes and writes each shard, and replies with its transition count. Loaded as compiled
 * JavaScript from dist/.
 */
import { serveJobs } from '../core/pool.js';
import { computeShard, resolveTasks, type CollectConfig } from './collect.js';
import { h5ready } from './h5.js';

const { config, outDir, modules } = (await import('node:worker_threads')).workerData as { config: CollectConfig; outDir: string; modules?: string[] };
// source algorithms registered from layers above (deep learners: src/rl) register here too
for (const m of modules ?? []) await import(m);
const tasks = resolveTasks(config);

serveJobs<number, number>((shard) => computeShard(config, tasks, shard, outDir), h5ready);
