/**
 * Config files: YAML or JSON, validated by a zod schema. Errors name the file, the field (as a
 * dotted path) and what was expected. Schemas should be strict so that an unknown key is an error.
 */
import { readFileSync, existsSync } from 'node:fs';
import { extname } from 'node:path';
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

/** Reads a YAML (.yaml/.yml) or JSON file without validating it. */
export function readConfigFile(file: string): unknown {
  if (!existsSync(file)) throw new ConfigError(`${file}: config file not found`, file);
  const text = readFileSync(file, 'utf8');
  const ext = extname(file).toLowerCase();
  try {
    if (ext === '.json') return JSON.parse(text);
    return parseYaml(text);
  } catch (e) {
    throw new ConfigError(`${file}: cannot parse as ${ext === '.json' ? 'JSON' : 'YAML'}: ${(e as Error).message}`, file);
  }
}

/** Reads and validates a config file. */
export function loadConfig<S extends z.ZodType>(schema: S, file: string): z.output<S> {
  return validateConfig(schema, readConfigFile(file), file);
}
