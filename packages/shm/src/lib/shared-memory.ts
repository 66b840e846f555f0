import { randomBytes } from 'node:crypto';
import { isMainThread } from 'node:worker_threads';
import { IpcError, moduleUrl, registerHandleKind, toHandle } from '@ipc/core';
import type { Handle, HandleContext, Shareable } from '@ipc/core';
import { FLAG_UNLINK_ON_EXIT, MAGIC, TRAILER_BYTES, buildTrailer, totalBytesFor } from './layout.js';
import { MODULE_FILE, native } from './native.js';
import type { MappedSegment } from './native.js';
import { selfStartTime } from './process-info.js';
import { readTrailerFile, rememberBuffer, systemError } from './segment.js';

/** The longest segment name accepted (without the leading slash); below NAME_MAX (255) on Linux. */
export const MAX_NAME_LENGTH = 240;
/** The largest segment size accepted (1 TiB); /dev/shm decides what actually fits. */
export const MAX_SIZE = 2 ** 40;
/** The handle kind of {@link SharedMemory}. */
export const SHARED_MEMORY_KIND = '@ipc/shm.SharedMemory';

const NAME_RE = /^[A-Za-z0-9._-]+$/;

/**
 * Validates a segment name (portable POSIX shm name: letters, digits, `.`, `_`, `-`, an optional
 * leading `/`) and returns it without the slash.
 * @throws {TypeError} when not a string
 * @throws {RangeError} when empty, too long or with other characters
 */
export function validateName(name: unknown, option = 'name'): string {
  if (typeof name !== 'string') throw new TypeError(`${option} must be a string, got ${typeof name}`);
  const bare = name.startsWith('/') ? name.slice(1) : name;
  if (bare.length === 0) throw new RangeError(`${option} must not be empty`);
  if (bare.length > MAX_NAME_LENGTH) {
    throw new RangeError(`${option} must be at most ${MAX_NAME_LENGTH} characters, got ${bare.length}`);
  }
  if (!NAME_RE.test(bare) || bare === '.' || bare === '..') {
    throw new RangeError(`${option} may only contain letters, digits, '.', '_' and '-' (after an optional leading '/'), got ${JSON.stringify(name)}`);
  }
  return bare;
}

/** Validates a segment size. */
export function validateSize(size: unknown, option = 'size'): number {
  if (typeof size !== 'number' || !Number.isInteger(size)) {
    throw new TypeError(`${option} must be an integer number of bytes, got ${String(size)}`);
  }
  if (size < 1) throw new RangeError(`${option} must be >= 1, got ${size}`);
  if (size > MAX_SIZE) throw new RangeError(`${option} must be <= ${MAX_SIZE} (1 TiB), got ${size}`);
  return size;
}

/** Options of {@link SharedMemory.create}. */
export interface SharedMemoryOptions {
  /** The segment name (`/dev/shm/<name>`); a random `ipc_<hex>` name when omitted. */
  name?: string | undefined;
  /** Size in bytes (1 .. 2^40). */
  size: number;
  /**
   * Fail with `ERR_IPC_EXISTS` when the name exists (default `true`). With `false`, an existing
   * segment of the same size is opened instead.
   */
  exclusive?: boolean | undefined;
  /** Unlink the segment when this process (or thread) exits (default `true`). */
  unlinkOnExit?: boolean | undefined;
}

/** @internal extra trailer metadata for Value / SharedArray. */
export interface InternalCreateOptions extends SharedMemoryOptions {
  meta?: unknown;
}

// Names this thread created with unlinkOnExit, unlinked by the exit hook if still ours.
const toUnlink = new Set<string>();
let exitHookInstalled = false;

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

// One signal listener per process, shared through globalThis by every copy of this package (two
// listeners would each see the other and both stand aside, swallowing the signal).
interface SignalHook {
  readonly cleanups: Set<() => void>;
  readonly listener: (signal: NodeJS.Signals) => void;
}
const SIGNAL_KEY = Symbol.for('@ipc/shm.signalHook.v1');

