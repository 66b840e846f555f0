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
  #release: (() => void) | undefined;

  /** @internal */
  constructor(release: () => void, ownerDied: boolean) {
    this.#release = release;
    this.ownerDied = ownerDied;
  }

  /** True once released. */
  get released(): boolean {
    return this.#release === undefined;
  }

  /**
   * Releases what this guard holds. Idempotent: a second call does nothing.
   * @throws {IpcError} ERR_IPC_CLOSED when the primitive was closed in the meantime
   */
  release(): void {
    const fn = this.#release;
    if (fn === undefined) return;
    this.#release = undefined;
    fn();
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
