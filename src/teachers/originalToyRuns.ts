/**
 * Measured figures of the original teachDeepRL code on its ToyEnv (data for originalToy.ts; see
 * docs/teachers.md for how they were measured). One entry per teacher set-up: the % of mastered
 * cells after the last episode, per seed, as `toy_env.py` reports it.
 */
export interface OriginalToyFigure {
  /** This project's teacher the figure compares with. */
  teacher: string;
  /** The original call: `toy_env.py` function and its `params`. */
  original: string;
  /** Options of this project's teacher that correspond to the original's params (none: defaults). */
  options?: Record<string, unknown>;
  dims: number;
  cells: number;
  episodes: number;
  /** Seeds given to the original teacher (its `seed` argument; 0 would mean "draw one"). */
  seeds: number[];
  /** % of mastered cells after the last episode, per seed. */
  perSeed: number[];
}

export interface OriginalToyReference {
  repository: string;
  commit: string;
  /** Date of the runs (UTC). */
  measured: string;
  figures: OriginalToyFigure[];
}

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
      seeds: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20],
      perSeed: [43, 46, 45, 50, 46, 46, 49, 46, 46, 46, 45, 45, 46, 49, 45, 46, 50, 47, 44, 47],
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
    {
      teacher: 'alp-gmm',
      original: 'test_alpgmm(params=dict(alp_max_size=500))',
      options: {
        alpMaxSize: 500,
        alpBufferSize: 500,
      },
      dims: 2,
      cells: 10,
      episodes: 20000,
      seeds: [1, 2, 3, 4, 5],
      perSeed: [70, 61, 62, 63, 59],
    },
  ],
};
