/**
 * The coordinator side of the queue: `icrl collect | eval | sweep --queue <url>` enqueue their parts
 * as BullMQ jobs and wait for the results. Exactly once, even under failure:
 *
 * - A job's id is a function of what it computes (the config's hash and the part's index), so
 *   enqueuing again what is already queued adds nothing, and a restarted coordinator finds its jobs.
 * - On start the coordinator first takes the results of jobs that completed while it was not
 *   running (a result that no longer fits, e.g. a shard file changed since, is run again), and
 *   enqueues again the jobs that had failed (that is how a run is resumed).
 * - Each job id is accepted once; a second completion (an event and the periodic check both seeing
 *   it) is counted as a duplicate and ignored.
 * - A worker that dies mid-job leaves a stalled job that BullMQ hands to another worker once its
 *   lock expires; a job that fails `attempts` times is reported by id with its error.
 */
import { createHash } from 'node:crypto';
import { relative, resolve } from 'node:path';
import { Queue, QueueEvents, type Job } from 'bullmq';
import { IcrlError } from '../core/errors.js';
import { canonicalJson } from '../core/json.js';
import { Progress } from '../core/progress.js';
import { configHash, type CollectConfig, type ShardExecutor } from '../data/collect.js';
import type { EvalConfig } from '../eval/config.js';
import type { EvalExecutor, EvalUnit, UnitOutcome } from '../eval/run.js';
import type { SweepExecutor, Trial, TrialSummary } from '../experiments/sweep.js';
import { connectionOptions, scrubSecrets, type RedisTarget } from './redis.js';
import { insideRoot, parseJob, type JobName, type ShardOutcome } from './jobs.js';
import { DEFAULT_QUEUE } from './worker.js';

/** Jobs that failed `attempts` times (or were refused): named by id with their errors. */
export class QueueJobsFailedError extends IcrlError {
  constructor(
    readonly failed: { id: string; error: string }[],
    what: string,
  ) {
    super(`${what}: ${failed.length} job(s) failed: ${failed.slice(0, 5).map((f) => `${f.id}: ${f.error}`).join('; ')}${failed.length > 5 ? `; and ${failed.length - 5} more` : ''}. Run the same command again to retry them.`, 'QUEUE_JOBS_FAILED');
  }
}

export interface QueueOptions {
  target: RedisTarget;
  queueName?: string;
  /** Tries per job before it is reported failed (default 3). */
  attempts?: number;
  /** Milliseconds between the checks of outstanding jobs that complement Redis's events (default 2000). */
  pollMs?: number;
  silent?: boolean;
  log?: (line: string) => void;
}

export interface JobSpec {
  id: string;
  name: JobName;
  data: unknown;
}

export type Verdict = 'ok' | 'duplicate' | 'mismatch';

export interface RunJobsResult {
  failed: { id: string; error: string }[];
  /** Results found completed in Redis when the run started (done while no coordinator waited). */
  harvested: number;
  /** Jobs enqueued again because their earlier try had failed or no longer fitted. */
  requeued: number;
  /** Completions seen again after their job was accepted (ignored). */
  duplicates: number;
  seconds: number;
}

/** Short hash of a value (ids of jobs). */
export function digestOf(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex').slice(0, 16);
}

/**
 * Enqueues `jobs` (those not queued already) and waits until each has been accepted once or has
 * failed. `accept` gets every result once; 'mismatch' means the result cannot be used: a harvested
 * one is run again, a fresh one is a failure of that job.
 */
