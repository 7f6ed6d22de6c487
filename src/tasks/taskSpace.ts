/**
 * Task spaces: parameterized families of decision problems. A task is plain JSON parameters of one
 * family; the task space says which parameters exist and which values they may take. Finite spaces
 * (Dark Room goals, action permutations) can be enumerated; every space can be sampled.
 */
import { BoxSpace, CategoricalSpace, DictSpace, DiscreteSpace, type JsonValue, type Space } from '../core/spaces.js';
import { Rng, type Seed } from '../core/rng.js';
import { OutOfSpaceError, IcrlError } from '../core/errors.js';

/** One task: the family it belongs to and its parameters. */
export interface Task {
  family: string;
  params: Record<string, JsonValue>;
}

export interface TaskSpaceOptions {
  /** Lists every task of a finite space, in a fixed canonical order. */
  enumerate?: () => Record<string, JsonValue>[];
  /** Extra validity rule beyond per-parameter bounds (e.g. goal not on the start cell); returns an error text or null. */
  validate?: (params: Record<string, JsonValue>) => string | null;
  /** One line per parameter, shown by `icrl envs list`. */
  descriptions?: Record<string, string>;
  /**
   * One random edit of a task (ACCEL's level editor), written by the family: returns new parameters
   * and leaves `params` unchanged. An edit that leaves the space (checked with {@link TaskSpace.check})
   * is drawn again. Without it, {@link TaskSpace.mutate} edits one parameter at a time: a Gaussian
   * step on one dimension of a box (clipped to the box), a step of one to a neighbouring value of a
   * discrete parameter, another value of a categorical one.
   */
  mutate?: (params: Record<string, JsonValue>, rng: Rng) => Record<string, JsonValue>;
  /** Draws a task's parameters in place of the per-parameter sampling (see {@link TaskSpace.drawingFrom}). */
  sample?: (rng: Rng) => Record<string, JsonValue>;
}

/** How {@link TaskSpace.mutate} edits a task. */
export interface MutateOptions {
  /** Edits applied one after the other (ACCEL's `num_edits`). */
  edits: number;
  /** Standard deviation of the default Gaussian step on a box dimension, as a fraction of its width. */
  boxStep?: number;
}

export class TaskSpace {
  readonly params: DictSpace;
  constructor(
    readonly family: string,
    params: Record<string, Space>,
    private readonly opts: TaskSpaceOptions = {},
  ) {
    this.params = new DictSpace(params);
  }

  get finite(): boolean {
    return this.opts.enumerate !== undefined;
  }

  describeParams(): { name: string; space: string; description: string }[] {
    return this.params.keys.map((k) => ({
      name: k,
      space: this.params.spaces[k].describe(),
      description: this.opts.descriptions?.[k] ?? '',
    }));
  }

  /** Throws an error naming the parameter when `task` is not in this space. */
  check(task: Task | Record<string, JsonValue>): Task {
    const t: Task = 'family' in task && 'params' in task ? (task as Task) : { family: this.family, params: task as Record<string, JsonValue> };
    if (t.family !== this.family) throw new OutOfSpaceError(`task.family: "${t.family}" does not belong to the ${this.family} task space`);
    this.params.check(t.params, `${this.family}.params`);
    const extra = this.opts.validate?.(t.params);
    if (extra) throw new OutOfSpaceError(`${this.family}.params: ${extra}`);
    return t;
  }

  /** One task drawn from the space (rejection on the extra validity rule). */
  sample(rng: Rng): Task {
    if (this.opts.sample) return { family: this.family, params: this.opts.sample(rng) };
    for (let i = 0; i < 10_000; i++) {
      const params = this.params.sample(rng);
      if (!this.opts.validate || this.opts.validate(params) === null) return { family: this.family, params };
    }
    throw new IcrlError(`${this.family}: could not sample a valid task in 10,000 tries`);
  }

  sampleMany(rng: Rng, n: number): Task[] {
    const out: Task[] = [];
    for (let i = 0; i < n; i++) out.push(this.sample(rng));
    return out;
  }

