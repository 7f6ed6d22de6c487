/**
 * The ToyEnv benchmark: every teacher drives a fresh ToyEnv for a number of episodes, over several
 * seeds; the score (percentage of mastered cells) is recorded every `every` episodes, and for one
 * seed the density of the tasks the teacher proposed (a histogram over the first two coordinates)
 * is kept per window of episodes. Runs can be spread over worker threads (one run per message).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runPool } from '../core/pool.js';
import { IcrlError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import { makeTeacher, TEACHER_NAMES } from './registry.js';
import { ToyEnv } from './toyEnv.js';

export interface ToyVariant {
  /** Name used in the output, e.g. "toy-2d". */
  name: string;
  dims: number;
  cells: number;
  unlearnable: number;
}

export interface ToyRunSpec {
  teacher: string;
  variant: ToyVariant;
  episodes: number;
  seed: number;
  /** Episodes between two score records (default 1000). */
  every: number;
  /** Record the proposal density (first two coordinates) per `every` episodes on this run. */
  density: boolean;
  densityBins: number;
  /** Teacher options (merged over the benchmark's per-teacher defaults). */
  teacherOptions?: Record<string, unknown>;
}

export interface ToyRunResult {
  teacher: string;
  variant: string;
  seed: number;
  /** Episode numbers of the records: 0, every, 2 every, ..., episodes. */
  episodes: number[];
  /** Percentage of mastered cells at each record. */
  mastered: number[];
  /** Share of episodes (in each window) that were evaluation-only (robust PLR's new levels). */
  evalShare: number;
  /** Per window: counts of proposals over a densityBins^2 grid of the first two coordinates (row = second coordinate). */
  density?: { episode: number; counts: number[][] }[];
  seconds: number;
}

/** Options a teacher gets on ToyEnv beyond its defaults: ADR starts at the origin (the easy task). */
export function toyTeacherDefaults(teacher: string, variant: ToyVariant): Record<string, unknown> {
  if (teacher === 'adr') return { initial: new Array(variant.dims).fill(0) };
  return {};
}

/** One teacher on one ToyEnv for one seed. */
export function runToy(spec: ToyRunSpec): ToyRunResult {
  const t0 = Date.now();
  const { variant, episodes, every } = spec;
  if (!Number.isInteger(episodes) || episodes < 1) throw new IcrlError(`teach bench: episodes must be a positive integer, got ${episodes}`);
  if (!Number.isInteger(every) || every < 1) throw new IcrlError(`teach bench: every must be a positive integer, got ${every}`);
  const env = new ToyEnv({ dims: variant.dims, cells: variant.cells, unlearnable: variant.unlearnable });
  const space = ToyEnv.taskSpace(variant.dims);
  const rng = new Rng(spec.seed).split(`toy:${variant.name}:${spec.teacher}`);
  const teacher = makeTeacher(spec.teacher, space, rng, { ...toyTeacherDefaults(spec.teacher, variant), ...(spec.teacherOptions ?? {}) });
  const u = new Float64Array(variant.dims);
  const eps: number[] = [0];
  const mastered: number[] = [env.score()];
  const nb = spec.densityBins;
  const density: { episode: number; counts: number[][] }[] = [];
  let hist = spec.density ? Array.from({ length: nb }, () => new Array<number>(nb).fill(0)) : null;
  let evalOnly = 0;
  for (let e = 1; e <= episodes; e++) {
    teacher.sampleUnit(u);
    const train = teacher.lastSampleTrains;
    if (!train) evalOnly++;
    const ret = env.episode(u, train);
    teacher.recordUnit(u, ret);
    if (hist) {
      const x = Math.min(nb - 1, Math.floor(u[0] * nb));
      const y = variant.dims > 1 ? Math.min(nb - 1, Math.floor(u[1] * nb)) : 0;
      hist[y][x]++;
    }
    if (e % every === 0 || e === episodes) {
      eps.push(e);
      mastered.push(env.score());
      if (hist) {
        density.push({ episode: e, counts: hist });
        hist = Array.from({ length: nb }, () => new Array<number>(nb).fill(0));
      }
    }
  }
  return {
    teacher: spec.teacher,
    variant: variant.name,
    seed: spec.seed,
    episodes: eps,
    mastered,
    evalShare: evalOnly / episodes,
    density: spec.density ? density : undefined,
    seconds: (Date.now() - t0) / 1000,
  };
}

