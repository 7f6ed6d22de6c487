/** `icrl report <results.json>`: (re)draws the HTML report of an evaluation run. */
import type { Command } from 'commander';
import { dirname, join, resolve } from 'node:path';
import { readResults } from '../../eval/results.js';
import { writeReport } from '../../report/index.js';

export function register(program: Command): void {
  program
    .command('report')
    .description('Write the self-contained HTML report (ECharts inlined, opens offline) of an evaluation results file')
    .argument('<results>', 'results.json written by `icrl eval` or `icrl quickstart`')
    .option('-o, --out <file>', 'report file (default: report.html next to the results)')
    .option('-m, --metrics <file...>', "trainer metrics (JSON lines) to chart as training curves and expert usage")
    .option('-t, --title <title>', 'page title')
    .action((file: string, o: { out?: string; metrics?: string[]; title?: string }) => {
      const results = readResults(file);
      const out = o.out ?? join(dirname(file), 'report.html');
      writeReport(out, results, {
        title: o.title,
        baseDir: dirname(resolve(file)),
        trainingMetrics: (o.metrics ?? []).map((m) => resolve(m)),
      });
      process.stdout.write(`report: ${out}\n`);
    });
}
