/**
 * The import-layer check of src/: reads every relative import (static, `export ... from`, type-only
 * and dynamic `import()`) of every .ts file under a root, and reports imports from a folder to a
 * folder of a higher layer, and cycles between files. `src/index.ts`, the package entry, is above
 * every layer; nothing may import it.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative, sep } from 'node:path';

/**
 * The layers of src/, lowest first: a folder may import only from its own layer and the layers
 * before it. The same list is in docs/architecture.md.
 */
export const LAYERS: readonly string[] = ['core', 'tasks', 'envs', 'teachers', 'algorithms', 'data', 'nn', 'rl', 'models', 'eval', 'train', 'report', 'experiments', 'queue', 'cli'];

export interface LayerReport {
  /** "from -> to" for every import into a higher layer (or into the package entry). */
  upward: string[];
  /** Each file cycle once, as "a -> b -> ... -> a". */
  cycles: string[];
  /** Folders of the root that are in no layer. */
  unlisted: string[];
  files: number;
}

function walk(dir: string, out: string[]): void {
  for (const f of readdirSync(dir)) {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (p.endsWith('.ts')) out.push(p);
  }
}

const IMPORT = /(?:^|[\s;])(?:import|export)\s+(?:type\s+)?(?:[\w*{}\s,$]+?\s+from\s+)?['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;

/** Relative imports of a source text (comments stripped first, so examples in comments do not count). */
export function importsOf(text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
  const out: string[] = [];
  for (const m of code.matchAll(IMPORT)) out.push(m[1] ?? m[2]);
  return out;
}

function resolveImport(from: string, spec: string): string | null {
  const base = normalize(join(dirname(from), spec));
  for (const c of [base.replace(/\.js$/, '.ts'), `${base}.ts`, join(base, 'index.ts')]) if (existsSync(c)) return c;
  return null;
}

/** Checks the tree under `root` (e.g. "src") against `layers`. */
export function checkLayers(root: string, layers: readonly string[] = LAYERS): LayerReport {
  const files: string[] = [];
  walk(root, files);
  const layerOf = (file: string): number => {
    const rel = relative(root, file).split(sep);
    if (rel.length === 1) return rel[0] === 'index.ts' ? layers.length : -1;
    return layers.indexOf(rel[0]);
  };
  const edges = new Map<string, string[]>();
  const upward: string[] = [];
  for (const f of files) {
    const targets: string[] = [];
    for (const spec of importsOf(readFileSync(f, 'utf8'))) {
      const t = resolveImport(f, spec);
      if (!t) continue; // a missing file is the type checker's error
      targets.push(t);
      const a = layerOf(f);
      const b = layerOf(t);
      if (b > a && a >= 0) upward.push(`${relative(root, f)} -> ${relative(root, t)}`);
    }
    edges.set(f, targets);
  }
  // cycles: depth-first search, each back edge reported once
  const state = new Map<string, 1 | 2>();
  const stack: string[] = [];
  const cycles: string[] = [];
  const visit = (u: string): void => {
    state.set(u, 1);
    stack.push(u);
    for (const v of edges.get(u) ?? []) {
      if (state.get(v) === 1) {
        const loop = stack.slice(stack.indexOf(v)).concat(v).map((x) => relative(root, x));
        cycles.push(loop.join(' -> '));
      } else if (!state.has(v)) visit(v);
    }
    stack.pop();
    state.set(u, 2);
  };
  for (const f of files) if (!state.has(f)) visit(f);
  const unlisted = [...new Set(files.map((f) => relative(root, f).split(sep)).filter((r) => r.length > 1).map((r) => r[0]))].filter((d) => !layers.includes(d));
  return { upward, cycles: [...new Set(cycles)], unlisted, files: files.length };
}
