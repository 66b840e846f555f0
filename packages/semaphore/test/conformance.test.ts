import { Process } from '@ipc/core';
import { lockConformance, type LockFixture } from '@ipc/core/testing';
import { afterAll, afterEach, expect } from 'vitest';
import { existsSync } from 'node:fs';
import { BoundedSemaphore, Event, Lock, RLock, Semaphore } from '../src/index.js';

// Every lock-like primitive runs the core Lock conformance kit, with the "other owner" a real
// process that takes the lock, holds it until told, or is SIGKILLed while holding it.

const HOLDER = new URL('./fixtures/lock-holder.mjs', import.meta.url);
const names = new Set<string>();
const children: Process[] = [];

afterEach(async () => {
  for (const c of children.splice(0)) await c[Symbol.asyncDispose]();
});
afterAll(() => {
  expect([...names].filter((n) => existsSync(`/dev/shm/${n}`)), 'segments left in /dev/shm').toEqual([]);
});

type LockLike = Lock | RLock | Semaphore | BoundedSemaphore;

function fixture(make: () => LockLike): () => Promise<LockFixture> {
  return async () => {
    const lock = make();
    names.add(lock.name);
    const events: Event[] = [];
    return {
      lock,
      holdElsewhere: async () => {
        const held = Event.create();
        const letGo = Event.create();
        events.push(held, letGo);
        names.add(held.name).add(letGo.name);
        const p = new Process(HOLDER, { args: [lock, held, letGo] }).start();
        children.push(p);
        const ended = p.join().then((code) => Promise.reject(new Error(`holder ended first with ${code}`)));
        ended.catch(() => {});
        await Promise.race([held.wait({ timeout: 20_000 }), ended]);
        return {
          release: async () => {
            letGo.set();
            await p.join({ timeout: 20_000 });
          },
          kill: async () => {
            p.kill();
            await p.join({ timeout: 20_000 }).catch(() => {});
          },
        };
      },
      cleanup: () => {
        for (const e of events) {
          e.close();
          e.unlink();
        }
        lock.close();
        lock.unlink();
      },
    };
  };
}

const fast = { ownerCheckInterval: 100 };
lockConformance('Lock', fixture(() => Lock.create(fast)), { recovers: true });
lockConformance('RLock', fixture(() => RLock.create(fast)), { reentrant: true, recovers: true });
lockConformance('Semaphore(1)', fixture(() => Semaphore.create({ value: 1, ...fast })), { recovers: true });
lockConformance('BoundedSemaphore(1)', fixture(() => BoundedSemaphore.create({ value: 1, ...fast })), { recovers: true });
