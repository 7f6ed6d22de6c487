/**
 * Measured figures of the original teachDeepRL code on its ToyEnv (data for originalToy.ts; see
 * docs/teachers.md for how they were measured). One entry per teacher set-up: the % of mastered
 * cells after the last episode, per seed, as `toy_env.py` reports it.
 */
import type { OriginalToyReference } from './originalToy.js';

export const ORIGINAL_TOY_RUNS: OriginalToyReference = {
  repository: 'https://github.com/flowersteam/teachDeepRL',
  commit: '747cda2b903f57859e64e1c9225afcfa1bf07bbd',
  measured: '2026-12-02',
  figures: [
    {
      teacher: 'riac',
      original: 'test_riac(params={})',
      dims: 2,
      cells: 10,
      episodes: 20000,
      seeds: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14],
      perSeed: [43, 46, 45, 50, 46, 46, 49, 46, 46, 46, 45, 45, 46, 49],
    },
    {
      teacher: 'riac',
      original: 'test_riac(params={})',
      dims: 4,
      cells: 4,
      episodes: 20000,
      seeds: [1, 2, 3, 4, 5],
      perSeed: [7.8125, 11.328125, 6.640625, 7.421875, 7.8125],
    },
    {
      teacher: 'alp-gmm',
      original: 'test_alpgmm(params={})',
      dims: 2,
      cells: 10,
      episodes: 20000,
      seeds: [1, 2, 3, 4, 5],
      perSeed: [37, 37, 41, 34, 34],
    },
  ],
};
