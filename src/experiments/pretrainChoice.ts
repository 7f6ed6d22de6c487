/**
 * Teacher-chosen pretraining data, judged by the model it trains (docs/teachers.md, "Pretraining
 * data judged downstream"). For each teacher and seed:
 *
 * 1. Choice. The teacher proposes training tasks (never a held-out task) one batch at a time (from
 *    the family's task space, or with `drawFrom: train` from the split's training tasks: see
 *    {@link makeChooser}); the
 *    source algorithm of the AD training config (data.ad.source, e.g. R-max) learns each proposed
 *    task from scratch for data.ad.episodes episodes; the teacher records every episode return of
 *    that history in order (its signal is the source's own learning on the task), and the history
 *    enters the pretraining set, until the set holds `histories` histories: the same budget for
 *    every teacher. `lhf` is not a teacher of the registry: it draws `lhf.pool` x `histories`
 *    histories on uniformly drawn tasks and keeps the `histories` with the best LHF score
 *    (src/data/lhf.ts: improvement and stability of each history's returns).
 * 2. Training. An AD model is trained on the chosen histories with the training config (same model,
 *    steps and batch for every teacher; the last data.validationFraction of the histories validate).
 * 3. Judging. Each seed's models are evaluated in context on the same held-out tasks (the
 *    evaluation config), next to its baselines; the score is the held-out in-context return.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { readConfigFile, validateConfig } from '../core/config.js';
import { ConfigError, IcrlError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import { makeDir, writeJsonAtomic } from '../core/atomic.js';
import type { JsonValue } from '../core/spaces.js';
import { splitTasks, taskKey, type Task, type TaskSplit } from '../tasks/taskSpace.js';
import { TaskPool } from '../tasks/pool.js';
import { getFamily } from '../envs/index.js';
import { makeTeacher, teachers as teacherRegistry, UnsupportedTaskSpaceError, type RegisteredTeacher } from '../teachers/index.js';
import { scoreHistories } from '../data/lhf.js';
import { writeHistories, type History } from '../data/store.js';
import { h5ready } from '../data/h5.js';
import { parseTrainConfig, type TrainConfig } from '../train/config.js';
import { adTrainingData, collectHistories } from '../train/data.js';
import { trainFromConfig } from '../train/trainer.js';
import { meanCi } from '../eval/stats.js';
import { curvesChart, evaluateSeed, gatherSeed, packageConfigs, trainDir, type Measurements, type ReproduceContext, type ScoreMatrix, type SeedCurves } from './reproduce.js';

/** The choosers besides the registry's teachers. */
export const LHF_CHOOSER = 'lhf';

export const pretrainChoiceConfigSchema = z
  .object({
    name: z.string().min(1),
    /** AD training config (relative to the package's configs/): family, split, source, episodes, model, optimisation. */
    train: z.string().min(1),
    /** Evaluation config (relative to configs/): the held-out tasks of the training config's split and the baselines. */
    eval: z.string().min(1),
    /** Histories in each pretraining set (the equal budget). */
    histories: z.number().int().min(2).max(100_000),
    /** Tasks proposed (and histories run) together. */
    parallel: z.number().int().min(1).max(4096).default(16),
    /** Teachers of the registry, and `lhf`; `random` (uniform choice) is the baseline. */
    teachers: z.array(z.string().min(1)).min(1),
    teacherOptions: z.record(z.string(), z.record(z.string(), z.unknown())).default({}),
    /**
     * Where the choosers draw tasks from: `space`, the family's task space (less the held-out
     * tasks); `train`, the data.split.train training tasks of the training config's split (a finite
     * pool, for families whose task space the unit-hypercube teachers cannot encode, such as xland's
     * rulesets; see makeChooser).
     */
    drawFrom: z.enum(['space', 'train']).default('space'),
    /** Returns mapped to [0, 1] for the teachers (the family's return range). */
    returnRange: z.tuple([z.number(), z.number()]).optional(),
    lhf: z
      .object({
        /** Candidate histories drawn per kept one. */
        pool: z.number().int().min(1).max(100).default(2),
        lambda: z.number().min(0).max(1).default(0.5),
      })
      .strict()
      .default({ pool: 2, lambda: 0.5 }),
  })
  .strict();
export type PretrainChoiceConfig = z.output<typeof pretrainChoiceConfigSchema>;

/** The row label of a chooser: `uniform` for the random teacher. */
export function chooserLabel(teacher: string): string {
  return teacher === 'random' ? 'uniform' : teacher;
}

