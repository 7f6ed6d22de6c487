/**
 * Errors of the project. Every error names what it is about (a file, a field, a step, an action)
 * so that a user can fix the input without reading the source.
 */
export class IcrlError extends Error {
  constructor(message: string, readonly code: string = 'ICRL_ERROR') {
    super(message);
    this.name = new.target.name;
  }
}

/** A configuration file or object that does not match its schema. */
export class ConfigError extends IcrlError {
  constructor(
    message: string,
    readonly file?: string,
    readonly field?: string,
  ) {
    super(message, 'CONFIG');
  }
}

/** A value outside the space it must belong to (an action, a task parameter, an observation). */
export class OutOfSpaceError extends IcrlError {
  constructor(message: string) {
    super(message, 'OUT_OF_SPACE');
  }
}

/** A name that is not registered (an environment family, a teacher, an algorithm). */
export class UnknownNameError extends IcrlError {
  constructor(kind: string, name: string, known: readonly string[]) {
    super(`unknown ${kind} "${name}"; known: ${known.join(', ')}`, 'UNKNOWN_NAME');
  }
}

/** A name registered twice in one registry (two families, teachers, algorithms or models called alike). */
export class DuplicateNameError extends IcrlError {
  constructor(kind: string, name: string) {
    super(`${kind} "${name}" is already registered; pick another name`, 'DUPLICATE_NAME');
  }
}

/** A file that exists but cannot be read as what it claims to be. */
export class CorruptFileError extends IcrlError {
  constructor(readonly file: string, detail: string, code = 'CORRUPT_FILE') {
    super(`${file}: ${detail}`, code);
  }
}

/** A file whose content does not match the SHA-256 recorded for it (a manifest, a checkpoint state, its own header). */
export class ChecksumError extends CorruptFileError {
  constructor(
    file: string,
    readonly expected: string,
    readonly found: string,
    what = 'content',
  ) {
    super(file, `${what === 'size' ? 'size' : `${what} SHA-256`} mismatch: expected ${expected}, found ${found} (the file changed since it was written: corrupt, truncated or edited)`, 'CHECKSUM');
  }
}

/**
 * A file-system operation that failed (no space left, read-only file system, a folder where a file
 * should be, no permission, ...): the operation, the path and the system's code, without a stack.
 */
export class FileSystemError extends IcrlError {
  constructor(
    readonly path: string,
    readonly op: string,
    readonly errno: string,
    detail: string,
  ) {
    super(`cannot ${op} ${path}: ${errno}${detail ? ` (${detail})` : ''}`, 'FILESYSTEM');
  }
}

const FS_HINT: Record<string, string> = {
  ENOSPC: 'no space left on the device',
  EROFS: 'read-only file system',
  EISDIR: 'is a folder, expected a file',
  ENOTDIR: 'a part of the path is not a folder',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOENT: 'no such file or folder',
  EEXIST: 'already exists',
  EMFILE: 'too many open files',
  EDQUOT: 'disk quota exceeded',
  EIO: 'input/output error',
  ENAMETOOLONG: 'name too long',
  ELOOP: 'too many symbolic links',
};

/** Whether `e` is a Node.js system error (it has an errno code such as ENOSPC). */
export function isSystemError(e: unknown): e is NodeJS.ErrnoException {
  return e instanceof Error && typeof (e as NodeJS.ErrnoException).code === 'string' && /^E[A-Z]+$/.test((e as NodeJS.ErrnoException).code!);
}

/** A Node.js system error as a {@link FileSystemError} naming `path` (or the error's own path); anything else unchanged. */
export function fsError(e: unknown, path?: string, op?: string): unknown {
  if (!isSystemError(e) || e instanceof IcrlError) return e;
  const code = e.code!;
  return new FileSystemError(e.path ?? path ?? '?', op ?? e.syscall ?? 'access', code, FS_HINT[code] ?? '');
}
