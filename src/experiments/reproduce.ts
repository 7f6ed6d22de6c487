/**
 * `icrl reproduce`: named experiments that reproduce a paper's claim end to end. An entry names the
 * paper and the claim, and for each scale (`small`: a laptop; `paper`: the published sizes) the
 * configs it runs: every model is trained once per training seed, then each seed's models are
 * evaluated in context next to the baselines of the evaluation config. The scores of each seed (one
 * number per held-out task and agent) are aggregated over seeds with the interquartile mean and a
 * percentile-bootstrap interval (rliable), and each claim gets a verdict computed from the interval
 * of the paired difference it states: `holds` when the interval lies on the claimed side of zero,
 * `does not hold` when it lies on the other side, `inconclusive` when it straddles zero. Nothing in
 * a verdict is written by hand.
 *
 * Every stage resumes: a collection keeps its finished shards (`icrl collect`'s manifest), a training
 * run continues from its checkpoint (a finished one is a no-op), an evaluation whose results file is
 * complete is not run again, so a killed `icrl reproduce` rerun with the same arguments ends with the
 * same numbers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, fstatSync, openSync, readSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { readConfigFile, applyOverrides } from '../core/config.js';
import { ConfigError, IcrlError } from '../core/errors.js';
import { lockFolder } from '../core/lock.js';
import { provenance, type Provenance } from '../core/provenance.js';
import { Registry, type RegistryEntry } from '../core/registry.js';
import { makeDir, writeFileAtomic, writeJsonAtomic } from '../core/atomic.js';
import { Rng, type Seed } from '../core/rng.js';
import { iqmInterval, meanCi, type BootstrapInterval } from '../eval/stats.js';
import { readResults, type EvalResults } from '../eval/results.js';
import { evalConfigSchema } from '../eval/config.js';
import { evalConfigKey } from '../eval/run.js';
import { collect, parseCollectConfig } from '../data/collect.js';
import { parseTrainConfig, type TrainConfig } from '../train/config.js';
import { trainFromConfig } from '../train/trainer.js';
import { bandLineChart, type BandSeries, type ReportSection } from '../report/index.js';
import { renderDocument } from '../report/html.js';
import { evaluateAndReport } from './evaluate.js';

export type Scale = 'small' | 'paper';
export const SCALES: readonly Scale[] = ['small', 'paper'];

/**
 * Per-task scores an evaluation yields for an agent: `finalRegret` (bandits: cumulative regret at
 * the last step), `firstReturn` / `lastReturn` / `meanReturn` (MDPs: return in the first / last
 * in-context episode, mean over all of them), `score` (entries with one number per seed, e.g. the
 * teacher benchmark's mastered cells), `return<k>` (MDPs: return in in-context episode k, 1-based),
 * `success<k>` (families with a success criterion: 1 where in-context episode k succeeded).
 */
export type MetricName = 'finalRegret' | 'firstReturn' | 'lastReturn' | 'meanReturn' | 'score' | `return${number}` | `success${number}`;

/** Whether lower is better for a metric (regret); `return<k>` / `success<k>` are the return / success (0 or 1) in in-context episode k (1-based). */
function lowerIsBetter(m: MetricName): boolean {
  return m === 'finalRegret';
}

export interface ScoreRef {
  agent: string;
  metric: MetricName;
}

/**
 * A claim compares two scores task by task (paired within a seed): `left` is better than
 * `fraction` x `right` (fraction 1 by default; 0.9 reads "within 10% of"). Whether better means
 * higher or lower follows the metric.
 */
export interface Claim {
  /** One sentence, e.g. "AD's return in its last in-context episode is above its first". */
  text: string;
  left: ScoreRef;
  right: ScoreRef;
  fraction?: number;
  /** Whether the claim is made for a run with these entry options (absent: always), e.g. success claims only for a family that scores success. */
  applies?: (options: Record<string, unknown>) => boolean;
  /** Left out (no verdict) when the run did not measure both scores: a part of the entry its options turned off. */
  optional?: boolean;
}

export type Outcome = 'holds' | 'does not hold' | 'inconclusive';

export interface Verdict {
  claim: string;
  /** Mean paired difference, signed so that positive supports the claim, with its 95% interval. */
  difference: BootstrapInterval;
  outcome: Outcome;
}

/** Scores of one agent and metric: [seed][task]. */
export type ScoreMatrix = number[][];

export interface Measurements {
  seeds: number[];
  /** key `${agent}:${metric}` */
  scores: Map<string, ScoreMatrix>;
  /** Charts and paragraphs the entry adds to the report (curves over episodes or steps). */
  sections: ReportSection[];
  /** Files the run wrote per seed (results, reports), for the summary. */
  files: string[];
}

