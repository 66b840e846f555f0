import { afterEach, describe, expect, it } from 'vitest';
import { SharedMemory, notify, wait, waitSync } from '../index.js';

const made: SharedMemory[] = [];
function view(words = 4): Int32Array {
  const shm = SharedMemory.create({ size: words * 4 });
  made.push(shm);
  return new Int32Array(shm.buffer);
}
afterEach(() => {
  for (const s of made.splice(0)) s.unlink();
});

describe('wait / notify in one thread', () => {
  it('resolves not-equal at once when the word differs', async () => {
    const v = view();
    Atomics.store(v, 0, 3);
    await expect(wait(v, 0, 2)).resolves.toBe('not-equal');
    expect(waitSync(v, 0, 2)).toBe('not-equal');
  });

  it('resolves ok when notified, waking at most count waiters per thread', async () => {
    const v = view();
    const results: string[] = [];
    const ws = [wait(v, 1, 0), wait(v, 1, 0), wait(v, 1, 0)].map((p) => p.then((r) => results.push(r)));
    await new Promise((r) => setImmediate(r));
    notify(v, 1, 2);
    await new Promise((r) => setImmediate(r));
    expect(results).toEqual(['ok', 'ok']);
    notify(v, 1);
    await Promise.all(ws);
    expect(results).toEqual(['ok', 'ok', 'ok']);
  });

  it('does not wake waiters on another word', async () => {
    const v = view();
    const p = wait(v, 0, 0, { timeout: 30 });
    notify(v, 1);
    await expect(p).resolves.toBe('timed-out');
  });

  it('times out (async and sync)', async () => {
    const v = view();
    await expect(wait(v, 0, 0, { timeout: 20 })).resolves.toBe('timed-out');
    await expect(wait(v, 0, 0, { timeout: 0 })).resolves.toBe('timed-out');
    expect(waitSync(v, 0, 0, 10)).toBe('timed-out');
  });

  it('rejects with ERR_IPC_ABORTED when aborted, before or during the wait', async () => {
    const v = view();
    await expect(wait(v, 0, 0, { signal: AbortSignal.abort('x') })).rejects.toMatchObject({ code: 'ERR_IPC_ABORTED', cause: 'x' });
    const ac = new AbortController();
    const p = wait(v, 0, 0, { signal: ac.signal });
    ac.abort(new Error('stop'));
    await expect(p).rejects.toMatchObject({ code: 'ERR_IPC_ABORTED' });
    // the aborted waiter is gone: a later notify finds nobody
    expect(notify(v, 0)).toBe(0);
  });

  it('rejects bad arguments with TypeError / RangeError', async () => {
    const v = view();
    await expect(wait(new Int32Array(4), 0, 0)).rejects.toThrow(TypeError);
    await expect(wait(new Int32Array(new SharedArrayBuffer(8)), 0, 0)).rejects.toThrow(/not a plain SharedArrayBuffer/);
    await expect(wait(v, 4, 0)).rejects.toThrow(RangeError);
    await expect(wait(v, 0.5, 0)).rejects.toThrow(TypeError);
    await expect(wait(v, 0, 0, { timeout: -1 })).rejects.toThrow(RangeError);
    expect(() => waitSync(v, -1, 0)).toThrow(RangeError);
    expect(() => waitSync(v, 0, 0, -5)).toThrow(RangeError);
    expect(() => notify(v, 0, -1)).toThrow(RangeError);
    expect(() => notify(new Uint32Array(v.buffer) as never, 0)).toThrow(TypeError);
  });

  it('works on a subarray view (word index counts from the segment start)', async () => {
    const v = view(8);
    const sub = v.subarray(4);
    const p = wait(sub, 1, 0);
    Atomics.store(v, 5, 1);
    expect(notify(v, 5)).toBe(1);
    await expect(p).resolves.toBe('ok');
  });
});

describe('wait options', () => {
  it('spins before parking when asked, resolving ok when the word changes meanwhile', async () => {
    const v = view();
    // nothing changes it: the spin ends and the wait parks until the timeout
    await expect(wait(v, 0, 0, { spin: 50, timeout: 10 })).resolves.toBe('timed-out');
    await expect(wait(v, 0, 0, { spin: true, timeout: 10 })).resolves.toBe('timed-out');
    await expect(wait(v, 0, 0, { spin: 'x' as never })).rejects.toThrow(/options.spin/);
    await expect(wait(v, 0, 0, { spin: -1 })).rejects.toThrow(/options.spin/);
  });

  it('many timeouts share one timer and each fires on time', async () => {
    const v = view();
    const order: number[] = [];
    const ps = [40, 10, 30, 20].map((t) => wait(v, 0, 0, { timeout: t }).then((r) => (order.push(t), r)));
    const early = wait(v, 0, 0, { timeout: 1000 });
    expect(await Promise.all(ps)).toEqual(['timed-out', 'timed-out', 'timed-out', 'timed-out']);
    expect(order).toEqual([10, 20, 30, 40]);
    notify(v, 0);
    await expect(early).resolves.toBe('ok');
  });
});
