/**
 * Config files: YAML or JSON, validated by a zod schema. Errors name the file, the field (as a
 * dotted path) and what was expected. Schemas should be strict so that an unknown key is an error.
 * A config may extend others (`extends:`), and any value can be overridden on the command line
 * (`--set a.b=value`).
 */
import { readFileSync, existsSync, statSync } from 'node:fs';
import { dirname, extname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from './errors.js';

type Issue = z.core.$ZodIssue;

function fieldPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(root)';
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join('');
}

function describeIssue(issue: Issue): { field: string; text: string } {
  const base = [...issue.path];
  if (issue.code === 'unrecognized_keys') {
    const keys = (issue as { keys: string[] }).keys;
    const field = fieldPath([...base, keys[0]]);
    return { field, text: `${field}: unknown key${keys.length > 1 ? `s ${keys.join(', ')}` : ''} (not allowed here)` };
  }
  const field = fieldPath(base);
  return { field, text: `${field}: ${issue.message}` };
}

/** Validates `data` against `schema`; throws a {@link ConfigError} naming `source` and the fields. */
export function validateConfig<S extends z.ZodType>(schema: S, data: unknown, source = 'config'): z.output<S> {
  const r = schema.safeParse(data);
  if (r.success) return r.data;
  const described = r.error.issues.map(describeIssue);
  const lines = described.map((d) => `  ${d.text}`).join('\n');
  throw new ConfigError(`${source}: invalid configuration\n${lines}`, source, described[0]?.field);
}

function parseFile(file: string): unknown {
  if (!existsSync(file)) throw new ConfigError(`${file}: config file not found`, file);
  if (statSync(file).isDirectory()) throw new ConfigError(`${file}: is a folder, not a config file`, file);
  const text = readFileSync(file, 'utf8');
  const ext = extname(file).toLowerCase();
  try {
    if (ext === '.json') return JSON.parse(text);
    return parseYaml(text);
  } catch (e) {
    throw new ConfigError(`${file}: cannot parse as ${ext === '.json' ? 'JSON' : 'YAML'}: ${(e as Error).message}`, file);
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deep merge of configs: objects merge key by key, anything else (arrays, scalars) in `over` replaces `base`. */
export function mergeConfigs(base: unknown, over: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(over)) return over === undefined ? base : over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = k in base ? mergeConfigs(base[k], v) : v;
  return out;
}

/**
 * Reads a YAML (.yaml/.yml) or JSON file without validating it. A top-level `extends: other.yaml`
 * (or a list of files, merged in order) names configs this one is deep-merged onto, their paths
 * relative to this file; chains are followed and a cycle is an error naming the files.
 */
export function readConfigFile(file: string, seen: readonly string[] = []): unknown {
  const here = resolve(file);
  if (seen.includes(here)) throw new ConfigError(`${file}: extends cycle (${[...seen, here].join(' -> ')})`, file, 'extends');
  const doc = parseFile(file);
  if (!isPlainObject(doc) || !('extends' in doc)) return doc;
  const { extends: ext, ...rest } = doc;
  const parents = typeof ext === 'string' ? [ext] : Array.isArray(ext) && ext.every((e) => typeof e === 'string') ? (ext as string[]) : null;
  if (!parents || parents.length === 0) throw new ConfigError(`${file}: extends: expected a config file name or a list of them, got ${JSON.stringify(ext)}`, file, 'extends');
  let base: unknown = {};
  for (const p of parents) base = mergeConfigs(base, readConfigFile(resolve(dirname(here), p), [...seen, here]));
  return mergeConfigs(base, rest);
}

/**
 * Applies `--set` overrides: each `a.b.c=value` sets that path (created through objects; a numeric
 * segment indexes an array) to `value` parsed as YAML (`3` is a number, `[1, 2]` a list, `true` a
 * boolean, `ucb` a string). Applied before validation, so a bad key or value is reported by the
 * schema with its path.
 */
export function applyOverrides(data: unknown, sets: readonly string[], source = 'config'): unknown {
  let root: unknown = structuredClone(data ?? {});
  for (const set of sets) {
    const eq = set.indexOf('=');
    if (eq <= 0) throw new ConfigError(`${source}: --set ${JSON.stringify(set)}: expected key.path=value`, source);
    const path = set.slice(0, eq).trim().split('.');
    if (path.some((k) => k === '')) throw new ConfigError(`${source}: --set ${JSON.stringify(set)}: empty key in the path`, source);
    let value: unknown;
    try {
      value = parseYaml(set.slice(eq + 1));
    } catch (e) {
      throw new ConfigError(`${source}: --set ${path.join('.')}: the value is not YAML: ${(e as Error).message}`, source, path.join('.'));
    }
    if (!isPlainObject(root)) root = {};
    let node = root as Record<string, unknown> | unknown[];
    for (let i = 0; i < path.length; i++) {
      const key = path[i];
      const last = i === path.length - 1;
      if (Array.isArray(node)) {
        const idx = Number(key);
        if (!Number.isInteger(idx) || idx < 0 || idx > node.length) throw new ConfigError(`${source}: --set ${path.join('.')}: ${path.slice(0, i).join('.')} is a list of ${node.length}; "${key}" is not an index in it`, source, path.join('.'));
        if (last) node[idx] = value;
        else {
          if (!isPlainObject(node[idx]) && !Array.isArray(node[idx])) node[idx] = {};
          node = node[idx] as Record<string, unknown> | unknown[];
        }
      } else {
        if (last) node[key] = value;
        else {
          if (!isPlainObject(node[key]) && !Array.isArray(node[key])) node[key] = {};
          node = node[key] as Record<string, unknown> | unknown[];
        }
      }
    }
  }
  return root;
}

/** Reads and validates a config file, with `extends` followed and `overrides` (`--set`) applied first. */
export function loadConfig<S extends z.ZodType>(schema: S, file: string, overrides: readonly string[] = []): z.output<S> {
  return validateConfig(schema, applyOverrides(readConfigFile(file), overrides, file), file);
}
