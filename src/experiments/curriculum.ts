/**
 * Curricula in the loop.
 *
 * 1. Student training: a teacher chooses the Dark Key-to-Door tasks (key and door cells) on which a
 *    learning student is trained; after every `evalEvery` training episodes the student's greedy
 *    policy is scored on held-out tasks it never trains on. Every teacher gets the same budget of
 *    training episodes; the `random` teacher is uniform sampling, the baseline.
 *
 *    The student is a goal-conditioned tabular Q-learner: its state is the offset from its cell to
 *    its current target (the key, then the door once it holds the key), whether it holds the key and
 *    which walls it touches, so what it learns on one task carries over to every other task. The trainer knows the task it
 *    gives the student; the environment itself still hides key and door. (The landed
 *    `QLearningAgent` keeps one table per instance and learns each task separately, so nothing could
 *    carry over between tasks and a curriculum could not matter; it is used below as the source
 *    algorithm of learning histories, where one table per task is exactly right.)
 *
 * 2. Pretraining-data selection: a teacher chooses the tasks whose learning histories (tabular
 *    Q-learning from scratch, `historyEpisodes` episodes per task) enter an ICRL pretraining set.
 *    The teacher records every episode return of each history in order, so the learning progress it
 *    estimates for a task is the source algorithm's own progress on it; it learns where in the task
 *    space histories show learning (the histories Algorithm Distillation needs). Measured: the
 *    learning progress of the chosen histories (mean return of the last third minus the first third)
 *    against uniform choice at the same number of histories.
 */