export interface Choice {
  teacher: string;
  seed: number;
  histories: History[];
  /** Histories run to choose (the set's size, or the LHF pool). */
  historiesRun: number;
  /** Share of proposals the teacher marked evaluation-only (robust PLR, ACCEL). */
  evalOnlyShare: number;
  distinctTasks: number;
  /** Mean over chosen histories of (mean return of the last third of episodes - first third). */
  progress: number;
  /** Mean return of the first and the last episode of the chosen histories. */
  firstReturn: number;
  lastReturn: number;
}

/** Episode returns of one history (run 0). */
export function episodeReturns(h: History): number[] {
  const out: number[] = [];
  let sum = 0;
  for (let t = 0; t < h.length; t++) {
    sum += h.rewards[t];
    if (h.dones[t]) {
      out.push(sum);
      sum = 0;
    }
  }
  return out;
}

function summarize(teacher: string, seed: number, histories: History[], historiesRun: number, evalOnly: number, proposals: number): Choice {
  let progress = 0;
  let first = 0;
  let last = 0;
  for (const h of histories) {
    const r = episodeReturns(h);
    const k = Math.max(1, Math.floor(r.length / 3));
    const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / Math.max(1, a.length);
    progress += mean(r.slice(r.length - k)) - mean(r.slice(0, k));
    first += r[0] ?? 0;
    last += r[r.length - 1] ?? 0;
  }
  const n = histories.length;
  return { teacher, seed, histories, historiesRun, evalOnlyShare: evalOnly / Math.max(1, proposals), distinctTasks: new Set(histories.map((h) => taskKey(h.task))).size, progress: progress / n, firstReturn: first / n, lastReturn: last / n };
}

function splitOf(tcfg: TrainConfig): TaskSplit {
  const space = getFamily(tcfg.data.family).taskSpace(tcfg.data.envOptions);
  return splitTasks(space, { seed: tcfg.data.split.seed, heldOut: tcfg.data.split.heldOut, train: tcfg.data.split.train, draw: tcfg.data.split.draw });
}

function heldOutOf(tcfg: TrainConfig): Task[] {
  return splitOf(tcfg).heldOut;
}

/** A chooser and the map from its proposals to the tasks whose histories are run. */
export interface Chooser {
  teacher: RegisteredTeacher;
  /** How the teacher's tasks are drawn: `space`, `train tasks` or `train pool` (see makeChooser). */
  drawsFrom: 'space' | 'train tasks' | 'train pool';
  resolve: (proposed: Task) => Task;
}

/**
 * The teacher of a chooser (`random` for `lhf`). With `drawFrom: space` it works on the family's
 * task space. With `drawFrom: train` it chooses among the split's training tasks: a teacher that
 * works on tasks themselves (ACCEL: its levels are tasks) gets the family's space drawing its new
 * levels from them (TaskSpace.drawingFrom; its edits, the family's operators, may leave them); a
 * teacher that needs a unit encoding the family's space lacks gets the pool's index space
 * (TaskPool), each index standing for one training task.
 */
export function makeChooser(c: PretrainChoiceConfig, tcfg: TrainConfig, teacher: string, rng: Rng): Chooser {
  const space = getFamily(tcfg.data.family).taskSpace(tcfg.data.envOptions);
  const lhf = teacher === LHF_CHOOSER;
  const name = lhf ? 'random' : teacher;
  const opts = { ...(c.returnRange ? { returnRange: c.returnRange } : {}), ...(lhf ? {} : (c.teacherOptions[teacher] ?? {})) };
  const trng = rng.split('teacher');
  if (c.drawFrom === 'space') return { teacher: makeTeacher(name, space, trng, opts), drawsFrom: 'space', resolve: (t) => t };
  const train = splitOf(tcfg).train;
  try {
    return { teacher: makeTeacher(name, space.drawingFrom(train), trng, opts), drawsFrom: 'train tasks', resolve: (t) => t };
  } catch (e) {
    if (!(e instanceof UnsupportedTaskSpaceError)) throw e;
  }
  const pool = new TaskPool(train);
  return { teacher: makeTeacher(name, pool.space, trng, opts), drawsFrom: 'train pool', resolve: (t) => pool.resolve(t) };
}

