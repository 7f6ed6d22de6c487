/**
 * Bounds on the sizes a config may ask for, so that a typo (`steps: 1e12`, `samples: 1e10`) is a
 * named error before any work instead of a crash on a typed-array length or an exhausted machine.
 * Schemas cap each count (`LIMITS`); where memory is the product of several counts, the caller
 * computes what it will allocate and {@link checkMemory} refuses it, before allocating, when it
 * exceeds the memory budget: `ICRL_MEMORY_GB` if set, else 80% of this machine's memory.
 */
import { totalmem } from 'node:os';
import { ConfigError } from './errors.js';

export const LIMITS = {
  /** Training steps, collection steps per history, evaluation steps per task. */
  steps: 1e9,
  /** Online evaluation steps per task (a record of that many steps per task is kept). */
  evalSteps: 1e7,
  /** In-context episodes per task. */
  episodes: 1e6,
  /** Tasks of a collection, samples of a dataset. */
  count: 1e9,
  /** Held-out tasks of a split (a count; fractions are at most 1). */
  heldOut: 1e7,
  /** Transitions of a DPT context, of an offline dataset. */
  contextLength: 1e7,
} as const;

/** The memory budget in bytes. */
export function memoryBudget(): number {
  const gb = Number(process.env.ICRL_MEMORY_GB);
  return Number.isFinite(gb) && gb > 0 ? gb * 2 ** 30 : 0.8 * totalmem();
}

const gb = (b: number) => (b / 2 ** 30).toFixed(b < 2 ** 30 ? 3 : 1);

/** Refuses `bytes` (what `what` would allocate, as computed from config `field`) above the memory budget. */
export function checkMemory(bytes: number, what: string, source: string, field: string): void {
  const budget = memoryBudget();
  if (!(bytes <= budget)) {
    throw new ConfigError(`${source}: ${field}: ${what} needs ${gb(bytes)} GB of memory, more than the ${gb(budget)} GB this machine allows (80% of its memory, or ICRL_MEMORY_GB); lower it`, source, field);
  }
}
