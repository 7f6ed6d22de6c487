/**
 * `icrl sweep <config>`: a grid or random search over overrides of a training config x seeds, each
 * trial a training run with its held-out evaluation, aggregated per setting over seeds (IQM and a
 * bootstrap interval) into one report; resumable; locally or on the job queue.
 */
import type { Command } from 'commander';
import { loadSweep, runSweep } from '../../experiments/sweep.js';
import { missingConfig, queueFromFlags, withOverrides, withQueue } from '../options.js';

export function register(program: Command): void {
  const cmd = withQueue(withOverrides(program.command('sweep')));
  cmd
    .description('Sweep overrides of a training config x seeds (train + held-out evaluation per trial), aggregated per setting over seeds (IQM, bootstrap 95% interval); resumable, local or on the queue')
    .argument('[config]', 'sweep config (YAML or JSON), e.g. configs/sweep-dpt-bandit-tiny.yaml')
    .option('--force', 'start over when the output folder holds a sweep of another config')
    .option('--no-progress', 'no progress bar')
    .addHelpText(
      'after',
      `
A sweep config:
  name: sweep-dpt-bandit-tiny
  train: dpt-bandit-tiny.yaml                # the training config (relative to this file)
  search: grid                               # or random, with trials: n (settings drawn from the grid) and searchSeed
  params: { optim.lr: [0.001, 0.003], model.layers: [1, 2] }   # dotted paths, as --set takes them
  seeds: [0, 1, 2]                           # the training config's seed (held-out tasks unchanged)
  bootstrap: { samples: 2000, seed: 0 }
  out: runs/sweep-dpt-bandit-tiny
--set applies to the sweep config (e.g. --set seeds=[0,1]). Each trial trains into
<out>/trials/s<setting>-seed<seed>/ and is scored by its final held-out evaluation (regret on bandits,
the last episode's return on MDPs). Writes sweep.json (finished trials; the same command runs only the
missing ones, a killed trial resumes from its checkpoint), summary.json and report.md (one line per
setting: IQM over seeds, 95% bootstrap interval, mean, each seed). With --queue (or ICRL_REDIS_URL)
the trials are jobs for the \`icrl worker\`s, which train into the same shared folder. See docs/cluster.md.`,
    )
    .action(async (config: string | undefined, o: { force?: boolean; progress: boolean; set: string[]; queue?: string; queueName?: string; attempts?: number }) => {
      if (!config) return missingConfig(cmd, 'icrl sweep: missing the config argument (e.g. icrl sweep configs/sweep-dpt-bandit-tiny.yaml)');
      const plan = loadSweep(config, o.set);
      const q = queueFromFlags(o);
      const r = await runSweep(plan, { executor: q ? (await import('../../queue/coordinator.js')).sweepExecutor(q) : undefined, force: o.force, silent: !o.progress, log: (l) => process.stderr.write(`${l}\n`) });
      const s = r.summary;
      const lines = s.settings.map((row) => `  ${String(row.setting).padStart(2)} ${s.params.map((p) => `${p}=${String(row.values[p])}`).join(' ')}: IQM ${row.iqm.toFixed(2)} [${row.lo.toFixed(2)}, ${row.hi.toFixed(2)}] over ${row.seeds.length} seed(s)${row.setting === s.best ? ' (best)' : ''}`);
      process.stdout.write(`sweep ${s.name}: ${s.trials.done}/${s.trials.total} trials (${r.ran} run now), ${s.metric} (${s.better} is better)\n${lines.join('\n')}\nreport:  ${r.reportPath}\nsummary: ${r.summaryPath}\n`);
      if (s.trials.failed.length > 0) {
        process.stderr.write(`icrl sweep: ${s.trials.failed.length} trial(s) failed:\n${s.trials.failed.map((f) => `  ${f.id}: ${f.error}`).join('\n')}\nrun the same command again to retry them\n`);
        process.exitCode = 2;
      }
    });
}
