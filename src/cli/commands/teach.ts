/**
 * `icrl teach`: curriculum teachers.
 *   icrl teach list                       the teachers and what they do
 *   icrl teach bench [options]            the ToyEnv benchmark (one JSON line per variant and teacher)
 *   icrl teach curriculum <config>        teachers choosing a student's training tasks (against uniform) and ICRL pretraining data
 */
import { mkdirSync } from 'node:fs';
import { writeFileAtomic } from '../../core/atomic.js';
import { join } from 'node:path';
import { intFlag, withOverrides } from '../options.js';
import type { Command } from 'commander';
import { IcrlError } from '../../core/errors.js';
import { Progress } from '../../core/progress.js';
import { TEACHER_NAMES, teachers, runToyMany, summarize, compareWithOriginal, type OriginalComparison, type ToyRunResult, type ToyRunSpec, type ToyVariant } from '../../teachers/index.js';
import { UnknownNameError } from '../../core/errors.js';
import { loadConfig } from '../../core/config.js';
import { curriculumConfigSchema, runCurriculum, checkTeachers, type CurriculumResult } from '../../experiments/curriculum.js';
import { PALETTE, bandLineChart, heatmapChart, writeReport, type ChartSpec, type ReportSection } from '../../report/index.js';


function intOpt(v: string, name: string, min = 1): number {
  return intFlag(`--${name}`, min)(v);
}


export interface BenchOptions {
  episodes: string;
  seeds: string;
  dims: string;
  cellsHighDims: string;
  unlearnable: string;
  teachers: string;
  every: string;
  workers: string;
  out: string;
  teacherOptions?: string;
  progress: boolean;
}

function parseTeacherOptions(text: string | undefined): Record<string, Record<string, unknown>> {
  if (text === undefined) return {};
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new IcrlError(`--teacher-options: not JSON: ${(e as Error).message}`);
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new IcrlError('--teacher-options: expected an object { "<teacher>": { option: value } }');
  for (const [k, o] of Object.entries(v as Record<string, unknown>)) {
    if (!TEACHER_NAMES.includes(k)) throw new UnknownNameError('teacher', k, TEACHER_NAMES);
    if (!o || typeof o !== 'object' || Array.isArray(o)) throw new IcrlError(`--teacher-options: "${k}" must map to an object of options`);
  }
  return v as Record<string, Record<string, unknown>>;
}

export function benchVariants(dimsList: number[], cellsHigh: number, unlearnable: number): ToyVariant[] {
  const variants: ToyVariant[] = [];
  for (const d of dimsList) {
    // 10 cells per dimension as in the published toy script; above 3-D this project uses 4 (10^5 cells cannot be learned in 20,000 episodes)
    const cells = d <= 3 ? 10 : cellsHigh;
    variants.push({ name: `toy-${d}d`, dims: d, cells, unlearnable: 0 });
  }
  if (unlearnable > 0) {
    const d = dimsList[0];
    variants.push({ name: `toy-${d}d-unlearnable${Math.round(unlearnable * 100)}`, dims: d, cells: d <= 3 ? 10 : cellsHigh, unlearnable });
  }
  return variants;
}

