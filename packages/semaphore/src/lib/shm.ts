// The one place this package reaches @ipc/shm: the segment, the cross-process futex waits and
// process liveness. Everything else is TypeScript over Atomics.
export { SharedMemory, isHolderAlive, notify, registerLockFactory, selfStartTime, selfThreadId, selfThreadStartTime, wait, waitSync } from '@ipc/shm';
