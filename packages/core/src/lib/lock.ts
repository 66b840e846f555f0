import type { Awaitable } from './queue.js';
import type { WaitOptions } from './wait.js';

/**
 * What acquiring a {@link Lock} hands back: release it once, by hand or with `using` /
 * `await using`. Releasing twice does nothing.
 */
export interface LockGuard extends Disposable, AsyncDisposable {
  /**
   * True when a previous holder died holding the lock and it was recovered: what the lock
   * protected may be half-updated.
   */
  readonly ownerDied: boolean;
  /** True once released. */
  readonly released: boolean;
  /** Releases the lock (or permit). Idempotent. */
  release(): void;
}

/**
 * Mutual exclusion shared between processes, threads or machines. The semaphore package's Lock,
 * RLock, Semaphore and BoundedSemaphore implement it; a lock over a broker or a file can too, and
 * `lockConformance` in `@ipc/core/testing` checks any of them.
 *
 * @example
 * await using guard = await lock.acquire({ timeout: 1000 });
 * if (guard.ownerDied) repair();
 */
export interface Lock extends AsyncDisposable {
  /**
   * Waits for the lock.
   * @throws {IpcError} ERR_IPC_TIMEOUT, ERR_IPC_ABORTED, ERR_IPC_CLOSED
   */
  acquire(options?: WaitOptions): Promise<LockGuard>;
  /**
   * Takes the lock if it is free now.
   * @returns a guard, or `null` when another owner holds it
   * @throws {IpcError} ERR_IPC_CLOSED
   */
  tryAcquire(): LockGuard | null;
  /** Closes this handle: its pending acquires reject with `ERR_IPC_CLOSED`. Idempotent. */
  close(): Awaitable<void>;
}
