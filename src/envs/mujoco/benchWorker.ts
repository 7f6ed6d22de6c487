/**
 * Worker of the 2-thread MuJoCo figure of `icrl envs bench`: loads its own MuJoCo module, makes an
 * environment of `batch` instances, warms the module up (1 s of stepping), says it is ready, then on 'go' steps it `steps`
 * times with random actions and says it is done.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Rng } from '../../core/rng.js';
import { getFamily, prepareFamily } from '../index.js';
import { envRun, warmUpMujoco } from './nativeBench.js';

const { family, batch, steps, seed } = workerData as { family: string; batch: number; steps: number; seed: number };
await prepareFamily(family);
const rng = new Rng(seed);
const env = getFamily(family).make(batch, {}, rng.split('tasks'));
warmUpMujoco(getFamily(family));
env.reset(seed);
parentPort?.once('message', () => {
  envRun(env, steps, rng.split('run'));
  parentPort?.postMessage('done');
});
parentPort?.postMessage('ready');
