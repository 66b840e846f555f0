export { SharedMemory, MAX_NAME_LENGTH, MAX_SIZE, SHARED_MEMORY_KIND } from './lib/shared-memory.js';
export type { SharedMemoryOptions } from './lib/shared-memory.js';
export { wait, waitSync, notify, MAX_SPIN_US } from './lib/futex.js';
export type { FutexWaitOptions, WaitResult } from './lib/futex.js';
export { processStartTime, isHolderAlive, isProcessAlive, selfStartTime, selfThreadId, selfThreadStartTime, threadStartTime, isThreadAlive } from './lib/process-info.js';
export { Value, SharedArray, registerLockFactory, MAX_ARRAY_LENGTH, VALUE_KIND, ARRAY_KIND } from './lib/value.js';
export type { ElementType, ElementOf, TypedArrayOf, LockLike, LockGuardLike, LockFactory, SharedValueOptions } from './lib/value.js';
export { listSegments, cleanSegments } from './lib/leftovers.js';
export type { SegmentInfo, CleanOptions } from './lib/leftovers.js';