export interface ReproduceContext {
  out: string;
  /**
   * The folder whose train/ the models train in (absent: `out`): the entry's default folder without
   * the suffixes of its evaluation-only options ({@link ReproductionEntry.evaluationOptions}), so that
   * a diagnostic run evaluates the models the entry trained.
   */
  trainOut?: string;
  seeds: number[];
  scale: Scale;
  /** The entry's options (`--set key=value`), validated by its options schema, defaults filled in (absent: none given). */
  options?: Record<string, unknown>;
  progress: boolean;
  say: (line: string) => void;
  /** Training runs of different seeds at once, each in a child process (`--parallel`; absent: 1, one after another in this process). */
  parallel?: number;
}

/** A collection the models of a pipeline train on (an `icrl collect` config). */
export interface PipelineCollection {
  label: string;
  /** The collect config (relative to configs/); its `out` is set by the reproduction. */
  collect: string;
  /**
   * Collected once per training seed (the config's `seed` set to the training seed), when the claim
   * is about data as much as models; else once for all seeds (with the config's own seed).
   */
  perSeed?: boolean;
}

/** A model of a pipeline, trained once per seed. */
export interface PipelineModel {
  label: string;
  /** Its training config (relative to configs/); `seed` and `out` are set per run. */
  train: string;
  /** Label of a collection of the plan: its folder becomes the config's `data.ad.collection`. */
  collection?: string;
  /** `--set` style overrides of the training config (e.g. `data.ad.lhf.mode=filter`). */
  set?: string[];
  /** Options of its evaluation agent besides the checkpoint (e.g. `{ context: 'episodes' }` for DPT). */
  agent?: Record<string, unknown>;
}

/** What one scale of a pipeline entry runs. Config paths are relative to the package's configs/. */
export interface PipelinePlan {
  /** Collections made before any training, in this order. */
  collect?: PipelineCollection[];
  /** Models trained once per seed (the training config's `seed` and `out` are set per run). */
  models: PipelineModel[];
  /** The evaluation config; the trained models are added to its online agents, its seed set per run. */
  eval: string;
  /** Online agents added after the models (before the config's own), e.g. an expert policy. */
  agents?: Record<string, unknown>[];
  /**
   * Evaluations per seed (default 1): run 0 with the training seed as the evaluation seed, run r > 0
   * with {@link evalRunSeed}; each per-task score is the mean over the runs (gatherSeed).
   */
  evalRuns?: number;
}

export interface ReproductionScale {
  /** What the run takes on the 2-core development machine, shown by `icrl reproduce list`. */
  budget: string;
  /** Rows of the results table. */
  table: ScoreRef[];
  run: (ctx: ReproduceContext) => Promise<Measurements>;
}

export interface ReproductionEntry extends RegistryEntry {
  /** The paper (authors, year, title). */
  paper: string;
  /** The claim in one sentence. */
  claim: string;
  claims: Claim[];
  scales: Partial<Record<Scale, ReproductionScale>>;
  /**
   * Options that change only the evaluation (e.g. evalRuns): a run given them has its own default
   * folder (suffixed by their values) but trains its models in the folder of the run without them,
   * finding them trained when that run was made.
   */
  evaluationOptions?: string[];
}

export const reproductions = new Registry<ReproductionEntry>('reproduction');

/** The package's configs/ folder (found from this file, so it works from any working directory). */
export function packageConfigs(): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'configs');
}

function metricKey(r: ScoreRef): string {
  return `${r.agent}:${r.metric}`;
}

/** Per-task scores of every online agent of one results file. */
export function scoresOf(results: EvalResults): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const a of results.online?.agents ?? []) {
    const s = a.summary;
    if (s.mode === 'steps') out.set(`${a.name}:finalRegret`, s.perTaskFinalRegret.slice());
    else {
      out.set(`${a.name}:firstReturn`, s.perTaskReturns.map((r) => r[0]));
      out.set(`${a.name}:lastReturn`, s.perTaskReturns.map((r) => r[r.length - 1]));
      out.set(`${a.name}:meanReturn`, s.perTaskReturns.map((r) => r.reduce((x, y) => x + y, 0) / r.length));
      for (let k = 0; k < s.episodes; k++) out.set(`${a.name}:return${k + 1}`, s.perTaskReturns.map((r) => r[k]));
      if (s.perTaskSuccess) for (let k = 0; k < s.episodes; k++) out.set(`${a.name}:success${k + 1}`, s.perTaskSuccess.map((r) => r[k]));
    }
  }
  return out;
}

/**
 * The mean paired difference `sign * (left - fraction * right)` over seeds and tasks with a 95%
 * interval from a two-level bootstrap (seeds resampled, then the tasks of each drawn seed), so that
 * both the spread over training seeds and over held-out tasks widen it.
 */
