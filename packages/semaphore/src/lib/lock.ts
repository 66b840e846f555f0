import { IpcError } from '@ipc/core';
import { Acquirable } from './acquirable.js';
import {
  HEADER_WORDS,
  H_WAITERS,
  attachBlock,
  createBlock,
  openBlock,
  validatePrimitiveOptions,
  type BlockArgs,
  type KindName,
  type PlacementOptions,
  type PrimitiveOptions,
} from './base.js';
import { ReleaseGuard } from './guard.js';
import { E_COUNT, E_OSTID, E_START_HI, E_START_LO, E_TID, E_TSTART, claimDead } from './holders.js';
import { identity } from './identity.js';
import type { SharedMemory } from './shm.js';

// Block layout (int32 words after the header). STATE is the owner's pid (0: free, -1: being
// recovered), so taking the lock is ONE compare-and-swap and a dead owner is found by reading it.
// The owner record has the layout of a holder-table entry (holders.ts), so that the same code
// judges and claims a dead owner.
const STATE = HEADER_WORDS;
const TID = STATE + E_TID; // owner's thread id + 1; 0 while not yet written
const START_LO = STATE + E_START_LO; // owner's process start time, so a reused pid is not the owner
const START_HI = STATE + E_START_HI;
const COUNT = STATE + E_COUNT; // recursion depth (RLock)
const DIED = HEADER_WORDS + 5; // 1: the last owner died; told to the next owner
const OSTID = STATE + E_OSTID; // the kernel's id of the owner's thread, so an ended worker is found dead
const TSTART = STATE + E_TSTART; // the low 32 bits of that thread's start time
const WORDS = HEADER_WORDS + 8;

/** The bytes a Lock or RLock block takes in a segment. */
export const MUTEX_BYTES = WORDS * 4;

/**
 * What Lock and RLock share: an owner-checked mutex in shared memory whose owner is recorded
 * (pid, process start time, thread ids) so that a waiter recovers it when the owner dies: its process,
 * or only its worker thread (terminated, or crashed).
 * @internal
 */
export abstract class Mutex extends Acquirable {
  readonly #recursive: boolean;
  readonly #me = identity();

  /** @internal */
  protected constructor(kind: KindName, ...args: BlockArgs) {
    super(kind, ...args);
    this.#recursive = kind === 'RLock';
  }

  /** @internal */
  protected static init(kind: KindName, options: PlacementOptions | undefined): BlockArgs {
    return createBlock(kind, WORDS, validatePrimitiveOptions(options), options);
  }

  /** @internal The uncontended path: one CAS and six plain stores, no system call, no promise. */
  protected take(): ReleaseGuard | number {
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
    v[TSTART] = me.tstart;
    v[OSTID] = me.ostid;
    v[COUNT] = 1;
    const died = Atomics.load(v, DIED) !== 0 && Atomics.exchange(v, DIED, 0) !== 0;
    return new ReleaseGuard(this, died);
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
      throw new IpcError('ERR_IPC_NOT_OWNER', `${this.kind}.release: this thread does not hold the ${this.kind}`, {
        details: { owner: Atomics.load(v, STATE), pid: process.pid },
      });
    }
    if (this.#recursive && v[COUNT]! > 1) {
      v[COUNT]!--;
      return;
    }
    v[COUNT] = 0;
    v[OSTID] = 0;
    v[TSTART] = 0;
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
  protected parkIndex(): number {
    return STATE;
  }

  /** @internal */
  protected override passOn(): void {
    if (Atomics.load(this.v, STATE) === 0) this.wake(STATE, 1);
  }

  /** @internal Frees the lock when its owner (process, or thread of a live process) is dead. */
  protected override checkOwners(): boolean {
    const v = this.v;
    if (!claimDead(v, STATE)) return false;
    // DIED before the state goes to 0, so that the next owner sees it.
    v[COUNT] = 0;
    v[OSTID] = 0;
    v[TSTART] = 0;
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
 * but robust: when its holder dies (SIGKILL included, or a worker thread terminated or crashed
 * while its process lives on), a waiter recovers it within
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
  private constructor(...args: BlockArgs) {
    super('Lock', ...args);
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
    return new Lock(...openBlock('Lock', name, options));
  }

  /**
   * Uses a lock already placed in a slot of a segment you opened (the segment stays yours).
   * @throws {IpcError} ERR_IPC_NOT_FOUND when the slot holds no Lock
   */
  static attach(memory: SharedMemory, offset: number, options?: PrimitiveOptions): Lock {
    return new Lock(...attachBlock('Lock', memory, offset, options));
  }
}

/**
 * A reentrant lock: the owning thread (process + thread) may take it again, and must release it
 * as many times. Like Python's `RLock`. In async code, all tasks of one thread count as one owner.
 */
export class RLock extends Mutex {
  private constructor(...args: BlockArgs) {
    super('RLock', ...args);
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
    return new RLock(...openBlock('RLock', name, options));
  }

  /**
   * Uses a reentrant lock placed in a slot of a segment you opened.
   * @throws {IpcError} ERR_IPC_NOT_FOUND
   */
  static attach(memory: SharedMemory, offset: number, options?: PrimitiveOptions): RLock {
    return new RLock(...attachBlock('RLock', memory, offset, options));
  }
}
