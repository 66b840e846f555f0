import { IpcError, validateWaitOptions, type WaitOptions } from '@ipc/core';
import {
  HEADER_WORDS,
  H_WAITERS,
  Primitive,
  attachBlock,
  initBlock,
  openBlock,
  placeBlock,
  publishBlock,
  validatePrimitiveOptions,
  type KindName,
  type Placement,
  type Tuning,
  type PlacementOptions,
  type PrimitiveOptions,
} from './base.js';
import { ReleaseGuard } from './guard.js';
import { identity, joinStart } from './identity.js';
import { isProcessAlive, type SharedMemory } from './shm.js';

// Block layout (int32 words after the header). STATE is the owner's pid (0: free, -1: being
// recovered), so taking the lock is ONE compare-and-swap and a dead owner is found by reading it.
const STATE = HEADER_WORDS;
const TID = HEADER_WORDS + 1; // owner's thread id + 1; 0 while not yet written
const START_LO = HEADER_WORDS + 2; // owner's process start time, so a reused pid is not the owner
const START_HI = HEADER_WORDS + 3;
const COUNT = HEADER_WORDS + 4; // recursion depth (RLock)
const DIED = HEADER_WORDS + 5; // 1: the last owner died; told to the next owner
const WORDS = HEADER_WORDS + 8;
const RECOVERING = -1;

/** The bytes a Lock or RLock block takes in a segment. */
export const MUTEX_BYTES = WORDS * 4;

/**
 * What Lock and RLock share: an owner-checked mutex in shared memory whose owner is recorded
 * (pid, process start time, thread id) so that a waiter recovers it when the owner dies.
 * @internal
 */
export abstract class Mutex extends Primitive<undefined, ReleaseGuard> {
  readonly #recursive: boolean;
  readonly #what: string;
  readonly #me = identity();

  /** @internal */
  protected constructor(kind: KindName, placement: Placement, view: Int32Array, checkInterval: Tuning) {
    super(kind, placement, view, checkInterval);
    this.#recursive = kind === 'RLock';
    this.#what = kind;
  }

  /** @internal */
  protected static init(kind: KindName, options: PlacementOptions | undefined): [Placement, Int32Array, Tuning] {
    const interval = validatePrimitiveOptions(options);
    const placement = placeBlock(MUTEX_BYTES, options);
    const view = initBlock(placement, WORDS, kind);
    publishBlock(view);
    return [placement, view, interval];
  }

