#!/usr/bin/env node
/**
 * Summary of in-context evaluations in episodes mode (results.json of `icrl eval`), written for the
 * xland AD / DPT runs (docs/envs.md) but valid for any MDP family with an oracle reference: per
 * agent, the return per in-context episode (mean over tasks with its 95% interval), the regret
 * against the oracle agent per episode (oracle return - return, paired by task), and the rise:
 * mean return of the last three episodes minus the first three, per task, with its 95% interval.
 *
 *   node bench/xland-ad.js runs/eval-xland-ad-trivial/results.json [more results.json] [--markdown]
 *
 * One JSON line per agent and file; --markdown prints a table instead.
 */
import { readFileSync } from 'node:fs';
import { tQuantile975 } from '../dist/eval/stats.js';

const args = process.argv.slice(2);
const markdown = args.includes('--markdown');
const files = args.filter((a) => !a.startsWith('--'));
if (files.length === 0) {
  process.stderr.write('usage: node bench/xland-ad.js <results.json>... [--markdown]\n');
  process.exit(2);
}

function meanCi(xs) {
  const n = xs.length;
  const m = xs.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { mean: m, half: NaN };
  const v = xs.reduce((a, b) => a + (b - m) ** 2, 0) / (n - 1);
  return { mean: m, half: tQuantile975(n - 1) * Math.sqrt(v / n) };
}

const f2 = (x) => x.toFixed(2);
for (const file of files) {
  const res = JSON.parse(readFileSync(file, 'utf8'));
  if (!res.online || res.online.mode !== 'episodes') throw new Error(`${file}: not an evaluation in episodes mode`);
  const agents = res.online.agents;
  const oracle = agents.find((a) => a.reference && a.name === 'oracle');
  if (!oracle) throw new Error(`${file}: no oracle reference (add references: [oracle, random])`);
  const K = res.online.episodes;
  const rows = [];
  for (const a of agents) {
    const per = a.summary.perTaskReturns;
    const N = per.length;
    const returns = [];
    const regret = [];
    for (let k = 0; k < K; k++) {
      returns.push(meanCi(per.map((r) => r[k])));
      regret.push(meanCi(per.map((r, i) => oracle.summary.perTaskReturns[i][k] - r[k])));
    }
    const head = Math.min(3, Math.floor(K / 2));
    const avg = (r, from, to) => r.slice(from, to).reduce((s, x) => s + x, 0) / (to - from);
    const rise = meanCi(per.map((r) => avg(r, K - head, K) - avg(r, 0, head)));
    rows.push({ bench: 'xland-ad', file, env: res.env, agent: a.name, reference: a.reference === true, tasks: N, episodes: K, returns, regret, rise, riseEpisodes: head });
  }
  if (!markdown) {
    for (const r of rows) {
      process.stdout.write(
        `${JSON.stringify({
          bench: r.bench,
          file: r.file,
          agent: r.agent,
          tasks: r.tasks,
          return_per_episode: r.returns.map((x) => Number(x.mean.toFixed(4))),
          return_ci95_half: r.returns.map((x) => Number(x.half.toFixed(4))),
          regret_per_episode: r.regret.map((x) => Number(x.mean.toFixed(4))),
          regret_ci95_half: r.regret.map((x) => Number(x.half.toFixed(4))),
          rise_last3_minus_first3: Number(r.rise.mean.toFixed(4)),
          rise_ci95: [Number((r.rise.mean - r.rise.half).toFixed(4)), Number((r.rise.mean + r.rise.half).toFixed(4))],
        })}\n`,
      );
    }
    continue;
  }
  process.stdout.write(`\n${file} (${res.env.family} ${JSON.stringify(res.env.options)}, ${rows[0].tasks} held-out tasks, ${K} episodes)\n\n`);
  process.stdout.write(`| agent | ${Array.from({ length: K }, (_, k) => `ep ${k + 1}`).join(' | ')} | rise (last ${rows[0].riseEpisodes} - first ${rows[0].riseEpisodes}) | regret ep 1 / ep ${K} |\n`);
  process.stdout.write(`|---|${'---|'.repeat(K)}---|---|\n`);
  for (const r of rows) {
    const cells = r.returns.map((x) => `${f2(x.mean)} ± ${f2(x.half)}`);
    const regret = r.agent === 'oracle' ? '0' : `${f2(r.regret[0].mean)} / ${f2(r.regret[K - 1].mean)}`;
    process.stdout.write(`| ${r.agent} | ${cells.join(' | ')} | ${f2(r.rise.mean)} [${f2(r.rise.mean - r.rise.half)}, ${f2(r.rise.mean + r.rise.half)}] | ${regret} |\n`);
  }
}