/** Step 1: the histories `teacher` chooses for seed `seed`. */
export async function chooseHistories(c: PretrainChoiceConfig, tcfg: TrainConfig, teacher: string, seed: number): Promise<Choice> {
  const held = new Set(heldOutOf(tcfg).map(taskKey));
  const rng = new Rng(seed).split(`pretrain-choice:${teacher}`);
  const lhf = teacher === LHF_CHOOSER;
  const { teacher: chooser, resolve } = makeChooser(c, tcfg, teacher, rng);
  const want = lhf ? c.histories * c.lhf.pool : c.histories;
  const run: History[] = [];
  let evalOnly = 0;
  let proposals = 0;
  for (let batch = 0; run.length < want; batch++) {
    const P = Math.min(c.parallel, want - run.length);
    const proposed: Task[] = [];
    const tasks: Task[] = [];
    for (let i = 0; i < P; i++) {
      for (let k = 0; ; k++) {
        if (k === 1000) throw new IcrlError(`${chooser.name}: 1000 proposals in a row were held-out tasks`);
        const p = chooser.sample();
        const t = resolve(p);
        if (held.has(taskKey(t))) continue;
        proposals++;
        if (!chooser.lastSampleTrains) evalOnly++;
        proposed.push(p);
        tasks.push(t);
        break;
      }
    }
    const hs = await collectHistories(tcfg, tasks, rng.split(`histories:${batch}`), run.length);
    hs.forEach((h, i) => {
      // the teacher sees the history's episode returns in order: its signal is the source's learning there
      for (const r of episodeReturns(h)) chooser.record(proposed[i], r);
      run.push(h);
    });
  }
  if (!lhf) return summarize(teacher, seed, run, run.length, evalOnly, proposals);
  const scores = scoreHistories(run, { mode: 'filter', keep: 1 / c.lhf.pool, lambda: c.lhf.lambda });
  const kept = new Set(scores.filter((s) => s.kept).map((s) => s.taskIndex));
  const chosen = run.filter((h) => kept.has(h.taskIndex)).slice(0, c.histories);
  chosen.forEach((h, i) => (h.taskIndex = i));
  return summarize(teacher, seed, chosen, run.length, 0, proposals);
}

/** Reads and checks an experiment config (relative paths resolve against the package's configs/). */
export function loadPretrainChoice(file: string): { c: PretrainChoiceConfig; train: Record<string, unknown> } {
  const c = validateConfig(pretrainChoiceConfigSchema, readConfigFile(file), file);
  for (const t of c.teachers) if (t !== LHF_CHOOSER && !teacherRegistry.has(t)) throw new ConfigError(`${file}: teachers: unknown teacher "${t}" (known: ${[...teacherRegistry.names(), LHF_CHOOSER].join(', ')})`, file, 'teachers');
  if (!c.teachers.includes('random')) throw new ConfigError(`${file}: teachers must include random (uniform choice, the baseline)`, file, 'teachers');
  const train = readConfigFile(resolve(packageConfigs(), c.train)) as Record<string, unknown>;
  const tcfg = parseTrainConfig({ ...train, seed: 0 }, c.train);
  if (!tcfg.data.ad || tcfg.data.ad.source === undefined || tcfg.data.ad.episodes === undefined) throw new ConfigError(`${c.train}: the training config needs data.ad.source and data.ad.episodes (the histories are run by the chooser)`, c.train, 'data.ad');
  if (tcfg.data.ad.historiesPerTask !== 1) throw new ConfigError(`${c.train}: data.ad.historiesPerTask must be 1 (each chosen history is one run)`, c.train, 'data.ad.historiesPerTask');
  return { c, train };
}

