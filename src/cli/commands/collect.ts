/**
 * `icrl collect <config>`: runs a source algorithm on N tasks and records whole learning histories,
 * or generates DPT samples, into HDF5 shards with a manifest; parallel (worker threads) and resumable.
 */
import { intFlag, missingConfig, queueFromFlags, withOverrides, withQueue } from '../options.js';
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { collect, loadCollectConfig } from '../../data/collect.js';
import { listAgentKinds } from '../../algorithms/index.js';

export function register(program: Command): void {
  const cmd = withQueue(withOverrides(program.command('collect')));
  cmd
    .description('Collect learning histories of a source algorithm, or DPT samples, into HDF5 shards (parallel, resumable)')
    .argument('[config]', 'collection config (YAML or JSON), e.g. configs/collect-dpt-bandit-small.yaml')
    .option('-o, --out <dir>', "output folder (overrides the config's out)")
    .option('-w, --workers <n>', 'threads computing shards: this one plus n - 1 worker threads (0 or 1 = this thread only)', intFlag('--workers', 0, 256))
    .option('--max-shards <n>', 'compute at most n shards now (the rest on a later run)', intFlag('--max-shards', 0))
    .option('--force', 'start over when the output folder holds a collection of another config or files collect did not write (those are kept)')
    .option('--list-algorithms', 'list the source algorithms a config can name, then exit')
    .option('--no-progress', 'no progress bar')
    .option('--json', 'print the summary (folder, shards, transitions, seconds) as one JSON document on stdout')
    .addHelpText(
      'after',
      `
A config says what to collect:
  kind: histories                # or dpt
  family: darkroom
  envOptions: {}                 # family options (arms, size, noiseSd, ...)
  tasks: { count: 800, split: train, heldOut: 0.2, seed: 0 }   # or file: tasks.json
  algorithm: { kind: q-learning, initQ: 1, epsilon: 0.1 }        # histories
  steps: 20000                   # histories: steps per history
  contextLength: 100             # dpt: transitions per in-context dataset (rollin: dirichlet | dirichlet-flat | uniform | { algorithm } | { mixture })
  numEnvs: 256, shardSize: 1000, workers: 2, seed: 0, compression: 6   # gzip level
  training: { checkpointEvery: 10000, evalEvery: 5000, evalEpisodes: 1 }   # deep learners (sac, ppo)
  out: runs/data/darkroom-ad
Output: manifest.json, tasks.json and shard-NNNNN.h5 (layouts in docs/data.md). A run that was
interrupted (even killed) resumes when the same command is run again; every task ends up in
exactly one shard. Deep learners (algorithm kind sac or ppo, e.g.
configs/collect-cheetah-vel-sac.yaml) train one learner per task; with training.checkpointEvery a
killed shard continues from its learners' last resume point (shard-NNNNN.h5.resume-B.safetensors);
each task's final policy goes to policy-NNNNN.safetensors.
With --queue (or ICRL_REDIS_URL) this command is the coordinator: each shard is a job for the
\`icrl worker\`s, which write the shard files into the output folder, a folder every worker sees at
the same path relative to its working directory (a shared file system); this process checks each
file's SHA-256 against the worker's and keeps the manifest. Results are the same as a local run's.
See docs/cluster.md.`,
    )
    .action(async (config: string | undefined, o: { out?: string; workers?: number; maxShards?: number; force?: boolean; listAlgorithms?: boolean; progress: boolean; json?: boolean; set: string[]; queue?: string; queueName?: string; attempts?: number }) => {
      // the deep learners (sac, ppo) register their kinds and the sac history recorder
      await import('../../rl/index.js');
      if (o.listAlgorithms) {
        for (const k of listAgentKinds({ sourcesOnly: true })) process.stdout.write(`${k.kind.padEnd(16)} ${k.description}\n`);
        return;
      }
      if (!config) return missingConfig(cmd, 'icrl collect: missing the config argument (e.g. icrl collect configs/collect-dpt-bandit-small.yaml)');
      const cfg = loadCollectConfig(config, o.set);
      const q = queueFromFlags(o);
      const r = await collect(cfg, { out: o.out ? resolve(o.out) : undefined, workers: o.workers, maxShards: o.maxShards, force: o.force, silent: !o.progress, executor: q ? (await import('../../queue/coordinator.js')).shardExecutor(q) : undefined });
      const m = r.manifest;
      const done = Object.keys(m.shards).length;
      if (o.json) {
        const summary = { out: r.outDir, kind: m.config.kind, family: m.config.family, shards: done, numShards: m.numShards, complete: m.complete, computed: r.computed, computedByWorkers: r.computedByWorkers, transitions: r.transitions, seconds: r.seconds };
        process.stdout.write(`${JSON.stringify(summary)}\n`);
        return;
      }
      process.stdout.write(
        `${r.outDir}: ${done}/${m.numShards} shards (${m.complete ? 'complete' : 'incomplete'}), ${r.computed} computed now, ` +
          `${r.transitions} transitions in ${r.seconds.toFixed(1)} s (${(r.transitions / Math.max(r.seconds, 1e-9)).toFixed(0)}/s)${q ? `, on the queue ${q.target.masked}` : ''}\n`,
      );
    });
}
