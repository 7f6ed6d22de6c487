/**
 * The results file of an evaluation run (JSON): what was evaluated, on which tasks, and the summaries
 * of every agent. `icrl report` turns it into the HTML report; other tools can read it directly.
 */
import { readFileSync, existsSync } from 'node:fs';
import { writeFileAtomic } from '../core/atomic.js';
import type { Provenance } from '../core/provenance.js';
import { CorruptFileError, IcrlError } from '../core/errors.js';
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
}


/** JSON with non-finite numbers as null (JSON has no NaN). */
export function resultsToJson(results: EvalResults): string {
  return JSON.stringify(results, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 1);
}

export function writeResults(file: string, results: EvalResults): void {
  writeFileAtomic(file, resultsToJson(results));
}

export function readResults(file: string): EvalResults {
  if (!existsSync(file)) throw new IcrlError(`${file}: results file not found`);
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new CorruptFileError(file, `not JSON: ${(e as Error).message}`);
  }
  const d = doc as Partial<EvalResults>;
  if (d?.format !== RESULTS_FORMAT) throw new CorruptFileError(file, `not an icrl results file (format is ${JSON.stringify(d?.format)}, expected "${RESULTS_FORMAT}")`);
  if (d.version !== 1) throw new CorruptFileError(file, `unsupported results version ${JSON.stringify(d.version)}`);
  if (!d.env || typeof d.env.family !== 'string') throw new CorruptFileError(file, 'field env.family is missing');
  if (d.online !== null && d.online !== undefined && !Array.isArray(d.online.agents)) throw new CorruptFileError(file, 'field online.agents must be an array');
  return { notes: [], online: null, offline: null, ...d } as EvalResults;
}
