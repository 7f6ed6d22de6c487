/**
 * The one registry shape of the project. Every pluggable part (environment family, teacher, source
 * algorithm or evaluation agent, model kind) is an entry `{ name, description, options, ... }` whose
 * `options` is a strict zod schema: registering a taken name throws {@link DuplicateNameError}, an
 * unknown name throws {@link UnknownNameError} listing the known ones, and options are validated by
 * {@link validateConfig}, so a typo (`fitrate` for `fitRate`) is an error naming the key. `list()`
 * feeds `--help` texts and the `list` sub-commands. Users register their own parts from code.
 */
import type { z } from 'zod';
import { validateConfig } from './config.js';
import { DuplicateNameError, UnknownNameError } from './errors.js';

/** What every registry entry has; a registry adds its own factory hooks. */
export interface RegistryEntry {
  readonly name: string;
  /** One line shown by `list()` and in `--help` texts. */
  readonly description: string;
  /** Strict zod schema of the entry's options (defaults filled in by parsing). */
  readonly options: z.ZodType;
  /** Other names that reach this entry (e.g. `ts` for `thompson`). */
  readonly aliases?: readonly string[];
}

export class Registry<E extends RegistryEntry> {
  private readonly entries = new Map<string, E>();
  private readonly aliases = new Map<string, string>();

  /** `kind` names what the registry holds in errors ("environment family", "teacher", ...). */
  constructor(readonly kind: string) {}

  /** Adds an entry; a name or alias already taken raises {@link DuplicateNameError}. */
  register(entry: E): E {
    for (const n of [entry.name, ...(entry.aliases ?? [])]) {
      if (this.entries.has(n) || this.aliases.has(n)) throw new DuplicateNameError(this.kind, n);
    }
    this.entries.set(entry.name, entry);
    for (const a of entry.aliases ?? []) this.aliases.set(a, entry.name);
    return entry;
  }

  has(name: string): boolean {
    return this.entries.has(name) || this.aliases.has(name);
  }

  /** The entry called `name` (or an alias of it); an unknown name lists the known ones. */
  get(name: string): E {
    const e = this.entries.get(this.aliases.get(name) ?? name);
    if (!e) throw new UnknownNameError(this.kind, String(name), this.names());
    return e;
  }

  /** Registered names in registration order. */
  names(): string[] {
    return [...this.entries.keys()];
  }

  /** Registered entries in registration order. */
  list(): E[] {
    return [...this.entries.values()];
  }

  /**
   * Validates `raw` options for entry `name` (strict: an unknown key is an error naming it) and
   * returns them with defaults filled in; `source` says where they come from in errors.
   */
  parseOptions(name: string, raw: unknown, source?: string): z.output<E['options']> {
    const e = this.get(name);
    return validateConfig(e.options, raw ?? {}, source ?? `${e.name} options`) as z.output<E['options']>;
  }
}
