/**
 * Worker thread of `collect` (core/pool.ts): once HDF5 is initialized it takes shard indices,
 * computes and writes each shard, and replies with its transition count. Loaded as compiled
 * JavaScript from dist/.
 */
import { serveJobs } from '../core/pool.js';
import { computeShard, resolveTasks, type CollectConfig } from './collect.js';
import { h5ready } from './h5.js';

const { config, outDir } = (await import('node:worker_threads')).workerData as { config: CollectConfig; outDir: string };
const tasks = resolveTasks(config);

serveJobs<number, number>((shard) => computeShard(config, tasks, shard, outDir), h5ready);
