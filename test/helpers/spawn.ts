/**
 * A child process run to its end without blocking the test worker: vitest's worker answers its
 * runner over an RPC channel, and a `spawnSync` that holds the event loop for a minute (a compile
 * or a training under load) makes that channel time out ("Timeout calling onTaskUpdate") even
 * though every test passes. Same fields as spawnSync's result.
 */
import { spawn, type SpawnOptions } from 'node:child_process';

export interface SpawnResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function spawnAsync(cmd: string, args: string[], opts: SpawnOptions & { timeout?: number } = {}): Promise<SpawnResult> {
  return new Promise((resolve, reject) => {
    const { timeout, ...rest } = opts;
    const child = spawn(cmd, args, { ...rest, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = timeout !== undefined ? setTimeout(() => child.kill('SIGKILL'), timeout) : null;
    child.on('error', (e) => {
      if (timer) clearTimeout(timer);
      reject(e);
    });
    child.on('close', (status, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ status, signal, stdout, stderr });
    });
  });
}
