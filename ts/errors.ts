/**
 * Typed errors of macridvae. Every error thrown by the package is an instance of {@link MacridError}
 * (so `instanceof` works across modules), with a subclass saying what kind of failure it is.
 */

/** Base class of every error this package throws. */
export class MacridError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A bad argument or option, caught at the TS edge or reported by a kernel. The message names it. */
export class InvalidArgumentError extends MacridError {}

/** An index (item id, user row) outside its valid range. */
export class OutOfRangeError extends InvalidArgumentError {}

/** Input data that cannot be parsed; the message names the file and line when known. */
export class ParseError extends MacridError {}

/** An invariant of the Rust core failed: a bug, please report it. */
export class InternalError extends MacridError {}

/**
 * The WASM module trapped (e.g. `unreachable`, out-of-bounds access). The instance that trapped has
 * been discarded and rebuilt, so later calls start from a clean state.
 */
export class WasmTrapError extends MacridError {}

/** An item id the model does not know (serving by ids); names the id and the user it came with. */
export class UnknownItemError extends InvalidArgumentError {
  readonly id?: string;
  readonly user?: string;
  constructor(message: string, details: { id?: string; user?: string } = {}) {
    super(message);
    this.id = details.id;
    this.user = details.user;
  }
}

/** A requested TensorFlow.js backend (or another optional component) cannot be loaded here. */
export class BackendUnavailableError extends MacridError {}

/** A worker of the pool died or could not run the task. */
export class WorkerError extends MacridError {}

/**
 * An output path that this call may not write: it holds something macridvae did not create (or
 * created as another kind of output), it is an input of the same call, or replacing it needs `force`.
 * The message says what is there.
 */
export class OutputConflictError extends MacridError {}

/** Another process is writing the same output (the message names its pid, host and start time). */
export class LockedError extends MacridError {}

/**
 * A file-system operation failed on a path the caller gave (permission denied, missing, a directory
 * where a file was expected, …): `path` is that path (never a temporary one), `code` the system code.
 */
export class FileAccessError extends MacridError {
  constructor(
    message: string,
    readonly path: string,
    readonly code: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The numeric kinds used by the Rust core's status codes (see `crates/macrid-core/src/error.rs`). */
export const KERNEL_ERROR_KINDS = {
  1: 'InvalidArgument',
  2: 'OutOfRange',
  3: 'Parse',
  4: 'Internal',
} as const;

/** Builds the typed error for a non-zero kernel status code and the core's message. */
export function kernelError(fn: string, code: number, message: string): MacridError {
  const text = `${fn}: ${message}`;
  switch (code) {
    case 1:
      return new InvalidArgumentError(text);
    case 2:
      return new OutOfRangeError(text);
    case 3:
      return new ParseError(text);
    case 4:
      return new InternalError(text);
    default:
      return new InternalError(`${fn}: unknown status ${code}: ${message}`);
  }
}

/** A plain, structured-clone-safe description of an error, for crossing worker boundaries. */
export interface SerializedError {
  name: string;
  message: string;
}

const ERROR_CLASSES: Record<string, new (message: string) => MacridError> = {
  MacridError,
  InvalidArgumentError,
  OutOfRangeError,
  ParseError,
  UnknownItemError,
  InternalError,
  WasmTrapError,
  BackendUnavailableError,
  WorkerError,
  OutputConflictError,
  LockedError,
};

export function serializeError(e: unknown): SerializedError {
  if (e instanceof Error) return { name: e.name, message: e.message };
  return { name: 'MacridError', message: String(e) };
}

/** Rebuilds the typed error from {@link serializeError}'s output (unknown names become WorkerError). */
export function deserializeError(e: SerializedError): MacridError {
  const Ctor = ERROR_CLASSES[e.name] ?? WorkerError;
  return new Ctor(e.message);
}
