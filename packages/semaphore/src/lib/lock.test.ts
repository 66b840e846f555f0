import { readFile } from 'node:fs/promises';
import { IpcError, reviveHandle, toHandle } from '@ipc/core';
import { SharedMemory, selfStartTime } from '@ipc/shm';
import { describe, expect, it } from 'vitest';
import { startThread, state, ticks, track, useCleanup } from '../../test/helpers.js';
import { Lock, RLock, Semaphore } from '../index.js';

useCleanup();

describe('Lock', () => {
  it('tryAcquire returns a guard synchronously, then null while held', () => {
    const lock = track(Lock.create());
    const g = lock.tryAcquire();
    expect(g).not.toBeNull();
    expect(g!.ownerDied).toBe(false);
    expect(lock.locked).toBe(true);
    expect(lock.tryAcquire()).toBeNull();
    g!.release();
    expect(lock.locked).toBe(false);
    g!.release(); // a guard releases once
    expect(lock.tryAcquire()).not.toBeNull();
  });

  it('acquire resolves when the holder releases, first in first out', async () => {
    const lock = track(Lock.create());
    const g = lock.tryAcquire()!;
    const order: number[] = [];
    const waits = [1, 2, 3].map((i) => lock.acquire().then((x) => (order.push(i), x)));
    await ticks();
    expect(order).toEqual([]);
    g.release();
    for (const w of waits) (await w).release();
    expect(order).toEqual([1, 2, 3]);
  });

  it('releases with using and await using', async () => {
    const lock = track(Lock.create());
    {
      using _g = lock.tryAcquire()!;
      expect(lock.locked).toBe(true);
    }
    expect(lock.locked).toBe(false);
    {
      await using _g = await lock.acquire();
      expect(lock.locked).toBe(true);
    }
    expect(lock.locked).toBe(false);
  });

  it('rejects with ERR_IPC_NOT_OWNER when a non-holder releases', () => {
    const lock = track(Lock.create());
    expect(() => lock.release()).toThrow(expect.objectContaining({ code: 'ERR_IPC_NOT_OWNER' }));
  });

  it('rejects with ERR_IPC_TIMEOUT when the lock stays held', async () => {
    const lock = track(Lock.create());
    lock.tryAcquire();
    await expect(lock.acquire({ timeout: 20 })).rejects.toMatchObject({ code: 'ERR_IPC_TIMEOUT' });
    await expect(lock.acquire({ timeout: 0 })).rejects.toMatchObject({ code: 'ERR_IPC_TIMEOUT' });
  });

  it('rejects with ERR_IPC_ABORTED, at once for an aborted signal, and mid-wait', async () => {
    const lock = track(Lock.create());
    lock.tryAcquire();
    await expect(lock.acquire({ signal: AbortSignal.abort('no') })).rejects.toMatchObject({ code: 'ERR_IPC_ABORTED', cause: 'no' });
    const ac = new AbortController();
    const p = lock.acquire({ signal: ac.signal });
    await ticks();
    ac.abort('stop');
    await expect(p).rejects.toMatchObject({ code: 'ERR_IPC_ABORTED', cause: 'stop' });
  });

  it('an aborted waiter does not take the lock from the next one', async () => {
    const lock = track(Lock.create());
    const g = lock.tryAcquire()!;
    const ac = new AbortController();
    const first = lock.acquire({ signal: ac.signal });
    const second = lock.acquire();
    ac.abort();
    await expect(first).rejects.toMatchObject({ code: 'ERR_IPC_ABORTED' });
    g.release();
    (await second).release();
  });

  it('rejects pending waits with ERR_IPC_CLOSED on close, and every call after', async () => {
    const lock = Lock.create();
    try {
      lock.tryAcquire();
      const p = lock.acquire();
      await ticks();
      lock.close();
      await expect(p).rejects.toMatchObject({ code: 'ERR_IPC_CLOSED' });
      lock.close(); // idempotent
      expect(() => lock.tryAcquire()).toThrow(expect.objectContaining({ code: 'ERR_IPC_CLOSED' }));
      expect(() => lock.release()).toThrow(expect.objectContaining({ code: 'ERR_IPC_CLOSED' }));
      await expect(lock.acquire()).rejects.toMatchObject({ code: 'ERR_IPC_CLOSED' });
    } finally {
      lock.unlink();
    }
  });

  it('opens by name, and the two views exclude each other', () => {
    const a = track(Lock.create());
    const b = track(Lock.open(a.name));
    const g = a.tryAcquire()!;
    expect(b.locked).toBe(true);
    // Same process and thread: the owner check is by (pid, thread), not by view.
    expect(b.tryAcquire()).toBeNull();
    g.release();
    expect(b.tryAcquire()).not.toBeNull();
  });

  it('throws ERR_IPC_NOT_FOUND for a missing name or a block of another kind', () => {
    expect(() => Lock.open('ipc_sem_test_no_such_name')).toThrow(expect.objectContaining({ code: 'ERR_IPC_NOT_FOUND' }));
    const sem = track(Semaphore.create());
    expect(() => Lock.open(sem.name)).toThrow(expect.objectContaining({ code: 'ERR_IPC_NOT_FOUND' }));
    const shm = track(SharedMemory.create({ size: 64 }));
    expect(() => Lock.attach(shm, 0)).toThrow(expect.objectContaining({ code: 'ERR_IPC_NOT_FOUND' }));
  });

  it('refuses a block made by another version of the package, naming both layouts', () => {
    const shm = track(SharedMemory.create({ size: Lock.byteLength() }));
    track(Lock.create({ memory: shm }));
    const head = new Int32Array(shm.buffer);
    head[1] = (head[1]! & 0xff) | (1 << 8); // a layout-1 Lock, from before thread ids were recorded
    expect(() => Lock.attach(shm, 0)).toThrow(
      expect.objectContaining({ code: 'ERR_IPC_NOT_FOUND', message: expect.stringMatching(/another version of @ipc\/semaphore \(block layout 1, this one reads 2\)/) }),
    );
  });

  it('recovers a lock recorded with our pid by an earlier process (a reused pid: another start time)', async () => {
    const shm = track(SharedMemory.create({ size: Lock.byteLength() }));
    const lock = track(Lock.create({ memory: shm, ownerCheckInterval: 20 }));
    // White-box: the owner record after the 4-word header: pid, thread + 1, start time lo, hi, depth.
    new Int32Array(shm.buffer).set([process.pid, 1, selfStartTime() + 1, 0, 1], 4);
    const g = await lock.acquire({ timeout: 5_000 });
    expect(g.ownerDied).toBe(true);
    g.release();
  });

  it('throws ERR_IPC_EXISTS when an exclusive name is taken', () => {
    const a = track(Lock.create());
    expect(() => Lock.create({ name: a.name })).toThrow(expect.objectContaining({ code: 'ERR_IPC_EXISTS' }));
  });

  it('lives in a slot of a caller-given segment, and attaches there', () => {
    const shm = track(SharedMemory.create({ size: 4096 }));
    const a = Lock.create({ memory: shm, offset: 64 });
    const b = Lock.attach(shm, 64);
    const c = Lock.open(shm.name, { offset: 64 });
    const g = a.tryAcquire()!;
    expect(b.locked && c.locked).toBe(true);
    g.release();
    for (const x of [a, b, c]) x.close();
    expect(shm.closed).toBe(false); // a slot does not close the caller's segment
    c.unlink(); // nor unlink it
  });

  it('validates arguments with TypeError and RangeError', async () => {
    expect(() => Lock.create({ ownerCheckInterval: 0 })).toThrow(RangeError);
    expect(() => Lock.create({ ownerCheckInterval: 1.5 })).toThrow(TypeError);
    expect(() => Lock.create({ offset: 8 })).toThrow(TypeError);
    const shm = track(SharedMemory.create({ size: 128 }));
    expect(() => Lock.create({ memory: shm, offset: 3 })).toThrow(RangeError);
    expect(() => Lock.create({ memory: shm, offset: 120 })).toThrow(RangeError);
    expect(() => Lock.create({ memory: shm, name: 'x' })).toThrow(TypeError);
    expect(() => Lock.create({ memory: {} as SharedMemory })).toThrow(TypeError);
    expect(() => Lock.open('')).toThrow(TypeError);
    expect(() => Lock.open(42 as unknown as string)).toThrow(TypeError);
    expect(() => Lock.create({ name: 7 as unknown as string })).toThrow(TypeError);
    const lock = track(Lock.create());
    expect(() => lock.acquireSync({ timeout: Number.NaN })).toThrow(TypeError);
    expect(() => Lock.open(lock.name, { offset: 4 })).toThrow(RangeError);
    await expect(lock.acquire({ signal: {} as AbortSignal })).rejects.toBeInstanceOf(TypeError);
    await expect(lock.acquire(null as unknown as undefined)).rejects.toBeInstanceOf(TypeError);
    await expect(lock.acquire({ timeout: -1 })).rejects.toBeInstanceOf(RangeError);
  });

  it('acquireSync refuses to block the main thread, but tries with timeout 0', () => {
    const lock = track(Lock.create());
    expect(() => lock.acquireSync()).toThrow(expect.objectContaining({ code: 'ERR_IPC_UNSUPPORTED' }));
    const g = lock.acquireSync({ timeout: 0 });
    expect(() => lock.acquireSync({ timeout: 0 })).toThrow(expect.objectContaining({ code: 'ERR_IPC_TIMEOUT' }));
    g.release();
  });

  it('revives from its handle', async () => {
    const lock = track(Lock.create({ ownerCheckInterval: 250 }));
    const handle = lock[toHandle]({ target: 'process', inheritFd: (fd) => fd });
    expect(handle).toMatchObject({ kind: '@ipc/semaphore.Lock', name: lock.name, offset: 0, ownerCheckInterval: 250 });
    const again = track((await reviveHandle(handle)) as Lock);
    lock.tryAcquire();
    expect(again.locked).toBe(true);
  });

  it('with 1,000 pending acquires, readFile completes and a worker still terminates', async () => {
    const lock = track(Lock.create());
    const g = lock.tryAcquire()!;
    const pending = Array.from({ length: 1000 }, () => lock.acquire());
    await ticks();
    const text = await readFile(new URL(import.meta.url), 'utf8');
    expect(text.length).toBeGreaterThan(0);
    expect(await state(pending[0]!)).toBe('pending');
    const { worker, next } = startThread({ op: 'pending', kind: 'Lock', name: lock.name, count: 1000 });
    expect(await next()).toBe('waiting');
    const code = await worker.terminate();
    expect(typeof code).toBe('number');
    g.release();
    for (const p of pending) (await p).release();
  });
});

describe('RLock', () => {
  it('counts recursion per owner thread', () => {
    const lock = track(RLock.create());
    const a = lock.tryAcquire()!;
    const b = lock.tryAcquire()!;
    expect(b).not.toBeNull();
    b.release();
    expect(lock.locked).toBe(true);
    a.release();
    expect(lock.locked).toBe(false);
    expect(() => lock.release()).toThrow(IpcError);
  });

  it('is not taken by another thread while held', async () => {
    const lock = track(RLock.create());
    const g = lock.tryAcquire()!;
    const { worker, next } = startThread({ op: 'probe-rlock', kind: 'RLock', name: lock.name });
    const msg = await next();
    await worker.terminate();
    expect(msg).toEqual({ got: false, notOwner: true });
    g.release();
  });
});
