import { describe, it, expect } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { checkLayers, importsOf, LAYERS } from './helpers/layers.js';

function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'icrl-layers-'));
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, p)), { recursive: true });
    writeFileSync(join(root, p), text);
  }
  return root;
}

describe('import layers of src/', () => {
  it('src/ has no upward import, no file cycle, and no folder outside the layers', () => {
    const r = checkLayers('src');
    expect(r.files).toBeGreaterThan(100);
    expect(r.unlisted).toEqual([]);
    expect(r.upward).toEqual([]);
    expect(r.cycles).toEqual([]);
  });

  it('the check fails on an upward import, on a cycle, on an import of the package entry and on an unlisted folder', () => {
    const root = tree({
      'core/a.ts': "import { b } from './b.js';\nexport const a = 1;\n",
      'core/b.ts': "import type { A } from './c.js';\nexport const b = 2;\n",
      'core/c.ts': "export type A = number;\nimport { a } from './a.js';\n",
      'envs/x.ts': "import { a } from '../core/a.js';\nexport const x = a;\n",
      // an upward import: envs is below train; dynamic imports count too
      'envs/y.ts': "export async function y() { return (await import('../train/t.js')).t; }\n",
      'train/t.ts': "import { x } from '../envs/x.js';\nexport const t = x;\n",
      'train/u.ts': "import { api } from '../index.js';\nexport const u = api;\n",
      'misc/m.ts': 'export const m = 0;\n',
      'index.ts': "export * from './train/t.js';\nexport const api = 1;\n",
    });
    try {
      const r = checkLayers(root, LAYERS);
      expect(r.upward.sort()).toEqual(['envs/y.ts -> train/t.ts', 'train/u.ts -> index.ts']);
      expect(r.cycles).toEqual(['core/a.ts -> core/b.ts -> core/c.ts -> core/a.ts']);
      expect(r.unlisted).toEqual(['misc']);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('reads every import form and ignores imports written in comments', () => {
    const text = [
      "import a from './a.js';",
      "import type { B } from '../b.js';",
      "import {\n  c,\n  d,\n} from './cd.js';",
      "export { e } from './e.js';",
      "export * from './f.js';",
      "import './side.js';",
      "const g = await import('./g.js');",
      "// import { no } from './comment.js';",
      "/* import { no } from './block.js'; */",
      "import { z } from 'zod';",
    ].join('\n');
    expect(importsOf(text)).toEqual(['./a.js', '../b.js', './cd.js', './e.js', './f.js', './side.js', './g.js']);
  });
});
