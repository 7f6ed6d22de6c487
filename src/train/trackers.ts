/**
 * Metrics sinks ("trackers"): where a training run's metric records go besides metrics.jsonl, which
 * stays the record of the run. A tracker is one registry entry (`trackers`) whose `create` returns a
 * {@link MetricsSink}; a training config lists the ones it wants (`trackers: [{ type: tensorboard }]`,
 * or `icrl train --tracker tensorboard`); none by default. No tracker sends anything over the network.
 *
 * `tensorboard` writes a TensorBoard event file under `<out>/tensorboard/` (core/tfevents.ts), so that
 * `tensorboard --logdir runs/` shows every numeric field of the records as a scalar curve against the
 * step: `train/loss`, `train/lr`, `eval/<agent>/meanRegret`, `eval/<agent>/valLoss`,
 * `baseline/<agent>/meanRegret`, `eval/<agent>/returns/episode_3`, ... A resumed run rewrites the file
 * from metrics.jsonl (cut back to its checkpoint), so no step appears twice.
 */
import { appendFileSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { z } from 'zod';
import { Registry, type RegistryEntry } from '../core/registry.js';
import { fileVersionEvent, scalarsEvent, tfRecord, type ScalarValue } from '../core/tfevents.js';

/** A metric record as the trainer writes it (`{ kind, step, ...fields }`). */
export type TrackedRecord = Record<string, unknown> & { kind: string; step: number };

/** Receives every metric record of a run. */
export interface MetricsSink {
  write(rec: TrackedRecord): void;
  /** The run restarts from these records (a fresh run: none; a resumed run: those kept in metrics.jsonl). */
  restart(records: TrackedRecord[]): void;
  close(): void;
}

export interface TrackerContext {
  /** The run's output folder. */
  outDir: string;
  runName: string;
}

export interface TrackerEntry extends RegistryEntry {
  create(options: Record<string, unknown>, ctx: TrackerContext): MetricsSink;
}

export const trackers = new Registry<TrackerEntry>('metrics tracker');

/** Builds the sinks a config lists (`[{ type, ...options }]`); a bad entry names its index and key. */
export function createTrackers(specs: readonly Record<string, unknown>[], ctx: TrackerContext, source = 'trackers'): MetricsSink[] {
  return specs.map((spec, i) => {
    const { type, ...opts } = spec;
    const entry = trackers.get(String(type));
    return entry.create(trackers.parseOptions(entry.name, opts, `${source}[${i}] (${entry.name})`) as Record<string, unknown>, ctx);
  });
}

/** Numeric fields of a record as scalar tags: nested objects and arrays joined with "/". */
export function recordScalars(rec: TrackedRecord): ScalarValue[] {
  const out: ScalarValue[] = [];
  const prefix = [rec.kind, typeof rec.agent === 'string' ? rec.agent : ''].filter((p) => p !== '').join('/');
  const walk = (tag: string, v: unknown): void => {
    if (typeof v === 'number') {
      if (Number.isFinite(v)) out.push({ tag, value: v });
    } else if (Array.isArray(v)) {
      v.forEach((e, i) => walk(`${tag}/${/returns/i.test(tag) ? 'episode_' : ''}${i + (/returns/i.test(tag) ? 1 : 0)}`, e));
    } else if (typeof v === 'object' && v !== null) {
      for (const [k, e] of Object.entries(v)) walk(`${tag}/${k}`, e);
    }
  };
  for (const [k, v] of Object.entries(rec)) {
    if (k === 'kind' || k === 'step' || k === 'agent') continue;
    walk(prefix ? `${prefix}/${k}` : k, v);
  }
  return out;
}

const EVENT_FILE = /^events\.out\.tfevents\./;

/** Writes TensorBoard event files: one per (re)start of the run, the older ones removed. */
export class TensorBoardSink implements MetricsSink {
  private file: string | null = null;

  constructor(readonly dir: string) {}

  restart(records: TrackedRecord[]): void {
    mkdirSync(this.dir, { recursive: true });
    for (const f of readdirSync(this.dir)) if (EVENT_FILE.test(f)) rmSync(join(this.dir, f));
    const now = Date.now() / 1000;
    this.file = join(this.dir, `events.out.tfevents.${Math.floor(now)}.${hostname()}`);
    const parts = [tfRecord(fileVersionEvent(now))];
    for (const r of records) {
      const values = recordScalars(r);
      if (values.length > 0 && r.kind !== 'config') parts.push(tfRecord(scalarsEvent(now, r.step, values)));
    }
    appendFileSync(this.file, Buffer.concat(parts));
  }

  write(rec: TrackedRecord): void {
    if (this.file === null) this.restart([]);
    if (rec.kind === 'config') return;
    const values = recordScalars(rec);
    if (values.length > 0) appendFileSync(this.file!, tfRecord(scalarsEvent(Date.now() / 1000, rec.step, values)));
  }

  close(): void {}
}

trackers.register({
  name: 'tensorboard',
  description: 'TensorBoard event file of every numeric metric (tensorboard --logdir runs/); written locally, no network',
  options: z.object({ /** Folder of the event files, relative to the run folder (default tensorboard). */ dir: z.string().min(1).default('tensorboard') }).strict(),
  create: (o, ctx) => new TensorBoardSink(isAbsolute(String(o.dir)) ? String(o.dir) : join(ctx.outDir, String(o.dir))),
});
