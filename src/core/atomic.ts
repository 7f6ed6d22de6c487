/**
 * The one way the project replaces a file: write a temporary file beside the target, fsync it,
 * rename it over the target, fsync the directory; on failure the temporary file is removed. A
 * reader, or a run resumed after SIGKILL, sees the old file or the new one, never a half-written
 * one. Temporary names are unique per process and per write (`.<name>.<pid>.<n>.tmp`), so one
 * process writing the same file twice at once cannot collide with itself, and {@link isAtomicTemp}
 * recognises exactly the names this module makes (cleanup removes nothing else).
 *
 * Fault injection (tests only; see test/faults.test.ts): with `ICRL_FAULT_RENAME=<n>` the process
 * kills itself with SIGKILL just before its n-th rename (counted from 1 in each thread), or just
 * after it with `<n>:after`; with `ICRL_FAULT_TRACE=<file>` each rename appends its target to that
 * file. A test thereby kills a run at every rename point and checks that the rerun ends as an
 * uninterrupted run does. Nothing reads these variables otherwise.
 *
 * A system error (ENOSPC, EROFS, EACCES, EISDIR, ...) comes out as a `FileSystemError` naming the path.
 */
import { appendFileSync, closeSync, existsSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fsError } from './errors.js';

/**
 * Creates folder `dir` and its missing parents, one level at a time (Node's recursive mkdir loops
 * forever under /proc); a failure is a `FileSystemError` naming the folder that could not be made.
 */
export function makeDir(dir: string): void {
  const missing: string[] = [];
  let p = resolve(dir);
  for (;;) {
    let st;
    try {
      st = statSync(p, { throwIfNoEntry: false });
    } catch (e) {
      throw fsError(e, p, 'inspect');
    }
    if (st) {
      if (!st.isDirectory()) throw fsError(Object.assign(new Error(`${p} is not a folder`), { code: 'ENOTDIR', path: p }), p, 'create a folder under');
      break;
    }
    missing.push(p);
    const up = dirname(p);
    if (up === p) break;
    p = up;
  }
  for (const m of missing.reverse()) {
    try {
      mkdirSync(m);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST' && statSync(m, { throwIfNoEntry: false })?.isDirectory()) continue;
      throw fsError(e, m, 'create the folder');
    }
  }
}

let renames = 0;
const FAULT = /^(\d+)(:after)?$/.exec(process.env.ICRL_FAULT_RENAME ?? '');
const TRACE = process.env.ICRL_FAULT_TRACE;

function faultPoint(target: string, after: boolean): void {
  if (!after) {
    renames++;
    if (TRACE) appendFileSync(TRACE, `${target}\n`);
  }
  if (FAULT && Number(FAULT[1]) === renames && Boolean(FAULT[2]) === after) process.kill(process.pid, 'SIGKILL');
}

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
  makeDir(dir);
  const tmp = tempPathFor(file);
  try {
    fill(tmp);
    fsyncPath(tmp);
    faultPoint(file, false);
    renameSync(tmp, file);
  } catch (e) {
    try {
      rmSync(tmp, { recursive: true, force: true });
    } catch {
      // the original error says what went wrong
    }
    throw fsError(e, tmp);
  }
  faultPoint(file, true);
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
  try {
    if (existsSync(path)) rmSync(path, { recursive: true, force: true });
  } catch (e) {
    throw fsError(e, path, 'remove');
  }
}
