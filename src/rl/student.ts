/**
 * Task-conditioned deep-RL students driven by teachers (the ALP-GMM paper's set-up: a SAC student
 * whose task - a walker's morphology, an obstacle course - is chosen episode by episode by a
 * curriculum teacher).
 *
 * `TaskConditionedEnv` wraps a batched environment: each instance's task parameters, as the unit
 * coordinates the teachers work in (every box parameter mapped linearly from [low, high] to [0, 1],
 * see `UnitEncoding`), are appended to its observation, and whenever an instance's episode ends a
 * `TaskChooser` is told the task and the episode's return and names the task of that instance's
 * next episode. The SAC and PPO agents run on it unchanged: learner i sees instance i, so N learners
 * in one batched learner set are N students, each with its own teacher (`TeacherChooser`).
 *
 * `trainStudents` trains such a learner set and scores every student, at regular intervals, by its
 * greedy policy's return on a fixed set of test tasks (the same for every student).
 */
import { IcrlError } from '../core/errors.js';
import { BoxSpace, type Space } from '../core/spaces.js';
import { existsSync, rmSync } from 'node:fs';
import type { Rng } from '../core/rng.js';
import type { Task, TaskSpace } from '../tasks/taskSpace.js';
import type { ActionArray, BatchedEnv, EnvSetting } from '../envs/types.js';
import { UnitEncoding } from '../teachers/encoding.js';
import type { Teacher } from '../teachers/teacher.js';
import type { GreedyActor } from './curves.js';
import type { ResumeHooks } from './histories.js';

/** What the chooser learns when an instance's episode has ended. */
export interface EndedEpisode {
  task: Task;
  /** sum of the episode's rewards */
  ret: number;
  /** the family's success flag of the episode (reach, push), null where it has none */
  success: number | null;
}

/** Names each instance's next task: at `reset` (ended null) and after each of its episodes. */
export interface TaskChooser {
  next(i: number, ended: EndedEpisode | null): Task;
}

/** Every instance keeps its task (evaluation on fixed tasks; set them with `setTasks`). */
export const KEEP_TASKS: TaskChooser = {
  next(): Task {
    throw new IcrlError('KEEP_TASKS: no task to keep (call setTasks before reset on a task-conditioned environment without a chooser)', 'STATE');
  },
};

/**
 * One teacher per instance: teacher i is told each return of instance i and picks its next task.
 * Teachers that want an episode played without training (robust PLR) are refused: a deep learner
 * here trains on every step it plays.
 */
export class TeacherChooser implements TaskChooser {
  constructor(readonly teachers: readonly Teacher[]) {
    if (teachers.length === 0) throw new IcrlError('TeacherChooser: needs one teacher per instance, got none', 'CONFIG');
  }

  next(i: number, ended: EndedEpisode | null): Task {
    const t = this.teachers[i];
    if (!t) throw new IcrlError(`TeacherChooser: no teacher for instance ${i} (${this.teachers.length} teachers)`, 'CONFIG');
    if (ended) t.record(ended.task, ended.ret);
    const task = t.sample();
    if (!t.lastSampleTrains) throw new IcrlError(`TeacherChooser: teacher ${t.name} (instance ${i}) proposed an evaluation-only task; deep students train on every episode, use a teacher that trains on what it proposes`, 'CONFIG');
    return task;
  }
}

function successFlags(env: BatchedEnv): Uint8Array | null {
  const f = (env as { finalEpisodeSuccess?: unknown }).finalEpisodeSuccess;
  return f instanceof Uint8Array && f.length === env.numEnvs ? f : null;
}

/**
 * A batched environment whose observations end with each instance's task in unit coordinates
 * (`obsDim = inner.obsDim + encoding.dims`); tasks come from `chooser` at every episode start.
 * `finalObs` carries the task of the episode that ended. Rewards, episode ends and actions are the
 * inner environment's.
 */