import { z } from 'zod';
import { IcrlError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import { Progress } from '../core/progress.js';
import { splitTasks, taskKey, type Task, type TaskSpace } from '../tasks/index.js';
import { getFamily } from '../envs/index.js';
import type { BatchedEnv } from '../envs/types.js';
import { QLearningAgent } from '../algorithms/qlearning.js';
import { makeTeacher, TEACHER_NAMES, type Teacher } from '../teachers/index.js';

const int = (min: number, def: number) => z.number().int().min(min).default(def);

export const curriculumConfigSchema = z
  .object({
    name: z.string().min(1).default('curriculum'),
    env: z
      .object({
        size: int(3, 16),
        horizon: int(2, 40),
      })
      .strict()
      .default({ size: 16, horizon: 40 }),
    /** Teachers compared; "random" is the uniform baseline and is always included. */
    teachers: z.array(z.string()).min(1).default([...TEACHER_NAMES]),
    /** Per-teacher options, e.g. { "alp-gmm": { fitRate: 100 } }. */
    teacherOptions: z.record(z.string(), z.record(z.string(), z.unknown())).default({}),
    seed: int(0, 0),
    seeds: int(1, 5),
    /** Held-out tasks (never trained on). */
    heldOut: int(1, 200),
    student: z
      .object({
        /** Training episodes per run (the equal budget). */
        episodes: int(1, 3000),
        /** Environments stepped together during training. */
        parallel: int(1, 16),
        evalEvery: int(1, 250),
        alpha: z.number().gt(0).lte(1).default(0.1),
        gamma: z.number().gt(0).lte(1).default(0.95),
        epsilon: z.number().min(0).lte(1).default(0.1),
      })
      .strict()
      .default({ episodes: 3000, parallel: 16, evalEvery: 250, alpha: 0.1, gamma: 0.95, epsilon: 0.1 }),
    pretraining: z
      .object({
        /** Learning histories chosen per teacher and seed. */
        histories: int(1, 400),
        /** Episodes of tabular Q-learning per history. */
        historyEpisodes: int(3, 20),
        /** Histories run together (the teacher proposes this many tasks at a time). */
        parallel: int(1, 20),
      })
      .strict()
      .optional(),
  })
  .strict();

export type CurriculumConfig = z.output<typeof curriculumConfigSchema>;

/** Checks the teacher names of a config (an unknown one is an error naming it). */
export function checkTeachers(names: string[], source: string): string[] {
  for (const t of names) {
    if (!TEACHER_NAMES.includes(t)) throw new IcrlError(`${source}: teachers: unknown teacher "${t}"; known: ${TEACHER_NAMES.join(', ')}`);
  }
  return names.includes('random') ? names : ['random', ...names];
}

// ---------------------------------------------------------------- the student

/**
 * Goal-conditioned tabular Q-learning on (offset to the current target, holds key, which walls the
 * agent touches). The wall flags make the offset dynamics Markov: a move into a wall leaves the
 * offset unchanged, which the offset alone cannot tell.
 */
export class GoalQStudent {
  readonly span: number;
  readonly numStates: number;
  readonly q: Float64Array;
  constructor(
    readonly size: number,
    readonly alpha: number,
    readonly gamma: number,
    private readonly rng: Rng,
  ) {
    this.span = 2 * size - 1;
    this.numStates = 2 * this.span * this.span * 9;
    this.q = new Float64Array(this.numStates * 5);
  }
  /** State of an agent at (x, y) with or without the key, on a task with key and door cells. */
  state(x: number, y: number, hasKey: number, key: number, door: number): number {
    const t = hasKey ? door : key;
    const dx = (t % this.size) - x + this.size - 1;
    const dy = Math.floor(t / this.size) - y + this.size - 1;
    const last = this.size - 1;
    const wall = (x === 0 ? 0 : x === last ? 2 : 1) * 3 + (y === 0 ? 0 : y === last ? 2 : 1);
    return ((wall * 2 + hasKey) * this.span + dy) * this.span + dx;
  }
  act(s: number, epsilon: number): number {
    if (epsilon > 0 && this.rng.uniform() < epsilon) return this.rng.int(5);
    const base = s * 5;
    let best = 0;
    let bv = -Infinity;
    let ties = 0;
    for (let a = 0; a < 5; a++) {
      const v = this.q[base + a];
      if (v > bv) {
        bv = v;
        best = a;
        ties = 1;
      } else if (v === bv && this.rng.int(++ties) === 0) best = a;
    }
    return best;
  }
  update(s: number, a: number, r: number, s2: number, done: boolean): void {
    let target = r;
    if (!done) {
      let m = -Infinity;
      for (let b = 0; b < 5; b++) m = Math.max(m, this.q[s2 * 5 + b]);
      target += this.gamma * m;
    }
    const j = s * 5 + a;
    this.q[j] += this.alpha * (target - this.q[j]);
  }
}

function cells(task: Task, size: number): { key: number; door: number } {
  const p = task.params as Record<string, number>;
  return { key: p.keyY * size + p.keyX, door: p.doorY * size + p.doorX };
}

function setTask(env: BatchedEnv, i: number, task: Task, all: Task[]): void {
  const e = env as BatchedEnv & { setTask?: (i: number, t: Task) => void };
  if (typeof e.setTask === 'function') e.setTask(i, task);
  else {
    all[i] = task;
    env.setTasks(all);
  }
}

/** Greedy return of the student on each task (one episode each). */
export function evaluateStudent(student: GoalQStudent, tasks: Task[], size: number, horizon: number, rng: Rng): { meanReturn: number; success: number } {
  const env = getFamily('dark-key-to-door').make(tasks.length, { size, horizon }, rng.split('env'));
  env.setTasks(tasks);
  env.reset();
  const n = tasks.length;
  const tc = tasks.map((t) => cells(t, size));
  const ret = new Float64Array(n);
  const done = new Uint8Array(n);
  const actions = new Int32Array(n);
  for (let t = 0; t < horizon; t++) {
    for (let i = 0; i < n; i++) {
      const o = env.obs;
      actions[i] = done[i] ? 4 : student.act(student.state(o[3 * i], o[3 * i + 1], o[3 * i + 2], tc[i].key, tc[i].door), 0);
    }
    env.step(actions);
    for (let i = 0; i < n; i++) {
      if (done[i]) continue;
      ret[i] += env.rewards[i];
      if (env.terminated[i] || env.truncated[i]) done[i] = 1;
    }
  }
  let s = 0;
  let ok = 0;
  for (let i = 0; i < n; i++) {
    s += ret[i];
    if (ret[i] >= 2) ok++;
  }
  return { meanReturn: s / n, success: ok / n };
}

export interface StudentRun {
  teacher: string;
  seed: number;
  /** Training episodes at each evaluation. */
  episodes: number[];
  heldOutReturn: number[];
  heldOutSuccess: number[];
  /** Share of training episodes the teacher marked evaluation-only (robust PLR). */
  evalOnlyShare: number;
  /** Per window of evalEvery episodes: counts of proposed key cells (size x size, row = keyY). */
  density?: { episode: number; counts: number[][] }[];
}

/** Draws a task that is not held out (the teacher proposes again; held-out proposals are never recorded). */
export function drawTrainTask(teacher: Teacher, held: Set<string>): Task {
  for (let k = 0; k < 1000; k++) {
    const t = teacher.sample();
    if (!held.has(taskKey(t))) return t;
  }
  throw new IcrlError(`${teacher.name}: 1000 proposals in a row were held-out tasks`);
}

/** Trains one student with one teacher for the episode budget; evaluates on the held-out tasks. */
export function trainWithTeacher(cfg: CurriculumConfig, teacherName: string, seed: number, heldOut: Task[], space: TaskSpace, density = false): StudentRun {
  const { size, horizon } = cfg.env;
  const sc = cfg.student;
  const rng = new Rng(seed).split(`curriculum:${teacherName}`);
  const teacher = makeTeacher(teacherName, space, rng.split('teacher'), { returnRange: [0, 2], ...(cfg.teacherOptions[teacherName] ?? {}) });
  const student = new GoalQStudent(size, sc.alpha, sc.gamma, rng.split('student'));
  const held = new Set(heldOut.map(taskKey));
  const P = sc.parallel;
  const env = getFamily('dark-key-to-door').make(P, { size, horizon }, rng.split('env'));
  const tasks: Task[] = [];
  const trains = new Uint8Array(P);
  const tc: { key: number; door: number }[] = [];
  const active = new Uint8Array(P);
  let proposed = 0;
  let evalOnly = 0;
  let hist = density ? Array.from({ length: size }, () => new Array<number>(size).fill(0)) : null;
  const dens: { episode: number; counts: number[][] }[] = [];
  const assign = (i: number): void => {
    if (proposed >= sc.episodes) {
      active[i] = 0;
      return;
    }
    const t = drawTrainTask(teacher, held);
    proposed++;
    tasks[i] = t;
    tc[i] = cells(t, size);
    trains[i] = teacher.lastSampleTrains ? 1 : 0;
    if (!trains[i]) evalOnly++;
    active[i] = 1;
    if (hist) hist[t.params.keyY as number][t.params.keyX as number]++;
  };
  for (let i = 0; i < P; i++) assign(i);
  // instances beyond the budget idle on the first task
  env.setTasks(Array.from({ length: P }, (_, i) => tasks[i] ?? tasks[0]));
  env.reset();
  const evalRng = rng.split('eval');
  const episodes: number[] = [0];
  const first = evaluateStudent(student, heldOut, size, horizon, evalRng.split(0));
  const heldOutReturn = [first.meanReturn];
  const heldOutSuccess = [first.success];
  const ret = new Float64Array(P);
  const states = new Int32Array(P);
  const actions = new Int32Array(P);
  let finished = 0;
  while (finished < sc.episodes) {
    const o = env.obs;
    for (let i = 0; i < P; i++) {
      states[i] = active[i] ? student.state(o[3 * i], o[3 * i + 1], o[3 * i + 2], tc[i].key, tc[i].door) : 0;
      actions[i] = active[i] ? student.act(states[i], sc.epsilon) : 4;
    }
    env.step(actions);
    for (let i = 0; i < P; i++) {
      if (!active[i]) continue;
      const end = env.terminated[i] === 1 || env.truncated[i] === 1;
      const r = env.rewards[i];
      ret[i] += r;
      if (trains[i]) {
        // after an episode end obs already holds the next episode's start; bootstrapping stops at ends
        const s2 = end ? 0 : student.state(env.obs[3 * i], env.obs[3 * i + 1], env.obs[3 * i + 2], tc[i].key, tc[i].door);
        student.update(states[i], actions[i], r, s2, end);
      }
      if (!end) continue;
      teacher.record(tasks[i], ret[i]);
      ret[i] = 0;
      finished++;
      if (finished % sc.evalEvery === 0 || finished === sc.episodes) {
        const ev = evaluateStudent(student, heldOut, size, horizon, evalRng.split(finished));
        episodes.push(finished);
        heldOutReturn.push(ev.meanReturn);
        heldOutSuccess.push(ev.success);
        if (hist) {
          dens.push({ episode: finished, counts: hist });
          hist = Array.from({ length: size }, () => new Array<number>(size).fill(0));
        }
      }
      assign(i);
      if (active[i]) setTask(env, i, tasks[i], tasks);
    }
  }
  return { teacher: teacherName, seed, episodes, heldOutReturn, heldOutSuccess, evalOnlyShare: evalOnly / Math.max(1, proposed), density: density ? dens : undefined };
}

// ------------------------------------------------------- pretraining selection

export interface SelectionRun {
  teacher: string;
  seed: number;
  /** Learning progress of each chosen history (mean return of the last third - first third). */
  progress: number[];
  /** Mean return over each history's last third. */
  finalReturn: number[];
  /** Optimal return of each chosen task (how hard the chosen tasks are). */
  optimal: number[];
}

/** A teacher chooses tasks whose Q-learning histories enter the pretraining set, rewarded by their learning progress. */
export function selectPretrainingTasks(cfg: CurriculumConfig, teacherName: string, seed: number, heldOut: Task[], space: TaskSpace): SelectionRun {
  const pc = cfg.pretraining;
  if (!pc) throw new IcrlError('curriculum config: pretraining section missing');
  const { size, horizon } = cfg.env;
  const rng = new Rng(seed).split(`pretraining:${teacherName}`);
  const teacher = makeTeacher(teacherName, space, rng.split('teacher'), { returnRange: [0, 2], ...(cfg.teacherOptions[teacherName] ?? {}) });
  const held = new Set(heldOut.map(taskKey));
  const E = pc.historyEpisodes;
  const third = Math.max(1, Math.floor(E / 3));
  const out: SelectionRun = { teacher: teacherName, seed, progress: [], finalReturn: [], optimal: [] };
  let batch = 0;
  while (out.progress.length < pc.histories) {
    const P = Math.min(pc.parallel, pc.histories - out.progress.length);
    const tasks = Array.from({ length: P }, () => drawTrainTask(teacher, held));
    const env = getFamily('dark-key-to-door').make(P, { size, horizon }, rng.split(`env:${batch}`));
    env.setTasks(tasks);
    env.reset();
    const agent = new QLearningAgent({ epsilonDecaySteps: E * horizon });
    agent.reset(env, rng.split(`agent:${batch}`));
    const returns: number[][] = Array.from({ length: P }, () => []);
    const cur = new Float64Array(P);
    const actions = new Int32Array(P);
    const optimal = tasks.map((_, i) => env.oracleValue(i));
    let guard = 0;
    while (returns.some((r) => r.length < E)) {
      agent.act(env.obs, actions);
      env.step(actions);
      agent.observe({ actions, rewards: env.rewards, obs: env.obs, terminated: env.terminated, truncated: env.truncated });
      for (let i = 0; i < P; i++) {
        cur[i] += env.rewards[i];
        if (env.terminated[i] || env.truncated[i]) {
          if (returns[i].length < E) returns[i].push(cur[i]);
          cur[i] = 0;
        }
      }
      if (++guard > E * horizon * 2) throw new IcrlError('pretraining selection: histories did not finish (internal error)');
    }
    for (let i = 0; i < P; i++) {
      const r = returns[i];
      const mean = (a: number[]): number => a.reduce((x, y) => x + y, 0) / a.length;
      const lp = mean(r.slice(E - third)) - mean(r.slice(0, third));
      out.progress.push(lp);
      out.finalReturn.push(mean(r.slice(E - third)));
      out.optimal.push(optimal[i]);
      // the teacher sees every episode of the history in order: its learning-progress estimate of the
      // task is then the source algorithm's own progress (ALP-GMM's nearest earlier record of the same
      // task is its first episode, PLR's previous return is the previous episode, ...)
      for (const x of r) teacher.record(tasks[i], x);
    }
    batch++;
  }
  return out;
}

// -------------------------------------------------------------- the experiment

export interface Stat {
  mean: number;
  sd: number;
  perSeed: number[];
}

function stat(xs: number[]): Stat {
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const sd = n > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, sd, perSeed: xs };
}

