/**
 * An evaluation config run end to end, as `icrl eval` and the quick start do it: the evaluation
 * (src/eval writes results.json) and then its report (src/report writes report.html beside it).
 */
import { join } from 'node:path';
import type { EvalConfig, EvalConfigInput } from '../eval/config.js';
import { runEvaluation, type RunEvalOptions } from '../eval/run.js';
import type { EvalResults } from '../eval/results.js';
import { writeReport, type ReportOptions } from '../report/index.js';

export interface EvaluateAndReportOptions extends RunEvalOptions {
  /** Extra report options (sections from other tools, training metrics). */
  report?: ReportOptions;
}

export interface EvaluateAndReportOutput {
  results: EvalResults;
  resultsPath?: string;
  reportPath?: string;
}

/** Runs the evaluation of `cfg` and writes report.html next to results.json (unless `write: false`). */
export async function evaluateAndReport(config: EvalConfig | EvalConfigInput, opts: EvaluateAndReportOptions = {}): Promise<EvaluateAndReportOutput> {
  const { report, ...evalOpts } = opts;
  const { results, resultsPath, outDir, config: cfg } = await runEvaluation(config, evalOpts);
  if (!resultsPath) return { results };
  const reportPath = join(outDir, 'report.html');
  writeReport(reportPath, results, { title: cfg.report.title, ...report });
  return { results, resultsPath, reportPath };
}
