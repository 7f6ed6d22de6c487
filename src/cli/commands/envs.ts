/**
 * `icrl envs list`: the environment families with their options and task-space parameters.
 * `icrl envs bench` (= `npm run bench:envs`): steps per second per family, single instance and
 * batched, random actions from the project's RNG, automatic reset; one JSON line per figure.
 * `icrl envs show FAMILY`: one episode of a MuJoCo family as an animated side or top view (HTML).
 */
import { intFlag, numberFlag } from '../options.js';
import type { Command } from 'commander';
import { IcrlError } from '../../core/errors.js';
import { writeFileAtomic } from '../../core/atomic.js';
import { Rng } from '../../core/rng.js';
import type { Task } from '../../tasks/taskSpace.js';
import { parseJsonFlag } from './tasks.js';
import { expertSuccess, familyOptions, getFamily, listFamilies, needsMujoco, prepareFamily, recordEpisode, recordingHtml, type MujocoEnv, type Policy } from '../../envs/index.js';
import { BENCH_CASES, NATIVE_BENCH_FAMILIES, benchActionsOnly, benchCase, median, type ActionMode, type BenchOptions } from '../../envs/bench.js';
import { NATIVE_INSTALL_HINT, benchNative, nativeMujocoVersion, warmUpMujoco } from '../../envs/mujoco/nativeBench.js';

function intList(flag: string) {
  return (v: string): number[] =>
    v.split(',').map((x) => {
      const n = Number(x.trim());
      if (!Number.isInteger(n) || n < 1) throw new IcrlError(`${flag}: "${x}" is not a positive integer`);
      return n;
    });
}


