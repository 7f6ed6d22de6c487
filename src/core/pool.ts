/**
 * The project's one pool of worker threads for coarse jobs (collection shards, benchmark runs): a
 * queue of jobs shared by N worker threads and, optionally, this thread. A worker script calls
 * {@link serveJobs} with its job function; the pool hands a job to a worker once it reports ready and
 * keeps up to `prefetch` jobs with each (one computing, the next waiting, so a worker never idles
 * while this thread is busy). This thread takes its own share only once every worker has started:
 * its jobs may run for minutes without yielding, and would hold back the workers' first jobs. The
 * first failure stops everything and is rethrown here, with the
 * error's message and name; a worker that exits with jobs unfinished is a failure too. (The
 * neural-engine kernels run on their own threads over shared WebAssembly memory, see src/nn.)
 */
import { parentPort, Worker, workerData } from 'node:worker_threads';
import { IcrlError } from './errors.js';

type Reply<R> = { ready: true } | { id: number; ok: true; result: R } | { id: number; ok: false; error: string; name: string };

export interface PoolRun<J, R> {
  /** Compiled worker script (a module that calls serveJobs). */
  script: string;
  /** Passed to every worker as `workerData`. */
  workerData?: unknown;
  /** Worker threads to start. */
  workers: number;
  jobs: readonly J[];
  /** When given, this thread takes jobs from the same queue too. */
  computeHere?: (job: J) => Promise<R> | R;
  /** Called (on this thread) as each job finishes, with its index in `jobs`. */
  onResult: (index: number, result: R, byWorker: boolean) => void;
  /** Jobs held by a worker at once (default 2). */
  prefetch?: number;
  /** Prefix of error messages (e.g. "collect"). */
  label?: string;
}

/** Error names that keep their class when rethrown on this thread. */
const KEEP_NAMES = new Set(['IcrlError', 'ConfigError', 'UnknownNameError', 'OutOfSpaceError', 'CorruptFileError']);

/** Runs every job; resolves with the number of jobs computed by worker threads. */
export async function runPool<J, R>(run: PoolRun<J, R>): Promise<number> {
  const label = run.label ?? 'worker pool';
  const prefetch = run.prefetch ?? 2;
  const queue = run.jobs.map((_, i) => i);
  let failure: unknown = null;
  const pool: Worker[] = [];
  const inFlight = new Map<Worker, number>();
  let resolveAll!: () => void;
  let rejectAll!: (e: unknown) => void;
  const allDone = new Promise<void>((res, rej) => {
    resolveAll = res;
    rejectAll = rej;
  });
  allDone.catch(() => undefined);
  let live = run.workers;
  let byWorkers = 0;
  // workers that have started (or exited): this thread takes its share only once all have, since a
  // long synchronous job here would hold back their 'ready' messages, and so their jobs
  const started = new Set<Worker>();
  let resolveStarted!: () => void;
  const allStarted = new Promise<void>((res) => {
    resolveStarted = res;
  });
  const onStarted = (w: Worker): void => {
    started.add(w);
    if (started.size === run.workers) resolveStarted();
  };
  const fail = (e: unknown): void => {
    if (failure) return;
    failure = e;
    for (const p of pool) void p.terminate();
    rejectAll(e);
  };
  const give = (w: Worker): void => {
    const i = failure ? undefined : queue.shift();
    if (i === undefined) {
      if ((inFlight.get(w) ?? 0) === 0) void w.terminate();
      return;
    }
    inFlight.set(w, (inFlight.get(w) ?? 0) + 1);
    w.postMessage({ id: i, job: run.jobs[i] });
  };
  if (run.workers === 0) resolveAll();
  for (let k = 0; k < run.workers; k++) {
    const w = new Worker(run.script, { workerData: run.workerData });
    pool.push(w);
    inFlight.set(w, 0);
    w.on('message', (msg: Reply<R>) => {
      if ('ready' in msg) {
        // jobs go to a worker only once it has started (a slow start must not hold jobs back)
        onStarted(w);
        for (let p = 0; p < prefetch; p++) give(w);
        return;
      }
      inFlight.set(w, (inFlight.get(w) ?? 1) - 1);
      if (!msg.ok) {
        const text = `${label}: job ${msg.id} failed: ${msg.error}`;
        fail(KEEP_NAMES.has(msg.name) ? new IcrlError(text) : new Error(text));
        return;
      }
      run.onResult(msg.id, msg.result, true);
      byWorkers++;
      give(w);
    });
    w.on('error', fail);
    w.on('exit', (code) => {
      onStarted(w);
      live--;
      if ((inFlight.get(w) ?? 0) > 0) fail(new IcrlError(`${label}: a worker thread exited (code ${code}) with ${inFlight.get(w)} job(s) unfinished`));
      else if (live === 0 && !failure) resolveAll();
    });
  }
  // this thread's share, once the workers have started; between jobs it yields so that worker messages are handled
  if (run.computeHere && run.workers > 0) await Promise.race([allStarted, allDone]);
  while (!failure && run.computeHere) {
    const i = queue.shift();
    if (i === undefined) break;
    try {
      run.onResult(i, await run.computeHere(run.jobs[i]), false);
    } catch (e) {
      fail(e);
      break;
    }
    await new Promise((r) => setImmediate(r));
  }
  // workers that were waiting for this thread get their last jobs or are stopped
  if (run.computeHere) for (const w of pool) if ((inFlight.get(w) ?? 0) === 0) give(w);
  await allDone;
  return byWorkers;
}

