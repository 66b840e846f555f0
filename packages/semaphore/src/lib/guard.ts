/** What a guard releases. @internal */
export interface Releasable {
  /** Releases one acquisition made by this thread. */
  _releaseOne(): void;
}

/**
 * What `acquire()` and `tryAcquire()` hand back: releases what was acquired, once, by `release()` or
 * at the end of a `using` / `await using` block.
 *
 * @example
 * await using guard = await lock.acquire({ timeout: 1000 });
 * if (guard.ownerDied) repairSharedState();
 */
export class ReleaseGuard implements Disposable, AsyncDisposable {
  /**
   * True when a previous holder died holding this lock or permit and its permits were recovered:
   * the shared state it protected may be half-updated.
   */
  readonly ownerDied: boolean;
  #owner: Releasable | null;

  /** @internal */
  constructor(owner: Releasable, ownerDied: boolean) {
    this.#owner = owner;
    this.ownerDied = ownerDied;
  }

  /** True once released. */
  get released(): boolean {
    return this.#owner === null;
  }

  /**
   * Releases what this guard holds. Idempotent: a second call does nothing.
   * @throws {IpcError} ERR_IPC_CLOSED when the primitive was closed in the meantime;
   *   ERR_IPC_NOT_OWNER when the lock was released through the lock itself in the meantime
   */
  release(): void {
    const owner = this.#owner;
    if (owner === null) return;
    this.#owner = null;
    owner._releaseOne();
  }

  /** Releases at the end of a `using` block. */
  [Symbol.dispose](): void {
    this.release();
  }

  /** Releases at the end of an `await using` block. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.release();
  }
}