async function bench(o: BenchOptions): Promise<void> {
  const episodes = intOpt(o.episodes, 'episodes');
  const seeds = intOpt(o.seeds, 'seeds');
  const every = intOpt(o.every, 'every');
  const workers = intOpt(o.workers, 'workers');
  const cellsHigh = intOpt(o.cellsHighDims, 'cells-high-dims');
  const dimsList = o.dims.split(',').map((s) => intOpt(s.trim(), 'dims'));
  const unl = Number(o.unlearnable);
  if (!(unl >= 0 && unl < 1)) throw new IcrlError(`--unlearnable: expected a share in [0, 1), got "${o.unlearnable}"`);
  const teachers = o.teachers === 'all' ? [...TEACHER_NAMES] : o.teachers.split(',').map((s) => s.trim());
  for (const t of teachers) if (!TEACHER_NAMES.includes(t)) throw new UnknownNameError('teacher', t, TEACHER_NAMES);
  const tOpts = parseTeacherOptions(o.teacherOptions);
  const variants = benchVariants(dimsList, cellsHigh, unl);
  const specs: ToyRunSpec[] = [];
  for (const variant of variants) {
    for (const teacher of teachers) {
      for (let seed = 0; seed < seeds; seed++) {
        specs.push({ teacher, variant, episodes, seed, every, density: seed === 0 && variant.dims >= 2, densityBins: 20, teacherOptions: tOpts[teacher] });
      }
    }
  }
  process.stderr.write(
    `teach bench: ${teachers.length} teachers x ${variants.length} variants (${variants.map((v) => `${v.name}: ${v.cells}^${v.dims} cells`).join(', ')}) x ${seeds} seeds x ${episodes} episodes, ${workers} worker(s)\n`,
  );
  const t0 = Date.now();
  const progress = new Progress('teach bench', specs.length, { unit: 'runs', silent: !o.progress });
  const results = await runToyMany(specs, workers, (r) => progress.tick(1, `${r.variant} ${r.teacher} seed ${r.seed}`));
  progress.finish();
  const wall = (Date.now() - t0) / 1000;
  const summary = summarize(results, variants);
  for (const s of summary) {
    process.stdout.write(
      `${JSON.stringify({
        bench: 'teach',
        variant: s.variant,
        teacher: s.teacher,
        dims: s.dims,
        cells: s.cells,
        unlearnable: s.unlearnable,
        episodes: s.episodes,
        seeds: s.seeds,
        mastered: round(s.mastered),
        sd: round(s.sd),
        perSeed: s.perSeed.map(round),
        ...(tOpts[s.teacher] ? { teacherOptions: tOpts[s.teacher] } : {}),
        cpuSeconds: round(s.seconds),
      })}\n`,
    );
  }
  // the original teachDeepRL code's figures for the set-ups it was measured on, beside ours
  const original = compareWithOriginal(summary, tOpts);
  for (const c of original) {
    process.stdout.write(
      `${JSON.stringify({
        bench: 'teach',
        variant: c.variant,
        teacher: c.teacher,
        ours: { mastered: round(c.ours.mean), sd: round(c.ours.sd), seeds: c.ours.seeds },
        original: { mastered: round(c.original.mean), sd: round(c.original.sd), seeds: c.original.seeds, call: c.original.call, commit: c.original.commit },
        difference: round(c.difference),
        differenceInterval95: c.differenceInterval95.map(round),
        withinOneSd: c.withinOneSd,
      })}\n`,
    );
  }
  for (const v of variants) {
    const order = summary.filter((s) => s.variant === v.name).sort((a, b) => b.mastered - a.mastered);
    process.stdout.write(`${JSON.stringify({ bench: 'teach', variant: v.name, order: order.map((s) => `${s.teacher} ${round(s.mastered)}`), wallSeconds: round(wall) })}\n`);
  }
  mkdirSync(o.out, { recursive: true });
  const seriesFile = join(o.out, 'teach-bench.json');
  writeFileAtomic(
    seriesFile,
    JSON.stringify({
      episodes,
      seeds,
      every,
      variants,
      summary: summary.map((s) => ({ ...s, mastered: round(s.mastered), sd: round(s.sd) })),
      runs: results.map((r) => ({ teacher: r.teacher, variant: r.variant, seed: r.seed, episodes: r.episodes, mastered: r.mastered })),
    }),
  );
  const densityFile = join(o.out, 'teach-density.json');
  writeFileAtomic(densityFile, JSON.stringify(results.filter((r) => r.density).map((r) => ({ teacher: r.teacher, variant: r.variant, seed: r.seed, bins: 20, windows: r.density }))));
  const reportFile = join(o.out, 'teach-bench.html');
  writeReport(reportFile, null, {
    title: 'icrl teacher benchmark (ToyEnv)',
    subtitle: [`${episodes} episodes x ${seeds} seeds per teacher; mastered = % of cells above 75/100 competence`],
    sections: [...benchSections(summary, results, variants), ...originalSection(original)],
  });
  process.stderr.write(`teach bench: wrote ${seriesFile}, ${densityFile} and ${reportFile} (${wall.toFixed(1)} s)\n`);
}

