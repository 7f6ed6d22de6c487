/**
 * `icrl worker`: runs jobs of the job queue (collection shards, evaluation units, sweep trials) on
 * this machine's threads until stopped (SIGINT / SIGTERM: finishes the running jobs first).
 */
import type { Command } from 'commander';
import { IcrlError } from '../../core/errors.js';
import { queueUrlFrom } from '../../queue/redis.js';
import { intFlag } from '../options.js';

export function register(program: Command): void {
  program
    .command('worker')
    .description('Run jobs of the job queue (shards of icrl collect, units of icrl eval, trials of icrl sweep) on this machine\'s threads until stopped')
    .option('--queue <url>', 'Redis URL of the queue (redis://host:port, rediss:// for TLS; default: ICRL_REDIS_URL)')
    .option('--queue-name <name>', 'BullMQ queue name (the coordinators must use the same)', 'icrl')
    .option('-t, --threads <n>', 'jobs run at once, each on its own thread', intFlag('--threads', 1, 256), 1)
    .option('--root <dir>', 'folder that every path of a job is relative to and must stay inside: the shared folder the coordinator runs in (default: the working directory)')
    .option('--lock-ms <n>', 'job lock duration: a job of a worker that died goes to another worker after about this long', intFlag('--lock-ms', 1000), 30000)
    .option('--stalled-ms <n>', 'how often to look for stalled jobs', intFlag('--stalled-ms', 500), 30000)
    .addHelpText(
      'after',
      `
Start one (or more) per machine, in the same folder as the coordinator, on a file system they all
share (the coordinator's output folders must be visible at the same relative path):
  ICRL_REDIS_URL=redis://:password@queue-host:6379 npx icrl worker --threads 2
Every job is validated like a config file before it runs; a job whose payload does not pass (or
names a path outside the root folder) fails with InvalidJobError and the worker goes on. The Redis
password is never printed. See docs/cluster.md.`,
    )
    .action(async (o: { queue?: string; queueName: string; threads: number; root?: string; lockMs: number; stalledMs: number }) => {
      const target = queueUrlFrom(o.queue);
      if (!target) throw new IcrlError('icrl worker: no queue; pass --queue redis://host:port or set ICRL_REDIS_URL');
      if (o.root) process.chdir(o.root);
      const { startWorker } = await import('../../queue/worker.js');
      const w = await startWorker({ target, queueName: o.queueName, threads: o.threads, lockDurationMs: o.lockMs, stalledIntervalMs: o.stalledMs });
      process.stderr.write(`worker: pid ${process.pid}, ${o.threads} thread(s), queue "${o.queueName}" on ${target.masked}, root ${process.cwd()}\n`);
      await new Promise<void>((done) => {
        const stop = (sig: string): void => {
          process.stderr.write(`worker: ${sig}: finishing the running jobs\n`);
          void w.close().then(done);
        };
        process.once('SIGINT', () => stop('SIGINT'));
        process.once('SIGTERM', () => stop('SIGTERM'));
      });
      process.stderr.write(`worker: stopped (${w.counts.done} done, ${w.counts.failed} failed, ${w.counts.rejected} rejected)\n`);
    });
}
