/**
 * Hyperparameter sweeps (`icrl sweep <config>`): a grid, or a random subset of it, of overrides of a
 * training config (`optim.lr: [0.001, 0.003]`, `model.layers: [1, 2]`, applied with the `--set`
 * machinery of core/config.ts) crossed with seeds. Each trial is a training run with its held-out
 * evaluation at the end (the trainer's), into its own folder `<out>/trials/<id>/`; a trial is a pure
 * function of its training config, so it runs here or on a queue worker with the same result. The
 * figures of each setting are aggregated over seeds with the interquartile mean and a percentile
 * bootstrap interval (eval/stats.ts) into `summary.json` and `report.md`, one line per setting.
 * `sweep.json` holds every finished trial (rewritten atomically after each); running the same
 * command again runs only the trials it lacks, and a trial killed halfway resumes from its last
 * checkpoint.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic, writeJsonAtomic } from '../core/atomic.js';
import { applyOverrides, readConfigFile, validateConfig } from '../core/config.js';
import { canonicalJson } from '../core/json.js';
import { ConfigError, CorruptFileError, IcrlError } from '../core/errors.js';
import { readJsonLines } from '../core/jsonl.js';
import { lockFolder } from '../core/lock.js';
import { Progress } from '../core/progress.js';
import { provenance } from '../core/provenance.js';
import { Rng } from '../core/rng.js';
import { bootstrapCi, interquartileMean } from '../eval/stats.js';
import { TrainConfigSchema, type TrainConfig } from '../train/config.js';
import { trainFromConfig } from '../train/trainer.js';

const scalar = z.union([z.number(), z.string(), z.boolean()]);

export const sweepConfigSchema = z
  .object({
    name: z.string().min(1),
    /** The training config every trial starts from (relative to the sweep file). */
    train: z.string().min(1),
    /** `grid`: every combination of the values; `random`: `trials` combinations drawn from the grid without replacement. */
    search: z.enum(['grid', 'random']).default('grid'),
    trials: z.number().int().min(1).optional(),
    /** Seed of the random search's draw. */
    searchSeed: z.number().int().min(0).default(0),
    /** Overrides: a dotted path of the training config and the values it takes. */
    params: z.record(z.string().regex(/^[A-Za-z_][\w]*(\.[\w]+)*$/, 'a dotted path of the training config, e.g. optim.lr'), z.array(scalar).min(1)),
    /** Seeds of every setting (the training config's `seed`; the held-out tasks stay those of its split). */
    seeds: z.array(z.number().int().min(0)).min(1),
    bootstrap: z
      .object({ samples: z.number().int().min(100).default(2000), seed: z.number().int().min(0).default(0) })
      .strict()
      .default({ samples: 2000, seed: 0 }),
    /** Output folder (relative to the working directory). */
    out: z.string().min(1),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.search === 'random' && c.trials === undefined) ctx.addIssue({ code: 'custom', path: ['trials'], message: 'required for search "random" (how many settings to draw)' });
    if (c.search === 'grid' && c.trials !== undefined) ctx.addIssue({ code: 'custom', path: ['trials'], message: 'only for search "random" (a grid runs every setting)' });
    if (new Set(c.seeds).size !== c.seeds.length) ctx.addIssue({ code: 'custom', path: ['seeds'], message: 'seeds must be distinct' });
  });

export type SweepConfig = z.output<typeof sweepConfigSchema>;

/** One setting: a value per parameter. */
export type Setting = Record<string, string | number | boolean>;

/** A trial: a setting with a seed, and the training config it runs. */
export interface Trial {
  /** `s<setting>-seed<seed>`; also the name of its folder under `<out>/trials/`. */
  id: string;
  setting: number;
  seed: number;
  config: TrainConfig;
}

/** What a trial reports (JSON; it may come back through Redis). */
export interface TrialSummary {
  id: string;
  setting: number;
  seed: number;
  /** The model's held-out figure at the end of training: cumulative regret (bandits, lower is better) or the last in-context episode's return (MDPs, higher is better). */
  metric: { name: 'regret' | 'return'; value: number };
  /** The same figure of the training config's baselines (eval.baselines), by agent. */
  baselines: Record<string, number>;
  steps: number;
  finalLoss: number;
  valLoss: number | null;
  trainSeconds: number;
  parameters: number;
}

/** A loaded sweep: its config, its settings, and its trials. */
export interface SweepPlan {
  config: SweepConfig;
  settings: Setting[];
  trials: Trial[];
  /** Of the config and the base training config: what the trials compute (not where). */
  hash: string;
}

