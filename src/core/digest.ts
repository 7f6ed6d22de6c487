/**
 * SHA-256 digests of files and bytes, and the check that names the file, the expected and the
 * found digest ({@link ChecksumError}). Files are hashed in fixed blocks, so memory stays bounded
 * whatever their size.
 */
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { ChecksumError, fsError } from './errors.js';

const BLOCK = 1 << 20;

/** SHA-256 (hex) of bytes. */
export function sha256Bytes(...parts: (Uint8Array | string)[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex');
}

/** Size and SHA-256 (hex) of a file, read in 1 MiB blocks. */
export function fileDigest(file: string): { bytes: number; sha256: string } {
  let fd = -1;
  try {
    fd = openSync(file, 'r');
    const size = fstatSync(fd).size;
    const h = createHash('sha256');
    const buf = Buffer.allocUnsafe(Math.min(BLOCK, Math.max(1, size)));
    let total = 0;
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
      total += n;
    }
    return { bytes: total, sha256: h.digest('hex') };
  } catch (e) {
    throw fsError(e, file, 'read');
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}

/** Throws a {@link ChecksumError} unless `file` has SHA-256 `expected` (and `bytes` bytes, when given). */
export function verifyFile(file: string, expected: { sha256: string; bytes?: number }): void {
  const d = fileDigest(file);
  if (expected.bytes !== undefined && d.bytes !== expected.bytes) throw new ChecksumError(file, `${expected.bytes} bytes`, `${d.bytes} bytes`, 'size');
  if (d.sha256 !== expected.sha256) throw new ChecksumError(file, expected.sha256, d.sha256);
}
