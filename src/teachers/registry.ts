/**
 * The teachers by name: one {@link Registry} entry each, with a description and a strict zod schema
 * of its options, so that a typo (`fitrate` for `fitRate`) is an error naming the key instead of a
 * silently ignored option. Value checks that relate several options (seedEpisodes >= fitRate, ...)
 * stay in each teacher's constructor. Users add teachers with `teachers.register(...)`.
 */
import { z } from 'zod';
import { Registry, type RegistryEntry } from '../core/registry.js';
import type { Rng, Seed } from '../core/rng.js';
import type { TaskSpace } from '../tasks/taskSpace.js';
import type { RegisteredTeacher } from './teacher.js';
import { RandomTeacher } from './random.js';
import { AlpGmmTeacher } from './alpGmm.js';
import { CovarGmmTeacher } from './covarGmm.js';
import { RiacTeacher, type RiacOptions } from './riac.js';
import { AdrTeacher } from './adr.js';
import { SecTeacher } from './sec.js';
import { DumpTeacher } from './dump.js';
import { PlrTeacher, RobustPlrTeacher } from './plr.js';
import { AccelTeacher, ACCEL_SCORES } from './accel.js';

export interface TeacherEntry<S extends z.ZodType = z.ZodType> extends RegistryEntry {
  readonly options: S;
  /** Builds the teacher on `space` from validated options. */
  make(space: TaskSpace, seed: Seed | Rng, options: z.output<S>): RegisteredTeacher;
}

const base = { returnRange: z.tuple([z.number(), z.number()]).optional() };
const int = (min: number) => z.number().int().min(min);
const share = z.number().min(0).max(1);
const gmm = {
  ...base,
  fitRate: int(2).optional(),
  seedEpisodes: int(2).optional(),
  ks: z.array(int(1)).min(1).optional(),
  randomRatio: share.optional(),
  criterion: z.enum(['aic', 'bic']).optional(),
};
const categories = {
  boxBins: int(1).optional(),
  coarseBins: int(1).optional(),
  maxCategories: int(1).optional(),
};
const plr = z
  .object({
    ...base,
    bufferSize: int(1).optional(),
    replayProb: share.optional(),
    staleness: share.optional(),
    temperature: z.number().positive().optional(),
    rho: share.optional(),
  })
  .strict();

const riacOptions = z
  .object({
    ...base,
    maxRegionSize: int(4).optional(),
    alpWindow: int(2).optional(),
    splitAttempts: int(1).optional(),
    samplingInLeavesOnly: z.boolean().optional(),
    minRegionSize: z.number().min(0).optional(),
    minDimsRangeRatio: z.number().min(0).lt(0.5).optional(),
    discardRatio: z.number().gt(0).max(1).optional(),
    splitScore: z.enum(['alp-difference', 'alp-difference-times-sizes']).optional(),
    randomRatio: share.optional(),
    mutationRatio: share.optional(),
  })
  .strict();

/**
 * The defaults of `riac-leaves`, the RIAC this project used before following the published code:
 * leaves only, children at least 1/6 wide (TeachMyAgent's RIAC constructor default), at least one
 * task per child, split score |ALP difference| x the children's sizes. Its options override these.
 */
export const RIAC_LEAVES_DEFAULTS: RiacOptions = { samplingInLeavesOnly: true, minDimsRangeRatio: 1 / 6, minRegionSize: 1, splitScore: 'alp-difference-times-sizes' };

/** Builds an entry; `make` receives the options already validated against `options`. */
function entry<S extends z.ZodType>(e: TeacherEntry<S>): TeacherEntry {
  return e as unknown as TeacherEntry;
}

