#!/usr/bin/env node
// Velocity tracking of the final policies of a cheetah-vel collection (`icrl collect` with
// algorithm kind sac or ppo, e.g. configs/collect-cheetah-vel-sac.yaml): each task's policy file
// (policy-NNNNN.safetensors) is played greedily for --episodes episodes on its own target velocity
// and scored by the mean absolute velocity error over the second half of each episode; a task passes
// within --tolerance m/s. Writes report.html (per-task learning curves from the greedy evaluations
// stored with the histories, eval_steps / eval_returns, and the table) and tracking.jsonl under
// --out; prints one JSON line per task and a summary line on stdout.
//
//   npm run rl:velocity -- --collection DIR [--episodes 5] [--tolerance 0.3] [--seed 0] [--out runs/rl-velocity]
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cliArgs } from './args.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { opt, flag } = cliArgs();
if (flag('help') || !opt('collection')) {
  process.stdout.write('usage: node bench/rl-velocity.js --collection DIR [--episodes 5] [--tolerance 0.3] [--seed 0] [--out runs/rl-velocity]\n');
  process.exit(flag('help') ? 0 : 2);
}
const { loadPolicy, velocityTracking } = await import(resolve(root, 'dist/rl/index.js'));
const { openHistoryCollection, policyFile, readManifest } = await import(resolve(root, 'dist/data/index.js'));
const { getFamily, prepareFamily } = await import(resolve(root, 'dist/envs/index.js'));
const { Rng } = await import(resolve(root, 'dist/core/rng.js'));
const { writeReport } = await import(resolve(root, 'dist/report/index.js'));
const { lineChart } = await import(resolve(root, 'dist/report/charts.js'));

const dir = resolve(opt('collection'));
const episodes = Number(opt('episodes', '5'));
const tolerance = Number(opt('tolerance', '0.3'));
const seed = Number(opt('seed', '0'));
const outDir = resolve(opt('out', 'runs/rl-velocity'));
const manifest = readManifest(dir);
if (!manifest) throw new Error(`${dir}: no manifest.json (not a collection folder)`);
const c = manifest.config;
if (c.algorithm?.kind !== 'sac' && c.algorithm?.kind !== 'ppo') throw new Error(`${dir}: a collection of ${JSON.stringify(c.algorithm?.kind ?? c.kind)}, not of a deep learner (sac, ppo)`);
await prepareFamily(c.family);
const fam = getFamily(c.family);
const tasksDoc = JSON.parse(readFileSync(join(dir, 'tasks.json'), 'utf8'));
const curves = [];
for (const { reader, groups } of await openHistoryCollection(dir)) {
  for (const g of groups) {
    const info = reader.info(g);
    const ev = reader.readEvaluation(g);
    curves[info.taskIndex ?? Number(g)] = ev ? { steps: Array.from(ev.steps), returns: Array.from(ev.returns.subarray(0, ev.steps.length)) } : null;
  }
  reader.close();
}
mkdirSync(outDir, { recursive: true });
const rows = [];
const lines = [];
tasksDoc.tasks.forEach((params, i) => {
  const task = { family: c.family, params };
  const policy = loadPolicy(policyFile(dir, i));
  const env = fam.make(1, c.envOptions, new Rng(seed).split(`track-${i}`));
  env.setTasks([task]);
  const r = velocityTracking(policy, env, episodes, new Rng(seed).split(`reset-${i}`).nextU32());
  const line = {
    bench: 'rl_velocity',
    task: i,
    target: Number(r.goal[0].toFixed(4)),
    mean_abs_error: Number(r.meanAbsError[0].toFixed(4)),
    mean_velocity: Number(r.meanVelocity[0].toFixed(4)),
    mean_return: Number(r.meanReturn[0].toFixed(2)),
    within: r.meanAbsError[0] <= tolerance,
    final_eval_return: curves[i] ? Number(curves[i].returns.at(-1).toFixed(2)) : null,
  };
  lines.push(line);
  process.stdout.write(`${JSON.stringify(line)}\n`);
  rows.push([i, line.target, line.mean_velocity, line.mean_abs_error, line.within ? 'yes' : 'no', line.mean_return, line.final_eval_return]);
});
const within = lines.filter((l) => l.within).length;
const summary = {
  bench: 'rl_velocity_summary',
  family: c.family,
  tasks: lines.length,
  steps_per_task: c.steps,
  algorithm: c.algorithm,
  episodes,
  tolerance,
  within,
  median_abs_error: Number(median(lines.map((l) => l.mean_abs_error)).toFixed(4)),
  load: loadavg()[0],
};
process.stdout.write(`${JSON.stringify(summary)}\n`);
writeFileSync(join(outDir, 'tracking.jsonl'), [...lines, summary].map((l) => JSON.stringify(l)).join('\n') + '\n');
const series = curves.map((cv, i) => (cv ? { name: `task ${i} (target ${lines[i].target.toFixed(2)} m/s)`, x: cv.steps, y: cv.returns } : null)).filter(Boolean);
writeReport(join(outDir, 'report.html'), null, {
  title: `${c.algorithm.kind.toUpperCase()} on ${c.family}: learning curves and velocity tracking`,
  sections: [
    {
      title: 'Final policies: velocity tracking',
      text: [
        `${lines.length} tasks, one ${c.algorithm.kind.toUpperCase()} learner each, ${c.steps} environment steps per task; options ${JSON.stringify(c.algorithm)}.`,
        `Each final policy (greedy: tanh of the mean) played ${episodes} episodes on its own target; the error is the mean |v - target| over the second half of every episode. Within ${tolerance} m/s: ${within} of ${lines.length}.`,
      ],
      tables: [{ columns: ['task', 'target (m/s)', 'mean velocity (m/s)', 'mean abs error (m/s)', `within ${tolerance}`, 'mean return', 'last evaluation return'], rows }],
    },
    {
      title: 'Learning curves',
      text: ['Greedy return of each learner over training (one episode per evaluation, stored with the histories as eval_steps / eval_returns). The best possible return is 0 (exact tracking, no control cost).'],
      charts: [lineChart(`${c.algorithm.kind.toUpperCase()}: greedy return per task`, series, { xName: 'environment steps per task', yName: 'return' })],
    },
  ],
});
process.stderr.write(`rl-velocity: wrote ${join(outDir, 'report.html')} and tracking.jsonl\n`);

function median(a) {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}
