/**
 * Task libraries: a JSON file of tasks of one family (also readable as a plain tasks file by
 * deserializeTasks, so an eval config can name it in tasks.file), each with its provenance (who proposed it, with
 * which model and prompt, in which mode, when, and the oracle value that made it pass). The LLM task
 * proposer adds to a library; teachers and the evaluator draw from it. Writes are atomic.
 */
import { existsSync, readFileSync } from 'node:fs';
import { writeJsonAtomic } from '../core/atomic.js';
import { z } from 'zod';
import { CorruptFileError, IcrlError } from '../core/errors.js';
import type { Rng } from '../core/rng.js';
import type { JsonValue } from '../core/spaces.js';
import { taskKey, type Task, type TaskSpace } from './taskSpace.js';

const jsonRecord = z.record(z.string(), z.any());

export const provenanceSchema = z
  .object({
    /** llm: proposed by a language model; generator: sampled from the task space; manual: written by hand. */
    source: z.enum(['llm', 'generator', 'manual']),
    model: z.string().optional(),
    /** SHA-256 of the prompt that produced the proposal. */
    promptHash: z.string().optional(),
    /** explore is the bottom-up mode. */
    mode: z.enum(['goal', 'explore', 'top-down']).optional(),
    /** The target description in top-down mode. */
    description: z.string().optional(),
    /** The target task's parameters in goal-directed mode. */
    target: jsonRecord.optional(),
    time: z.string(),
    /** The oracle's expected return on the task when it was checked. */
    oracleValue: z.number().optional(),
    /** Proposal round (0-based) within one `propose` call. */
    round: z.number().int().min(0).optional(),
    /** What each check of the proposal measured (stage -> statistics, e.g. solvable: the solver's optimal steps). */
    stages: z.record(z.string(), z.record(z.string(), z.union([z.number(), z.string(), z.boolean(), z.null()]))).optional(),
  })
  .strict();

export type Provenance = z.infer<typeof provenanceSchema>;

const entrySchema = z.object({ params: jsonRecord, key: z.string(), provenance: provenanceSchema }).strict();
// `tasks` repeats the entries' parameters so that a library file is also a tasks file that
// deserializeTasks (and an eval config's tasks.file) reads directly; it is rewritten on every save.
const librarySchema = z
  .object({ format: z.literal('icrl-task-library'), version: z.literal(1), family: z.string(), entries: z.array(entrySchema), tasks: z.array(jsonRecord).optional() })
  .strict();

export interface LibraryEntry {
  params: Record<string, JsonValue>;
  key: string;
  provenance: Provenance;
}

export interface TaskLibrary {
  format: 'icrl-task-library';
  version: 1;
  family: string;
  entries: LibraryEntry[];
}

export function emptyLibrary(family: string): TaskLibrary {
  return { format: 'icrl-task-library', version: 1, family, entries: [] };
}

/**
 * Reads a library file (a missing file is an empty library). Every entry is checked against `space`;
 * an entry that is not in the space, or a file that is not a library, raises an error naming the file
 * and the entry.
 */
export function loadLibrary(file: string, space: TaskSpace): TaskLibrary {
  if (!existsSync(file)) return emptyLibrary(space.family);
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new CorruptFileError(file, `not JSON: ${(e as Error).message}`);
  }
  const r = librarySchema.safeParse(doc);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new CorruptFileError(file, `not a task library: ${i.path.join('.') || '(root)'}: ${i.message}`);
  }
  const { tasks, ...rest } = r.data;
  const lib = rest as TaskLibrary;
  if (tasks && (tasks.length !== lib.entries.length || tasks.some((t, i) => taskKey({ family: lib.family, params: t }) !== lib.entries[i].key))) {
    throw new CorruptFileError(file, '"tasks" does not match "entries" (edit entries only; tasks is rewritten from them on save)');
  }
  if (lib.family !== space.family) throw new IcrlError(`${file}: library of family "${lib.family}", expected "${space.family}"`);
  lib.entries.forEach((e, i) => {
    try {
      space.check({ family: space.family, params: e.params });
    } catch (err) {
      throw new CorruptFileError(file, `entries[${i}]: ${(err as Error).message}`);
    }
    const key = taskKey({ family: space.family, params: e.params });
    if (key !== e.key) throw new CorruptFileError(file, `entries[${i}].key does not match its params`);
  });
  return lib;
}

/** Writes the library atomically (temp file + rename). */
export function saveLibrary(file: string, lib: TaskLibrary): void {
  const doc = { format: lib.format, version: lib.version, family: lib.family, entries: lib.entries, tasks: lib.entries.map((e) => e.params) };
  writeJsonAtomic(file, doc);
}

/** Keys of the tasks in the library (for deduplication). */
export function libraryKeys(lib: TaskLibrary): Set<string> {
  return new Set(lib.entries.map((e) => e.key));
}

/** Adds tasks not already present (by taskKey); returns the entries added and the duplicates skipped. */
export function addToLibrary(lib: TaskLibrary, tasks: Task[], provenance: Provenance | ((t: Task) => Provenance)): { added: LibraryEntry[]; duplicates: Task[] } {
  const keys = libraryKeys(lib);
  const added: LibraryEntry[] = [];
  const duplicates: Task[] = [];
  for (const t of tasks) {
    if (t.family !== lib.family) throw new IcrlError(`task of family "${t.family}" cannot join a "${lib.family}" library`);
    const key = taskKey(t);
    if (keys.has(key)) {
      duplicates.push(t);
      continue;
    }
    keys.add(key);
    const e: LibraryEntry = { params: t.params, key, provenance: typeof provenance === 'function' ? provenance(t) : provenance };
    lib.entries.push(e);
    added.push(e);
  }
  return { added, duplicates };
}

/** The library's tasks, in insertion order. */
export function libraryTasks(lib: TaskLibrary): Task[] {
  return lib.entries.map((e) => ({ family: lib.family, params: e.params }));
}

/**
 * Draws `n` tasks uniformly (with replacement) from the library, optionally only from entries that
 * pass `filter` (e.g. only LLM-proposed ones). This is what a teacher calls to use the library.
 */
export function drawFromLibrary(lib: TaskLibrary, rng: Rng, n: number, filter?: (e: LibraryEntry) => boolean): Task[] {
  const pool = filter ? lib.entries.filter(filter) : lib.entries;
  if (pool.length === 0) throw new IcrlError(`task library of "${lib.family}" has no tasks${filter ? ' that pass the filter' : ''} to draw from`);
  const out: Task[] = [];
  for (let i = 0; i < n; i++) out.push({ family: lib.family, params: pool[rng.int(pool.length)].params });
  return out;
}