// A signal whose default action kills the process skips 'exit'. While ours is the only listener we
// unlink, then re-raise the signal with its default action restored, so the process dies as it would
// have. When the application listens too, it owns the decision (and 'exit' runs if it exits).
function signalHook(): SignalHook {
  const g = globalThis as unknown as Record<symbol, SignalHook | undefined>;
  let hook = g[SIGNAL_KEY];
  if (!hook) {
    const cleanups = new Set<() => void>();
    const listener = (signal: NodeJS.Signals): void => {
      if (process.listenerCount(signal) > 1) return;
      for (const fn of cleanups) fn();
      for (const s of SIGNALS) process.removeListener(s, listener);
      process.kill(process.pid, signal);
    };
    hook = { cleanups, listener };
    g[SIGNAL_KEY] = hook;
    for (const s of SIGNALS) process.on(s, listener);
  }
  return hook;
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', unlinkOwnedSegments);
  // Signals reach only the main thread; a worker's segments are unlinked at its exit.
  if (isMainThread) signalHook().cleanups.add(unlinkOwnedSegments);
}

/** Unlinks every segment this thread created with unlinkOnExit and did not unlink yet. */
export function unlinkOwnedSegments(): void {
  const pid = process.pid;
  const start = selfStartTime();
  for (const name of toUnlink) {
    // Only if the name still belongs to a segment we created (it may have been unlinked and reused).
    const info = readTrailerFile(name);
    if (info && info.pid === pid && info.startTime === start) {
      try {
        native().unlink(`/${name}`);
      } catch {
        // already gone
      }
    }
  }
  for (const name of toUnlink) native().disown(`/${name}`);
  toUnlink.clear();
}

const SECRET = Symbol('SharedMemory.construct');

/**
 * A named POSIX shared-memory segment (`/dev/shm/<name>`, mode 0600) mapped into this process.
 * `buffer` is a SharedArrayBuffer: `Atomics` on it are exact across processes, and it can be posted
 * to a worker thread. Python attaches with `multiprocessing.shared_memory.SharedMemory(name)`.
 *
 * @example
 * await using shm = SharedMemory.create({ size: 4096 });
 * const counter = new Int32Array(shm.buffer);
 * Atomics.add(counter, 0, 1);
 * // in another process: SharedMemory.open(shm.name)
 */
export class SharedMemory implements Shareable, AsyncDisposable {
  /** The segment name, without the leading slash. */
  readonly name: string;
  /** The size in bytes of {@link SharedMemory.buffer}. */
  readonly size: number;
  /** The mapped bytes. Stays valid after close() until garbage-collected. */
  readonly buffer: SharedArrayBuffer;
  /** @internal the trailer's words (null for a segment created by another tool). */
  readonly _trailer: Int32Array | null;
  #closed = false;
  #unlinked = false;

  /** @internal use {@link SharedMemory.create} or {@link SharedMemory.open}. */
  constructor(secret: symbol, name: string, buffer: SharedArrayBuffer, trailer: SharedArrayBuffer | null) {
    if (secret !== SECRET) throw new TypeError('use SharedMemory.create() or SharedMemory.open()');
    this.name = name;
    this.buffer = buffer;
    this.size = buffer.byteLength;
    this._trailer = trailer ? new Int32Array(trailer) : null;
    rememberBuffer(buffer, { name, trailer: this._trailer });
  }

  /**
   * Creates a segment.
   * @param options - `{ size, name?, exclusive = true, unlinkOnExit = true }`
   * @throws {TypeError|RangeError} on a bad name or size
   * @throws {IpcError} ERR_IPC_EXISTS when the name exists (exclusive), ERR_IPC_TOO_LARGE when /dev/shm cannot hold it
   */
  static create(options: SharedMemoryOptions): SharedMemory {
    return createSegment(options);
  }

