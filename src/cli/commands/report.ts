/**
 * `icrl report <results.json>`: (re)draws the HTML report of an evaluation run.
 * `icrl report A B C ...`: several runs side by side (overlaid curves, one colour per run, a table of
 * headline figures with intervals; `--aggregate` pools the seeds of one setting).
 */
import type { Command } from 'commander';
import { basename, dirname, join, resolve } from 'node:path';
import { IcrlError } from '../../core/errors.js';
import { readResults } from '../../eval/results.js';
import { metricsLabel, writeCompareReport, writeReport, type CompareInput } from '../../report/index.js';

/** Run labels: the given ones, else each run's name, with its folder added where names repeat. */
function runLabels(files: string[], names: string[], given?: string): string[] {
  if (given !== undefined) {
    const labels = given.split(',').map((s) => s.trim());
    if (labels.length !== files.length || labels.some((l) => l === '')) throw new IcrlError(`--labels: ${labels.length} labels for ${files.length} results files (one non-empty label per file, comma-separated)`);
    if (new Set(labels).size !== labels.length) throw new IcrlError(`--labels: labels must differ, got ${given}`);
    return labels;
  }
  return names.map((n, i) => (names.filter((m) => m === n).length > 1 ? `${n} (${basename(dirname(resolve(files[i])))})` : n));
}

export function register(program: Command): void {
  program
    .command('report')
    .description('Write the self-contained HTML report (ECharts inlined, opens offline) of an evaluation results file, or of several side by side')
    .argument('<results...>', 'results.json files written by `icrl eval` or `icrl quickstart` (two or more: a side-by-side report)')
    .option('-o, --out <file>', 'report file (default: report.html next to the results; with several, compare.html in the current folder)')
    .option('-m, --metrics <file...>', 'trainer metrics (JSON lines) to chart as training curves (several: overlaid, labelled by run); put it after the results files')
    .option('-t, --title <title>', 'page title')
    .option('--labels <list>', 'comma-separated labels of the results files, in order (default: each run\'s name)')
    .option('--aggregate', 'with several results files: pool the runs of one setting (same config but the seed) into one line, IQM and bootstrap intervals over seeds and tasks')
    .option('--csv <dir>', 'also write the data of every chart as CSV files into this folder')
    .addHelpText(
      'after',
      `
One results file: the evaluation's report (plus training curves with -m).
Several: every chart overlays the runs, one colour per run (line patterns tell apart the agents of a
run; the references, oracle and random, are drawn once), and a table gives each run's headline
figures (final regret, last-episode return, offline suboptimality) with the mean and the
interquartile mean over tasks, each with a 95% bootstrap interval. --aggregate groups the runs
whose configs differ only in their seed. The training metrics each results file names, and those of
-m, are overlaid in one section. Every chart has a toolbox: PNG, SVG, CSV of its data, zoom, and a
log / linear switch on regret charts. See docs/report.md.`,
    )
    .action((files: string[], o: { out?: string; metrics?: string[]; title?: string; labels?: string; aggregate?: boolean; csv?: string }) => {
      const results = files.map((f) => readResults(f));
      if (files.length === 1 && o.labels === undefined && !o.aggregate) {
        const out = o.out ?? join(dirname(files[0]), 'report.html');
        writeReport(out, results[0], { title: o.title, baseDir: dirname(resolve(files[0])), trainingMetrics: (o.metrics ?? []).map((m) => resolve(m)), csvDir: o.csv });
        process.stdout.write(`report: ${out}\n`);
        return;
      }
      const labels = runLabels(files, results.map((r) => r.name), o.labels);
      const runs: CompareInput[] = results.map((r, i) => ({ label: labels[i], results: r, baseDir: dirname(resolve(files[i])) }));
      const out = o.out ?? 'compare.html';
      writeCompareReport(out, runs, {
        title: o.title,
        aggregate: o.aggregate === true,
        trainingMetrics: (o.metrics ?? []).map((m) => ({ label: metricsLabel(m), file: resolve(m) })),
        csvDir: o.csv,
      });
      process.stdout.write(`report: ${out}\n`);
    });
}
