import { validateWaitOptions, type Lock as LockInterface, type WaitOptions } from '@ipc/core';
import { Primitive } from './base.js';
import type { ReleaseGuard, Releasable } from './guard.js';

/**
 * What Lock, RLock, Semaphore and BoundedSemaphore share: the three ways to acquire (try, async,
 * blocking) and the service of queued async waiters, all around one {@link take}. A subclass
 * supplies `take` (its uncontended path), the release, and where waiters park.
 * @internal
 */
export abstract class Acquirable extends Primitive<undefined, ReleaseGuard> implements Releasable, LockInterface {
  /**
   * @internal Takes the lock or a permit when free, without waiting: the guard, or the value of the
   * park word that made it fail (the value to park on).
   */
  protected abstract take(): ReleaseGuard | number;

  /** @internal Releases one acquisition (what a guard calls). */
  abstract _releaseOne(): void;

  /**
   * Takes the lock or a permit if one is free, synchronously: no promise and no system call on
   * success. A failure runs the dead-holder check (at most once per `ownerCheckInterval`), so that a
   * polling caller recovers from a dead holder too.
   * @returns a release guard, or `null` when none is free
   * @throws {IpcError} ERR_IPC_CLOSED
   */
  tryAcquire(): ReleaseGuard | null {
    if (this.closed) this.assertOpen();
    let r = this.take();
    if (typeof r === 'number' && this.maybeCheckOwners()) r = this.take();
    return typeof r === 'number' ? null : r;
  }

  /**
   * Waits for the lock or a permit without blocking the event loop. Waiters in one thread are
   * served first in, first out. When it was recovered from a holder that died, the guard says
   * `ownerDied: true`.
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
    // Straight to the block when nobody of this thread queues before us (FIFO within a thread).
    if (this.queue.length === 0 && !options?.signal?.aborted) {
      const r = this.take();
      if (typeof r !== 'number') return Promise.resolve(r);
    }
    return this.enqueue(options, undefined, `${this.kind}.acquire`);
  }

  /**
   * Waits for the lock or a permit blocking this thread: for worker threads. On the main thread it
   * throws `ERR_IPC_UNSUPPORTED` (it would freeze the event loop), except with `timeout: 0`.
   * @param options - `{ timeout }`
   * @throws {IpcError} ERR_IPC_TIMEOUT, ERR_IPC_UNSUPPORTED, ERR_IPC_CLOSED
   */
  acquireSync(options?: { timeout?: number }): ReleaseGuard {
    return this.block(options, `${this.kind}.acquireSync`, () => {
      const r = this.take();
      return typeof r === 'number' ? r : { value: r };
    });
  }

  /** @internal Hands the lock or permits to queued waiters, oldest first, while it can take. */
  protected service(): number {
    while (this.queue.length > 0) {
      const r = this.take();
      if (typeof r === 'number') return r;
      this.queue[0]!.resolve(r);
    }
    return Atomics.load(this.v, this.parkIndex());
  }
}
