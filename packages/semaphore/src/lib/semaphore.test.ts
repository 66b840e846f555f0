import { SharedMemory } from '@ipc/shm';
import { describe, expect, it } from 'vitest';
import { ticks, track, useCleanup } from '../../test/helpers.js';
import { BoundedSemaphore, Semaphore } from '../index.js';

useCleanup();

describe('Semaphore', () => {
  it('hands out value permits, then waits', async () => {
    const sem = track(Semaphore.create({ value: 2 }));
    const a = sem.tryAcquire()!;
    const b = (await sem.acquire())!;
    expect(sem.value).toBe(0);
    expect(sem.tryAcquire()).toBeNull();
    const c = sem.acquire();
    await ticks();
    a.release();
    (await c).release();
    b.release();
    expect(sem.value).toBe(2);
  });

  it('defaults to one permit and allows release without acquire (Python semantics)', () => {
    const sem = track(Semaphore.create());
    expect(sem.value).toBe(1);
    sem.release(3);
    expect(sem.value).toBe(4);
  });

  it('a release by a non-holder returns a permit recorded for another holder', () => {
    const sem = track(Semaphore.create({ value: 1 }));
    const other = track(Semaphore.open(sem.name));
    const g = sem.tryAcquire()!;
    other.release(); // the same thread through another view: it returns the permit g took
    expect(sem.value).toBe(1);
    g.release(); // and a third permit now exists, as in Python
    expect(sem.value).toBe(2);
  });

  it('wakes as many waiters as permits released', async () => {
    const sem = track(Semaphore.create({ value: 0 }));
    const waits = [sem.acquire(), sem.acquire(), sem.acquire()];
    await ticks();
    sem.release(2);
    const [a, b] = await Promise.all(waits.slice(0, 2));
    expect(sem.value).toBe(0);
    sem.release();
    await waits[2];
    expect(a!.ownerDied || b!.ownerDied).toBe(false);
  });

  it('keeps working past a full holder table (untracked holders)', () => {
    const sem = track(Semaphore.create({ value: 3, maxHolders: 1 }));
    const views = [sem, track(Semaphore.open(sem.name))];
    const g1 = views[0]!.tryAcquire()!;
    const g2 = views[1]!.tryAcquire()!;
    expect(sem.value).toBe(1);
    g2.release();
    g1.release();
    expect(sem.value).toBe(3);
  });

  it('times out and aborts like every wait', async () => {
    const sem = track(Semaphore.create({ value: 0 }));
    await expect(sem.acquire({ timeout: 10 })).rejects.toMatchObject({ code: 'ERR_IPC_TIMEOUT' });
    await expect(sem.acquire({ signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'ERR_IPC_ABORTED' });
    expect(() => sem.acquireSync({ timeout: 0 })).toThrow(expect.objectContaining({ code: 'ERR_IPC_TIMEOUT' }));
    expect(() => sem.acquireSync()).toThrow(expect.objectContaining({ code: 'ERR_IPC_UNSUPPORTED' }));
  });

  it('validates arguments', () => {
    expect(() => Semaphore.create({ value: -1 })).toThrow(RangeError);
    expect(() => Semaphore.create({ value: 1.5 })).toThrow(TypeError);
    expect(() => Semaphore.create({ value: 2 ** 31 })).toThrow(RangeError);
    expect(() => Semaphore.create({ maxHolders: 0 })).toThrow(RangeError);
    expect(() => Semaphore.create({ maxHolders: 5000 })).toThrow(RangeError);
    const sem = track(Semaphore.create());
    expect(() => sem.release(0)).toThrow(RangeError);
    expect(() => sem.release(2 ** 31 - 1)).toThrow(RangeError);
  });

  it('fits in a slot of its byteLength', () => {
    const bytes = Semaphore.byteLength({ maxHolders: 4 });
    const shm = track(SharedMemory.create({ size: 8 + bytes }));
    const sem = Semaphore.create({ memory: shm, offset: 8, maxHolders: 4, value: 5 });
    expect(Semaphore.attach(shm, 8).value).toBe(5);
    expect(() => Semaphore.create({ memory: shm, offset: 16, maxHolders: 4 })).toThrow(RangeError);
    sem.close();
  });
});

describe('BoundedSemaphore', () => {
  it('throws ERR_IPC_OVER_RELEASE above its initial value', () => {
    const sem = track(BoundedSemaphore.create({ value: 2 }));
    expect(() => sem.release()).toThrow(expect.objectContaining({ code: 'ERR_IPC_OVER_RELEASE' }));
    const g = sem.tryAcquire()!;
    expect(() => sem.release(2)).toThrow(expect.objectContaining({ code: 'ERR_IPC_OVER_RELEASE' }));
    g.release();
    expect(sem.value).toBe(2);
  });

  it('opens only as a BoundedSemaphore', () => {
    const sem = track(BoundedSemaphore.create());
    expect(BoundedSemaphore.open(sem.name)).toBeInstanceOf(BoundedSemaphore);
    expect(() => Semaphore.open(sem.name)).toThrow(expect.objectContaining({ code: 'ERR_IPC_NOT_FOUND' }));
  });
});
