/**
 * The one registry of error codes. Codes are stable: never rename one, only add.
 * Each value is the human summary shown in the README table.
 */
export const IpcErrorCodes = {
  ERR_IPC_CLOSED: 'the resource or its peer is closed',
  ERR_IPC_TIMEOUT: 'a wait ran past its timeout',
  ERR_IPC_ABORTED: 'a wait was aborted by its AbortSignal',
  ERR_IPC_TOO_LARGE: 'a message, frame or size is over its bound',
  ERR_IPC_DECODE: 'bytes could not be decoded (bad codec bytes, garbage, a malformed frame)',
  ERR_IPC_ENCODE: 'a value could not be encoded by the codec',
  ERR_IPC_AUTH: 'authentication failed (wrong key, bad handshake)',
  ERR_IPC_EXISTS: 'a named resource already exists',
  ERR_IPC_NOT_FOUND: 'a named resource does not exist',
  ERR_IPC_OWNER_DIED: 'the holder of a lock or permit died',
  ERR_IPC_BROKEN_BARRIER: 'a barrier was aborted, reset or lost a party',
  ERR_IPC_NOT_OWNER: 'release by a caller that does not hold the lock',
  ERR_IPC_OVER_RELEASE: 'a bounded semaphore was released more times than acquired',
  ERR_IPC_FULL: 'a non-blocking put found the queue full',
  ERR_IPC_EMPTY: 'a non-blocking get found the queue empty',
  ERR_IPC_WRONG_DIRECTION: 'a one-way connection was used in the wrong direction',
  ERR_IPC_PROTOCOL: 'the peer broke the wire protocol',
  ERR_IPC_HANDLE: 'a handle could not be created or revived',
  ERR_IPC_PROCESS_FAILED: 'a child process or thread failed with an uncaught error',
  ERR_IPC_NOT_STARTED: 'a process was used before start()',
  ERR_IPC_ALREADY_STARTED: 'a process was started twice',
  ERR_IPC_NATIVE: 'the native addon is missing or failed to load',
  ERR_IPC_SYSTEM: 'an operating-system call failed (errno and syscall kept)',
  ERR_IPC_UNSUPPORTED: 'the operation is not supported on this platform or transport',
} as const;

/** A stable error code, switched on by callers. */
export type IpcErrorCode = keyof typeof IpcErrorCodes;

const MARKER = Symbol.for('@ipc/core.IpcError');

/** Extra detail an {@link IpcError} may carry. */
export interface IpcErrorOptions {
  /** The underlying error (an OS error, a codec exception, an abort reason). */
  cause?: unknown;
  /** The OS errno name, when a system call failed (`ENOENT`, `EEXIST`, ...). */
  errno?: string;
  /** The system call that failed. */
  syscall?: string;
  /** Any structured detail worth keeping (limits, sizes, names). */
  details?: Record<string, unknown>;
}

/**
 * The one error class of the toolkit. Switch on `code`; detect with {@link IpcError.is}, which
 * works across duplicate copies of this package (it checks a `Symbol.for` marker, not `instanceof`).
 *
 * @example
 * try { await queue.get({ timeout: 100 }) }
 * catch (err) { if (IpcError.is(err, 'ERR_IPC_TIMEOUT')) retry() else throw err }
 */
export class IpcError extends Error {
  /** The stable code. */
  readonly code: IpcErrorCode;
  /** The OS errno name when a system call failed. */
  readonly errno: string | undefined;
  /** The failed system call, when there was one. */
  readonly syscall: string | undefined;
  /** Structured detail (limits, sizes, names). */
  readonly details: Record<string, unknown> | undefined;

  constructor(code: IpcErrorCode, message: string, options: IpcErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'IpcError';
    this.code = code;
    this.errno = options.errno;
    this.syscall = options.syscall;
    this.details = options.details;
    Object.defineProperty(this, MARKER, { value: true });
  }

  /**
   * True when `err` is an IpcError from any copy of this package, optionally with the given code.
   * @param err - anything caught
   * @param code - narrow to this code
   */
  static is<C extends IpcErrorCode>(err: unknown, code?: C): err is IpcError & { code: C } {
    if (typeof err !== 'object' || err === null) return false;
    if ((err as Record<symbol, unknown>)[MARKER] !== true) return false;
    return code === undefined || (err as IpcError).code === code;
  }

  /** `instanceof IpcError` holds across duplicate copies; subclasses keep the ordinary check. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return this === IpcError ? IpcError.is(value) : Function.prototype[Symbol.hasInstance].call(this, value);
  }
}

/** True when `code` is one of the registered codes. */
export function isIpcErrorCode(code: unknown): code is IpcErrorCode {
  return typeof code === 'string' && Object.prototype.hasOwnProperty.call(IpcErrorCodes, code);
}

/**
 * Maps a Node system error (`err.code` like `ENOENT`) to an IpcError, keeping errno, syscall and
 * the original as `cause`.
 * @param err - the system error
 * @param message - what we were doing
 * @param map - errno to code overrides (`{ EEXIST: 'ERR_IPC_EXISTS' }`)
 */
export function fromSystemError(
  err: unknown,
  message: string,
  map: Partial<Record<string, IpcErrorCode>> = {},
): IpcError {
  if (IpcError.is(err)) return err;
  const e = err as NodeJS.ErrnoException;
  const errno = typeof e?.code === 'string' ? e.code : undefined;
  const defaults: Record<string, IpcErrorCode> = {
    EEXIST: 'ERR_IPC_EXISTS',
    ENOENT: 'ERR_IPC_NOT_FOUND',
    EPIPE: 'ERR_IPC_CLOSED',
    ECONNRESET: 'ERR_IPC_CLOSED',
    ENOSPC: 'ERR_IPC_TOO_LARGE',
    EFBIG: 'ERR_IPC_TOO_LARGE',
  };
  const code = (errno && (map[errno] ?? defaults[errno])) || 'ERR_IPC_SYSTEM';
  return new IpcError(code, `${message}: ${e?.message ?? String(err)}`, {
    cause: err,
    errno,
    syscall: typeof e?.syscall === 'string' ? e.syscall : undefined,
  });
}
