#!/usr/bin/env node
// Learning curves of the batched deep-RL learners: one learner per task, all tasks at once, each
// learner's greedy policy evaluated every --eval-every steps on a copy of the environment with the
// same tasks. Writes an HTML report with one curve per task (and the oracle) and a JSON-lines file
// of every evaluation; prints one JSON summary line per algorithm on stdout.
//
//   npm run rl:learn [-- --algos sac,ppo] [--family point-robot] [--tasks 8] [--steps 6000]
//                       [--eval-every 500] [--seed 0] [--out runs/rl-learn]
//                       [--sac '{"hidden":[64,64]}'] [--ppo '{"initLogStd":-2.3}']
//                       [--train-split SEED] [--eval-episodes 1]
//
// --train-split SEED: the first --tasks tasks of the family's training split (50 variations drawn
// with SEED, 45 train / 5 held out, as Meta-World ML1 and T2MIR) instead of --tasks draws from the
// task space. Families that report success (reach, push) get a success-rate curve as well.
//
// Defaults for point-robot: SAC with 64 x 64 networks, batch 64, 1,000 random steps (CleanRL's
// 256 x 256 / 5,000 also learn but take far longer here), PPO with CleanRL's continuous defaults
// except a rollout of 256 steps in 8 minibatches and an initial std of 0.1 (the box is +-0.1).
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cliArgs } from './args.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { opt, flag } = cliArgs();
if (flag('help')) {
  process.stdout.write('usage: node bench/rl-learn.js [--algos sac,ppo] [--family point-robot|darkroom] [--tasks 8] [--steps 6000] [--eval-every 500] [--seed 0] [--out runs/rl-learn] [--sac JSON] [--ppo JSON] [--train-split SEED] [--eval-episodes 1]\n');
  process.exit(0);
}
const { SacAgent, PpoAgent, learningCurves } = await import(resolve(root, 'dist/rl/index.js'));
const { Rng } = await import(resolve(root, 'dist/core/rng.js'));
const { getFamily } = await import(resolve(root, 'dist/envs/index.js'));
const { writeReport } = await import(resolve(root, 'dist/report/index.js'));
const { lineChart } = await import(resolve(root, 'dist/report/charts.js'));

