import { describe, expect, it } from 'vitest';
import { ticks, track, useCleanup } from '../../test/helpers.js';
import { Barrier } from '../index.js';

useCleanup();

describe('Barrier', () => {
  it('releases all parties together with distinct arrival indices, generation after generation', async () => {
    const b = track(Barrier.create({ parties: 3 }));
    expect(b.parties).toBe(3);
    for (let round = 0; round < 3; round++) {
      const first = b.wait();
      await ticks();
      expect(b.nWaiting).toBe(1);
      const all = await Promise.all([first, b.wait(), b.wait()]);
      expect(all).toEqual([0, 1, 2]);
    }
  });

  it('runs the action once per generation, in the last party to arrive', async () => {
    let runs = 0;
    const b = track(Barrier.create({ parties: 2, action: () => runs++ }));
    await Promise.all([b.wait(), b.wait()]);
    expect(runs).toBe(1);
  });

  it('abort breaks the barrier for waiters and later callers until reset', async () => {
    const b = track(Barrier.create({ parties: 3 }));
    const w = b.wait();
    await ticks();
    b.abort();
    await expect(w).rejects.toMatchObject({ code: 'ERR_IPC_BROKEN_BARRIER' });
    expect(b.broken).toBe(true);
    await expect(b.wait()).rejects.toMatchObject({ code: 'ERR_IPC_BROKEN_BARRIER' });
    b.reset();
    expect(b.broken).toBe(false);
    expect(await Promise.all([b.wait(), b.wait(), b.wait()])).toEqual([0, 1, 2]);
  });

  it('reset while parties wait rejects them with ERR_IPC_BROKEN_BARRIER', async () => {
    const b = track(Barrier.create({ parties: 3 }));
    const w = b.wait();
    await ticks();
    b.reset();
    await expect(w).rejects.toMatchObject({ code: 'ERR_IPC_BROKEN_BARRIER' });
    expect(b.nWaiting).toBe(0);
  });

  it('a timeout rejects with ERR_IPC_TIMEOUT and breaks the barrier for the others', async () => {
    const b = track(Barrier.create({ parties: 3 }));
    const other = b.wait();
    await expect(b.wait({ timeout: 10 })).rejects.toMatchObject({ code: 'ERR_IPC_TIMEOUT' });
    await expect(other).rejects.toMatchObject({ code: 'ERR_IPC_BROKEN_BARRIER' });
  });

  it('validates arguments', () => {
    expect(() => Barrier.create({ parties: 0 })).toThrow(RangeError);
    expect(() => Barrier.create({ parties: 70_000 })).toThrow(RangeError);
    expect(() => Barrier.create({} as { parties: number })).toThrow(TypeError);
    expect(() => Barrier.create({ parties: 2, maxParticipants: 0 })).toThrow(RangeError);
    // A bad action fails before a segment is created or opened.
    const name = `ipc-test-barrier-action-${process.pid}`;
    expect(() => Barrier.create({ parties: 2, name, action: 1 as never })).toThrow(TypeError);
    expect(() => Barrier.open(name)).toThrow(expect.objectContaining({ code: 'ERR_IPC_NOT_FOUND' }));
    const b = track(Barrier.create({ parties: 2 }));
    expect(() => Barrier.open(b.name, { action: 1 as never })).toThrow(TypeError);
    expect(() => b.waitSync()).toThrow(expect.objectContaining({ code: 'ERR_IPC_UNSUPPORTED' }));
  });
});