export function register(program: Command): void {
  const envs = program.command('envs').description('Environment families: list them, benchmark their stepping speed, watch a MuJoCo episode');

  envs
    .command('show <family>')
    .description('Record one episode of a MuJoCo family and write it as an animated side (or top) view in a self-contained HTML page')
    .option('--task <json>', 'task parameters as JSON (default: drawn from the task space with --seed)')
    .option('--options <json>', 'family options as JSON', '{}')
    .option('--policy <p>', 'zero, random (uniform in [-1, 1]) or expert (reach and push)', 'random')
    .option('--steps <n>', 'steps to record at most (the episode may end first)', intFlag('--steps', 1), 200)
    .option('--view <v>', 'side (x right, z up) or top (x right, y up)', 'side')
    .option('--fps <n>', 'frames per second of the animation', intFlag('--fps', 1, 1000), 20)
    .option('--seed <n>', 'seed of the task draw, the reset noise and random actions', intFlag('--seed', 0), 0)
    .option('--out <file>', 'HTML file to write', 'episode.html')
    .action(async (family: string, o: { task?: string; options: string; policy: string; steps: number; view: string; fps: number; seed: number; out: string }) => {
      if (!needsMujoco(family)) throw new IcrlError(`envs show: ${family} is not a MuJoCo family (the viewer draws MuJoCo geoms); MuJoCo families: ${listFamilies().filter((f) => needsMujoco(f.name)).map((f) => f.name).join(', ')}`);
      if (!['zero', 'random', 'expert'].includes(o.policy)) throw new IcrlError(`--policy: "${o.policy}" is not one of zero, random, expert`);
      if (o.view !== 'side' && o.view !== 'top') throw new IcrlError(`--view: "${o.view}" is not one of side, top`);
      const options = parseJsonFlag(o.options, '--options');
      await prepareFamily(family);
      const env = getFamily(family).make(1, options, new Rng(o.seed)) as MujocoEnv;
      if (o.task !== undefined) env.setTasks([{ family, params: parseJsonFlag(o.task, '--task') as Task['params'] }]);
      const rec = recordEpisode(env, o.policy as Policy, o.steps, o.seed);
      writeFileAtomic(o.out, recordingHtml(rec, o.view, o.fps));
      process.stdout.write(`${JSON.stringify({ out: o.out, family, task: rec.task, policy: rec.policy, frames: rec.frames.length, return: rec.ret, ended: rec.ended })}\n`);
    });

  envs
    .command('list')
    .description('List the environment families with their options (defaults) and task-space parameters')
    .option('--json', 'print one JSON document instead of text')
    .action((o: { json?: boolean }) => {
      const rows = listFamilies().map((f) => ({
        name: f.name,
        description: f.description,
        options: familyOptions(f.name),
        taskParams: f.taskSpace().describeParams(),
        finite: f.taskSpace().finite,
      }));
      if (o.json) {
        process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
        return;
      }
      for (const r of rows) {
        process.stdout.write(`${r.name}\n  ${r.description}\n  options: ${JSON.stringify(r.options)}\n  task parameters${r.finite ? ' (finite space)' : ''}:\n`);
        for (const p of r.taskParams) process.stdout.write(`    ${p.name}: ${p.space}${p.description ? ` - ${p.description}` : ''}\n`);
      }
    });

  envs
    .command('bench')
    .description('Steps per second per family, single instance and batched, random actions from our RNG, automatic reset (one JSON line per figure)')
    .option('--instances <list>', 'comma-separated instance counts', intList('--instances'), [1, 4096])
    .option('--steps <n>', 'steps per timed run', intFlag('--steps', 1), 1000)
    .option('--families <list>', 'comma-separated families (default: all, with their benchmarked variants)')
    .option('--actions <mode>', 'rng-in-loop (actions drawn inside the timed loop), pregenerated (drawn before timing), or both', 'both')
    .option('--runs <n>', 'timed runs per figure (the median is reported)', intFlag('--runs', 1), 3)
    .option('--min-seconds <s>', 'keep adding runs until this much time is timed per figure', numberFlag('--min-seconds', 0), 0.2)
    .option('--seed <n>', 'seed of tasks and actions', intFlag('--seed', 0), 0)
    .option('--native-steps <n>', 'MuJoCo steps per run of the native / WebAssembly comparison', intFlag('--native-steps', 1), 20000)
    .option('--native-runs <n>', 'alternating runs of the native / WebAssembly comparison (medians reported)', intFlag('--native-runs', 1), 3)
    .option('--no-native', 'skip the comparison with native MuJoCo')
    .addHelpText(
      'after',
      `
Protocol (docs/protocols.md, "Benchmarks: how figures are taken"): random actions, automatic
reset, 1,000 steps per run, 1 and 4,096 instances. Each line: {"bench":"envs","family":...,
"variant":...,"instances":...,"actions":...,"steps_per_s":<median>,"min_steps_per_s":...,
"max_steps_per_s":...,"cpu_steps_per_s":...}.
steps_per_s is per wall-clock second, cpu_steps_per_s per second of this process's CPU time (the
same on an idle machine; higher when other processes share the core). "actions":"rng-in-loop"
includes drawing the random actions with the RNG before every step; "pregenerated" cycles 16 arrays
drawn before timing (the environment's own rate). Lines for the RNG alone show its share.

MuJoCo families (cheetah-vel, cheetah-dir, ant-dir) run at most 16 instances and 200 steps per
timed run (the line gives instances_requested when it ran fewer). For cheetah-vel and ant-dir one
more line, "bench":"envs-mujoco-native", steps the same model file with native MuJoCo
(\`mujoco-testspeed FILE STEPS 1 0.01\`, Debian package libmujoco-samples:
\`sudo apt-get install libmujoco-samples\`), with the raw WebAssembly loop, with the environment on
one thread and with two worker threads, alternating --native-runs times, and prints the medians in
MuJoCo steps per second with the ratios to native. Without mujoco-testspeed the line says how to
install it and has no ratios. With reach or push, a line "bench":"envs-expert" gives the scripted
expert's success rate over the 50 goal variations (one 100-step episode each).`,
    )
    .action(async (o: { instances: number[]; steps: number; families?: string; actions: string; runs: number; minSeconds: number; seed: number; nativeSteps: number; nativeRuns: number; native: boolean }) => {
      const modes: ActionMode[] =
        o.actions === 'both' ? ['rng-in-loop', 'pregenerated'] : o.actions === 'rng-in-loop' || o.actions === 'pregenerated' ? [o.actions] : [];
      if (modes.length === 0) throw new IcrlError(`--actions: "${o.actions}" is not one of rng-in-loop, pregenerated, both`);
      if (!(o.minSeconds >= 0)) throw new IcrlError(`--min-seconds: "${o.minSeconds}" is not a non-negative number`);
      const wanted = o.families ? o.families.split(',').map((s) => s.trim()) : undefined;
      if (wanted) for (const w of wanted) getFamily(w);
      const cases = BENCH_CASES.filter((c) => !wanted || wanted.includes(c.family));
      for (const c of cases) await prepareFamily(c.family);
      // MuJoCo's optimized WebAssembly code arrives after a few thousand steps: warm up once before timing
      for (const f of new Set(cases.map((c) => c.family))) if (needsMujoco(f)) warmUpMujoco(getFamily(f));
      for (const instances of o.instances) {
        const opts: BenchOptions = { instances, steps: o.steps, actions: 'rng-in-loop', runs: o.runs, minSeconds: o.minSeconds, seed: o.seed };
        if (modes.includes('rng-in-loop')) {
          const counts = new Set(cases.map((c) => getFamily(c.family).make(1, c.options).numActions).filter((n) => n > 0));
          for (const n of counts) process.stdout.write(`${JSON.stringify(benchActionsOnly(n, opts))}\n`);
        }
        for (const c of cases) {
          for (const actions of modes) process.stdout.write(`${JSON.stringify(benchCase(c, { ...opts, actions }))}\n`);
        }
      }
      // the scripted experts of reach and push on their 50 goal variations
      for (const f of ['reach', 'push'] as const) {
        if (!cases.some((c) => c.family === f)) continue;
        const r = expertSuccess(f);
        process.stdout.write(`${JSON.stringify({ bench: 'envs-expert', family: f, goals: r.goals, successes: r.successes, success_rate: r.success_rate, median_first_success_step: r.successes > 0 ? median(r.first_success_step.filter((x) => x > 0)) : null })}\n`);
      }
      if (o.native) {
        const natives = NATIVE_BENCH_FAMILIES.filter((f) => cases.some((c) => c.family === f.family));
        if (natives.length > 0 && !nativeMujocoVersion()) process.stderr.write(`icrl envs bench: ${NATIVE_INSTALL_HINT}\n`);
        for (const f of natives) {
          const r = await benchNative(getFamily(f.family), f.model, { steps: o.nativeSteps, runs: o.nativeRuns, batch: 8, seed: o.seed });
          process.stdout.write(`${JSON.stringify(r)}\n`);
        }
      }
    });
}
