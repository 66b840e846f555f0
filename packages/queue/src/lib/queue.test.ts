import { readdirSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { IpcError, jsonCodec, toHandle, type Codec } from '@ipc/core';
import { SharedMemory } from '@ipc/shm';
import { JoinableQueue, MAX_GET_MANY, Queue, SimpleQueue } from '../index.js';
import { HEADER_BYTES, H_NOT_FULL, H_PUT_ARMED } from './layout.js';

const made: Array<Queue<unknown>> = [];
function track<Q extends { [Symbol.asyncDispose](): Promise<void> }>(q: Q): Q {
  made.push(q as unknown as Queue<unknown>);
  return q;
}
afterEach(async () => {
  for (const q of made.splice(0).reverse()) await q[Symbol.asyncDispose]();
});

const outOfLine = (q: Queue<unknown>) => readdirSync('/dev/shm').filter((n) => n.startsWith(`${q.name}-o`));

async function code(p: Promise<unknown> | (() => unknown)): Promise<string | undefined> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (err) {
    if (IpcError.is(err)) return err.code;
    throw err;
  }
  return undefined;
}

describe('Queue options', () => {
  it.each([
    [{ maxsize: -1 }, RangeError, /maxsize must be >= 0/],
    [{ maxsize: 1.5 }, TypeError, /maxsize must be an integer/],
    [{ capacityBytes: 100 }, RangeError, /capacityBytes must be >= 4096/],
    [{ capacityBytes: 2 ** 31 }, RangeError, /capacityBytes must be <= 1073741824/],
    [{ maxItemBytes: 0 }, RangeError, /maxItemBytes must be >= 1/],
    [{ codec: 'nope' }, TypeError, /codec must be one of/],
    [{ name: 'bad/name' }, RangeError, /name may only contain/],
    [{ name: 'x'.repeat(161) }, RangeError, /name must be 1 to 160 characters/],
    [{ unlinkOnExit: 'yes' }, TypeError, /unlinkOnExit must be a boolean/],
  ])('rejects %o with a %s naming the option and its limit', (options, type, message) => {
    expect(() => new Queue(options as never)).toThrow(type);
    expect(() => new Queue(options as never)).toThrow(message);
  });

  it('rounds capacityBytes up to a power of two and reports it', () => {
    const q = track(new Queue({ capacityBytes: 5000 }));
    expect(q.capacityBytes).toBe(8192);
    expect(q.maxItemBytes).toBe(64 * 1024 * 1024);
  });

  it('refuses maxsize on a SimpleQueue', () => {
    expect(() => new SimpleQueue({ maxsize: 3 } as never)).toThrow(TypeError);
  });

  it('rejects bad wait options before doing anything', async () => {
    const q = track(new Queue());
    await expect(q.get({ timeout: -1 })).rejects.toThrow(RangeError);
    await expect(q.put(1, { signal: 'no' as never })).rejects.toThrow(TypeError);
    expect(q.size()).toBe(0);
  });
});

