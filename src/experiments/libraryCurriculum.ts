/**
 * A curriculum over a growing task library (GenSim's library in the loop): a learning-progress
 * teacher chooses which library task the student trains on next, and after every round the LLM is
 * asked for more tasks around the library tasks where learning progress is highest (bottom-up mode
 * with those tasks as the focus); accepted proposals join the library, and the teacher's choice, at
 * once.
 *
 * - Student: tabular Q-learning over observations (the observation vector is the state key; one
 *   table shared by every task, so what it learns on one task carries over to tasks that look alike),
 *   epsilon-greedy, for any family with discrete actions.
 * - Teacher: absolute learning progress per task, |mean of the last `window` returns - mean of the
 *   `window` before| (the windowed form of Matiisen et al. 2017's teacher-student curriculum and of
 *   ALP in Portelas et al. 2019); a task is chosen with probability proportional to it, uniformly
 *   with probability `explore`, and a task tried fewer than 2 x window times first. The baseline
 *   (`teacher: uniform`) draws every episode's task uniformly from the library; the LLM is asked
 *   for tasks around the highest-progress ones either way, so the two differ only in the choice.
 * - Held-out score (when `heldOut` tasks are given): after every round the student plays each
 *   held-out task `evalEpisodes` times with its greedy policy (no exploration, no update); the
 *   round's `heldOutReturn` is the mean return.
 */
import { Rng } from '../core/rng.js';
import { IcrlError } from '../core/errors.js';
import type { ChatClientLike } from '../core/llm/client.js';
import { proposeTasks, taskKey, type ProposalChecks, type ProposalOutcome, type SolvabilityCheck, type Task, type TaskLibrary, type TaskSpace, type LibraryEntry } from '../tasks/index.js';
import type { EnvFamily } from '../envs/index.js';

export interface LibraryCurriculumOptions {
  family: EnvFamily;
  options: Record<string, unknown>;
  space: TaskSpace;
  library: TaskLibrary;
  client: ChatClientLike;
  checks: ProposalChecks;
  solvable: (t: Task) => SolvabilityCheck;
  rounds: number;
  /** Training episodes per round. */
  episodes: number;
  /** New tasks asked for after each round (0: the library only). */
  propose: number;
  /** Library tasks with the highest learning progress given to the LLM as the focus. */
  focus: number;
  /** Returns per half of the learning-progress window. */
  window: number;
  /** Share of uniformly random choices. */
  explore: number;
  epsilon: number;
  alpha: number;
  gamma: number;
  seed: number;
  /** How the library task of each episode is chosen: by learning progress (default) or uniformly (the baseline). */
  teacher?: LibraryTeacher;
  /** Tasks the student never trains on, played greedily after every round. */
  heldOut?: Task[];
  /** Episodes per held-out task and round (default 1). */
  evalEpisodes?: number;
  temperature?: number;
  onAccept?: (e: LibraryEntry, lib: TaskLibrary) => void;
  log?: (line: string) => void;
}

export const LIBRARY_TEACHERS = ['learning-progress', 'uniform'] as const;
export type LibraryTeacher = (typeof LIBRARY_TEACHERS)[number];

export interface CurriculumRound {
  round: number;
  /** Library size when the round began, and after its proposals. */
  libraryBefore: number;
  libraryAfter: number;
  /** Mean training return of the round's episodes. */
  meanReturn: number;
  /** Share of the round's episodes with a positive return. */
  success: number;
  /** Distinct tasks trained on. */
  tasksTrained: number;
  /** Mean absolute learning progress over tasks with a full window, and the focus tasks' indices. */
  meanProgress: number;
  focus: number[];
  proposals: number;
  accepted: number;
  /** Mean greedy return on the held-out tasks after the round (null without held-out tasks). */
  heldOutReturn: number | null;
  /** Per held-out task, in order: its mean greedy return over the evaluation episodes. */
  heldOutReturns: number[];
}

