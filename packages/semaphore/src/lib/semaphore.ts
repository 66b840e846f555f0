import { IpcError } from '@ipc/core';
import { Acquirable } from './acquirable.js';
import {
  HEADER_WORDS,
  H_WAITERS,
  attachBlock,
  createBlock,
  openBlock,
  validateInt,
  validatePrimitiveOptions,
  type BlockArgs,
  type KindName,
  type PlacementOptions,
  type PrimitiveOptions,
} from './base.js';
import { ReleaseGuard } from './guard.js';
import { ENTRY_WORDS, E_COUNT, E_PID, E_TID, MAX_TABLE, claimEntry, freeEntry, reapDead, takeCount, takeFromAny } from './holders.js';
import { identity } from './identity.js';
import type { SharedMemory } from './shm.js';

const VALUE = HEADER_WORDS; // permits available
const MAX = HEADER_WORDS + 1; // the bound of a BoundedSemaphore; 0 for a plain Semaphore
const DIED = HEADER_WORDS + 2; // permits recovered from dead holders, not yet told to a new holder
const CAP = HEADER_WORDS + 3; // holder table entries
const UNTRACKED = HEADER_WORDS + 4; // permits held while the table was full
const TABLE = HEADER_WORDS + 8;
const MAX_VALUE = 0x7fffffff;

/** Default size of a semaphore's holder table. */
export const DEFAULT_MAX_HOLDERS = 64;

/** Options of {@link Semaphore.create}. */
export interface SemaphoreOptions extends PlacementOptions {
  /** Initial permits (default 1), 0 to 2147483647. A BoundedSemaphore never goes above it. */
  value?: number;
  /**
   * Entries in the holder table (default 64, 1 to 4096): how many threads (of any process) can
   * hold permits and be recovered from if they die. Holders past it are not tracked.
   */
  maxHolders?: number;
}

function semaphoreWords(cap: number): number {
  return TABLE + cap * ENTRY_WORDS;
}

function validateSemaphoreOptions(options: SemaphoreOptions | undefined): { value: number; cap: number } {
  const value = options?.value === undefined ? 1 : validateInt(options.value, 'options.value', 0, MAX_VALUE);
  const cap = options?.maxHolders === undefined ? DEFAULT_MAX_HOLDERS : validateInt(options.maxHolders, 'options.maxHolders', 1, MAX_TABLE);
  return { value, cap };
}

/**
 * A process-safe counting semaphore in shared memory, like Python's `multiprocessing.Semaphore`,
 * but robust: each holder (pid, process start time, thread) is recorded, and when one dies its
 * permits come back within `ownerCheckInterval`; the next holders' guards say `ownerDied: true`.
 *
 * `release()` may be called by any thread (Python semantics); it returns the caller's own permit
 * when it holds one, else one recorded for another holder.
 *
 * @example
 * const slots = Semaphore.create({ value: 2 });
 * await using permit = await slots.acquire({ timeout: 5000 });
 */
export class Semaphore extends Acquirable {
  #entry = -1;
  readonly #pid = process.pid;
  readonly #tid1 = identity().tid1;
  readonly #cap: number;
  readonly #bounded: boolean;

  /** @internal */
  protected constructor(kind: KindName, ...args: BlockArgs) {
    super(kind, ...args);
    this.#cap = this.v[CAP]!;
    this.#bounded = kind === 'BoundedSemaphore';
  }

  /** @internal */
  protected static init(kind: KindName, options: SemaphoreOptions | undefined): BlockArgs {
    const tuning = validatePrimitiveOptions(options);
    const { value, cap } = validateSemaphoreOptions(options);
    return createBlock(kind, semaphoreWords(cap), tuning, options, (view) => {
      view[VALUE] = value;
      view[MAX] = kind === 'BoundedSemaphore' ? value : 0;
      view[CAP] = cap;
    });
  }

