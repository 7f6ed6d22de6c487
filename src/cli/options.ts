/** Options shared by the sub-commands that take a config. */
import type { Command } from 'commander';

/** Adds `--set key.path=value` (repeatable) to a command; the values are collected in order. */
export function withOverrides(cmd: Command): Command {
  return cmd.option('--set <key=value>', 'override a config value before validation (repeatable; the value is YAML), e.g. --set optim.lr=0.001', (v: string, prev: string[]) => [...prev, v], [] as string[]);
}
