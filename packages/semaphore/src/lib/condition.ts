import { Deadline, IpcError, abortError, timeoutError, validateWaitOptions, type WaitOptions } from '@ipc/core';
import {
  HEADER_WORDS,
  Primitive,
  attachBlock,
  closedError,
  initBlock,
  openBlock,
  placeBlock,
  publishBlock,
  validateInt,
  validatePrimitiveOptions,
  type Placement,
  type Tuning,
  type PlacementOptions,
  type PrimitiveOptions,
} from './base.js';
import type { ReleaseGuard } from './guard.js';
import { identity, joinStart } from './identity.js';
import { MAX_TABLE } from './holders.js';
import { Lock, MUTEX_BYTES, RLock, type Mutex } from './lock.js';
import { isHolderAlive, notify, wait, type SharedMemory } from './shm.js';

// The block: where the lock lives (segment name and offset), then one slot per waiter. Every slot
// is changed only by the lock's holder, except its STATE word, which the notifier sets to NOTIFIED
// and the waiter waits on: each waiter has a word of its own, so notify(n) wakes exactly n.
const NEXT_TICKET = HEADER_WORDS;
const CAP = HEADER_WORDS + 1;
const LOCK_KIND = HEADER_WORDS + 2; // 1 Lock, 2 RLock
const LOCK_OFFSET = HEADER_WORDS + 3;
const LOCK_NAME_LEN = HEADER_WORDS + 4;
const LOCK_NAME = HEADER_WORDS + 8; // 256 bytes
const NAME_WORDS = 64;
const SLOTS = LOCK_NAME + NAME_WORDS;
// A slot records its waiter like a holder entry (holders.ts): pid and process start time, and the
// kernel's thread id with its start time, so that a waiter whose process died or whose worker
// thread ended is skipped by notify() instead of swallowing a wake-up.
const SLOT_WORDS = 8;
const S_PID = 0;
const S_TID = 1;
const S_STATE = 2;
const S_TICKET = 3;
const S_START_LO = 4;
const S_START_HI = 5;
const S_OSTID = 6;
const S_TSTART = 7;
const FREE = 0;
const WAITING = 1;
const NOTIFIED = 2;

/** Default number of waiter slots of a Condition. */
export const DEFAULT_MAX_WAITERS = 64;

/** Options of {@link Condition.create}. */
export interface ConditionOptions extends PlacementOptions {
  /** The lock to wait with (a Lock or RLock); a new RLock in the same segment when omitted. */
  lock?: Lock | RLock;
  /** Waiter slots (default 64, 1 to 4096): how many callers, in all processes, can wait at once. */
  maxWaiters?: number;
}

function conditionWords(cap: number): number {
  return SLOTS + cap * SLOT_WORDS;
}

function capOf(options: Pick<ConditionOptions, 'maxWaiters'> | undefined): number {
  return options?.maxWaiters === undefined ? DEFAULT_MAX_WAITERS : validateInt(options.maxWaiters, 'options.maxWaiters', 1, MAX_TABLE);
}

function alignUp(n: number): number {
  return (n + 7) & ~7;
}

/**
 * A process-safe condition variable in shared memory, like Python's `multiprocessing.Condition`:
 * `wait()` releases the lock, sleeps until `notify()`, and takes the lock back; `waitFor(predicate)`
 * loops until the predicate holds. `notify(n)` wakes the n longest-waiting callers.
 *
 * @example
 * const cond = Condition.create();
 * await using _ = await cond.acquire();
 * await cond.waitFor(() => queue.length > 0, { timeout: 1000 });
 */
export class Condition extends Primitive<never, never> {
  readonly #lock: Mutex;
  readonly #ownsLock: boolean;
  readonly #cap: number;
  // One controller for all of this handle's waits, aborted by close() (an AbortSignal per wait
  // would cost more than the wake-up).
  readonly #closing = new AbortController();

  private constructor(placement: Placement, view: Int32Array, interval: Tuning, lock: Mutex, ownsLock: boolean) {
    super('Condition', placement, view, interval);
    this.#lock = lock;
    this.#ownsLock = ownsLock;
    this.#cap = view[CAP]!;
  }

  /** Bytes a condition created with these options takes (with its own RLock when `lock` is omitted). */
  static byteLength(options?: Pick<ConditionOptions, 'maxWaiters' | 'lock'>): number {
    const own = alignUp(conditionWords(capOf(options)) * 4);
    return options?.lock === undefined ? own + MUTEX_BYTES : own;
  }

