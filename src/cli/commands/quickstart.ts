/** `icrl quickstart` (what `npm start` runs): the small end-to-end experiment of configs/quickstart.yaml. */
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../../core/errors.js';
import { runQuickstart } from '../../eval/quickstart.js';

/** configs/quickstart.yaml of the package (found from the compiled file, so it works from any folder). */
function defaultConfig(): string {
  const here = dirname(fileURLToPath(import.meta.url)); // dist/cli/commands or src/cli/commands
  return join(here, '..', '..', '..', 'configs', 'quickstart.yaml');
}

export function register(program: Command): void {
  program
    .command('quickstart')
    .description('Run the small end-to-end experiment (npm start): held-out bandits, baselines (and DPT where built), report')
    .argument('[config]', 'quick-start config (default: configs/quickstart.yaml of the package)')
    .option('-o, --out <dir>', "output folder (overrides the config's out)")
    .option('--no-progress', 'no progress bars')
    .addHelpText('after', '\nWrites <out>/results.json and <out>/report.html (default out: runs/quickstart) and prints where they are.')
    .action(async (config: string | undefined, o: { out?: string; progress: boolean }) => {
      const file = config ?? defaultConfig();
      if (!existsSync(file)) throw new ConfigError(`${file}: quick-start config not found`, file);
      await runQuickstart(file, { out: o.out ? resolve(o.out) : undefined, progress: o.progress, source: config ?? 'configs/quickstart.yaml' });
    });
}
