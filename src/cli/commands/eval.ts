/**
 * `icrl eval <config>`: in-context evaluation of agents on held-out tasks, written as results.json
 * and a self-contained report.html.
 */
import { intFlag, missingConfig, queueFromFlags, withOverrides, withQueue } from '../options.js';
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { loadConfig } from '../../core/config.js';
import { evalConfigSchema } from '../../eval/config.js';
import { evaluateAndReport } from '../../experiments/evaluate.js';
import { listAgentTypes } from '../../eval/agents.js';
import { evalExecutor } from '../../queue/coordinator.js';

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
With --queue (or ICRL_REDIS_URL) this command is the coordinator: each online agent on each chunk
of tasks, and each offline agent, is a job for the \`icrl worker\`s; their outcomes come back through
Redis and results.json holds the same figures as a local run of the config. See docs/cluster.md.`,
    )
    .action(async (config: string | undefined, o: { out?: string; tasks?: number; seed?: number; listAgents?: boolean; progress: boolean; set: string[]; queue?: string; queueName?: string; attempts?: number }) => {
      if (o.listAgents) {
        for (const t of listAgentTypes()) process.stdout.write(`${t.type.padEnd(16)} ${t.description}\n`);
        return;
      }
      if (!config) return missingConfig(cmd, 'icrl eval: missing the config argument (e.g. icrl eval configs/eval-bandit.yaml)');
      const cfg = loadConfig(evalConfigSchema, config, o.set);
      if (o.out) cfg.out = resolve(o.out);
      if (o.tasks !== undefined) cfg.tasks.limit = o.tasks;
      if (o.seed !== undefined) cfg.seed = o.seed;
      // Paths in a config (out, tasks file, checkpoints) are relative to the working directory.
      const q = queueFromFlags(o);
      const { resultsPath, reportPath } = await evaluateAndReport(cfg, { source: config, baseDir: process.cwd(), progress: o.progress, executor: q ? evalExecutor(q) : undefined });
      process.stdout.write(`results: ${resultsPath}\nreport:  ${reportPath}\n`);
    });
}
