/**
 * Teachers driving deep-RL students: the ALP-GMM paper's set-up (Portelas et al. 2019: a SAC
 * student on parameterized walkers, tasks chosen by the teacher episode by episode, scored on a
 * fixed uniform test set over training) scaled down to what fits here: a task-conditioned SAC
 * student on `cheetah-vel` with target velocities in [0, maxVelocity] (10 m/s, the upper part out of
 * the cheetah's reach).
 *
 * Every (teacher, seed) pair is one student; all students are learners of one batched learner set,
 * trained at once, student i's task chosen by its own teacher (src/rl/student.ts). Every
 * `evalEvery` steps each student's greedy policy plays one episode on each test task (evenly spaced
 * over a one-dimensional box, uniform draws with the seed otherwise). Scores per seed and test task:
 * `score` = the final test return, `meanReturn` = the test return averaged over the evaluations
 * (the area under the curve). `icrl reproduce alp-gmm-cheetah` runs it (configs/curriculum-deep-cheetah.yaml)
 * and states, from paired bootstrap intervals, which teachers beat random.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { loadConfig } from '../core/config.js';
import { IcrlError } from '../core/errors.js';
import { makeDir, writeJsonAtomic } from '../core/atomic.js';
import { Rng } from '../core/rng.js';
import { BoxSpace } from '../core/spaces.js';
import type { Task, TaskSpace } from '../tasks/taskSpace.js';
import { getFamily, prepareFamily } from '../envs/index.js';
import { makeTeacher, type RegisteredTeacher } from '../teachers/index.js';
import { PpoAgent, SacAgent, TaskConditionedEnv, TeacherChooser, ppoHooks, sacHooks, trainStudents, type StudentCurves } from '../rl/index.js';
import { meanCi } from '../eval/stats.js';
import { bandLineChart, type ReportSection } from '../report/index.js';
import { packageConfigs, reproductions, type Measurements, type ReproduceContext, type ScoreMatrix } from './reproduce.js';

const int = (min: number) => z.number().int().min(min);

export const deepCurriculumConfigSchema = z
  .object({
    name: z.string().min(1).default('deep-curriculum'),
    family: z.string().min(1).default('cheetah-vel'),
    envOptions: z.record(z.string(), z.unknown()).default({}),
    /** teachers compared; `random` (uniform) is the baseline and must be among them */
    teachers: z.array(z.string().min(1)).min(1),
    /** per-teacher options, e.g. { "alp-gmm": { fitRate: 50 } } */
    teacherOptions: z.record(z.string(), z.record(z.string(), z.unknown())).default({}),
    /** returns mapped to [0, 1] for every teacher (the published code's env_reward_lb / ub) */
    returnRange: z.tuple([z.number(), z.number()]),
    student: z
      .object({
        algo: z.enum(['sac', 'ppo']).default('sac'),
        /** options of the learner kind (docs/rl.md) */
        options: z.record(z.string(), z.unknown()).default({}),
        /** environment steps per student */
        steps: int(1),
        evalEvery: int(1),
        /** a resume point every this many steps (at episode starts; 0: none, a killed run starts over) */
        checkpointEvery: int(0).default(0),
      })
      .strict(),
    /** size of the fixed test set */
    testTasks: int(1).default(10),
    /** base seed: seed s of a run uses streams split from (seed, s) */
    seed: int(0).default(0),
  })
  .strict();
export type DeepCurriculumConfig = z.output<typeof deepCurriculumConfigSchema>;

/** The fixed test set: evenly spaced midpoints of a one-dimensional box, else uniform draws with `rng`. */
export function uniformTestTasks(space: TaskSpace, n: number, rng: Rng): Task[] {
  const keys = space.params.keys;
  const only = keys.length === 1 ? space.params.spaces[keys[0]] : null;
  if (only instanceof BoxSpace && only.dims === 1) {
    const lo = only.spec.low[0];
    const hi = only.spec.high[0];
    return Array.from({ length: n }, (_, k) => {
      const v = lo + ((k + 0.5) / n) * (hi - lo);
      return space.check({ family: space.family, params: { [keys[0]]: only.scalar ? v : [v] } });
    });
  }
  return space.sampleMany(rng, n);
}

export interface DeepCurriculumResult {
  config: DeepCurriculumConfig;
  seeds: number[];
  testTasks: Task[];
  steps: number[];
  /** [teacher][seed][evaluation][test task] */
  testReturns: Record<string, number[][][]>;
  /** [teacher][seed]: the tasks the teacher chose (their first parameter) and the returns */
  chosen: Record<string, { x: number[]; ret: number[] }[]>;
  trainSeconds: number;
  learners: number;
}

