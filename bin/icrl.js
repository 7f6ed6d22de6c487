#!/usr/bin/env node
// Entry point of the `icrl` command: runs the compiled CLI (built by `npm install` / `npm run build`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const main = join(root, 'dist', 'cli', 'main.js');
if (!existsSync(main)) {
  process.stderr.write('icrl: the project is not built yet; run `npm install` (or `npm run build`) first.\n');
  process.exit(1);
}
const { runCli } = await import(main);
await runCli(process.argv);
