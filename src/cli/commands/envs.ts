/**
 * `icrl envs list`: the environment families with their options and task-space parameters.
 * `icrl envs bench` (= `npm run bench:envs`): steps per second per family, single instance and
 * batched, random actions from the project's RNG, automatic reset; one JSON line per figure.
 * `icrl envs show FAMILY`: an xland task as an ASCII picture, or one episode of a MuJoCo family as an
 * animated side or top view (HTML).
 */
import { intFlag, numberFlag } from '../options.js';
import type { Command } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import { IcrlError } from '../../core/errors.js';
import { writeFileAtomic } from '../../core/atomic.js';
import { Rng } from '../../core/rng.js';
import type { Task } from '../../tasks/taskSpace.js';
import { parseJsonFlag } from './tasks.js';
import { BatchedXLand, PRESET_NAMES, benchmarkToJson, describeRuleset, generateBenchmark, loadBenchmark, makeLayout, rulesetId, solvableCheck, xlandEpisodeSvgs, xlandSvg, type LayoutName, type PresetName } from '../../envs/xland/index.js';
import { renderDocument } from '../../report/index.js';
import { expertSuccess, familyOptions, getFamily, listFamilies, needsMujoco, prepareFamily, recordEpisode, recordingHtml, type MujocoEnv, type Policy } from '../../envs/index.js';
import { BENCH_CASES, NATIVE_BENCH_FAMILIES, benchActionsOnly, benchCase, benchXLandSolver, median, type ActionMode, type BenchOptions } from '../../envs/bench.js';
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
  const envs = program.command('envs').description('Environment families: list them, benchmark their stepping speed, show a task or an episode');

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
    .option('--solver-rulesets <n>', 'xland: rulesets per preset timed with the exact solver', intFlag('--solver-rulesets', 1), 50)
    .option('--solver-states <list>', 'xland: comma-separated bounds on the solver\'s distinct states (solverMaxStates), one line per preset and bound', intList('--solver-states'), [300_000])
    .option('--solver-presets <list>', `xland: comma-separated presets timed with the solver (default all: ${PRESET_NAMES.join(', ')})`)
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
With xland included, one {"bench":"xland-solver",...} line per preset gives the exact solver's time
per ruleset (median, 90th percentile, largest, in ms) and how many were solved, unsolvable within
the horizon, or over the state bound ("state_bound"; --solver-states 300000,3000000 gives one line
per preset and bound; --solver-presets medium,high only those).