  /**
   * Opens an existing segment by name (one this package made, or another tool's, such as Python's).
   * @param name - the segment name, with or without the leading slash
   * @throws {IpcError} ERR_IPC_NOT_FOUND when there is no such segment
   */
  static open(name: string): SharedMemory {
    const bare = validateName(name);
    let mapped;
    for (let attempt = 0; ; attempt++) {
      try {
        mapped = native().open(`/${bare}`, TRAILER_BYTES, MAGIC);
        break;
      } catch (err) {
        // A segment being created right now has size 0 for a moment.
        if ((err as NodeJS.ErrnoException).code === 'EAGAIN' && attempt < 100) {
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
          continue;
        }
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
          throw new IpcError('ERR_IPC_NOT_FOUND', `no shared memory segment named '${bare}'`, { cause: err, errno: 'ENOENT', syscall: 'shm_open' });
        }
        throw systemError(err, `cannot open shared memory '${bare}'`);
      }
    }
    return new SharedMemory(SECRET, bare, mapped[0], mapped[1]);
  }

  /** True after {@link SharedMemory.close}. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Closes this handle. Idempotent. The mapping itself is released when the last reference to
   * `buffer` (here or in a worker it was posted to) is garbage-collected, so no view ever faults.
   * Closing does not unlink: see {@link SharedMemory.unlink}.
   */
  close(): void {
    this.#closed = true;
  }

  /**
   * Removes the name from /dev/shm (processes that have it mapped keep their mapping). Idempotent,
   * and a name already removed by someone else is not an error.
   * @throws {IpcError} ERR_IPC_SYSTEM when the system call fails otherwise
   */
  unlink(): void {
    if (this.#unlinked) return;
    this.#unlinked = true;
    if (toUnlink.delete(this.name)) native().disown(`/${this.name}`);
    try {
      native().unlink(`/${this.name}`);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw systemError(err, `cannot unlink shared memory '${this.name}'`);
    }
  }

  /** Closes this handle (it does not unlink; the creator unlinks on exit unless told otherwise). */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }

  /** Describes this segment as a handle; revived with {@link SharedMemory.open}. */
  [toHandle](_context: HandleContext): Handle {
    return { kind: SHARED_MEMORY_KIND, module: MODULE_URL, name: this.name };
  }
}

const NO_SPACE = new Set(['ENOSPC', 'EFBIG', 'ENOMEM']);

// A full /dev/shm may be full of segments this thread closed and unlinked: they stay mapped, and
// their pages allocated, until garbage-collected. Collect once and retry when that unmapped any.
function createMapped(path: string, totalBytes: number, trailer: Uint8Array): MappedSegment {
  try {
    return native().create(path, totalBytes, true, trailer, MAGIC);
  } catch (err) {
    if (!NO_SPACE.has((err as NodeJS.ErrnoException).code ?? '') || native().reclaim() === 0) throw err;
    return native().create(path, totalBytes, true, trailer, MAGIC);
  }
}

/** @internal creation shared by SharedMemory, Value and SharedArray. */
export function createSegment(options: InternalCreateOptions): SharedMemory {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object with a size');
  const size = validateSize(options.size, 'options.size');
  const name = options.name === undefined ? `ipc_${randomBytes(8).toString('hex')}` : validateName(options.name, 'options.name');
  const exclusive = options.exclusive ?? true;
  const unlinkOnExit = options.unlinkOnExit ?? true;
  if (typeof exclusive !== 'boolean') throw new TypeError('options.exclusive must be a boolean');
  if (typeof unlinkOnExit !== 'boolean') throw new TypeError('options.unlinkOnExit must be a boolean');
  const trailer = buildTrailer(size, process.pid, selfStartTime(), unlinkOnExit ? FLAG_UNLINK_ON_EXIT : 0, options.meta);
  let mapped;
  try {
    mapped = createMapped(`/${name}`, totalBytesFor(size), trailer);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      if (!exclusive) {
        const existing = SharedMemory.open(name);
        if (existing.size !== size) {
          throw new IpcError('ERR_IPC_EXISTS', `shared memory '${name}' exists with size ${existing.size}, not ${size}`, { details: { name, size: existing.size } });
        }
        return existing;
      }
      throw new IpcError('ERR_IPC_EXISTS', `shared memory '${name}' already exists`, { cause: err, errno: 'EEXIST', syscall: 'shm_open', details: { name } });
    }
    if (code === 'ENOSPC' || code === 'EFBIG' || code === 'ENOMEM') {
      throw new IpcError('ERR_IPC_TOO_LARGE', `/dev/shm cannot hold ${size} bytes for shared memory '${name}'`, { cause: err, errno: code, syscall: (err as NodeJS.ErrnoException).syscall, details: { name, size } });
    }
    throw systemError(err, `cannot create shared memory '${name}'`);
  }
  if (unlinkOnExit) {
    toUnlink.add(name);
    native().own(`/${name}`, selfStartTime(), TRAILER_BYTES);
    installExitHook();
  }
  return new SharedMemory(SECRET, name, mapped[0], mapped[1]);
}

const MODULE_URL = moduleUrl(MODULE_FILE);

registerHandleKind(SHARED_MEMORY_KIND, (handle) => SharedMemory.open(handle.name as string));
