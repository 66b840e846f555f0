import { Process, Thread } from '@ipc/core';
import { SharedMemory } from '@ipc/shm';
import { afterEach, describe, expect, it } from 'vitest';
import { expectTwoPermitsBack, track, useCleanup } from './helpers.js';
import { Barrier, Condition, Event, Lock, Semaphore } from '../src/index.js';

useCleanup();

const FIXTURE = new URL('./fixtures/proc-ops.mjs', import.meta.url);
const children: Array<Process | Thread> = [];
afterEach(async () => {
  for (const c of children.splice(0)) await c[Symbol.asyncDispose]();
});

/** Waits for `event`, failing at once with the child's error when the child ends first. */
async function until(event: Event, child: Process | Thread): Promise<void> {
  const ended = child.join().then(
    (code) => Promise.reject(new Error(`child ended first with ${code}`)),
    (err: unknown) => Promise.reject(err),
  );
  ended.catch(() => {});
  await Promise.race([event.wait({ timeout: 20_000 }), ended]);
}

function spawn(kind: 'process' | 'thread', ...args: unknown[]): Process | Thread {
  const c = kind === 'process' ? new Process(FIXTURE, { args }) : new Thread(FIXTURE, { args });
  children.push(c);
  return c.start();
}

describe('across processes', () => {
  it('N processes x M plain increments under a Lock are exact', async () => {
    const lock = track(Lock.create());
    const memory = track(SharedMemory.create({ size: 64 }));
    const N = 3;
    const M = 1500;
    const ps = Array.from({ length: N }, () => spawn('process', 'count', lock, memory, M, false));
    expect(await Promise.all(ps.map((p) => p.join({ timeout: 60_000 })))).toEqual([0, 0, 0]);
    expect(new Int32Array(memory.buffer)[0]).toBe(N * M);
  });

  it('worker threads (acquireSync and acquire) and processes mixed on one lock are exact', async () => {
    const lock = track(Lock.create());
    const memory = track(SharedMemory.create({ size: 64 }));
    const M = 1000;
    const runs = [
      spawn('process', 'count', lock, memory, M, false),
      spawn('process', 'count', lock, memory, M, false),
      spawn('thread', 'count', lock, memory, M, true),
      spawn('thread', 'count', lock, memory, M, false),
    ];
    const counter = new Int32Array(memory.buffer);
    for (let i = 0; i < M; i++) {
      const g = await lock.acquire({ timeout: 30_000 });
      const v = counter[0]!;
      if (i % 64 === 0) await new Promise((r) => setImmediate(r));
      counter[0] = v + 1;
      g.release();
    }
    expect(await Promise.all(runs.map((p) => p.join({ timeout: 60_000 })))).toEqual([0, 0, 0, 0]);
    expect(counter[0]).toBe(5 * M);
  });

  it('a SIGKILLed lock holder: a waiter recovers the lock and is told ownerDied', async () => {
    const lock = track(Lock.create({ ownerCheckInterval: 100 }));
    const held = track(Event.create());
    const p = spawn('process', 'hold', lock, held) as Process;
    await until(held, p);
    const waiting = lock.acquire({ timeout: 20_000 });
    expect(lock.tryAcquire()).toBeNull();
    p.kill();
    const g = await waiting;
    expect(g.ownerDied).toBe(true);
    g.release();
    const next = lock.tryAcquire()!;
    expect(next.ownerDied).toBe(false); // told once
    next.release();
  });

  it('a SIGKILLed semaphore holder: its permits come back, the next holders are told', async () => {
    const sem = track(Semaphore.create({ value: 3, ownerCheckInterval: 100 }));
    const held = track(Event.create());
    const p = spawn('process', 'hold', sem, held, 2) as Process;
    await until(held, p);
    const mine = sem.tryAcquire()!;
    expect(sem.value).toBe(0);
    const waiting = sem.acquire({ timeout: 20_000 });
    p.kill();
    await expectTwoPermitsBack(sem, mine, waiting);
  });

  it('a SIGKILLed barrier party between rounds breaks the barrier instead of hanging', async () => {
    const barrier = track(Barrier.create({ parties: 2, ownerCheckInterval: 100 }));
    const passed = track(Event.create());
    const p = spawn('process', 'barrier-then-hang', barrier, passed) as Process;
    const first = barrier.wait({ timeout: 20_000 });
    await until(passed, p);
    expect(await first).toBeGreaterThanOrEqual(0);
    p.kill();
    await expect(barrier.wait({ timeout: 20_000 })).rejects.toMatchObject({ code: 'ERR_IPC_BROKEN_BARRIER' });
    expect(barrier.broken).toBe(true);
  });

  it('a SIGKILLed party waiting at the barrier breaks it for the others', async () => {
    const barrier = track(Barrier.create({ parties: 3, ownerCheckInterval: 100 }));
    const arrived = track(Event.create());
    const p = spawn('process', 'barrier-wait-forever', barrier, arrived) as Process;
    await until(arrived, p);
    p.kill();
    await expect(barrier.wait({ timeout: 20_000 })).rejects.toMatchObject({ code: 'ERR_IPC_BROKEN_BARRIER' });
  });

  it('unlinking the name while another process waits does not disturb it', async () => {
    const lock = track(Lock.create());
    const started = track(Event.create());
    const got = track(Event.create());
    const g = lock.tryAcquire()!;
    const p = spawn('process', 'acquire-and-report', lock, started, got);
    await until(started, p);
    lock.unlink();
    expect(() => Lock.open(lock.name)).toThrow(expect.objectContaining({ code: 'ERR_IPC_NOT_FOUND' }));
    g.release();
    await got.wait({ timeout: 20_000 });
    expect(await p.join({ timeout: 20_000 })).toBe(0);
  });

  it('a Condition notified in one process wakes its waiter in another', async () => {
    const cond = track(Condition.create());
    const memory = track(SharedMemory.create({ size: 64 }));
    const started = track(Event.create());
    const got = track(Event.create());
    const p = spawn('process', 'condition-consumer', cond, memory, started, got);
    await until(started, p);
    const g = await cond.acquire({ timeout: 20_000 }); // the consumer released it inside wait()
    new Int32Array(memory.buffer)[0] = 1;
    expect(cond.notifyAll()).toBe(1);
    g.release();
    await until(got, p);
    expect(await p.join({ timeout: 20_000 })).toBe(0);
  });

  it('random timeouts, aborts and polls around a Semaphore never let more than its value in, nor lose a permit', async () => {
    const sem = track(Semaphore.create({ value: 2 }));
    const memory = track(SharedMemory.create({ size: 64 }));
    const runs = [1, 2, 3].map(() => spawn('process', 'sem-stress', sem, memory, 400, 2));
    expect(await Promise.all(runs.map((p) => p.join({ timeout: 60_000 })))).toEqual([0, 0, 0]);
    const [inside, violations, acquired, missed] = new Int32Array(memory.buffer);
    expect({ inside, violations }).toEqual({ inside: 0, violations: 0 });
    expect(acquired! + missed!).toBe(1200);
    expect(sem.value).toBe(2);
  });
});
