/**
 * Where a run's numbers come from: start time, package version, git commit (and whether the
 * checkout had uncommitted changes) when the package runs from a git checkout of itself, Node.js
 * version, and the command line. Written into every `metrics.jsonl` config line and `results.json`.
 */
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Provenance {
  /** ISO time at which the run started. */
  startedAt: string;
  package: { name: string; version: string };
  /** Commit of the project's checkout, null when the package does not run from a git checkout of itself. */
  git: { commit: string; dirty: boolean } | null;
  node: string;
  /** The command line (`process.argv` past the Node.js executable), URL credentials masked. */
  command: string[];
}

/** The folder of package.json: src/core or dist/core are two levels below it. */
const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

function packageInfo(): { name: string; version: string } {
  try {
    const p = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { name?: string; version?: string };
    return { name: String(p.name ?? 'icrl'), version: String(p.version ?? 'unknown') };
  } catch {
    return { name: 'icrl', version: 'unknown' };
  }
}

function git(args: string[]): string | null {
  const r = spawnSync('git', ['-C', PACKAGE_ROOT, ...args], { encoding: 'utf8', timeout: 5000 });
  return r.status === 0 ? r.stdout.trim() : null;
}

let gitCache: Provenance['git'] | undefined;

function gitInfo(): Provenance['git'] {
  if (gitCache !== undefined) return gitCache;
  // only our own checkout: an installed copy inside someone else's repository has no commit of ours
  const top = git(['rev-parse', '--show-toplevel']);
  const commit = top !== null && resolve(top) === PACKAGE_ROOT ? git(['rev-parse', 'HEAD']) : null;
  gitCache = commit ? { commit, dirty: (git(['status', '--porcelain', '--untracked-files=no']) ?? '') !== '' } : null;
  return gitCache;
}

/**
 * A command line with the credentials of URLs replaced by `***` (`redis://:secret@host` becomes
 * `redis://:***@host`, `scheme://user:secret@` keeps the user): what the project writes of a
 * command (provenance, lock files), so that a password passed on the command line is never written.
 */
export function redactCommand(argv: readonly string[]): string[] {
  return argv.map((a) => a.replace(/([a-z][a-z0-9+.-]*:\/\/)([^/@\s:]*):([^/@\s]*)@/gi, '$1$2:***@').replace(/([a-z][a-z0-9+.-]*:\/\/)([^/@\s:]+)@/gi, '$1***@'));
}

/** The provenance of a run starting now. */
export function provenance(): Provenance {
  return { startedAt: new Date().toISOString(), package: packageInfo(), git: gitInfo(), node: process.version, command: redactCommand(process.argv.slice(1)) };
}