/** One colour per teacher in every chart. */
function teacherColor(t: string): string {
  return PALETTE[Math.max(0, TEACHER_NAMES.indexOf(t)) % PALETTE.length];
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

function benchSections(summary: ReturnType<typeof summarize>, results: ToyRunResult[], variants: ToyVariant[]): ReportSection[] {
  const sections: ReportSection[] = [];
  for (const v of variants) {
    const rows = summary.filter((s) => s.variant === v.name).sort((a, b) => b.mastered - a.mastered);
    const charts: ChartSpec[] = [
      bandLineChart(
        `Mastered cells over episodes: ${v.name}`,
        rows.map((s) => ({ name: s.teacher, x: s.series.episodes, mean: s.series.mean, lo: s.series.lo, hi: s.series.hi, color: teacherColor(s.teacher) })),
        { xName: 'episodes', yName: '% mastered cells', yMin: 0 },
        `${v.cells}^${v.dims} cells${v.unlearnable ? `, ${v.unlearnable * 100}% of the first coordinate unlearnable` : ''}; mean over seeds with 95% band`,
      ),
    ];
    sections.push({
      title: `ToyEnv ${v.name}`,
      tables: [{ columns: ['teacher', 'mastered % (mean)', 'sd', 'seeds'], rows: rows.map((s) => [s.teacher, round(s.mastered), round(s.sd), s.seeds]) }],
      charts,
    });
  }
  // density of proposals over time, for the first 2-D variant, seed 0
  const v2 = variants.find((v) => v.dims === 2) ?? variants[0];
  const dens = results.filter((r) => r.variant === v2.name && r.density && r.density.length > 0);
  if (dens.length > 0) {
    const charts: ChartSpec[] = [];
    for (const r of dens) {
      const w = r.density ?? [];
      const picks = [0, Math.floor(w.length / 2), w.length - 1].filter((i, k, a) => a.indexOf(i) === k);
      for (const i of picks) {
        const labels = Array.from({ length: 20 }, (_, k) => ((k + 0.5) / 20).toFixed(3));
        charts.push(
          heatmapChart(`${r.teacher}: proposals in episodes ${i > 0 ? w[i - 1].episode + 1 : 1}..${w[i].episode}`, labels, labels, w[i].counts, {
            xName: 'x[0]',
            yName: 'x[1]',
            valueName: 'tasks',
          }),
        );
      }
    }
    sections.push({
      title: `How each teacher's sampling density moves (${v2.name}, seed 0)`,
      text: ['Counts of proposed tasks over a 20 x 20 grid of the first two task coordinates, at the start, middle and end of the run.'],
      charts,
    });
  }
  return sections;
}

function originalSection(cs: OriginalComparison[]): ReportSection[] {
  if (cs.length === 0) return [];
  return [
    {
      title: 'Beside the original teachDeepRL code',
      text: [
        `The original code's toy_env.py run on its ToyEnv (commit ${cs[0].original.commit.slice(0, 12)}; figures stored with the project, see docs/teachers.md) against this run. "within one sd": the difference of the means is at most the larger per-seed standard deviation.`,
      ],
      tables: [
        {
          columns: ['variant', 'teacher', 'ours (mean ± sd, seeds)', 'original (mean ± sd, seeds)', 'difference', '95% interval', 'within one sd'],
          rows: cs.map((c) => [
            c.variant,
            c.teacher,
            `${round(c.ours.mean)} ± ${round(c.ours.sd)} (${c.ours.seeds})`,
            `${round(c.original.mean)} ± ${round(c.original.sd)} (${c.original.seeds})`,
            round(c.difference),
            `[${round(c.differenceInterval95[0])}, ${round(c.differenceInterval95[1])}]`,
            c.withinOneSd ? 'yes' : 'no',
          ]),
        },
      ],
    },
  ];
}

export function register(program: Command): void {
  const teach = program.command('teach').description('Curriculum teachers: list them, benchmark them on ToyEnv, run curricula in the loop.');
  teach
    .command('list')
    .description('List the teachers.')
    .action(() => {
      for (const t of teachers.list()) process.stdout.write(`${t.name.padEnd(12)} ${t.description}\n`);
    });
  teach
    .command('bench')
    .description(
      'ToyEnv benchmark: every teacher drives a ToyEnv (cells gain competence only when sampled after a lower neighbour is mastered) ' +
        'and the % of mastered cells is reported; prints one JSON line per variant and teacher (key "mastered"), one line beside the original teachDeepRL code\'s figure ' +
        'where that set-up was measured with it (keys "ours", "original", "difference", "withinOneSd"), and the order per variant; ' +
        'writes the mastered-over-episodes series and proposal densities (JSON) and an HTML chart under --out.',
    )
    .option('--episodes <n>', 'episodes per run', '20000')
    .option('--seeds <n>', 'seeds per teacher and variant', '5')
    .option('--dims <list>', 'comma-separated dimensions of the variants', '2,5')
    .option('--cells-high-dims <n>', 'cells per dimension for variants above 3-D (2-D and 3-D use 10)', '4')
    .option('--unlearnable <share>', 'add a variant (first dims) whose first coordinate has this share unlearnable; 0 to skip', '0.3')
    .option('--teachers <list>', `comma-separated teachers or "all" (${TEACHER_NAMES.join(', ')})`, 'all')
    .option('--every <n>', 'episodes between two score records', '1000')
    .option('--workers <n>', 'worker threads', '2')
    .option('--teacher-options <json>', 'options per teacher over the published defaults, e.g. \'{"alp-gmm": {"alpMaxSize": 500}}\'')
    .option('--out <dir>', 'output folder', 'runs/teach-bench')
    .option('--no-progress', 'no progress bar')
    .action(async (o: BenchOptions) => bench(o));
  registerCurriculum(teach);
}

function statLine(st: { mean: number; sd: number; perSeed: number[] }): { mean: number; sd: number; perSeed: number[] } {
  const r3 = (x: number): number => Math.round(x * 1000) / 1000;
  return { mean: r3(st.mean), sd: r3(st.sd), perSeed: st.perSeed.map(r3) };
}

async function curriculum(file: string, o: { out?: string; seeds?: string; quiet?: boolean; progress: boolean; set: string[] }): Promise<void> {
  const cfg = loadConfig(curriculumConfigSchema, file, o.set);
  if (o.seeds !== undefined) cfg.seeds = intOpt(o.seeds, 'seeds');
  checkTeachers(cfg.teachers, file);
  const res = runCurriculum(cfg, { source: file, silent: o.quiet === true || !o.progress });
  const base = res.student.find((s) => s.teacher === 'random');
  for (const s of res.student) {
    process.stdout.write(
      `${JSON.stringify({
        experiment: 'curriculum',
        part: 'student',
        name: cfg.name,
        teacher: s.teacher,
        episodes: cfg.student.episodes,
        seeds: cfg.seeds,
        heldOutTasks: res.heldOutTasks,
        heldOutReturn: statLine(s.finalReturn),
        heldOutSuccess: statLine(s.finalSuccess),
        meanReturnOverTraining: statLine(s.meanReturnOverTraining),
        vsUniform: base ? Math.round((s.finalReturn.mean - base.finalReturn.mean) * 1000) / 1000 : null,
      })}\n`,
    );
  }
  for (const p of res.pretraining ?? []) {
    process.stdout.write(
      `${JSON.stringify({
        experiment: 'curriculum',
        part: 'pretraining-selection',
        name: cfg.name,
        teacher: p.teacher,
        histories: cfg.pretraining?.histories,
        historyEpisodes: cfg.pretraining?.historyEpisodes,
        seeds: cfg.seeds,
        learningProgress: statLine(p.progress),
        informativeShare: statLine(p.informative),
        optimalReturn: statLine(p.optimal),
      })}\n`,
    );
  }
  const out = o.out ?? join('runs', cfg.name);
  mkdirSync(out, { recursive: true });
  const jsonFile = join(out, 'curriculum.json');
  writeFileAtomic(jsonFile, JSON.stringify(res));
  const htmlFile = join(out, 'curriculum.html');
  writeReport(htmlFile, null, { title: `icrl curriculum in the loop: ${cfg.name}`, subtitle: [`config ${file}`], sections: curriculumSections(res) });
  process.stderr.write(`teach curriculum: wrote ${jsonFile} and ${htmlFile} (${res.seconds.toFixed(1)} s)\n`);
}

function curriculumSections(res: CurriculumResult): ReportSection[] {
  const cfg = res.config;
  const sections: ReportSection[] = [
    {
      title: 'Student trained on the teacher\'s tasks (Dark Key-to-Door)',
      text: [
        `${cfg.env.size} x ${cfg.env.size} grid, horizon ${cfg.env.horizon}; ${cfg.student.episodes} training episodes per run (equal budget), ${cfg.seeds} seeds; ` +
          `held-out score: greedy return on ${res.heldOutTasks} held-out tasks (max 2: key and door).`,
      ],
      tables: [
        {
          columns: ['teacher', 'held-out return (end)', 'sd', 'success (end)', 'mean return over training'],
          rows: [...res.student]
            .sort((a, b) => b.finalReturn.mean - a.finalReturn.mean)
            .map((s) => [s.teacher, round3(s.finalReturn.mean), round3(s.finalReturn.sd), round3(s.finalSuccess.mean), round3(s.meanReturnOverTraining.mean)]),
        },
      ],
      charts: [
        bandLineChart(
          'Held-out return over training episodes',
          res.student.map((s) => ({ name: s.teacher, x: s.curve.episodes, mean: s.curve.mean, lo: s.curve.lo, hi: s.curve.hi, color: teacherColor(s.teacher) })),
          { xName: 'training episodes', yName: 'held-out return', yMin: 0 },
          'mean over seeds with 95% band; random = uniform sampling',
        ),
      ],
    },
  ];
  if (res.pretraining) {
    sections.push({
      title: 'Teacher choosing ICRL pretraining histories by learning progress',
      tables: [
        {
          columns: ['teacher', 'learning progress of chosen histories', 'sd', 'share with progress > 0', 'mean optimal return of chosen tasks'],
          rows: [...res.pretraining]
            .sort((a, b) => b.progress.mean - a.progress.mean)
            .map((p) => [p.teacher, round3(p.progress.mean), round3(p.progress.sd), round3(p.informative.mean), round3(p.optimal.mean)]),
        },
      ],
    });
  }
  const charts: ChartSpec[] = [];
  const size = cfg.env.size;
  const labels = Array.from({ length: size }, (_, k) => k);
  for (const d of res.density) {
    const w = d.windows;
    const picks = [0, Math.floor(w.length / 2), w.length - 1].filter((i, k, a) => i >= 0 && a.indexOf(i) === k);
    for (const i of picks) {
      charts.push(
        heatmapChart(`${d.teacher}: key cells proposed in episodes ${i > 0 ? w[i - 1].episode + 1 : 1}..${w[i].episode}`, labels, labels, w[i].counts, {
          xName: 'keyX',
          yName: 'keyY',
          valueName: 'tasks',
        }),
      );
    }
  }
  sections.push({
    title: 'How the teacher\'s sampling density moves (key cell of proposed tasks, first seed)',
    text: ['The agent starts at (0, 0): keys near the origin are the easy tasks.'],
    charts,
  });
  return sections;
}

function registerCurriculum(teach: Command): void {
  withOverrides(teach.command('curriculum'))
    .description(
      'Curricula in the loop: each teacher chooses the Dark Key-to-Door tasks a goal-conditioned Q-learning student trains on ' +
        '(equal episode budget, held-out tasks never trained on, compared with uniform sampling = teacher "random"), and, when the config ' +
        'has a pretraining section, chooses which tasks\' Q-learning histories enter ICRL pretraining data by their learning progress. ' +
        'Prints one JSON line per teacher and part; writes curriculum.json and curriculum.html (curves, sampling density) under --out.',
    )
    .argument('<config>', 'YAML or JSON config (see configs/curriculum-dktd.yaml)')
    .option('--out <dir>', 'output folder (default runs/<name>)')
    .option('--seeds <n>', 'override the number of seeds')
    .option('--no-progress', 'no progress output')
    .option('--quiet', 'the same as --no-progress')
    .action(async (file: string, o: { out?: string; seeds?: string; quiet?: boolean; progress: boolean; set: string[] }) => curriculum(file, o));
}
