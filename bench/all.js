#!/usr/bin/env node
// Runs every `bench:*` script of package.json in turn; each prints one JSON line per figure.
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const only = process.argv.slice(2);
let failed = 0;
for (const name of Object.keys(pkg.scripts).filter((s) => s.startsWith('bench:'))) {
  if (only.length > 0 && !only.some((o) => name.includes(o))) continue;
  process.stderr.write(`# ${name}\n`);
  const r = spawnSync('npm', ['run', '--silent', name], { stdio: 'inherit' });
  if (r.status !== 0) {
    failed++;
    process.stderr.write(`# ${name} failed with exit code ${r.status}\n`);
  }
}
process.exit(failed > 0 ? 1 : 0);
