import { validateWaitOptions, type WaitOptions } from '@ipc/core';
import {
  HEADER_WORDS,
  Primitive,
  attachBlock,
  createBlock,
  openBlock,
  validatePrimitiveOptions,
  type BlockArgs,
  type PlacementOptions,
  type PrimitiveOptions,
} from './base.js';
import type { SharedMemory } from './shm.js';

// STATE = generation << 1 | flag. set() bumps the generation, so a waiter that saw the flag
// clear wakes even when clear() follows set() before it runs (Python's Event has that guarantee).
const STATE = HEADER_WORDS;
const WORDS = HEADER_WORDS + 4;

/**
 * A process-safe event flag in shared memory, like Python's `multiprocessing.Event`: `set()` wakes
 * every waiter, `clear()` resets, `wait()` resolves once the flag is set.
 *
 * @example
 * const ready = Event.create();
 * // in another process: Event.open(name).set()
 * await ready.wait({ timeout: 5000 });
 */
export class Event extends Primitive<number, void> {
  private constructor(...args: BlockArgs) {
    super('Event', ...args);
  }

  /** Bytes an Event takes in a segment. */
  static byteLength(): number {
    return WORDS * 4;
  }

  /**
   * Creates an event (initially clear) in a segment of its own, or in a slot of `options.memory`.
   * @throws {IpcError} ERR_IPC_EXISTS
   */
  static create(options?: PlacementOptions): Event {
    return new Event(...createBlock('Event', WORDS, validatePrimitiveOptions(options), options));
  }

  /**
   * Opens an event by segment name.
   * @throws {IpcError} ERR_IPC_NOT_FOUND
   */
  static open(name: string, options?: PrimitiveOptions & { offset?: number }): Event {
    return new Event(...openBlock('Event', name, options));
  }

  /**
   * Uses an event placed in a slot of a segment you opened.
   * @throws {IpcError} ERR_IPC_NOT_FOUND
   */
  static attach(memory: SharedMemory, offset: number, options?: PrimitiveOptions): Event {
    return new Event(...attachBlock('Event', memory, offset, options));
  }

  /** True when the flag is set. */
  isSet(): boolean {
    this.assertOpen();
    return (Atomics.load(this.v, STATE) & 1) === 1;
  }

  /** Sets the flag and wakes every waiter (in every process). */
  set(): void {
    this.assertOpen();
    const v = this.v;
    let cur = Atomics.load(v, STATE);
    while ((cur & 1) === 0) {
      const next = ((((cur >>> 1) + 1) & 0x3fffffff) << 1) | 1;
      const prev = Atomics.compareExchange(v, STATE, cur, next);
      if (prev === cur) {
        this.wakeAll(STATE);
        return;
      }
      cur = prev;
    }
  }

  /** Clears the flag. */
  clear(): void {
    this.assertOpen();
    Atomics.and(this.v, STATE, ~1);
  }

  /**
   * Resolves once the flag is set (at once when it already is), without blocking the event loop.
   * @param options - `{ timeout, signal }`
   * @throws {IpcError} ERR_IPC_TIMEOUT, ERR_IPC_ABORTED, ERR_IPC_CLOSED
   */
  wait(options?: WaitOptions): Promise<void> {
    try {
      validateWaitOptions(options);
      this.assertOpen();
    } catch (err) {
      return Promise.reject(err);
    }
    const cur = Atomics.load(this.v, STATE);
    if ((cur & 1) === 1) return Promise.resolve();
    return this.enqueue(options, cur, 'Event.wait');
  }

  /**
   * Blocks this thread until the flag is set: for worker threads (throws `ERR_IPC_UNSUPPORTED` on
   * the main thread unless `timeout` is 0).
   * @throws {IpcError} ERR_IPC_TIMEOUT, ERR_IPC_UNSUPPORTED, ERR_IPC_CLOSED
   */
  waitSync(options?: { timeout?: number }): void {
    this.assertOpen();
    const seen = Atomics.load(this.v, STATE);
    this.block(options, 'Event.waitSync', () => {
      const cur = Atomics.load(this.v, STATE);
      return (cur & 1) === 1 || cur >>> 1 !== seen >>> 1 ? { value: undefined } : cur;
    });
  }

  /** @internal */
  protected service(): number {
    const cur = Atomics.load(this.v, STATE);
    for (const node of [...this.queue]) {
      if ((cur & 1) === 1 || cur >>> 1 !== node.data >>> 1) node.resolve();
    }
    return cur;
  }

  /** @internal */
  protected parkIndex(): number {
    return STATE;
  }
}
