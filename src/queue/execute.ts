/**
 * What a worker thread does with a validated job: the same functions as the local commands
 * (computeShard of `icrl collect`, evaluateUnit of `icrl eval`, runTrial of `icrl sweep`), so a job
 * computes exactly what the local run computes for that part.
 */
import { join } from 'node:path';
import { computeShard, resolveTasks, shardFile, configHash } from '../data/collect.js';
import { fileDigest } from '../core/digest.js';
import type { Task } from '../tasks/taskSpace.js';
import { evaluateUnit } from '../eval/run.js';
import { runTrial } from '../experiments/sweep.js';
import type { ParsedJob, ShardOutcome } from './jobs.js';

/** The lock label of a trial job's training folder (a worker that gets the job again may take it over). */
export function trialLockLabel(jobId: string): string {
  return `icrl worker: job ${jobId}`;
}

// task lists of the collections this thread has seen (resolving them can read a file)
const taskCache = new Map<string, Task[]>();

export async function executeJob(jobId: string, job: ParsedJob): Promise<unknown> {
  if (job.name === 'collect-shard') {
    const key = configHash(job.config);
    let tasks = taskCache.get(key);
    if (!tasks) {
      tasks = resolveTasks(job.config);
      taskCache.clear();
      taskCache.set(key, tasks);
    }
    const transitions = await computeShard(job.config, tasks, job.shard, job.out);
    const out: ShardOutcome = { shard: job.shard, transitions, ...fileDigest(join(job.out, shardFile(job.shard))) };
    return out;
  }
  if (job.name === 'eval-unit') return evaluateUnit(job.config, job.unit, { baseDir: process.cwd(), source: `job ${jobId}` });
  return runTrial({ ...job.trial, config: job.config }, { lockLabel: trialLockLabel(jobId) });
}