describe('Queue by name', () => {
  it('opens by name as the class it was created as, sharing items', async () => {
    const q = track(new JoinableQueue<number>({ maxsize: 4, name: `ipcq_test_${process.pid}_a` }));
    const other = track(Queue.open<number>(q.name));
    expect(other).toBeInstanceOf(JoinableQueue);
    expect(other.maxsize).toBe(4);
    await other.put(5);
    expect(await q.get()).toBe(5);
  });

  it('says ERR_IPC_EXISTS for a taken name and ERR_IPC_NOT_FOUND for a missing one', async () => {
    const q = track(new Queue({ name: `ipcq_test_${process.pid}_b` }));
    expect(await code(() => new Queue({ name: q.name }))).toBe('ERR_IPC_EXISTS');
    expect(await code(() => Queue.open(`ipcq_test_${process.pid}_missing`))).toBe('ERR_IPC_NOT_FOUND');
  });

  it('refuses to open a segment that is not a queue', () => {
    const seg = SharedMemory.create({ size: 64 * 1024 });
    try {
      expect(() => Queue.open(seg.name)).toThrow(/is not a queue/);
    } finally {
      seg.unlink();
    }
  });

  it('refuses a queue made by another version of the package, naming both layout versions', () => {
    // A layout-3 queue (HEAD on a line of its own) has the same header size as a layout-4 one: only
    // the version word tells them apart.
    const seg = SharedMemory.create({ size: 36_864 + 4096 });
    try {
      const h = new Int32Array(seg.buffer);
      h[1] = 3;
      h[2] = 36_864;
      Atomics.store(h, 0, 0x31455551);
      expect(() => Queue.open(seg.name)).toThrow(/made by another version of @ipc\/queue \(layout version 3, this one reads 4\)/);
    } finally {
      seg.unlink();
    }
  });

  it('needs the custom codec again to open, and cannot travel as a handle with one', async () => {
    const upper: Codec<string> = { name: 'upper', encode: (s) => new TextEncoder().encode(s.toUpperCase()), decode: (b) => new TextDecoder().decode(b) };
    const q = track(new Queue<string>({ codec: upper }));
    expect(() => Queue.open(q.name)).toThrow(/custom codec/);
    const other = track(Queue.open<string>(q.name, { codec: upper }));
    await q.put('shout');
    expect(await other.get()).toBe('SHOUT');
    expect(() => q[toHandle]({ target: 'process', inheritFd: (fd) => fd })).toThrow(expect.objectContaining({ code: 'ERR_IPC_HANDLE' }));
  });

  it('carries a built-in codec by name in its handle', async () => {
    const q = track(new Queue({ codec: 'json' }));
    expect(q[toHandle]({ target: 'thread', inheritFd: (fd) => fd })).toMatchObject({ kind: '@ipc/queue.Queue', name: q.name, codec: 'json' });
    expect(track(Queue.open(q.name)).codec).toBe(jsonCodec);
  });
});

