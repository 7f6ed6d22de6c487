/**
 * `icrl posterior <config> <model...>`: how close bandit DPT models are to the exact posterior of the
 * best arm, on the validation contexts of a training config (see src/train/posterior.ts).
 */
import { intFlag, withOverrides } from '../options.js';
import type { Command } from 'commander';
import { Rng } from '../../core/rng.js';
import { loadTrainConfig } from '../../train/config.js';
import { buildTrainingData } from '../../train/data.js';
import { comparePosterior } from '../../train/posterior.js';
import { loadInContextModel } from '../../models/io.js';


export function register(program: Command): void {
  withOverrides(program.command('posterior'))
    .description("Compare bandit DPT models with the exact posterior of the best arm on a training config's validation contexts")
    .argument('<config>', 'training config whose data (validation contexts) to read, e.g. configs/dpt-bandit-mix500-small.yaml')
    .argument('<models...>', 'trained models: training run folders or model folders')
    .option('--batches <n>', 'validation batches to read', intFlag('--batches', 1), 8)
    .option('--batch-size <n>', 'contexts per batch', intFlag('--batch-size', 1), 32)
    .option('--every <n>', 'compare after every n-th context prefix', intFlag('--every', 1), 5)
    .option('--seed <n>', 'seed of the batch stream', intFlag('--seed', 0), 0)
    .option('--json', 'print the report as JSON')
    .addHelpText(
      'after',
      `
The validation contexts are regenerated from the config exactly as icrl train builds them (same seed,
same tasks). For each context prefix compared, the exact posterior P(best arm | prefix) is computed
under the family's prior (arm means uniform in [0, 1]) and known Gaussian noise. Printed per range of
context lengths: the cross-entropy on the labels of the exact posterior (the floor) and of each model,
and KL(posterior || model): the model's distance from Bayes-optimal, without the label noise that
makes validation losses hard to compare. Bandit family with Gaussian rewards only. See docs/models.md.`,
    )
    .action(async (config: string, paths: string[], o: { batches: number; batchSize: number; every: number; seed: number; json?: boolean; set: string[] }) => {
      const cfg = loadTrainConfig(config, o.set);
      const data = await buildTrainingData(cfg, process.cwd(), new Rng(cfg.seed).split('data-build'), (line) => process.stderr.write(`${line}\n`));
      const models = paths.map((p) => loadInContextModel(p).model);
      const rep = comparePosterior(models, data, { batches: o.batches, batchSize: o.batchSize, every: o.every, seed: o.seed });
      if (o.json) {
        process.stdout.write(`${JSON.stringify({ config, models: paths, ...rep }, null, 1)}\n`);
        return;
      }
      const f = (x: number): string => x.toFixed(4);
      const lines = [`${rep.contexts} validation contexts of ${rep.contextLength} pulls, noise sd ${rep.noiseSd}; cross-entropy (CE) and KL(posterior || model) in nats`];
      const header = ['context length', 'compared', 'exact posterior CE', ...paths.flatMap((p) => [`${p} CE`, `${p} KL`])];
      lines.push(header.join(' | '));
      for (const b of [...rep.bins, rep.overall]) {
        const label = b === rep.overall ? `all (0-${b.to - 1})` : `${b.from}-${b.to - 1}`;
        lines.push([label, String(b.count), f(b.bayesNll), ...b.models.flatMap((m) => [f(m.nll), f(m.kl)])].join(' | '));
      }
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
