import { afterEach, describe, expect, it } from 'vitest';
import { Queue } from '@ipc/queue';
import { SharedMemory, selfStartTime } from '@ipc/shm';
import { Fixtures, auditKillLoop, shmNames, until } from './helpers.js';

// Lock holders that end while their process lives on: a worker thread terminated (worker.terminate()
// interrupts even synchronous code) or crashed while it holds the queue's put or get lock.

const fx = new Fixtures();
afterEach(() => fx.dispose());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const LOCKS = [
  ['get', 32],
  ['put', 16],
] as const;

/** A worker thread that takes lock `word` and spins (or throws) holding it; resolves once it holds. */
async function holder(q: Queue, word: number, end: 'spin' | 'throw' = 'spin') {
  const flag = fx.segment(4);
  const t = fx.thread('hold-lock-thread.mjs', [q, word, flag, end]);
  await until(() => {
    if (Atomics.load(new Int32Array(flag.buffer), 0) === 1) return true; // (a crashing holder may have ended already)
    if (t.exitCode !== null) throw new Error(`the holder thread exited with ${t.exitCode} before holding`);
    return false;
  });
  return t;
}

describe('Queue locks held by a worker thread that ends', () => {
  it.each(LOCKS)('recovers the %s lock from a terminated thread; the next holder is told', async (_which, word) => {
    const q = fx.queue(new Queue({ maxsize: 10 }));
    await q.put('before');
    const t = await holder(q, word);
    t.terminate();
    await t.join({ timeout: 20_000 }).catch(() => undefined);
    await q.put('after', { timeout: 5_000 });
    expect(await q.get({ timeout: 5_000 })).toBe('before');
    expect(await q.get({ timeout: 5_000 })).toBe('after');
    expect(q.stats().ownerDied).toBe(1);
  });

  it.each(LOCKS)('recovers the %s lock from a thread that crashed holding it', async (_which, word) => {
    const q = fx.queue(new Queue({ maxsize: 10 }));
    await q.put('before');
    const t = await holder(q, word, 'throw');
    await expect(t.join({ timeout: 20_000 })).rejects.toThrow('the holder crashed');
    await q.put('after', { timeout: 5_000 });
    expect(await q.get({ timeout: 5_000 })).toBe('before');
    expect(await q.get({ timeout: 5_000 })).toBe('after');
    expect(q.stats().ownerDied).toBe(1);
  });

  it.each(['process', 'thread'] as const)(
    'does not take the lock from a live holder thread that is slow; a waiting %s gets it once the holder is terminated',
    async (kind) => {
      const q = fx.queue(new Queue({ maxsize: 10 }));
      await q.put('before');
      const t = await holder(q, 16);
      const flag = fx.segment(4);
      const waiter = kind === 'process' ? fx.process('put-one.mjs', [q, flag]) : fx.thread('put-one.mjs', [q, flag]);
      await until(() => Atomics.load(new Int32Array(flag.buffer), 0) === 1);
      await sleep(500); // 25 park timeouts of the waiter, each one a liveness check
      expect(waiter.exitCode).toBeNull();
      expect(q.size()).toBe(1);
      expect(q.stats().ownerDied).toBe(0);
      t.terminate();
      expect(await waiter.join({ timeout: 20_000 })).toBe(0);
      expect(q.stats().ownerDied).toBe(1);
      expect(q.tryGet()).toEqual({ ok: true, value: 'before' });
      expect(q.tryGet()).toEqual({ ok: true, value: 'after' });
    },
  );

  it('reclaims the attachment slots of ended threads of this process when the table is full, never those of live ones', async () => {
    const q = fx.queue(new Queue());
    const thread = async () => {
      const out = fx.segment(8);
      const t = fx.thread('thread-id.mjs', [out]);
      const o = new Int32Array(out.buffer);
      await until(() => Atomics.load(o, 0) !== 0);
      return { t, tid: o[0]!, start: o[1]! };
    };
    const live = await thread();
    const ended = await thread();
    ended.t.terminate();
    await ended.t.join({ timeout: 20_000 }).catch(() => undefined);
    // White-box: fill every free slot (8 words from word 256: pid, start lo, hi, thread + 1, kernel
    // thread id, its start) with another thread of this process.
    const shm = SharedMemory.open(q.name);
    try {
      const h = new Int32Array(shm.buffer);
      const fill = (who: { tid: number; start: number }) => {
        for (let s = 0; s < 1024; s++) {
          const w = 256 + s * 8;
          if (Atomics.load(h, w) !== 0 && h[w + 3] !== 999) continue;
          h.set([process.pid, 0, 0, 999, who.tid, who.start], w);
        }
      };
      fill(live);
      expect(() => Queue.open(q.name)).toThrow(expect.objectContaining({ code: 'ERR_IPC_SYSTEM', message: expect.stringMatching(/more than 1024 live threads/) }));
      fill(ended);
      const again = fx.queue(Queue.open(q.name));
      await again.put('in');
      expect(await q.get({ timeout: 5_000 })).toBe('in');
    } finally {
      shm.close();
    }
  });

  it('recovers a lock held by a slot of an earlier process that had our pid (another start time)', async () => {
    const q = fx.queue(new Queue({ maxsize: 10 }));
    await q.put('before');
    const shm = SharedMemory.open(q.name);
    try {
      const h = new Int32Array(shm.buffer);
      let s = 0;
      while (Atomics.load(h, 256 + s * 8) !== 0) s++;
      h.set([process.pid, selfStartTime() + 1, 0, 999, 0, 0], 256 + s * 8);
      Atomics.store(h, 16, s + 1); // the put lock, held by that slot
    } finally {
      shm.close();
    }
    await q.put('after', { timeout: 5_000 });
    expect(q.stats().ownerDied).toBe(1);
    expect(await q.get({ timeout: 5_000 })).toBe('before');
    expect(await q.get({ timeout: 5_000 })).toBe('after');
  });

  it('loses no committed item, duplicates none and never hangs when producer and consumer threads are terminated at random moments', async () => {
    const rounds = 20; // producer ids, and as many consumer ids: 40 terminations in all
    const each = 20_000;
    const q = fx.queue(new Queue<[number, number]>({ capacityBytes: 64 * 1024, maxsize: 50 }));
    const tally = fx.segment((rounds * each + 1) * 4);
    const log = fx.segment(3000 * 4);
    const seen = new Int32Array(tally.buffer);
    const l = new Int32Array(log.buffer);
    for (let round = 0; round < rounds / 2; round++) {
      const ids = [0, 1].map((k) => round * 2 + k);
      // Small items only: an out-of-line segment a terminated thread made but never committed is
      // swept only once its process has ended.
      const victims = ids.flatMap((r) => [
        fx.thread('victim-producer.mjs', [q, log, r, each, false]),
        fx.thread('victim-consumer.mjs', [q, tally, each, log, r]),
      ]);
      await until(() => {
        const dead = victims.find((v) => v.exitCode !== null);
        if (dead) throw dead.error ?? new Error(`a victim exited early with ${dead.exitCode}`);
        return ids.every((r) => Atomics.load(l, 1000 + r) === 1 && Atomics.load(l, 2000 + r) === 1);
      });
      await Promise.all(
        victims.map(async (v) => {
          await sleep(Math.random() * 40);
          v.terminate();
          await v.join({ timeout: 20_000 }).catch(() => undefined);
          expect(v.exitCode).not.toBeNull();
        }),
      );
      fx.runners.splice(0);
    }
    let byVictims = 0;
    for (let k = 0; k < rounds * each; k++) byVictims += seen[k]!;
    expect(byVictims).toBeGreaterThan(0);
    // Whatever is left is drained here: the queue still works after 40 terminations.
    auditKillLoop(q, seen, l, rounds, each);
    expect(shmNames(`${q.name}-o`)).toEqual([]);
    await q.put([999, 0]);
    expect(await q.get({ timeout: 5_000 })).toEqual([999, 0]);
  }, 120_000);
});
