import { reviveHandle, toHandle, type Handle } from '@ipc/core';
import { Value } from '@ipc/shm';
import { describe, expect, it } from 'vitest';
import { track, useCleanup } from '../../test/helpers.js';
import { Barrier, BoundedSemaphore, Condition, Event, Lock, RLock, Semaphore } from '../index.js';

useCleanup();

const ctx = { target: 'process' as const, inheritFd: (fd: number) => fd };

describe('handles', () => {
  it('every primitive revives from its handle as the same kind, sharing its state', async () => {
    const made = [
      track(Lock.create()),
      track(RLock.create()),
      track(Semaphore.create({ value: 3 })),
      track(BoundedSemaphore.create({ value: 2 })),
      track(Condition.create()),
      track(Event.create()),
      track(Barrier.create({ parties: 2 })),
    ];
    for (const p of made) {
      const h: Handle = p[toHandle](ctx);
      expect(h.kind).toBe(`@ipc/semaphore.${p.constructor.name}`);
      expect(h.module).toMatch(/^file:/);
      expect(structuredClone(h)).toEqual(h);
      const again = track((await reviveHandle(h)) as typeof p);
      expect(again).toBeInstanceOf(p.constructor);
      expect(again.name).toBe(p.name);
    }
    (made[5] as Event).set();
    expect(((await reviveHandle(made[5]![toHandle](ctx))) as Event).isSet()).toBe(true);
  });

  it('carries ownerCheckInterval and spin', () => {
    const lock = track(Lock.create({ ownerCheckInterval: 50, spin: 20 }));
    expect(lock[toHandle](ctx)).toMatchObject({ ownerCheckInterval: 50, spin: 20 });
  });

  it('a closed primitive cannot describe itself', () => {
    const lock = Lock.create();
    lock.close();
    lock.unlink();
    expect(() => lock[toHandle](ctx)).toThrow(expect.objectContaining({ code: 'ERR_IPC_CLOSED' }));
  });
});

describe('spin', () => {
  it('validates the budget and still waits correctly with it', async () => {
    expect(() => Lock.create({ spin: -1 })).toThrow(RangeError);
    expect(() => Lock.create({ spin: 5000 })).toThrow(RangeError);
    expect(() => Lock.create({ spin: 'x' as unknown as number })).toThrow(TypeError);
    const sem = track(Semaphore.create({ value: 0, spin: 100 }));
    const waits = [sem.acquire(), sem.acquire()];
    setTimeout(() => sem.release(2), 5);
    await Promise.all(waits);
    await expect(sem.acquire({ timeout: 10 })).rejects.toMatchObject({ code: 'ERR_IPC_TIMEOUT' });
  });
});

describe('@ipc/shm integration', () => {
  it('Value(..., { lock: true }) gets a process-shared RLock from this package', async () => {
    const value = new Value('i32', 0, { lock: true });
    try {
      const lock = value.getLock();
      expect(lock).toBeInstanceOf(RLock);
      {
        await using _g = await lock.acquire();
        value.value = value.value + 1;
      }
      expect(value.value).toBe(1);
      (lock as RLock).close();
      (lock as RLock).unlink();
    } finally {
      value.close();
      value.unlink();
    }
  });
});
