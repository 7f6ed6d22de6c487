/** Options shared by the sub-commands that take a config. */
import { CommanderError, type Command } from 'commander';
import { IcrlError } from '../core/errors.js';

/** Adds `--set key.path=value` (repeatable) to a command; the values are collected in order. */
export function withOverrides(cmd: Command): Command {
  return cmd.option('--set <key=value>', 'override a config value before validation (repeatable; the value is YAML), e.g. --set optim.lr=0.001', (v: string, prev: string[]) => [...prev, v], [] as string[]);
}

/**
 * The one parser of integer flags: `intFlag('--workers', 0)` accepts a decimal integer in
 * [min, max] and refuses anything else (`abc`, `1.5`, `-1`, `1e3`) with an error naming the flag.
 */
export function intFlag(flag: string, min = 0, max = Number.MAX_SAFE_INTEGER): (v: string) => number {
  return (v: string): number => {
    const n = /^-?\d+$/.test(v.trim()) ? Number(v) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) throw new IcrlError(`${flag}: expected an integer ${max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `in [${min}, ${max}]`}, got "${v}"`);
    return n;
  };
}

/** A finite number flag in [min, max]. */
export function numberFlag(flag: string, min = -Infinity, max = Infinity): (v: string) => number {
  return (v: string): number => {
    const n = v.trim() === '' ? NaN : Number(v);
    if (!Number.isFinite(n) || n < min || n > max) throw new IcrlError(`${flag}: expected a number in [${min}, ${max}], got "${v}"`);
    return n;
  };
}

/** A command run without its config: says so and prints that command's own help (exit 2). */
export function missingConfig(cmd: Command, message: string): never {
  process.stderr.write(`${message}\n\n`);
  cmd.outputHelp({ error: true });
  throw new CommanderError(2, 'icrl.missingConfig', message);
}
