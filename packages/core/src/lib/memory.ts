import type { Codec, CodecName } from './codec.js';
import { resolveCodec } from './codec.js';
import type { ConnectionOptions } from './connection.js';
import { ConnectionBase } from './connection.js';
import { IpcError } from './errors.js';
import { iterateUntilClosed } from './iterate.js';
import { tooLargeError } from './framing.js';
import type { Lock, LockGuard } from './lock.js';
import type { Queue, TryGetResult } from './queue.js';
import type { WaitOptions } from './wait.js';
import { validateWaitOptions, waitFor } from './wait.js';

/**
 * One end of an in-process connection pair: the reference implementation the conformance kit is
 * checked against, and a handy stand-in in unit tests.
 */
export class MemoryConnection<T = unknown> extends ConnectionBase<T> {
  #peer: MemoryConnection<T> | undefined;

  /** Use {@link memoryPair}. */
  constructor(options: ConnectionOptions<T> = {}) {
    super(options);
  }

  /** @internal */
  _link(peer: MemoryConnection<T>): void {
    this.#peer = peer;
  }

  protected async _write(frame: Uint8Array): Promise<void> {
    const peer = this.#peer;
    if (!peer) throw new IpcError('ERR_IPC_CLOSED', 'the peer closed the connection');
    // Copy: the sender may reuse its buffer once send resolves, as with a real transport.
    const copy = Uint8Array.prototype.slice.call(frame);
    queueMicrotask(() => peer._receive(copy));
  }

  /** @internal */
  _receive(frame: Uint8Array): void {
    this._deliver(frame);
  }

  /** @internal */
  _peerClosed(): void {
    this.#peer = undefined;
    this._end();
  }

  protected _destroy(): void {
    const peer = this.#peer;
    this.#peer = undefined;
    if (peer) queueMicrotask(() => peer._peerClosed());
  }
}

/**
 * Two connected in-process connection ends.
 * @example
 * const [a, b] = memoryPair();
 * await a.send('hi'); await b.recv(); // 'hi'
 */
export function memoryPair<T = unknown>(options: ConnectionOptions<T> = {}): [MemoryConnection<T>, MemoryConnection<T>] {
  const a = new MemoryConnection<T>(options);
  const b = new MemoryConnection<T>(options);
  a._link(b);
  b._link(a);
  return [a, b];
}

/** Options of {@link MemoryQueue}. */
export interface MemoryQueueOptions<T = unknown> {
  /** Most items held at once; `Infinity` (default) for unbounded. */
  maxsize?: number;
  /** Bound on one encoded item. Default 64 MiB. */
  maxItemBytes?: number;
  /** Codec; items are encoded on put and decoded on get, as a real queue would. Default structured. */
  codec?: Codec<T> | CodecName;
}

interface Waiter {
  wake(): void;
}

/**
 * An in-process {@link Queue}: the reference implementation the conformance kit is checked against.
 * Items are encoded on put so that it behaves like a cross-process queue (copies, codec errors).
 */
export class MemoryQueue<T = unknown> implements Queue<T> {
  readonly maxsize: number;
  readonly maxItemBytes: number;
  readonly codec: Codec<T>;
  #items: Uint8Array[] = [];
  #closed = false;
  #getters: Waiter[] = [];
  #putters: Waiter[] = [];

  constructor(options: MemoryQueueOptions<T> = {}) {
    const maxsize = options.maxsize ?? Infinity;
    if (typeof maxsize !== 'number' || Number.isNaN(maxsize) || maxsize < 1) {
      throw new RangeError(`maxsize must be >= 1 or Infinity, got ${String(maxsize)}`);
    }
    this.maxsize = maxsize;
    this.maxItemBytes = options.maxItemBytes ?? 64 * 1024 * 1024;
    this.codec = resolveCodec<T>(options.codec);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Puts raw bytes as an item, bypassing the codec (lets tests inject undecodable bytes). */
  putRaw(bytes: Uint8Array): boolean {
    if (this.#closed || this.#items.length >= this.maxsize) return false;
    this.#items.push(Uint8Array.prototype.slice.call(bytes));
    this.#wake(this.#getters);
    return true;
  }

  #encode(item: T): Uint8Array {
    const bytes = this.codec.encode(item);
    if (bytes.byteLength > this.maxItemBytes) throw tooLargeError(bytes.byteLength, this.maxItemBytes, 'item');
    return Uint8Array.prototype.slice.call(bytes);
  }

  #closedError(): IpcError {
    return new IpcError('ERR_IPC_CLOSED', 'the queue is closed');
  }

