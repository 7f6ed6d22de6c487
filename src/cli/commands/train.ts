/**
 * `icrl train <config>`: trains an AD, DPT or T2MIR model; resumes from the last checkpoint of the
 * output folder when there is one.
 */
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { loadTrainConfig } from '../../train/config.js';
import { trainFromConfig } from '../../train/trainer.js';
import { intFlag, withOverrides } from '../options.js';
import { trackers } from '../../train/trackers.js';

/**
 * With ICRL_EXIT_WITH_PARENT=1 (set by `icrl reproduce --parallel` for its training children): a
 * reason to stop once the process that started this one is gone, even by SIGKILL (this process is
 * then re-parented, so its parent pid changes), so that no orphan keeps training and holding the
 * folder's lock; the run checkpoints the step and the parent's rerun resumes it.
 */
function parentGone(): () => string | null {
  const ppid = process.ppid;
  return () => (process.ppid !== ppid ? `the process that started it (pid ${ppid}) is gone` : null);
}

export function register(program: Command): void {
  withOverrides(program.command('train'))
    .description('Train an in-context RL model (AD, DPT, T2MIR) from a config; resumes from the last checkpoint of its output folder')
    .argument('<config>', 'training config (YAML or JSON), e.g. configs/dpt-bandit-small.yaml')
    .option('-o, --out <dir>', "output folder (overrides the config's out)")
    .option('--steps <n>', 'number of training steps (overrides optim.steps)', intFlag('--steps', 1))
    .option('--fresh', 'start over: remove the checkpoints, model and result of a previous run (the metrics file is rewritten)')
    .option('--no-progress', 'no progress bar')
    .option('--tracker <type>', `also send the metrics to a tracker (repeatable; ${trackers.names().join(', ')}): added to the config's trackers`, (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--json', 'print the result (steps, losses, held-out evaluations, paths) as one JSON document on stdout')
    .addHelpText(
      'after',
      `
Writes into the output folder:
  metrics.jsonl          one JSON object per line: config, train (loss, lr, gradNorm, tokensPerSecond,
                         expertLoad for T2MIR), eval (validation loss, held-out regret or returns)
  checkpoints/           step-NNNNNN/ (weights, optimizer, RNG and data position) + latest.json
  model/                 the final model (model.safetensors + config.json), for icrl eval
                         ({ type: model, checkpoint: <out> })
  result.json            summary (final loss, training seconds, evaluations)
  tensorboard/           with --tracker tensorboard (or trackers: [{ type: tensorboard }] in the config):
                         a TensorBoard event file of every metric (tensorboard --logdir runs/)
A run killed at any point continues from its last checkpoint when started again with the same
command, exactly as if it had not been interrupted; result.json is rebuilt from metrics.jsonl, so it
holds every evaluation of the run. Rerunning a finished run changes nothing and prints its results;
--fresh removes the previous checkpoints, model and result first. The output folder is locked while a
run trains (a second run on it stops with an error naming the first). With ICRL_EXIT_WITH_PARENT=1 in its
environment (icrl reproduce --parallel sets it for its children) a run checkpoints and stops once
the process that started it is gone. A NaN or infinite loss stops the run with the step
and keeps the last good checkpoint. Configs: configs/{dpt-bandit,dpt-darkroom,ad-darkroom,t2mir-ad-darkroom}[-small].yaml;
see docs/models.md.`,
    )
    .action(async (config: string, o: { out?: string; steps?: number; fresh?: boolean; progress: boolean; json?: boolean; tracker: string[]; set: string[] }) => {
      const cfg = loadTrainConfig(config, o.set);
      if (o.steps !== undefined) cfg.optim.steps = o.steps;
      for (const t of o.tracker) if (!cfg.trackers.some((x) => x.type === trackers.get(t).name)) cfg.trackers.push({ type: trackers.get(t).name });
      const res = await trainFromConfig(cfg, {
        outDir: o.out ? resolve(o.out) : undefined,
        resume: !o.fresh,
        progressBar: o.progress,
        log: (line) => process.stderr.write(`${line}\n`),
        stopIf: process.env.ICRL_EXIT_WITH_PARENT === '1' ? parentGone() : undefined,
      });
      if (o.json) {
        process.stdout.write(`${JSON.stringify({ name: cfg.name, ...res }, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v))}\n`);
        return;
      }
      const finals = res.evals.filter((e) => e.step === res.steps);
      const evalText = finals
        .map((e) =>
          e.meanRegret !== undefined
            ? `  ${e.agent.padEnd(12)} held-out cumulative regret ${e.meanRegret.toFixed(2)}`
            : `  ${e.agent.padEnd(12)} held-out return per episode ${e.returns!.map((r) => r.toFixed(1)).join(' ')} ${e.oracleReturn !== undefined ? `(oracle ${e.oracleReturn.toFixed(1)})` : '(no exact oracle)'}`,
        )
        .join('\n');
      process.stdout.write(
        `trained ${cfg.name}: ${res.steps} steps${res.resumedFrom !== null ? ` (resumed from step ${res.resumedFrom})` : ''}, loss ${res.finalLoss.toFixed(4)}${res.valLoss !== null ? `, validation ${res.valLoss.toFixed(4)}` : ''}, ${res.trainSeconds.toFixed(1)}s of training\n${evalText}\nmodel:   ${res.modelDir}\nmetrics: ${res.metricsFile}\n`,
      );
    });
}