  /**
   * Creates a condition in a segment of its own, or in a slot of `options.memory`, over
   * `options.lock` or a new RLock placed right after it.
   * @throws {IpcError} ERR_IPC_EXISTS
   */
  static create(options?: ConditionOptions): Condition {
    const interval = validatePrimitiveOptions(options);
    const cap = capOf(options);
    const given = options?.lock;
    if (given !== undefined && !(given instanceof Lock || given instanceof RLock)) {
      throw new TypeError('options.lock must be a Lock or an RLock');
    }
    const words = conditionWords(cap);
    const own = alignUp(words * 4);
    const placement = placeBlock(given === undefined ? own + MUTEX_BYTES : own, options);
    let lock: Mutex;
    if (given === undefined) {
      lock = RLock.create({ memory: placement.memory, offset: placement.offset + own, ...interval });
    } else {
      if (given.closed) throw closedError(given instanceof RLock ? 'RLock' : 'Lock');
      lock = given;
    }
    const view = initBlock(placement, words, 'Condition');
    view[CAP] = cap;
    view[LOCK_KIND] = lock instanceof RLock ? 2 : 1;
    view[LOCK_OFFSET] = lock.offset;
    const bytes = Buffer.from(lock.name, 'utf8');
    if (bytes.length > NAME_WORDS * 4) throw new RangeError(`the lock's segment name must be <= ${NAME_WORDS * 4} bytes`);
    view[LOCK_NAME_LEN] = bytes.length;
    new Uint8Array(view.buffer, view.byteOffset + LOCK_NAME * 4, bytes.length).set(bytes);
    publishBlock(view);
    return new Condition(placement, view, interval, lock, given === undefined);
  }

