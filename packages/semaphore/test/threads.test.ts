import { describe, expect, it } from 'vitest';
import { startThread, ticks, track, useCleanup } from './helpers.js';
import { Barrier, Event, Lock, Semaphore } from '../src/index.js';

useCleanup();

describe('worker threads', () => {
  it('acquireSync blocks a worker until release, and times out with ERR_IPC_TIMEOUT', async () => {
    const lock = track(Lock.create());
    const t = startThread({ op: 'acquireSync-timeout', kind: 'Lock', name: lock.name });
    expect(await t.next()).toBe('ERR_IPC_TIMEOUT');
    const g = lock.tryAcquire();
    expect(g).toBeNull(); // the worker still holds it
  });

  it('a worker blocked in acquireSync gets the lock when the main thread releases it', async () => {
    const lock = track(Lock.create());
    const g = lock.tryAcquire()!;
    const t = startThread({ op: 'hold', kind: 'Lock', name: lock.name, sync: true });
    await ticks(20);
    g.release();
    expect(await t.next()).toEqual({ held: true, ownerDied: false });
    expect(() => lock.release()).toThrow(expect.objectContaining({ code: 'ERR_IPC_NOT_OWNER' }));
  });

  it('Event.waitSync in a worker wakes on set() from the main thread', async () => {
    const ev = track(Event.create());
    const t = startThread({ op: 'event-waitSync', kind: 'Event', name: ev.name });
    await ticks(20);
    ev.set();
    expect(await t.next()).toBe('set');
  });

  it('Barrier.waitSync in a worker meets an async wait on the main thread', async () => {
    const b = track(Barrier.create({ parties: 2 }));
    const t = startThread({ op: 'barrier-waitSync', kind: 'Barrier', name: b.name });
    const mine = await b.wait({ timeout: 10_000 });
    const theirs = await t.next();
    expect([mine, theirs].sort()).toEqual([0, 1]);
  });

  it('a Semaphore handed between the main thread and a worker keeps its count', async () => {
    const sem = track(Semaphore.create({ value: 1 }));
    const g = sem.tryAcquire()!;
    const t = startThread({ op: 'hold', kind: 'Semaphore', name: sem.name });
    await ticks(20);
    g.release();
    expect(await t.next()).toEqual({ held: true, ownerDied: false });
    expect(sem.value).toBe(0);
  });
});
