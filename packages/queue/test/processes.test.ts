import { readFileSync, statSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { IpcError } from '@ipc/core';
import { JoinableQueue, Queue } from '@ipc/queue';
import { Fixtures, failure, shmNames, until } from './helpers.js';

/** Checks item `k` of big-producer.mjs: `size` bytes, page j holding (j + k) & 255, the last byte k. */
function expectBigItem(item: Uint8Array, k: number, size: number): void {
  expect(item.byteLength).toBe(size);
  let bad = 0;
  for (let j = 0; j < item.length; j += 4096) if (item[j] !== ((j / 4096 + k) & 255)) bad++;
  expect(bad).toBe(0);
  expect(item[item.length - 1]).toBe(k);
}

const fx = new Fixtures();
afterEach(() => fx.dispose());

describe('Queue across processes and threads', () => {
  it('delivers 100,000 items from 4 producer processes to 4 consumer processes exactly once, in order per producer', async () => {
    const producers = 4;
    const each = 25_000;
    const q = fx.queue(new Queue<[number, number]>({ maxsize: 10_000 }));
    const tally = fx.segment((producers * each + 1) * 4);
    const ps = Array.from({ length: producers }, (_, p) => fx.process('producer.mjs', [q, p, each]));
    const cs = Array.from({ length: 4 }, () => fx.process('consumer.mjs', [q, tally, each]));
    await Promise.all(ps.map((p) => p.join({ timeout: 60_000 })));
    await q.close();
    await Promise.all(cs.map((c) => c.join({ timeout: 60_000 })));
    const seen = new Int32Array(tally.buffer);
    expect(seen[producers * each]).toBe(producers * each); // the consumers' counts agree
    let wrong = 0;
    for (let k = 0; k < producers * each; k++) if (seen[k] !== 1) wrong++;
    expect(wrong).toBe(0);
    expect(q.size()).toBe(0);
  }, 90_000);

  it('delivers 60,000 items from 3 putMany producer processes to 3 getMany consumers exactly once, in order per producer', async () => {
    const producers = 3;
    const each = 20_000;
    // A small maxsize and ring: putMany waits for room part way through its chunks, again and again.
    const q = fx.queue(new Queue<[number, number]>({ maxsize: 500, capacityBytes: 16 * 1024 }));
    const tally = fx.segment((producers * each + 1) * 4);
    const ps = Array.from({ length: producers }, (_, p) => fx.process('batch-producer.mjs', [q, p, each]));
    const cs = Array.from({ length: 3 }, () => fx.process('batch-consumer.mjs', [q, tally, each]));
    await Promise.all(ps.map((p) => p.join({ timeout: 60_000 })));
    expect(ps.map((p) => p.exitCode)).toEqual([0, 0, 0]);
    await q.close();
    await Promise.all(cs.map((c) => c.join({ timeout: 60_000 })));
    expect(cs.map((c) => c.exitCode)).toEqual([0, 0, 0]);
    const seen = new Int32Array(tally.buffer);
    expect(seen[producers * each]).toBe(producers * each);
    let wrong = 0;
    for (let k = 0; k < producers * each; k++) if (seen[k] !== 1) wrong++;
    expect(wrong).toBe(0);
    expect(q.size()).toBe(0);
  }, 90_000);

  it('wakes a getMany blocked in another process with the items put, or with ERR_IPC_CLOSED on close', async () => {
    const q = fx.queue(new Queue<number>());
    const taker = fx.process('get-many.mjs', [q, 10, 20_000, '[1,2,3]']);
    await until(() => taker.alive);
    await new Promise((r) => setTimeout(r, 300));
    await q.putMany([1, 2, 3]);
    expect(await taker.join({ timeout: 20_000 })).toBe(0);
    const waiter = fx.process('get-many.mjs', [q, 10, 20_000, '[]']);
    await until(() => waiter.alive);
    await new Promise((r) => setTimeout(r, 300));
    await q.close();
    expect(await waiter.join({ timeout: 20_000 })).toBe(3);
  });

  it('serves worker threads and processes on one queue at once', async () => {
    const each = 2_000;
    const q = fx.queue(new Queue<[number, number]>({ capacityBytes: 64 * 1024 }));
    const tally = fx.segment((4 * each + 1) * 4);
    const producers = [fx.thread('producer.mjs', [q, 0, each]), fx.process('producer.mjs', [q, 1, each]), fx.thread('producer.mjs', [q, 2, each]), fx.process('producer.mjs', [q, 3, each])];
    const consumers = [fx.thread('consumer.mjs', [q, tally, each]), fx.process('consumer.mjs', [q, tally, each])];
    await Promise.all(producers.map((p) => p.join({ timeout: 60_000 })));
    await q.close();
    await Promise.all(consumers.map((c) => c.join({ timeout: 60_000 })));
    const seen = new Int32Array(tally.buffer);
    expect(seen[4 * each]).toBe(4 * each);
    expect(seen.subarray(0, 4 * each).every((v) => v === 1)).toBe(true);
  }, 60_000);

  it('carries 1 MiB and 32 MiB items out of line intact, leaving no segment behind', async () => {
    const q = fx.queue(new Queue<Uint8Array>({ codec: 'bytes' }));
    const sizes = [1 << 20, 32 << 20, 1 << 20, 100_000];
    const child = fx.process('big-producer.mjs', [q, sizes]);
    const failed = failure(child);
    for (let k = 0; k < sizes.length; k++) {
      const item = await Promise.race([q.get({ timeout: 30_000 }), failed]);
      expectBigItem(item, k, sizes[k]!);
    }
    expect(await child.join({ timeout: 30_000 })).toBe(0);
    expect(shmNames(`${q.name}-o`)).toEqual([]);
  }, 60_000);

  it('copies items into the caller\'s buffer with getBytes({ into }), in line and out of line', async () => {
    const q = fx.queue(new Queue<Uint8Array>({ codec: 'bytes' }));
    const sizes = [1 << 20, 3 << 20, 100_000, 1 << 20];
    const buf = Buffer.alloc(4 << 20);
    const child = fx.process('big-producer.mjs', [q, sizes]);
    const failed = failure(child);
    for (let k = 0; k < sizes.length; k++) {
      const item = await Promise.race([q.getBytes({ timeout: 30_000, into: buf }), failed]);
      expect(item.buffer).toBe(buf.buffer);
      expect(item.byteOffset).toBe(0);
      expectBigItem(item, k, sizes[k]!);
    }
    expect(await child.join({ timeout: 30_000 })).toBe(0);
    expect(shmNames(`${q.name}-o`)).toEqual([]);
  }, 60_000);

  it('leaves an item longer than options.into first in the queue with ERR_IPC_TOO_LARGE, in line and out of line', async () => {
    const q = fx.queue(new Queue<Uint8Array>({ codec: 'bytes' }));
    const sizes = [1 << 20, 3 << 20];
    // Both wait before anything is put: the first one's buffer is too small, so the item is the second one's.
    const small = q.getBytes({ timeout: 30_000, into: new Uint8Array(1000) });
    const big = q.getBytes({ timeout: 30_000, into: new Uint8Array(2 << 20) });
    const child = fx.process('big-producer.mjs', [q, sizes]);
    const failed = failure(child);
    const refused = await Promise.race([small.then(() => undefined, (err: unknown) => err), failed]);
    expect(IpcError.is(refused, 'ERR_IPC_TOO_LARGE')).toBe(true);
    expect((refused as IpcError).details).toEqual({ length: 1 << 20, capacity: 1000 });
    const first = await Promise.race([big, failed]);
    expect(first.byteLength).toBe(1 << 20);
    expect(first[first.length - 1]).toBe(0);
    // The out-of-line item: refused, still queued with its segment, then taken whole.
    const err = await Promise.race([q.getBytes({ timeout: 30_000, into: new Uint8Array(2 << 20) }).then(() => undefined, (e: unknown) => e), failed]);
    expect(IpcError.is(err, 'ERR_IPC_TOO_LARGE')).toBe(true);
    expect((err as IpcError).details).toEqual({ length: 3 << 20, capacity: 2 << 20 });
    expect(q.size()).toBe(1);
    expect(shmNames(`${q.name}-o`)).toHaveLength(1);
    const second = await q.getBytes({ timeout: 0 });
    expect(second.byteLength).toBe(3 << 20);
    let bad = 0;
    for (let j = 0; j < second.length; j += 4096) if (second[j] !== ((j / 4096 + 1) & 255)) bad++;
    expect(bad).toBe(0);
    expect(await child.join({ timeout: 30_000 })).toBe(0);
    expect(shmNames(`${q.name}-o`)).toEqual([]);
  }, 60_000);

  it('reuses out-of-line segments: 40 items through a 1 MiB ring arrive intact from at most 4 segments, none left behind', async () => {
    const q = fx.queue(new Queue<Uint8Array>({ codec: 'bytes', capacityBytes: 1 << 20, maxsize: 2 }));
    const size = 600_000;
    const child = fx.process('pool-producer.mjs', [q, 40, size]);
    const failed = failure(child);
    const seen = new Set<string>();
    for (let k = 0; k < 40; k++) {
      const item = await Promise.race([q.get({ timeout: 30_000 }), failed]);
      for (const n of shmNames(`${q.name}-o`)) seen.add(n);
      expect(item.byteLength).toBe(size);
      let bad = 0;
      for (let j = 0; j < size; j += 997) if (item[j] !== ((j + k) & 255)) bad++;
      expect(bad).toBe(0);
      expect(item[size - 1]).toBe(k);
    }
    expect(seen.size).toBeGreaterThan(0);
    expect(seen.size).toBeLessThanOrEqual(8); // 4 unless a stall let one idle past the trim
    expect(await child.join({ timeout: 30_000 })).toBe(0);
    expect(shmNames(`${q.name}-o`)).toEqual([]);
  }, 60_000);

  it('makes a producer ahead of its consumer wait for a reusable segment rather than write one-shot files', async () => {
    const q = fx.queue(new Queue<Uint8Array>({ codec: 'bytes', capacityBytes: 1 << 20 }));
    const size = 600_000;
    const child = fx.process('pool-producer.mjs', [q, 20, size]);
    const failed = failure(child);
    // The producer fills its 4 segments and waits for one to come free: for as long as their items
    // are queued (past the second after which a segment whose item was taken is let go).
    await until(() => shmNames(`${q.name}-o`).length >= 4);
    await new Promise((r) => setTimeout(r, 1500));
    expect(shmNames(`${q.name}-o`)).toHaveLength(4);
    const sizes = new Set<number>();
    const names = new Set<string>();
    const look = () => {
      for (const n of shmNames(`${q.name}-o`)) {
        names.add(n);
        try {
          sizes.add(statSync(`/dev/shm/${n}`).size);
        } catch {
          // unlinked meanwhile
        }
      }
    };
    look();
    expect(q.size()).toBe(4);
    for (let k = 0; k < 20; k++) {
      const item = await Promise.race([q.get({ timeout: 30_000 }), failed]);
      look();
      expect(item.byteLength).toBe(size);
      expect(item[size - 1]).toBe(k);
      let bad = 0;
      for (let j = 0; j < size; j += 997) if (item[j] !== ((j + k) & 255)) bad++;
      expect(bad).toBe(0);
    }
    expect(await child.join({ timeout: 30_000 })).toBe(0);
    // Reusable segments only (pages, a state word and @ipc/shm's trailer), never a one-shot file
    // exactly as long as an item.
    expect(sizes.size).toBe(1);
    expect([...sizes][0]).toBeGreaterThan(size);
    expect(names.size).toBe(4);
    expect(shmNames(`${q.name}-o`)).toEqual([]);
  }, 60_000);

  it('delivers the queued item of a SIGKILLed producer from its reusable segment; sweep() removes the free ones', async () => {
    const q = fx.queue(new Queue<Uint8Array>({ codec: 'bytes', capacityBytes: 1 << 20 }));
    const flag = fx.segment(4);
    const size = 600_000;
    const child = fx.process('pool-producer.mjs', [q, 3, size, flag]);
    await until(() => Atomics.load(new Int32Array(flag.buffer), 0) === 1);
    expect((await q.get({ timeout: 5_000 }))[size - 1]).toBe(0);
    expect((await q.get({ timeout: 5_000 }))[size - 1]).toBe(1);
    expect(shmNames(`${q.name}-o`)).toHaveLength(3);
    child.kill();
    await child.join({ timeout: 20_000 }).catch(() => undefined);
    expect(q.sweep()).toBe(2);
    expect(shmNames(`${q.name}-o`)).toHaveLength(1);
    const last = await q.get({ timeout: 5_000 });
    let bad = 0;
    for (let j = 0; j < size; j += 997) if (last[j] !== ((j + 2) & 255)) bad++;
    expect(bad).toBe(0);
    expect(last[size - 1]).toBe(2);
    expect(shmNames(`${q.name}-o`)).toEqual([]);
  }, 60_000);

  it('moves one-shot out-of-line items with write(2) and read(2): no process keeps them mapped after the unlink', async () => {
    // Items over the pool's bytes (4 rings) go in one-shot segments.
    const q = fx.queue(new Queue<Uint8Array>({ codec: 'bytes', capacityBytes: 64 * 1024 }));
    const flag = fx.segment(4);
    const size = 300_000;
    const child = fx.process('pool-producer.mjs', [q, 20, size, flag]);
    const failed = failure(child);
    const into = new Uint8Array(size);
    for (let k = 0; k < 20; k++) {
      const item = k % 2 ? await Promise.race([q.get({ timeout: 30_000 }), failed]) : await Promise.race([q.getBytes({ timeout: 30_000, into }), failed]);
      expect(item.byteLength).toBe(size);
      let bad = 0;
      for (let j = 0; j < size; j += 997) if (item[j] !== ((j + k) & 255)) bad++;
      expect(bad).toBe(0);
      expect(item[size - 1]).toBe(k);
    }
    await until(() => Atomics.load(new Int32Array(flag.buffer), 0) === 1);
    const mapped = (pid: number | string) => readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n').filter((l) => l.includes(`/dev/shm/${q.name}-o`));
    expect(mapped('self')).toEqual([]);
    expect(mapped(child.pid!)).toEqual([]);
    expect(shmNames(`${q.name}-o`)).toEqual([]);
  }, 60_000);

  it('lets a producer exit with items still queued: nothing hangs and the items stay', async () => {
    const q = fx.queue(new Queue<[number, number]>());
    const child = fx.process('producer.mjs', [q, 7, 500]);
    expect(await child.join({ timeout: 20_000 })).toBe(0);
    expect(q.size()).toBe(500);
    for (let i = 0; i < 500; i++) expect(q.tryGet()).toEqual({ ok: true, value: [7, i] });
  });

  it('wakes a get blocked in another process with ERR_IPC_CLOSED when the queue is closed', async () => {
    const q = fx.queue(new Queue());
    const child = fx.process('get-one.mjs', [q, 20_000]);
    await until(() => child.alive);
    await new Promise((r) => setTimeout(r, 300));
    await q.close();
    expect(await child.join({ timeout: 20_000 })).toBe(3);
  });

  it('wakes a get blocked in another process when an item is put', async () => {
    const q = fx.queue(new Queue());
    const child = fx.process('get-one.mjs', [q, 20_000]);
    await new Promise((r) => setTimeout(r, 300));
    await q.put('hello');
    expect(await child.join({ timeout: 20_000 })).toBe(0);
  });

  it('wakes a put blocked on a full queue in another process with ERR_IPC_CLOSED when closed', async () => {
    const q = fx.queue(new Queue({ maxsize: 3 }));
    const child = fx.process('put-blocked.mjs', [q]);
    await until(() => q.full());
    await q.close();
    expect(await child.join({ timeout: 20_000 })).toBe(3);
    expect(q.size()).toBe(3);
  });

  it.each([
    ['get', 32, 'at rest'],
    ['put', 16, 'at rest'],
    ['put', 16, 'torn'],
  ])('recovers the %s lock from a process that died holding it; the next holder is told (journal %s)', async (_which, word, how) => {
    const q = fx.queue(new Queue({ maxsize: 10 }));
    await q.put('before');
    const child = fx.process('hold-lock.mjs', [q, word, how]);
    await child.join({ timeout: 20_000 }).catch(() => undefined);
    expect(child.exitCode).toBe(-9);
    await q.put('after', { timeout: 5_000 });
    expect(await q.get({ timeout: 5_000 })).toBe('before');
    expect(await q.get({ timeout: 5_000 })).toBe('after');
    expect(q.stats()).toMatchObject({ ownerDied: 1, size: 0, usedBytes: 0 });
  });

  it('sweeps the out-of-line segment of a producer killed while its put waited', async () => {
    const q = fx.queue(new Queue({ capacityBytes: 4096 }));
    const flag = fx.segment(4);
    const child = fx.process('stuck-big-put.mjs', [q, flag]);
    await until(() => Atomics.load(new Int32Array(flag.buffer), 0) === 1);
    expect(shmNames(`${q.name}-o`)).toHaveLength(1);
    child.kill();
    await child.join({ timeout: 20_000 }).catch(() => undefined);
    expect(q.sweep()).toBe(1);
    expect(shmNames(`${q.name}-o`)).toEqual([]);
    expect(q.tryGet()).toEqual({ ok: true, value: 'filler' });
  });

  it('lets a JoinableQueue producer join until consumers in other processes mark every task done', async () => {
    const q = fx.queue(new JoinableQueue<[number, number]>());
    const tally = fx.segment((100 + 1) * 4);
    for (let i = 0; i < 100; i++) await q.put([0, i]);
    await expect(q.join({ timeout: 50 })).rejects.toSatisfy((e) => IpcError.is(e, 'ERR_IPC_TIMEOUT'));
    const child = fx.process('consumer.mjs', [q, tally, 100]);
    await q.join({ timeout: 20_000 });
    expect(q.unfinished()).toBe(0);
    await q.close();
    expect(await child.join({ timeout: 20_000 })).toBe(0);
    expect(new Int32Array(tally.buffer)[100]).toBe(100);
  });
});