/** Trains one student per (teacher, seed), all in one batched learner set. */
export async function runDeepCurriculum(cfg: DeepCurriculumConfig, seeds: number[], say: (l: string) => void = () => {}, resumeFile?: string): Promise<DeepCurriculumResult> {
  if (!cfg.teachers.includes('random')) throw new IcrlError(`${cfg.name}: teachers must include "random", the uniform baseline (got ${cfg.teachers.join(', ')})`, 'CONFIG');
  if (seeds.length === 0) throw new IcrlError(`${cfg.name}: no seeds`, 'CONFIG');
  await prepareFamily(cfg.family);
  const fam = getFamily(cfg.family);
  const space = fam.taskSpace(cfg.envOptions);
  const root = new Rng(cfg.seed);
  const testTasks = uniformTestTasks(space, cfg.testTasks, root.split('test-tasks'));
  const pairs = cfg.teachers.flatMap((teacher) => seeds.map((seed) => ({ teacher, seed })));
  const teachers: RegisteredTeacher[] = pairs.map(({ teacher, seed }) =>
    makeTeacher(teacher, space, root.split(`teacher-${teacher}-${seed}`), { returnRange: cfg.returnRange, ...(cfg.teacherOptions[teacher] ?? {}) }),
  );
  const n = pairs.length;
  const env = new TaskConditionedEnv(fam.make(n, cfg.envOptions, root.split('env')), new TeacherChooser(teachers));
  const evalEnv = new TaskConditionedEnv(fam.make(n, cfg.envOptions, root.split('eval-env')));
  // learner i (student i) draws from its own stream, split from the run's seed by its index (docs/rl.md)
  const agent = cfg.student.algo === 'sac' ? new SacAgent(cfg.student.options) : new PpoAgent(cfg.student.options);
  const every = cfg.student.checkpointEvery;
  const resume =
    every > 0 && resumeFile
      ? { file: resumeFile, every, runId: { config: cfg, seeds }, hooks: agent instanceof SacAgent ? sacHooks(agent).resumable : ppoHooks(agent).resumable, teachers }
      : undefined;
  if (resume && existsSync(resumeFile!)) say(`${cfg.name}: resuming from ${resumeFile}`);
  say(`${cfg.name}: ${n} students (${cfg.teachers.length} teachers x ${seeds.length} seeds) of ${cfg.student.algo} on ${cfg.family}, ${cfg.student.steps} steps each, ${testTasks.length} test tasks every ${cfg.student.evalEvery} steps`);
  const t0 = performance.now();
  let curves: StudentCurves;
  try {
    curves = trainStudents({
      agent,
      env,
      evalEnv,
      testTasks,
      steps: cfg.student.steps,
      evalEvery: cfg.student.evalEvery,
      rng: root.split('learners'),
      resume,
      onEval: (step, r) => {
        const parts = cfg.teachers.map((t) => {
          const rows = pairs.flatMap((p, i) => (p.teacher === t ? [r[i]] : []));
          return `${t} ${mean(rows.map(mean)).toFixed(1)}`;
        });
        say(`${cfg.name}: step ${step} (${((performance.now() - t0) / 1000).toFixed(0)} s): mean test return ${parts.join(', ')}`);
      },
    });
  } finally {
    env.close();
    evalEnv.close();
  }
  const testReturns: Record<string, number[][][]> = {};
  const chosen: Record<string, { x: number[]; ret: number[] }[]> = {};
  const first = space.params.keys[0];
  pairs.forEach((p, i) => {
    (testReturns[p.teacher] ??= []).push(curves.testReturns.map((ev) => ev[i]));
    (chosen[p.teacher] ??= []).push({
      x: curves.chosen[i].map((c) => {
        const v = c.task.params[first];
        return Number(Array.isArray(v) ? v[0] : v);
      }),
      ret: curves.chosen[i].map((c) => c.ret),
    });
  });
  return { config: cfg, seeds, testTasks, steps: curves.steps, testReturns, chosen, trainSeconds: curves.trainSeconds, learners: n };
}

function mean(a: number[]): number {
  return a.reduce((s, v) => s + v, 0) / a.length;
}

/** `score` (final test return) and `meanReturn` (mean over evaluations) per teacher: [seed][test task]. */
export function deepCurriculumScores(r: DeepCurriculumResult): Map<string, ScoreMatrix> {
  const scores = new Map<string, ScoreMatrix>();
  for (const [teacher, perSeed] of Object.entries(r.testReturns)) {
    scores.set(
      `${teacher}:score`,
      perSeed.map((evals) => evals[evals.length - 1].slice()),
    );
    scores.set(
      `${teacher}:meanReturn`,
      perSeed.map((evals) => evals[0].map((_, k) => mean(evals.map((e) => e[k])))),
    );
  }
  return scores;
}

