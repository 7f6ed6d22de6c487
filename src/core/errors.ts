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
  constructor(readonly file: string, detail: string) {
    super(`${file}: ${detail}`, 'CORRUPT_FILE');
  }
}