  #wake(list: Waiter[]): void {
    const w = list.shift();
    w?.wake();
  }

  tryPut(item: T): boolean {
    if (this.#closed) throw this.#closedError();
    const bytes = this.#encode(item);
    if (this.#items.length >= this.maxsize) return false;
    this.#items.push(bytes);
    this.#wake(this.#getters);
    return true;
  }

  tryGet(): TryGetResult<T> {
    const bytes = this.#items.shift();
    if (bytes === undefined) {
      if (this.#closed) throw this.#closedError();
      return { ok: false };
    }
    this.#wake(this.#putters);
    return { ok: true, value: this.codec.decode(bytes) };
  }

  async put(item: T, options?: WaitOptions): Promise<void> {
    validateWaitOptions(options);
    if (this.#closed) throw this.#closedError();
    const bytes = this.#encode(item);
    for (;;) {
      if (this.#closed) throw this.#closedError();
      if (this.#items.length < this.maxsize) {
        this.#items.push(bytes);
        this.#wake(this.#getters);
        return;
      }
      if (options?.timeout === 0) throw new IpcError('ERR_IPC_TIMEOUT', 'put timed out after 0 ms');
      await this.#park(this.#putters, options, 'put');
    }
  }

  async get(options?: WaitOptions): Promise<T> {
    validateWaitOptions(options);
    for (;;) {
      const r = this.tryGet();
      if (r.ok) return r.value;
      if (options?.timeout === 0) throw new IpcError('ERR_IPC_TIMEOUT', 'get timed out after 0 ms');
      await this.#park(this.#getters, options, 'get');
    }
  }

  #park(list: Waiter[], options: WaitOptions | undefined, what: string): Promise<void> {
    return waitFor<void>(options, (resolve, _reject, scope) => {
      const waiter: Waiter = { wake: resolve };
      list.push(waiter);
      scope.onCleanup(() => {
        const i = list.indexOf(waiter);
        if (i >= 0) list.splice(i, 1);
      });
    }, what);
  }

  size(): number {
    return this.#items.length;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const w of [...this.#getters.splice(0), ...this.#putters.splice(0)]) w.wake();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return iterateUntilClosed(() => this.get());
  }
}

class MemoryGuard implements LockGuard {
  readonly ownerDied = false;
  #lock: MemoryLock | null;

  constructor(lock: MemoryLock) {
    this.#lock = lock;
  }

  get released(): boolean {
    return this.#lock === null;
  }

  release(): void {
    const lock = this.#lock;
    if (lock === null) return;
    this.#lock = null;
    lock._release();
  }

  [Symbol.dispose](): void {
    this.release();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.release();
  }
}

interface LockWaiter {
  grant(): void;
  reject(err: unknown): void;
}

/**
 * An in-process, non-reentrant {@link Lock} with first-in first-out waiters: the reference
 * implementation the lock conformance kit is checked against.
 */
export class MemoryLock implements Lock {
  #held = false;
  #closed = false;
  #waiters: LockWaiter[] = [];

  /** True while someone holds it. */
  get locked(): boolean {
    return this.#held;
  }

  #closedError(): IpcError {
    return new IpcError('ERR_IPC_CLOSED', 'the lock is closed');
  }

  tryAcquire(): LockGuard | null {
    if (this.#closed) throw this.#closedError();
    if (this.#held || this.#waiters.length > 0) return null;
    this.#held = true;
    return new MemoryGuard(this);
  }

  acquire(options?: WaitOptions): Promise<LockGuard> {
    try {
      validateWaitOptions(options);
      if (this.#closed) throw this.#closedError();
    } catch (err) {
      return Promise.reject(err);
    }
    if (!options?.signal?.aborted) {
      const g = this.tryAcquire();
      if (g) return Promise.resolve(g);
    }
    return waitFor<LockGuard>(
      options,
      (resolve, reject, scope) => {
        const w: LockWaiter = {
          grant: () => resolve(new MemoryGuard(this)),
          reject,
        };
        this.#waiters.push(w);
        scope.onCleanup(() => {
          const at = this.#waiters.indexOf(w);
          if (at >= 0) this.#waiters.splice(at, 1);
        });
      },
      'acquire',
    );
  }

  /** @internal What a guard calls. */
  _release(): void {
    const next = this.#waiters.shift();
    if (next) next.grant();
    else this.#held = false;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const err = this.#closedError();
    for (const w of this.#waiters.splice(0)) w.reject(err);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }
}
