// The job queue (src/queue) on a real redis-server (started here on a free loopback port, with a
// password, in a temporary folder): collection and evaluation through two `icrl worker` processes
// give what the local run gives; a worker killed with SIGKILL mid-job leaves its job to the other;
// a coordinator killed and started again finishes the run; malformed jobs pushed by hand are
// refused with InvalidJobError while the workers go on; a sweep's trials on the queue score as
// locally; the password is printed nowhere.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { collect, collectConfigSchema, computeShard, loadDptCollection, readManifest, resolveTasks, shardFile, type CollectConfig } from '../src/data/collect.js';
import { fileDigest } from '../src/core/digest.js';
import { runEvaluation } from '../src/eval/run.js';
import { evalConfigSchema } from '../src/eval/config.js';
import { redactCommand } from '../src/core/provenance.js';
import { gridOf, loadSweep, planSweep, runSweep, runTrial, sweepConfigSchema, sweepSettings } from '../src/experiments/sweep.js';
import { evalExecutor, runJobs, shardExecutor, sweepExecutor, type QueueOptions } from '../src/queue/coordinator.js';
import { InvalidJobError, parseJob } from '../src/queue/jobs.js';
import { maskRedisUrl, parseRedisUrl, queueUrlFrom, RedisUrlError, scrubSecrets } from '../src/queue/redis.js';
import { NO_REDIS, redisServerAvailable, startRedis, type TestRedis } from './helpers/redis.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(repo, 'bin', 'icrl.js');
const PASSWORD = 'pw-Zq81xk3';
const haveRedis = redisServerAvailable();
if (!haveRedis) process.stderr.write(`test/queue.test.ts: ${NO_REDIS}\n`);