/** Every combination of the parameter values, in order (the last parameter varies fastest). */
export function gridOf(params: Record<string, readonly (string | number | boolean)[]>): Setting[] {
  let out: Setting[] = [{}];
  for (const [k, values] of Object.entries(params)) out = out.flatMap((s) => values.map((v) => ({ ...s, [k]: v })));
  return out;
}

/** The settings of a sweep: the grid, or `trials` of its combinations drawn without replacement (kept in grid order). */
export function sweepSettings(c: SweepConfig): Setting[] {
  const grid = gridOf(c.params);
  if (c.search === 'grid' || c.trials! >= grid.length) return grid;
  const order = new Rng(c.searchSeed).split('random-search').permutation(grid.length);
  return Array.from(order.slice(0, c.trials!)).sort((a, b) => a - b).map((i) => grid[i]);
}

/** `--set` lines of a setting (values as JSON, which the override parser reads as YAML). */
function setsOf(s: Setting): string[] {
  return Object.entries(s).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
}

/** Builds the trials of a sweep config; `base` is the training config as read (extends followed). */
export function planSweep(c: SweepConfig, base: unknown, source = 'sweep config'): SweepPlan {
  const settings = sweepSettings(c);
  const trials: Trial[] = [];
  settings.forEach((s, k) => {
    for (const seed of c.seeds) {
      const id = `s${k}-seed${seed}`;
      const raw = applyOverrides(base, [...setsOf(s), `seed=${seed}`, `out=${JSON.stringify(join(c.out, 'trials', id))}`], source);
      trials.push({ id, setting: k, seed, config: validateConfig(TrainConfigSchema, raw, `${source}: trial ${id} (${setsOf(s).join(' ')})`) });
    }
  });
  const hash = createHash('sha256').update(canonicalJson({ trials: trials.map((t) => ({ id: t.id, config: { ...t.config, out: undefined } })), bootstrap: c.bootstrap })).digest('hex').slice(0, 16);
  return { config: c, settings, trials, hash };
}

/** Reads a sweep file (with `--set` overrides of the sweep config) and its training config. */
export function loadSweep(file: string, overrides: readonly string[] = []): SweepPlan {
  const c = validateConfig(sweepConfigSchema, applyOverrides(readConfigFile(file), overrides, file), file);
  const trainFile = resolve(dirname(file), c.train);
  if (!existsSync(trainFile)) throw new ConfigError(`${file}: train: ${c.train} not found (relative to the sweep file)`, file, 'train');
  return planSweep(c, readConfigFile(trainFile), file);
}

/**
 * Runs one trial: trains its config (resuming from a checkpoint of its folder when there is one)
 * and reads the final held-out evaluation from the run's metrics. What a queue worker does with a
 * trial job; `lockLabel` names the holder in the trial folder's lock.
 */
export async function runTrial(trial: Pick<Trial, 'id' | 'setting' | 'seed' | 'config'>, opts: { log?: (line: string) => void; lockLabel?: string } = {}): Promise<TrialSummary> {
  const res = await trainFromConfig(trial.config, { progressBar: false, resume: true, log: opts.log, lockLabel: opts.lockLabel });
  const records = readJsonLines(res.metricsFile, 'training metrics file');
  const final = records.filter((r) => r.step === res.steps);
  const figure = (r: Record<string, unknown>): { name: 'regret' | 'return'; value: number } | null => {
    if (typeof r.meanRegret === 'number') return { name: 'regret', value: r.meanRegret };
    const ret = r.returns as number[] | undefined;
    return Array.isArray(ret) && ret.length > 0 ? { name: 'return', value: ret[ret.length - 1] } : null;
  };
  const model = final.filter((r) => r.kind === 'eval').map(figure).find((f) => f !== null);
  if (!model) throw new IcrlError(`trial ${trial.id}: ${res.metricsFile} holds no held-out evaluation at step ${res.steps}`);
  const baselines: Record<string, number> = {};
  for (const r of final.filter((x) => x.kind === 'baseline')) {
    const f = figure(r);
    if (f) baselines[String(r.agent)] = f.value;
  }
  return { id: trial.id, setting: trial.setting, seed: trial.seed, metric: model, baselines, steps: res.steps, finalLoss: res.finalLoss, valLoss: res.valLoss, trainSeconds: res.trainSeconds, parameters: res.parameters };
}

/** Runs trials elsewhere (the job queue); `onResult` is called once per finished trial. */
export interface SweepExecutor {
  run(trials: Trial[], onResult: (summary: TrialSummary) => void): Promise<{ id: string; error: string }[]>;
}