  // The uncontended path: one CAS and three plain stores, no system call, no promise.
  #take(): ReleaseGuard | number {
    const v = this.v;
    const me = this.#me;
    const prev = Atomics.compareExchange(v, STATE, 0, me.pid);
    if (prev !== 0) {
      if (this.#recursive && prev === me.pid && v[TID] === me.tid1) {
        v[COUNT]!++;
        return new ReleaseGuard(this, false);
      }
      return prev;
    }
    v[TID] = me.tid1;
    v[START_LO] = me.startLo;
    v[START_HI] = me.startHi;
    v[COUNT] = 1;
    const died = Atomics.load(v, DIED) !== 0 && Atomics.exchange(v, DIED, 0) !== 0;
    return new ReleaseGuard(this, died);
  }

  /**
   * Takes the lock if it is free, synchronously: no promise and no system call on success.
   * @returns a release guard, or `null` when another owner holds it
   * @throws {IpcError} ERR_IPC_CLOSED
   */
  tryAcquire(): ReleaseGuard | null {
    if (this.closed) this.assertOpen();
    let r = this.#take();
    if (typeof r === 'number' && this.maybeCheckOwners()) r = this.#take();
    return typeof r === 'number' ? null : r;
  }

  /**
   * Waits for the lock without blocking the event loop. Waiters in one thread are served first in,
   * first out. When the previous owner died holding it, the guard says `ownerDied: true`.
   * @param options - `{ timeout, signal }`
   * @returns a release guard, usable with `await using`
   * @throws {IpcError} ERR_IPC_TIMEOUT, ERR_IPC_ABORTED, ERR_IPC_CLOSED
   */
  acquire(options?: WaitOptions): Promise<ReleaseGuard> {
    try {
      validateWaitOptions(options);
      this.assertOpen();
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.queue.length === 0 && !options?.signal?.aborted) {
      const r = this.#take();
      if (typeof r !== 'number') return Promise.resolve(r);
    }
    return this.enqueue(options, undefined, `${this.#what}.acquire`);
  }

  /**
   * Waits for the lock blocking this thread: for worker threads. On the main thread it throws
   * `ERR_IPC_UNSUPPORTED` (it would freeze the event loop), except with `timeout: 0`.
   * @param options - `{ timeout }`
   * @throws {IpcError} ERR_IPC_TIMEOUT, ERR_IPC_UNSUPPORTED, ERR_IPC_CLOSED
   */
  acquireSync(options?: { timeout?: number }): ReleaseGuard {
    return this.block(options, `${this.#what}.acquireSync`, () => {
      const r = this.#take();
      return typeof r === 'number' ? r : { value: r };
    });
  }

  /**
   * Releases the lock (one level, for an RLock). Wakes one waiter, if any waits.
   * @throws {IpcError} ERR_IPC_NOT_OWNER when this thread does not hold it; ERR_IPC_CLOSED
   */
  release(): void {
    this._releaseOne();
  }

  /** @internal */
  _releaseOne(): void {
    if (this.closed) this.assertOpen();
    const v = this.v;
    const me = this.#me;
    if (Atomics.load(v, STATE) !== me.pid || v[TID] !== me.tid1) {
      throw new IpcError('ERR_IPC_NOT_OWNER', `${this.#what}.release: this thread does not hold the ${this.#what}`, {
        details: { owner: Atomics.load(v, STATE), pid: process.pid },
      });
    }
    if (this.#recursive && v[COUNT]! > 1) {
      v[COUNT]!--;
      return;
    }
    v[COUNT] = 0;
    v[TID] = 0;
    v[START_LO] = 0;
    v[START_HI] = 0;
    Atomics.store(v, STATE, 0);
    if (Atomics.load(v, H_WAITERS) > 0) this.wake(STATE, 1);
  }

  /** True when some thread of some process holds the lock. */
  get locked(): boolean {
    this.assertOpen();
    return Atomics.load(this.v, STATE) !== 0;
  }

  /** @internal True when this thread holds the lock. */
  _isOwner(): boolean {
    const me = this.#me;
    return Atomics.load(this.v, STATE) === me.pid && this.v[TID] === me.tid1;
  }

  /** @internal Releases every level (for Condition.wait); returns the depth to restore. */
  _releaseSave(): number {
    const depth = this.v[COUNT]!;
    if (this._isOwner()) this.v[COUNT] = 1;
    this.release();
    return depth;
  }

  /** @internal Reacquires after Condition.wait and restores the depth. */
  async _acquireRestore(depth: number): Promise<void> {
    await this.acquire();
    if (this.#recursive) this.v[COUNT] = depth;
  }

  /** @internal */
  protected service(): number {
    while (this.queue.length > 0) {
      const r = this.#take();
      if (typeof r === 'number') return r;
      this.queue[0]!.resolve(r);
    }
    return Atomics.load(this.v, STATE);
  }

  /** @internal */
  protected parkIndex(): number {
    return STATE;
  }

  /** @internal */
  protected override passOn(): void {
    if (Atomics.load(this.v, STATE) === 0) this.wake(STATE, 1);
  }

  /** @internal Frees the lock when its owner process is dead. */
  protected override checkOwners(): boolean {
    const v = this.v;
    const owner = Atomics.load(v, STATE);
    if (owner <= 0 || owner === process.pid) return false;
    const lo = v[START_LO]!;
    const hi = v[START_HI]!;
    if (isProcessAlive(owner, joinStart(lo, hi))) return false;
    // Re-read: the owner we judged must still be the owner (the start time guards a quick handover).
    if (v[START_LO] !== lo || v[START_HI] !== hi) return false;
    if (Atomics.compareExchange(v, STATE, owner, RECOVERING) !== owner) return false;
    v[COUNT] = 0;
    v[TID] = 0;
    v[START_LO] = 0;
    v[START_HI] = 0;
    Atomics.store(v, DIED, 1);
    Atomics.store(v, STATE, 0);
    this.wake(STATE, 1);
    return true;
  }
}