describe('Queue items', () => {
  // A consumer remembers where it left HEAD and the TAIL it last read, and takes the lock without a
  // look while those say an item is there: another consumer may have taken it meanwhile.
  it('gives a consumer whose last look is stale nothing, then the next item, when another consumer drained the queue', async () => {
    const q = track(new Queue<number>());
    const b = track(Queue.open<number>(q.name));
    const c = track(Queue.open<number>(q.name));
    await q.putMany([1, 2, 3, 4]);
    expect(b.tryGet()).toEqual({ ok: true, value: 1 });
    expect(await c.getMany(10)).toEqual([2, 3, 4]);
    expect(b.tryGet()).toEqual({ ok: false });
    expect(b.tryGet()).toEqual({ ok: false });
    await expect(b.get({ timeout: 0 })).rejects.toMatchObject({ code: 'ERR_IPC_TIMEOUT' });
    q.tryPut(5);
    expect(await b.get({ timeout: 1000 })).toBe(5);
    expect(c.tryGet()).toEqual({ ok: false });
    q.tryPut(6);
    expect(c.tryGet()).toEqual({ ok: true, value: 6 });
    expect(q.size()).toBe(0);
  });

  it('keeps FIFO order through many wrap-arounds of a small ring with items of every size', async () => {
    const q = track(new Queue<Uint8Array>({ capacityBytes: 4096, codec: 'bytes' }));
    let next = 0;
    let expected = 0;
    for (let round = 0; round < 300; round++) {
      while (q.tryPut(new Uint8Array(((next * 37) % 1500) + 1).fill(next & 255))) next++;
      const n = 1 + (round % 5);
      for (let k = 0; k < n && expected < next; k++) {
        const item = await q.get();
        expect(item.length).toBe(((expected * 37) % 1500) + 1);
        expect(item[0]).toBe(expected & 255);
        expected++;
      }
    }
    while (expected < next) expect((await q.get())[0]).toBe(expected++ & 255);
  });

  // Producers share what they last read of HEAD and GET_COUNT, consumers what they last read of
  // TAIL (header words under each end's lock): a handle must never act on a view that another
  // handle's commit or take has left behind.
  it.each([
    ['no maxsize', 0],
    ['maxsize 7', 7],
  ])('keeps FIFO order, every item once, with two producer and two consumer handles taking turns round a small ring (%s)', async (_, maxsize) => {
    const q = track(new Queue<number>({ capacityBytes: 4096, maxsize }));
    const producers = [q, track(Queue.open<number>(q.name))];
    const consumers = [track(Queue.open<number>(q.name)), track(Queue.open<number>(q.name))];
    let seed = 12345;
    const rand = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) % n;
    const got: number[] = [];
    let next = 0;
    for (let round = 0; round < 3000; round++) {
      const p = producers[rand(2)]!;
      const burst = 1 + rand(12);
      if (rand(3) === 0) {
        const items = Array.from({ length: burst }, (_, i) => next + i);
        // putMany waits for room, and nobody takes meanwhile: only what fits now (a record of a
        // small int takes 16 bytes of the ring).
        const fit = Math.floor((q.capacityBytes - q.stats().usedBytes) / 16);
        const room = Math.min(burst, fit, maxsize === 0 ? burst : maxsize - q.size());
        if (room > 0) {
          await p.putMany(items.slice(0, room), { timeout: 1000 });
          next += room;
        }
      } else for (let i = 0; i < burst && p.tryPut(next); i++) next++;
      if (maxsize > 0) expect(q.size()).toBeLessThanOrEqual(maxsize);
      const c = consumers[rand(2)]!;
      const take = rand(4);
      if (take === 0) got.push(...(await c.getMany(1 + rand(8))).filter(() => true));
      else if (take === 1 && !q.empty()) got.push(await c.get({ timeout: 1000 }));
      else {
        for (let i = 1 + rand(6); i > 0; i--) {
          const r = c.tryGet();
          if (!r.ok) break;
          got.push(r.value);
        }
      }
    }
    for (;;) {
      const r = consumers[got.length & 1]!.tryGet();
      if (!r.ok) break;
      got.push(r.value);
    }
    // Thousands of items: the 4 KiB ring went round many times, and both views wrapped with it.
    expect(next).toBeGreaterThan(5000);
    expect(got).toEqual(Array.from({ length: next }, (_, i) => i));
  });

  it('sends an item over half the ring out of line, and one at half inline; the producer reuses the segment', async () => {
    const q = track(new Queue<Uint8Array>({ capacityBytes: 8192, codec: 'bytes' }));
    const producer = track(Queue.open<Uint8Array>(q.name));
    await producer.put(new Uint8Array(4096 - 8));
    expect(outOfLine(q)).toEqual([]);
    await producer.put(new Uint8Array(4096 - 7));
    const names = outOfLine(q);
    expect(names).toHaveLength(1);
    expect((await q.get()).length).toBe(4088);
    expect((await q.get()).length).toBe(4089);
    // Copied out, so free for the producer's next large item; unlinked when the producer lets go.
    await producer.put(new Uint8Array(4090).fill(7));
    expect(outOfLine(q)).toEqual(names);
    expect(await q.get()).toEqual(new Uint8Array(4090).fill(7));
    await producer[Symbol.asyncDispose]();
    expect(outOfLine(q)).toEqual([]);
  });

  it('unlinks a reusable out-of-line segment left unused for a second', async () => {
    const q = track(new Queue<Uint8Array>({ capacityBytes: 8192, codec: 'bytes' }));
    await q.put(new Uint8Array(5000));
    await q.get();
    expect(outOfLine(q)).toHaveLength(1);
    const end = performance.now() + 10_000;
    while (outOfLine(q).length > 0 && performance.now() < end) await new Promise((r) => setTimeout(r, 50));
    expect(outOfLine(q)).toEqual([]);
  });

  it('refuses an item over maxItemBytes with ERR_IPC_TOO_LARGE before creating anything', async () => {
    const q = track(new Queue({ capacityBytes: 4096, maxItemBytes: 10_000, codec: 'bytes' }));
    expect(await code(q.put(new Uint8Array(10_001)))).toBe('ERR_IPC_TOO_LARGE');
    expect(await code(() => q.tryPut(new Uint8Array(10_001)))).toBe('ERR_IPC_TOO_LARGE');
    expect(outOfLine(q)).toEqual([]);
    expect(q.size()).toBe(0);
  });

  it('refuses what the codec cannot encode with ERR_IPC_ENCODE', async () => {
    const q = track(new Queue());
    expect(await code(q.put(() => 1))).toBe('ERR_IPC_ENCODE');
    expect(await code(q.put(Symbol('s')))).toBe('ERR_IPC_ENCODE');
    expect(q.size()).toBe(0);
  });

  it('carries structured-clone values: Map, Set, Date, BigInt, typed arrays, shared references', async () => {
    const q = track(new Queue());
    const shared = { s: 1 };
    const value = { m: new Map([[1, new Set(['a'])]]), d: new Date(5), b: 10n ** 20n, t: new Float64Array([1.5]), a: shared, c: shared };
    await q.put(value);
    const back = (await q.get()) as typeof value;
    expect(back).toEqual(value);
    expect(back.a).toBe(back.c);
  });

  it('passes bytes through putBytes and getBytes untouched', async () => {
    const q = track(new Queue());
    await q.put({ x: 1 });
    const bytes = await q.getBytes();
    await q.putBytes(bytes);
    expect(await q.get()).toEqual({ x: 1 });
  });

  it('checks options.into, and fills it from the start', async () => {
    const q = track(new Queue({ codec: 'bytes' }));
    await expect(q.getBytes({ into: [1, 2] as never })).rejects.toThrow(TypeError);
    await expect(q.getBytes({ into: new Uint16Array(4) as never })).rejects.toThrow(/options.into must be a Uint8Array/);
    await q.putBytes(new Uint8Array([1, 2, 3]));
    await q.putBytes(new Uint8Array(0));
    const into = new Uint8Array(8).fill(9);
    expect(Array.from(await q.getBytes({ into }))).toEqual([1, 2, 3]);
    expect(Array.from(into)).toEqual([1, 2, 3, 9, 9, 9, 9, 9]);
    expect((await q.getBytes({ into: new Uint8Array(0), timeout: 0 })).byteLength).toBe(0);
    expect(q.size()).toBe(0);
  });

  it('does not see a put that timed out or was aborted, and drops its out-of-line segment', async () => {
    const q = track(new Queue<unknown>({ capacityBytes: 4096, maxsize: 1 }));
    await q.put('first');
    expect(await code(q.put(new Uint8Array(3000), { timeout: 20 }))).toBe('ERR_IPC_TIMEOUT');
    const ac = new AbortController();
    const pending = q.put(new Uint8Array(3000), { signal: ac.signal });
    ac.abort();
    expect(await code(pending)).toBe('ERR_IPC_ABORTED');
    expect(await code(q.put('x', { timeout: 0 }))).toBe('ERR_IPC_TIMEOUT');
    expect(outOfLine(q)).toEqual([]);
    expect(q.size()).toBe(1);
    expect(await q.get()).toBe('first');
    expect(await code(q.get({ timeout: 0 }))).toBe('ERR_IPC_TIMEOUT');
  });

  it('wakes a producer waiting for room once a quarter of the ring is free, or when the consumer goes idle', async () => {
    const q = track(new Queue<string>({ capacityBytes: 4096, codec: 'json' }));
    const producer = track(Queue.open<string>(q.name));
    const shm = SharedMemory.open(q.name);
    try {
      const h = new Int32Array(shm.buffer, 0, HEADER_BYTES / 4);
      const item = 'x'.repeat(100); // 102 bytes of JSON: 112-byte records, 36 fill the ring
      let put = 0;
      while (producer.tryPut(item)) put++;
      expect(put).toBe(36);
      const waiting = producer.put(item);
      expect(Atomics.load(h, H_PUT_ARMED)).toBe(1);
      const seq = Atomics.load(h, H_NOT_FULL);
      // One take makes room for the item but not for a quarter of the ring: no wake-up yet...
      expect(q.tryGet()).toEqual({ ok: true, value: item });
      expect(Atomics.load(h, H_NOT_FULL)).toBe(seq);
      // ...until this thread is back in its event loop: the consumer went idle, the producer is woken.
      await new Promise((resolve) => setImmediate(resolve));
      expect(Atomics.load(h, H_NOT_FULL)).toBe(seq + 1);
      await waiting;
      put++;
      // Full again: the take that leaves a quarter of the ring free wakes the producer at once.
      while (producer.tryPut(item)) put++;
      const waiting2 = producer.put(item);
      const seq2 = Atomics.load(h, H_NOT_FULL);
      let got = 1;
      let usedBefore = 0;
      while (Atomics.load(h, H_NOT_FULL) === seq2) {
        usedBefore = q.stats().usedBytes;
        expect(q.tryGet().ok).toBe(true);
        got++;
      }
      expect(usedBefore).toBeGreaterThan(3072);
      expect(q.stats().usedBytes).toBeLessThanOrEqual(3072);
      await waiting2;
      put++;
      while (q.tryGet().ok) got++;
      expect(got).toBe(put);
    } finally {
      shm.close();
    }
  });

  it('answers empty and full, and counts bytes in use', async () => {
    const q = track(new Queue({ maxsize: 2 }));
    expect(q.empty()).toBe(true);
    await q.put(1);
    await q.put(2);
    expect(q.full()).toBe(true);
    expect(q.stats()).toMatchObject({ size: 2, ownerDied: 0 });
    expect(q.stats().usedBytes).toBeGreaterThan(0);
    expect(q.tryPut(3)).toBe(false);
  });

  it('serves several pending gets of one handle from one wake-up, in call order', async () => {
    const q = track(new Queue<number>());
    const gets = [q.get(), q.get(), q.get()];
    const other = track(Queue.open<number>(q.name));
    for (let i = 0; i < 3; i++) other.tryPut(i);
    expect(await Promise.all(gets)).toEqual([0, 1, 2]);
  });

  it('stops iterating at break without closing', async () => {
    const q = track(new Queue<number>());
    for (let i = 0; i < 3; i++) await q.put(i);
    for await (const v of q) if (v === 0) break;
    expect(q.closed).toBe(false);
    expect(await q.get()).toBe(1);
  });
});

