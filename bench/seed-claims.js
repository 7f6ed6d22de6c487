#!/usr/bin/env node
// Aggregates the training seeds of evaluations whose agents are named `<label>-seed<N>` (one or
// several results.json files of the same tasks and evaluation seed holding every seed's models, e.g.
// checkpoints taken before the end of a reproduction's schedule, evaluated one process per agent; an
// agent found in several files is taken from the first) the way
// `icrl reproduce` does: per-task scores as [seed][task] matrices, the table of the entry (IQM over
// seeds with its bootstrap interval, each seed's mean, mean over tasks with its t-interval) and the
// verdict of each claim of the registered reproduction entry, computed from the two-level bootstrap
// interval of the paired difference. Agents without a seed suffix (R-max, references) are scored
// once and repeated for every seed. Prints one JSON line per table row and per claim.
// Usage: node bench/seed-claims.js <reproduction entry> <results.json>...
import { existsSync } from 'node:fs';

const root = new URL('..', import.meta.url);
if (!existsSync(new URL('dist/experiments/index.js', root))) {
  process.stderr.write('seed-claims: the project is not built; run `npm run build` first\n');
  process.exit(1);
}
const { readResults } = await import(new URL('dist/eval/results.js', root).href);
const { reproductions, scoresOf, verdictOf, tableRows } = await import(new URL('dist/experiments/index.js', root).href);

const [entryName, ...files] = process.argv.slice(2);
if (!entryName || files.length === 0) {
  process.stderr.write('usage: node bench/seed-claims.js <reproduction entry> <results.json>...\n');
  process.exit(2);
}
const entry = reproductions.get(entryName);
const plan = entry.scales.small;
if (!plan) throw new Error(`seed-claims: entry ${entryName} has no small scale`);
const scores = new Map();
for (const f of files) for (const [k, v] of scoresOf(readResults(f))) if (!scores.has(k)) scores.set(k, v);
const bySeed = new Map(); // key label:metric -> Map(seed -> task scores)
const unseeded = new Map();
for (const [key, v] of scores) {
  const [name, metric] = [key.slice(0, key.lastIndexOf(':')), key.slice(key.lastIndexOf(':') + 1)];
  const m = /^(.*)-seed(\d+)$/.exec(name);
  if (!m) unseeded.set(key, v);
  else {
    const k = `${m[1]}:${metric}`;
    if (!bySeed.has(k)) bySeed.set(k, new Map());
    bySeed.get(k).set(Number(m[2]), v);
  }
}
const seeds = [...new Set([...bySeed.values()].flatMap((m) => [...m.keys()]))].sort((a, b) => a - b);
const matrices = new Map();
for (const [k, m] of bySeed) {
  if (seeds.some((s) => !m.has(s))) throw new Error(`seed-claims: ${k} lacks some of the seeds ${seeds.join(', ')}`);
  matrices.set(k, seeds.map((s) => m.get(s)));
}
for (const [k, v] of unseeded) matrices.set(k, seeds.map(() => v));
for (const row of tableRows(plan.table, matrices)) process.stdout.write(JSON.stringify({ kind: 'row', seeds, ...row }) + '\n');
for (const claim of entry.claims) process.stdout.write(JSON.stringify({ kind: 'claim', seeds, ...verdictOf(claim, matrices) }) + '\n');