  /**
   * `n` tasks by Latin hypercube sampling of the space's box parameters: every dimension of every
   * parameter is cut into `n` equal strata, each task takes one stratum per dimension (a random
   * permutation per dimension) and a uniform point inside it. Each task is still a uniform draw of
   * the space, but together they cover every dimension evenly (one task per 1/n of its range), where
   * `n` independent draws can leave a stretch of the range empty. Only for spaces whose parameters
   * are all boxes and that draw their tasks per parameter (no `sample` option); a task the validity
   * rule rejects is drawn again inside its strata (up to 100 times).
   */
  sampleStratified(rng: Rng, n: number): Task[] {
    if (!Number.isInteger(n) || n < 1) throw new IcrlError(`${this.family}: sampleStratified: n must be a positive integer, got ${n}`);
    const keys = this.params.keys;
    const boxes = keys.map((k) => this.params.spaces[k]);
    if (this.opts.sample || this.finite || boxes.some((b) => !(b instanceof BoxSpace))) {
      throw new IcrlError(`${this.family}: stratified draws need an infinite space of box parameters drawn per parameter (${this.describeParams().map((p) => `${p.name}: ${p.space}`).join(', ')})`);
    }
    const strata = (boxes as BoxSpace[]).map((b) => Array.from({ length: b.dims }, () => rng.permutation(n)));
    const out: Task[] = [];
    for (let i = 0; i < n; i++) {
      let params: Record<string, JsonValue> | null = null;
      for (let attempt = 0; attempt < 100 && params === null; attempt++) {
        const p: Record<string, JsonValue> = {};
        keys.forEach((k, j) => {
          const b = boxes[j] as BoxSpace;
          const v = b.spec.low.map((lo, d) => {
            const hi = b.spec.high[d];
            return Math.min(hi, lo + ((strata[j][d][i] + rng.uniform53()) / n) * (hi - lo));
          });
          p[k] = b.scalar ? v[0] : v;
        });
        if (!this.opts.validate || this.opts.validate(p) === null) params = p;
      }
      if (params === null) throw new IcrlError(`${this.family}: could not draw a valid task in stratum ${i} of ${n} in 100 tries`);
      out.push({ family: this.family, params });
    }
    return out;
  }

  /**
   * The same space (parameters, validity rule, edit operator) whose `sample` draws uniformly from
   * `tasks` (a finite pool inside the space, e.g. a split's training tasks); edits may leave the pool.
   */
  drawingFrom(tasks: Task[]): TaskSpace {
    if (tasks.length === 0) throw new IcrlError(`${this.family}: drawingFrom needs at least one task`);
    for (const t of tasks) this.check(t);
    const pool = tasks.map((t) => structuredClone(t.params));
    return new TaskSpace(this.family, this.params.spaces, { ...this.opts, enumerate: undefined, sample: (rng) => structuredClone(pool[rng.int(pool.length)]) });
  }

  /** True when the family wrote its own edit operator (`mutate` of the options). */
  get hasMutation(): boolean {
    return this.opts.mutate !== undefined;
  }

  /**
   * `task` after `edits` random edits (the family's operator, or the default one per parameter),
   * every intermediate task inside the space. An edit that would leave the space is drawn again
   * (up to 100 times; then that edit is skipped). The input task is not changed.
   */
  mutate(task: Task, rng: Rng, options: MutateOptions): Task {
    this.check(task);
    const { edits } = options;
    const boxStep = options.boxStep ?? 0.1;
    if (!Number.isInteger(edits) || edits < 0) throw new IcrlError(`${this.family}: mutate: edits must be a non-negative integer, got ${edits}`);
    if (!(boxStep > 0)) throw new IcrlError(`${this.family}: mutate: boxStep must be > 0, got ${boxStep}`);
    let params = structuredClone(task.params);
    for (let e = 0; e < edits; e++) {
      for (let attempt = 0; attempt < 100; attempt++) {
        const next = this.opts.mutate ? this.opts.mutate(params, rng) : this.defaultEdit(params, rng, boxStep);
        if (this.valid(next)) {
          params = next;
          break;
        }
      }
    }
    return { family: this.family, params };
  }

  private valid(params: Record<string, JsonValue>): boolean {
    try {
      this.check({ family: this.family, params });
      return true;
    } catch {
      return false;
    }
  }

  private defaultEdit(params: Record<string, JsonValue>, rng: Rng, boxStep: number): Record<string, JsonValue> {
    const keys = this.params.keys;
    const name = keys[rng.int(keys.length)];
    const sub: Space = this.params.spaces[name];
    const out = structuredClone(params);
    if (sub instanceof BoxSpace) {
      const arr = sub.scalar ? [params[name] as number] : [...(params[name] as number[])];
      const d = rng.int(arr.length);
      const lo = sub.spec.low[d];
      const hi = sub.spec.high[d];
      arr[d] = Math.min(hi, Math.max(lo, arr[d] + rng.normal(0, boxStep * (hi - lo))));
      out[name] = sub.scalar ? arr[0] : arr;
    } else if (sub instanceof DiscreteSpace) {
      const v = params[name] as number;
      if (sub.n > 1) {
        const up = v === sub.start ? true : v === sub.start + sub.n - 1 ? false : rng.uniform53() < 0.5;
        out[name] = v + (up ? 1 : -1);
      }
    } else if (sub instanceof CategoricalSpace) {
      const vals = sub.values;
      if (vals.length > 1) {
        const i = sub.indexOf(params[name] as string | number);
        out[name] = vals[(i + 1 + rng.int(vals.length - 1)) % vals.length];
      }
    } else {
      throw new IcrlError(`${this.family}.params.${name}: ${sub.describe()} has no default edit; the family must give its task space a mutate operator`);
    }
    return out;
  }

  /** Every task of a finite space in canonical order; throws for an infinite space. */
  enumerate(): Task[] {
    if (!this.opts.enumerate) throw new IcrlError(`${this.family}: task space is not finite; sample it instead`);
    return this.opts.enumerate().map((params) => ({ family: this.family, params }));
  }

