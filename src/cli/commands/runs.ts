/** `icrl runs [folder]`: the runs under a folder (evaluations, trainings, collections, LHF) with their main figure. */
import type { Command } from 'commander';
import { existsSync, statSync } from 'node:fs';
import { IcrlError } from '../../core/errors.js';
import { listRuns } from '../../experiments/runs.js';
import { intFlag } from '../options.js';

export function register(program: Command): void {
  program
    .command('runs')
    .description('List the runs under a folder: evaluations, trainings, collections, LHF filterings, reproductions, with their kind, name, start date and main figure')
    .argument('[folder]', 'folder to search (default runs)', 'runs')
    .option('--kind <kind>', 'only runs of this kind: eval, train, collect, lhf or reproduce')
    .option('--sort <key>', 'order: path or date (newest last)', 'path')
    .option('--depth <n>', 'folders searched below the folder', intFlag('--depth', 0, 64), 6)
    .option('--json', 'print one JSON document (every run with its figure as numbers)')
    .addHelpText(
      'after',
      `
A run is found by what its command writes: results.json (icrl eval, quickstart), metrics.jsonl with
its config line (icrl train; result.json once finished), manifest.json (icrl collect), lhf.json
(icrl lhf). The main figure of an evaluation is its first agent's headline (final regret or
last-episode return with the 95% interval over tasks); of a training, the last loss, validation loss
and held-out evaluation. Compare evaluations with icrl report A/results.json B/results.json.`,
    )
    .action((folder: string, o: { kind?: string; sort: string; depth: number; json?: boolean }) => {
      if (!existsSync(folder) || !statSync(folder).isDirectory()) throw new IcrlError(`icrl runs: ${folder}: no such folder`);
      const kinds = ['eval', 'train', 'collect', 'lhf', 'reproduce'];
      if (o.kind !== undefined && !kinds.includes(o.kind)) throw new IcrlError(`--kind: "${o.kind}" is not one of ${kinds.join(', ')}`);
      if (o.sort !== 'path' && o.sort !== 'date') throw new IcrlError(`--sort: "${o.sort}" is not one of path, date`);
      let runs = listRuns(folder, o.depth).filter((r) => o.kind === undefined || r.kind === o.kind);
      if (o.sort === 'date') runs = [...runs].sort((a, b) => a.date.localeCompare(b.date));
      if (o.json) {
        process.stdout.write(`${JSON.stringify({ folder, runs }, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v))}\n`);
        return;
      }
      if (runs.length === 0) {
        process.stdout.write(`no runs under ${folder}\n`);
        return;
      }
      const cols: [string, (r: (typeof runs)[number]) => string][] = [
        ['path', (r) => r.path],
        ['kind', (r) => r.kind],
        ['name', (r) => r.name],
        ['date', (r) => r.date.replace('T', ' ').replace(/\.\d+Z$/, 'Z')],
        ['main figure', (r) => r.figure],
      ];
      const width = cols.map(([h, f]) => Math.max(h.length, ...runs.map((r) => f(r).length)));
      const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(width[i]))).join('  ');
      process.stdout.write(`${[line(cols.map(([h]) => h)), ...runs.map((r) => line(cols.map(([, f]) => f(r))))].join('\n')}\n`);
    });
}