export async function runJobs(jobs: JobSpec[], accept: (id: string, result: unknown) => Verdict, opts: QueueOptions & { removeAccepted?: 'now' | 'end'; label?: string; unit?: string }): Promise<RunJobsResult> {
  const t0 = performance.now();
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const scrub = (t: string): string => scrubSecrets(t, opts.target);
  const name = opts.queueName ?? DEFAULT_QUEUE;
  const connection = connectionOptions(opts.target);
  const queue = new Queue(name, { connection });
  const events = new QueueEvents(name, { connection });
  queue.on('error', (e) => log(`queue: ${scrub(String(e.message ?? e))}`));
  events.on('error', (e) => log(`queue events: ${scrub(String(e.message ?? e))}`));
  const attempts = opts.attempts ?? 3;
  const jobOpts = { attempts, backoff: { type: 'exponential', delay: 500 }, removeOnComplete: false, removeOnFail: false };
  const outstanding = new Set(jobs.map((j) => j.id));
  if (outstanding.size !== jobs.length) throw new IcrlError('queue: two jobs with the same id');
  const accepted = new Set<string>();
  const failed: { id: string; error: string }[] = [];
  const toRemove: Job[] = [];
  let harvested = 0;
  let requeued = 0;
  let duplicates = 0;
  const bar = new Progress(`${opts.label ?? 'queue'} on ${opts.target.masked}`, jobs.length, { unit: opts.unit ?? 'jobs', silent: opts.silent });
  let wake: () => void = () => {};
  const finished = new Promise<void>((r) => (wake = r));
  const settle = (): void => {
    bar.update(accepted.size + failed.length);
    if (outstanding.size === 0) wake();
  };
  const checking = new Set<string>();
  // The state is read first and the job after it: a job object fetched while it was still active
  // keeps no result even once its state says completed.
  const take = async (id: string, live: boolean): Promise<'done' | 'again' | 'pending' | 'absent'> => {
    const state = await queue.getJobState(id);
    if (state !== 'completed' && state !== 'failed') return state === 'unknown' ? 'absent' : 'pending';
    const job = await queue.getJob(id);
    if (!job) return 'absent';
    if (!outstanding.has(id)) return 'done';
    if (state === 'completed') {
      outstanding.delete(id);
      const v = accept(id, job.returnvalue);
      if (v === 'mismatch') {
        if (!live) {
          outstanding.add(id);
          await job.remove();
          return 'again';
        }
        failed.push({ id, error: 'its result does not fit what the coordinator sees (see the command\'s documentation: every worker must see the same output folder)' });
      } else {
        if (v === 'duplicate') duplicates++;
        accepted.add(id);
        if (opts.removeAccepted === 'now') await job.remove().catch(() => undefined);
        else toRemove.push(job);
      }
      settle();
      return 'done';
    }
    if (!live) {
      await job.remove();
      return 'again';
    }
    outstanding.delete(id);
    failed.push({ id, error: scrub(job.failedReason ?? 'failed') });
    log(`queue: job ${id} failed after ${job.attemptsMade} attempt(s): ${scrub(job.failedReason ?? '')}`);
    settle();
    return 'done';
  };
  const check = async (id: string): Promise<void> => {
    if (!outstanding.has(id)) {
      if (accepted.has(id)) duplicates++;
      return;
    }
    if (checking.has(id)) return;
    checking.add(id);
    try {
      await take(id, true);
    } finally {
      checking.delete(id);
    }
  };
  try {
    await events.waitUntilReady();
    events.on('completed', ({ jobId }) => void check(jobId).catch((e: unknown) => log(`queue: ${scrub(String(e))}`)));
    events.on('failed', ({ jobId }) => void check(jobId).catch((e: unknown) => log(`queue: ${scrub(String(e))}`)));
    // what is in Redis already: results of a run that was interrupted, failures to try again
    const fresh: JobSpec[] = [];
    for (const spec of jobs) {
      const r = await take(spec.id, false);
      if (r === 'absent') fresh.push(spec);
      else if (r === 'done') harvested++;
      else if (r === 'again') {
        fresh.push(spec);
        requeued++;
      }
    }
    if (harvested > 0 || requeued > 0) log(`queue: ${harvested} result(s) found done, ${requeued} job(s) enqueued again`);
    for (let k = 0; k < fresh.length; k += 500) {
      await queue.addBulk(fresh.slice(k, k + 500).map((j) => ({ name: j.name, data: j.data, opts: { ...jobOpts, jobId: j.id } })));
    }
    if (outstanding.size > 0) log(`queue: ${outstanding.size} job(s) outstanding on ${opts.target.masked} (queue "${name}"), ${fresh.length} enqueued now; workers: icrl worker --queue <url>`);
    settle();
    const poll = setInterval(() => {
      for (const id of [...outstanding].slice(0, 1000)) void check(id).catch(() => undefined);
    }, opts.pollMs ?? 2000);
    try {
      await finished;
    } finally {
      clearInterval(poll);
    }
    bar.finish();
    for (const j of toRemove) await j.remove().catch(() => undefined);
  } finally {
    await events.close();
    await queue.close();
  }
  return { failed, harvested, requeued, duplicates, seconds: (performance.now() - t0) / 1000 };
}

/** A path of this process as the workers see it: relative to the working directory, inside it. */
function rootRelative(path: string, what: string): string {
  const rel = relative(process.cwd(), resolve(path)) || '.';
  try {
    return insideRoot('(coordinator)', what, rel);
  } catch {
    throw new IcrlError(`${what}: ${resolve(path)} is outside the working directory; on the queue every path is relative to the folder the coordinator and the workers run in (a shared folder, see docs/cluster.md)`);
  }
}

/** Checks the first payload of a run as a worker will (errors here are better than failed jobs). */
function precheck(jobs: JobSpec[]): void {
  if (jobs.length > 0) parseJob(jobs[0].id, jobs[0].name, jobs[0].data);
}