/**
 * A process-safe mutual-exclusion lock in shared memory, like Python's `multiprocessing.Lock`,
 * but robust: when its holder dies (SIGKILL included), a waiter recovers it within
 * `ownerCheckInterval` and the next owner's guard says `ownerDied: true`. Owned by one thread of
 * one process; taking it twice in one thread waits (use {@link RLock} to recurse).
 *
 * @example
 * const lock = Lock.create();
 * {
 *   await using guard = await lock.acquire({ timeout: 1000 });
 *   counter[0]++; // exclusive across every process and thread that opened the lock
 * }
 */
export class Lock extends Mutex {
  private constructor(placement: Placement, view: Int32Array, interval: Tuning) {
    super('Lock', placement, view, interval);
  }

  /** Bytes a Lock takes in a segment (for `create({ memory, offset })`). */
  static byteLength(): number {
    return MUTEX_BYTES;
  }

  /**
   * Creates a lock in a segment of its own, or in a slot of `options.memory`.
   * @throws {IpcError} ERR_IPC_EXISTS when `name` is taken
   */
  static create(options?: PlacementOptions): Lock {
    return new Lock(...Mutex.init('Lock', options));
  }

  /**
   * Opens a lock by segment name (and `offset`, when it lives in a slot).
   * @throws {IpcError} ERR_IPC_NOT_FOUND
   */
  static open(name: string, options?: PrimitiveOptions & { offset?: number }): Lock {
    const interval = validatePrimitiveOptions(options);
    const { placement, view } = openBlock(name, options?.offset, 'Lock');
    return new Lock(placement, view, interval);
  }

  /**
   * Uses a lock already placed in a slot of a segment you opened (the segment stays yours).
   * @throws {IpcError} ERR_IPC_NOT_FOUND when the slot holds no Lock
   */
  static attach(memory: SharedMemory, offset: number, options?: PrimitiveOptions): Lock {
    const interval = validatePrimitiveOptions(options);
    const { placement, view } = attachBlock(memory, offset, 'Lock');
    return new Lock(placement, view, interval);
  }
}

/**
 * A reentrant lock: the owning thread (process + thread) may take it again, and must release it
 * as many times. Like Python's `RLock`. In async code, all tasks of one thread count as one owner.
 */
export class RLock extends Mutex {
  private constructor(placement: Placement, view: Int32Array, interval: Tuning) {
    super('RLock', placement, view, interval);
  }

  /** Bytes an RLock takes in a segment. */
  static byteLength(): number {
    return MUTEX_BYTES;
  }

  /**
   * Creates a reentrant lock in a segment of its own, or in a slot of `options.memory`.
   * @throws {IpcError} ERR_IPC_EXISTS
   */
  static create(options?: PlacementOptions): RLock {
    return new RLock(...Mutex.init('RLock', options));
  }

  /**
   * Opens a reentrant lock by segment name.
   * @throws {IpcError} ERR_IPC_NOT_FOUND
   */
  static open(name: string, options?: PrimitiveOptions & { offset?: number }): RLock {
    const interval = validatePrimitiveOptions(options);
    const { placement, view } = openBlock(name, options?.offset, 'RLock');
    return new RLock(placement, view, interval);
  }

  /**
   * Uses a reentrant lock placed in a slot of a segment you opened.
   * @throws {IpcError} ERR_IPC_NOT_FOUND
   */
  static attach(memory: SharedMemory, offset: number, options?: PrimitiveOptions): RLock {
    const interval = validatePrimitiveOptions(options);
    const { placement, view } = attachBlock(memory, offset, 'RLock');
    return new RLock(placement, view, interval);
  }
}