describe('queue: URLs, payload validation, statistics (no Redis)', () => {
  it('accepts redis:// and rediss:// URLs and never shows the password', () => {
    const t = parseRedisUrl('rediss://user:s3cr%3Ft@queue.example:6380/2');
    expect(t).toMatchObject({ tls: true, host: 'queue.example', port: 6380, db: 2 });
    expect(t.masked).toBe('rediss://user:***@queue.example:6380/2');
    expect(maskRedisUrl('redis://:hunter22@h:1')).not.toContain('hunter22');
    expect(scrubSecrets('connect failed: redis://:hunter22@h:1 (auth hunter22)', parseRedisUrl('redis://:hunter22@h:1'))).not.toContain('hunter22');
    expect(() => parseRedisUrl('http://:pw123@h:1')).toThrow(RedisUrlError);
    expect(() => parseRedisUrl('http://:pw123@h:1')).not.toThrow(/pw123/);
    expect(() => parseRedisUrl('redis://h:99999')).toThrow(/bad port|Invalid|not a URL/);
    expect(redactCommand(['sweep', 'x.yaml', '--queue', 'redis://:hunter22@h:1', '--queue=rediss://u:pw99@h/0'])).toEqual(['sweep', 'x.yaml', '--queue', 'redis://:***@h:1', '--queue=rediss://u:***@h/0']);
    expect(queueUrlFrom(undefined, {})).toBeNull();
    expect(queueUrlFrom(undefined, { ICRL_REDIS_URL: 'redis://h:7' })?.port).toBe(7);
  });

  it('refuses malformed payloads, unknown job names and paths outside the root, naming the field', () => {
    const good = { v: 1, config: collectConfigSchema.parse({ kind: 'dpt', family: 'bandit', tasks: { count: 10 }, contextLength: 5, shardSize: 5 }), out: 'runs/c', shard: 1 };
    expect(parseJob('j1', 'collect-shard', good)).toMatchObject({ name: 'collect-shard', shard: 1, out: join('runs', 'c') });
    const bad: [string, unknown, RegExp][] = [
      ['shell', { cmd: 'rm -rf /' }, /unknown job name "shell"/],
      ['collect-shard', { ...good, out: '/etc' }, /out: "\/etc" is absolute/],
      ['collect-shard', { ...good, out: 'runs/../../x' }, /leaves the worker's root/],
      ['collect-shard', { ...good, shard: 2 }, /shard 2 does not exist/],
      ['collect-shard', { ...good, config: { ...good.config, family: 'no-such' } }, /family/],
      ['collect-shard', { ...good, extra: 1 }, /extra: unknown key/],
      ['eval-unit', { v: 1, config: { env: { family: 'bandit' }, tasks: { heldOut: 5 }, online: { steps: 5, agents: [{ type: 'model', checkpoint: '/root/x' }] } }, unit: { part: 'online', agent: 0, chunk: 0 } }, /checkpoint: "\/root\/x" is absolute/],
      ['eval-unit', { v: 1, config: { bogus: 1 }, unit: { part: 'online', agent: 0, chunk: 0 } }, /bogus: unknown key/],
      ['sweep-trial', { v: 1, trial: { id: '../x', setting: 0, seed: 0 }, config: {} }, /trial\.id/],
    ];
    for (const [name, data, re] of bad) {
      let err: unknown;
      try {
        parseJob('j2', name, data);
      } catch (e) {
        err = e;
      }
      expect(err, `${name} ${JSON.stringify(data).slice(0, 60)}`).toBeInstanceOf(InvalidJobError);
      expect((err as Error).message).toMatch(re);
    }
  });

  it('grids and random subsets are deterministic; the shipped sweep plans its trials through --set', () => {
    expect(gridOf({ a: [1, 2], b: ['x', 'y'] })).toEqual([{ a: 1, b: 'x' }, { a: 1, b: 'y' }, { a: 2, b: 'x' }, { a: 2, b: 'y' }]);
    const c = sweepConfigSchema.parse({ name: 's', train: 't.yaml', search: 'random', trials: 2, params: { a: [1, 2, 3], b: [0, 1] }, seeds: [0], out: 'o' });
    expect(sweepSettings(c)).toEqual(sweepSettings(c));
    expect(sweepSettings(c)).toHaveLength(2);
    expect(() => sweepConfigSchema.parse({ name: 's', train: 't', params: { a: [1] }, seeds: [0, 0], out: 'o' })).toThrow(/distinct/);
    // the shipped sweep: 2 x 2 settings x 3 seeds through the --set machinery; a bad path is named
    const plan = loadSweep(join(repo, 'configs', 'sweep-dpt-bandit-tiny.yaml'));
    expect(plan.trials.map((t) => t.id)).toEqual(['s0-seed0', 's0-seed1', 's0-seed2', 's1-seed0', 's1-seed1', 's1-seed2', 's2-seed0', 's2-seed1', 's2-seed2', 's3-seed0', 's3-seed1', 's3-seed2']);
    expect(plan.trials.map((t) => [t.config.optim.lr, t.config.model.layers, t.config.seed])[5]).toEqual([0.001, 2, 2]);
    expect(plan.trials[5].config.out).toBe(join('runs', 'sweep-dpt-bandit-tiny', 'trials', 's1-seed2'));
    expect(() => loadSweep(join(repo, 'configs', 'sweep-dpt-bandit-tiny.yaml'), ['params={"optim.lrr":[1]}'])).toThrow(/trial s0-seed0.*\n.*optim\.lrr: unknown key/);
  });

  it('the collection coordinator accepts each shard once, and refuses a report that does not match the file', async () => {
    const d = mkdtempSync(join(tmpdir(), 'icrl-accept-'));
    try {
      const verdicts: string[] = [];
      const c = collectConfigSchema.parse({ kind: 'dpt', family: 'bandit', tasks: { count: 30 }, contextLength: 5, shardSize: 10, workers: 0 });
      const r = await collect(c, {
        out: d,
        silent: true,
        executor: {
          async run(cfg, outDir, shards, accept) {
            const tasks = resolveTasks(cfg);
            for (const i of shards) {
              const tr = await computeShard(cfg, tasks, i, outDir);
              const digest = fileDigest(join(outDir, shardFile(i)));
              verdicts.push(accept(i, tr, { ...digest, sha256: '0'.repeat(64) })); // not the file's
              verdicts.push(accept(i, tr, digest), accept(i, tr, digest)); // the second is a duplicate
            }
          },
        },
      });
      expect(verdicts).toEqual(['mismatch', 'ok', 'duplicate', 'mismatch', 'ok', 'duplicate', 'mismatch', 'ok', 'duplicate']);
      expect(r.manifest.complete).toBe(true);
      expect(Object.keys(r.manifest.shards)).toEqual(['0', '1', '2']);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  it('icrl worker refuses a bad queue URL without printing its password', async () => {
    const { runCli } = await import('../src/cli/main.js');
    const err: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string | Uint8Array) => (err.push(String(chunk)), true)) as typeof process.stderr.write;
    const code0 = process.exitCode;
    try {
      await runCli(['node', 'icrl', 'worker', '--queue', 'http://:pw-secret-9@host:1']);
      expect(process.exitCode).toBe(2);
    } finally {
      process.stderr.write = write;
      process.exitCode = code0;
    }
    expect(err.join('')).toMatch(/--queue: http:\/\/:\*\*\*@host:1\/?: the scheme must be redis:\/\/ or rediss:\/\//);
    expect(err.join('')).not.toContain('pw-secret-9');
  });
});

interface Proc {
  proc: ChildProcess;
  lines: string[];
  /** The first line matching `re` from line `from` on (default: any line so far or to come). */
  waitFor(re: RegExp, ms?: number, from?: number): Promise<string>;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

function spawnIcrl(args: string[], cwd: string): Proc {
  const proc = spawn(process.execPath, [bin, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ICRL_REDIS_URL: '' } });
  const lines: string[] = [];
  const waiters: { re: RegExp; done: (l: string) => void }[] = [];
  const onData = (d: Buffer): void => {
    for (const l of d.toString().split('\n')) {
      if (!l) continue;
      lines.push(l);
      for (const w of waiters.splice(0)) if (w.re.test(l)) w.done(l);
      else waiters.push(w);
    }
  };
  proc.stdout!.on('data', onData);
  proc.stderr!.on('data', onData);
  return {
    proc,
    lines,
    waitFor(re, ms = 20_000, from = 0) {
      const seen = lines.slice(from).find((l) => re.test(l));
      if (seen) return Promise.resolve(seen);
      return new Promise((res, rej) => {
        const t = setTimeout(() => rej(new Error(`no line ${re} within ${ms} ms; got:\n${lines.join('\n')}`)), ms);
        waiters.push({ re, done: (l) => (clearTimeout(t), res(l)) });
      });
    },
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const gone = new Promise((r) => proc.once('exit', r));
      proc.kill(signal);
      await gone;
    },
  };
}

describe.skipIf(!haveRedis)('queue on a real redis-server', () => {
  let redis: TestRedis;
  let dir: string;
  let url: string;
  let q: QueueOptions;
  const cwd0 = process.cwd();
  const workers: Proc[] = [];
  const startWorker = (): Proc => {
    const w = spawnIcrl(['worker', '--queue', url, '--root', dir, '--lock-ms', '1000', '--stalled-ms', '500'], dir);
    workers.push(w);
    return w;
  };

  beforeAll(async () => {
    redis = await startRedis(['--requirepass', PASSWORD]);
    url = `redis://:${PASSWORD}@127.0.0.1:${redis.port}`;
    q = { target: parseRedisUrl(url), silent: true, pollMs: 300, log: () => {} };
    dir = mkdtempSync(join(tmpdir(), 'icrl-queue-'));
    // the coordinator and the workers share a root folder (paths in jobs are relative to it)
    process.chdir(dir);
    startWorker();
    startWorker();
    await Promise.all(workers.map((w) => w.waitFor(/^worker: pid/)));
  });

  afterAll(async () => {
    process.chdir(cwd0);
    await Promise.all(workers.map((w) => w.stop()));
    for (const w of workers) expect(w.lines.join('\n')).not.toContain(PASSWORD);
    // nothing written anywhere holds the password (manifests, results, sweep summaries, metrics, locks)
    const scan = (d: string): void => {
      for (const f of readdirSync(d, { withFileTypes: true })) {
        const p = join(d, f.name);
        if (f.isDirectory()) scan(p);
        else expect(readFileSync(p).includes(PASSWORD), p).toBe(false);
      }
    };
    if (dir) scan(dir);
    await redis?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const small = (extra: Record<string, unknown> = {}): CollectConfig =>
    collectConfigSchema.parse({ kind: 'dpt', family: 'bandit', envOptions: { arms: 5, noiseSd: 0.3 }, tasks: { count: 500, heldOut: 20, seed: 0 }, contextLength: 30, numEnvs: 100, shardSize: 100, workers: 0, seed: 5, compression: 1, ...extra });
  // shards that take about a second each, so that a worker can be killed in the middle of one
  const slow = (): CollectConfig => small({ tasks: { count: 900, heldOut: 20, seed: 0 }, contextLength: 400, shardSize: 300, numEnvs: 300 });
  const sameData = async (a: string, b: string): Promise<void> => {
    const [ma, mb] = [readManifest(a)!, readManifest(b)!];
    expect(mb.complete).toBe(true);
    expect(mb.configHash).toBe(ma.configHash);
    const strip = (m: typeof ma) => Object.fromEntries(Object.entries(m.shards).map(([k, s]) => [k, { file: s.file, tasks: s.tasks, transitions: s.transitions }]));
    expect(strip(mb)).toEqual(strip(ma));
    // HDF5 files hold object modification times, so the bytes differ; every dataset is the same
    const [da, db] = [await loadDptCollection(a), await loadDptCollection(b)];
    expect(db.numSamples).toBe(da.numSamples);
    for (const k of Object.keys(da) as (keyof typeof da)[]) {
      const [x, y] = [da[k], db[k]];
      const bytes = (v: ArrayBufferView): Buffer => Buffer.from(v.buffer, v.byteOffset, v.byteLength);
      if (ArrayBuffer.isView(x)) expect(bytes(y as ArrayBufferView).equals(bytes(x)), String(k)).toBe(true);
      else expect(y, String(k)).toEqual(x);
    }
    // every shard once, no temporary file left
    expect(readdirSync(b).filter((f) => f.endsWith('.h5')).sort()).toEqual(Object.values(mb.shards).map((s) => s.file).sort());
    expect(readdirSync(b).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  };

  it('a malformed job pushed by hand fails with InvalidJobError, without retries, and the workers go on', async () => {
    const queue = new Queue('icrl', { connection: { url, maxRetriesPerRequest: null } });
    try {
      const opts = { attempts: 3, removeOnComplete: false, removeOnFail: false };
      const jobs = await Promise.all([
        queue.add('shell', { cmd: 'rm -rf /' }, opts),
        queue.add('collect-shard', { v: 1, config: small(), out: '../../etc', shard: 0 }, opts),
        queue.add('eval-unit', 'not an object', opts),
      ]);
      for (const j of jobs) {
        for (let k = 0; k < 200 && (await j.getState()) !== 'failed'; k++) await new Promise((r) => setTimeout(r, 50));
        const f = await queue.getJob(j.id!);
        expect(await f!.getState()).toBe('failed');
        expect(f!.failedReason).toMatch(/^InvalidJobError: job \S+: /);
        expect(f!.attemptsMade).toBe(1);
      }
    } finally {
      await queue.obliterate({ force: true }).catch(() => undefined);
      await queue.close();
    }
    // the same workers then run a collection
    const c = small({ tasks: { count: 200, heldOut: 20, seed: 0 } });
    const r = await collect(c, { out: join(dir, 'after-bad'), silent: true, executor: shardExecutor(q) });
    expect(r.manifest.complete).toBe(true);
  });

  it('a collection through two workers holds the data of the local run; an evaluation gives the same figures', async () => {
    await collect(small(), { out: join(dir, 'local'), silent: true });
    const ex = shardExecutor(q);
    const r = await collect(small(), { out: join(dir, 'queued'), silent: true, executor: ex });
    expect(r.computedByWorkers).toBe(5);
    await sameData(join(dir, 'local'), join(dir, 'queued'));

    const cfg = evalConfigSchema.parse({
      env: { family: 'bandit', options: { arms: 5, noiseSd: 0.3 } },
      tasks: { heldOut: 40, seed: 1 },
      chunkTasks: 12,
      online: { steps: 60, agents: [{ type: 'ucb', c: 1 }, { type: 'thompson' }] },
      offline: { sizes: [1, 5, 20], agents: [{ type: 'lcb', c: 0.8 }] },
      out: 'eval',
    });
    const local = await runEvaluation(cfg, { write: false, progress: false, log: () => {} });
    const queued = await runEvaluation(cfg, { write: false, progress: false, log: () => {}, executor: evalExecutor(q) });
    const figures = (x: typeof local.results) => JSON.parse(JSON.stringify({ online: x.online, offline: x.offline, notes: x.notes, tasks: x.tasks }, (k, v) => (k === 'wallSeconds' ? undefined : v)));
    expect(figures(queued.results)).toEqual(figures(local.results));
    expect(queued.results.online!.agents.map((a) => a.name)).toEqual(['ucb(c=1)', 'thompson', 'oracle', 'random']);
    expect(queued.results.notes).toEqual([]);
  });

  it('a job that fails every attempt is reported by id with its error; run again, it is tried again', async () => {
    // valid for the schema, but its tasks file is missing where the worker looks
    const config = evalConfigSchema.parse({ env: { family: 'bandit', options: { arms: 3 } }, tasks: { file: 'no-such-tasks.json' }, online: { steps: 5, agents: [{ type: 'greedy' }] }, out: 'eval-fail' });
    const jobs = [{ id: 'test-fail-1', name: 'eval-unit' as const, data: { v: 1, config, unit: { part: 'online', agent: 0, chunk: 0 } } }];
    const first = await runJobs(jobs, () => 'ok', { ...q, attempts: 2 });
    expect(first.failed).toEqual([{ id: 'test-fail-1', error: expect.stringMatching(/^ConfigError: tasks\.file: \S*no-such-tasks\.json not found/) }]);
    const again = await runJobs(jobs, () => 'ok', { ...q, attempts: 1 });
    expect(again.requeued).toBe(1);
    expect(again.failed).toHaveLength(1);
  });

  it('a worker killed with SIGKILL in the middle of a job: the other worker completes it; every shard once, the manifest right', async () => {
    const ref = join(dir, 'slow-local');
    const local = collect(slow(), { out: ref, silent: true });
    const [a, b] = workers;
    const ex = shardExecutor(q);
    const from = a.lines.length;
    const run = collect(slow(), { out: join(dir, 'killed'), silent: true, executor: ex });
    const started = await a.waitFor(/job collect-\S+ \(collect-shard\) started/, 20_000, from);
    const id = /job (\S+) /.exec(started)![1];
    await a.stop('SIGKILL');
    const r = await run;
    await local;
    // the killed worker's job was finished by the other one, after BullMQ found it stalled
    expect(a.lines.some((l) => l.includes(`job ${id} done`))).toBe(false);
    expect(b.lines.some((l) => l.includes(`job ${id} done`))).toBe(true);
    expect(r.manifest.complete).toBe(true);
    await sameData(ref, join(dir, 'killed'));
    workers.splice(0, 1);
    startWorker();
  });

  it('a coordinator killed and started again resumes: results of the jobs done meanwhile are taken, nothing is lost or doubled', async () => {
    const file = join(dir, 'slow.json');
    writeFileSync(file, JSON.stringify({ ...slow(), out: 'restarted' }));
    const coord = spawnIcrl(['collect', 'slow.json', '--queue', url, '--no-progress'], dir);
    for (let k = 0; k < 400; k++) {
      const m = existsSync(join(dir, 'restarted', 'manifest.json')) ? readManifest(join(dir, 'restarted')) : null;
      if (m && Object.keys(m.shards).length >= 1) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await coord.stop('SIGKILL');
    expect(readManifest(join(dir, 'restarted'))!.complete).toBe(false);
    // the killed coordinator's lock names its command, with the password masked
    expect(readFileSync(join(dir, 'restarted', '.icrl.lock'), 'utf8')).toContain('redis://:***@127.0.0.1');
    expect(coord.lines.join('\n')).not.toContain(PASSWORD);
    await new Promise((r) => setTimeout(r, 800)); // the workers go on meanwhile
    const ex = shardExecutor(q);
    const r = await collect(slow(), { out: join(dir, 'restarted'), silent: true, executor: ex });
    expect(r.manifest.complete).toBe(true);
    expect(ex.last!.harvested + r.computed).toBeGreaterThan(0);
    await sameData(join(dir, 'slow-local'), join(dir, 'restarted'));
  });

  it('sweep trials on the queue score as the same trials run here', async () => {
    const base = {
      name: 'tiny', out: 'x', seed: 0,
      model: { kind: 'dpt', layers: 1, dModel: 8, heads: 1 },
      data: { family: 'bandit', envOptions: { arms: 3, noiseSd: 0.3 }, split: { seed: 0, heldOut: 10, train: 300 }, dpt: { samples: 300, contextLength: 10, rollin: 'uniform' } },
      optim: { steps: 12, batchSize: 8, lr: 0.003 },
      eval: { tasks: 10, steps: 10, baselines: [{ kind: 'thompson' }] },
      logEvery: 6, checkpointEvery: 6,
    };
    const plan = planSweep(sweepConfigSchema.parse({ name: 'tiny-sweep', train: 'unused', params: { 'optim.lr': [0.003] }, seeds: [0, 1], out: 'sweep' }), base);
    const r = await runSweep(plan, { executor: sweepExecutor(q), silent: true });
    expect(r.summary.trials).toMatchObject({ done: 2, total: 2, failed: [] });
    const here = await runTrial({ ...plan.trials[1], config: { ...plan.trials[1].config, out: 'trial-here' } });
    expect(r.summary.settings[0].perSeed[1]).toBe(here.metric.value);
    expect(r.summary.baselines[0].perSeed[1]).toBe(here.baselines.thompson);
    // run again: every trial is in sweep.json, nothing runs, the same figures
    const again = await runSweep(plan, { silent: true });
    expect(again.ran).toBe(0);
    expect(again.summary.settings).toEqual(r.summary.settings);
  });

  it.skipIf(!process.env.ICRL_SLOW)('slow: a worker killed during a sweep trial; the other resumes it from its checkpoint to the uninterrupted figures', async () => {
    const base = {
      name: 'tiny-long', out: 'x', seed: 0,
      model: { kind: 'dpt', layers: 1, dModel: 8, heads: 1 },
      data: { family: 'bandit', envOptions: { arms: 3, noiseSd: 0.3 }, split: { seed: 0, heldOut: 10, train: 300 }, dpt: { samples: 300, contextLength: 10, rollin: 'uniform' } },
      optim: { steps: 400, batchSize: 8, lr: 0.003 },
      eval: { tasks: 10, steps: 10 },
      logEvery: 10, checkpointEvery: 20,
    };
    const plan = planSweep(sweepConfigSchema.parse({ name: 'kill-sweep', train: 'unused', params: { 'optim.lr': [0.003] }, seeds: [3], out: 'kill-sweep' }), base);
    // one worker only, so that the trial starts there
    const others = workers.splice(1);
    await Promise.all(others.map((w) => w.stop()));
    const [a] = workers;
    const from = a.lines.length;
    const run = runSweep(plan, { executor: sweepExecutor(q), silent: true });
    await a.waitFor(/job trial-\S+ \(sweep-trial\) started/, 30_000, from);
    const ckpt = join(dir, 'kill-sweep', 'trials', 's0-seed3', 'checkpoints', 'latest.json');
    for (let k = 0; k < 600 && !existsSync(ckpt); k++) await new Promise((r) => setTimeout(r, 50));
    await a.stop('SIGKILL');
    workers.splice(0, 1);
    const b = startWorker();
    const r = await run;
    expect(r.summary.trials).toMatchObject({ done: 1, failed: [] });
    expect(b.lines.some((l) => /job trial-\S+ done/.test(l))).toBe(true);
    const here = await runTrial({ ...plan.trials[0], config: { ...plan.trials[0].config, out: 'kill-sweep-here' } });
    expect(r.summary.settings[0].perSeed[0]).toBe(here.metric.value);
    startWorker();
  });
});