export class TaskConditionedEnv implements BatchedEnv {
  readonly family: string;
  readonly setting: EnvSetting;
  readonly options: Readonly<object>;
  readonly numEnvs: number;
  readonly taskSpace: TaskSpace;
  readonly observationSpace: Space;
  readonly actionSpace: Space;
  readonly obsDim: number;
  readonly numActions: number;
  readonly actDim: number;
  readonly numStates = 0;
  readonly horizon: number;
  readonly exactOracle = false;
  readonly obs: Float32Array;
  readonly finalObs: Float32Array;
  readonly rewards: Float32Array;
  readonly terminated: Uint8Array;
  readonly truncated: Uint8Array;
  readonly stateIndex: Int32Array;
  readonly encoding: UnitEncoding;
  /** the success flag of the episode that just ended where the family reports one (mirrors the inner flags) */
  readonly finalEpisodeSuccess?: Uint8Array;
  /** unit coordinates of each instance's current task (numEnvs x dims) */
  readonly condition: Float32Array;
  /** episodes finished per instance */
  readonly episodes: Int32Array;
  private readonly tasks: Task[];
  private readonly returns: Float64Array;
  private readonly innerSuccess: Uint8Array | null;
  private readonly unit: Float64Array;

  constructor(
    readonly inner: BatchedEnv,
    public chooser: TaskChooser = KEEP_TASKS,
    space: TaskSpace = inner.taskSpace,
  ) {
    if (!inner.setTask || !inner.getTask) throw new IcrlError(`TaskConditionedEnv: ${inner.family} cannot set one instance's task (no setTask / getTask)`, 'CONFIG');
    this.encoding = new UnitEncoding(space);
    const k = this.encoding.dims;
    const n = inner.numEnvs;
    this.family = inner.family;
    this.setting = inner.setting;
    this.options = inner.options;
    this.numEnvs = n;
    this.taskSpace = space;
    this.actionSpace = inner.actionSpace;
    this.numActions = inner.numActions;
    this.actDim = inner.actDim;
    this.horizon = inner.horizon;
    this.obsDim = inner.obsDim + k;
    const os = inner.observationSpace;
    this.observationSpace =
      os instanceof BoxSpace ? new BoxSpace([...os.spec.low, ...new Array<number>(k).fill(0)], [...os.spec.high, ...new Array<number>(k).fill(1)]) : new BoxSpace(new Array<number>(this.obsDim).fill(-3.4e38), new Array<number>(this.obsDim).fill(3.4e38));
    this.obs = new Float32Array(n * this.obsDim);
    this.finalObs = new Float32Array(n * this.obsDim);
    this.rewards = new Float32Array(n);
    this.terminated = new Uint8Array(n);
    this.truncated = new Uint8Array(n);
    this.stateIndex = new Int32Array(n);
    this.condition = new Float32Array(n * k);
    this.episodes = new Int32Array(n);
    this.returns = new Float64Array(n);
    this.unit = new Float64Array(k);
    this.innerSuccess = successFlags(inner);
    if (this.innerSuccess) this.finalEpisodeSuccess = new Uint8Array(n);
    this.tasks = Array.from({ length: n }, (_, i) => inner.getTask!(i));
    for (let i = 0; i < n; i++) this.encodeTask(i);
  }

  get episodeStep(): Int32Array {
    return this.inner.episodeStep;
  }

  private encodeTask(i: number): void {
    const k = this.encoding.dims;
    this.encoding.encode(this.tasks[i], this.unit);
    for (let j = 0; j < k; j++) this.condition[i * k + j] = this.unit[j];
  }

  /** writes instance i's row: the inner row of `src` followed by its task's unit coordinates */
  private writeRow(dst: Float32Array, src: Float32Array, i: number): void {
    const d = this.inner.obsDim;
    const k = this.encoding.dims;
    const D = this.obsDim;
    dst.set(src.subarray(i * d, (i + 1) * d), i * D);
    dst.set(this.condition.subarray(i * k, (i + 1) * k), i * D + d);
  }

  private place(i: number, task: Task): void {
    this.inner.setTask!(i, task);
    this.tasks[i] = this.inner.getTask!(i);
    this.encodeTask(i);
    this.returns[i] = 0;
  }

  setTasks(tasks: Task[]): void {
    this.inner.setTasks(tasks);
    for (let i = 0; i < this.numEnvs; i++) {
      this.tasks[i] = this.inner.getTask!(i);
      this.encodeTask(i);
      this.returns[i] = 0;
      this.writeRow(this.obs, this.inner.obs, i);
    }
  }

