/**
 * `icrl lhf <collection>`: learning-history filtering of a collection of histories: scores each
 * history by improvement and stability and writes the selection / weights as JSON.
 */
import { intFlag } from '../options.js';
import type { Command } from 'commander';
import { writeJsonAtomic } from '../../core/atomic.js';
import { join } from 'node:path';
import { openHistoryCollection } from '../../data/collect.js';
import { lhfOptionsSchema, scoreHistories } from '../../data/lhf.js';
import { validateConfig } from '../../core/config.js';
import { formatFigure } from '../../eval/summary.js';

export function register(program: Command): void {
  program
    .command('lhf')
    .description('Learning-history filtering: score the histories of a collection by improvement and stability, then filter or reweight them')
    .argument('<collection>', 'a folder written by `icrl collect` with kind: histories')
    .option('--mode <mode>', 'filter (keep the best fraction) or reweight (softmax weights)', 'filter')
    .option('--keep <fraction>', 'filter: fraction of histories kept', Number.parseFloat, 0.5)
    .option('--lambda <x>', 'weight of improvement vs stability in the score (0..1)', Number.parseFloat, 0.5)
    .option('--temperature <t>', 'reweight: softmax temperature over scores in [0, 1]', Number.parseFloat, 0.2)
    .option('--edge <fraction>', 'fraction of blocks averaged at each end for the improvement', Number.parseFloat, 0.1)
    .option('--block-steps <n>', 'block length for one-step-episode families such as bandits (0 = episodes)', intFlag('--block-steps', 0), 0)
    .option('-o, --out <file>', 'output JSON (default <collection>/lhf.json)')
    .option('--json', 'print the summary and the output path as one JSON document on stdout')
    .addHelpText(
      'after',
      `
Each history's performance curve is its mean reward per episode (or per block of --block-steps).
improvement = mean of the last blocks - mean of the first; stability = -(mean drop between blocks);
score = lambda * improvement + (1 - lambda) * stability after min-max normalisation. The output lists
every history (file, group, run, task index, scores, weight, kept); AD training reads it as stream
weights (see docs/data.md).`,
    )
    .action(async (dir: string, o: { mode: string; keep: number; lambda: number; temperature: number; edge: number; blockSteps: number; out?: string; json?: boolean }) => {
      const opts = validateConfig(lhfOptionsSchema, { mode: o.mode, keep: o.keep, lambda: o.lambda, temperature: o.temperature, edge: o.edge, blockSteps: o.blockSteps }, 'icrl lhf options');
      const shards = await openHistoryCollection(dir);
      let scores;
      try {
        scores = scoreHistories(shards, opts);
      } finally {
        for (const s of shards) s.reader.close();
      }
      const mean = (xs: number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
      const summary = {
        histories: scores.length,
        kept: scores.filter((s) => s.kept).length,
        meanImprovement: mean(scores.map((s) => s.improvement)),
        meanImprovementKept: mean(scores.filter((s) => s.kept).map((s) => s.improvement)),
        meanImprovementWeighted: scores.reduce((a, s) => a + s.weight * s.improvement, 0) / scores.reduce((a, s) => a + s.weight, 0),
      };
      const out = o.out ?? join(dir, 'lhf.json');
      writeJsonAtomic(out, { format: 'icrl-lhf-1', options: opts, summary, scores: scores.map((s) => ({ ...s, file: s.file.split('/').pop() })) });
      if (o.json) {
        process.stdout.write(`${JSON.stringify({ out, ...summary })}\n`);
        return;
      }
      process.stdout.write(
        `${summary.kept} of ${summary.histories} histories kept (${opts.mode}); mean improvement ${formatFigure(summary.meanImprovement)}, kept ${formatFigure(summary.meanImprovementKept)}, weighted ${formatFigure(summary.meanImprovementWeighted)}\nwritten: ${out}\n`,
      );
    });
}
