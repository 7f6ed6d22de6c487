/**
 * The one way the project replaces a file: write a temporary file beside the target, fsync it,
 * rename it over the target, fsync the directory; on failure the temporary file is removed. A
 * reader, or a run resumed after SIGKILL, sees the old file or the new one, never a half-written
 * one. Temporary names are unique per process and per write (`.<name>.<pid>.<n>.tmp`), so one
 * process writing the same file twice at once cannot collide with itself, and {@link isAtomicTemp}
 * recognises exactly the names this module makes (cleanup removes nothing else).
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

let counter = 0;

/** A fresh temporary path beside `file`: `.<basename>.<pid>.<n>.tmp`. */
export function tempPathFor(file: string): string {
  return join(dirname(file), `.${basename(file)}.${process.pid}.${counter++}.tmp`);
}

const TEMP_NAME = /^\..+\.\d+\.\d+\.tmp$/;

/** Whether a file name (not a path) is a temporary name made by {@link tempPathFor}. */
export function isAtomicTemp(name: string): boolean {
  return TEMP_NAME.test(name);
}

/** Pid of the process that made temporary name `name` (from {@link tempPathFor}), or null. */
export function atomicTempPid(name: string): number | null {
  const m = /\.(\d+)\.\d+\.tmp$/.exec(name);
  return isAtomicTemp(name) && m ? Number(m[1]) : null;
}

function fsyncPath(path: string): void {
  let fd = -1;
  try {
    fd = openSync(path, 'r');
    fsyncSync(fd);
  } catch {
    // directories cannot be opened or synced on some platforms (Windows); the rename is still atomic
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}

/**
 * Replaces `file` by what `fill(tmp)` writes at the temporary path `tmp` (a file, or a directory
 * for checkpoints): then fsync, rename over `file` (an existing directory there is removed first),
 * fsync of the parent directory. `fill` failing removes the temporary path and rethrows.
 */
export function replaceAtomic(file: string, fill: (tmp: string) => void): void {
  const dir = dirname(file);
  mkdirSync(dir, { recursive: true });
  const tmp = tempPathFor(file);
  try {
    fill(tmp);
    fsyncPath(tmp);
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  fsyncPath(dir);
}

/** Writes `data` to `file` atomically (creating its folder). */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  replaceAtomic(file, (tmp) => {
    const fd = openSync(tmp, 'w');
    try {
      const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
      let off = 0;
      while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    } finally {
      closeSync(fd);
    }
  });
}

/** Writes `value` as JSON (indented by `indent` spaces) atomically. */
export function writeJsonAtomic(file: string, value: unknown, indent = 1): void {
  writeFileAtomic(file, `${JSON.stringify(value, null, indent)}\n`);
}

/** Removes a file or directory if present. */
export function removeIfExists(path: string): void {
  if (existsSync(path)) rmSync(path, { recursive: true, force: true });
}
