import { readdirSync } from 'node:fs';
import { expect } from 'vitest';
import { Process, Thread } from '@ipc/core';
import { SharedMemory } from '@ipc/shm';
import type { Queue } from '@ipc/queue';

/** Disposable fixtures: every child, queue and segment made through here is released in afterEach. */
export class Fixtures {
  readonly runners: Array<Process | Thread> = [];
  readonly queues: Array<Queue<unknown>> = [];
  readonly segments: SharedMemory[] = [];

  process(name: string, args: unknown[]): Process {
    const p = new Process(fixture(name), { args, execArgv: [] }).start();
    this.runners.push(p);
    return p;
  }

  thread(name: string, args: unknown[]): Thread {
    const t = new Thread(fixture(name), { args, execArgv: [] }).start();
    this.runners.push(t);
    return t;
  }

  queue<Q extends Queue<unknown>>(q: Q): Q {
    this.queues.push(q);
    return q;
  }

  segment(size: number): SharedMemory {
    const s = SharedMemory.create({ size });
    this.segments.push(s);
    return s;
  }

  /** Kills what runs, disposes queues and segments, then checks that /dev/shm kept none of them. */
  async dispose(): Promise<void> {
    await Promise.all(this.runners.splice(0).map((r) => r[Symbol.asyncDispose]()));
    const names = [...this.queues.map((q) => q.name), ...this.segments.map((s) => s.name)];
    for (const q of this.queues.splice(0)) await q[Symbol.asyncDispose]();
    for (const s of this.segments.splice(0)) {
      s.unlink();
      s.close();
    }
    const left = names.flatMap((n) => shmNames(n));
    if (left.length > 0) throw new Error(`left in /dev/shm: ${left.join(', ')}`);
  }
}

export function fixture(name: string): URL {
  return new URL(`./fixtures/${name}`, import.meta.url);
}

/** Names in /dev/shm that start with `prefix`. */
export function shmNames(prefix: string): string[] {
  return readdirSync('/dev/shm').filter((n) => n.startsWith(prefix));
}

/** Resolves once `test()` is true, polling every few ms; rejects after `ms`. */
export async function until(test: () => boolean, ms = 20_000): Promise<void> {
  const end = performance.now() + ms;
  while (!test()) {
    if (performance.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** Never resolves; rejects when the runner fails or exits with a non-zero code (to race a wait with). */
export function failure(runner: Process | Thread): Promise<never> {
  return runner.join().then((code) => {
    if (code !== 0) throw new Error(`${runner.name} exited with ${code}`);
    return new Promise<never>(() => {});
  });
}

/**
 * The end of a kill loop: drains what is left (checking per-producer order), then checks the tally
 * of every item producers committed (`log[round]` items of `each` per round; `seen` counts each
 * delivery, its last word any order or content violation the victims saw): none twice, none never
 * put, and at most one lost per round (a consumer killed between taking an item and recording it),
 * or one batch with getMany (`batch`: its max); `chunk`: the producers' putMany size.
 */
export function auditKillLoop<T extends [number, number, ...unknown[]]>(
  q: Queue<T>,
  seen: Int32Array,
  log: Int32Array,
  rounds: number,
  each: number,
  { chunk = 1, batch = 1 }: { chunk?: number; batch?: number } = {},
): void {
  const last = new Map<number, number>();
  for (let r = q.tryGet(); r.ok; r = q.tryGet()) {
    const [p, i] = r.value;
    expect(i).toBeGreaterThan(last.get(p) ?? -1);
    last.set(p, i);
    Atomics.add(seen, p * each + i, 1);
  }
  expect(seen[rounds * each]).toBe(0); // no order or content violation seen by the victims
  let lost = 0;
  let committed = 0;
  for (let r = 0; r < rounds; r++) {
    const c = Atomics.load(log, r);
    committed += c;
    for (let i = 0; i < each; i++) {
      const n = seen[r * each + i]!;
      expect(n).toBeLessThanOrEqual(1); // never twice
      if (i < c && n === 0) lost++;
      // Nothing that was never put (a putMany of `chunk` items may have committed them all but not
      // returned yet).
      if (i >= c + chunk) expect(n).toBe(0);
    }
  }
  expect(committed).toBeGreaterThan(rounds);
  // A consumer killed between taking an item and recording it loses that one item (it was
  // delivered to a process or thread that died): at most one per consumer kill, or one batch (of
  // at most `batch` items) with getMany.
  expect(lost).toBeLessThanOrEqual(rounds * batch);
}
