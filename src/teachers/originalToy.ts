/**
 * Figures of the original teachDeepRL code (Portelas et al. 2019) on its own ToyEnv, measured on this
 * project's development machine, and their comparison with this project's teachers. The original
 * code is not part of this project: it was run from a checkout of the repository at the commit below
 * (see docs/teachers.md, "RIAC and ALP-GMM against the original code", for how). `icrl teach bench`
 * prints the comparison beside its own figures for every teacher and variant measured here.
 */
import type { ToySummary } from './toyBench.js';
import { ORIGINAL_TOY_RUNS, type OriginalToyReference } from './originalToyRuns.js';

export interface OriginalComparison {
  variant: string;
  teacher: string;
  original: { call: string; mean: number; sd: number; seeds: number; commit: string };
  ours: { mean: number; sd: number; seeds: number };
  /** ours - original. */
  difference: number;
  /** Normal-approximation 95% interval of the difference of the means. */
  differenceInterval95: [number, number];
  /** |difference| at most the larger of the two per-seed standard deviations. */
  withinOneSd: boolean;
}

function meanSd(xs: number[]): { mean: number; sd: number } {
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const sd = n > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, sd };
}

function sameOptions(a: Record<string, unknown> | undefined, b: Record<string, unknown> | undefined): boolean {
  const ka = Object.keys(a ?? {}).sort();
  const kb = Object.keys(b ?? {}).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && JSON.stringify(a![k]) === JSON.stringify(b![k]));
}

/**
 * The comparisons for the summaries that match a reference figure: same teacher, dimensions, cells,
 * episodes, no unlearnable share, and the same teacher options (`teacherOptions[teacher]`).
 */
export function compareWithOriginal(
  summary: ToySummary[],
  teacherOptions: Record<string, Record<string, unknown> | undefined> = {},
  reference: OriginalToyReference = ORIGINAL_TOY_RUNS,
): OriginalComparison[] {
  const out: OriginalComparison[] = [];
  for (const s of summary) {
    for (const f of reference.figures) {
      if (f.teacher !== s.teacher || f.dims !== s.dims || f.cells !== s.cells || f.episodes !== s.episodes || s.unlearnable !== 0) continue;
      if (!sameOptions(f.options, teacherOptions[s.teacher])) continue;
      const o = meanSd(f.perSeed);
      const ours = meanSd(s.perSeed);
      const diff = ours.mean - o.mean;
      const se = Math.sqrt((ours.sd * ours.sd) / s.perSeed.length + (o.sd * o.sd) / f.perSeed.length);
      out.push({
        variant: s.variant,
        teacher: s.teacher,
        original: { call: f.original, mean: o.mean, sd: o.sd, seeds: f.perSeed.length, commit: reference.commit },
        ours: { mean: ours.mean, sd: ours.sd, seeds: s.perSeed.length },
        difference: diff,
        differenceInterval95: [diff - 1.96 * se, diff + 1.96 * se],
        withinOneSd: Math.abs(diff) <= Math.max(ours.sd, o.sd),
      });
    }
  }
  return out;
}
