/**
 * Worker thread of `collect`: says it is ready (modules loaded, HDF5 initialized), then receives
 * shard indices, computes and writes each shard, and replies with its transition count (or the
 * error). Loaded as compiled JavaScript from dist/.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { computeShard, resolveTasks, type CollectConfig } from './collect.js';
import { h5ready } from './h5.js';

const { config, outDir } = workerData as { config: CollectConfig; outDir: string };
const tasks = resolveTasks(config);

parentPort!.on('message', (msg: { shard: number }) => {
  computeShard(config, tasks, msg.shard, outDir).then(
    (transitions) => parentPort!.postMessage({ shard: msg.shard, transitions }),
    (e: unknown) => parentPort!.postMessage({ shard: msg.shard, error: e instanceof Error ? e.message : String(e) }),
  );
});
await h5ready();
parentPort!.postMessage({ ready: true });
