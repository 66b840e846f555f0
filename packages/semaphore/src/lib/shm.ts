// The one place this package reaches @ipc/shm: the segment, the cross-process futex waits and
// process liveness. Everything else is TypeScript over Atomics.
import * as shm from '@ipc/shm';

export { SharedMemory, isProcessAlive, notify, processStartTime, wait, waitSync } from '@ipc/shm';

/**
 * Hands @ipc/shm the factory that `Value(..., { lock: true })` uses, when that version of @ipc/shm
 * supports it.
 */
export function registerLockFactory(factory: () => unknown): void {
  const fn = (shm as unknown as { registerLockFactory?: (f: () => unknown) => void }).registerLockFactory;
  if (typeof fn === 'function') fn(factory);
}
