/** `icrl quickstart` (what `npm start` runs): the small end-to-end experiment of configs/quickstart.yaml. */
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../../core/errors.js';
import { runQuickstart } from '../../experiments/quickstart.js';

/** configs/quickstart.yaml of the package (found from the compiled file, so it works from any folder). */
function defaultConfig(): string {
  const here = dirname(fileURLToPath(import.meta.url)); // dist/cli/commands or src/cli/commands
  return join(here, '..', '..', '..', 'configs', 'quickstart.yaml');
}

export function register(program: Command): void {
  program
    .command('quickstart')
    .description('Run the small end-to-end experiment (npm start): DPT data on bandits, train a small DPT, evaluate it against UCB, Thompson sampling and greedy on held-out bandits, write the report')
    .argument('[config]', 'quick-start config (default: configs/quickstart.yaml of the package)')
    .option('-o, --out <dir>', "output folder (overrides the config's out)")
    .option('--no-progress', 'no progress bars')
    .addHelpText(
      'after',
      '\nWrites <out>/dpt (the training run), <out>/results.json and <out>/report.html (default out: runs/quickstart)\nand prints where they are. Run again, it reuses the trained model. A few minutes on 2 cores.',
    )
    .action(async (config: string | undefined, o: { out?: string; progress: boolean }) => {
      const file = config ?? defaultConfig();
      if (!existsSync(file)) throw new ConfigError(`${file}: quick-start config not found`, file);
      await runQuickstart(file, { out: o.out ? resolve(o.out) : undefined, progress: o.progress, source: config ?? 'configs/quickstart.yaml' });
    });
}