describe('Queue batches', () => {
  it('getMany returns every waiting item up to max, in order; putMany puts in order', async () => {
    const q = track(new Queue<unknown>());
    await q.putMany([1, 'two', { three: 3 }, [4], new Map([[5, 5]])]);
    expect(q.size()).toBe(5);
    expect(await q.getMany(2)).toEqual([1, 'two']);
    expect(await q.getMany(MAX_GET_MANY)).toEqual([{ three: 3 }, [4], new Map([[5, 5]])]);
    await q.putMany([]);
    expect(q.size()).toBe(0);
  });

  // Structured records are built in the codec's scratch buffer, others in the batch buffer; a batch
  // is copied to the ring in runs, split where the ring wraps.
  it.each(['structured', 'json', 'msgpack'] as const)('keeps FIFO order through putMany and getMany across many wrap-arounds, items of every size (%s)', async (codec) => {
    const q = track(new Queue<string>({ capacityBytes: 4096, codec }));
    const sizes = [0, 1, 7, 8, 100, 500, 1500, 2100, 3000, 30, 9];
    const items = Array.from({ length: 3000 }, (_, i) => `${i}:`.padEnd(sizes[i % sizes.length]!, 'x'));
    const putting = (async () => {
      for (let i = 0, n = 1; i < items.length; i += n, n = (n % 40) + 1) await q.putMany(items.slice(i, i + n));
    })();
    const got: string[] = [];
    for (let max = 1; got.length < items.length; max = (max % 70) + 1) got.push(...(await q.getMany(max, { timeout: 10_000 })));
    await putting;
    expect(got.length).toBe(items.length);
    expect(got.findIndex((v, i) => v !== items[i])).toBe(-1);
    expect(q.stats()).toMatchObject({ size: 0, usedBytes: 0 });
    expect(outOfLine(q).length).toBeLessThanOrEqual(4);
  });

  it('getMany waits for the first item, then takes what is there', async () => {
    const q = track(new Queue<number>());
    const other = track(Queue.open<number>(q.name));
    const pending = q.getMany(10);
    await new Promise((r) => setTimeout(r, 20));
    for (let i = 0; i < 3; i++) other.tryPut(i);
    expect(await pending).toEqual([0, 1, 2]);
  });

  it('deals waiting gets and getManys of one handle in call order from one wake-up', async () => {
    const q = track(new Queue<number>());
    const other = track(Queue.open<number>(q.name));
    const calls = [q.get(), q.getMany(2), q.get(), q.getMany(5)];
    for (let i = 0; i < 6; i++) other.tryPut(i);
    expect(await Promise.all(calls)).toEqual([0, [1, 2], 3, [4, 5]]);
  });

  it('refuses a bad max before taking anything', async () => {
    const q = track(new Queue<number>());
    await q.put(1);
    await expect(q.getMany(0)).rejects.toThrow(RangeError);
    await expect(q.getMany(-1)).rejects.toThrow(/max must be >= 1/);
    await expect(q.getMany(MAX_GET_MANY + 1)).rejects.toThrow(new RegExp(`max must be <= ${MAX_GET_MANY}`));
    await expect(q.getMany(1.5)).rejects.toThrow(TypeError);
    await expect(q.getMany('3' as never)).rejects.toThrow(/max must be an integer/);
    await expect(q.getMany(undefined as never)).rejects.toThrow(TypeError);
    await expect(q.getMany(1, { timeout: -1 })).rejects.toThrow();
    await expect(q.putMany('abc' as never)).rejects.toThrow(/items must be an array/);
    expect(q.size()).toBe(1);
  });

  it('getMany times out, aborts, and ends with ERR_IPC_CLOSED once closed and drained', async () => {
    const q = track(new Queue<number>());
    expect(await code(q.getMany(4, { timeout: 0 }))).toBe('ERR_IPC_TIMEOUT');
    expect(await code(q.getMany(4, { timeout: 20 }))).toBe('ERR_IPC_TIMEOUT');
    const ac = new AbortController();
    const pending = q.getMany(4, { signal: ac.signal });
    ac.abort();
    expect(await code(pending)).toBe('ERR_IPC_ABORTED');
    expect(await code(q.getMany(4, { signal: ac.signal }))).toBe('ERR_IPC_ABORTED');
    const blocked = q.getMany(4);
    await new Promise((r) => setTimeout(r, 20));
    await q.close();
    expect(await code(blocked)).toBe('ERR_IPC_CLOSED');
    const other = track(Queue.open<number>(q.name));
    expect(await code(other.putMany([1]))).toBe('ERR_IPC_CLOSED');
    expect(await code(q.getMany(4))).toBe('ERR_IPC_CLOSED');
  });

  it('takes the items queued before close, then says ERR_IPC_CLOSED', async () => {
    const q = track(new Queue<number>());
    await q.putMany([1, 2, 3]);
    await q.close();
    expect(await q.getMany(2)).toEqual([1, 2]);
    expect(await q.getMany(2)).toEqual([3]);
    expect(await code(q.getMany(2))).toBe('ERR_IPC_CLOSED');
  });

  it('rejects the getMany of a disposed handle with ERR_IPC_CLOSED', async () => {
    const q = track(new Queue<number>());
    const other = Queue.open<number>(q.name);
    const pending = other.getMany(3);
    await other[Symbol.asyncDispose]();
    expect(await code(pending)).toBe('ERR_IPC_CLOSED');
    expect(await code(other.getMany(3))).toBe('ERR_IPC_CLOSED');
    expect(await code(other.putMany([1]))).toBe('ERR_IPC_CLOSED');
  });

  it('putMany stopped part way says how many items it put: those are queued, none after', async () => {
    const q = track(new Queue<number | Uint8Array>({ maxsize: 3, maxItemBytes: 100 }));
    const partial = async (p: Promise<unknown>) => {
      try {
        await p;
      } catch (err) {
        if (!IpcError.is(err)) throw err;
        return { code: err.code, details: err.details };
      }
      return undefined;
    };
    // timeout: bounds the whole call
    expect(await partial(q.putMany([1, 2, 3, 4, 5], { timeout: 30 }))).toMatchObject({ code: 'ERR_IPC_TIMEOUT', details: { put: 3, total: 5, timeout: 30 } });
    expect(await q.getMany(10)).toEqual([1, 2, 3]);
    // abort while waiting for room
    const ac = new AbortController();
    const aborted = partial(q.putMany([6, 7, 8, 9], { signal: ac.signal }));
    await new Promise((r) => setTimeout(r, 20));
    ac.abort();
    expect(await aborted).toMatchObject({ code: 'ERR_IPC_ABORTED', details: { put: 3, total: 4 } });
    expect(await q.getMany(10)).toEqual([6, 7, 8]);
    // an item too large, in the middle
    expect(await partial(q.putMany([10, new Uint8Array(200), 11]))).toMatchObject({ code: 'ERR_IPC_TOO_LARGE', details: { put: 1, total: 3 } });
    expect(await q.getMany(10)).toEqual([10]);
    // back-pressure without a timeout: it goes on as room is made
    const all = q.putMany([12, 13, 14, 15, 16, 17, 18]);
    const got: unknown[] = [];
    while (got.length < 7) got.push(...(await q.getMany(2)));
    await all;
    expect(got).toEqual([12, 13, 14, 15, 16, 17, 18]);
    // close while it waits
    const closing = partial(q.putMany([19, 20, 21, 22, 23]));
    await new Promise((r) => setTimeout(r, 20));
    await q.close();
    expect(await closing).toMatchObject({ code: 'ERR_IPC_CLOSED', details: { put: 3, total: 5 } });
    expect(await q.getMany(10)).toEqual([19, 20, 21]);
  });

  it('ends a batch before an undecodable item; the next get throws its error, then the rest follow', async () => {
    const q = track(new Queue<number>());
    const garbage = new Uint8Array([1, 2, 3]);
    await q.put(1);
    await q.putBytes(garbage);
    await q.putMany([3, 4]);
    expect(await q.getMany(10)).toEqual([1]);
    expect(q.size()).toBe(0); // the rest were taken, and are held by this handle
    expect(await code(q.get())).toBe('ERR_IPC_DECODE');
    expect(q.tryGet()).toEqual({ ok: true, value: 3 });
    expect(await q.getMany(10)).toEqual([4]);
    // first in its batch: thrown by getMany itself (the item is consumed)
    await q.putBytes(garbage);
    await q.put(5);
    expect(await code(q.getMany(10))).toBe('ERR_IPC_DECODE');
    expect(await q.getMany(10)).toEqual([5]);
    // the same when the getMany was waiting
    const other = track(Queue.open<number>(q.name));
    const many = q.getMany(10);
    const one = q.get();
    const bytes = q.getBytes();
    other.tryPut(6);
    await other.putBytes(garbage);
    other.tryPut(7);
    expect(await many).toEqual([6]);
    expect(await code(one)).toBe('ERR_IPC_DECODE');
    expect(Array.from(await bytes)).toEqual(Array.from(other.codec.encode(7)));
  });

  it('deals plain and other items to waiting getManys and gets alike, an undecodable one ending its batch', async () => {
    const q = track(new Queue<unknown>());
    const other = track(Queue.open<unknown>(q.name));
    const garbage = new Uint8Array([1, 2, 3]);
    // every item plain data
    let calls: Array<Promise<unknown>> = [q.getMany(2), q.get(), q.getMany(3)];
    await other.putMany([{ a: 1 }, { a: 2 }, 'x', [3], null]);
    expect(await Promise.all(calls)).toEqual([[{ a: 1 }, { a: 2 }], 'x', [[3], null]]);
    // a Map (not plain data, decoded by node:v8) among them
    calls = [q.getMany(3), q.get()];
    await other.putMany([1, new Map([[2, 2]]), 3, 4]);
    expect(await Promise.all(calls)).toEqual([[1, new Map([[2, 2]]), 3], 4]);
    // an undecodable item: the batch ends before it, the next get throws its error
    const many = q.getMany(10);
    const one = q.get();
    other.tryPut(6);
    await other.putBytes(garbage);
    await other.putMany([7, 8]);
    expect(await many).toEqual([6]);
    expect(await code(one)).toBe('ERR_IPC_DECODE');
    expect(await q.getMany(10)).toEqual([7, 8]);
  });

  it('counts JoinableQueue tasks item by item through putMany and getMany', async () => {
    const q = track(new JoinableQueue<number>());
    await q.putMany([1, 2, 3]);
    expect(q.unfinished()).toBe(3);
    expect(await q.getMany(3)).toEqual([1, 2, 3]);
    for (let i = 0; i < 3; i++) q.taskDone();
    await q.join({ timeout: 1000 });
    const s = track(new SimpleQueue<number>());
    await s.putMany([1, 2]);
    expect(await s.getMany(5)).toEqual([1, 2]);
  });
});