  setTask(i: number, task: Task): void {
    this.place(i, task);
    this.writeRow(this.obs, this.inner.obs, i);
  }

  getTask(i: number): Task {
    if (!Number.isInteger(i) || i < 0 || i >= this.numEnvs) throw new IcrlError(`TaskConditionedEnv(${this.family}): instance ${i} out of range [0, ${this.numEnvs})`, 'CONFIG');
    return this.tasks[i];
  }

  /** Starts fresh episodes on every instance's current task (no chooser asked): the resume points' reset. */
  restart(seed?: number): Float32Array {
    return this.startEpisodes(seed, false);
  }

  /** Starts fresh episodes; with a chooser, each instance's task comes from it (ended = null). */
  reset(seed?: number): Float32Array {
    return this.startEpisodes(seed, this.chooser !== KEEP_TASKS);
  }

  private startEpisodes(seed: number | undefined, askChooser: boolean): Float32Array {
    this.inner.reset(seed);
    for (let i = 0; i < this.numEnvs; i++) {
      if (askChooser) this.place(i, this.chooser.next(i, null));
      this.returns[i] = 0;
      this.writeRow(this.obs, this.inner.obs, i);
    }
    this.rewards.fill(0);
    this.terminated.fill(0);
    this.truncated.fill(0);
    return this.obs;
  }

  step(actions: ActionArray): void {
    const inner = this.inner;
    inner.step(actions);
    this.rewards.set(inner.rewards);
    this.terminated.set(inner.terminated);
    this.truncated.set(inner.truncated);
    const flags = this.innerSuccess;
    for (let i = 0; i < this.numEnvs; i++) {
      this.returns[i] += inner.rewards[i];
      if (inner.terminated[i] || inner.truncated[i]) {
        this.writeRow(this.finalObs, inner.finalObs, i);
        if (flags) this.finalEpisodeSuccess![i] = flags[i];
        const ended: EndedEpisode = { task: this.tasks[i], ret: this.returns[i], success: flags ? flags[i] : null };
        this.episodes[i]++;
        this.returns[i] = 0;
        if (this.chooser !== KEEP_TASKS) this.place(i, this.chooser.next(i, ended));
      }
      this.writeRow(this.obs, inner.obs, i);
    }
  }

  oracleAction(_i: number, _out?: Float32Array): number {
    throw new IcrlError(`TaskConditionedEnv(${this.family}): no oracle for a task-conditioned student`, 'CONFIG');
  }

  oracleValue(_i: number): number {
    throw new IcrlError(`TaskConditionedEnv(${this.family}): no oracle for a task-conditioned student`, 'CONFIG');
  }

  close(): void {
    (this.inner as { close?: () => void }).close?.();
  }
}

/** What `trainStudents` needs to write resume points and continue from one after a kill. */
export interface StudentResume {
  /** the resume point file */
  file: string;
  /** a resume point every this many steps, where every instance has just started an episode */
  every: number;
  /** identity of the run (JSON): a resume point of another run is refused */
  runId: unknown;
  /** how the learner set saves and restores itself (sacHooks(agent).resumable, ppoHooks(agent).resumable) */
  hooks: ResumeHooks;
  /** the teachers behind the chooser (their states are saved with the learners) */
  teachers: readonly Teacher[];
}

export interface StudentTrainingOptions {
  /** the learner set (SacAgent, PpoAgent): one learner per instance of `env` */
  agent: GreedyActor;
  /** the training environment (its chooser names the tasks) */
  env: TaskConditionedEnv;
  /** an environment of the same family, options and instance count for the test episodes */
  evalEnv: TaskConditionedEnv;
  /** the fixed test tasks every student is scored on */
  testTasks: Task[];
  /** environment steps per student */
  steps: number;
  /** evaluate every this many steps (and at 0 and at the end) */
  evalEvery: number;
  rng: Rng;
  /** called after each evaluation */
  onEval?: (step: number, testReturns: number[][]) => void;
  /** resume points (none without) */
  resume?: StudentResume;
}

