import { Worker } from 'node:worker_threads';
import { Process } from '@ipc/core';
import { afterEach, describe, expect, it } from 'vitest';
import { expectTwoPermitsBack, state, track, useCleanup } from './helpers.js';
import { Barrier, Condition, Event, Lock, RLock, Semaphore } from '../src/index.js';

// Holders that end while their process lives on: a worker thread terminated (worker.terminate()
// interrupts even synchronous code) or crashed while it holds a lock or permits. The holder spins
// in synchronous code until terminated, so the moment it ends is the test's to choose.

useCleanup();

const INTERVAL = 100;
const HOLD = new URL('./fixtures/thread-hold.mjs', import.meta.url);
const PROC = new URL('./fixtures/proc-ops.mjs', import.meta.url);
const workers = new Set<Worker>();
const children: Process[] = [];
afterEach(async () => {
  for (const w of workers) await w.terminate();
  workers.clear();
  for (const c of children.splice(0)) await c[Symbol.asyncDispose]();
});

/** Starts the holder thread and resolves once it holds; `crashed` settles with its error, if it throws. */
async function holder(data: Record<string, unknown>): Promise<{ worker: Worker; crashed: Promise<unknown> }> {
  const worker = new Worker(HOLD, { workerData: data });
  workers.add(worker);
  const crashed = new Promise((resolve) => worker.once('error', resolve));
  await new Promise<void>((resolve, reject) => {
    worker.once('message', () => {
      worker.postMessage('go'); // a holder told to crash does so now
      resolve();
    });
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the holder thread exited with ${code} before holding`)));
  });
  return { worker, crashed };
}

/** Several owner-check intervals, during which a waiter must not take over a live holder. */
const checks = () => new Promise((r) => setTimeout(r, INTERVAL * 5));

describe('a worker thread that ends holding', () => {
  it.each([
    ['acquire', false],
    ['acquireSync', true],
  ])('a Lock (taken with %s): a live spinning holder keeps it; once terminated, a waiter recovers it and is told', async (_how, sync) => {
    const lock = track(Lock.create({ ownerCheckInterval: INTERVAL }));
    const { worker } = await holder({ op: 'hold', kind: 'Lock', name: lock.name, sync });
    const waiting = lock.acquire({ timeout: 20_000 });
    await checks();
    expect(await state(waiting)).toBe('pending'); // the holder is slow, not dead
    expect(lock.tryAcquire()).toBeNull();
    await worker.terminate();
    const g = await waiting;
    expect(g.ownerDied).toBe(true);
    g.release();
    const next = lock.tryAcquire()!;
    expect(next.ownerDied).toBe(false); // told once
    next.release();
  });

  it('a Lock whose holder thread crashed (uncaught error) is recovered, the next owner told', async () => {
    const lock = track(Lock.create({ ownerCheckInterval: INTERVAL }));
    const { crashed } = await holder({ op: 'hold', kind: 'Lock', name: lock.name, end: 'throw' });
    expect(await crashed).toMatchObject({ message: 'the holder crashed' });
    const g = await lock.acquire({ timeout: 20_000 });
    expect(g.ownerDied).toBe(true);
    g.release();
  });

  it('an RLock held two levels deep by a terminated thread is recovered whole', async () => {
    const lock = track(RLock.create({ ownerCheckInterval: INTERVAL }));
    const { worker } = await holder({ op: 'hold', kind: 'RLock', name: lock.name, times: 2 });
    expect(lock.tryAcquire()).toBeNull();
    await worker.terminate();
    const g = await lock.acquire({ timeout: 20_000 });
    expect(g.ownerDied).toBe(true);
    g.release();
    expect(lock.locked).toBe(false);
  });

  it('a Lock: a waiter in another process recovers it from a terminated thread, and is told', async () => {
    const lock = track(Lock.create({ ownerCheckInterval: INTERVAL }));
    const started = track(Event.create());
    const { worker } = await holder({ op: 'hold', kind: 'Lock', name: lock.name });
    const p = new Process(PROC, { args: ['acquire-owner-died', lock, started] }).start();
    children.push(p);
    await started.wait({ timeout: 20_000 });
    await checks();
    expect(p.alive).toBe(true); // still waiting: the holder thread lives
    await worker.terminate();
    expect(await p.join({ timeout: 20_000 })).toBe(10);
  });

  it('Semaphore permits: a live spinning holder keeps them; once terminated they come back, the next holders told', async () => {
    const sem = track(Semaphore.create({ value: 3, ownerCheckInterval: INTERVAL }));
    const { worker } = await holder({ op: 'hold', kind: 'Semaphore', name: sem.name, times: 2 });
    const mine = sem.tryAcquire()!;
    expect(sem.value).toBe(0);
    const waiting = sem.acquire({ timeout: 20_000 });
    await checks();
    expect(await state(waiting)).toBe('pending');
    expect(sem.value).toBe(0);
    await worker.terminate();
    await expectTwoPermitsBack(sem, mine, waiting);
  });

  it('a Semaphore permit: a waiter in another process gets it back from a terminated thread, and is told', async () => {
    const sem = track(Semaphore.create({ value: 1, ownerCheckInterval: INTERVAL }));
    const started = track(Event.create());
    const { worker } = await holder({ op: 'hold', kind: 'Semaphore', name: sem.name });
    const p = new Process(PROC, { args: ['acquire-owner-died', sem, started] }).start();
    children.push(p);
    await started.wait({ timeout: 20_000 });
    await checks();
    expect(p.alive).toBe(true);
    await worker.terminate();
    expect(await p.join({ timeout: 20_000 })).toBe(10);
    expect(sem.value).toBe(1);
  });

  it('a barrier party thread terminated between rounds breaks the barrier instead of hanging', async () => {
    const barrier = track(Barrier.create({ parties: 2, ownerCheckInterval: INTERVAL }));
    const first = barrier.wait({ timeout: 20_000 });
    const { worker } = await holder({ op: 'barrier-pass', kind: 'Barrier', name: barrier.name });
    expect(await first).toBeGreaterThanOrEqual(0);
    await worker.terminate();
    await expect(barrier.wait({ timeout: 20_000 })).rejects.toMatchObject({ code: 'ERR_IPC_BROKEN_BARRIER' });
  });

  it('a Condition waiter thread that was terminated does not swallow a notify', async () => {
    const cond = track(Condition.create({ ownerCheckInterval: INTERVAL }));
    const { worker } = await holder({ op: 'condition-wait', kind: 'Condition', name: cond.name, end: 'idle' });
    await worker.terminate();
    const h = await cond.acquire({ timeout: 20_000 });
    expect(h.ownerDied).toBe(false);
    expect(cond.notify()).toBe(0); // the waiter is gone: nobody was woken
    h.release();
  });
});
