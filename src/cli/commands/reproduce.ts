/**
 * `icrl reproduce`: one command per paper claim (src/experiments/reproduce.ts, docs/results.md).
 *   icrl reproduce list                           the entries, their papers, claims and budgets
 *   icrl reproduce NAME [--scale small|paper] [--seeds n] [--set key=value] [-o dir]
 */
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { ConfigError } from '../../core/errors.js';
import { reproductions, runReproduction, type Scale } from '../../experiments/index.js';
import { applyOverrides } from '../../core/config.js';
import { intFlag, withOverrides } from '../options.js';

function listEntries(): void {
  for (const e of reproductions.list()) {
    process.stdout.write(`${e.name}\n  ${e.description}\n  paper: ${e.paper}\n  claim: ${e.claim}\n`);
    const shape = (e.options as { shape?: Record<string, { description?: string }> }).shape ?? {};
    for (const [k, v] of Object.entries(shape)) process.stdout.write(`  --set ${k}=...: ${v.description ?? ''}\n`);
    for (const [scale, s] of Object.entries(e.scales)) process.stdout.write(`  --scale ${scale}: ${s.budget}\n`);
  }
}

export function register(program: Command): void {
  withOverrides(program
    .command('reproduce'))
    .description("Reproduce a paper's claim end to end (train per seed, evaluate in context, aggregate over seeds, verdict from the intervals); `icrl reproduce list` shows the entries")
    .argument('[name]', 'an entry, or "list"')
    .option('--scale <scale>', 'small (a laptop) or paper (the published sizes)', 'small')
    .option('--seeds <n>', 'training seeds (0 .. n-1)', intFlag('--seeds', 1, 100), 3)
    .option('--parallel <n>', 'train up to n seeds at once, each in a child process of icrl train (default 1: one after another)', intFlag('--parallel', 1, 64), 1)
    .option('-o, --out <dir>', 'output folder (default runs/reproduce/<name>-<scale>)')
    .option('--no-progress', 'no progress bars')
    .addHelpText(
      'after',
      `
Each entry trains its models once per seed, evaluates each seed's models next to the baselines on
held-out tasks, and writes <out>/reproduce.json and <out>/report.html: a table of the interquartile
mean over seeds with 95% bootstrap intervals, and one verdict per claim (holds / does not hold /
inconclusive) computed from the interval of the paired difference the claim states. Killed, it
resumes when run again with the same arguments (trained models and finished evaluations are kept).
--parallel n trains the seeds of an entry built on the train-then-evaluate pipeline n at a time in
child processes (logs beside the training folders; the numbers are those of a sequential run;
killed, even by SIGKILL, this process takes its children with it: each checkpoints and stops, and
the rerun resumes them); entries with their own training loop train one seed after another.
--set key=value sets an option of the entry (those it has are listed by \`icrl reproduce list\`, e.g.
--set family=point-robot for ad-continuous); the default output folder then ends in -<value>.
Entries: ${reproductions.names().join(', ')}. See docs/results.md.`,
    )
    .action(async (name: string | undefined, o: { scale: string; seeds: number; parallel: number; out?: string; progress: boolean; set: string[] }) => {
      if (name === undefined || name === 'list') {
        listEntries();
        return;
      }
      if (o.scale !== 'small' && o.scale !== 'paper') throw new ConfigError(`--scale: expected small or paper, got "${o.scale}"`, '--scale');
      const options = o.set.length > 0 ? (applyOverrides({}, o.set, '--set') as Record<string, unknown>) : undefined;
      await runReproduction(name, { scale: o.scale as Scale, seeds: o.seeds, parallel: o.parallel, out: o.out ? resolve(o.out) : undefined, progress: o.progress, options });
    });
}
