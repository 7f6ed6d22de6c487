/**
 * The run index (`icrl runs [folder]`): every run found under a folder, by the files each command
 * writes: `results.json` (an evaluation), `metrics.jsonl` with its config line (a training run),
 * `manifest.json` (a collection), `lhf.json` (a learning-history filtering), `reproduce.json` (an
 * `icrl reproduce` run, whose inner training and evaluation runs are listed too). For each: where it is,
 * its kind, its name, when it started (the provenance, else the file's time) and its main figure.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { readJsonLines } from '../core/jsonl.js';
import { RESULTS_FORMAT, readResults } from '../eval/results.js';
import { formatFigure, mainHeadline } from '../eval/summary.js';

export interface RunEntry {
  /** Folder of the run, relative to the folder listed. */
  path: string;
  kind: 'eval' | 'train' | 'collect' | 'lhf' | 'reproduce';
  name: string;
  /** ISO time the run started (provenance), else the time its file was last written. */
  date: string;
  /** One line: the run's headline figure. */
  figure: string;
  /** The figure as numbers, for --json (absent where there is none). */
  value?: { metric: string; mean: number; lo?: number; hi?: number };
}

/** Folders that hold a run's inner parts, not runs of their own. */
const SKIP_DIRS = new Set(['node_modules', 'checkpoints', 'model', 'tensorboard', '.git']);

function readJson(file: string): Record<string, unknown> | null {
  try {
    const v = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

const mtime = (file: string) => statSync(file).mtime.toISOString();

function evalEntry(dir: string, root: string): RunEntry | null {
  const file = join(dir, 'results.json');
  if ((readJson(file) as { format?: unknown } | null)?.format !== RESULTS_FORMAT) return null;
  const res = readResults(file);
  const h = mainHeadline(res);
  return {
    path: relative(root, dir) || '.',
    kind: 'eval',
    name: res.name,
    date: res.provenance?.startedAt ?? mtime(file),
    figure: h ? `${h.agent}: ${h.metric} ${formatFigure(h.mean)} [${formatFigure(h.lo)}, ${formatFigure(h.hi)}]` : 'no agent evaluated',
    ...(h ? { value: { metric: `${h.agent}: ${h.metric}`, mean: h.mean, lo: h.lo, hi: h.hi } } : {}),
  };
}

function trainEntry(dir: string, root: string): RunEntry | null {
  const file = join(dir, 'metrics.jsonl');
  if (!existsSync(file)) return null;
  const recs = readJsonLines(file, 'training metrics file');
  const cfg = recs.find((r) => r.kind === 'config');
  if (!cfg) return null;
  const steps = ((cfg.config as { optim?: { steps?: number } } | undefined)?.optim?.steps ?? NaN) as number;
  const trains = recs.filter((r) => r.kind === 'train');
  const last = trains[trains.length - 1];
  const evals = recs.filter((r) => r.kind === 'eval');
  const lastEval = evals[evals.length - 1];
  const done = existsSync(join(dir, 'result.json'));
  const parts: string[] = [];
  if (!done) parts.push(`in progress or stopped: step ${String(last?.step ?? 0)} of ${steps}`);
  if (last && typeof last.loss === 'number') parts.push(`loss ${formatFigure(last.loss)}`);
  if (lastEval && typeof lastEval.valLoss === 'number') parts.push(`validation ${formatFigure(lastEval.valLoss)}`);
  if (lastEval && typeof lastEval.meanRegret === 'number') parts.push(`held-out regret ${formatFigure(lastEval.meanRegret)}`);
  if (lastEval && Array.isArray(lastEval.returns) && lastEval.returns.length > 0) parts.push(`held-out last return ${formatFigure(lastEval.returns[lastEval.returns.length - 1] as number)}`);
  const prov = cfg.provenance as { startedAt?: string } | undefined;
  return {
    path: relative(root, dir) || '.',
    kind: 'train',
    name: typeof cfg.name === 'string' ? cfg.name : basename(dir),
    date: prov?.startedAt ?? mtime(file),
    figure: parts.join(', ') || 'no step logged yet',
    ...(last && typeof last.loss === 'number' ? { value: { metric: 'loss', mean: last.loss } } : {}),
  };
}

function collectEntry(dir: string, root: string): RunEntry | null {
  const file = join(dir, 'manifest.json');
  const m = readJson(file) as { format?: string; numShards?: number; numTasks?: number; complete?: boolean; shards?: Record<string, { transitions: number }>; config?: { kind?: string; family?: string } } | null;
  if (m?.format !== 'icrl-collection-1') return null;
  const shards = Object.values(m.shards ?? {});
  const transitions = shards.reduce((a, s) => a + s.transitions, 0);
  return {
    path: relative(root, dir) || '.',
    kind: 'collect',
    name: `${m.config?.kind ?? '?'} ${m.config?.family ?? '?'}`,
    date: mtime(file),
    figure: `${shards.length}/${m.numShards} shards${m.complete ? '' : ' (incomplete)'}, ${m.numTasks} tasks, ${transitions} transitions`,
    value: { metric: 'transitions', mean: transitions },
  };
}

function lhfEntry(dir: string, root: string): RunEntry | null {
  const file = join(dir, 'lhf.json');
  const d = readJson(file) as { format?: string; options?: { mode?: string }; summary?: { histories: number; kept: number; meanImprovementKept: number } } | null;
  if (d?.format !== 'icrl-lhf-1' || !d.summary) return null;
  return {
    path: relative(root, dir) || '.',
    kind: 'lhf',
    name: `lhf ${d.options?.mode ?? ''}`.trim(),
    date: mtime(file),
    figure: `${d.summary.kept}/${d.summary.histories} histories kept, mean improvement of those kept ${formatFigure(d.summary.meanImprovementKept)}`,
    value: { metric: 'kept', mean: d.summary.kept },
  };
}

function reproduceEntry(dir: string, root: string): RunEntry | null {
  const file = join(dir, 'reproduce.json');
  const d = readJson(file) as { format?: string; name?: string; scale?: string; seeds?: number[]; verdicts?: { outcome: string }[]; provenance?: { startedAt?: string } } | null;
  if (d?.format !== 'icrl-reproduction' || typeof d.name !== 'string') return null;
  const verdicts = d.verdicts ?? [];
  const count = (o: string) => verdicts.filter((v) => v.outcome === o).length;
  return {
    path: relative(root, dir) || '.',
    kind: 'reproduce',
    name: `${d.name} (${d.scale ?? '?'})`,
    date: d.provenance?.startedAt ?? mtime(file),
    figure: `${d.seeds?.length ?? 0} seeds; claims: ${count('holds')} hold, ${count('does not hold')} do not hold, ${count('inconclusive')} inconclusive`,
    value: { metric: 'claims holding', mean: count('holds') },
  };
}

/** Every run under `root` (depth-first, at most `maxDepth` folders down), in path order. */
export function listRuns(root: string, maxDepth = 6): RunEntry[] {
  const out: RunEntry[] = [];
  const walk = (dir: string, depth: number) => {
    for (const f of [evalEntry, trainEntry, collectEntry, lhfEntry, reproduceEntry]) {
      const e = f(dir, root);
      if (e) out.push(e);
    }
    if (depth >= maxDepth) return;
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch {
      return;
    }
    for (const n of names) {
      if (SKIP_DIRS.has(n) || n.startsWith('.')) continue;
      const p = join(dir, n);
      if (statSync(p).isDirectory()) walk(p, depth + 1);
    }
  };
  walk(root, 0);
  return out;
}