export function pairedDifference(left: ScoreMatrix, right: ScoreMatrix, lowerIsBetter: boolean, fraction = 1, seed: Seed = 0, samples = 2000): BootstrapInterval {
  if (left.length !== right.length || left.some((row, s) => row.length !== right[s].length || row.length === 0)) {
    throw new IcrlError('pairedDifference: the two score matrices must have the same seeds and tasks');
  }
  const sign = lowerIsBetter ? -1 : 1;
  const d = left.map((row, s) => row.map((x, i) => sign * (x - fraction * right[s][i])));
  const mean = (rows: number[][]): number => {
    let sum = 0;
    let n = 0;
    for (const r of rows) {
      for (const x of r) sum += x;
      n += r.length;
    }
    return sum / n;
  };
  const estimate = mean(d);
  const S = d.length;
  const n = d.reduce((a, r) => a + r.length, 0);
  if (n <= 1) return { estimate, lo: estimate, hi: estimate, n };
  const rng = new Rng(seed);
  const stats = new Float64Array(samples);
  for (let b = 0; b < samples; b++) {
    let sum = 0;
    let cnt = 0;
    for (let s = 0; s < S; s++) {
      const row = d[S > 1 ? rng.int(S) : s];
      for (let i = 0; i < row.length; i++) sum += row[rng.int(row.length)];
      cnt += row.length;
    }
    stats[b] = sum / cnt;
  }
  stats.sort();
  const q = (p: number): number => stats[Math.min(samples - 1, Math.max(0, Math.round(p * (samples - 1))))];
  return { estimate, lo: q(0.025), hi: q(0.975), n };
}

export function verdictOf(claim: Claim, scores: Map<string, ScoreMatrix>, seed: Seed = 0): Verdict {
  const need = (r: ScoreRef): ScoreMatrix => {
    const m = scores.get(metricKey(r));
    if (!m) throw new IcrlError(`claim "${claim.text}": no score ${metricKey(r)} was measured (measured: ${[...scores.keys()].join(', ')})`);
    return m;
  };
  if (lowerIsBetter(claim.left.metric) !== lowerIsBetter(claim.right.metric)) {
    throw new IcrlError(`claim "${claim.text}": ${claim.left.metric} and ${claim.right.metric} do not point the same way`);
  }
  const difference = pairedDifference(need(claim.left), need(claim.right), lowerIsBetter(claim.left.metric), claim.fraction ?? 1, seed);
  const outcome: Outcome = difference.lo > 0 ? 'holds' : difference.hi < 0 ? 'does not hold' : 'inconclusive';
  return { claim: claim.text, difference, outcome };
}

/** The claims made for a run with these entry options, each with its index in the entry's list (the seed of its bootstrap). */
export function applicableClaims(claims: Claim[], options: Record<string, unknown>): [Claim, number][] {
  return claims.flatMap((c, i): [Claim, number][] => (!c.applies || c.applies(options) ? [[c, i]] : []));
}

export interface TableRow {
  agent: string;
  metric: MetricName;
  /** Interquartile mean over seeds of each seed's mean over tasks, with its bootstrap interval. */
  iqm: BootstrapInterval;
  /** Each seed's mean over tasks. */
  perSeed: number[];
  /** Mean over seeds and tasks with the 95% t-interval over tasks of the seed-averaged scores (null bounds for one task). */
  overTasks: { mean: number; lo: number | null; hi: number | null };
}

export function tableRows(rows: ScoreRef[], scores: Map<string, ScoreMatrix>): TableRow[] {
  return rows.flatMap((r) => {
    const m = scores.get(metricKey(r));
    if (!m) return [];
    const perSeed = m.map((row) => row.reduce((a, b) => a + b, 0) / row.length);
    const tasks = m[0].length;
    const avg = Array.from({ length: tasks }, (_, i) => m.reduce((a, row) => a + row[i], 0) / m.length);
    const t = meanCi(avg);
    // one task per seed (a benchmark score): no interval over tasks
    const overTasks = tasks > 1 ? { mean: t.mean, lo: t.lo, hi: t.hi } : { mean: t.mean, lo: null, hi: null };
    return [{ agent: r.agent, metric: r.metric, iqm: iqmInterval(perSeed), perSeed, overTasks }];
  });
}

export interface ReproduceOptions {
  scale?: Scale;
  seeds?: number;
  /**
   * Output folder (default runs/reproduce/<name>-<scale>, then -<value> for each option given; the
   * models then train in the default folder of the options that change training).
   */
  out?: string;
  /** The entry's options (validated by its options schema; a typo is a ConfigError naming the key). */
  options?: Record<string, unknown>;
  progress?: boolean;
  say?: (line: string) => void;
  /** Train up to this many seeds at once, each in a child process (default 1: one after another, in this process). */
  parallel?: number;
}

export interface ReproduceSummary {
  format: 'icrl-reproduction';
  version: 1;
  name: string;
  paper: string;
  claim: string;
  scale: Scale;
  /** The entry's options as run (defaults filled in). */
  options: Record<string, unknown>;
  seeds: number[];
  table: TableRow[];
  verdicts: Verdict[];
  files: string[];
  elapsedSeconds: number;
  provenance: Provenance;
}