const family = opt('family', 'point-robot');
const nTasks = Number(opt('tasks', '8'));
const steps = Number(opt('steps', '6000'));
const evalEvery = Number(opt('eval-every', '500'));
const seed = Number(opt('seed', '0'));
const outDir = resolve(opt('out', 'runs/rl-learn'));
const algos = opt('algos', 'sac,ppo').split(',');
const trainSplit = opt('train-split', '');
const evalEpisodes = Number(opt('eval-episodes', '1'));
for (const [name, v, min] of [['tasks', nTasks, 1], ['steps', steps, 1], ['eval-every', evalEvery, 1], ['eval-episodes', evalEpisodes, 1]]) {
  if (!Number.isInteger(v) || v < min) throw new Error(`rl-learn: --${name} must be an integer >= ${min}, got ${v}`);
}
const defaults = {
  sac: { hidden: [64, 64], batchSize: 64, learningStarts: 1000 },
  ppo: family === 'point-robot' ? { numSteps: 256, numMinibatches: 8, initLogStd: -2.3 } : {},
};
const { prepareFamily } = await import(resolve(root, 'dist/envs/index.js'));
await prepareFamily(family);
const fam = getFamily(family);
const { splitTasks } = await import(resolve(root, 'dist/tasks/index.js'));
let tasks;
if (trainSplit !== '') {
  const train = splitTasks(fam.taskSpace(), { seed: Number(trainSplit), heldOut: 5, train: 45 }).train;
  if (nTasks > train.length) throw new Error(`rl-learn: --tasks ${nTasks} exceeds the ${train.length} tasks of the training split`);
  tasks = train.slice(0, nTasks);
} else tasks = fam.taskSpace().sampleMany(new Rng(seed).split('tasks'), nTasks);
mkdirSync(outDir, { recursive: true });
const lines = [];
const sections = [];
for (const algo of algos) {
  if (algo !== 'sac' && algo !== 'ppo') throw new Error(`rl-learn: unknown algorithm "${algo}" (sac or ppo)`);
  const options = { ...defaults[algo], ...JSON.parse(opt(algo, '{}')) };
  const env = fam.make(nTasks);
  env.setTasks(tasks);
  const evalEnv = fam.make(nTasks);
  evalEnv.setTasks(tasks);
  const agent = algo === 'sac' ? new SacAgent(options) : new PpoAgent(options);
  process.stderr.write(`rl-learn: ${algo} on ${nTasks} ${family} tasks, ${steps} steps each (load ${loadavg()[0].toFixed(1)})\n`);
  const c = learningCurves(agent, env, evalEnv, steps, evalEvery, evalEpisodes, new Rng(seed).split(algo));
  for (let k = 0; k < c.steps.length; k++)
    for (let i = 0; i < nTasks; i++) lines.push({ algo, family, step: c.steps[k], task: i, params: tasks[i].params, return: c.returns[k][i], oracle: c.oracle[i], ...(c.success ? { success: c.success[k][i] } : {}) });
  const last = c.returns[c.returns.length - 1];
  const succ = c.success ? c.success.map((row) => mean(row)) : null;
  // first evaluation at which the mean success rate over the tasks reached 0.9
  const reached = succ ? succ.findIndex((v) => v >= 0.9) : -1;
  const hasOracle = c.oracle.every((v) => v !== null);
  const within = hasOracle ? last.filter((r, i) => Math.abs(r - c.oracle[i]) <= 0.1 * Math.abs(c.oracle[i])).length : null;
  const summary = {
    bench: 'rl_learn',
    algo,
    family,
    tasks: nTasks,
    steps_per_task: steps,
    options,
    first_mean_return: mean(c.returns[0]),
    final_mean_return: mean(last),
    oracle_mean_return: hasOracle ? mean(c.oracle) : null,
    tasks_within_10pct_of_oracle: within,
    ...(succ
      ? { eval_episodes: evalEpisodes, first_success_rate: succ[0], final_success_rate: succ[succ.length - 1], max_success_rate: Math.max(...succ), steps_to_success_0_9: reached >= 0 ? c.steps[reached] : null }
      : {}),
    train_seconds: Number(c.trainSeconds.toFixed(1)),
    env_steps_per_s: Number(((steps * nTasks) / c.trainSeconds).toFixed(0)),
    load: loadavg()[0],
  };
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  const series = tasks.map((t, i) => ({ name: `task ${i} ${JSON.stringify(t.params, (_k, v) => (typeof v === 'number' ? Number(v.toFixed(2)) : v))}`, x: c.steps, y: c.returns.map((r) => r[i]) }));
  if (hasOracle) series.push({ name: 'oracle (mean)', x: c.steps, y: c.steps.map(() => mean(c.oracle)) });
  sections.push({
    title: `${algo.toUpperCase()} on ${family}`,
    text: [`${nTasks} tasks, one learner each, trained at once for ${steps} steps per task; greedy return every ${evalEvery} steps. Options: ${JSON.stringify(options)}.`],
    tables: [
      {
        columns: ['task', 'parameters', 'first return', 'final return', 'oracle', ...(c.success ? ['final success rate'] : [])],
        rows: tasks.map((t, i) => [
          i,
          JSON.stringify(t.params),
          round(c.returns[0][i]),
          round(last[i]),
          c.oracle[i] === null ? null : round(c.oracle[i]),
          ...(c.success ? [round(c.success[c.success.length - 1][i])] : []),
        ]),
      },
    ],
    charts: [
      lineChart(`${algo.toUpperCase()}: greedy return per task`, series, { xName: 'environment steps per task', yName: 'return' }),
      ...(succ
        ? [
            lineChart(`${algo.toUpperCase()}: greedy success rate (mean over the ${nTasks} tasks, ${evalEpisodes} episode(s) each)`, [{ name: 'success rate', x: c.steps, y: succ }], {
              xName: 'environment steps per task',
              yName: 'success rate',
            }),
          ]
        : []),
    ],
  });
}
writeFileSync(resolve(outDir, 'curves.jsonl'), lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
writeReport(resolve(outDir, 'report.html'), null, { title: `Deep RL learning curves on ${family}`, sections });
process.stderr.write(`rl-learn: wrote ${resolve(outDir, 'report.html')} and curves.jsonl\n`);

function mean(a) {
  return Number((a.reduce((s, v) => s + v, 0) / a.length).toFixed(3));
}
function round(v) {
  return Number(v.toFixed(2));
}
