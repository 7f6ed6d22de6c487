/** Options shared by the sub-commands that take a config. */
import { CommanderError, type Command } from 'commander';
import { IcrlError } from '../core/errors.js';
import { queueUrlFrom } from '../queue/redis.js';
import type { QueueOptions } from '../queue/coordinator.js';

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

/**
 * Adds the queue flags (`--queue <url>`, `--queue-name`, `--attempts`) to a command that can run on
 * the job queue as its coordinator (docs/cluster.md).
 */
export function withQueue(cmd: Command): Command {
  return cmd
    .option('--queue <url>', 'be the coordinator of a run on the job queue at this Redis URL (redis://host:port, rediss:// for TLS; default: ICRL_REDIS_URL): enqueue the parts, wait for `icrl worker`s to compute them (docs/cluster.md)')
    .option('--queue-name <name>', 'BullMQ queue name (the workers must use the same)', 'icrl')
    .option('--attempts <n>', 'queue: tries per job before it is reported failed', intFlag('--attempts', 1, 100), 3);
}

/** The queue options of a command's flags (null: run locally); the URL is checked and masked. */
export function queueFromFlags(o: { queue?: string; queueName?: string; attempts?: number; progress?: boolean }): QueueOptions | null {
  const target = queueUrlFrom(o.queue);
  if (!target) return null;
  return { target, queueName: o.queueName, attempts: o.attempts, silent: o.progress === false };
}
