/** Worker thread of the ToyEnv benchmark: runs one spec per message and posts the result back. */
import { parentPort } from 'node:worker_threads';
import { runToy, type ToyRunSpec } from './toyBench.js';

if (parentPort) {
  const port = parentPort;
  port.on('message', (spec: ToyRunSpec) => {
    try {
      port.postMessage({ ok: true, result: runToy(spec) });
    } catch (e) {
      port.postMessage({ ok: false, error: (e as Error).message, name: (e as Error).name });
    }
  });
}