describe('Queue life cycle', () => {
  it('rejects the pending calls of a disposed handle with ERR_IPC_CLOSED; the queue lives on', async () => {
    const q = track(new Queue<number>({ maxsize: 1 }));
    const other = Queue.open<number>(q.name);
    const get = other.get();
    await other[Symbol.asyncDispose]();
    expect(await code(get)).toBe('ERR_IPC_CLOSED');
    expect(await code(other.put(1))).toBe('ERR_IPC_CLOSED');
    expect(other.closed).toBe(true);
    expect(q.closed).toBe(false);
    await q.put(1);
    const other2 = Queue.open<number>(q.name);
    const put = other2.put(2);
    await other2[Symbol.asyncDispose]();
    expect(await code(put)).toBe('ERR_IPC_CLOSED');
    await other2[Symbol.asyncDispose](); // idempotent
    expect(q.size()).toBe(1);
  });

  it('unlinks the segment when the creating handle is disposed', async () => {
    const q = new Queue();
    const name = q.name;
    await q[Symbol.asyncDispose]();
    expect(readdirSync('/dev/shm')).not.toContain(name);
  });

  it('counts JoinableQueue tasks: ERR_IPC_OVER_RELEASE past zero, join waits, aborts and times out', async () => {
    const q = track(new JoinableQueue<number>());
    expect(await code(() => q.taskDone())).toBe('ERR_IPC_OVER_RELEASE');
    await q.join({ timeout: 0 });
    await q.put(1);
    expect(q.unfinished()).toBe(1);
    expect(await code(q.join({ timeout: 10 }))).toBe('ERR_IPC_TIMEOUT');
    expect(await code(q.join({ signal: AbortSignal.abort() }))).toBe('ERR_IPC_ABORTED');
    const joined = q.join({ timeout: 10_000 });
    await q.get();
    q.taskDone();
    await joined;
    expect(await code(() => q.taskDone())).toBe('ERR_IPC_OVER_RELEASE');
  });

  it('rejects a join of a handle disposed meanwhile with ERR_IPC_CLOSED', async () => {
    const q = track(new JoinableQueue<number>());
    const other = Queue.open<number>(q.name) as JoinableQueue<number>;
    await q.put(1);
    const joined = other.join();
    await other[Symbol.asyncDispose]();
    expect(await code(joined)).toBe('ERR_IPC_CLOSED');
  });
});
