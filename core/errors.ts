// Typed user errors. Each kind of user error has its own class and exit code; cli/ prints
// the one-line message and exits with the code, never a stack trace.

export abstract class UserError extends Error {
  abstract readonly exitCode: number;
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** Bad command-line usage: a missing or malformed argument. */
export class UsageError extends UserError {
  readonly exitCode = 2;
}

/** A file the user named does not exist or cannot be read. */
export class FileNotFoundError extends UserError {
  readonly exitCode = 3;
}

/** Input that is not what it claims to be: not a disk image, a corrupt image, ISO or repository. */
export class BadInputError extends UserError {
  readonly exitCode = 4;
}

/** Corrupt data detected by verification (hash mismatch, bad checksum). */
export class CorruptDataError extends UserError {
  readonly exitCode = 5;
}

/** A required host tool (nasm, qemu, xorriso, git) is missing or failed. */
export class ToolError extends UserError {
  readonly exitCode = 6;
}

/** The assembler rejected a source file. */
export class AssemblyError extends UserError {
  readonly exitCode = 7;
}

/** A VM did not reach the state asked for: timeout, panic, hang, QEMU error. */
export class BootError extends UserError {
  readonly exitCode = 8;
}

/** Something asked for by name (a ref, a path, a revision) does not exist. */
export class NotFoundError extends UserError {
  readonly exitCode = 9;
}

/** The target has no room: an image's log or index is too small for what is asked. */
export class DiskFullError extends UserError {
  readonly exitCode = 10;
}

export function isUserError(e: unknown): e is UserError {
  return e instanceof UserError;
}