export const reproduceOptionsSchema = z
  .object({
    scale: z.enum(['small', 'paper']).default('small'),
    seeds: z.number().int().min(1).max(100).default(3),
    parallel: z.number().int().min(1).max(64).default(1),
  })
  .strict();

function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  return a >= 100 ? x.toFixed(1) : a >= 1 ? x.toFixed(2) : x.toFixed(3);
}

export function verdictLine(v: Verdict): string {
  return `${v.outcome.toUpperCase()}: ${v.claim} (difference ${fmt(v.difference.estimate)}, 95% interval [${fmt(v.difference.lo)}, ${fmt(v.difference.hi)}])`;
}

/** Runs an entry (or resumes it) and writes reproduce.json and report.html into its folder. */
export async function runReproduction(name: string, opts: ReproduceOptions = {}): Promise<ReproduceSummary> {
  const entry = reproductions.get(name);
  const o = reproduceOptionsSchema.parse({ scale: opts.scale ?? 'small', seeds: opts.seeds ?? 3, parallel: opts.parallel ?? 1 });
  const scale = entry.scales[o.scale];
  if (!scale) {
    const have = Object.keys(entry.scales).join(', ');
    throw new ConfigError(`reproduction ${entry.name} has no ${o.scale} scale (it has: ${have})`, `--scale ${o.scale}`);
  }
  const options = reproductions.parseOptions(entry.name, opts.options ?? {}, '--set') as Record<string, unknown>;
  const given = Object.keys(opts.options ?? {}).sort();
  const suffix = (keys: string[]) => keys.map((k) => `-${String(options[k]).replace(/[^A-Za-z0-9_.-]+/g, '_')}`).join('');
  const defaultOut = (keys: string[]) => resolve(join('runs', 'reproduce', `${entry.name}-${o.scale}${suffix(keys)}`));
  const out = opts.out ? resolve(opts.out) : defaultOut(given);
  // evaluation-only options: the models of the run without them (with --out, the folder's own)
  const trainOut = opts.out ? out : defaultOut(given.filter((k) => !(entry.evaluationOptions ?? []).includes(k)));
  makeDir(out);
  const release = lockFolder(out, 'icrl reproduce');
  try {
    const say = opts.say ?? ((l: string) => process.stdout.write(`${l}\n`));
    const t0 = performance.now();
    const seeds = Array.from({ length: o.seeds }, (_, i) => i);
    say(`icrl reproduce ${entry.name} (${o.scale} scale${Object.keys(options).length > 0 ? `, ${JSON.stringify(options)}` : ''}, ${seeds.length} seed${seeds.length > 1 ? 's' : ''}) -> ${out}`);
    say(`paper: ${entry.paper}`);
    say(`claim: ${entry.claim}`);
    if (trainOut !== out) say(`models: trained in ${join(trainOut, 'train')} (the run without ${given.filter((k) => entry.evaluationOptions!.includes(k)).join(', ')}, which change only the evaluation)`);
    const m = await scale.run({ out, ...(trainOut !== out ? { trainOut } : {}), seeds, scale: o.scale, options, progress: opts.progress ?? true, say, parallel: o.parallel });
    const table = tableRows(scale.table, m.scores);
    const verdicts = applicableClaims(entry.claims, options)
      .filter(([c]) => !c.optional || [c.left, c.right].every((r) => m.scores.has(metricKey(r))))
      .map(([c, i]) => verdictOf(c, m.scores, i));
    const summary: ReproduceSummary = {
      format: 'icrl-reproduction',
      version: 1,
      name: entry.name,
      paper: entry.paper,
      claim: entry.claim,
      scale: o.scale,
      options,
      seeds,
      table,
      verdicts,
      files: m.files,
      elapsedSeconds: (performance.now() - t0) / 1000,
      provenance: provenance(),
    };
    writeJsonAtomic(join(out, 'reproduce.json'), summary);
    writeFileAtomic(join(out, 'report.html'), renderDocument(reproductionReport(summary, m.sections)));
    say('');
    say(`${'agent'.padEnd(14)} ${'metric'.padEnd(12)} ${'IQM over seeds [95% bootstrap]'.padEnd(34)} per seed`);
    for (const r of table) {
      say(`${r.agent.padEnd(14)} ${r.metric.padEnd(12)} ${`${fmt(r.iqm.estimate)} [${fmt(r.iqm.lo)}, ${fmt(r.iqm.hi)}]`.padEnd(34)} ${r.perSeed.map(fmt).join(', ')}`);
    }
    say('');
    for (const v of verdicts) say(verdictLine(v));
    say('');
    say(`results: ${join(out, 'reproduce.json')}`);
    say(`report:  ${join(out, 'report.html')}`);
    return summary;
  } finally {
    release();
  }
}

