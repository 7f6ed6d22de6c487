/**
 * An evaluation config run end to end, as `icrl eval` and the quick start do it: the evaluation
 * (src/eval writes results.json) and then its report (src/report writes report.html beside it).
 */
import { join } from 'node:path';
import type { EvalConfig, EvalConfigInput } from '../eval/config.js';
import { heldOutTasks, runEvaluation, type RunEvalOptions } from '../eval/run.js';
import type { EvalResults } from '../eval/results.js';
import { writeReport, type ReportOptions, type ReportSection } from '../report/index.js';
import { getFamily } from '../envs/index.js';

/** Pictures of the first held-out tasks, for families that draw them (EnvFamily.picture). */
function taskPictures(cfg: EvalConfig, baseDir: string, count = 4): ReportSection[] {
  const fam = getFamily(cfg.env.family);
  if (!fam.picture) return [];
  const { tasks } = heldOutTasks(cfg, baseDir);
  const shown = tasks.slice(0, count);
  return [
    {
      title: `Held-out tasks (the first ${shown.length} of ${tasks.length})`,
      text: [`Each task's start as drawn with the evaluation seed (${cfg.seed}); in play the placement may differ from episode to episode (family option placement).`],
      figures: shown.map((t, k) => ({ svg: fam.picture!(t, cfg.env.options, cfg.seed), caption: `held-out task ${k}` })),
    },
  ];
}

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
  const pictures = taskPictures(cfg, evalOpts.baseDir ?? process.cwd());
  writeReport(reportPath, results, { title: cfg.report.title, ...report, sections: [...(report?.sections ?? []), ...pictures] });
  return { results, resultsPath, reportPath };
}