export interface CurriculumResult {
  config: CurriculumConfig;
  heldOutTasks: number;
  student: {
    teacher: string;
    /** Held-out mean greedy return at the end of the budget (max 2). */
    finalReturn: Stat;
    /** Held-out success rate (key and door) at the end. */
    finalSuccess: Stat;
    /** Mean held-out return over all evaluations (area under the learning curve / evaluations). */
    meanReturnOverTraining: Stat;
    curve: { episodes: number[]; mean: number[]; lo: number[]; hi: number[] };
    evalOnlyShare: number;
  }[];
  /** Proposal densities over key cells for seed 0 (per teacher, per evaluation window). */
  density: { teacher: string; windows: { episode: number; counts: number[][] }[] }[];
  pretraining?: {
    teacher: string;
    /** Mean learning progress of the chosen histories. */
    progress: Stat;
    /** Share of chosen histories with positive progress. */
    informative: Stat;
    /** Mean optimal return of the chosen tasks (2 = both key and door reachable in time). */
    optimal: Stat;
  }[];
  seconds: number;
}

/** Runs the whole experiment: every teacher x seed for the student, then the pretraining selection. */
export function runCurriculum(cfg: CurriculumConfig, opts: { source?: string; silent?: boolean } = {}): CurriculumResult {
  const t0 = Date.now();
  const teachers = checkTeachers(cfg.teachers, opts.source ?? 'curriculum config');
  const space = getFamily('dark-key-to-door').taskSpace({ size: cfg.env.size, horizon: cfg.env.horizon });
  const split = splitTasks(space, { seed: cfg.seed, heldOut: cfg.heldOut });
  const heldOut = split.heldOut;
  const seeds = Array.from({ length: cfg.seeds }, (_, k) => cfg.seed + k);
  const total = teachers.length * seeds.length * (1 + (cfg.pretraining ? 1 : 0));
  const progress = new Progress('teach curriculum', total, { unit: 'runs', silent: opts.silent });
  const runs: StudentRun[] = [];
  for (const t of teachers) {
    for (const s of seeds) {
      runs.push(trainWithTeacher(cfg, t, s, heldOut, space, s === seeds[0]));
      progress.tick(1, `student ${t} seed ${s}`);
    }
  }
  const student = teachers.map((t) => {
    const rs = runs.filter((r) => r.teacher === t);
    const len = rs[0].episodes.length;
    const mean: number[] = [];
    const lo: number[] = [];
    const hi: number[] = [];
    for (let i = 0; i < len; i++) {
      const st = stat(rs.map((r) => r.heldOutReturn[i]));
      const half = (1.96 * st.sd) / Math.sqrt(rs.length);
      mean.push(st.mean);
      lo.push(st.mean - half);
      hi.push(st.mean + half);
    }
    return {
      teacher: t,
      finalReturn: stat(rs.map((r) => r.heldOutReturn[len - 1])),
      finalSuccess: stat(rs.map((r) => r.heldOutSuccess[len - 1])),
      meanReturnOverTraining: stat(rs.map((r) => r.heldOutReturn.reduce((a, b) => a + b, 0) / len)),
      curve: { episodes: rs[0].episodes, mean, lo, hi },
      evalOnlyShare: rs.reduce((a, r) => a + r.evalOnlyShare, 0) / rs.length,
    };
  });
  const density = runs.filter((r) => r.density).map((r) => ({ teacher: r.teacher, windows: r.density ?? [] }));
  let pretraining: CurriculumResult['pretraining'];
  if (cfg.pretraining) {
    pretraining = [];
    for (const t of teachers) {
      const sel: SelectionRun[] = [];
      for (const s of seeds) {
        sel.push(selectPretrainingTasks(cfg, t, s, heldOut, space));
        progress.tick(1, `pretraining ${t} seed ${s}`);
      }
      const mean = (a: number[]): number => a.reduce((x, y) => x + y, 0) / a.length;
      pretraining.push({
        teacher: t,
        progress: stat(sel.map((r) => mean(r.progress))),
        informative: stat(sel.map((r) => r.progress.filter((p) => p > 0).length / r.progress.length)),
        optimal: stat(sel.map((r) => mean(r.optimal))),
      });
    }
  }
  progress.finish();
  return { config: cfg, heldOutTasks: heldOut.length, student, density, pretraining, seconds: (Date.now() - t0) / 1000 };
}