/** Tabular Q-learning over observation keys, one table for every task. */
export class ObservationQStudent {
  private readonly q = new Map<string, Float64Array>();
  constructor(
    readonly numActions: number,
    readonly alpha: number,
    readonly gamma: number,
    private readonly rng: Rng,
  ) {}
  private row(key: string): Float64Array {
    let r = this.q.get(key);
    if (!r) {
      r = new Float64Array(this.numActions);
      this.q.set(key, r);
    }
    return r;
  }
  get states(): number {
    return this.q.size;
  }
  /** An epsilon-greedy action, ties broken at random (`rng`: the student's own stream unless given). */
  act(key: string, epsilon: number, rng: Rng = this.rng): number {
    if (epsilon > 0 && rng.uniform() < epsilon) return rng.int(this.numActions);
    const r = this.row(key);
    let best = 0;
    let ties = 0;
    for (let a = 0; a < this.numActions; a++) {
      if (r[a] > r[best]) {
        best = a;
        ties = 1;
      } else if (r[a] === r[best] && rng.int(++ties) === 0) best = a;
    }
    return best;
  }
  update(s: string, a: number, reward: number, s2: string, done: boolean): void {
    const r = this.row(s);
    let target = reward;
    if (!done) {
      const n = this.row(s2);
      let m = -Infinity;
      for (const v of n) m = Math.max(m, v);
      target += this.gamma * m;
    }
    r[a] += this.alpha * (target - r[a]);
  }
}

const obsKey = (obs: Float32Array, dim: number): string => Array.from(obs.subarray(0, dim)).join(',');

/** Absolute learning progress of a return history (null before 2 x window returns). */
export function learningProgress(returns: number[], window: number): number | null {
  if (returns.length < 2 * window) return null;
  const n = returns.length;
  let recent = 0;
  let before = 0;
  for (let k = 0; k < window; k++) {
    recent += returns[n - 1 - k];
    before += returns[n - 1 - window - k];
  }
  return Math.abs(recent - before) / window;
}

