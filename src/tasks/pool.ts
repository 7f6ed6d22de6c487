/**
 * A finite pool of tasks as a task space of indices, for the teachers that work on the unit
 * hypercube (src/teachers/encoding.ts) where the family's own task space has no unit encoding (the
 * rulesets of `xland` are JSON, with no box or finite parameter). The index space has one discrete
 * parameter `index` (0 .. N - 1, in the pool's order), enumerates its N tasks, and its tasks belong
 * to the family `<family>-pool`; {@link TaskPool.resolve} gives the pool's task of an index task.
 * The pool's order says nothing about how alike two tasks are, so a teacher that models the index
 * as a continuous coordinate (ALP-GMM, Covar-GMM, RIAC) has no structure to find there; the
 * per-task teachers (uniform, PLR, robust PLR) are the meaningful ones on a pool.
 */
import { DiscreteSpace } from '../core/spaces.js';
import { IcrlError } from '../core/errors.js';
import { TaskSpace, taskKey, type Task } from './taskSpace.js';

export class TaskPool {
  /** The index space the teachers choose in. */
  readonly space: TaskSpace;
  readonly family: string;
  private readonly tasks: Task[];

  constructor(tasks: Task[]) {
    if (tasks.length === 0) throw new IcrlError('task pool: needs at least one task');
    const family = tasks[0].family;
    const seen = new Set<string>();
    tasks.forEach((t, i) => {
      if (t.family !== family) throw new IcrlError(`task pool: task ${i} is of family "${t.family}", the pool's is "${family}"`);
      const k = taskKey(t);
      if (seen.has(k)) throw new IcrlError(`task pool: task ${i} repeats an earlier task of the pool`);
      seen.add(k);
    });
    this.family = family;
    this.tasks = tasks.map((t) => structuredClone(t));
    const n = tasks.length;
    this.space = new TaskSpace(`${family}-pool`, { index: new DiscreteSpace(n) }, { enumerate: () => Array.from({ length: n }, (_, index) => ({ index })), descriptions: { index: `a task of a pool of ${n} ${family} tasks` } });
  }

  get size(): number {
    return this.tasks.length;
  }

  /** The pool's task for a task of the index space (a copy). */
  resolve(t: Task): Task {
    this.space.check(t);
    return structuredClone(this.tasks[t.params.index as number]);
  }
}