function reproductionReport(s: ReproduceSummary, sections: ReportSection[]): Parameters<typeof renderDocument>[0] {
  return {
    title: `Reproduction: ${s.name}`,
    subtitle: [s.paper, s.claim],
    facts: [
      ['scale', s.scale],
      ...(Object.keys(s.options).length > 0 ? [['options', JSON.stringify(s.options)] as [string, string]] : []),
      ['training seeds', s.seeds.join(', ')],
      ['time', `${s.elapsedSeconds.toFixed(0)} s`],
      ['version', `${s.provenance.package.name} ${s.provenance.package.version}${s.provenance.git ? ` (${s.provenance.git.commit.slice(0, 10)}${s.provenance.git.dirty ? ', dirty' : ''})` : ''}`],
    ],
    sections: [
      {
        title: 'Verdicts',
        text: [
          'Each verdict is computed from the 95% interval of the paired difference the claim states (a bootstrap over training seeds, then over the held-out tasks of each): HOLDS when the interval lies on the claimed side of zero, DOES NOT HOLD on the other side, INCONCLUSIVE when it contains zero.',
          ...s.verdicts.map(verdictLine),
        ],
      },
      {
        title: 'Results',
        text: ['Interquartile mean over training seeds of each seed\'s mean over held-out tasks, with a 95% percentile-bootstrap interval; then the mean over tasks of the seed-averaged scores with its 95% t-interval.'],
        tables: [
          {
            columns: ['agent', 'metric', 'IQM', 'IQM lo', 'IQM hi', 'per seed', 'mean over tasks', 'lo', 'hi'],
            rows: s.table.map((r) => [r.agent, r.metric, r.iqm.estimate, r.iqm.lo, r.iqm.hi, r.perSeed.map(fmt).join(', '), r.overTasks.mean, r.overTasks.lo, r.overTasks.hi]),
          },
        ],
      },
      ...sections,
      { title: 'Files', text: s.files },
    ],
  };
}

/** The training run folder of a model label and seed inside a reproduction's folder. */
export function trainDir(out: string, label: string, seed: number): string {
  return join(out, 'train', `${label.replace(/[^A-Za-z0-9_.-]+/g, '_')}-seed${seed}`);
}

/** The folder of a collection of a reproduction (per seed or shared). */
function collectDir(out: string, c: PipelineCollection, seed: number): string {
  const label = c.label.replace(/[^A-Za-z0-9_.-]+/g, '_');
  return join(out, 'collect', c.perSeed ? `${label}-seed${seed}` : label);
}

/** Runs (or resumes: `collect` keeps finished shards) one collection of a plan. */
async function runCollection(ctx: ReproduceContext, c: PipelineCollection, seed: number): Promise<string> {
  const dir = collectDir(ctx.trainOut ?? ctx.out, c, seed);
  const file = resolve(packageConfigs(), c.collect);
  const raw = applyOverrides(readConfigFile(file), c.perSeed ? [`seed=${seed}`] : [], c.collect) as Record<string, unknown>;
  const cfg = parseCollectConfig({ ...raw, out: dir }, `${c.collect}${c.perSeed ? ` (seed ${seed})` : ''}`);
  ctx.say(`collect ${c.label}${c.perSeed ? `, seed ${seed}` : ''}: ${c.collect} -> ${dir}`);
  const r = await collect(cfg, { out: dir, silent: !ctx.progress });
  const shards = Object.keys(r.manifest.shards).length;
  ctx.say(`  ${r.computed === 0 ? 'already collected' : `collected ${r.computed} shard${r.computed === 1 ? '' : 's'}`}${r.computed > 0 && r.computed < shards ? ` (${shards - r.computed} kept from before)` : ''}: ${shards} of ${r.manifest.numShards} shards`);
  return dir;
}

function evalComplete(file: string, cfg: Record<string, unknown>): boolean {
  if (!existsSync(file)) return false;
  try {
    const r = readResults(file);
    if (r.status && !r.status.complete) return false; // a killed evaluation: icrl eval resumes it
    // the same evaluation: every agent's spec (an agent's context, a checkpoint), the tasks, episodes and seed
    return evalConfigKey(r.config) === evalConfigKey(evalConfigSchema.parse(cfg));
  } catch {
    return false;
  }
}

/**
 * The evaluation seed of run `run` of training seed `seed`: the training seed itself for run 0 (an
 * entry's one evaluation per seed), a stream split from it by the run's index after that.
 */
export function evalRunSeed(seed: number, run: number): number {
  return run === 0 ? seed : new Rng(seed).split(`eval-run-${run}`).nextU32();
}

/**
 * One seed's evaluation of a reproduction: the evaluation config `evalConfig` (relative to the
 * package's configs/) with `agents` (trained models) put before its own online agents, its seed set
 * to `seed` (run 0) or to {@link evalRunSeed} (run r > 0), written to <out>/eval/seed<seed> (run 0)
 * or <out>/eval/seed<seed>-run<r>; a complete results file there is not computed again.
 */