/** The compiled worker next to this module (absent when running from TypeScript sources). */
function workerFile(): string | null {
  const here = fileURLToPath(import.meta.url);
  if (!here.endsWith('.js')) return null;
  const f = fileURLToPath(new URL('./toyWorker.js', import.meta.url));
  return existsSync(f) ? f : null;
}

/**
 * Runs all specs, on `workers` threads when more than one is asked for and the compiled worker
 * exists, otherwise in this thread. Results come back in the order of `specs`.
 */
export async function runToyMany(specs: ToyRunSpec[], workers: number, onDone?: (r: ToyRunResult) => void): Promise<ToyRunResult[]> {
  const out: ToyRunResult[] = new Array(specs.length);
  const file = workers > 1 ? workerFile() : null;
  if (!file) {
    for (let i = 0; i < specs.length; i++) {
      out[i] = runToy(specs[i]);
      onDone?.(out[i]);
      // let the event loop breathe (progress output, signals)
      await new Promise((r) => setImmediate(r));
    }
    return out;
  }
  await runPool<ToyRunSpec, ToyRunResult>({
    script: file,
    workers: Math.min(workers, specs.length),
    jobs: specs,
    prefetch: 1,
    onResult: (i, r) => {
      out[i] = r;
      onDone?.(r);
    },
    label: 'teach bench',
  });
  return out;
}

export interface ToySummary {
  variant: string;
  teacher: string;
  dims: number;
  cells: number;
  unlearnable: number;
  episodes: number;
  seeds: number;
  /** Mean percentage of mastered cells at the last episode. */
  mastered: number;
  /** Standard deviation over seeds. */
  sd: number;
  perSeed: number[];
  /** Mean over seeds of the series. */
  series: { episodes: number[]; mean: number[]; lo: number[]; hi: number[] };
  seconds: number;
}

/** Mean, sd and a 95% normal interval over seeds, per teacher and variant. */
export function summarize(results: ToyRunResult[], variants: ToyVariant[]): ToySummary[] {
  const out: ToySummary[] = [];
  for (const v of variants) {
    for (const teacher of TEACHER_NAMES) {
      const rs = results.filter((r) => r.variant === v.name && r.teacher === teacher);
      if (rs.length === 0) continue;
      const finals = rs.map((r) => r.mastered[r.mastered.length - 1]);
      const n = rs.length;
      const mean = finals.reduce((a, b) => a + b, 0) / n;
      const sd = n > 1 ? Math.sqrt(finals.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
      const len = rs[0].mastered.length;
      const m: number[] = [];
      const lo: number[] = [];
      const hi: number[] = [];
      for (let i = 0; i < len; i++) {
        const col = rs.map((r) => r.mastered[i]);
        const mu = col.reduce((a, b) => a + b, 0) / n;
        const s = n > 1 ? Math.sqrt(col.reduce((a, b) => a + (b - mu) ** 2, 0) / (n - 1)) : 0;
        const half = (1.96 * s) / Math.sqrt(n);
        m.push(mu);
        lo.push(mu - half);
        hi.push(mu + half);
      }
      out.push({
        variant: v.name,
        teacher,
        dims: v.dims,
        cells: v.cells,
        unlearnable: v.unlearnable,
        episodes: rs[0].episodes[rs[0].episodes.length - 1],
        seeds: n,
        mastered: mean,
        sd,
        perSeed: finals,
        series: { episodes: rs[0].episodes, mean: m, lo, hi },
        seconds: rs.reduce((a, r) => a + r.seconds, 0),
      });
    }
  }
  return out;
}
