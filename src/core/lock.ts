/**
 * One writer per output folder. `lockFolder(dir, what)` creates `dir/.icrl.lock` atomically (open
 * with O_EXCL) holding the pid, host, start time and command of the holder, and returns a release
 * function (also run when the process exits). A second run on the same folder gets a
 * {@link FolderLockedError} naming the holder. A lock is stale, and taken over, when its holder ran
 * on this host and its pid is gone (a run killed with SIGKILL), or when it is older than
 * `ICRL_LOCK_STALE_HOURS` (default 72) whatever the host.
 */
import { closeSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { makeDir } from './atomic.js';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { IcrlError, fsError } from './errors.js';
import { redactCommand } from './provenance.js';

export const LOCK_FILE = '.icrl.lock';

export interface LockHolder {
  pid: number;
  host: string;
  startedAt: string;
  what: string;
  command: string[];
}

/** Another process (or another run in this one) writes into the folder. */
export class FolderLockedError extends IcrlError {
  constructor(
    readonly dir: string,
    readonly holder: LockHolder | null,
  ) {
    super(
      holder
        ? `${dir} is in use by ${holder.what} (pid ${holder.pid} on ${holder.host}, since ${holder.startedAt}: ${holder.command.join(' ')}); wait for it to finish, or remove ${join(dir, LOCK_FILE)} if that process is gone`
        : `${dir} is in use (lock file ${join(dir, LOCK_FILE)}); remove it if no run is writing there`,
      'FOLDER_LOCKED',
    );
  }
}

function readHolder(file: string): LockHolder | null {
  try {
    const h = JSON.parse(readFileSync(file, 'utf8')) as LockHolder;
    return typeof h.pid === 'number' && typeof h.host === 'string' ? h : null;
  } catch {
    return null;
  }
}

/** The holder of `dir`'s lock, or null when the folder is not locked (or the lock is unreadable). */
export function lockHolder(dir: string): LockHolder | null {
  return readHolder(join(dir, LOCK_FILE));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function stale(file: string, h: LockHolder | null): boolean {
  const hours = Number(process.env.ICRL_LOCK_STALE_HOURS ?? 72);
  let ageHours: number;
  try {
    ageHours = (Date.now() - statSync(file).mtimeMs) / 3.6e6;
  } catch {
    return true; // gone meanwhile
  }
  if (Number.isFinite(hours) && ageHours > hours) return true;
  if (!h) return ageHours > 1 / 60; // unreadable: a holder that died while writing it, after a minute
  return h.host === hostname() && h.pid !== process.pid && !alive(h.pid);
}

const held = new Set<string>();
process.on('exit', () => {
  for (const f of held) rmSync(f, { force: true });
});

/** Takes the lock of `dir` for `what` (e.g. "icrl train"); returns its release function. */
export function lockFolder(dir: string, what: string): () => void {
  makeDir(dir);
  const file = join(dir, LOCK_FILE);
  const me: LockHolder = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString(), what, command: redactCommand(process.argv.slice(1)) };
  for (let attempt = 0; attempt < 2; attempt++) {
    let fd: number;
    try {
      fd = openSync(file, 'wx');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw fsError(e, file, 'create the lock file');
      const h = readHolder(file);
      if (attempt === 0 && stale(file, h)) {
        rmSync(file, { force: true });
        continue;
      }
      throw new FolderLockedError(dir, h);
    }
    try {
      writeSync(fd, JSON.stringify(me));
    } finally {
      closeSync(fd);
    }
    held.add(file);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      held.delete(file);
      // remove only our own lock
      const h = readHolder(file);
      if (h?.pid === me.pid && h.startedAt === me.startedAt) rmSync(file, { force: true });
    };
  }
  throw new FolderLockedError(dir, readHolder(file));
}
