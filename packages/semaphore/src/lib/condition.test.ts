import { describe, expect, it } from 'vitest';
import { state, ticks, track, useCleanup } from '../../test/helpers.js';
import { Condition, Lock, RLock } from '../index.js';

useCleanup();

describe('Condition', () => {
  it('wait releases the lock and takes it back after notify', async () => {
    const cond = track(Condition.create());
    const g = await cond.acquire();
    const w = cond.wait();
    await ticks();
    expect(cond.lock.locked).toBe(false);
    {
      using _g = cond.tryAcquire()!;
      expect(cond.notify()).toBe(1);
    }
    await w;
    expect(cond.lock.locked).toBe(true);
    g.release();
    expect(cond.lock.locked).toBe(false);
  });

  it('notify(n) wakes the n longest-waiting callers; notifyAll wakes the rest', async () => {
    const cond = track(Condition.create({ lock: track(Lock.create()) }));
    const woken: number[] = [];
    const waiters = [0, 1, 2, 3].map(async (i) => {
      const g = await cond.acquire();
      await cond.wait();
      woken.push(i);
      g.release();
    });
    await ticks(20);
    let g = await cond.acquire();
    expect(cond.notify(2)).toBe(2);
    g.release();
    await ticks(20);
    expect(woken).toEqual([0, 1]);
    g = await cond.acquire();
    expect(cond.notifyAll()).toBe(2);
    g.release();
    await Promise.all(waiters);
    expect(woken.sort()).toEqual([0, 1, 2, 3]);
  });

  it('waitFor returns the truthy predicate value and rejects with ERR_IPC_TIMEOUT', async () => {
    const cond = track(Condition.create());
    let items = 0;
    const g = await cond.acquire();
    const consumer = (async () => {
      const h = await cond.acquire();
      try {
        return await cond.waitFor(() => items > 1 && items, { timeout: 5000 });
      } finally {
        h.release();
      }
    })();
    g.release();
    for (let i = 0; i < 2; i++) {
      await ticks(5);
      const h = await cond.acquire();
      items++;
      cond.notifyAll();
      h.release();
    }
    expect(await consumer).toBe(2);
    const h = await cond.acquire();
    await expect(cond.waitFor(() => false, { timeout: 20 })).rejects.toMatchObject({ code: 'ERR_IPC_TIMEOUT' });
    expect(cond.lock.locked).toBe(true); // the lock is held again after the timeout
    h.release();
  });

  it('restores an RLock recursion depth after wait', async () => {
    const cond = track(Condition.create({ lock: track(RLock.create()) }));
    const a = cond.tryAcquire()!;
    const b = cond.tryAcquire()!;
    const w = cond.wait({ timeout: 5000 });
    await ticks();
    expect(cond.lock.locked).toBe(false);
    const notifier = (async () => {
      const g = await cond.acquire();
      cond.notify();
      g.release();
    })();
    await notifier;
    await w;
    b.release();
    expect(cond.lock.locked).toBe(true);
    a.release();
    expect(cond.lock.locked).toBe(false);
  });

  it('rejects with ERR_IPC_NOT_OWNER without the lock, and ERR_IPC_TOO_LARGE when slots run out', async () => {
    const cond = track(Condition.create({ maxWaiters: 1 }));
    await expect(cond.wait()).rejects.toMatchObject({ code: 'ERR_IPC_NOT_OWNER' });
    await expect(cond.waitFor(42 as unknown as () => boolean)).rejects.toBeInstanceOf(TypeError);
    expect(() => Condition.create({ lock: {} as Lock })).toThrow(TypeError);
    expect(() => Condition.create({ maxWaiters: 0 })).toThrow(RangeError);
    expect(() => cond.notify()).toThrow(expect.objectContaining({ code: 'ERR_IPC_NOT_OWNER' }));
    const g = cond.tryAcquire()!;
    const w = cond.wait({ timeout: 5000 });
    await ticks();
    const h = cond.tryAcquire()!;
    await expect(cond.wait()).rejects.toMatchObject({ code: 'ERR_IPC_TOO_LARGE' });
    expect(() => cond.notify(-1)).toThrow(RangeError);
    cond.notify();
    h.release();
    await w;
    g.release();
  });

  it('aborting a wait rejects with ERR_IPC_ABORTED after taking the lock back', async () => {
    const cond = track(Condition.create());
    const g = cond.tryAcquire()!;
    const ac = new AbortController();
    const w = cond.wait({ signal: ac.signal });
    await ticks();
    ac.abort();
    await expect(w).rejects.toMatchObject({ code: 'ERR_IPC_ABORTED' });
    expect(cond.lock.locked).toBe(true);
    g.release();
  });

  it('opens by name with its lock, and close rejects pending waits with ERR_IPC_CLOSED', async () => {
    const cond = Condition.create();
    try {
      const again = Condition.open(cond.name);
      expect(again.lock).toBeInstanceOf(RLock);
      const g = again.tryAcquire()!;
      expect(cond.lock.locked).toBe(true);
      const w = again.wait();
      await ticks();
      again.close();
      await expect(w).rejects.toMatchObject({ code: 'ERR_IPC_CLOSED' });
      expect(await state(w)).toBe('rejected');
      void g;
    } finally {
      cond.close();
      cond.unlink();
    }
  });
});