  toJSON(): { family: string; params: unknown } {
    return { family: this.family, params: this.params.spec.spaces };
  }

  /**
   * A space's own train / held-out split, which {@link splitTasks} uses instead of the generic one
   * (the `mixture` family splits per member); null: the generic split.
   */
  ownSplit(_opts: SplitOptions): TaskSplit | null {
    return null;
  }
}

/** A stable key of a task (sorted parameter names), for deduplication and disjointness checks. */
export function taskKey(task: Task): string {
  const keys = Object.keys(task.params).sort();
  return `${task.family}:${JSON.stringify(keys.map((k) => [k, task.params[k]]))}`;
}

export interface SplitOptions {
  seed: Seed;
  /** Number of held-out tasks (integer >= 1) or their fraction of a finite space (0 < x < 1). */
  heldOut: number;
  /** For infinite spaces: number of training tasks to draw (finite spaces use all the rest). */
  train?: number;
  /**
   * For infinite spaces: how the training tasks are drawn. `random` (default): independent draws;
   * `stratified`: one Latin hypercube sample of `train` tasks ({@link TaskSpace.sampleStratified}).
   * The held-out tasks are the same either way.
   */
  draw?: 'random' | 'stratified';
}

export interface TaskSplit {
  train: Task[];
  heldOut: Task[];
}

/**
 * Deterministic train / held-out split by seed. A finite space is shuffled with the seed and cut
 * (Dark Room: 100 goals, seed 0, 80 / 20); an infinite space is sampled from two child streams of the
 * seed, held-out tasks first, and training draws that coincide with a held-out task are redrawn.
 */
export function splitTasks(space: TaskSpace, opts: SplitOptions): TaskSplit {
  const own = space.ownSplit(opts);
  if (own) return own;
  const rng = new Rng(opts.seed);
  if (space.finite) {
    if (opts.draw === 'stratified') throw new IcrlError(`${space.family}: draw: stratified is for infinite task spaces; a finite one trains on all the tasks it does not hold out`);
    const all = space.enumerate();
    const nHeld = opts.heldOut < 1 ? Math.round(all.length * opts.heldOut) : opts.heldOut;
    if (!Number.isInteger(nHeld) || nHeld < 1 || nHeld >= all.length) {
      throw new IcrlError(`${space.family}: heldOut=${opts.heldOut} must leave at least one task on each side of ${all.length}`);
    }
    rng.shuffle(all);
    const nTrain = opts.train ?? all.length - nHeld;
    if (nTrain > all.length - nHeld) throw new IcrlError(`${space.family}: train=${nTrain} exceeds the ${all.length - nHeld} tasks left after holding out ${nHeld}`);
    return { train: all.slice(0, nTrain), heldOut: all.slice(all.length - nHeld) };
  }
  if (!Number.isInteger(opts.heldOut) || opts.heldOut < 1) throw new IcrlError(`${space.family}: heldOut must be a positive integer count for an infinite task space`);
  const heldOut = space.sampleMany(rng.split('held-out'), opts.heldOut);
  const seen = new Set(heldOut.map(taskKey));
  const trainRng = rng.split('train');
  const nTrain = opts.train ?? 1000;
  if (opts.draw === 'stratified') {
    const train = space.sampleStratified(trainRng.split('stratified'), nTrain);
    const clash = train.find((t) => seen.has(taskKey(t)));
    if (clash) throw new IcrlError(`${space.family}: a stratified training task coincides with a held-out one (${JSON.stringify(clash.params)})`);
    return { train, heldOut };
  }
  const train: Task[] = [];
  while (train.length < nTrain) {
    const t = space.sample(trainRng);
    if (!seen.has(taskKey(t))) train.push(t);
  }
  return { train, heldOut };
}

/** Serializes tasks as a JSON document (family, task-space spec, tasks). */
export function serializeTasks(space: TaskSpace, tasks: Task[]): string {
  return JSON.stringify({ family: space.family, space: space.toJSON().params, tasks: tasks.map((t) => t.params) }, null, 1);
}

/** Parses tasks written by {@link serializeTasks}, validating every task against `space`. */
export function deserializeTasks(space: TaskSpace, text: string, source = 'tasks'): Task[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new IcrlError(`${source}: not JSON: ${(e as Error).message}`);
  }
  const d = doc as { family?: unknown; tasks?: unknown };
  if (d.family !== space.family) throw new IcrlError(`${source}: family is ${JSON.stringify(d.family)}, expected "${space.family}"`);
  if (!Array.isArray(d.tasks)) throw new IcrlError(`${source}: "tasks" must be an array`);
  return d.tasks.map((p, i) => {
    try {
      return space.check({ family: space.family, params: p as Record<string, JsonValue> });
    } catch (e) {
      throw new IcrlError(`${source}: tasks[${i}]: ${(e as Error).message}`);
    }
  });
}