/** Steps 1 to 3 for every seed of a reproduction: the scores per chooser and the report sections. */
export function pretrainChoiceRun(configFile: string) {
  return async (ctx: ReproduceContext): Promise<Measurements> => {
    const file = resolve(packageConfigs(), configFile);
    const { c, train } = loadPretrainChoice(file);
    const scores = new Map<string, ScoreMatrix>();
    const curves: SeedCurves = new Map();
    const files: string[] = [];
    const stats = new Map<string, Choice[]>();
    let mode: 'steps' | 'episodes' = 'episodes';
    for (const seed of ctx.seeds) {
      const agents: Record<string, unknown>[] = [];
      for (const teacher of c.teachers) {
        const label = chooserLabel(teacher);
        const dir = trainDir(ctx.trainOut ?? ctx.out, label, seed);
        const tcfg = parseTrainConfig({ ...train, seed, out: dir }, `${c.train} (seed ${seed})`);
        const t0 = performance.now();
        const choice = await chooseHistories(c, tcfg, teacher, seed);
        const hs = choice.histories;
        const nVal = tcfg.data.validationFraction > 0 ? Math.max(1, Math.round(hs.length * tcfg.data.validationFraction)) : 0;
        if (nVal >= hs.length) throw new ConfigError(`${c.train}: data.validationFraction leaves no training history of ${hs.length}`, c.train, 'data.validationFraction');
        const data = adTrainingData(tcfg, { train: hs.slice(0, hs.length - nVal), val: hs.slice(hs.length - nVal), heldOut: heldOutOf(tcfg), source: tcfg.data.ad!.source as JsonValue, length: hs[0].length });
        ctx.say(`${label}, seed ${seed}: ${hs.length} histories chosen (${choice.distinctTasks} distinct tasks, ${choice.historiesRun} run) in ${((performance.now() - t0) / 1000).toFixed(1)} s; their learning progress ${choice.progress.toFixed(3)}, return first / last episode ${choice.firstReturn.toFixed(2)} / ${choice.lastReturn.toFixed(2)}`);
        makeDir(dir);
        const h5 = join(dir, 'histories.h5');
        if (!existsSync(h5)) {
          await h5ready();
          writeHistories(h5, hs);
        }
        const { histories: _h, ...summary } = choice;
        writeJsonAtomic(join(dir, 'choice.json'), { ...summary, tasks: hs.map((h) => h.task.params) });
        const r = await trainFromConfig(tcfg, { data, outDir: dir, progressBar: ctx.progress, baseDir: process.cwd(), log: (l) => ctx.say(`  ${l}`) });
        ctx.say(`  ${r.resumedFrom !== null && r.resumedFrom >= r.steps ? 'already trained' : 'trained'}: ${r.steps} steps in ${r.trainSeconds.toFixed(0)} s, loss ${Number.isFinite(r.finalLoss) ? r.finalLoss.toFixed(4) : 'n/a'}`);
        agents.push({ type: 'model', name: label, checkpoint: dir });
        files.push(join(dir, 'choice.json'), h5);
        stats.set(label, [...(stats.get(label) ?? []), choice]);
      }
      const ev = await evaluateSeed(ctx, c.eval, agents, seed);
      files.push(...ev.files);
      mode = gatherSeed(ev.results, scores, curves);
    }
    const fmt = (xs: number[]) => {
      const t = meanCi(xs);
      return `${t.mean.toFixed(3)} [${Number.isFinite(t.lo) ? t.lo.toFixed(3) : '-'}, ${Number.isFinite(t.hi) ? t.hi.toFixed(3) : '-'}]`;
    };
    const rows = [...stats].map(([label, cs]) => [label, fmt(cs.map((x) => x.progress)), fmt(cs.map((x) => x.firstReturn)), fmt(cs.map((x) => x.lastReturn)), fmt(cs.map((x) => x.distinctTasks)), fmt(cs.map((x) => x.evalOnlyShare)), fmt(cs.map((x) => x.historiesRun))]);
    return {
      seeds: ctx.seeds,
      scores,
      sections: [
        { title: 'Curves', charts: [curvesChart(curves, mode)] },
        {
          title: 'The chosen histories',
          text: [`Each chooser's pretraining set: ${c.histories} histories of the source ${JSON.stringify(train.data && (train.data as { ad?: { source?: unknown } }).ad?.source)}. Mean over seeds [95% t-interval over seeds].`],
          tables: [{ columns: ['chooser', 'learning progress (last third - first third)', 'return, first episode', 'return, last episode', 'distinct tasks', 'evaluation-only share', 'histories run'], rows }],
        },
      ],
      files,
    };
  };
}

/** The claims "X's pretraining set trains a better in-context learner than uniform choice", one per chooser. */
export function beatsUniformClaims(choosers: string[]): { text: string; left: { agent: string; metric: 'meanReturn' }; right: { agent: string; metric: 'meanReturn' } }[] {
  return choosers
    .filter((t) => t !== 'random')
    .map((t) => ({
      text: `AD pretrained on the histories ${chooserLabel(t)} chooses has a higher mean held-out in-context return than AD pretrained on uniformly chosen histories (${chooserLabel(t)} beats uniform)`,
      left: { agent: chooserLabel(t), metric: 'meanReturn' as const },
      right: { agent: 'uniform', metric: 'meanReturn' as const },
    }));
}
