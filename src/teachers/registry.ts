/** The teachers by name, with their options. */
import { UnknownNameError } from '../core/errors.js';
import type { Rng, Seed } from '../core/rng.js';
import type { TaskSpace } from '../tasks/taskSpace.js';
import type { UnitTeacher } from './teacher.js';
import { RandomTeacher } from './random.js';
import { AlpGmmTeacher } from './alpGmm.js';
import { CovarGmmTeacher } from './covarGmm.js';
import { RiacTeacher } from './riac.js';
import { AdrTeacher } from './adr.js';
import { SecTeacher } from './sec.js';
import { DumpTeacher } from './dump.js';
import { PlrTeacher, RobustPlrTeacher } from './plr.js';

type Factory = (space: TaskSpace, seed: Seed | Rng, opts: Record<string, unknown>) => UnitTeacher;

const factories: Record<string, Factory> = {
  random: (s, r, o) => new RandomTeacher(s, r, o),
  'alp-gmm': (s, r, o) => new AlpGmmTeacher(s, r, o),
  'covar-gmm': (s, r, o) => new CovarGmmTeacher(s, r, o),
  riac: (s, r, o) => new RiacTeacher(s, r, o),
  adr: (s, r, o) => new AdrTeacher(s, r, o),
  sec: (s, r, o) => new SecTeacher(s, r, o),
  dump: (s, r, o) => new DumpTeacher(s, r, o),
  plr: (s, r, o) => new PlrTeacher(s, r, o),
  'robust-plr': (s, r, o) => new RobustPlrTeacher(s, r, o),
};

/** Every teacher name, in a fixed order. */
export const TEACHER_NAMES: readonly string[] = Object.keys(factories);

/** Builds the teacher `name` on `space`; an unknown name is an error listing the known ones. */
export function makeTeacher(name: string, space: TaskSpace, seed: Seed | Rng, opts: Record<string, unknown> = {}): UnitTeacher {
  const f = factories[name];
  if (!f) throw new UnknownNameError('teacher', name, TEACHER_NAMES);
  return f(space, seed, opts);
}
