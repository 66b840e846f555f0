import { registerHandleKind, type Handle } from '@ipc/core';
import { Barrier } from './barrier.js';
import { Condition } from './condition.js';
import { Event } from './event.js';
import { Lock, RLock } from './lock.js';
import { BoundedSemaphore, Semaphore } from './semaphore.js';
import { registerLockFactory } from './shm.js';

function opts(h: Handle): { offset: number; ownerCheckInterval?: number; spin?: number } {
  if (typeof h.name !== 'string' || typeof h.offset !== 'number') throw new TypeError(`malformed ${h.kind} handle`);
  return {
    offset: h.offset,
    ...(typeof h.ownerCheckInterval === 'number' ? { ownerCheckInterval: h.ownerCheckInterval } : {}),
    ...(typeof h.spin === 'number' ? { spin: h.spin } : {}),
  };
}

const kinds = { Lock, RLock, Semaphore, BoundedSemaphore, Condition, Event, Barrier } as const;

/** Registers the handle revivers of every primitive (run once, when the package is imported). */
export function registerKinds(): void {
  for (const [kind, cls] of Object.entries(kinds)) {
    registerHandleKind(`@ipc/semaphore.${kind}`, (h) => cls.open(h.name as string, opts(h)));
  }
  // Value(..., { lock: true }) in @ipc/shm gets a process-shared RLock, like Python's.
  registerLockFactory(() => RLock.create());
}