/**
 * The worker side: after `init` (module loading, WebAssembly set-up) it reports ready, then runs
 * the jobs it receives one at a time with `handle(job, workerData)` and posts each result back.
 */
export function serveJobs<J, R>(handle: (job: J, data: unknown) => Promise<R> | R, init?: () => Promise<void> | void): void {
  const port = parentPort;
  if (!port) throw new IcrlError('serveJobs: not running in a worker thread');
  const data = workerData as unknown;
  let chain: Promise<void> = Promise.resolve();
  port.on('message', (msg: { id: number; job: J }) => {
    chain = chain.then(async () => {
      try {
        port.postMessage({ id: msg.id, ok: true, result: await handle(msg.job, data) });
      } catch (e) {
        port.postMessage({ id: msg.id, ok: false, error: e instanceof Error ? e.message : String(e), name: e instanceof Error ? e.name : 'Error' });
      }
    });
  });
  void Promise.resolve(init?.()).then(() => port.postMessage({ ready: true }));
}

/**
 * A standing pool of worker threads running one job at a time each, for callers that receive jobs
 * one by one (a queue worker) instead of holding a list: `run(job)` resolves with the job's result
 * on the first idle thread (the worker script calls {@link serveJobs}, as for {@link runPool}). A
 * failing job rejects its own `run` only; a thread that dies rejects its job and is replaced.
 */
export class JobThreads<J, R> {
  private readonly idle: Worker[] = [];
  private readonly waiting: { job: J; resolve: (r: R) => void; reject: (e: unknown) => void }[] = [];
  private readonly busy = new Map<Worker, { resolve: (r: R) => void; reject: (e: unknown) => void }>();
  private readonly all = new Set<Worker>();
  private closed = false;
  private nextId = 0;

  constructor(
    private readonly script: string,
    readonly size: number,
    private readonly workerData?: unknown,
    private readonly label = 'job threads',
  ) {
    if (!Number.isInteger(size) || size < 1) throw new IcrlError(`${label}: needs at least one thread, got ${size}`);
    for (let k = 0; k < size; k++) this.spawn();
  }

  private spawn(): void {
    const w = new Worker(this.script, { workerData: this.workerData });
    this.all.add(w);
    w.on('message', (msg: Reply<R>) => {
      if ('ready' in msg) return this.release(w);
      const p = this.busy.get(w);
      this.busy.delete(w);
      if (p) {
        if (msg.ok) p.resolve(msg.result);
        else {
          const e = new Error(msg.error);
          e.name = msg.name;
          p.reject(e);
        }
      }
      this.release(w);
    });
    w.on('error', (e) => this.lost(w, e));
    w.on('exit', (code) => this.lost(w, new IcrlError(`${this.label}: a worker thread exited (code ${code}) during a job`)));
  }

  private lost(w: Worker, e: unknown): void {
    if (!this.all.delete(w)) return;
    const i = this.idle.indexOf(w);
    if (i >= 0) this.idle.splice(i, 1);
    const p = this.busy.get(w);
    this.busy.delete(w);
    p?.reject(e);
    if (!this.closed) this.spawn();
  }

  private release(w: Worker): void {
    const next = this.waiting.shift();
    if (!next) {
      this.idle.push(w);
      return;
    }
    this.busy.set(w, next);
    w.postMessage({ id: this.nextId++, job: next.job });
  }

  /** Runs `job` on the next idle thread. */
  run(job: J): Promise<R> {
    if (this.closed) return Promise.reject(new IcrlError(`${this.label}: closed`));
    return new Promise<R>((resolve, reject) => {
      this.waiting.push({ job, resolve, reject });
      const w = this.idle.shift();
      if (w) this.release(w);
    });
  }

  /** Stops every thread (jobs still running are rejected). */
  async close(): Promise<void> {
    this.closed = true;
    for (const p of this.waiting.splice(0)) p.reject(new IcrlError(`${this.label}: closed`));
    await Promise.all([...this.all].map((w) => w.terminate()));
  }
}
