import { describe, expect, it } from 'vitest';
import { state, ticks, track, useCleanup } from '../../test/helpers.js';
import { Event } from '../index.js';

useCleanup();

describe('Event', () => {
  it('set wakes every waiter; wait on a set event resolves at once', async () => {
    const ev = track(Event.create());
    expect(ev.isSet()).toBe(false);
    const waits = Array.from({ length: 10 }, () => ev.wait());
    await ticks();
    expect(await state(waits[0]!)).toBe('pending');
    ev.set();
    await Promise.all(waits);
    expect(ev.isSet()).toBe(true);
    await ev.wait();
    ev.set(); // setting twice is fine
  });

  it('a waiter wakes even when clear() follows set() at once', async () => {
    const ev = track(Event.create());
    const other = track(Event.open(ev.name));
    const w = ev.wait();
    await ticks();
    other.set();
    other.clear();
    await w;
    expect(ev.isSet()).toBe(false);
  });

  it('rejects with ERR_IPC_TIMEOUT, ERR_IPC_ABORTED and ERR_IPC_CLOSED', async () => {
    const ev = Event.create();
    try {
      await expect(ev.wait({ timeout: 10 })).rejects.toMatchObject({ code: 'ERR_IPC_TIMEOUT' });
      await expect(ev.wait({ signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'ERR_IPC_ABORTED' });
      expect(() => ev.waitSync({ timeout: 0 })).toThrow(expect.objectContaining({ code: 'ERR_IPC_TIMEOUT' }));
      expect(() => ev.waitSync()).toThrow(expect.objectContaining({ code: 'ERR_IPC_UNSUPPORTED' }));
      const w = ev.wait();
      ev.close();
      await expect(w).rejects.toMatchObject({ code: 'ERR_IPC_CLOSED' });
      expect(() => ev.set()).toThrow(expect.objectContaining({ code: 'ERR_IPC_CLOSED' }));
    } finally {
      ev.unlink();
    }
  });
});
