import { existsSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { SharedMemory, notify, wait } from '../src/index.js';
import { SLOTS_BYTE_OFFSET, SLOT_COUNT, SLOT_WORDS, W_HWM } from '../src/lib/layout.js';
import { child, fixture, killChildren, segmentsCreatedBy } from './helpers.js';

const made: SharedMemory[] = [];
function segment(size: number): SharedMemory {
  const shm = SharedMemory.create({ size });
  made.push(shm);
  return shm;
}
afterEach(async () => {
  await killChildren();
  for (const s of made.splice(0)) s.unlink();
});
afterAll(() => {
  expect(segmentsCreatedBy([process.pid])).toEqual([]);
});

describe('across processes', () => {
  it('Atomics.add is exact across N processes x M increments', async () => {
    const shm = segment(16);
    const v = new Int32Array(shm.buffer);
    const N = 4;
    const M = 50_000;
    const kids = Array.from({ length: N }, () => child('adder.mjs', [shm.name, String(M)]));
    while (Atomics.load(v, 2) < N) await new Promise((r) => setTimeout(r, 5));
    Atomics.store(v, 1, 1);
    notify(v, 1);
    const results = await Promise.all(kids.map((k) => k.done));
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    expect(Atomics.load(v, 0)).toBe(N * M);
  });

  it('wait/notify ping-pong between two processes, async and sync children', async () => {
    for (const mode of ['async', 'sync']) {
      const shm = segment(8);
      const v = new Int32Array(shm.buffer);
      await using kid = child('pingpong.mjs', [shm.name, '200', mode]);
      expect(await kid.line()).toBe('ready');
      for (let i = 0; i < 200; i++) {
        Atomics.store(v, 0, 2 * i + 1);
        notify(v, 0);
        while (Atomics.load(v, 0) !== 2 * i + 2) await wait(v, 0, 2 * i + 1, { timeout: 10_000 });
      }
      expect((await kid.done).code).toBe(0);
    }
  });

  it('a notify from another process wakes an async waiter here', async () => {
    const shm = segment(8);
    const v = new Int32Array(shm.buffer);
    const p = wait(v, 1, 0, { timeout: 10_000 });
    const kid = child('notifier.mjs', [shm.name, '1', '5']);
    await expect(p).resolves.toBe('ok');
    const r = await kid.done;
    expect(r.stdout.trim()).toBe('1');
  });

  it('1,000 pending waits block neither fs.promises.readFile nor worker.terminate()', async () => {
    const shm = segment(4096);
    const v = new Int32Array(shm.buffer);
    const ac = new AbortController();
    const waits = Array.from({ length: 1000 }, (_, i) => wait(v, i % 1000, 0, { signal: ac.signal }).catch((e: unknown) => e));
    const text = await readFile(fixture('adder.mjs'), 'utf8');
    expect(text).toContain('Atomics.add');
    const worker = new Worker('setInterval(() => {}, 1000)', { eval: true });
    await new Promise((r) => worker.once('online', r));
    await worker.terminate();
    // and a notify from another process still finds the right one
    const kid = child('notifier.mjs', [shm.name, '7', '1']);
    await expect(waits[7]).resolves.toBe('ok');
    expect((await kid.done).code).toBe(0);
    ac.abort();
    const rest = await Promise.all(waits);
    expect(rest.filter((r) => r === 'ok')).toHaveLength(1);
  });
});

describe('worker threads', () => {
  it('a buffer posted to a worker shares Atomics, and wait/notify work both ways', async () => {
    for (const mode of ['sync', 'async']) {
      const shm = segment(8);
      const v = new Int32Array(shm.buffer);
      const worker = new Worker(fixture('worker-waiter.mjs'), { workerData: { buffer: shm.buffer, mode } });
      try {
        const msgs: unknown[] = [];
        const got = new Promise<void>((resolve) =>
          worker.on('message', (m) => {
            msgs.push(m);
            if (msgs.length === 2) resolve();
          }),
        );
        await new Promise((r) => worker.once('message', r));
        const done = wait(v, 1, 0, { timeout: 10_000 });
        // the sync waiter may not be parked yet: notify until it answers
        while (Atomics.load(v, 1) === 0) {
          Atomics.store(v, 0, 1);
          notify(v, 0);
          await new Promise((r) => setTimeout(r, 2));
        }
        expect(await done).not.toBe('timed-out');
        await got;
        expect(['ok', 'not-equal']).toContain(msgs[1]);
        expect(Atomics.load(v, 1)).toBe(99);
      } finally {
        await worker.terminate();
      }
    }
  });

  it('a worker waiting on a posted buffer whose segment was already unlinked still wakes (by polling)', async () => {
    const shm = SharedMemory.create({ size: 8 });
    const v = new Int32Array(shm.buffer);
    shm.unlink();
    const worker = new Worker(fixture('worker-waiter.mjs'), { workerData: { buffer: shm.buffer, mode: 'async' } });
    try {
      const msgs: unknown[] = [];
      const got = new Promise<void>((resolve) =>
        worker.on('message', (m) => {
          msgs.push(m);
          if (msgs.length === 2) resolve();
        }),
      );
      while (msgs.length === 0) await new Promise((r) => setTimeout(r, 2));
      Atomics.store(v, 0, 1);
      notify(v, 0);
      await got;
      expect(['ok', 'not-equal']).toContain(msgs[1]);
      expect(Atomics.load(v, 1)).toBe(99);
    } finally {
      await worker.terminate();
    }
  });

  it('a worker\'s segments are unlinked when it is terminated', async () => {
    const worker = new Worker(fixture('worker-creator.mjs'));
    const name = await new Promise<string>((resolve) => worker.once('message', resolve));
    expect(existsSync(`/dev/shm/${name}`)).toBe(true);
    await worker.terminate();
    expect(existsSync(`/dev/shm/${name}`)).toBe(false);
  });

  it('reclaims registration slots of dead doorbells when a segment runs out of them', async () => {
    const shm = segment(8);
    const v = new Int32Array(shm.buffer);
    const t = shm._trailer!;
    const dead = child('notifier.mjs', [shm.name, '1', '0']);
    const deadPid = dead.proc.pid!;
    await dead.done;
    // every slot taken by a doorbell that no longer exists
    for (let i = 0; i < SLOT_COUNT; i++) {
      const w = (SLOTS_BYTE_OFFSET >> 2) + i * SLOT_WORDS;
      t.set([2, deadPid, 3, 12345, 1, -1, -1, 0], w);
    }
    Atomics.store(t, W_HWM, SLOT_COUNT);
    const p = wait(v, 0, 0, { timeout: 10_000 });
    // a notify that does not change the word: only a registered waiter (not a poller) sees it
    const kid = child('notifier.mjs', [shm.name, '0', '0']);
    await expect(p).resolves.toBe('ok');
    await kid.done;
  });

  it('a wake-up is not lost when the waiter\'s doorbell pipe is full', async () => {
    const shm = segment(16);
    const v = new Int32Array(shm.buffer);
    await using kid = child('busy-waiter.mjs', [shm.name]);
    expect(await kid.line()).toBe('ready');
    // 64 KiB pipe / 12-byte rings: 6,000 rings fill it while the child does not read
    for (let i = 0; i < 6000; i++) notify(v, 2);
    Atomics.store(v, 1, 1);
    expect(await kid.line()).toBe('second');
    notify(v, 0);
    Atomics.store(v, 1, 2);
    expect(await kid.line()).toBe('ok ok');
  });

  it('terminating workers with pending waits leaves no file descriptors behind', async () => {
    const shm = segment(8);
    const fds = () => readdirSync('/proc/self/fd').length;
    const once = async () => {
      const worker = new Worker(fixture('worker-pending.mjs'), { workerData: shm.name });
      await new Promise((r) => worker.once('message', r));
      await worker.terminate();
    };
    await once();
    const before = fds();
    for (let i = 0; i < 10; i++) await once();
    // each worker had a doorbell pipe (two descriptors): none of them may survive it
    expect(fds() - before).toBeLessThan(5);
  });
});
