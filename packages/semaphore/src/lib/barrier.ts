import { IpcError, type WaitOptions, validateWaitOptions } from '@ipc/core';
import {
  HEADER_WORDS,
  Primitive,
  WAKE_ALL,
  attachBlock,
  createBlock,
  openBlock,
  validateInt,
  validatePrimitiveOptions,
  type BlockArgs,
  type PlacementOptions,
  type PrimitiveOptions,
} from './base.js';
import { ENTRY_WORDS, E_COUNT, MAX_TABLE, claimEntry, freeEntry, isOwnEntry, reapDead } from './holders.js';
import type { SharedMemory } from './shm.js';

// STATE packs the whole barrier in one word so that arriving is one compare-and-swap:
// bit 30 broken, bits 16..29 generation, bits 0..15 parties arrived in this generation.
const STATE = HEADER_WORDS;
const PARTIES = HEADER_WORDS + 1;
const RESET_GEN = HEADER_WORDS + 2; // (generation ended by reset()) + 1
const CAP = HEADER_WORDS + 3;
const TABLE = HEADER_WORDS + 4;
const BROKEN = 1 << 30;
const GEN_MASK = 0x3fff;
const COUNT_MASK = 0xffff;

/** The most parties a Barrier can have. */
export const MAX_PARTIES = 0xffff;

/** Options of {@link Barrier.create}. */
export interface BarrierOptions extends PlacementOptions {
  /** How many parties must call `wait()` before all are released, 1 to 65535. */
  parties: number;
  /**
   * Entries in the participant table (default max(64, 2 x parties), up to 4096): each thread that
   * ever waits is recorded, so that its death breaks the barrier instead of hanging the others.
   */
  maxParticipants?: number;
}

/** Per-handle options of a Barrier. */
export interface BarrierHandleOptions extends PrimitiveOptions {
  /** Run by the last party to arrive, before the others are released (Python's `action`). */
  action?: () => void;
}

interface Arrival {
  gen: number;
  index: number;
}

function barrierCap(options: BarrierOptions): number {
  const parties = validateInt(options.parties, 'options.parties', 1, MAX_PARTIES);
  return options.maxParticipants === undefined
    ? Math.min(MAX_TABLE, Math.max(64, parties * 2))
    : validateInt(options.maxParticipants, 'options.maxParticipants', 1, MAX_TABLE);
}

function actionOf(options: BarrierHandleOptions | undefined): (() => void) | undefined {
  if (options?.action !== undefined && typeof options.action !== 'function') {
    throw new TypeError('options.action must be a function');
  }
  return options?.action;
}

const registered = new Set<Barrier>();
let exitHook = false;

function brokenError(why: string): IpcError {
  return new IpcError('ERR_IPC_BROKEN_BARRIER', `the barrier is broken: ${why}`);
}

/**
 * A process-safe barrier in shared memory, like Python's `multiprocessing.Barrier`: `wait()`
 * resolves, for each of `parties` callers, once all have arrived, with the caller's arrival index
 * (0 for the first). `abort()` breaks it, `reset()` restores it; waiters of a broken barrier reject
 * with `ERR_IPC_BROKEN_BARRIER`. Robust: every thread that waits is recorded, and a waiter that
 * finds one of them dead (SIGKILL included) breaks the barrier instead of hanging.
 *
 * @example
 * const barrier = Barrier.create({ parties: 3 });
 * const index = await barrier.wait({ timeout: 10_000 });
 */
export class Barrier extends Primitive<Arrival, number> {
  #entry = -1;
  readonly #cap: number;
  readonly #parties: number;
  readonly #action: (() => void) | undefined;

  private constructor(args: BlockArgs, action: (() => void) | undefined) {
    super('Barrier', ...args);
    this.#cap = this.v[CAP]!;
    this.#parties = this.v[PARTIES]!;
    this.#action = action;
  }

  /** Bytes a barrier created with these options takes in a segment. */
  static byteLength(options: Pick<BarrierOptions, 'parties' | 'maxParticipants'>): number {
    return (TABLE + barrierCap(options) * ENTRY_WORDS) * 4;
  }

