#!/usr/bin/env node
// Collection throughput: transitions per second collecting the DPT bandit data
// (docs/protocols.md, "Bandits (DPT protocol)": 5 arms, noise sd 0.3, Dirichlet-mixture roll-ins
// of 500 pulls) with the shipped small config (configs/collect-dpt-bandit-small.yaml: 5,000
// bandits), written to HDF5 shards in a temporary folder. Measured with the config's worker threads
// (2) and, in the same run, with everything in one thread as the reference; wall-clock and CPU-time
// rates (all threads). Prints one JSON line. Options: --config FILE, --tasks N (override count).
import { parseArgs } from 'node:util';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
if (!existsSync(join(root, 'dist', 'data', 'collect.js'))) {
  process.stderr.write('bench:collect: the project is not built; run `npm run build` first\n');
  process.exit(1);
}
const { collect, loadCollectConfig } = await import(new URL('dist/data/collect.js', new URL('..', import.meta.url)).href);

const { values } = parseArgs({ options: { config: { type: 'string', default: join(root, 'configs', 'collect-dpt-bandit-small.yaml') }, tasks: { type: 'string' } } });
const cfg = loadCollectConfig(values.config);
if (values.tasks) cfg.tasks.count = Number(values.tasks);
const dir = mkdtempSync(join(tmpdir(), 'icrl-bench-collect-'));
try {
  // CPU time of the whole process (all threads, workers included): on a shared machine the wall-clock
  // rate depends on the load, the CPU rate much less.
  const run = async (workers) => {
    const c0 = process.cpuUsage();
    const r = await collect({ ...cfg, workers }, { out: join(dir, `w${workers}`), workers, silent: true });
    const c = process.cpuUsage(c0);
    if (!r.manifest.complete) throw new Error('collection did not complete');
    return { ...r, cpuSeconds: (c.user + c.system) / 1e6 };
  };
  // warm up this thread (JIT, HDF5) on a small collection so that neither measured run pays for it
  await collect({ ...cfg, tasks: { ...cfg.tasks, count: Math.min(cfg.tasks.count, 2 * cfg.numEnvs) }, workers: 0 }, { out: join(dir, 'warm'), workers: 0, silent: true });
  const one = await run(0);
  const par = await run(cfg.workers);
  const line = {
    bench: 'collect',
    what: 'DPT bandit samples (Dirichlet roll-in, 5 arms, context 500) to HDF5 shards',
    config: values.config.replace(root, ''),
    tasks: cfg.tasks.count,
    transitions: par.transitions,
    workers: cfg.workers,
    shardsByWorkerThreads: par.computedByWorkers,
    gzipLevel: cfg.compression,
    seconds: Number(par.seconds.toFixed(3)),
    transitionsPerSec: Math.round(par.transitions / par.seconds),
    cpuSeconds: Number(par.cpuSeconds.toFixed(3)),
    transitionsPerCpuSec: Math.round(par.transitions / par.cpuSeconds),
    oneThreadSeconds: Number(one.seconds.toFixed(3)),
    oneThreadTransitionsPerSec: Math.round(one.transitions / one.seconds),
    oneThreadTransitionsPerCpuSec: Math.round(one.transitions / one.cpuSeconds),
    speedup: Number((one.seconds / par.seconds).toFixed(2)),
  };
  process.stdout.write(JSON.stringify(line) + '\n');
} finally {
  rmSync(dir, { recursive: true, force: true });
}
