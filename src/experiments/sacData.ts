/**
 * The SAC learning histories of the continuous-control reproductions (`ad-continuous`,
 * `dpt-continuous`, docs/results.md): one SAC learner per task, all trained at once
 * (`collectSacHistories`, docs/rl.md), on the training tasks of a split (what AD and DPT learn from)
 * and on its held-out tasks (the source learner's own learning curve on the evaluation tasks, and
 * its final policy: the expert the models are compared with). Each file is written once; a rerun
 * finds it and does not collect again, and a killed collection continues from its last resume point.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalJson } from '../core/json.js';
import { ConfigError } from '../core/errors.js';
import { makeDir, writeJsonAtomic } from '../core/atomic.js';
import type { JsonValue } from '../core/spaces.js';
import { getFamily, prepareFamily } from '../envs/index.js';
import { splitTasks, type Task } from '../tasks/taskSpace.js';
import { collectSacHistories, type SacOptions } from '../rl/index.js';
import type { History } from '../data/index.js';

export interface SacDataSpec {
  family: string;
  envOptions: Record<string, unknown>;
  /** The train / held-out split (the same as the training and evaluation configs'). */
  split: { seed: number; heldOut: number; train: number };
  /** Environment steps per task (the length of each history). */
  steps: number;
  sac: Partial<SacOptions>;
  seed: number;
}

export interface SacData {
  /** Histories of the training tasks (data.ad.collection / data.dpt.collection of the models). */
  train: string;
  /** Histories of the held-out tasks (the source learner's learning curve there). */
  heldOut: string;
  /** The final SAC learners of the held-out tasks (the `sac-policy` agent plays them). */
  expert: string;
  /** Wall-clock seconds each collection took when it ran (null: collected by an earlier version without timing). */
  seconds: { train: number | null; heldOut: number | null };
}

interface DataRecord {
  spec: SacDataSpec;
  seconds: { train: number | null; heldOut: number | null };
}

/** Collects (or finds) the histories of `spec` in `dir`. */
export async function sacHistories(spec: SacDataSpec, dir: string, say: (line: string) => void): Promise<SacData> {
  makeDir(dir);
  const recordFile = join(dir, 'data.json');
  let record: DataRecord = { spec, seconds: { train: null, heldOut: null } };
  if (existsSync(recordFile)) {
    const prev = JSON.parse(readFileSync(recordFile, 'utf8')) as DataRecord;
    if (canonicalJson(prev.spec as unknown as JsonValue) !== canonicalJson(spec as unknown as JsonValue)) {
      throw new ConfigError(`${recordFile}: histories of another set-up (${canonicalJson(prev.spec as unknown as JsonValue)}); delete ${dir} or choose another output folder`, recordFile);
    }
    record = prev;
  } else writeJsonAtomic(recordFile, record);
  await prepareFamily(spec.family);
  const space = getFamily(spec.family).taskSpace(spec.envOptions);
  const split = splitTasks(space, spec.split);
  const out: SacData = { train: join(dir, 'train.h5'), heldOut: join(dir, 'heldout.h5'), expert: join(dir, 'heldout-sac.safetensors'), seconds: record.seconds };
  const run = async (label: 'train' | 'heldOut', tasks: Task[], file: string, seed: number, checkpoint?: string): Promise<void> => {
    if (existsSync(file) && (!checkpoint || existsSync(checkpoint))) {
      say(`SAC histories of the ${tasks.length} ${label === 'train' ? 'training' : 'held-out'} tasks: ${file} (collected before, not again)`);
      return;
    }
    say(`SAC on ${tasks.length} ${label === 'train' ? 'training' : 'held-out'} ${spec.family} tasks x ${spec.steps} steps -> ${file}`);
    const t0 = performance.now();
    let last = t0;
    await collectSacHistories({
      family: spec.family,
      envOptions: spec.envOptions,
      tasks,
      sac: spec.sac,
      steps: spec.steps,
      seed,
      file,
      checkpoint,
      checkpointEvery: Math.max(1, Math.round(spec.steps / 10)),
      onStep: (t) => {
        const now = performance.now();
        if (now - last > 60_000) {
          last = now;
          say(`  step ${t + 1} of ${spec.steps} (${((now - t0) / 1000).toFixed(0)} s)`);
        }
      },
    });
    record.seconds[label] = (performance.now() - t0) / 1000;
    writeJsonAtomic(recordFile, record);
    say(`  done in ${record.seconds[label]!.toFixed(0)} s`);
  };
  await run('train', split.train, out.train, spec.seed);
  await run('heldOut', split.heldOut, out.heldOut, spec.seed + 1, out.expert);
  return out;
}

/** Undiscounted return of every whole episode of each run of a history: [run][episode]. */
export function historyEpisodeReturns(h: History): number[][] {
  const out: number[][] = [];
  for (let r = 0; r < h.numHistories; r++) {
    const row: number[] = [];
    let sum = 0;
    for (let t = 0; t < h.length; t++) {
      const k = r * h.length + t;
      sum += h.rewards[k];
      if (h.dones[k]) {
        row.push(sum);
        sum = 0;
      }
    }
    out.push(row);
  }
  return out;
}
