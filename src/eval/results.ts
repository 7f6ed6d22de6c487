/**
 * The results file of an evaluation run (JSON): what was evaluated, on which tasks, and the summaries
 * of every agent. `icrl report` turns it into the HTML report; other tools can read it directly.
 */
import { readFileSync, existsSync, statSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { writeFileAtomic } from '../core/atomic.js';
import type { Provenance } from '../core/provenance.js';
import { ChecksumError, CorruptFileError, IcrlError } from '../core/errors.js';
import { sha256Bytes } from '../core/digest.js';
import type { BanditSummary, EpisodeSummary } from './metrics.js';
import type { Band } from './stats.js';

export const RESULTS_FORMAT = 'icrl-eval-results';

export interface AgentResult {
  /** Name shown in the report (unique within the run). */
  name: string;
  /** The agent spec from the config (e.g. { type: 'ucb', c: 1 }). */
  spec: Record<string, unknown>;
  /** Set on the reference lines (oracle, random). */
  reference?: boolean;
  summary: BanditSummary | EpisodeSummary;
  /** Counters the agent exposes through `diagnostics()` (LLM agents: decisions, invalid answers by reason, fallbacks, tokens, cost). */
  diagnostics?: Record<string, unknown>;
}

export interface OfflineAgentResult {
  name: string;
  spec: Record<string, unknown>;
  /** Suboptimality of the chosen arm (best mean - chosen mean) against dataset size. */
  suboptimality: Band;
  /** Per task, per size. */
  perTask: number[][];
}

export interface EvalResults {
  format: typeof RESULTS_FORMAT;
  version: 1;
  name: string;
  seed: number;
  env: { family: string; options: Record<string, unknown> };
  tasks: { count: number; source: string };
  online: { mode: 'steps' | 'episodes'; steps?: number; episodes?: number; agents: AgentResult[] } | null;
  offline: { sizes: number[]; datasetOptions: Record<string, unknown>; agents: OfflineAgentResult[] } | null;
  /** Trainer metrics (JSON lines) to chart, relative to the results file or absolute. */
  trainingMetrics?: string[];
  /** Plain-text notes shown at the top of the report (e.g. what the quick start could not run). */
  notes: string[];
  elapsedSeconds: number;
  /** Where the numbers come from (start time, package version, git commit, Node.js, command line). */
  provenance?: Provenance;
  /** The evaluation config as it ran (every default filled in, `--set` overrides applied). */
  config?: unknown;
  /**
   * Which agents are in the file: `complete` is false while the run is under way (and in the file a
   * killed run leaves), `done` / `failed` / `pending` list agents as "online: <name>" or
   * "offline: <name>". A rerun of the same config resumes the pending and failed agents. Absent in
   * files of older versions.
   */
  status?: EvalStatus;
}

export interface EvalStatus {
  complete: boolean;
  done: string[];
  failed: string[];
  pending: string[];
}


const finite = (_k: string, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v);

/** The integrity digest of a results document: SHA-256 of its compact JSON without the `sha256` field. */
function resultsDigest(doc: Record<string, unknown>): string {
  const { sha256: _d, ...rest } = doc;
  return sha256Bytes(JSON.stringify(rest, finite));
}

/**
 * JSON with non-finite numbers as null (JSON has no NaN), ending with `sha256`: the digest of the
 * rest, which {@link readResults} checks, so a corrupt or edited file is refused instead of drawn
 * with other numbers.
 */
export function resultsToJson(results: EvalResults): string {
  const doc = JSON.parse(JSON.stringify(results, finite)) as Record<string, unknown>;
  delete doc.sha256;
  return JSON.stringify({ ...doc, sha256: resultsDigest(doc) }, null, 1);
}

export function writeResults(file: string, results: EvalResults): void {
  writeFileAtomic(file, resultsToJson(results));
}

const MAX_RESULTS_BYTES = 512 * 1024 * 1024;

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

const isNumArray = (v: unknown): boolean => Array.isArray(v) && v.every((x) => x === null || typeof x === 'number');
const isBand = (v: unknown): boolean => isObject(v) && isNumArray(v.mean) && isNumArray(v.lo) && isNumArray(v.hi);
const isStat = (v: unknown): boolean => isObject(v) && typeof v.mean === 'number' && typeof v.lo === 'number' && typeof v.hi === 'number';

/** What the report reads of one online agent (the rest is optional). */
function agentProblem(a: unknown, mode: unknown, length: number): string | null {
  if (!isObject(a)) return 'is not an object';
  if (typeof a.name !== 'string' || a.name === '') return 'has no name';
  if (!isObject(a.summary)) return 'has no summary';
  const s = a.summary;
  if (s.mode !== mode) return `summary.mode is ${JSON.stringify(s.mode)}, the run's mode is ${JSON.stringify(mode)}`;
  if (typeof s.wallSeconds !== 'number') return 'summary.wallSeconds is not a number';
  const len = (b: unknown) => (b as { mean: unknown[] }).mean.length;
  if (mode === 'steps') {
    if (!isBand(s.cumRegret) || !isBand(s.suboptimality) || !isStat(s.finalRegret) || typeof s.optimalFraction !== 'number') return 'summary needs cumRegret, suboptimality (bands), finalRegret and optimalFraction';
    if (len(s.cumRegret) !== length || len(s.suboptimality) !== length) return `summary bands must have ${length} values (one per step)`;
  } else {
    // oracle is null for a family without an exact one (the MuJoCo families)
    if (!isBand(s.returns) || (s.oracle !== null && !isStat(s.oracle))) return 'summary needs returns (a band) and oracle (null for a family without an exact oracle)';
    if (len(s.returns) !== length) return `summary.returns must have ${length} values (one per episode)`;
  }
  return null;
}

/**
 * Reads a results file, checking the fields the report draws (a malformed file is a
 * {@link CorruptFileError} naming the field, never a crash inside the report).
 */
export function readResults(file: string): EvalResults {
  if (!existsSync(file)) throw new IcrlError(`${file}: results file not found`);
  let doc: unknown;
  try {
    if (statSync(file).isDirectory()) throw new CorruptFileError(file, 'is a folder, expected a results.json file');
    if (statSync(file).size > MAX_RESULTS_BYTES) throw new CorruptFileError(file, `larger than ${MAX_RESULTS_BYTES >> 20} MiB; not a results file`);
    doc = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    if (e instanceof IcrlError) throw e;
    throw new CorruptFileError(file, `not JSON: ${(e as Error).message}`);
  }
  if (!isObject(doc)) throw new CorruptFileError(file, 'not an icrl results file (not a JSON object)');
  if (doc.sha256 !== undefined) {
    const found = resultsDigest(doc);
    if (doc.sha256 !== found) throw new ChecksumError(file, String(doc.sha256), found);
    delete doc.sha256;
  }
  const d = doc as Partial<EvalResults>;
  if (d.format !== RESULTS_FORMAT) throw new CorruptFileError(file, `not an icrl results file (format is ${JSON.stringify(d.format)}, expected "${RESULTS_FORMAT}")`);
  if (d.version !== 1) throw new CorruptFileError(file, `unsupported results version ${JSON.stringify(d.version)}`);
  const bad = (field: string, what: string): never => {
    throw new CorruptFileError(file, `field ${field} ${what}`);
  };
  if (typeof d.name !== 'string') bad('name', 'must be a string');
  if (typeof d.seed !== 'number') bad('seed', 'must be a number');
  if (!isObject(d.env) || typeof d.env.family !== 'string') bad('env.family', 'is missing');
  if (!isObject(d.env!.options)) bad('env.options', 'must be an object');
  if (!isObject(d.tasks) || typeof d.tasks.count !== 'number' || typeof d.tasks.source !== 'string') bad('tasks', 'must be { count, source }');
  if (d.elapsedSeconds !== undefined && d.elapsedSeconds !== null && typeof d.elapsedSeconds !== 'number') bad('elapsedSeconds', 'must be a number');
  if (d.notes !== undefined && !(Array.isArray(d.notes) && d.notes.every((n) => typeof n === 'string'))) bad('notes', 'must be a list of strings');
  if (d.trainingMetrics !== undefined && !(Array.isArray(d.trainingMetrics) && d.trainingMetrics.every((n) => typeof n === 'string'))) bad('trainingMetrics', 'must be a list of paths');
  if (d.online !== null && d.online !== undefined) {
    const o = d.online as unknown;
    if (!isObject(o) || !Array.isArray(o.agents)) bad('online.agents', 'must be an array');
    const on = o as Record<string, unknown> & { agents: unknown[] };
    if (on.mode !== 'steps' && on.mode !== 'episodes') bad('online.mode', 'must be "steps" or "episodes"');
    if (on.mode === 'steps' && !(typeof on.steps === 'number' && Number.isInteger(on.steps) && on.steps > 0)) bad('online.steps', 'must be a positive integer');
    if (on.mode === 'episodes' && !(typeof on.episodes === 'number' && Number.isInteger(on.episodes) && on.episodes > 0)) bad('online.episodes', 'must be a positive integer');
    on.agents.forEach((a, k) => {
      const p = agentProblem(a, on.mode, (on.mode === 'steps' ? on.steps : on.episodes) as number);
      if (p) bad(`online.agents[${k}]`, p);
    });
  }
  if (d.offline !== null && d.offline !== undefined) {
    const o = d.offline as unknown;
    if (!isObject(o) || !isNumArray(o.sizes) || !Array.isArray(o.agents)) bad('offline', 'must be { sizes, agents }');
    const off = o as { agents: unknown[]; sizes: unknown[] };
    off.agents.forEach((a, k) => {
      if (!isObject(a) || typeof a.name !== 'string' || !isBand(a.suboptimality)) bad(`offline.agents[${k}]`, 'needs a name and a suboptimality band');
      if ((a as { suboptimality: { mean: unknown[] } }).suboptimality.mean.length !== off.sizes.length) bad(`offline.agents[${k}].suboptimality`, `must have ${off.sizes.length} values (one per size)`);
    });
  }
  if (d.status !== undefined) {
    const st = d.status as unknown;
    const names = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === 'string');
    if (!isObject(st) || typeof st.complete !== 'boolean' || !names(st.done) || !names(st.failed) || !names(st.pending)) bad('status', 'must be { complete, done, failed, pending }');
  }
  return { notes: [], online: null, offline: null, ...d } as EvalResults;
}

/**
 * Where a training-metrics path of a results file may point: relative paths only, naming a
 * `.jsonl` file inside the folder above the results file's folder (the tree of runs: for
 * runs/eval-x/results.json, anything under runs/, as ../dpt-small/metrics.jsonl). Anything else
 * (absolute paths, ../../etc/passwd) is refused with a named error instead of being read.
 * Returns the absolute path.
 */
export function confinedMetricsPath(resultsDir: string, p: string, source: string): string {
  const runTree = dirname(resolve(resultsDir));
  const abs = resolve(resultsDir, p);
  const rel = relative(runTree, abs);
  if (isAbsolute(p) || rel === '' || rel.startsWith('..') || isAbsolute(rel) || rel.split(sep).includes('..'))
    throw new CorruptFileError(source, `trainingMetrics path ${JSON.stringify(p)} leaves the run tree ${runTree}; results files may only name metrics files below it, by a relative path`);
  if (!abs.endsWith('.jsonl')) throw new CorruptFileError(source, `trainingMetrics path ${JSON.stringify(p)} is not a .jsonl metrics file`);
  return abs;
}