/** The curriculum figure: mean test return over training per teacher, 95% t-interval over seeds as the band. */
export function deepCurriculumSections(r: DeepCurriculumResult): ReportSection[] {
  const series = Object.entries(r.testReturns).map(([teacher, perSeed]) => {
    const bands = r.steps.map((_, e) => meanCi(perSeed.map((evals) => mean(evals[e]))));
    return { name: teacher, x: r.steps, mean: bands.map((b) => b.mean), lo: bands.map((b) => b.lo), hi: bands.map((b) => b.hi) };
  });
  const opts = r.config.student.options;
  const chart = bandLineChart(
    `Test return over training: ${r.config.student.algo.toUpperCase()} students on ${r.config.family}`,
    series,
    { xName: 'environment steps per student', yName: `mean return on the ${r.testTasks.length} test tasks` },
    `Mean over ${r.seeds.length} seeds of each student's mean greedy return on the fixed test set; band: 95% t-interval over seeds.`,
  );
  const first = Object.keys(r.testReturns);
  const density = first.map((teacher) => {
    const xs = r.chosen[teacher].flatMap((c) => c.x);
    const n = xs.length;
    const late = r.chosen[teacher].flatMap((c) => c.x.slice(Math.floor(c.x.length / 2)));
    return [teacher, n, round(mean(xs)), round(mean(late))];
  });
  return [
    {
      title: 'Curriculum with deep RL students',
      text: [
        `${r.learners} students (${first.length} teachers x ${r.seeds.length} seeds), ${r.config.student.algo} with options ${JSON.stringify(opts)}, one learner each in one batched learner set, ${r.config.student.steps} environment steps per student, ${r.config.family} with ${JSON.stringify(r.config.envOptions)}; teachers see returns mapped from ${JSON.stringify(r.config.returnRange)} to [0, 1]. Training took ${r.trainSeconds.toFixed(0)} s (evaluations excluded).`,
        `Test tasks: ${r.testTasks.map((t) => JSON.stringify(t.params)).join(', ')}.`,
      ],
      charts: [chart],
      tables: [
        {
          columns: ['teacher', 'training episodes (all seeds)', `mean chosen ${r.testTasks.length ? Object.keys(r.testTasks[0].params)[0] : 'parameter'}`, 'same, second half of training'],
          rows: density,
        },
      ],
    },
  ];
}

function round(v: number): number {
  return Number(v.toFixed(3));
}

/** The config file of the reproduction entry's small scale (in the package's configs/). */
export const DEEP_CURRICULUM_CONFIG = 'curriculum-deep-cheetah.yaml';

const TEACHERS_BEYOND_RANDOM = ['alp-gmm', 'covar-gmm', 'riac', 'adr', 'plr'];

async function runEntry(ctx: ReproduceContext): Promise<Measurements> {
  const cfg = loadConfig(deepCurriculumConfigSchema, join(packageConfigs(), DEEP_CURRICULUM_CONFIG));
  const file = join(ctx.out, 'deep-curriculum.json');
  makeDir(ctx.out);
  const r = await runDeepCurriculum(cfg, ctx.seeds, ctx.say, join(ctx.out, 'deep-curriculum.resume.safetensors'));
  writeJsonAtomic(file, r);
  return { seeds: ctx.seeds, scores: deepCurriculumScores(r), sections: deepCurriculumSections(r), files: [file] };
}

reproductions.register({
  name: 'alp-gmm-cheetah',
  description: 'Teachers (ALP-GMM, Covar-GMM, RIAC, ADR, PLR, random) choosing the target velocities of task-conditioned SAC students on cheetah-vel in [0, 10] m/s',
  options: z.object({}).strict(),
  paper: 'Portelas et al. 2019, "Teacher algorithms for curriculum learning of Deep RL in continuously parameterized environments" (ALP-GMM)',
  claim: 'A teacher that samples tasks where learning progress is high trains a deep RL student that does better on a uniform test set of tasks than one trained on uniformly sampled tasks, when part of the task space is out of reach.',
  claims: TEACHERS_BEYOND_RANDOM.map((t) => ({
    text: `${t}'s students end with a higher test return than random's`,
    left: { agent: t, metric: 'score' as const },
    right: { agent: 'random', metric: 'score' as const },
  })),
  scales: {
    small: {
      budget: '18 SAC students (64 x 64) of 60,000 steps on cheetah-vel (curriculum-deep-cheetah.yaml): 42 minutes for 3 seeds on the shared 2-core machine under a load average of 8 to 10; a killed run continues from its last resume point (every 5,000 steps)',
      table: ['random', ...TEACHERS_BEYOND_RANDOM].flatMap((agent) => (['score', 'meanReturn'] as const).map((metric) => ({ agent, metric }))),
      run: runEntry,
    },
  },
});