/** The registry of teachers. */
export const teachers = new Registry<TeacherEntry>('teacher');
for (const e of [
  entry({ name: 'random', description: 'uniform over the task space (baseline)', options: z.object(base).strict(), make: (s, r, o) => new RandomTeacher(s, r, o) }),
  entry({
    name: 'alp-gmm',
    description: 'GMMs on (task, absolute learning progress), sample components by mean ALP (Portelas et al. 2019)',
    options: z.object({ ...gmm, alpMaxSize: int(1).optional(), alpBufferSize: int(1).optional() }).strict(),
    make: (s, r, o) => new AlpGmmTeacher(s, r, o),
  }),
  entry({
    name: 'covar-gmm',
    description: 'GMMs on (task, time, return), sample components by time-return covariance (Moulin-Frier et al. 2014)',
    options: z.object({ ...gmm, absoluteLp: z.boolean().optional() }).strict(),
    make: (s, r, o) => new CovarGmmTeacher(s, r, o),
  }),
  entry({
    name: 'riac',
    description: 'recursive region splitting by learning progress (Baranes and Oudeyer 2009), defaults of the published teachDeepRL code',
    options: riacOptions,
    make: (s, r, o) => new RiacTeacher(s, r, o),
  }),
  entry({
    name: 'riac-leaves',
    description: 'RIAC variant: leaf regions only, children at least 1/6 wide, any non-empty child, split score weighted by child sizes',
    options: riacOptions,
    make: (s, r, o) => new RiacTeacher(s, r, { ...RIAC_LEAVES_DEFAULTS, ...o }, 'riac-leaves'),
  }),
  entry({
    name: 'adr',
    description: 'automatic domain randomization: grow a box from a starting task while returns at its bounds are high',
    options: z
      .object({
        ...base,
        initial: z.array(share).optional(),
        stepSize: z.number().positive().max(1).optional(),
        highThreshold: z.number().optional(),
        lowThreshold: z.number().optional(),
        boundarySamplingP: share.optional(),
        queueLength: int(1).optional(),
      })
      .strict(),
    make: (s, r, o) => new AdrTeacher(s, r, o),
  }),
  entry({
    name: 'sec',
    description: 'self-evolving curriculum: Boltzmann bandit over task categories, TD(0) on |advantage|',
    options: z.object({ ...base, ...categories, alpha: z.number().positive().max(1).optional(), temperature: z.number().positive().optional(), baselineWindow: int(1).optional() }).strict(),
    make: (s, r, o) => new SecTeacher(s, r, o),
  }),
  entry({
    name: 'dump',
    description: 'UCB over task categories on mean |advantage| plus a count bonus',
    options: z
      .object({ ...base, ...categories, window: int(1).optional(), c: z.number().min(0).optional(), temperature: z.number().positive().optional(), baselineWindow: int(1).optional() })
      .strict(),
    make: (s, r, o) => new DumpTeacher(s, r, o),
  }),
  entry({ name: 'plr', description: 'prioritized level replay: replay buffered levels by score rank and staleness', options: plr, make: (s, r, o) => new PlrTeacher(s, r, o) }),
  entry({
    name: 'robust-plr',
    description: 'PLR that trains only on replayed levels (new levels are evaluated only)',
    options: plr,
    make: (s, r, o) => new RobustPlrTeacher(s, r, o),
  }),
  entry({
    name: 'accel',
    description: 'ACCEL: robust PLR whose replayed levels are edited (mutated); edits with a high regret estimate enter the level buffer',
    options: z
      .object({
        ...base,
        bufferSize: int(1).optional(),
        replayProb: share.optional(),
        rho: share.optional(),
        staleness: share.optional(),
        temperature: z.number().positive().optional(),
        edits: int(0).optional(),
        editorProb: share.optional(),
        boxStep: z.number().positive().optional(),
        score: z.enum(ACCEL_SCORES).optional(),
        valueRate: z.number().gt(0).max(1).optional(),
        robust: z.boolean().optional(),
      })
      .strict(),
    make: (s, r, o) => new AccelTeacher(s, r, o),
  }),
]) {
  teachers.register(e);
}

/** Every teacher name, in registration order (the built-in ones). */
export const TEACHER_NAMES: readonly string[] = teachers.names();

/**
 * Builds the teacher `name` on `space`; an unknown name is an error listing the known ones, and an
 * unknown or ill-typed option is a ConfigError naming it.
 */
export function makeTeacher(name: string, space: TaskSpace, seed: Seed | Rng, opts: Record<string, unknown> = {}): RegisteredTeacher {
  const e = teachers.get(name);
  return e.make(space, seed, teachers.parseOptions(name, opts, `${name} teacher options`));
}
