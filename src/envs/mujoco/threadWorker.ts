/**
 * Worker thread of a threaded MuJoCo environment (threaded.ts): loads its own MuJoCo module, makes
 * its slice of the batch (instances offset .. offset + count - 1) with the batch's seed, and then
 * serves the commands of the control block until `close`: each command runs on the slice, whose
 * per-instance arrays are then copied into the shared ones, and the worker reports done. An error
 * is posted on the port (read synchronously by the main thread) and flagged in the control block.
 */
import { receiveMessageOnPort, workerData } from 'node:worker_threads';
import { Rng } from '../../core/rng.js';
import type { Task } from '../../tasks/taskSpace.js';
import { getFamily, prepareFamily } from '../index.js';
import type { MujocoEnv } from './base.js';
import { CMD, CTL, sliceExpert, sliceMirror, type ThreadWorkerData } from './threaded.js';

const wd = workerData as ThreadWorkerData;
const ctl = new Int32Array(wd.ctl);
const seedArg = new Float64Array(wd.seed);
const actions = new Float32Array(wd.actions);
const expert = new Float32Array(wd.expert);

function fail(e: unknown): void {
  const err = e as Error;
  wd.port.postMessage({ error: `${err.name && err.name !== 'Error' ? `${err.name}: ` : ''}${err.message ?? String(e)}` });
  Atomics.store(ctl, CTL.FAILED, 1);
}

function done(): void {
  Atomics.add(ctl, CTL.DONE, 1);
  Atomics.notify(ctl, CTL.DONE);
}

let env: MujocoEnv | null = null;
let mirror: () => void = () => undefined;
try {
  await prepareFamily(wd.family);
  const made = getFamily(wd.family).make(wd.count, wd.options, Rng.fromState(wd.rng)) as MujocoEnv;
  made.setInstanceOffset(wd.offset);
  mirror = sliceMirror(made, wd.arrays, wd.offset);
  env = made;
} catch (e) {
  fail(e);
}
done();

if (env) {
  const e = env;
  const ad = e.actDim;
  const from = wd.offset * ad;
  const to = from + wd.count * ad;
  // SEQ is 0 until the first command, which may come before this line runs
  let seen = 0;
  for (;;) {
    // a short spin, then sleep until the next command
    for (let k = 0; k < 200 && Atomics.load(ctl, CTL.SEQ) === seen; k++);
    Atomics.wait(ctl, CTL.SEQ, seen);
    const s = Atomics.load(ctl, CTL.SEQ);
    if (s === seen) continue;
    seen = s;
    const cmd = Atomics.load(ctl, CTL.CMD);
    try {
      if (cmd === CMD.STEP) e.step(actions.subarray(from, to));
      else if (cmd === CMD.RESET) e.reset(Atomics.load(ctl, CTL.HAS_SEED) ? seedArg[0] : undefined);
      else if (cmd === CMD.SET_TASKS) e.setTasks(receiveMessageOnPort(wd.port)!.message as Task[]);
      else if (cmd === CMD.SET_TASK) {
        const i = Atomics.load(ctl, CTL.INST);
        if (i >= wd.offset && i < wd.offset + wd.count) {
          const m = receiveMessageOnPort(wd.port)!.message as { index: number; task: Task };
          e.setTask(m.index, m.task);
        }
      } else if (cmd === CMD.EXPERT) sliceExpert(e, expert.subarray(from, to));
      else if (cmd === CMD.CLOSE) e.close();
      if (cmd !== CMD.CLOSE) mirror();
    } catch (err) {
      fail(err);
    }
    done();
    if (cmd === CMD.CLOSE) break;
  }
  wd.port.close();
}
