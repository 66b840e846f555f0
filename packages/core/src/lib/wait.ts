import { IpcError } from './errors.js';

/** Options every blocking call takes. */
export interface WaitOptions {
  /** Milliseconds to wait before rejecting with `ERR_IPC_TIMEOUT`. `undefined` or `Infinity` waits forever; `0` only tries. */
  timeout?: number | undefined;
  /** Rejects with `ERR_IPC_ABORTED` (the reason as `cause`) when aborted. */
  signal?: AbortSignal | undefined;
}

/** The largest timeout a timer can hold (about 24.8 days); longer ones are treated as forever. */
export const MAX_TIMEOUT_MS = 2_147_483_647;

/**
 * Checks `{ timeout, signal }` up front.
 * @throws {TypeError} when signal is not an AbortSignal
 * @throws {RangeError} when timeout is negative or NaN
 */
export function validateWaitOptions(options: WaitOptions | undefined, name = 'options'): void {
  if (options === undefined) return;
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`${name} must be an object, got ${typeof options}`);
  }
  const { timeout, signal } = options;
  if (timeout !== undefined) {
    if (typeof timeout !== 'number' || Number.isNaN(timeout)) {
      throw new TypeError(`${name}.timeout must be a number of milliseconds, got ${String(timeout)}`);
    }
    if (timeout < 0) throw new RangeError(`${name}.timeout must be >= 0, got ${timeout}`);
  }
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError(`${name}.signal must be an AbortSignal`);
  }
}

/** The error a wait rejects with when its signal aborts. */
export function abortError(signal: AbortSignal, what = 'operation'): IpcError {
  return new IpcError('ERR_IPC_ABORTED', `${what} was aborted`, { cause: signal.reason });
}

/** The error a wait rejects with when its timeout passes. */
export function timeoutError(timeout: number, what = 'operation'): IpcError {
  return new IpcError('ERR_IPC_TIMEOUT', `${what} timed out after ${timeout} ms`, { details: { timeout } });
}

/** Throws at once when the signal is already aborted. */
export function throwIfAborted(signal: AbortSignal | undefined, what?: string): void {
  if (signal?.aborted) throw abortError(signal, what);
}

/**
 * A deadline derived from `{ timeout }`: how many milliseconds remain, for waits that loop.
 */
export class Deadline {
  readonly #end: number;
  readonly timeout: number;

  constructor(timeout: number | undefined) {
    this.timeout = timeout ?? Infinity;
    this.#end = timeout === undefined || timeout === Infinity ? Infinity : performance.now() + timeout;
  }

  /** Milliseconds left, never negative; `Infinity` for no deadline. */
  remaining(): number {
    if (this.#end === Infinity) return Infinity;
    return Math.max(0, this.#end - performance.now());
  }

  /** True once the deadline passed. */
  expired(): boolean {
    return this.remaining() === 0;
  }
}

/** What {@link waitFor} hands the code that waits. */
export interface WaitScope {
  /** Registers cleanup run once, on every path (resolve, reject, timeout, abort). */
  onCleanup(fn: () => void): void;
}

/**
 * Runs `start` as a cancellable wait: rejects with `ERR_IPC_TIMEOUT` / `ERR_IPC_ABORTED` and
 * always removes its timer and abort listener, whichever way it ends. `start` receives `resolve`
 * and `reject` and registers its own cleanup (removing itself from a waiter list, say).
 *
 * @param options - `{ timeout, signal }`
 * @param start - begins the wait
 * @param what - named in error messages
 * @throws {IpcError} ERR_IPC_TIMEOUT, ERR_IPC_ABORTED
 */
export function waitFor<T>(
  options: WaitOptions | undefined,
  start: (resolve: (value: T) => void, reject: (err: unknown) => void, scope: WaitScope) => void,
  what = 'operation',
): Promise<T> {
  const { timeout, signal } = options ?? {};
  if (signal?.aborted) return Promise.reject(abortError(signal, what));
  return new Promise<T>((resolve, reject) => {
    const cleanups: Array<() => void> = [];
    let settled = false;
    const finish = () => {
      settled = true;
      for (let i = cleanups.length - 1; i >= 0; i--) {
        try {
          cleanups[i]!();
        } catch {
          // cleanup must never mask the outcome
        }
      }
      cleanups.length = 0;
    };
    const scope: WaitScope = {
      onCleanup(fn) {
        if (settled) fn();
        else cleanups.push(fn);
      },
    };
    const ok = (value: T) => {
      if (settled) return;
      finish();
      resolve(value);
    };
    const fail = (err: unknown) => {
      if (settled) return;
      finish();
      reject(err);
    };
    if (timeout !== undefined && timeout !== Infinity && timeout <= MAX_TIMEOUT_MS) {
      const timer = setTimeout(() => fail(timeoutError(timeout, what)), timeout);
      cleanups.push(() => clearTimeout(timer));
    }
    if (signal) {
      const onAbort = () => fail(abortError(signal, what));
      signal.addEventListener('abort', onAbort, { once: true });
      cleanups.push(() => signal.removeEventListener('abort', onAbort));
    }
    try {
      start(ok, fail, scope);
    } catch (err) {
      fail(err);
    }
  });
}

/** Resolves after `ms` milliseconds, honouring an AbortSignal. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return waitFor<void>({ signal }, (resolve, _reject, scope) => {
    const t = setTimeout(resolve, ms);
    scope.onCleanup(() => clearTimeout(t));
  }, 'sleep');
}