  /**
   * Creates a barrier for `parties` callers in a segment of its own, or a slot of `options.memory`.
   * @throws {IpcError} ERR_IPC_EXISTS
   */
  static create(options: BarrierOptions & { action?: () => void }): Barrier {
    if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object with parties');
    const tuning = validatePrimitiveOptions(options);
    const cap = barrierCap(options);
    const action = actionOf(options);
    const args = createBlock('Barrier', TABLE + cap * ENTRY_WORDS, tuning, options, (view) => {
      view[PARTIES] = options.parties;
      view[CAP] = cap;
    });
    return new Barrier(args, action);
  }

  /**
   * Opens a barrier by segment name.
   * @throws {IpcError} ERR_IPC_NOT_FOUND
   */
  static open(name: string, options?: BarrierHandleOptions & { offset?: number }): Barrier {
    const action = actionOf(options);
    return new Barrier(openBlock('Barrier', name, options), action);
  }

  /**
   * Uses a barrier placed in a slot of a segment you opened.
   * @throws {IpcError} ERR_IPC_NOT_FOUND
   */
  static attach(memory: SharedMemory, offset: number, options?: BarrierHandleOptions): Barrier {
    const action = actionOf(options);
    return new Barrier(attachBlock('Barrier', memory, offset, options), action);
  }

  /** How many parties must arrive. */
  get parties(): number {
    return this.#parties;
  }

  /** How many parties are waiting now (Python's `n_waiting`). */
  get nWaiting(): number {
    this.assertOpen();
    return Atomics.load(this.v, STATE) & COUNT_MASK;
  }

  /** True when the barrier is broken (until `reset()`). */
  get broken(): boolean {
    this.assertOpen();
    return (Atomics.load(this.v, STATE) & BROKEN) !== 0;
  }

  #register(): void {
    if (isOwnEntry(this.v, this.#entry)) return;
    const e = claimEntry(this.v, TABLE, this.#cap);
    this.#entry = e;
    if (e < 0) return;
    Atomics.add(this.v, e + E_COUNT, 1);
    registered.add(this);
    if (!exitHook) {
      exitHook = true;
      process.once('exit', () => {
        for (const b of registered) b.#unregister();
      });
    }
  }

  #unregister(): void {
    registered.delete(this);
    const e = this.#entry;
    this.#entry = -1;
    if (!isOwnEntry(this.v, e)) return;
    if (Atomics.sub(this.v, e + E_COUNT, 1) <= 1) freeEntry(this.v, e);
  }

  /** @internal */
  protected override beforeClose(): void {
    this.#unregister();
  }

  // Arrives; returns the arrival, or the index when this call completed the generation.
  #arrive(): Arrival | number {
    const v = this.v;
    let cur = Atomics.load(v, STATE);
    for (;;) {
      if ((cur & BROKEN) !== 0) throw brokenError('aborted, reset or a party died');
      const count = cur & COUNT_MASK;
      const gen = (cur >>> 16) & GEN_MASK;
      if (count + 1 >= this.#parties) {
        const prev = Atomics.compareExchange(v, STATE, cur, ((gen + 1) & GEN_MASK) << 16);
        if (prev !== cur) {
          cur = prev;
          continue;
        }
        if (this.#action) {
          try {
            this.#action();
          } catch (err) {
            this.abort();
            throw err;
          }
        }
        this.wakeAll(STATE);
        return count;
      }
      const prev = Atomics.compareExchange(v, STATE, cur, cur + 1);
      if (prev === cur) return { gen, index: count };
      cur = prev;
    }
  }

  /**
   * Waits until all parties have arrived, without blocking the event loop.
   * A timeout or an abort breaks the barrier for the others (as in Python).
   * @param options - `{ timeout, signal }`
   * @returns this caller's arrival index, 0 to parties - 1
   * @throws {IpcError} ERR_IPC_BROKEN_BARRIER, ERR_IPC_TIMEOUT, ERR_IPC_ABORTED, ERR_IPC_CLOSED
   */
  wait(options?: WaitOptions): Promise<number> {
    let arrival: Arrival | number;
    try {
      validateWaitOptions(options);
      this.assertOpen();
      if (options?.signal?.aborted) return this.enqueue(options, { gen: -1, index: -1 }, 'Barrier.wait');
      this.#register();
      arrival = this.#arrive();
    } catch (err) {
      return Promise.reject(err);
    }
    if (typeof arrival === 'number') return Promise.resolve(arrival);
    const { gen } = arrival;
    return this.enqueue(options, arrival, 'Barrier.wait').catch((err: unknown) => {
      if ((IpcError.is(err, 'ERR_IPC_TIMEOUT') || IpcError.is(err, 'ERR_IPC_ABORTED')) && !this.closed) {
        const cur = Atomics.load(this.v, STATE);
        if (((cur >>> 16) & GEN_MASK) === gen) this.abort();
      }
      throw err;
    });
  }