export interface StudentCurves {
  /** environment steps per student at each evaluation */
  steps: number[];
  /** [evaluation][student][test task]: the greedy return of one episode on each test task */
  testReturns: number[][][];
  /** [student]: the tasks its teacher chose, in order, with their returns (training episodes) */
  chosen: { task: Task; ret: number }[][];
  trainSeconds: number;
}

/**
 * Greedy return of every student on every test task: one episode per task, the tasks played one
 * after another with every student on the same task ([student][task]).
 */
export function evaluateStudents(agent: GreedyActor, evalEnv: TaskConditionedEnv, testTasks: Task[], seed?: number): number[][] {
  const n = evalEnv.numEnvs;
  if (seed !== undefined) evalEnv.inner.reset(seed);
  const out = evalEnv.numActions > 0 ? new Int32Array(n) : new Float32Array(n * evalEnv.actDim);
  const res = Array.from({ length: n }, () => new Array<number>(testTasks.length).fill(0));
  testTasks.forEach((task, k) => {
    evalEnv.setTasks([task]);
    const ret = new Float64Array(n);
    for (let t = 0; t < evalEnv.horizon; t++) {
      agent.actGreedy(evalEnv.obs, out);
      evalEnv.step(out);
      for (let i = 0; i < n; i++) ret[i] += evalEnv.rewards[i];
    }
    for (let i = 0; i < n; i++) res[i][k] = ret[i];
  });
  return res;
}

/** A chooser that records what another one chose (for the curves' `chosen` lists). */
class RecordingChooser implements TaskChooser {
  readonly chosen: { task: Task; ret: number }[][];
  constructor(
    readonly base: TaskChooser,
    n: number,
  ) {
    this.chosen = Array.from({ length: n }, () => []);
  }
  next(i: number, ended: EndedEpisode | null): Task {
    if (ended) this.chosen[i].push({ task: ended.task, ret: ended.ret });
    return this.base.next(i, ended);
  }
}

const seedAt = (rng: Rng, what: string, t: number): number => rng.split(`${what}-${t}`).nextU32();

/**
 * Trains every student for `steps` steps, its tasks chosen by `env.chooser`, scoring it on `testTasks`.
 *
 * Each evaluation resets the evaluation environment with a seed of its own step. With `resume`, a
 * resume point (the learners with their replay buffers or rollouts, the teachers' states, every
 * instance's task and episode count, the curves so far) is written every `resume.every` steps where
 * every instance has just started an episode, and the training environment is then restarted on the
 * same tasks with a seed of that step, in the uninterrupted run as in a resumed one: a run killed
 * after a resume point and started again with the same options ends with the same curves and
 * learners as one never killed.
 */
