/**
 * Atomic file writes for the trainer: write a temporary file next to the target, fsync it, then
 * rename it over the target, so a reader (or a resumed run after SIGKILL) sees either the old or the
 * new file, never a half-written one.
 */
import { closeSync, fsyncSync, openSync, renameSync, writeSync, mkdirSync, rmSync, existsSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';

let counter = 0;

/** Writes `data` to `file` atomically (temp file + fsync + rename). */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.${counter++}.tmp`);
  const fd = openSync(tmp, 'w');
  try {
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}

/** Removes a file or directory if present. */
export function removeIfExists(path: string): void {
  if (existsSync(path)) rmSync(path, { recursive: true, force: true });
}