  /**
   * Waits blocking this thread: for worker threads (throws `ERR_IPC_UNSUPPORTED` on the main
   * thread unless `timeout` is 0). A timeout breaks the barrier.
   * @returns this caller's arrival index
   * @throws {IpcError} ERR_IPC_BROKEN_BARRIER, ERR_IPC_TIMEOUT, ERR_IPC_UNSUPPORTED
   */
  waitSync(options?: { timeout?: number }): number {
    validateWaitOptions(options);
    this.assertOpen();
    this.assertMayBlock('Barrier.waitSync', options?.timeout);
    this.#register();
    const arrival = this.#arrive();
    if (typeof arrival === 'number') return arrival;
    try {
      return this.block(options, 'Barrier.waitSync', () => {
        const r = this.#check(arrival, Atomics.load(this.v, STATE));
        if (r instanceof Error) throw r;
        return r;
      });
    } catch (err) {
      if (IpcError.is(err, 'ERR_IPC_TIMEOUT') && ((Atomics.load(this.v, STATE) >>> 16) & GEN_MASK) === arrival.gen) this.abort();
      throw err;
    }
  }

  // { value: index } when the generation passed, an error when broken, the word otherwise.
  #check(arrival: Arrival, cur: number): { value: number } | IpcError | number {
    const gen = (cur >>> 16) & GEN_MASK;
    if (gen !== arrival.gen) {
      if (Atomics.load(this.v, RESET_GEN) === ((arrival.gen + 1) & GEN_MASK) + 1) return brokenError('reset while waiting');
      return { value: arrival.index };
    }
    if ((cur & BROKEN) !== 0) return brokenError('aborted or a party died');
    return cur;
  }

  /**
   * Breaks the barrier: every waiter, now and until `reset()`, rejects with `ERR_IPC_BROKEN_BARRIER`.
   */
  abort(): void {
    this.assertOpen();
    Atomics.or(this.v, STATE, BROKEN);
    this.wakeAll(STATE);
  }

  /**
   * Returns the barrier to its empty state; current waiters reject with `ERR_IPC_BROKEN_BARRIER`.
   */
  reset(): void {
    this.assertOpen();
    const v = this.v;
    let cur = Atomics.load(v, STATE);
    for (;;) {
      const gen = (cur >>> 16) & GEN_MASK;
      const next = (gen + 1) & GEN_MASK;
      Atomics.store(v, RESET_GEN, next + 1);
      const prev = Atomics.compareExchange(v, STATE, cur, next << 16);
      if (prev === cur) break;
      cur = prev;
    }
    this.wakeAll(STATE);
  }

  /** @internal */
  protected service(): number {
    const cur = Atomics.load(this.v, STATE);
    for (const node of [...this.queue]) {
      if (node.data.gen < 0) continue;
      const r = this.#check(node.data, cur);
      if (r instanceof Error) node.reject(r);
      else if (typeof r === 'object') node.resolve(r.value);
    }
    return cur;
  }

  /** @internal */
  protected parkIndex(): number {
    return STATE;
  }

  /** @internal A dead participant breaks the barrier. */
  protected override checkOwners(): boolean {
    if ((Atomics.load(this.v, STATE) & BROKEN) !== 0) return false;
    if (reapDead(this.v, TABLE, this.#cap, () => {}) === 0) return false;
    Atomics.or(this.v, STATE, BROKEN);
    // No kick: this runs from the pump or a blocking wait, which look at the word next.
    this.wake(STATE, WAKE_ALL);
    return true;
  }
}