  /** Bytes a semaphore created with these options takes in a segment. */
  static byteLength(options?: Pick<SemaphoreOptions, 'maxHolders'>): number {
    return semaphoreWords(validateSemaphoreOptions(options).cap) * 4;
  }

  /**
   * Creates a semaphore in a segment of its own, or in a slot of `options.memory`.
   * @throws {IpcError} ERR_IPC_EXISTS
   */
  static create(options?: SemaphoreOptions): Semaphore {
    return new Semaphore('Semaphore', ...Semaphore.init('Semaphore', options));
  }

  /**
   * Opens a semaphore by segment name.
   * @throws {IpcError} ERR_IPC_NOT_FOUND
   */
  static open(name: string, options?: PrimitiveOptions & { offset?: number }): Semaphore {
    return new Semaphore('Semaphore', ...openBlock('Semaphore', name, options));
  }

  /**
   * Uses a semaphore placed in a slot of a segment you opened.
   * @throws {IpcError} ERR_IPC_NOT_FOUND
   */
  static attach(memory: SharedMemory, offset: number, options?: PrimitiveOptions): Semaphore {
    return new Semaphore('Semaphore', ...attachBlock('Semaphore', memory, offset, options));
  }

  /** @internal The uncontended path: a CAS on the count and an add on our own (cached) holder entry. */
  protected take(): ReleaseGuard | number {
    const v = this.v;
    let cur = Atomics.load(v, VALUE);
    if (cur <= 0) return cur;
    // The holder entry first, so that no call lies between taking a permit and recording it: a
    // worker is interrupted by terminate() only at a call or a loop back-edge, and a permit taken but
    // not recorded could not be recovered.
    let e = this.#entry;
    if (!this.#isOwn(e)) e = this.#claim();
    const at = e < 0 ? UNTRACKED : e + E_COUNT;
    while (cur > 0) {
      const prev = Atomics.compareExchange(v, VALUE, cur, cur - 1);
      if (prev === cur) {
        Atomics.add(v, at, 1);
        const died = Atomics.load(v, DIED) > 0 && takeCount(v, DIED, 1) === 1;
        return new ReleaseGuard(this, died);
      }
      cur = prev;
    }
    return cur;
  }

  // True when the cached entry `e` is still this thread's (holders.ts's isOwnEntry, with the
  // identity cached on the handle for the fast paths).
  #isOwn(e: number): boolean {
    const v = this.v;
    return e >= 0 && v[e + E_PID] === this.#pid && v[e + E_TID] === this.#tid1;
  }

