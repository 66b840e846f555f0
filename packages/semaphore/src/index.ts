import { registerKinds } from './lib/register.js';

export { Barrier, MAX_PARTIES } from './lib/barrier.js';
export type { BarrierHandleOptions, BarrierOptions } from './lib/barrier.js';
export { DEFAULT_OWNER_CHECK_INTERVAL } from './lib/base.js';
export type { PlacementOptions, PrimitiveOptions } from './lib/base.js';
export { Condition, DEFAULT_MAX_WAITERS } from './lib/condition.js';
export type { ConditionOptions } from './lib/condition.js';
export { Event } from './lib/event.js';
export { ReleaseGuard } from './lib/guard.js';
export { Lock, RLock } from './lib/lock.js';
export { BoundedSemaphore, DEFAULT_MAX_HOLDERS, Semaphore } from './lib/semaphore.js';
export type { SemaphoreOptions } from './lib/semaphore.js';

registerKinds();