MuJoCo families (cheetah-vel, cheetah-dir, ant-dir, walker-param, reach, push) run at most 16
instances and 200 steps per timed run (the line gives instances_requested when it ran fewer). For
cheetah-vel and ant-dir one more line, "bench":"envs-mujoco-native", steps the same model file with
native MuJoCo (\`mujoco-testspeed FILE STEPS 1 0.01\`, Debian package libmujoco-samples:
\`sudo apt-get install libmujoco-samples\`), with the raw WebAssembly loop (contacts and constraints
per step counted on both sides), with the environment on one thread and with the environment on two
threads (\`threads: 2\`, 8 instances per thread), alternating --native-runs times, and prints the
medians (and fastest runs, and rates per CPU-second) in MuJoCo steps per second with the ratios to
native, and the load average at the start and the end. Without mujoco-testspeed the line says how
to install it and has no ratios. With reach or push, a line "bench":"envs-expert" gives the scripted
expert's success rate over the 50 goal variations (one 100-step episode each).`,
    )
    .action(async (o: { instances: number[]; steps: number; families?: string; actions: string; runs: number; minSeconds: number; seed: number; solverRulesets: number; solverStates: number[]; solverPresets?: string; nativeSteps: number; nativeRuns: number; native: boolean }) => {
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
      if (!wanted || wanted.includes('xland')) {
        const presets = o.solverPresets ? o.solverPresets.split(',').map((p) => p.trim()) : [...PRESET_NAMES];
        for (const p of presets) if (!(PRESET_NAMES as readonly string[]).includes(p)) throw new IcrlError(`--solver-presets: "${p}" is not one of ${PRESET_NAMES.join(', ')}`);
        for (const bound of o.solverStates) {
          if (bound < 100) throw new IcrlError(`--solver-states: ${bound} is below the smallest bound, 100`);
          for (const r of benchXLandSolver(o.solverRulesets, o.seed, presets, bound)) process.stdout.write(`${JSON.stringify(r)}\n`);
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

  envs
    .command('xland-benchmark')
    .description('Generate an xland benchmark file: unique rulesets of a preset, deterministic from the seed, split train / held-out')
    .requiredOption('--out <file>', 'benchmark JSON file to write (its "tasks" are the training rulesets, usable as tasks.file in icrl collect)')
    .option('--preset <name>', `one of ${PRESET_NAMES.join(', ')}`, 'trivial')
    .option('--count <n>', 'rulesets', intFlag('--count', 2), 1000)
    .option('--held-out <x>', 'held-out rulesets: a count, or a fraction below 1', numberFlag('--held-out', 0), 0.2)
    .option('--seed <n>', 'seed', intFlag('--seed', 0), 0)
    .option('--layout <name>', 'layout the rulesets are checked against: single, two-rooms, four-rooms', 'single')
    .option('--size <n>', 'grid side (default 9; 13 for four rooms)', intFlag('--size', 5, 64))
    .option('--validate <states>', 'solve each ruleset (from a start of its own) with the exact solver within this many states: unsolvable ones are drawn again, the optimal steps go into its meta', intFlag('--validate', 100))
    .option('--reject-over-bound', 'with --validate: draw again the rulesets the solver could not finish within the bound')
    .action((o: { out: string; preset: string; count: number; heldOut: number; seed: number; layout: string; size?: number; validate?: number; rejectOverBound?: boolean }) => {
      if (!(PRESET_NAMES as readonly string[]).includes(o.preset)) throw new IcrlError(`--preset: "${o.preset}" is not one of ${PRESET_NAMES.join(', ')}`);
      const layout = makeLayout(o.layout as LayoutName, o.size ?? (o.layout === 'four-rooms' ? 13 : 9));
      const t0 = Date.now();
      const accept = o.validate ? solvableCheck({ layout: o.layout, size: layout.size }, o.validate, o.rejectOverBound === true) : undefined;
      const b = generateBenchmark({ preset: o.preset as PresetName, count: o.count, seed: o.seed, heldOut: o.heldOut, layout, accept });
      writeFileAtomic(o.out, benchmarkToJson(b));
      const rules = b.rulesets.reduce((a, r) => a + r.rules.length, 0) / b.rulesets.length;
      process.stdout.write(`${JSON.stringify({ file: o.out, name: b.name, preset: b.preset, count: b.rulesets.length, train: b.rulesets.length - b.heldOut.length, heldOut: b.heldOut.length, meanRules: Number(rules.toFixed(3)), rejected: b.rejected, ...(o.validate ? { solved: b.rulesets.filter((r) => r.meta?.solver === 'solved').length, overBound: b.rulesets.filter((r) => r.meta?.solver === 'budget-exceeded').length } : {}), seconds: (Date.now() - t0) / 1000 })}\n`);
    });

  envs
    .command('show')
    .argument('<family>', 'family to show: xland (an ASCII picture) or a MuJoCo family (an animated episode in an HTML page)')
    .description('xland: print an ASCII picture of a task, its ruleset and the exact solver\'s optimum (--play follows the solver). MuJoCo families: record one episode and write it as an animated side (or top) view in a self-contained HTML page')
    .option('--task <json>', 'the task as JSON (xland: a ruleset, or { ruleset }; a file name is read. MuJoCo: its parameters; default: drawn with --seed)')
    .option('--benchmark <file>', 'take the task from a benchmark or tasks file')
    .option('--index <n>', 'index of the task in that file (training tasks first, then held-out)', intFlag('--index', 0), 0)
    .option('--preset <name>', 'otherwise draw a ruleset of this preset', 'trivial')
    .option('--seed <n>', 'seed of the drawn ruleset and of the placement', intFlag('--seed', 0), 0)
    .option('--options <json>', 'family options as JSON, e.g. {"layout":"four-rooms"}', '{}')
    .option('--play', 'xland: play the solver\'s optimal actions and print every step')
    .option('--policy <p>', 'MuJoCo: zero, random (uniform in [-1, 1]) or expert (reach and push)', 'random')
    .option('--steps <n>', 'MuJoCo: steps to record at most (the episode may end first)', intFlag('--steps', 1), 200)
    .option('--view <v>', 'MuJoCo: side (x right, z up) or top (x right, y up)', 'side')
    .option('--fps <n>', 'MuJoCo: frames per second of the animation', intFlag('--fps', 1, 1000), 20)
    .option('--out <file>', 'HTML file to write (MuJoCo: the animated episode, default episode.html; xland: a coloured picture of the start, and with --play every state of the solver\'s episode)')
    .action(async (family: string, o: { task?: string; benchmark?: string; index: number; preset: string; seed: number; options: string; play?: boolean; policy: string; steps: number; view: string; fps: number; out?: string }) => {
      const viewer = getFamily(family).viewer;
      if (viewer === undefined) {
        throw new IcrlError(`envs show: ${family} cannot be shown; these can: ${listFamilies().filter((f) => f.viewer !== undefined).map((f) => `${f.name} (${f.viewer === 'episode' ? 'an animated episode' : 'an ASCII picture'})`).join(', ')}`);
      }
      if (viewer === 'episode') {
        await showMujocoEpisode(family, { ...o, out: o.out ?? 'episode.html' });
        return;
      }
      let options: Record<string, unknown>;
      try {
        options = JSON.parse(o.options) as Record<string, unknown>;
      } catch (e) {
        throw new IcrlError(`--options: not JSON: ${(e as Error).message}`);
      }
      const env = new BatchedXLand(1, { preset: o.preset, ...options }, new Rng(o.seed));
      if (o.task) {
        const text = existsSync(o.task) ? readFileSync(o.task, 'utf8') : o.task;
        let v: Record<string, unknown>;
        try {
          v = JSON.parse(text) as Record<string, unknown>;
        } catch (e) {
          throw new IcrlError(`--task: not JSON: ${(e as Error).message}`);
        }
        const params = (v.params ?? v) as Record<string, unknown>;
        env.setTasks([{ family: 'xland', params: (params.ruleset ? params : { ruleset: params }) as never }]);
      } else if (o.benchmark) {
        const b = loadBenchmark(readFileSync(o.benchmark, 'utf8'), o.benchmark, options);
        const all = [...b.train, ...b.heldOut];
        if (!(o.index >= 0 && o.index < all.length)) throw new IcrlError(`--index: ${o.index} is not in 0..${all.length - 1} (${o.benchmark} holds ${all.length} tasks)`);
        env.setTasks([all[o.index]]);
      }
      env.reset(o.seed);
      const { ruleset } = env.ruleset(0);
      process.stdout.write(`ruleset ${rulesetId(ruleset)}: ${describeRuleset(ruleset)}\n`);
      process.stdout.write(`${env.render(0)}\n`);
      const r = env.solve(0, true);
      process.stdout.write(`solver: ${r.status}${r.status === 'solved' ? `, ${r.steps} steps (optimal return ${env.oracleValue(0).toFixed(4)})` : ''}, ${r.states} states\n`);
      if (o.out !== undefined) {
        // the picture is drawn on a copy (same task, same start), so the ASCII play below is unchanged
        const pic = new BatchedXLand(1, { preset: o.preset, ...options }, new Rng(o.seed));
        pic.setTasks([{ family: 'xland', params: { ruleset: ruleset as never } }]);
        pic.reset(o.seed);
        const figures = o.play && r.status === 'solved' ? xlandEpisodeSvgs(pic, r.actions).map((svg) => ({ svg })) : [{ svg: xlandSvg(pic, 0, { caption: 'start' }) }];
        const title = `xland ruleset ${rulesetId(ruleset)}`;
        const text = [describeRuleset(ruleset), `solver: ${r.status}${r.status === 'solved' ? `, ${r.steps} steps, optimal return ${env.oracleValue(0).toFixed(4)}` : ''} (${r.states} states)`];
        writeFileAtomic(o.out, renderDocument({ title, subtitle: [`seed ${o.seed}, options ${JSON.stringify({ preset: o.preset, ...options })}`], sections: [{ title: o.play && r.status === 'solved' ? 'The solver\'s episode' : 'Start', text, figures }] }));
        process.stdout.write(`wrote ${o.out} (${figures.length} picture${figures.length === 1 ? '' : 's'})\n`);
      }
      if (o.play && r.status === 'solved') {
        const names = ['forward', 'turn right', 'turn left', 'pick up', 'put down', 'toggle'];
        const a = new Int32Array(1);
        for (let k = 0; k < r.actions.length; k++) {
          a[0] = r.actions[k];
          const last = k === r.actions.length - 1;
          env.step(a);
          process.stdout.write(`\nstep ${k + 1}: ${names[a[0]]}${last ? ` -> goal, reward ${env.rewards[0].toFixed(4)}` : ''}\n`);
          if (!last) process.stdout.write(`${env.render(0)}\n`);
        }
      }
    });
}

/** `icrl envs show` for a MuJoCo family: one recorded episode written as an animated HTML page. */
async function showMujocoEpisode(family: string, o: { task?: string; options: string; policy: string; steps: number; view: string; fps: number; seed: number; out: string }): Promise<void> {
  if (!['zero', 'random', 'expert'].includes(o.policy)) throw new IcrlError(`--policy: "${o.policy}" is not one of zero, random, expert`);
  if (o.view !== 'side' && o.view !== 'top') throw new IcrlError(`--view: "${o.view}" is not one of side, top`);
  const options = parseJsonFlag(o.options, '--options');
  await prepareFamily(family);
  const env = getFamily(family).make(1, options, new Rng(o.seed)) as MujocoEnv;
  if (o.task !== undefined) env.setTasks([{ family, params: parseJsonFlag(o.task, '--task') as Task['params'] }]);
  const rec = recordEpisode(env, o.policy as Policy, o.steps, o.seed);
  writeFileAtomic(o.out, recordingHtml(rec, o.view, o.fps));
  process.stdout.write(`${JSON.stringify({ out: o.out, family, task: rec.task, policy: rec.policy, frames: rec.frames.length, return: rec.ret, ended: rec.ended })}\n`);
}
