/**
 * `icrl eval <config>`: in-context evaluation of agents on held-out tasks, written as results.json
 * and a self-contained report.html.
 */
import { intFlag, missingConfig, queueFromFlags, withOverrides, withQueue } from '../options.js';
import type { Command } from 'commander';
import { dirname, resolve } from 'node:path';
import { loadConfig } from '../../core/config.js';
import { evalConfigSchema } from '../../eval/config.js';
import { evaluateAndReport } from '../../experiments/evaluate.js';
import { listAgentTypes } from '../../eval/agents.js';
import { formatHeadlines, headlines } from '../../eval/summary.js';
import { createTrackers, trackers } from '../../train/trackers.js';
import { trackResults } from '../../experiments/trackResults.js';

export function register(program: Command): void {
  const cmd = withQueue(withOverrides(program.command('eval')));
  cmd
    .description('Evaluate agents in context on held-out tasks (regret on bandits, return per episode on MDPs) and write results.json + report.html')
    .argument('[config]', 'evaluation config (YAML or JSON), e.g. configs/eval-bandit.yaml')
    .option('-o, --out <dir>', 'output folder (overrides the config\'s out)')
    .option('--tasks <n>', 'evaluate on the first n held-out tasks only', intFlag('--tasks', 1))
    .option('--seed <n>', 'evaluation seed (overrides the config)', intFlag('--seed', 0))
    .option('--list-agents', 'list the agent types a config can name, then exit')
    .option('--no-progress', 'no progress bars')
    .option('--tracker <type>', `also write the evaluation's curves for a tracker (repeatable; ${trackers.names().join(', ')}): <out>/tensorboard/`, (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--json', 'print the summary as one JSON document on stdout (paths and every headline figure with its interval)')
    .addHelpText(
      'after',
      `
A config names the environment, the held-out tasks, and the agents:
  env: { family: bandit, options: { arms: 5, noiseSd: 0 } }
  tasks: { heldOut: 200, seed: 0 }              # the held-out side of the split by seed
  online: { steps: 500, agents: [{ type: ucb, c: 1 }, { type: thompson }], references: [oracle, random] }
  offline: { sizes: [1, 10, 100], datasetOptions: { noiseSd: 0.3 }, agents: [{ type: lcb, c: 0.8 }] }
  out: runs/eval-bandit
  chunkTasks: 50                                 # optional: online agents in chunks of 50 tasks (streams per chunk)
MDPs use online.episodes (in-context episodes per task) instead of steps. See docs/eval.md.
Progress and what is being done go to stderr; the summary (one line per agent: its headline figure
with the 95% interval over tasks) and the paths written go to stdout.
With --queue (or ICRL_REDIS_URL) this command is the coordinator: each online agent on each chunk
of tasks, and each offline agent, is a job for the \`icrl worker\`s; their outcomes come back through
Redis and results.json holds the same figures as a local run of the config. See docs/cluster.md.`,
    )
    .action(async (config: string | undefined, o: { out?: string; tasks?: number; seed?: number; listAgents?: boolean; progress: boolean; json?: boolean; tracker: string[]; set: string[]; queue?: string; queueName?: string; attempts?: number }) => {
      if (o.listAgents) {
        for (const t of listAgentTypes()) process.stdout.write(`${t.type.padEnd(16)} ${t.description}\n`);
        return;
      }
      if (!config) return missingConfig(cmd, 'icrl eval: missing the config argument (e.g. icrl eval configs/eval-bandit.yaml)');
      const cfg = loadConfig(evalConfigSchema, config, o.set);
      if (o.out) cfg.out = resolve(o.out);
      if (o.tasks !== undefined) cfg.tasks.limit = o.tasks;
      if (o.seed !== undefined) cfg.seed = o.seed;
      const trackerSpecs = [...new Set(o.tracker.map((t) => trackers.get(t).name))].map((type) => ({ type }));
      // Paths in a config (out, tasks file, checkpoints) are relative to the working directory.
      const q = queueFromFlags(o);
      const { results, resultsPath, reportPath } = await evaluateAndReport(cfg, { source: config, baseDir: process.cwd(), progress: o.progress, executor: q ? (await import('../../queue/coordinator.js')).evalExecutor(q) : undefined });
      if (trackerSpecs.length > 0 && resultsPath) trackResults(results, createTrackers(trackerSpecs, { outDir: dirname(resultsPath), runName: results.name }, 'icrl eval --tracker'));
      if (o.json) {
        const hs = headlines(results).map(({ perTask: _p, ...h }) => h);
        process.stdout.write(`${JSON.stringify({ name: results.name, results: resultsPath, report: reportPath, headlines: hs }, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v))}\n`);
        return;
      }
      process.stdout.write(`${formatHeadlines(results).join('\n')}\nresults: ${resultsPath}\nreport:  ${reportPath}\n`);
    });
}
