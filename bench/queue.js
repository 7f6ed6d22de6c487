#!/usr/bin/env node
// The job queue (BullMQ on a redis-server started here, on a free loopback port, in a temporary
// folder): collection throughput of the DPT bandit data (configs/collect-dpt-bandit-small.yaml)
// through 1 and 2 `icrl worker` processes (1 thread each) against the local run in one thread,
// measured in the same run (median of --repeats runs each), and the queue's overhead per job: many
// one-task shards through 1 worker against the same shards computed locally, (queue - local) / jobs.
// One JSON line per figure, with the machine's load average. Options: --tasks N, --shard N,
// --repeats N, --jobs N (overhead jobs).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cliArgs } from './args.js';

const root = fileURLToPath(new URL('..', import.meta.url));
if (!existsSync(join(root, 'dist', 'queue', 'index.js'))) {
  process.stderr.write('bench:queue: the project is not built; run `npm run build` first\n');
  process.exit(1);
}
if (spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status !== 0) {
  process.stderr.write('bench:queue: redis-server is not installed (apt-get install redis-server)\n');
  process.exit(1);
}
const { collect, loadCollectConfig } = await import(new URL('dist/data/collect.js', `file://${root}`).href);
const { shardExecutor, parseRedisUrl } = await import(new URL('dist/queue/index.js', `file://${root}`).href);

const args = cliArgs();
const tasks = Number(args.opt('tasks', '5000'));
const shard = Number(args.opt('shard', '500'));
const repeats = Number(args.opt('repeats', '3'));
const overheadJobs = Number(args.opt('jobs', '200'));

const freePort = () =>
  new Promise((res) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => res(p));
    });
  });
const ping = (port) =>
  new Promise((res) => {
    const sock = new Socket();
    sock.once('error', () => res(false));
    sock.connect(port, '127.0.0.1', () => sock.write('PING\r\n'));
    sock.once('data', (d) => (sock.destroy(), res(d.toString().startsWith('+PONG'))));
  });
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const load = () => loadavg().map((x) => Number(x.toFixed(2)));

const dir = mkdtempSync(join(tmpdir(), 'icrl-bench-queue-'));
const port = await freePort();
const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
const workers = [];
const startWorker = () =>
  new Promise((res, rej) => {
    const w = spawn(process.execPath, [join(root, 'bin', 'icrl.js'), 'worker', '--queue', `redis://127.0.0.1:${port}`, '--root', dir, '--threads', '1'], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    workers.push(w);
    let text = '';
    w.jobSeconds = [];
    w.stderr.on('data', (d) => {
      text += d.toString();
      for (const m of d.toString().matchAll(/job \S+ done in ([\d.]+) s/g)) w.jobSeconds.push(Number(m[1]));
      if (/worker: pid/.test(text)) res(w);
    });
    w.once('exit', (code) => rej(new Error(`worker exited (${code}): ${text}`)));
  });
const stopWorkers = async () => {
  for (const w of workers.splice(0)) {
    w.removeAllListeners('exit');
    const gone = new Promise((r) => w.once('exit', r));
    w.kill('SIGTERM');
    await gone;
  }
};

try {
  for (let k = 0; k < 100 && !(await ping(port)); k++) await new Promise((r) => setTimeout(r, 50));
  process.chdir(dir); // the coordinator and the workers share this root folder
  const q = { target: parseRedisUrl(`redis://127.0.0.1:${port}`), silent: true, log: () => {} };
  const base = loadCollectConfig(join(root, 'configs', 'collect-dpt-bandit-small.yaml'));
  const cfg = { ...base, tasks: { ...base.tasks, count: tasks }, shardSize: shard, workers: 1 };
  let n = 0;
  const once = async (c, executor) => {
    const r = await collect(c, { out: join(dir, `run-${n++}`), workers: 1, silent: true, executor });
    if (!r.manifest.complete) throw new Error('collection did not complete');
    return r;
  };
  const measure = async (executor) => {
    // warm-up: JIT, HDF5 and the workers' threads, on a small collection
    await once({ ...cfg, tasks: { ...cfg.tasks, count: 2 * shard }, seed: 99 }, executor);
    const secs = [];
    let transitions = 0;
    for (let k = 0; k < repeats; k++) {
      const r = await once({ ...cfg, seed: k }, executor);
      secs.push(r.seconds);
      transitions = r.transitions;
    }
    return { seconds: median(secs), transitions };
  };
  const local = await measure(undefined);
  const localRate = local.transitions / local.seconds;
  const common = { bench: 'queue', config: 'configs/collect-dpt-bandit-small.yaml', tasks, shardSize: shard, shards: Math.ceil(tasks / shard), repeats };
  process.stdout.write(`${JSON.stringify({ ...common, what: 'collection, local, this thread only (reference)', mode: 'local', seconds: Number(local.seconds.toFixed(3)), transitionsPerSec: Math.round(localRate), loadavg: load() })}\n`);
  await startWorker();
  const one = await measure(shardExecutor(q));
  process.stdout.write(`${JSON.stringify({ ...common, what: 'collection through the queue, 1 worker (1 thread)', mode: 'queue-1', seconds: Number(one.seconds.toFixed(3)), transitionsPerSec: Math.round(one.transitions / one.seconds), ratioToLocal: Number((local.seconds / one.seconds).toFixed(3)), loadavg: load() })}\n`);
  await startWorker();
  const two = await measure(shardExecutor(q));
  process.stdout.write(`${JSON.stringify({ ...common, what: 'collection through the queue, 2 workers (1 thread each)', mode: 'queue-2', seconds: Number(two.seconds.toFixed(3)), transitionsPerSec: Math.round(two.transitions / two.seconds), ratioToLocal: Number((local.seconds / two.seconds).toFixed(3)), ratioTo1Worker: Number((one.seconds / two.seconds).toFixed(3)), loadavg: load() })}\n`);
  // overhead per job: one-task shards with one-pull contexts through one worker, one job at a time
  await stopWorkers();
  const w = await startWorker();
  const tiny = { ...cfg, tasks: { ...cfg.tasks, count: overheadJobs }, shardSize: 1, contextLength: 1, numEnvs: 1 };
  await once({ ...tiny, seed: 98, tasks: { ...tiny.tasks, count: 20 } }, shardExecutor(q));
  const per = [];
  const inJob = [];
  const localPer = [];
  for (let k = 0; k < repeats; k++) {
    localPer.push((await once({ ...tiny, seed: 50 + k }, undefined)).seconds / overheadJobs);
    await new Promise((r) => setTimeout(r, 200)); // the worker's last lines
    const before = w.jobSeconds.length;
    const r = await once({ ...tiny, seed: 60 + k }, shardExecutor(q));
    await new Promise((r2) => setTimeout(r2, 200));
    const jobs = w.jobSeconds.slice(before);
    const busy = jobs.reduce((a, b) => a + b, 0);
    per.push((r.seconds - busy) / overheadJobs);
    inJob.push(busy / jobs.length);
  }
  process.stdout.write(`${JSON.stringify({ bench: 'queue', what: 'queue overhead per job: (wall - time in jobs) / jobs, one-task shards, 1 worker, one job at a time', jobs: overheadJobs, repeats, overheadMsPerJob: Number((median(per) * 1000).toFixed(2)), msInJob: Number((median(inJob) * 1000).toFixed(2)), localMsPerShard: Number((median(localPer) * 1000).toFixed(2)), loadavg: load() })}\n`);
} finally {
  process.chdir(root);
  await stopWorkers();
  redis.kill('SIGTERM');
  await new Promise((r) => redis.once('exit', r));
  rmSync(dir, { recursive: true, force: true });
}