export async function evaluateSeed(ctx: ReproduceContext, evalConfig: string, agents: Record<string, unknown>[], seed: number, run = 0): Promise<{ results: EvalResults; files: string[] }> {
  const evalFile = resolve(packageConfigs(), evalConfig);
  const raw = applyOverrides(readConfigFile(evalFile), [`seed=${evalRunSeed(seed, run)}`], evalConfig) as Record<string, unknown> & { online?: { agents?: unknown[] } };
  if (!raw.online) throw new ConfigError(`${evalConfig}: a reproduction's evaluation needs an online section`, evalConfig);
  const evalOut = join(ctx.out, 'eval', run === 0 ? `seed${seed}` : `seed${seed}-run${run}`);
  const cfg = { ...raw, out: evalOut, online: { ...raw.online, agents: [...agents, ...(raw.online.agents ?? [])] } };
  const resultsFile = join(evalOut, 'results.json');
  if (evalComplete(resultsFile, cfg)) ctx.say(`evaluate seed ${seed}: complete in ${resultsFile}, not run again`);
  else {
    ctx.say(`evaluate seed ${seed}${run ? `, run ${run}` : ''}: ${evalConfig} -> ${evalOut}`);
    await evaluateAndReport(cfg as never, { source: `${evalConfig} (seed ${seed}${run ? `, run ${run}` : ''})`, progress: ctx.progress, log: (l) => ctx.say(`  ${l}`) });
  }
  return { results: readResults(resultsFile), files: [resultsFile, join(evalOut, 'report.html')] };
}

/** Curves of one agent over seeds: x and one y row per seed. */
export type SeedCurves = Map<string, { x: number[]; perSeed: number[][] }>;

/** Elementwise mean of equal-length rows. */
function meanRows(rows: number[][], what: string): number[] {
  if (rows.some((r) => r.length !== rows[0].length)) throw new IcrlError(`${what}: the evaluation runs of a seed differ in length`);
  return rows[0].map((_, i) => rows.reduce((a, r) => a + r[i], 0) / rows.length);
}

/**
 * Adds one seed's results to `scores` (per-task scores of every online agent, {@link scoresOf}) and
 * to `curves` (its mean curve: cumulative regret per step, or return per in-context episode);
 * returns which of the two the results hold. Several evaluation runs of the seed (the same tasks
 * played again with other random streams) count as one: each per-task score and each curve is the
 * mean over the runs.
 */
export function gatherSeed(results: EvalResults | EvalResults[], scores: Map<string, ScoreMatrix>, curves: SeedCurves): 'steps' | 'episodes' {
  const runs = Array.isArray(results) ? results : [results];
  if (runs.length === 0) throw new IcrlError('gatherSeed: no evaluation results');
  let mode: 'steps' | 'episodes' = 'episodes';
  const perRun = runs.map(scoresOf);
  for (const [k] of perRun[0]) {
    const rows = perRun.map((m) => m.get(k));
    if (rows.some((r) => r === undefined)) throw new IcrlError(`gatherSeed: score ${k} is missing from an evaluation run of the seed`);
    const m = scores.get(k) ?? [];
    m.push(meanRows(rows as number[][], k));
    scores.set(k, m);
  }
  for (const a of runs[0].online?.agents ?? []) {
    const s = a.summary;
    mode = s.mode;
    const ys = runs.map((r) => {
      const b = r.online?.agents.find((x) => x.name === a.name)?.summary;
      if (!b || b.mode !== s.mode) throw new IcrlError(`gatherSeed: agent ${a.name} is missing from an evaluation run of the seed`);
      return b.mode === 'steps' ? b.cumRegret.mean : b.returns.mean;
    });
    const y = meanRows(ys, a.name);
    const c = curves.get(a.name) ?? { x: y.map((_, i) => i + 1), perSeed: [] };
    c.perSeed.push(y);
    curves.set(a.name, c);
  }
  return mode;
}

/** The chart of the curves gathered over seeds: mean over seeds with a 95% t-band over seeds. */
export function curvesChart(curves: SeedCurves, mode: 'steps' | 'episodes'): ReturnType<typeof bandLineChart> {
  const series: BandSeries[] = [...curves].map(([name, c]) => {
    const mean: number[] = [];
    const lo: number[] = [];
    const hi: number[] = [];
    for (let i = 0; i < c.x.length; i++) {
      const t = meanCi(c.perSeed.map((row) => row[i]));
      mean.push(t.mean);
      lo.push(t.lo);
      hi.push(t.hi);
    }
    return { name, x: c.x, mean, lo, hi };
  });
  return mode === 'steps'
    ? bandLineChart('Cumulative regret on held-out tasks', series, { xName: 'step', yName: 'cumulative regret' }, "Mean over seeds of each seed's mean over tasks; band: 95% t-interval over seeds.")
    : bandLineChart('Return per in-context episode on held-out tasks', series, { xName: 'episode', yName: 'return' }, "Mean over seeds of each seed's mean over tasks; band: 95% t-interval over seeds.");
}