/** Runs the loop; returns one record per round. */
export async function runLibraryCurriculum(o: LibraryCurriculumOptions): Promise<{ rounds: CurriculumRound[]; proposals: ProposalOutcome[] }> {
  if (o.library.entries.length === 0) throw new IcrlError('library curriculum: the library is empty; seed it first (icrl tasks propose, or --init-split)');
  const env = o.family.make(1, o.options, new Rng(o.seed).split('env'));
  if (env.numActions <= 0) throw new IcrlError(`library curriculum: family ${o.family.name} has continuous actions; the tabular student needs discrete ones`);
  const rng = new Rng(o.seed);
  const student = new ObservationQStudent(env.numActions, o.alpha, o.gamma, rng.split('student'));
  const teach = rng.split('teacher');
  const history: number[][] = [];
  const rounds: CurriculumRound[] = [];
  const proposals: ProposalOutcome[] = [];
  const log = o.log ?? (() => undefined);
  const actions = new Int32Array(1);
  const teacher = o.teacher ?? 'learning-progress';
  if (!(LIBRARY_TEACHERS as readonly string[]).includes(teacher)) throw new IcrlError(`library curriculum: teacher must be one of ${LIBRARY_TEACHERS.join(', ')}, got "${String(teacher)}"`);
  const heldOut = o.heldOut ?? [];
  const evalEpisodes = o.evalEpisodes ?? 1;
  if (!Number.isInteger(evalEpisodes) || evalEpisodes < 1) throw new IcrlError(`library curriculum: evalEpisodes must be a positive integer, got ${evalEpisodes}`);
  const held = new Set(heldOut.map(taskKey));
  const evalRng = rng.split('held-out');
  /** One episode of the student on `task` (learning when `learn`); returns its return. */
  const playEpisode = (task: Task, resetSeed: number, epsilon: number, learn: boolean): number => {
    env.setTasks([task]);
    env.reset(resetSeed);
    let s = obsKey(env.obs, env.obsDim);
    let ret = 0;
    for (;;) {
      // held-out episodes break ties with their own stream, so scoring leaves the training run unchanged
      const a = learn ? student.act(s, epsilon) : student.act(s, epsilon, evalRng);
      actions[0] = a;
      env.step(actions);
      const r = env.rewards[0];
      const end = env.terminated[0] === 1 || env.truncated[0] === 1;
      const s2 = obsKey(end ? env.finalObs : env.obs, env.obsDim);
      if (learn) student.update(s, a, r, s2, env.terminated[0] === 1);
      ret += r;
      s = s2;
      if (end) return ret;
    }
  };
  for (let round = 0; round < o.rounds; round++) {
    const before = o.library.entries.length;
    while (history.length < before) history.push([]);
    // a library task equal to a held-out one (an LLM may write one) is never trained on
    const open = history.map((_, i) => i).filter((i) => !held.has(taskKey({ family: o.library.family, params: o.library.entries[i].params })));
    if (open.length === 0) throw new IcrlError('library curriculum: every library task is a held-out task');
    let total = 0;
    let wins = 0;
    const trained = new Set<number>();
    for (let e = 0; e < o.episodes; e++) {
      // the teacher's choice
      const fresh = open.filter((i) => history[i].length < 2 * o.window);
      let k: number;
      if (teacher === 'uniform') k = open[teach.int(open.length)];
      else if (fresh.length) k = fresh[teach.int(fresh.length)];
      else if (teach.uniform() < o.explore) k = open[teach.int(open.length)];
      else {
        const lp = open.map((i) => learningProgress(history[i], o.window) ?? 0);
        k = lp.some((v) => v > 0) ? open[teach.choice(lp)] : open[teach.int(open.length)];
      }
      trained.add(k);
      const ret = playEpisode({ family: o.library.family, params: o.library.entries[k].params }, teach.int(2 ** 31), o.epsilon, true);
      history[k].push(ret);
      total += ret;
      if (ret > 0) wins++;
    }
    const lps = history.map((h) => learningProgress(h, o.window));
    const known = lps.map((v, i) => [v, i] as const).filter((x): x is readonly [number, number] => x[0] !== null);
    const meanProgress = known.length ? known.reduce((s, [v]) => s + v, 0) / known.length : 0;
    const focus = [...known].sort((a, b) => b[0] - a[0]).slice(0, o.focus).map(([, i]) => i);
    let outcome: ProposalOutcome | null = null;
    if (o.propose > 0 && focus.length) {
      outcome = await proposeTasks({
        client: o.client,
        space: o.space,
        library: o.library,
        mode: { kind: 'explore', focus: focus.map((i) => ({ family: o.library.family, params: o.library.entries[i].params })) },
        count: o.propose,
        perRequest: o.propose,
        maxRequests: 1,
        solvable: o.solvable,
        checks: o.checks,
        temperature: o.temperature,
        onAccept: o.onAccept,
      });
      proposals.push(outcome);
    }
    const heldOutReturns = heldOut.map((t) => {
      let sum = 0;
      for (let e = 0; e < evalEpisodes; e++) sum += playEpisode(t, evalRng.int(2 ** 31), 0, false);
      return sum / evalEpisodes;
    });
    const heldOutReturn = heldOut.length > 0 ? heldOutReturns.reduce((a, b) => a + b, 0) / heldOut.length : null;
    const rec: CurriculumRound = {
      round,
      libraryBefore: before,
      libraryAfter: o.library.entries.length,
      meanReturn: total / o.episodes,
      success: wins / o.episodes,
      tasksTrained: trained.size,
      meanProgress,
      focus,
      proposals: outcome?.proposals ?? 0,
      accepted: outcome?.added.length ?? 0,
      heldOutReturn,
      heldOutReturns,
    };
    rounds.push(rec);
    log(
      `curriculum round ${round}: ${o.episodes} episodes on ${trained.size} of ${before} library tasks, mean return ${rec.meanReturn.toFixed(3)}, success ${rec.success.toFixed(2)}, mean learning progress ${meanProgress.toFixed(3)}; asked for ${o.propose} around tasks [${focus.join(', ')}]: ${rec.proposals} proposals, ${rec.accepted} accepted; library ${rec.libraryAfter}; student ${student.states} states${heldOutReturn === null ? '' : `; held-out greedy return ${heldOutReturn.toFixed(3)}`}`,
    );
  }
  return { rounds, proposals };
}