export interface SettingRow {
  setting: number;
  values: Setting;
  seeds: number[];
  /** The metric of each seed's trial (in `seeds` order). */
  perSeed: number[];
  iqm: number;
  /** 95% percentile-bootstrap interval of the IQM over seeds. */
  lo: number;
  hi: number;
  mean: number;
  trainSeconds: number;
}

export interface SweepSummary {
  format: 'icrl-sweep-summary-1';
  name: string;
  metric: 'regret' | 'return';
  better: 'lower' | 'higher';
  params: string[];
  settings: SettingRow[];
  /** The training config's baselines, aggregated over the seeds the same way (from the trials of setting 0, which all settings share). */
  baselines: { agent: string; perSeed: number[]; iqm: number; lo: number; hi: number }[];
  /** Index (in `settings`) of the best setting by IQM. */
  best: number | null;
  trials: { done: number; total: number; failed: { id: string; error: string }[] };
  bootstrap: { samples: number; seed: number };
  provenance: ReturnType<typeof provenance>;
}

/** Aggregates finished trials per setting over seeds (IQM and bootstrap interval). */
export function summarizeSweep(plan: SweepPlan, done: Record<string, TrialSummary>, failed: { id: string; error: string }[] = []): SweepSummary {
  const c = plan.config;
  const all = Object.values(done);
  const metric = all[0]?.metric.name ?? 'regret';
  const rows: SettingRow[] = plan.settings.map((values, k) => {
    const trials = c.seeds.map((s) => done[`s${k}-seed${s}`]).filter((t): t is TrialSummary => t !== undefined);
    const perSeed = trials.map((t) => t.metric.value);
    const ci = bootstrapCi(perSeed, interquartileMean, { samples: c.bootstrap.samples, seed: new Rng(c.bootstrap.seed).split(`setting-${k}`).nextU32() });
    const mean = perSeed.length ? perSeed.reduce((a, b) => a + b, 0) / perSeed.length : NaN;
    return { setting: k, values, seeds: trials.map((t) => t.seed), perSeed, iqm: ci.estimate, lo: ci.lo, hi: ci.hi, mean, trainSeconds: trials.reduce((a, t) => a + t.trainSeconds, 0) / Math.max(1, trials.length) };
  });
  const ref = c.seeds.map((s) => done[`s0-seed${s}`]).filter((t): t is TrialSummary => t !== undefined);
  const agents = [...new Set(ref.flatMap((t) => Object.keys(t.baselines)))];
  const baselines = agents.map((agent) => {
    const perSeed = ref.map((t) => t.baselines[agent]).filter((v) => v !== undefined);
    const ci = bootstrapCi(perSeed, interquartileMean, { samples: c.bootstrap.samples, seed: new Rng(c.bootstrap.seed).split(`baseline-${agent}`).nextU32() });
    return { agent, perSeed, iqm: ci.estimate, lo: ci.lo, hi: ci.hi };
  });
  const better = metric === 'regret' ? 'lower' : 'higher';
  let best: number | null = null;
  for (const r of rows) if (Number.isFinite(r.iqm) && (best === null || (better === 'lower' ? r.iqm < rows[best].iqm : r.iqm > rows[best].iqm))) best = r.setting;
  return { format: 'icrl-sweep-summary-1', name: c.name, metric, better, params: Object.keys(c.params), settings: rows, baselines, best, trials: { done: all.length, total: plan.trials.length, failed }, bootstrap: c.bootstrap, provenance: provenance() };
}

const fmt = (v: number): string => (Number.isFinite(v) ? (Math.abs(v) >= 100 ? v.toFixed(1) : v.toFixed(2)) : 'n/a');