  // Claims this thread's holder entry (-1: the table is full, the permit goes untracked).
  #claim(): number {
    let e = claimEntry(this.v, TABLE, this.#cap);
    // A full table may hold entries of dead holders: recover them and try once more.
    if (e < 0 && this.checkOwners()) e = claimEntry(this.v, TABLE, this.#cap);
    this.#entry = e;
    return e;
  }

  /** @internal Frees this thread's holder entry when it holds no permit. */
  protected override beforeClose(): void {
    const e = this.#entry;
    const v = this.v;
    if (this.#isOwn(e) && Atomics.load(v, e + E_COUNT) === 0) freeEntry(v, e);
    this.#entry = -1;
  }

  /**
   * Returns `n` permits (default 1) and wakes as many waiters, if any wait.
   * @throws {IpcError} ERR_IPC_OVER_RELEASE when a BoundedSemaphore would go above its initial value
   * @throws {RangeError} when `n` is not a positive integer or the count would overflow
   */
  release(n = 1): void {
    if (n !== 1) validateInt(n, 'n', 1, MAX_VALUE);
    this.#release(n);
  }

  /** @internal */
  _releaseOne(): void {
    this.#release(1);
  }

  #release(n: number): void {
    if (this.closed) this.assertOpen();
    const v = this.v;
    if (this.#bounded) {
      const max = v[MAX]!;
      let cur = Atomics.load(v, VALUE);
      for (;;) {
        if (cur > max - n) {
          throw new IpcError('ERR_IPC_OVER_RELEASE', `BoundedSemaphore released too many times: ${cur} + ${n} > ${max}`, {
            details: { value: cur, n, max },
          });
        }
        const prev = Atomics.compareExchange(v, VALUE, cur, cur + n);
        if (prev === cur) break;
        cur = prev;
      }
    } else if (Atomics.add(v, VALUE, n) > MAX_VALUE - n) {
      Atomics.sub(v, VALUE, n);
      throw new RangeError(`Semaphore.release: the count would exceed ${MAX_VALUE}`);
    }
    // Return our own recorded permit first, else an untracked one, else one of another holder.
    const e = this.#entry;
    let left = n;
    if (this.#isOwn(e)) {
      const c = Atomics.load(v, e + E_COUNT);
      if (n === 1 && c > 0 && Atomics.compareExchange(v, e + E_COUNT, c, c - 1) === c) left = 0;
      else left -= takeCount(v, e + E_COUNT, left);
    }
    if (left > 0) {
      left -= takeCount(v, UNTRACKED, left);
      if (left > 0) takeFromAny(v, TABLE, this.#cap, left, e);
    }
    if (Atomics.load(v, H_WAITERS) > 0) this.wake(VALUE, n);
  }

  /** Permits available now (a snapshot; Python's `get_value()`). */
  get value(): number {
    this.assertOpen();
    return Atomics.load(this.v, VALUE);
  }

  /** @internal */
  protected parkIndex(): number {
    return VALUE;
  }

  /** @internal */
  protected override passOn(): void {
    const n = Atomics.load(this.v, VALUE);
    if (n > 0) this.wake(VALUE, n);
  }

  /** @internal Gives back the permits of dead holders. */
  protected override checkOwners(): boolean {
    const v = this.v;
    let recovered = 0;
    const reaped = reapDead(v, TABLE, this.#cap, (count) => {
      if (count <= 0) return;
      const max = this.#bounded ? v[MAX]! : MAX_VALUE;
      let cur = Atomics.load(v, VALUE);
      for (;;) {
        const next = Math.min(max, cur + count);
        const prev = Atomics.compareExchange(v, VALUE, cur, next);
        if (prev === cur) {
          recovered += next - cur;
          break;
        }
        cur = prev;
      }
    });
    if (recovered === 0) return reaped > 0;
    Atomics.add(v, DIED, recovered);
    this.wake(VALUE, recovered);
    return true;
  }
}

/**
 * A semaphore that refuses to go above its initial value: releasing more than was acquired throws
 * `ERR_IPC_OVER_RELEASE` (Python raises ValueError).
 */
export class BoundedSemaphore extends Semaphore {
  private constructor(...args: BlockArgs) {
    super('BoundedSemaphore', ...args);
  }

  /**
   * Creates a bounded semaphore in a segment of its own, or in a slot of `options.memory`.
   * @throws {IpcError} ERR_IPC_EXISTS
   */
  static override create(options?: SemaphoreOptions): BoundedSemaphore {
    return new BoundedSemaphore(...Semaphore.init('BoundedSemaphore', options));
  }

  /**
   * Opens a bounded semaphore by segment name.
   * @throws {IpcError} ERR_IPC_NOT_FOUND
   */
  static override open(name: string, options?: PrimitiveOptions & { offset?: number }): BoundedSemaphore {
    return new BoundedSemaphore(...openBlock('BoundedSemaphore', name, options));
  }

  /**
   * Uses a bounded semaphore placed in a slot of a segment you opened.
   * @throws {IpcError} ERR_IPC_NOT_FOUND
   */
  static override attach(memory: SharedMemory, offset: number, options?: PrimitiveOptions): BoundedSemaphore {
    return new BoundedSemaphore(...attachBlock('BoundedSemaphore', memory, offset, options));
  }
}
