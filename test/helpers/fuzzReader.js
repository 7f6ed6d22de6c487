// Worker of test/fuzz.test.ts: reads one file kind with the project's readers (compiled, from dist/)
// and says for each file whether it read back identical to the reference, different, or failed with
// an error of the project (named) or another one (raw). The test runs it in a worker thread so that
// a reader that never returns is caught by a timeout.
import { parentPort, workerData } from 'node:worker_threads';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';

const dist = new URL('../../dist/', import.meta.url);
const { IcrlError } = await import(new URL('core/errors.js', dist).href);
const { loadConfig } = await import(new URL('core/config.js', dist).href);
const { loadDptCollection } = await import(new URL('data/collect.js', dist).href);
const { decodeSafetensors } = await import(new URL('nn/safetensors.js', dist).href);
const { readResults } = await import(new URL('eval/results.js', dist).href);
const { renderReport } = await import(new URL('report/index.js', dist).href);
const { TrainConfigSchema } = await import(new URL('train/config.js', dist).href);

function digestOf(value) {
  const h = createHash('sha256');
  const feed = (v) => {
    if (ArrayBuffer.isView(v)) {
      h.update(`${v.constructor.name}:${v.length}:`);
      h.update(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
    } else if (v instanceof Map) {
      for (const [k, x] of v) {
        h.update(`M${k}:`);
        feed(x);
      }
    } else if (v && typeof v === 'object') {
      for (const k of Object.keys(v).sort()) {
        h.update(`K${k}:`);
        feed(v[k]);
      }
    } else h.update(`V${JSON.stringify(v)};`);
  };
  feed(value);
  return h.digest('hex');
}

const READERS = {
  // a collection folder whose shard or manifest was mutated
  shard: async (path) => loadDptCollection(path),
  manifest: async (path) => loadDptCollection(path),
  safetensors: async (path) => decodeSafetensors(readFileSync(path), path),
  results: async (path) => renderReport(readResults(path), { baseDir: dirname(path) }),
  config: async (path) => loadConfig(TrainConfigSchema, path),
};

const read = READERS[workerData.kind];
let reference = null;
parentPort.on('message', async ({ i, path, ref }) => {
  let outcome;
  try {
    const d = digestOf(await read(path));
    if (ref) reference = d;
    outcome = d === reference ? 'identical' : 'different';
  } catch (e) {
    outcome = e instanceof IcrlError ? `named:${e.name}` : `raw:${e?.name ?? typeof e}: ${String(e?.message ?? e).slice(0, 200)}`;
  }
  parentPort.postMessage({ i, outcome });
});
parentPort.postMessage({ ready: true });
