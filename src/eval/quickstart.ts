/**
 * The quick start (`npm start` = `icrl quickstart`): the whole loop on one small config,
 * configs/quickstart.yaml. It evaluates the classical baselines (UCB, Thompson sampling, greedy) on
 * held-out bandits against the oracle and random, writes results.json and the HTML report, and says
 * where the report is.
 */
import { resolve } from 'node:path';
import { z } from 'zod';
import { loadConfig } from '../core/config.js';
import { runEvaluation } from './run.js';
import type { EvalConfigInput } from './config.js';

export const quickstartConfigSchema = z
  .object({
    name: z.string().min(1).default('quickstart'),
    /** Output folder of the whole run (results.json, report.html). */
    out: z.string().min(1).default('runs/quickstart'),
    /** An `icrl eval` config (its `out` is replaced by this run's folder). */
    eval: z.record(z.string(), z.unknown()),
  })
  .strict();
export type QuickstartConfig = z.output<typeof quickstartConfigSchema>;

export interface QuickstartOptions {
  /** Where the config came from, for error messages. */
  source?: string;
  /** Overrides the config's out. */
  out?: string;
  progress?: boolean;
  /** Lines for the user (default: stdout). */
  say?: (line: string) => void;
}

export interface QuickstartResult {
  resultsPath: string;
  reportPath: string;
  stages: string[];
  seconds: number;
}

export async function runQuickstart(file: string, opts: QuickstartOptions = {}): Promise<QuickstartResult> {
  const cfg = loadConfig(quickstartConfigSchema, file);
  const say = opts.say ?? ((l: string) => process.stdout.write(`${l}\n`));
  const out = resolve(opts.out ?? cfg.out);
  const t0 = performance.now();
  const notes = [
    'This build has no DPT training yet (the model and trainer modules have not landed), so the quick start runs the best end-to-end part that exists: the classical baselines on held-out bandits, with the report.',
  ];
  say(`icrl quick start (${file})`);
  for (const n of notes) say(`note: ${n}`);
  say('step 1/1: evaluate UCB, Thompson sampling and greedy on held-out bandits');
  const { resultsPath, reportPath, results } = await runEvaluation(
    { ...cfg.eval, out } as EvalConfigInput,
    { source: `${opts.source ?? file}: eval`, progress: opts.progress, notes, log: (l) => say(`  ${l}`) },
  );
  const seconds = (performance.now() - t0) / 1000;
  if (results.online) {
    say('');
    say(`cumulative regret at t=${results.online.steps} on ${results.tasks.count} held-out bandits (mean, 95% interval):`);
    for (const a of results.online.agents) {
      if (a.summary.mode !== 'steps') continue;
      const f = a.summary.finalRegret;
      say(`  ${a.name.padEnd(12)} ${f.mean.toFixed(2).padStart(8)}   [${f.lo.toFixed(2)}, ${f.hi.toFixed(2)}]`);
    }
  }
  say('');
  say(`done in ${seconds.toFixed(1)} s`);
  say(`results: ${resultsPath}`);
  say(`report:  ${reportPath}   (open it in a browser; it works offline)`);
  return { resultsPath: resultsPath!, reportPath: reportPath!, stages: ['eval'], seconds };
}
