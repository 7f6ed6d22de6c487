/**
 * `icrl worker`: takes jobs from the queue and runs them on this machine's threads. Each job is
 * validated on arrival (jobs.ts); a payload that does not pass fails at once, without retries,
 * with its InvalidJobError, and the worker goes on. A valid job runs in one of `threads` worker
 * threads (core/pool.ts JobThreads), so that this thread keeps renewing the job's lock in Redis:
 * a worker that dies (SIGKILL, a lost machine) stops renewing, BullMQ finds the job stalled after
 * the lock expires and hands it to another worker.
 */
import { existsSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hostname } from 'node:os';
import { Worker as BullWorker, UnrecoverableError, type Job } from 'bullmq';
import { IcrlError } from '../core/errors.js';
import { LOCK_FILE, lockHolder } from '../core/lock.js';
import { JobThreads } from '../core/pool.js';
import { connectionOptions, scrubSecrets, type RedisTarget } from './redis.js';
import { InvalidJobError, parseJob, type ParsedJob } from './jobs.js';
import { trialLockLabel } from './execute.js';

/** Name of the queue every command uses unless told otherwise (`--queue-name`). */
export const DEFAULT_QUEUE = 'icrl';

export interface WorkerOptions {
  target: RedisTarget;
  queueName?: string;
  /** Jobs run at once, each on its own thread (default 1). */
  threads?: number;
  /** How long a job's lock lasts without renewal (ms, default 30000): a dead worker's job is handed on after about this long. */
  lockDurationMs?: number;
  /** How often this worker looks for stalled jobs (ms, default 30000). */
  stalledIntervalMs?: number;
  /** A job found stalled more often than this fails (default 2). */
  maxStalledCount?: number;
  log?: (line: string) => void;
}

export interface QueueWorker {
  /** Stops taking jobs, waits for the running ones, and closes the connection. */
  close(): Promise<void>;
  counts: { done: number; failed: number; rejected: number };
}

/** Path of the compiled thread script (threads always run compiled JavaScript from dist/). */
function threadScript(): string {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.js')) return join(dirname(here), 'jobThread.js');
  const js = join(resolve(dirname(here), '..', '..'), 'dist', 'queue', 'jobThread.js');
  if (!existsSync(js)) throw new IcrlError(`worker: thread script ${js} not found; run \`npm run build\` first`);
  return js;
}

/**
 * A trial's training folder is locked by the worker that trains it. When the queue hands this
 * worker a trial whose folder is still locked for the same job by another process, that process
 * lost the job (BullMQ gives a job to one worker at a time, and again only once its lock expired):
 * its lock is removed so the training resumes from its last checkpoint here.
 */
function takeOverTrialFolder(dir: string, jobId: string, log: (l: string) => void): void {
  const h = lockHolder(dir);
  if (!h || h.what !== trialLockLabel(jobId) || (h.pid === process.pid && h.host === hostname())) return;
  log(`worker: job ${jobId}: taking over ${dir} from pid ${h.pid} on ${h.host} (it lost the job)`);
  rmSync(join(dir, LOCK_FILE), { force: true });
}

export async function startWorker(opts: WorkerOptions): Promise<QueueWorker> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const threads = new JobThreads<{ id: string; job: ParsedJob }, unknown>(threadScript(), opts.threads ?? 1, undefined, 'worker');
  const counts = { done: 0, failed: 0, rejected: 0 };
  const scrub = (t: string): string => scrubSecrets(t, opts.target);
  const processor = async (job: Job): Promise<unknown> => {
    const id = String(job.id);
    let parsed: ParsedJob;
    try {
      parsed = parseJob(id, job.name, job.data);
    } catch (e) {
      counts.rejected++;
      const named = e instanceof InvalidJobError ? e : new InvalidJobError(id, (e as Error).message);
      log(`worker: rejected ${named.name}: ${named.message}`);
      throw new UnrecoverableError(`${named.name}: ${named.message}`);
    }
    if (parsed.name === 'sweep-trial') takeOverTrialFolder(resolve(parsed.config.out), id, log);
    const t0 = performance.now();
    log(`worker: job ${id} (${job.name}) started`);
    try {
      const r = await threads.run({ id, job: parsed });
      counts.done++;
      log(`worker: job ${id} done in ${((performance.now() - t0) / 1000).toFixed(3)} s`);
      return r;
    } catch (e) {
      counts.failed++;
      const err = e as Error;
      const text = scrub(`${err.name ?? 'Error'}: ${err.message}`);
      log(`worker: job ${id} failed (attempt ${job.attemptsMade + 1}): ${text}`);
      throw new Error(text, { cause: e });
    }
  };
  const worker = new BullWorker(opts.queueName ?? DEFAULT_QUEUE, processor, {
    connection: connectionOptions(opts.target),
    concurrency: threads.size,
    lockDuration: opts.lockDurationMs ?? 30_000,
    stalledInterval: opts.stalledIntervalMs ?? 30_000,
    maxStalledCount: opts.maxStalledCount ?? 2,
    autorun: false,
  });
  worker.on('error', (e) => log(`worker: ${scrub(String((e as Error).message ?? e))}`));
  void worker.run().catch((e: unknown) => log(`worker: stopped: ${scrub(String((e as Error).message ?? e))}`));
  await worker.waitUntilReady();
  return {
    counts,
    async close() {
      await worker.close();
      await threads.close();
    },
  };
}
