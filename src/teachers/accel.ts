/**
 * ACCEL (Parker-Holder, Jiang, Dennis et al. 2022, "Evolving Curricula with Regret-Based Environment
 * Design"; code: facebookresearch/dcd): robust PLR whose replayed levels are edited. A level buffer
 * holds tasks with a regret score each. Each proposal is one of
 * - a replay (probability `replayProb` once the buffer holds `rho` x `bufferSize` levels): a buffered
 *   level drawn from P = (1 - staleness) P_rank + staleness P_stale, P_rank by rank with temperature
 *   (h = rank^(-1/T)), P_stale proportional to the episodes since the level was last recorded. The
 *   learner trains on it; with probability `editorProb` the level is edited (`edits` random edits
 *   of the task space's `mutate`) and the edited level is proposed next;
 * - an edited level, or a new level drawn from the task space: evaluated only (`lastSampleTrains`
 *   false) when `robust` (the published setting), their regret scored.
 * A level whose score exceeds the lowest buffered score replaces it (the editor keeps the
 * high-regret edits); while the buffer has room, every level enters.
 *
 * The teacher sees returns only, not the learner's value estimates, so it keeps its own: V, a
 * running average of the returns recorded on the level (V <- V + valueRate (return - V)). Scores
 * (`score`), the published regret estimates with the learner's value of the start replaced by V:
 * - `max-mc` (default): MaxMC, the highest return ever recorded on the level minus V (high while
 *   the learner improves there or succeeds only sometimes, 0 once it always gets its best);
 * - `positive-value-loss`: max(0, return - V before the update);
 * - `return-change`: |latest return - previous return on the level| (this project's PLR).
 * A level seen for the first time has no returns of its own to compare with: a new level from the
 * task space scores 0 (it enters only while the buffer has room), an edited level starts with its
 * parent's score (ACCEL's bet that edits of high-regret levels have a high regret too), so it enters
 * in place of a lower-scored level and is replayed; its own returns then decide whether it stays
 * (an edit the learner can do nothing with drops to 0). Levels not (yet) in the buffer keep their statistics in a bounded list of candidates (as many as the buffer), so a level
 * recorded over several episodes (a learning history) is scored on all of them.
 *
 * Levels are tasks, not unit-hypercube points, so ACCEL works on any task space that can sample
 * and edit its tasks (rule sets of the xland family included).
 */
import { IcrlError } from '../core/errors.js';
import type { JsonValue } from '../core/spaces.js';
import { Rng, type Seed } from '../core/rng.js';
import { taskKey, type Task, type TaskSpace } from '../tasks/taskSpace.js';
import { UnitEncoding, UnsupportedTaskSpaceError } from './encoding.js';
import { checkTeacherState, teacherState, numArray, objectOf, type BaseTeacherOptions, type RegisteredTeacher, type TeacherState } from './teacher.js';

export const ACCEL_SCORES = ['max-mc', 'positive-value-loss', 'return-change'] as const;
export type AccelScore = (typeof ACCEL_SCORES)[number];

export interface AccelOptions extends BaseTeacherOptions {
  bufferSize?: number;
  replayProb?: number;
  rho?: number;
  staleness?: number;
  temperature?: number;
  edits?: number;
  editorProb?: number;
  /** Gaussian step of the default edit of a box dimension, as a fraction of its width. */
  boxStep?: number;
  score?: AccelScore;
  /** Step size of the running average V of a level's returns. */
  valueRate?: number;
  /** Train only on replayed levels (robust PLR's `no_exploratory_grad_updates`; default true). */
  robust?: boolean;
}

/** The published MiniGrid settings of facebookresearch/dcd (mg_60b_uni_accel_empty.json). */
export const ACCEL_DEFAULTS = { bufferSize: 4000, replayProb: 0.8, rho: 0.5, staleness: 0.3, temperature: 0.3, edits: 5, editorProb: 1, boxStep: 0.1, score: 'max-mc' as AccelScore, valueRate: 0.5, robust: true };

interface Level {
  task: Task;
  key: string;
  score: number;
  lastPlayed: number;
  maxReturn: number;
  lastReturn: number;
  /** Running average of the level's returns. */
  value: number;
}

