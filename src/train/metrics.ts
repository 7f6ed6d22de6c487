/**
 * Training metrics as JSON lines: one object per line (`{"kind":"train","step":..,"loss":..}`).
 * The byte length of the file is saved in every checkpoint; a resumed run truncates the file back
 * to that length first, so the metrics of a killed-and-resumed run are identical to those of an
 * uninterrupted one (no line is lost or written twice).
 */
import { existsSync, mkdirSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { appendJsonLine, readJsonLines } from '../core/jsonl.js';
import { dirname } from 'node:path';
import type { MetricsSink } from './trackers.js';

export type MetricRecord = Record<string, unknown> & { kind: string; step: number };

export class MetricsWriter {
  constructor(
    readonly file: string,
    /** Trackers (TensorBoard, ...) that receive every record too, as it reads back from the file. */
    readonly sinks: readonly MetricsSink[] = [],
  ) {
    mkdirSync(dirname(file), { recursive: true });
    if (!existsSync(file)) writeFileSync(file, '');
  }

  /** Starts over (a fresh run) or cuts the file back to `bytes` (a resumed run); the sinks restart from what is kept. */
  resetTo(bytes: number): void {
    const size = statSync(this.file).size;
    if (size < bytes) {
      throw new Error(`${this.file}: metrics file has ${size} bytes but the checkpoint recorded ${bytes}; it was truncated by something else`);
    }
    truncateSync(this.file, bytes);
    if (this.sinks.length > 0) {
      const kept = readMetrics(this.file);
      for (const s of this.sinks) s.restart(kept);
    }
  }

  write(rec: MetricRecord): void {
    appendJsonLine(this.file, rec, roundNumbers);
    if (this.sinks.length > 0) {
      // the sinks see the record as written (numbers rounded), so a resumed run replays the same values
      const written = JSON.parse(JSON.stringify(rec, roundNumbers)) as MetricRecord;
      for (const s of this.sinks) s.write(written);
    }
  }

  close(): void {
    for (const s of this.sinks) s.close();
  }

  /** Current byte length (saved in checkpoints). */
  get bytes(): number {
    return statSync(this.file).size;
  }
}

function roundNumbers(_k: string, v: unknown): unknown {
  if (typeof v === 'number' && !Number.isInteger(v) && Number.isFinite(v)) return Number(v.toPrecision(7));
  return v;
}

/** Reads a metrics file back (the project's one JSON-lines reader). */
export function readMetrics(file: string): MetricRecord[] {
  return readJsonLines(file, 'training metrics file') as MetricRecord[];
}