/** The report: one line per setting (IQM over seeds with its interval), then the baselines. */
export function sweepReport(s: SweepSummary): string {
  const what = s.metric === 'regret' ? 'held-out cumulative regret at the end of training (lower is better)' : 'held-out return of the last in-context episode (higher is better)';
  const lines = [
    `# Sweep ${s.name}`,
    '',
    `Figure: the model's ${what}, per setting over its seeds: interquartile mean (IQM) with a 95% percentile-bootstrap interval (${s.bootstrap.samples} resamples of the seeds, seed ${s.bootstrap.seed}), the mean, and each seed's value. Trials: ${s.trials.done} of ${s.trials.total} finished${s.trials.failed.length ? `, ${s.trials.failed.length} failed` : ''}.`,
    '',
    `| setting | ${s.params.join(' | ')} | seeds | IQM | 95% CI | mean | per seed | train s |`,
    `|---|${s.params.map(() => '---|').join('')}---|---|---|---|---|---|`,
  ];
  for (const r of s.settings) {
    lines.push(`| ${r.setting}${r.setting === s.best ? ' (best)' : ''} | ${s.params.map((p) => String(r.values[p])).join(' | ')} | ${r.seeds.length} | ${fmt(r.iqm)} | [${fmt(r.lo)}, ${fmt(r.hi)}] | ${fmt(r.mean)} | ${r.perSeed.map(fmt).join(', ')} | ${fmt(r.trainSeconds)} |`);
  }
  if (s.baselines.length) {
    lines.push('', 'Baselines of the training config on the same held-out tasks (same seeds):', '', '| agent | IQM | 95% CI | per seed |', '|---|---|---|---|');
    for (const b of s.baselines) lines.push(`| ${b.agent} | ${fmt(b.iqm)} | [${fmt(b.lo)}, ${fmt(b.hi)}] | ${b.perSeed.map(fmt).join(', ')} |`);
  }
  if (s.trials.failed.length) {
    lines.push('', 'Failed trials (run the same command again to retry them):', '');
    for (const f of s.trials.failed) lines.push(`- ${f.id}: ${f.error}`);
  }
  return `${lines.join('\n')}\n`;
}

interface SweepState {
  format: 'icrl-sweep-1';
  name: string;
  hash: string;
  trials: Record<string, TrialSummary>;
}

function readState(file: string): SweepState | null {
  if (!existsSync(file)) return null;
  let doc: SweepState;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8')) as SweepState;
  } catch (e) {
    throw new CorruptFileError(file, `cannot read the sweep state: ${(e as Error).message}`);
  }
  if (doc?.format !== 'icrl-sweep-1' || typeof doc.trials !== 'object' || doc.trials === null) throw new CorruptFileError(file, 'not an icrl sweep state (format icrl-sweep-1)');
  return doc;
}

export interface SweepOptions {
  /** Runs the trials elsewhere (src/queue); default: one after the other in this process. */
  executor?: SweepExecutor;
  /** Start over when the folder holds a sweep of another config. */
  force?: boolean;
  silent?: boolean;
  log?: (line: string) => void;
}

export interface SweepResult {
  outDir: string;
  summary: SweepSummary;
  summaryPath: string;
  reportPath: string;
  /** Trials run by this call (not found finished in sweep.json). */
  ran: number;
}

/** Runs (or resumes) a sweep and writes its summary and report; the output folder is locked meanwhile. */
export async function runSweep(plan: SweepPlan, opts: SweepOptions = {}): Promise<SweepResult> {
  const outDir = resolve(plan.config.out);
  const release = lockFolder(outDir, 'icrl sweep');
  try {
    const stateFile = join(outDir, 'sweep.json');
    let state = readState(stateFile);
    if (state && state.hash !== plan.hash) {
      if (!opts.force) throw new IcrlError(`${stateFile}: this folder holds a sweep of another config (hash ${state.hash}, now ${plan.hash}); use another out or --force to start over`);
      state = null;
    }
    const st: SweepState = state ?? { format: 'icrl-sweep-1', name: plan.config.name, hash: plan.hash, trials: {} };
    writeJsonAtomic(stateFile, st);
    const todo = plan.trials.filter((t) => !st.trials[t.id]);
    const bar = new Progress(`sweep ${plan.config.name}`, plan.trials.length, { unit: 'trials', silent: opts.silent });
    if (todo.length < plan.trials.length) bar.update(plan.trials.length - todo.length, `(resumed: ${plan.trials.length - todo.length} done)`);
    const record = (s: TrialSummary): void => {
      if (st.trials[s.id]) return; // a trial is recorded once
      st.trials[s.id] = s;
      writeJsonAtomic(stateFile, st);
      bar.update(Object.keys(st.trials).length);
    };
    let failed: { id: string; error: string }[] = [];
    if (opts.executor) failed = await opts.executor.run(todo, record);
    else for (const t of todo) record(await runTrial(t, { log: opts.log }));
    bar.finish();
    const summary = summarizeSweep(plan, st.trials, failed);
    const summaryPath = join(outDir, 'summary.json');
    const reportPath = join(outDir, 'report.md');
    writeJsonAtomic(summaryPath, summary);
    writeFileAtomic(reportPath, sweepReport(summary));
    return { outDir, summary, summaryPath, reportPath, ran: todo.length - failed.length };
  } finally {
    release();
  }
}
