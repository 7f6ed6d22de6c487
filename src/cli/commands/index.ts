/**
 * Registry of sub-commands: one module per command, each exporting `register(program)`.
 * Add a line here when adding a command module.
 */
import type { Command } from 'commander';

type Register = (program: Command) => void;

const modules: Register[] = [];

export function registerCommands(program: Command): void {
  for (const register of modules) register(program);
}