/** Collection shards as queue jobs; the shard files go to the shared output folder. */
export function shardExecutor(opts: QueueOptions): ShardExecutor & { last?: RunJobsResult } {
  const ex: ShardExecutor & { last?: RunJobsResult } = {
    async run(c: CollectConfig, outDir: string, shards: number[], accept) {
      const out = rootRelative(outDir, 'collect: the output folder');
      const hash = configHash(c);
      const jobs: JobSpec[] = shards.map((i) => ({ id: `collect-${hash}-shard-${i}`, name: 'collect-shard', data: { v: 1, config: { ...c, out }, out, shard: i } }));
      precheck(jobs);
      const byId = new Map(shards.map((i, k) => [jobs[k].id, i]));
      const r = await runJobs(
        jobs,
        (id, result) => {
          const s = result as Partial<ShardOutcome> | null;
          if (!s || typeof s.shard !== 'number' || typeof s.transitions !== 'number' || typeof s.bytes !== 'number' || typeof s.sha256 !== 'string' || s.shard !== byId.get(id)) return 'mismatch';
          return accept(s.shard, s.transitions, { bytes: s.bytes, sha256: s.sha256 });
        },
        { ...opts, removeAccepted: 'now', label: `collect ${c.kind} ${c.family}`, unit: 'shards', silent: true },
      );
      ex.last = r;
      if (r.failed.length > 0) throw new QueueJobsFailedError(r.failed, `collect into ${outDir}`);
    },
  };
  return ex;
}

function unitKey(u: EvalUnit): string {
  return u.part === 'online' ? `on-${u.agent}-${u.chunk}` : `off-${u.agent}`;
}

/** Evaluation units as queue jobs; their outcomes come back through Redis. */
export function evalExecutor(opts: QueueOptions): EvalExecutor & { last?: RunJobsResult } {
  const ex: EvalExecutor & { last?: RunJobsResult } = {
    async run(units: EvalUnit[], cfg: EvalConfig) {
      // what the workers compute depends on neither the output folder nor the report
      const payloadConfig = { ...cfg, out: rootRelative(cfg.out, 'eval: the output folder') };
      const hash = digestOf({ ...cfg, out: undefined, report: undefined, name: undefined });
      const jobs: JobSpec[] = units.map((unit) => ({ id: `eval-${hash}-${unitKey(unit)}`, name: 'eval-unit', data: { v: 1, config: payloadConfig, unit } }));
      precheck(jobs);
      const outcomes = new Map<string, UnitOutcome>();
      const r = await runJobs(
        jobs,
        (id, result) => {
          const o = result as Partial<UnitOutcome> | null;
          if (!o || (o.part !== 'online' && o.part !== 'offline')) return 'mismatch';
          if (outcomes.has(id)) return 'duplicate';
          outcomes.set(id, o as UnitOutcome);
          return 'ok';
        },
        { ...opts, removeAccepted: 'end', label: `eval ${cfg.name}`, unit: 'units' },
      );
      ex.last = r;
      const errors = new Map(r.failed.map((f) => [f.id, f.error]));
      return jobs.map((j) => outcomes.get(j.id) ?? { error: `job ${j.id}: ${errors.get(j.id) ?? 'no result'}` });
    },
  };
  return ex;
}

/** Sweep trials as queue jobs; each trains into its folder under the sweep's (shared) output folder. */
export function sweepExecutor(opts: QueueOptions): SweepExecutor & { last?: RunJobsResult } {
  const ex: SweepExecutor & { last?: RunJobsResult } = {
    async run(trials: Trial[], onResult: (s: TrialSummary) => void) {
      const jobs: JobSpec[] = trials.map((t) => {
        const out = rootRelative(t.config.out, `sweep: trial ${t.id}: out`);
        return { id: `trial-${digestOf({ ...t.config, out: undefined })}-${t.id}`, name: 'sweep-trial', data: { v: 1, trial: { id: t.id, setting: t.setting, seed: t.seed }, config: { ...t.config, out } } };
      });
      precheck(jobs);
      const byId = new Map(trials.map((t, k) => [jobs[k].id, t.id]));
      const r = await runJobs(
        jobs,
        (id, result) => {
          const s = result as Partial<TrialSummary> | null;
          if (!s || s.id !== byId.get(id) || typeof s.metric?.value !== 'number') return 'mismatch';
          onResult(s as TrialSummary);
          return 'ok';
        },
        { ...opts, removeAccepted: 'now', label: 'sweep', unit: 'trials', silent: true },
      );
      ex.last = r;
      return r.failed.map((f) => ({ id: byId.get(f.id) ?? f.id, error: f.error }));
    },
  };
  return ex;
}