export class AccelTeacher implements RegisteredTeacher {
  readonly name = 'accel';
  readonly bufferSize: number;
  readonly replayProb: number;
  readonly rho: number;
  readonly staleness: number;
  readonly temperature: number;
  readonly edits: number;
  readonly editorProb: number;
  readonly boxStep: number;
  readonly scoreKind: AccelScore;
  readonly valueRate: number;
  readonly robust: boolean;
  episodes = 0;
  lastSampleTrains = true;
  /** Proposals by kind, for reports. */
  readonly counts = { replay: 0, edit: 0, new: 0 };
  private rng: Rng;
  private levels: Level[] = [];
  private index = new Map<string, number>();
  /** Levels outside the buffer, oldest first (bounded by bufferSize). */
  private candidates = new Map<string, Level>();
  /** Edited levels waiting to be proposed, with their parent's score. */
  private pending: { task: Task; prior: number }[] = [];
  /** Proposed edited levels not yet recorded: their parent's score, by task key (oldest first). */
  private priors = new Map<string, number>();
  private readonly enc: UnitEncoding | null;
  private readonly unsupported: string;
  private readonly returnRange?: [number, number];

  constructor(
    readonly space: TaskSpace,
    seed: Seed | Rng,
    opts: AccelOptions = {},
  ) {
    this.rng = seed instanceof Rng ? seed : new Rng(seed);
    const o = { ...ACCEL_DEFAULTS, ...stripUndefined(opts) };
    this.bufferSize = o.bufferSize;
    this.replayProb = o.replayProb;
    this.rho = o.rho;
    this.staleness = o.staleness;
    this.temperature = o.temperature;
    this.edits = o.edits;
    this.editorProb = o.editorProb;
    this.boxStep = o.boxStep;
    this.scoreKind = o.score;
    this.valueRate = o.valueRate;
    this.robust = o.robust;
    const n = this.name;
    if (!Number.isInteger(this.bufferSize) || this.bufferSize < 1) throw new IcrlError(`${n}: bufferSize must be a positive integer, got ${this.bufferSize}`);
    for (const [k, v] of [['replayProb', this.replayProb], ['rho', this.rho], ['staleness', this.staleness], ['editorProb', this.editorProb]] as const) {
      if (!(v >= 0 && v <= 1)) throw new IcrlError(`${n}: ${k} must be in [0, 1], got ${v}`);
    }
    if (!(this.temperature > 0)) throw new IcrlError(`${n}: temperature must be > 0, got ${this.temperature}`);
    if (!Number.isInteger(this.edits) || this.edits < 0) throw new IcrlError(`${n}: edits must be a non-negative integer, got ${this.edits}`);
    if (!(this.valueRate > 0 && this.valueRate <= 1)) throw new IcrlError(`${n}: valueRate must be in (0, 1], got ${this.valueRate}`);
    if (!(this.boxStep > 0)) throw new IcrlError(`${n}: boxStep must be > 0, got ${this.boxStep}`);
    if (!(ACCEL_SCORES as readonly string[]).includes(this.scoreKind)) throw new IcrlError(`${n}: score must be one of ${ACCEL_SCORES.join(', ')}, got ${String(this.scoreKind)}`);
    if (space.params.keys.length === 0) throw new UnsupportedTaskSpaceError(`${space.family}: the task space has no parameters; a teacher has nothing to choose`);
    if (opts.returnRange) {
      const [lo, hi] = opts.returnRange;
      if (!Number.isFinite(lo) || !Number.isFinite(hi) || !(hi > lo)) throw new IcrlError(`${n}: returnRange must be [low, high] with low < high, got [${lo}, ${hi}]`);
      this.returnRange = [lo, hi];
    }
    let enc: UnitEncoding | null = null;
    let why = '';
    try {
      enc = new UnitEncoding(space);
    } catch (e) {
      if (!(e instanceof UnsupportedTaskSpaceError)) throw e;
      why = e.message;
    }
    this.enc = enc;
    this.unsupported = why;
  }

  get dims(): number {
    return this.enc ? this.enc.dims : 0;
  }

  /** Levels in the buffer. */
  get size(): number {
    return this.levels.length;
  }