/** The package's `icrl` command (bin/icrl.js), found from this file. */
function icrlBin(): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'icrl.js');
}

/**
 * Runs training runs in child processes of `icrl train` (the same config file, overrides, seed and
 * folder the entry would train in this process, so the digest matches and the entry then finds each
 * run trained), at most `parallel` at once, each child with ICRL_NN_THREADS = cores / parallel
 * (at least 1) unless it is set. A child's output goes to <folder>.log beside its folder (with
 * `ctx.progress`, its progress lines too, and this process says every `reportMs` where each running
 * child is). A child that fails stops the others and names its log; ended by SIGINT or SIGTERM, this
 * process ends its children first; a child whose parent is gone by SIGKILL checkpoints and stops
 * after its current step (ICRL_EXIT_WITH_PARENT=1, src/cli/commands/train.ts), so no orphan keeps a
 * training folder locked.
 */
export async function trainInChildren(ctx: ReproduceContext, jobs: { label: string; file: string; set: string[]; dir: string }[], parallel: number, reportMs = 60_000): Promise<void> {
  const threads = String(Math.max(1, Math.floor(availableParallelism() / parallel)));
  ctx.say(`train ${jobs.length} run${jobs.length === 1 ? '' : 's'}, ${Math.min(parallel, jobs.length)} at a time in child processes (icrl train; ICRL_NN_THREADS=${process.env.ICRL_NN_THREADS ?? threads}); logs beside the training folders`);
  const live = new Set<ChildProcess>();
  const stopAll = () => {
    for (const c of live) c.kill('SIGTERM');
  };
  const onSignal = (sig: NodeJS.Signals) => {
    stopAll();
    process.kill(process.pid, sig);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let failure: IcrlError | null = null;
  // where each running child is: the last progress line of its log ("... 4500/20000 steps ... ETA 30m12s")
  const running = new Map<ChildProcess, { label: string; logFile: string }>();
  const report = setInterval(() => {
    const where = [...running.values()].map(({ label, logFile }) => {
      const m = /(\d+)\/(\d+) steps\b[^\n]*?ETA (\S+)/.exec(lastLines(logFile).split('\n').reverse().find((l) => / steps /.test(l)) ?? '');
      return `${label} ${m ? `${m[1]}/${m[2]} steps, ETA ${m[3]}` : 'starting'}`;
    });
    if (where.length > 0) ctx.say(`  training: ${where.join('; ')}`);
  }, reportMs);
  report.unref();
  if (!ctx.progress) clearInterval(report);
  const runOne = (job: (typeof jobs)[number]): Promise<void> =>
    new Promise((res) => {
      makeDir(dirname(job.dir));
      const logFile = `${job.dir}.log`;
      const fd = openSync(logFile, 'a');
      const t0 = performance.now();
      const args = [icrlBin(), 'train', job.file, ...job.set.flatMap((v) => ['--set', v]), '--out', job.dir, ...(ctx.progress ? [] : ['--no-progress'])];
      const child = spawn(process.execPath, args, { cwd: process.cwd(), stdio: ['ignore', fd, fd], env: { ...process.env, ICRL_NN_THREADS: process.env.ICRL_NN_THREADS ?? threads, ICRL_EXIT_WITH_PARENT: '1' } });
      live.add(child);
      running.set(child, { label: job.label, logFile });
      ctx.say(`  train ${job.label}: started (log ${logFile})`);
      let ended = false;
      // 'error' (it could not start) and 'exit' may both come: the first one counts
      const done = (code: number | null, why?: string) => {
        if (ended) return;
        ended = true;
        live.delete(child);
        running.delete(child);
        closeSync(fd);
        if (code === 0) ctx.say(`  train ${job.label}: done in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
        else if (!failure) {
          const tail = lastLines(logFile).trimEnd().split('\n').slice(-5).join('\n');
          failure = new IcrlError(`training ${job.label} in a child process failed (${why ?? `exit code ${code}`}); its log, ${logFile}, ends:\n${tail}`);
          stopAll();
        }
        res();
      };
      child.on('error', (e) => done(null, e.message));
      child.on('exit', (code, sig) => done(code, sig ? `signal ${sig}` : undefined));
    });
  try {
    const queue = [...jobs];
    const workers = Array.from({ length: Math.min(parallel, jobs.length) }, async () => {
      for (let job = queue.shift(); job && !failure; job = queue.shift()) await runOne(job);
    });
    await Promise.all(workers);
  } finally {
    clearInterval(report);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  if (failure) throw failure;
}

/** The last `bytes` of a file as text ('' when it cannot be read). */
function lastLines(file: string, bytes = 2048): string {
  try {
    const fd = openSync(file, 'r');
    try {
      const size = fstatSync(fd).size;
      const buf = Buffer.alloc(Math.min(bytes, size));
      readSync(fd, buf, 0, buf.length, size - buf.length);
      return buf.toString('utf8');
    } finally {
      closeSync(fd);
    }
  } catch {
    return '';
  }
}

/**
 * The run function of a train-then-evaluate entry: each model of `plan` trained per seed (resumed
 * from its checkpoint when there is one), then one evaluation per seed with that seed's models.
 */
export function pipeline(plan: PipelinePlan): (ctx: ReproduceContext) => Promise<Measurements> {
  return async (ctx) => {
    const configs = packageConfigs();
    const scores = new Map<string, ScoreMatrix>();
    const files: string[] = [];
    const curves: SeedCurves = new Map();
    let mode: 'steps' | 'episodes' = 'episodes';
    const collections = plan.collect ?? [];
    for (const m of plan.models) {
      if (m.collection !== undefined && !collections.some((c) => c.label === m.collection)) {
        throw new ConfigError(`reproduction model ${m.label}: collection "${m.collection}" is not one of the plan's (${collections.map((c) => c.label).join(', ') || 'none'})`, m.train, 'collection');
      }
    }
    // shared collections first, then per seed (before any training when seeds train in parallel, else inside the seed loop)
    const shared = new Map<string, string>();
    for (const c of collections) if (!c.perSeed) shared.set(c.label, await runCollection(ctx, c, ctx.seeds[0]));
    // each model's training run of a seed (after the seed's own collections): its config file with
    // the plan's overrides (the collection folder one of them), the seed and the folder; one set of
    // overrides for this process and for a child
    const seedJobs = new Map<number, { model: PipelineModel; label: string; file: string; set: string[]; dir: string; tc: TrainConfig }[]>();
    const jobsOf = async (seed: number) => {
      let jobs = seedJobs.get(seed);
      if (jobs) return jobs;
      const folders = new Map(shared);
      for (const c of collections) if (c.perSeed) folders.set(c.label, await runCollection(ctx, c, seed));
      jobs = plan.models.map((model) => {
        const file = resolve(configs, model.train);
        const base = readConfigFile(file);
        const dir = trainDir(ctx.trainOut ?? ctx.out, model.label, seed);
        const set = [...(model.set ?? [])];
        if (model.collection !== undefined) {
          const given = applyOverrides(base, set, model.train) as { data?: { ad?: unknown } };
          if (!given.data?.ad) throw new ConfigError(`${model.train}: model ${model.label} trains on collection ${model.collection}, but its config has no data.ad section`, model.train, 'data.ad');
          set.push(`data.ad.collection=${JSON.stringify(folders.get(model.collection)!)}`);
        }
        const raw = applyOverrides(base, set, model.train) as Record<string, unknown>;
        const tc = parseTrainConfig({ ...raw, seed, out: dir }, `${model.train}${model.set?.length ? ` ${model.set.join(' ')}` : ''} (seed ${seed})`);
        return { model, label: `${model.label}, seed ${seed}`, file, set: [...set, `seed=${seed}`], dir, tc };
      });
      seedJobs.set(seed, jobs);
      return jobs;
    };
    if ((ctx.parallel ?? 1) > 1) {
      const jobs = [];
      for (const seed of ctx.seeds) jobs.push(...(await jobsOf(seed)));
      await trainInChildren(ctx, jobs, ctx.parallel!);
    }
    for (const seed of ctx.seeds) {
      const agents: Record<string, unknown>[] = [];
      for (const { model, dir, tc } of await jobsOf(seed)) {
        ctx.say(`train ${model.label}, seed ${seed}: ${model.train} -> ${dir}`);
        const r = await trainFromConfig(tc, { outDir: dir, progressBar: ctx.progress, baseDir: process.cwd(), log: (l) => ctx.say(`  ${l}`) });
        ctx.say(`  ${r.resumedFrom !== null && r.resumedFrom >= r.steps ? 'already trained' : 'trained'}: ${r.steps} steps, loss ${Number.isFinite(r.finalLoss) ? r.finalLoss.toFixed(4) : 'n/a'}`);
        agents.push({ ...(model.agent ?? {}), type: 'model', name: model.label, checkpoint: dir });
      }
      const runs: EvalResults[] = [];
      for (let run = 0; run < (plan.evalRuns ?? 1); run++) {
        const ev = await evaluateSeed(ctx, plan.eval, [...agents, ...(plan.agents ?? [])], seed, run);
        files.push(...ev.files);
        runs.push(ev.results);
      }
      mode = gatherSeed(runs, scores, curves);
    }
    const chart = curvesChart(curves, mode);
    return { seeds: ctx.seeds, scores, sections: [{ title: 'Curves', charts: [chart] }], files };
  };
}