  // Opens or attaches the lock the block names, in this segment or another.
  static #fromBlock(placement: Placement, view: Int32Array, interval: Tuning): Condition {
    const len = view[LOCK_NAME_LEN]!;
    const lockName = Buffer.from(view.buffer, view.byteOffset + LOCK_NAME * 4, len).toString('utf8');
    const kind = view[LOCK_KIND] === 2 ? RLock : Lock;
    const offset = view[LOCK_OFFSET]!;
    const options = { ...interval };
    const lock =
      lockName === placement.memory.name
        ? kind.attach(placement.memory, offset, options)
        : kind.open(lockName, { ...options, offset });
    return new Condition(placement, view, interval, lock, true);
  }

  /**
   * Opens a condition by segment name, with its lock.
   * @throws {IpcError} ERR_IPC_NOT_FOUND
   */
  static open(name: string, options?: PrimitiveOptions & { offset?: number }): Condition {
    const [placement, view, interval] = openBlock('Condition', name, options);
    try {
      return Condition.#fromBlock(placement, view, interval);
    } catch (err) {
      placement.memory.close();
      throw err;
    }
  }

  /**
   * Uses a condition placed in a slot of a segment you opened.
   * @throws {IpcError} ERR_IPC_NOT_FOUND
   */
  static attach(memory: SharedMemory, offset: number, options?: PrimitiveOptions): Condition {
    return Condition.#fromBlock(...attachBlock('Condition', memory, offset, options));
  }

  /** The lock this condition waits with. */
  get lock(): Lock | RLock {
    return this.#lock as Lock | RLock;
  }

  /** Takes the lock (see `Lock.acquire`). */
  acquire(options?: WaitOptions): Promise<ReleaseGuard> {
    return this.#lock.acquire(options);
  }

  /** Takes the lock if free (see `Lock.tryAcquire`). */
  tryAcquire(): ReleaseGuard | null {
    return this.#lock.tryAcquire();
  }

  /** Takes the lock blocking the thread (see `Lock.acquireSync`). */
  acquireSync(options?: { timeout?: number }): ReleaseGuard {
    return this.#lock.acquireSync(options);
  }

  /** Releases the lock. @throws {IpcError} ERR_IPC_NOT_OWNER */
  release(): void {
    this.#lock.release();
  }

  #assertOwner(what: string): void {
    this.assertOpen();
    if (!this.#lock._isOwner()) {
      throw new IpcError('ERR_IPC_NOT_OWNER', `Condition.${what} needs the lock held by this thread`);
    }
  }

  #claimSlot(): number {
    const v = this.v;
    const me = identity();
    const end = SLOTS + this.#cap * SLOT_WORDS;
    for (let pass = 0; pass < 2; pass++) {
      for (let s = SLOTS; s < end; s += SLOT_WORDS) {
        if (Atomics.load(v, s + S_STATE) !== FREE) continue;
        v[s + S_PID] = me.pid;
        v[s + S_TID] = me.tid1;
        v[s + S_START_LO] = me.startLo;
        v[s + S_START_HI] = me.startHi;
        v[s + S_OSTID] = me.ostid;
        v[s + S_TSTART] = me.tstart;
        v[s + S_TICKET] = v[NEXT_TICKET]!;
        v[NEXT_TICKET] = (v[NEXT_TICKET]! + 1) | 0;
        Atomics.store(v, s + S_STATE, WAITING);
        return s;
      }
      this.#reapDead();
    }
    throw new IpcError('ERR_IPC_TOO_LARGE', `Condition.wait: all ${this.#cap} waiter slots are in use (maxWaiters)`, {
      details: { maxWaiters: this.#cap },
    });
  }

  #freeSlot(s: number): void {
    this.v.fill(0, s + S_START_LO, s + SLOT_WORDS);
    this.v[s + S_PID] = 0;
    this.v[s + S_TID] = 0;
    Atomics.store(this.v, s + S_STATE, FREE);
  }

  #waiterAlive(s: number): boolean {
    const v = this.v;
    return isHolderAlive(v[s + S_PID]!, joinStart(v[s + S_START_LO]!, v[s + S_START_HI]!), v[s + S_OSTID]!, v[s + S_TSTART]!);
  }

  #reapDead(): void {
    const v = this.v;
    const end = SLOTS + this.#cap * SLOT_WORDS;
    for (let s = SLOTS; s < end; s += SLOT_WORDS) {
      if (Atomics.load(v, s + S_STATE) === FREE) continue;
      if (!this.#waiterAlive(s)) this.#freeSlot(s);
    }
  }

  /**
   * Releases the lock, waits for `notify()`, and takes the lock back (also after a timeout or an
   * abort, as in Python). Must be called with the lock held by this thread.
   * @param options - `{ timeout, signal }`
   * @throws {IpcError} ERR_IPC_NOT_OWNER, ERR_IPC_TIMEOUT, ERR_IPC_ABORTED, ERR_IPC_CLOSED,
   *   ERR_IPC_TOO_LARGE when every waiter slot is in use
   */
  async wait(options?: WaitOptions): Promise<void> {
    validateWaitOptions(options);
    this.#assertOwner('wait');
    const slot = this.#claimSlot();
    const depth = this.#lock._releaseSave();
    let error: unknown;
    try {
      await this.#waitSlot(slot, options);
    } catch (err) {
      error = err;
    }
    if (this.closed) throw closedError('Condition');
    await this.#lock._acquireRestore(depth);
    const notified = Atomics.load(this.v, slot + S_STATE) === NOTIFIED;
    this.#freeSlot(slot);
    if (error !== undefined && !notified) throw error;
  }

  async #waitSlot(slot: number, options: WaitOptions | undefined): Promise<void> {
    const deadline = new Deadline(options?.timeout);
    const closing = this.#closing.signal;
    const signal = options?.signal ? AbortSignal.any([options.signal, closing]) : closing;
    for (;;) {
      if (Atomics.load(this.v, slot + S_STATE) === NOTIFIED) return;
      if (options?.signal?.aborted) throw abortError(options.signal, 'Condition.wait');
      if (closing.aborted) throw closedError('Condition');
      const left = deadline.remaining();
      if (left === 0) throw timeoutError(options?.timeout ?? 0, 'Condition.wait');
      await wait(this.v, slot + S_STATE, WAITING, { timeout: Math.min(left, 2_147_483_647), signal }).catch(() => undefined);
    }
  }

  /**
   * Waits until `predicate()` is truthy (checked first, and after each wake-up, with the lock held).
   * @returns the predicate's truthy value
   * @throws {IpcError} ERR_IPC_NOT_OWNER, ERR_IPC_TIMEOUT, ERR_IPC_ABORTED, ERR_IPC_CLOSED
   */
  async waitFor<R>(predicate: () => R | Promise<R>, options?: WaitOptions): Promise<R> {
    if (typeof predicate !== 'function') throw new TypeError('predicate must be a function');
    validateWaitOptions(options);
    const deadline = new Deadline(options?.timeout);
    let result = await predicate();
    while (!result) {
      const left = deadline.remaining();
      if (left === 0) throw timeoutError(options?.timeout ?? 0, 'Condition.waitFor');
      await this.wait({ timeout: left === Infinity ? undefined : left, signal: options?.signal });
      result = await predicate();
    }
    return result;
  }

  /**
   * Wakes up to `n` (default 1) callers waiting in `wait()`, longest-waiting first. Must be called
   * with the lock held.
   * @returns how many were woken
   * @throws {IpcError} ERR_IPC_NOT_OWNER
   */
  notify(n = 1): number {
    validateInt(n, 'n', 0, Number.MAX_SAFE_INTEGER);
    this.#assertOwner('notify');
    const v = this.v;
    const end = SLOTS + this.#cap * SLOT_WORDS;
    const next = v[NEXT_TICKET]!;
    const waiting: number[] = [];
    for (let s = SLOTS; s < end; s += SLOT_WORDS) if (Atomics.load(v, s + S_STATE) === WAITING) waiting.push(s);
    // Tickets wrap: order by distance from the next ticket.
    waiting.sort((a, b) => ((v[a + S_TICKET]! - next) | 0) - ((v[b + S_TICKET]! - next) | 0));
    let woken = 0;
    for (const s of waiting) {
      if (woken >= n) break;
      if (!this.#waiterAlive(s)) {
        this.#freeSlot(s);
        continue;
      }
      Atomics.store(v, s + S_STATE, NOTIFIED);
      notify(v, s + S_STATE, 1);
      woken++;
    }
    return woken;
  }

  /**
   * Wakes every caller waiting in `wait()`. Must be called with the lock held.
   * @returns how many were woken
   * @throws {IpcError} ERR_IPC_NOT_OWNER
   */
  notifyAll(): number {
    return this.notify(Number.MAX_SAFE_INTEGER);
  }

  /** @internal */
  protected override beforeClose(): void {
    this.#closing.abort();
    if (this.#ownsLock) this.#lock.close();
  }

  /** @internal */
  protected service(): number {
    return 0;
  }

  /** @internal */
  protected parkIndex(): number {
    return NEXT_TICKET;
  }
}