  /** The buffered levels with their scores (highest first), for reports and tests. */
  buffer(): { task: Task; score: number }[] {
    return this.levels.map((l) => ({ task: l.task, score: l.score })).sort((a, b) => b.score - a.score);
  }

  sample(): Task {
    this.lastSampleTrains = true;
    const edited = this.pending.shift();
    if (edited) {
      this.counts.edit++;
      if (this.robust) this.lastSampleTrains = false;
      const k = taskKey(edited.task);
      this.priors.delete(k);
      this.priors.set(k, edited.prior);
      if (this.priors.size > this.bufferSize) this.priors.delete(this.priors.keys().next().value as string);
      return structuredClone(edited.task);
    }
    if (this.levels.length > 0 && this.levels.length >= Math.ceil(this.rho * this.bufferSize) && this.rng.uniform53() < this.replayProb) {
      const i = this.rng.uniform53() < this.staleness ? this.pickStale() : this.pickByRank();
      const level = this.levels[i];
      if (this.editorProb > 0 && this.rng.uniform53() < this.editorProb) this.pending.push({ task: this.space.mutate(level.task, this.rng, { edits: this.edits, boxStep: this.boxStep }), prior: level.score });
      this.counts.replay++;
      return structuredClone(level.task);
    }
    const task = this.space.sample(this.rng);
    this.counts.new++;
    if (this.robust && !this.index.has(taskKey(task))) this.lastSampleTrains = false;
    return task;
  }

  private pickStale(): number {
    const w = new Float64Array(this.levels.length);
    let total = 0;
    for (let i = 0; i < w.length; i++) {
      w[i] = this.episodes - this.levels[i].lastPlayed;
      total += w[i];
    }
    return total > 0 ? this.rng.choice(w) : this.rng.int(w.length);
  }

  private pickByRank(): number {
    const n = this.levels.length;
    const sorted = Float64Array.from(this.levels, (l) => l.score).sort();
    const w = new Float64Array(n);
    for (let r = 0; r < n; r++) w[r] = Math.pow(r + 1, -1 / this.temperature);
    // rank 1 = highest score; levels with equal scores share their ranks (uniform among them)
    const v = sorted[n - 1 - this.rng.choice(w)];
    const ties: number[] = [];
    for (let i = 0; i < n; i++) if (this.levels[i].score === v) ties.push(i);
    return ties[this.rng.int(ties.length)];
  }

  record(task: Task, ret: number): void {
    this.space.check(task);
    if (typeof ret !== 'number' || !Number.isFinite(ret)) {
      throw new IcrlError(`${this.name}: episode ${this.episodes}: return must be a finite number, got ${String(ret)}`);
    }
    let r = ret;
    if (this.returnRange) {
      const [lo, hi] = this.returnRange;
      r = Math.min(1, Math.max(0, (ret - lo) / (hi - lo)));
    }
    const key = taskKey(task);
    const at = this.index.get(key);
    const level = at !== undefined ? this.levels[at] : this.candidates.get(key);
    if (level) {
      level.maxReturn = Math.max(level.maxReturn, r);
      const before = level.value;
      level.value += this.valueRate * (r - level.value);
      level.score = this.scoreKind === 'max-mc' ? level.maxReturn - level.value : this.scoreKind === 'positive-value-loss' ? Math.max(0, r - before) : Math.abs(r - level.lastReturn);
      level.lastReturn = r;
      level.lastPlayed = this.episodes;
    }
    this.episodes++;
    if (at !== undefined) return;
    const prior = this.priors.get(key) ?? 0;
    this.priors.delete(key);
    const cand: Level = level ?? { task: structuredClone(task), key, score: prior, lastPlayed: this.episodes - 1, maxReturn: r, lastReturn: r, value: r };
    this.candidates.delete(key);
    if (this.levels.length < this.bufferSize) {
      this.insert(this.levels.length, cand);
      return;
    }
    let min = 0;
    for (let i = 1; i < this.levels.length; i++) if (this.levels[i].score < this.levels[min].score) min = i;
    if (cand.score > this.levels[min].score) {
      const out = this.levels[min];
      this.index.delete(out.key);
      this.keepCandidate(out);
      this.insert(min, cand);
    } else this.keepCandidate(cand);
  }

