import type { WaitOptions } from './wait.js';

/** A value or a promise of it: in-process mechanisms answer at once, networked ones later. */
export type Awaitable<T> = T | Promise<T>;

/** What a non-blocking get returns: the item, or `ok: false` when the queue was empty. */
export type TryGetResult<T> = { ok: true; value: T } | { ok: false; value?: undefined };

/**
 * A FIFO queue shared between processes (or machines). Every item is delivered to exactly one
 * consumer. `for await` yields items until the queue is closed and drained; breaking out of the
 * loop stops taking items, it does not close the queue.
 *
 * @example
 * await queue.put({ job: 1 });
 * const job = await queue.get({ timeout: 1000 });
 */
export interface Queue<T = unknown> extends AsyncIterable<T>, AsyncDisposable {
  /**
   * Adds an item, waiting while the queue is full.
   * @throws {IpcError} ERR_IPC_CLOSED, ERR_IPC_TOO_LARGE, ERR_IPC_ENCODE, ERR_IPC_TIMEOUT, ERR_IPC_ABORTED
   */
  put(item: T, options?: WaitOptions): Promise<void>;
  /**
   * Takes the next item, waiting while the queue is empty.
   * @throws {IpcError} ERR_IPC_CLOSED (closed and drained), ERR_IPC_DECODE, ERR_IPC_TIMEOUT, ERR_IPC_ABORTED
   */
  get(options?: WaitOptions): Promise<T>;
  /** Adds an item if there is room now; false when full. */
  tryPut(item: T): Awaitable<boolean>;
  /** Takes an item if one is ready now. */
  tryGet(): Awaitable<TryGetResult<T>>;
  /** Items in the queue now (approximate while others put and get). */
  size(): Awaitable<number>;
  /** True once closed (by anyone sharing it). */
  readonly closed: boolean;
  /**
   * Closes the queue for everyone: later puts and waiting getters reject with `ERR_IPC_CLOSED`;
   * items already in the queue can still be taken. Idempotent.
   */
  close(): Promise<void>;
}

/** One item taken from a redelivering queue: settle it with `ack` or `nack`. */
export interface Delivery<T = unknown> {
  /** The decoded item. */
  readonly value: T;
  /** How many times this item was delivered before (0 on first delivery). */
  readonly redeliveries: number;
  /** Marks the item done; it will not be delivered again. */
  ack(): Promise<void>;
  /** Gives the item back (`requeue: true`, default) or drops it (`requeue: false`). */
  nack(options?: { requeue?: boolean }): Promise<void>;
}

/**
 * A queue that can redeliver (broker, file spool): `receive` hands out a {@link Delivery} that must be
 * acknowledged; a consumer that dies before `ack` leaves the item to another consumer.
 */
export interface AckQueue<T = unknown> extends Queue<T> {
  /**
   * Takes the next item without acknowledging it.
   * @throws {IpcError} ERR_IPC_CLOSED, ERR_IPC_DECODE, ERR_IPC_TIMEOUT, ERR_IPC_ABORTED
   */
  receive(options?: WaitOptions): Promise<Delivery<T>>;
}
