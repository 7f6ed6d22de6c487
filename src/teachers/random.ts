/** The uniform teacher: every task drawn uniformly from the unit hypercube of the task space (the baseline). */
import type { Rng, Seed } from '../core/rng.js';
import type { TaskSpace } from '../tasks/taskSpace.js';
import { UnitTeacher, type BaseTeacherOptions } from './teacher.js';

export type RandomTeacherOptions = BaseTeacherOptions;

export class RandomTeacher extends UnitTeacher {
  constructor(space: TaskSpace, seed: Seed | Rng, opts: RandomTeacherOptions = {}) {
    super('random', space, seed, opts);
  }
  protected proposeUnit(out: Float64Array): void {
    for (let i = 0; i < this.dims; i++) out[i] = this.rng.uniform53();
  }
  protected observeUnit(): void {
    // uniform sampling ignores returns
  }
  protected dataToJSON(): unknown {
    return {};
  }
  protected dataFromJSON(): void {
    // no state beyond the RNG
  }
}
