import { describe, it, expect } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { FolderLockedError, LOCK_FILE, lockFolder } from '../src/core/index.js';

describe('output-folder locks', () => {
  it('a second lock on a folder is refused with the holder named; release frees it', () => {
    const d = mkdtempSync(join(tmpdir(), 'icrl-lock-'));
    try {
      const release = lockFolder(d, 'icrl train');
      expect(existsSync(join(d, LOCK_FILE))).toBe(true);
      expect(() => lockFolder(d, 'icrl eval')).toThrow(FolderLockedError);
      expect(() => lockFolder(d, 'icrl eval')).toThrow(new RegExp(`in use by icrl train \\(pid ${process.pid} on ${hostname()}`));
      release();
      expect(existsSync(join(d, LOCK_FILE))).toBe(false);
      lockFolder(d, 'icrl eval')();
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  it('the lock of a process that is gone (killed) is stale and taken over', () => {
    const d = mkdtempSync(join(tmpdir(), 'icrl-lock-'));
    try {
      const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
      const pid = Number(gone.stdout);
      writeFileSync(join(d, LOCK_FILE), JSON.stringify({ pid, host: hostname(), startedAt: '2026-01-01T00:00:00Z', what: 'icrl collect', command: [] }));
      const release = lockFolder(d, 'icrl collect');
      expect(JSON.parse(readFileSync(join(d, LOCK_FILE), 'utf8')).pid).toBe(process.pid);
      release();
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  it('icrl train, eval and collect on a folder held by another process are refused with a named error', async () => {
    const d = mkdtempSync(join(tmpdir(), 'icrl-lock-'));
    // another process holds the folder until its stdin closes
    const holder = spawn(process.execPath, ['--input-type=module', '-e', `import { lockFolder } from ${JSON.stringify(new URL('../dist/core/lock.js', import.meta.url).href)}; lockFolder(${JSON.stringify(d)}, 'icrl train'); process.stdout.write('locked'); process.stdin.resume(); process.stdin.on('end', () => process.exit(0));`], { stdio: ['pipe', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((r) => holder.stdout.once('data', () => r()));
      const run = (...args: string[]) => spawnSync(process.execPath, ['bin/icrl.js', ...args, '--no-progress'], { encoding: 'utf8' });
      for (const r of [
        run('train', 'configs/dpt-bandit-small.yaml', '--out', d),
        run('eval', 'configs/eval-bandit-small.yaml', '--out', d),
        run('collect', 'configs/collect-dpt-bandit-small.yaml', '--out', d),
      ]) {
        expect(r.status).not.toBe(0);
        expect(r.stderr).toMatch(new RegExp(`is in use by icrl train \\(pid ${holder.pid} on `));
        expect(r.stderr).not.toMatch(/\n\s+at /); // a named error, no stack trace
      }
      holder.stdin.end();
      await new Promise((r) => holder.on('exit', r));
      expect(existsSync(join(d, LOCK_FILE))).toBe(false);
    } finally {
      holder.kill();
      rmSync(d, { recursive: true, force: true });
    }
  }, 60_000);
});