  private insert(slot: number, level: Level): void {
    this.levels[slot] = level;
    this.index.set(level.key, slot);
  }

  private keepCandidate(level: Level): void {
    this.candidates.set(level.key, level);
    if (this.candidates.size > this.bufferSize) this.candidates.delete(this.candidates.keys().next().value as string);
  }

  private requireUnit(): UnitEncoding {
    if (!this.enc) throw new UnsupportedTaskSpaceError(`${this.name}: unit-hypercube proposals need a task space of box, discrete and categorical parameters (${this.unsupported})`);
    return this.enc;
  }

  sampleUnit(out: Float64Array = new Float64Array(this.dims)): Float64Array {
    const enc = this.requireUnit();
    return enc.encode(this.sample(), out);
  }

  recordUnit(u: ArrayLike<number>, ret: number): void {
    const enc = this.requireUnit();
    this.record(enc.decode(u), ret);
  }

  saveState(): TeacherState {
    const lv = (l: Level) => ({ task: l.task.params, score: l.score, lastPlayed: l.lastPlayed, maxReturn: l.maxReturn, lastReturn: l.lastReturn, value: l.value });
    return teacherState(this.name, this.space, this.episodes, this.rng, {
      levels: this.levels.map(lv),
      candidates: [...this.candidates.values()].map(lv),
      pending: this.pending.map((p) => ({ task: p.task.params, prior: p.prior })),
      priors: [...this.priors],
      counts: { ...this.counts },
    });
  }

  loadState(state: unknown, source = 'teacher state'): void {
    const s = checkTeacherState(state, this.name, this.space, source);
    const d = objectOf(s.data, source);
    const levelsOf = (v: unknown, what: string): Level[] => {
      if (!Array.isArray(v)) throw new IcrlError(`${source}: data.${what} must be an array`);
      return v.map((x, i) => {
        const o = objectOf(x, `${source}: data.${what}[${i}]`);
        const task = this.taskOf(o.task, `${source}: data.${what}[${i}].task`);
        const [score, lastPlayed, maxReturn, lastReturn, value] = numArray([o.score, o.lastPlayed, o.maxReturn, o.lastReturn, o.value], `${what}[${i}] (score, lastPlayed, maxReturn, lastReturn, value)`, source);
        return { task, key: taskKey(task), score, lastPlayed, maxReturn, lastReturn, value };
      });
    };
    const levels = levelsOf(d.levels, 'levels');
    if (levels.length > this.bufferSize) throw new IcrlError(`${source}: data.levels holds ${levels.length} levels, more than the buffer size ${this.bufferSize}`);
    const candidates = levelsOf(d.candidates, 'candidates');
    if (!Array.isArray(d.pending)) throw new IcrlError(`${source}: data.pending must be an array`);
    const pending = d.pending.map((p, i) => {
      const o = objectOf(p, `${source}: data.pending[${i}]`);
      return { task: this.taskOf(o.task, `${source}: data.pending[${i}].task`), prior: numArray([o.prior], `pending[${i}].prior`, source)[0] };
    });
    if (!Array.isArray(d.priors) || d.priors.some((e) => !Array.isArray(e) || typeof e[0] !== 'string' || typeof e[1] !== 'number' || !Number.isFinite(e[1]))) {
      throw new IcrlError(`${source}: data.priors must be an array of [task key, score] pairs`);
    }
    const c = objectOf(d.counts, `${source}: data.counts`);
    const [replay, edit, fresh] = numArray([c.replay, c.edit, c.new], 'counts', source);
    this.priors = new Map(d.priors as [string, number][]);
    this.levels = levels;
    this.index = new Map(levels.map((l, i) => [l.key, i]));
    this.candidates = new Map(candidates.map((l) => [l.key, l]));
    this.pending = pending;
    Object.assign(this.counts, { replay, edit, new: fresh });
    this.rng = Rng.fromState(s.rng);
    this.episodes = s.episodes;
  }

  private taskOf(params: unknown, where: string): Task {
    try {
      return this.space.check({ family: this.space.family, params: params as Record<string, JsonValue> });
    } catch (e) {
      throw new IcrlError(`${where}: ${(e as Error).message}`);
    }
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
