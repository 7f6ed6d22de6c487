#!/usr/bin/env node
/**
 * The curriculum over a growing library (`icrl tasks curriculum`, docs/llm.md) against uniform
 * choice over the library: reads the --stats files of runs with `--teacher learning-progress` and
 * `--teacher uniform` (same seeds, rounds, episodes and proposals) and prints, per teacher, the
 * held-out greedy return after the last round and its mean over rounds, and the training return,
 * each as the mean over seeds with a 95% t-interval over seeds; then the claim "learning-progress
 * choice beats uniform choice" on the held-out return after the last round, its paired difference
 * (seeds and held-out tasks, two-level bootstrap) and the verdict from that interval, as
 * `icrl reproduce` computes them (src/experiments/reproduce.ts).
 *
 *   node bench/library-curriculum.js runs/libcur/stats-*.json [--markdown]
 */
import { readFileSync } from 'node:fs';
import { meanCi } from '../dist/eval/stats.js';
import { verdictOf } from '../dist/experiments/reproduce.js';

const args = process.argv.slice(2);
const markdown = args.includes('--markdown');
const files = args.filter((a) => !a.startsWith('--'));
if (files.length === 0) {
  process.stderr.write('usage: node bench/library-curriculum.js <stats.json>... [--markdown]\n');
  process.exit(2);
}
const runs = new Map();
for (const file of files) {
  const s = JSON.parse(readFileSync(file, 'utf8'));
  if (!s.teacher || !Array.isArray(s.rounds) || s.rounds.length === 0) throw new Error(`${file}: not a --stats file of icrl tasks curriculum with --teacher`);
  if (!(s.heldOut > 0)) throw new Error(`${file}: no held-out score (run with --init-split and --eval-episodes >= 1)`);
  const list = runs.get(s.teacher) ?? [];
  if (list.some((r) => r.seed === s.seed)) throw new Error(`${file}: a second run of teacher ${s.teacher} with seed ${s.seed}`);
  list.push({ file, ...s });
  runs.set(s.teacher, list);
}
for (const need of ['learning-progress', 'uniform']) if (!runs.has(need)) throw new Error(`no run with --teacher ${need}`);
const seedsOf = (t) => runs.get(t).map((r) => r.seed).sort((a, b) => a - b);
if (JSON.stringify(seedsOf('learning-progress')) !== JSON.stringify(seedsOf('uniform'))) throw new Error(`the teachers ran different seeds: ${seedsOf('learning-progress')} vs ${seedsOf('uniform')}`);
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const fmt = (xs) => {
  const c = meanCi(xs);
  return `${c.mean.toFixed(3)} [${Number.isFinite(c.lo) ? c.lo.toFixed(3) : '-'}, ${Number.isFinite(c.hi) ? c.hi.toFixed(3) : '-'}]`;
};
const scores = new Map();
const rows = [];
for (const [teacher, list] of runs) {
  list.sort((a, b) => a.seed - b.seed);
  const last = list.map((r) => r.rounds[r.rounds.length - 1]);
  scores.set(`${teacher}:meanReturn`, last.map((r) => r.heldOutReturns));
  const row = {
    teacher,
    seeds: list.length,
    rounds: list[0].rounds.length,
    heldOutLast: fmt(last.map((r) => r.heldOutReturn)),
    heldOutOverRounds: fmt(list.map((r) => mean(r.rounds.map((x) => x.heldOutReturn)))),
    trainReturn: fmt(list.map((r) => mean(r.rounds.map((x) => x.meanReturn)))),
    libraryAfter: fmt(last.map((r) => r.libraryAfter)),
  };
  rows.push(row);
}
const claim = { text: 'the learning-progress teacher over the library gives a higher held-out greedy return after the last round than uniform choice over the library', left: { agent: 'learning-progress', metric: 'meanReturn' }, right: { agent: 'uniform', metric: 'meanReturn' } };
const v = verdictOf(claim, scores);
if (markdown) {
  process.stdout.write('| teacher | seeds | held-out return after the last round | held-out return, mean over rounds | training return, mean over rounds | library after |\n|---|---|---|---|---|---|\n');
  for (const r of rows) process.stdout.write(`| ${r.teacher} | ${r.seeds} | ${r.heldOutLast} | ${r.heldOutOverRounds} | ${r.trainReturn} | ${r.libraryAfter} |\n`);
  process.stdout.write(`\n${v.outcome.toUpperCase()}: ${v.claim} (difference ${v.difference.estimate.toFixed(3)}, 95% interval [${v.difference.lo.toFixed(3)}, ${v.difference.hi.toFixed(3)}])\n`);
} else {
  for (const r of rows) process.stdout.write(`${JSON.stringify(r)}\n`);
  process.stdout.write(`${JSON.stringify({ claim: v.claim, outcome: v.outcome, difference: v.difference })}\n`);
}
