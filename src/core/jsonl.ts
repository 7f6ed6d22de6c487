/**
 * JSON lines (one JSON object per line), as training metrics are written. The reader is the one
 * every part of the project uses: a line that is not a JSON object is an error naming the file and
 * the line, except a partial last line, which a run killed in the middle of a write leaves behind
 * and which is skipped.
 */
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { CorruptFileError, IcrlError } from './errors.js';

/** Reads every object of a JSON-lines file. */
export function readJsonLines(file: string, what = 'JSON-lines file'): Record<string, unknown>[] {
  if (!existsSync(file)) throw new IcrlError(`${file}: ${what} not found`);
  const text = readFileSync(file, 'utf8');
  const lines = text.split('\n');
  // the text after the last newline is a line still being written (or cut by a kill)
  const last = text.endsWith('\n') ? -1 : lines.length - 1;
  const out: Record<string, unknown>[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch (e) {
      if (i === last) return;
      throw new CorruptFileError(file, `line ${i + 1} is not JSON: ${(e as Error).message}`);
    }
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new CorruptFileError(file, `line ${i + 1} is not a JSON object`);
    out.push(obj as Record<string, unknown>);
  });
  return out;
}

/** Appends one object as a line. */
export function appendJsonLine(file: string, obj: unknown, replacer?: (key: string, value: unknown) => unknown): void {
  appendFileSync(file, `${JSON.stringify(obj, replacer)}\n`);
}
