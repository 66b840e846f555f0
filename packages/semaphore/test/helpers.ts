import { existsSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { afterAll, afterEach, expect } from 'vitest';
import type { ReleaseGuard, Semaphore } from '../src/index.js';

interface Closeable {
  readonly name: string;
  close(): void;
  unlink(): void;
}

const live: Closeable[] = [];
const names = new Set<string>();

/** Registers a primitive (or segment) for close + unlink after the test, even when it fails. */
export function track<T extends Closeable>(value: T): T {
  live.push(value);
  names.add(value.name);
  return value;
}

/** Closes and unlinks everything tracked; call once per test file. */
export function useCleanup(): void {
  afterEach(() => {
    for (const x of live.splice(0)) {
      x.close();
      x.unlink();
    }
  });
  afterAll(() => {
    const left = [...names].filter((n) => existsSync(`/dev/shm/${n}`));
    expect(left, 'segments left in /dev/shm').toEqual([]);
  });
}

/** A settled-state probe that does not wait: 'pending', or the outcome. */
export async function state(p: Promise<unknown>): Promise<'pending' | 'fulfilled' | 'rejected'> {
  const marker = Symbol('pending');
  const r = await Promise.race([p.then(() => 'fulfilled' as const, () => 'rejected' as const), new Promise<symbol>((r) => setImmediate(() => r(marker)))]);
  return r === marker ? 'pending' : (r as 'fulfilled' | 'rejected');
}

/** Yields to the event loop a few times. */
export async function ticks(n = 5): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
}


const threads = new Set<Worker>();
afterEach(async () => {
  for (const w of threads) await w.terminate();
  threads.clear();
});

/** Starts test/fixtures/thread-ops.mjs with `data`; terminated after the test. */
export function startThread(data: Record<string, unknown>): { worker: Worker; next: () => Promise<unknown> } {
  const worker = new Worker(new URL('./fixtures/thread-ops.mjs', import.meta.url), { workerData: data });
  threads.add(worker);
  const inbox: unknown[] = [];
  const takers: Array<(v: unknown) => void> = [];
  let failure: unknown;
  worker.on('message', (m) => (takers.length ? takers.shift()!(m) : inbox.push(m)));
  worker.on('error', (err) => {
    failure = err;
    for (const t of takers.splice(0)) t(Promise.reject(err));
  });
  const next = () =>
    inbox.length ? Promise.resolve(inbox.shift()) : failure ? Promise.reject(failure) : new Promise((resolve) => takers.push(resolve));
  return { worker, next };
}

/**
 * A holder of 2 of the 3 permits of `sem` died while we hold the third (`mine`) and wait for one
 * more (`waiting`): the waiter gets one and is told, the other comes back told too, and no more; all
 * three return on release.
 */
export async function expectTwoPermitsBack(sem: Semaphore, mine: ReleaseGuard, waiting: Promise<ReleaseGuard>): Promise<void> {
  const g = await waiting;
  expect(g.ownerDied).toBe(true);
  expect(sem.value).toBe(1);
  const h = sem.tryAcquire()!;
  expect(h.ownerDied).toBe(true);
  expect(sem.tryAcquire()).toBeNull();
  for (const x of [mine, g, h]) x.release();
  expect(sem.value).toBe(3);
}