export function trainStudents(o: StudentTrainingOptions): StudentCurves {
  const { agent, env, evalEnv } = o;
  if (evalEnv.numEnvs !== env.numEnvs) throw new IcrlError(`trainStudents: evaluation environment has ${evalEnv.numEnvs} instances, training ${env.numEnvs}`, 'CONFIG');
  if (evalEnv.obsDim !== env.obsDim) throw new IcrlError(`trainStudents: evaluation observations have ${evalEnv.obsDim} values, training ${env.obsDim}`, 'CONFIG');
  if (o.testTasks.length === 0) throw new IcrlError('trainStudents: no test tasks', 'CONFIG');
  if (!(Number.isInteger(o.steps) && o.steps >= 1)) throw new IcrlError(`trainStudents: steps must be a positive integer, got ${o.steps}`, 'CONFIG');
  if (!(Number.isInteger(o.evalEvery) && o.evalEvery >= 1)) throw new IcrlError(`trainStudents: evalEvery must be a positive integer, got ${o.evalEvery}`, 'CONFIG');
  const rs = o.resume;
  if (rs && !(Number.isInteger(rs.every) && rs.every >= 1)) throw new IcrlError(`trainStudents: resume.every must be a positive integer, got ${rs.every}`, 'CONFIG');
  if (rs && rs.teachers.length !== env.numEnvs) throw new IcrlError(`trainStudents: resume needs the ${env.numEnvs} teachers behind the chooser, got ${rs.teachers.length}`, 'CONFIG');
  const rec = new RecordingChooser(env.chooser, env.numEnvs);
  env.chooser = rec;
  try {
    env.reset(rs ? seedAt(o.rng, 'env', 0) : undefined);
    const r = agent.reset(env, o.rng);
    if (r instanceof Promise) throw new IcrlError(`trainStudents: ${agent.name} resets asynchronously`, 'CONFIG');
    const out = env.numActions > 0 ? new Int32Array(env.numEnvs) : new Float32Array(env.numEnvs * env.actDim);
    const curves: StudentCurves = { steps: [], testReturns: [], chosen: rec.chosen, trainSeconds: 0 };
    const evaluate = (t: number): void => {
      const res = evaluateStudents(agent, evalEnv, o.testTasks, seedAt(o.rng, 'eval', t));
      curves.steps.push(t);
      curves.testReturns.push(res);
      o.onEval?.(t, res);
    };
    let start = 1;
    if (rs && existsSync(rs.file)) {
      const extra = rs.hooks.restore(rs.file) as unknown as StudentResumeExtra;
      if (JSON.stringify(extra.run) !== JSON.stringify(rs.runId)) throw new IcrlError(`${rs.file}: a resume point of another run (${JSON.stringify(extra.run)}); delete it to start over`, 'CONFIG');
      const n = env.numEnvs;
      if (!Array.isArray(extra.teachers) || extra.teachers.length !== n || !Array.isArray(extra.tasks) || extra.tasks.length !== n || !Array.isArray(extra.chosen) || extra.chosen.length !== n || !Array.isArray(extra.episodes) || extra.episodes.length !== n)
        throw new IcrlError(`${rs.file}: the resume point does not hold ${n} teachers, tasks, episode counts and chosen lists`, 'CORRUPT_FILE');
      rs.teachers.forEach((t, i) => t.loadState(extra.teachers[i], `${rs.file} (teacher ${i})`));
      for (let i = 0; i < n; i++) {
        env.setTask(i, extra.tasks[i]);
        env.episodes[i] = extra.episodes[i];
        rec.chosen[i].push(...extra.chosen[i]);
      }
      curves.steps.push(...extra.steps);
      curves.testReturns.push(...extra.testReturns);
      curves.trainSeconds = extra.trainSeconds;
      start = extra.t + 1;
      env.restart(seedAt(o.rng, 'env', extra.t));
    } else evaluate(0);
    let t0 = performance.now();
    for (let t = start; t <= o.steps; t++) {
      const a = agent.act(env.obs, out);
      if (a instanceof Promise) throw new IcrlError(`trainStudents: ${agent.name} acts asynchronously`, 'CONFIG');
      env.step(out);
      agent.observe({ actions: out, rewards: env.rewards, obs: env.obs, terminated: env.terminated, truncated: env.truncated });
      if (t % o.evalEvery === 0 || t === o.steps) {
        curves.trainSeconds += (performance.now() - t0) / 1000;
        evaluate(t);
        t0 = performance.now();
      }
      if (rs && t % rs.every === 0 && t < o.steps && env.episodeStep.every((s) => s === 0)) {
        curves.trainSeconds += (performance.now() - t0) / 1000;
        env.restart(seedAt(o.rng, 'env', t));
        const extra: StudentResumeExtra = {
          t,
          run: rs.runId,
          teachers: rs.teachers.map((x) => x.saveState()),
          tasks: Array.from({ length: env.numEnvs }, (_, i) => env.getTask(i)),
          episodes: Array.from(env.episodes),
          chosen: rec.chosen,
          steps: curves.steps,
          testReturns: curves.testReturns,
          trainSeconds: curves.trainSeconds,
        };
        rs.hooks.save(rs.file, extra as unknown as Record<string, unknown>, {});
        t0 = performance.now();
      }
    }
    if (rs) rmSync(rs.file, { force: true });
    return curves;
  } finally {
    env.chooser = rec.base;
  }
}

interface StudentResumeExtra {
  t: number;
  run: unknown;
  teachers: unknown[];
  tasks: Task[];
  episodes: number[];
  chosen: { task: Task; ret: number }[][];
  steps: number[];
  testReturns: number[][][];
  trainSeconds: number;
}
