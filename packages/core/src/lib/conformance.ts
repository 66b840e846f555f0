import { afterEach, describe, expect, it } from 'vitest';
import type { Codec } from './codec.js';
import { structuredCodec } from './codec.js';
import type { Connection } from './connection.js';
import { IpcError, type IpcErrorCode } from './errors.js';
import type { Lock, LockGuard } from './lock.js';
import type { Queue } from './queue.js';

/** What a connection factory hands the kit: two connected ends. */
export interface ConnectionPair {
  /** One end. */
  a: Connection<unknown>;
  /** The other end. */
  b: Connection<unknown>;
  /** Releases whatever else the pair holds (child processes, listeners, files). */
  cleanup?: () => Promise<void> | void;
}

/** What the kit should know about the implementation under test. */
export interface ConnectionConformanceOptions {
  /** The bound on one message both ends were created with; enables the oversize tests. */
  maxMessageBytes?: number;
  /** The codec both ends use for send/recv (default structured), so the kit can craft bad bytes. */
  codec?: Codec<unknown>;
  /** Per-test timeout in ms (default 20 s: child processes take time to start on a busy machine). */
  timeout?: number;
}

async function rejectsWith(promise: Promise<unknown>, code: IpcErrorCode): Promise<IpcError> {
  try {
    await promise;
  } catch (err) {
    expect(IpcError.is(err), `expected an IpcError ${code}, got ${String(err)}`).toBe(true);
    expect((err as IpcError).code).toBe(code);
    return err as IpcError;
  }
  throw new Error(`expected a rejection with ${code}, but it resolved`);
}

/**
 * How a promise settles, as a string to compare in a test: the `code` of the IpcError it rejects
 * with, `'Name: message'` for any other rejection, or `'resolved'`.
 * @example expect(await settledCode(conn.recv({ timeout: 10 }))).toBe('ERR_IPC_TIMEOUT');
 */
export async function settledCode(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    if (IpcError.is(err)) return err.code;
    return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  }
  return 'resolved';
}

function truncatedEncoding(codec: Codec<unknown>): Uint8Array {
  const whole = codec.encode({ text: 'x'.repeat(200), list: [1, 2, 3] });
  return whole.subarray(0, Math.floor(whole.byteLength / 2));
}

/**
 * The conformance suite every {@link Connection} implementation runs: ordering, bytes, timeouts,
 * abort, poll, close while a receiver waits, peer close, oversize, bad bytes, iteration, and
 * several concurrent producers and consumers.
 *
 * @param name - names the describe block
 * @param factory - makes a fresh connected pair for each test
 * @example
 * connectionConformance('memory pair', async () => { const [a, b] = memoryPair(); return { a, b } });
 */
export function connectionConformance(
  name: string,
  factory: () => Promise<ConnectionPair>,
  options: ConnectionConformanceOptions = {},
): void {
  const codec = options.codec ?? structuredCodec;
  const timeout = options.timeout ?? 20_000;
  describe(`Connection conformance: ${name}`, { timeout }, () => {
    let pair: ConnectionPair | undefined;
    const open = async () => {
      pair = await factory();
      return pair;
    };
    afterEach(async () => {
      const p = pair;
      pair = undefined;
      if (!p) return;
      await Promise.allSettled([p.a.close(), p.b.close()]);
      await p.cleanup?.();
    });

    it('delivers values whole and in order, both ways', async () => {
      const { a, b } = await open();
      const sent = Array.from({ length: 200 }, (_, i) => ({ i, text: `message ${i}`, list: [i, i + 1] }));
      await Promise.all(sent.map((v) => a.send(v)));
      for (const v of sent) expect(await b.recv()).toEqual(v);
      await b.send('reply');
      expect(await a.recv()).toBe('reply');
    });

    it('carries raw bytes with sendBytes/recvBytes, including an empty message', async () => {
      const { a, b } = await open();
      const bytes = Uint8Array.from({ length: 1000 }, (_, i) => i % 251);
      await a.sendBytes(bytes);
      await a.sendBytes(new Uint8Array(0));
      expect(Buffer.from(await b.recvBytes())).toEqual(Buffer.from(bytes));
      expect((await b.recvBytes()).byteLength).toBe(0);
    });

    it('carries a 1 MiB message intact', async () => {
      const { a, b } = await open();
      const big = new Uint8Array(1024 * 1024);
      for (let i = 0; i < big.length; i += 4096) big[i] = (i / 4096) % 256;
      const sending = a.sendBytes(big);
      const got = await b.recvBytes();
      await sending;
      expect(got.byteLength).toBe(big.byteLength);
      expect(Buffer.compare(Buffer.from(got), Buffer.from(big))).toBe(0);
    });

    it('rejects recv with ERR_IPC_TIMEOUT when nothing arrives, and loses nothing sent later', async () => {
      const { a, b } = await open();
      await rejectsWith(b.recv({ timeout: 50 }), 'ERR_IPC_TIMEOUT');
      await a.send('late');
      expect(await b.recv({ timeout: 10_000 })).toBe('late');
    });

    it('rejects recv with ERR_IPC_ABORTED, keeping the reason as cause', async () => {
      const { a, b } = await open();
      const ac = new AbortController();
      const pending = b.recv({ signal: ac.signal });
      const reason = new Error('stop');
      ac.abort(reason);
      const err = await rejectsWith(pending, 'ERR_IPC_ABORTED');
      expect(err.cause).toBe(reason);
      await rejectsWith(b.recv({ signal: AbortSignal.abort() }), 'ERR_IPC_ABORTED');
      await a.send('still works');
      expect(await b.recv()).toBe('still works');
    });

    it('answers poll: false when empty, true when a message waits', async () => {
      const { a, b } = await open();
      expect(await b.poll(0)).toBe(false);
      expect(await b.poll(30)).toBe(false);
      const polled = b.poll(10_000);
      await a.send(1);
      expect(await polled).toBe(true);
      expect(await b.poll()).toBe(true);
      expect(await b.recv()).toBe(1);
    });

    it('rejects a waiting recv with ERR_IPC_CLOSED when its own end closes', async () => {
      const { b } = await open();
      const pending = b.recv();
      pending.catch(() => {}); // handled below; close() may take a moment
      await b.close();
      await rejectsWith(pending, 'ERR_IPC_CLOSED');
      await rejectsWith(b.recv(), 'ERR_IPC_CLOSED');
      await rejectsWith(b.send('x'), 'ERR_IPC_CLOSED');
      await b.close(); // idempotent
      expect(b.closed).toBe(true);
    });

    it('delivers what was sent before the peer closed, then rejects with ERR_IPC_CLOSED', async () => {
      const { a, b } = await open();
      await a.send('one');
      await a.send('two');
      await a.close();
      expect(await b.recv({ timeout: 10_000 })).toBe('one');
      expect(await b.recv({ timeout: 10_000 })).toBe('two');
      await rejectsWith(b.recv({ timeout: 10_000 }), 'ERR_IPC_CLOSED');
      expect(await b.poll(0)).toBe(true);
    });

    it('wakes a waiting recv with ERR_IPC_CLOSED when the peer closes', async () => {
      const { a, b } = await open();
      const pending = b.recv({ timeout: 10_000 });
      pending.catch(() => {}); // handled below; close() may take a moment
      await a.close();
      await rejectsWith(pending, 'ERR_IPC_CLOSED');
    });

    it('iterates with for await until the peer closes; break does not close', async () => {
      const { a, b } = await open();
      for (let i = 0; i < 5; i++) await a.send(i);
      const seen: unknown[] = [];
      for await (const v of b) {
        seen.push(v);
        if (seen.length === 2) break;
      }
      expect(b.closed).toBe(false);
      await a.close();
      for await (const v of b) seen.push(v);
      expect(seen).toEqual([0, 1, 2, 3, 4]);
    });

    it('keeps a message longer than recvBytes maxLength queued, with ERR_IPC_TOO_LARGE', async () => {
      const { a, b } = await open();
      await a.sendBytes(new Uint8Array(100));
      await b.poll(10_000);
      const err = await rejectsWith(b.recvBytes({ maxLength: 10 }), 'ERR_IPC_TOO_LARGE');
      expect(err.details?.length).toBe(100);
      expect((await b.recvBytes()).byteLength).toBe(100);
    });

    it('rejects undecodable bytes with ERR_IPC_DECODE and goes on', async () => {
      const { a, b } = await open();
      await a.sendBytes(truncatedEncoding(codec));
      await a.send({ ok: true });
      await rejectsWith(b.recv(), 'ERR_IPC_DECODE');
      expect(await b.recv()).toEqual({ ok: true });
    });

    if (options.maxMessageBytes !== undefined) {
      const max = options.maxMessageBytes;
      it('refuses a message over maxMessageBytes with ERR_IPC_TOO_LARGE and stays usable', async () => {
        const { a, b } = await open();
        await rejectsWith(a.sendBytes(new Uint8Array(max + 1)), 'ERR_IPC_TOO_LARGE');
        await a.send('after');
        expect(await b.recv()).toBe('after');
      });
    }

    it('delivers every message exactly once to several concurrent receivers from several senders', async () => {
      const { a, b } = await open();
      const producers = 4;
      const each = 250;
      const sends = Array.from({ length: producers }, async (_, p) => {
        for (let i = 0; i < each; i++) await a.send([p, i]);
      });
      const got: Array<[number, number]> = [];
      const receivers = Array.from({ length: 3 }, async () => {
        while (got.length < producers * each) {
          try {
            got.push((await b.recv({ timeout: 200 })) as [number, number]);
          } catch (err) {
            if (!IpcError.is(err, 'ERR_IPC_TIMEOUT')) throw err;
          }
        }
      });
      await Promise.all([...sends, ...receivers]);
      expect(got.length).toBe(producers * each);
      const lastSeen = new Array<number>(producers).fill(-1);
      for (const [p, i] of got) {
        expect(i).toBe(lastSeen[p]! + 1); // one receiver at a time takes the next message in order
        lastSeen[p] = i;
      }
    });

    it('is disposable with await using', async () => {
      const { a, b } = await open();
      await a[Symbol.asyncDispose]();
      expect(a.closed).toBe(true);
      await rejectsWith(b.recv({ timeout: 10_000 }), 'ERR_IPC_CLOSED');
    });
  });
}

/** What a queue factory hands the kit. */
export interface QueueFixture {
  /** The queue under test. */
  queue: Queue<unknown>;
  /** Opens another handle on the same queue (another attachment, as a second process would). */
  attach?: () => Promise<Queue<unknown>>;
  /** Puts bytes that the queue's codec cannot decode, bypassing the codec. */
  putBadBytes?: (bytes: Uint8Array) => Promise<void> | void;
  /** Releases the queue and anything else. */
  cleanup?: () => Promise<void> | void;
}

/** What the kit should know about the queue under test. */
export interface QueueConformanceOptions {
  /** The queue was made with this maxsize (items): enables the full-queue tests. */
  maxsize?: number;
  /** The queue refuses items whose encoding is over this many bytes: enables the oversize test. */
  maxItemBytes?: number;
  /** The codec the queue uses (default structured), to craft undecodable bytes. */
  codec?: Codec<unknown>;
  /** The fixture provides `putBadBytes`: enables the bad-bytes test. */
  badBytes?: boolean;
  /** Per-test timeout in ms (default 20 s). */
  timeout?: number;
}

/**
 * The conformance suite every {@link Queue} implementation runs: FIFO order, non-blocking calls,
 * timeouts, abort, full and empty, close while getters and putters wait, draining after close,
 * oversize, bad bytes, iteration, several producers and consumers.
 */
export function queueConformance(
  name: string,
  factory: () => Promise<QueueFixture>,
  options: QueueConformanceOptions = {},
): void {
  const codec = options.codec ?? structuredCodec;
  const timeout = options.timeout ?? 20_000;
  describe(`Queue conformance: ${name}`, { timeout }, () => {
    let fixture: QueueFixture | undefined;
    const extra: Queue<unknown>[] = [];
    const open = async () => {
      fixture = await factory();
      return fixture;
    };
    afterEach(async () => {
      const f = fixture;
      fixture = undefined;
      await Promise.allSettled(extra.splice(0).map((q) => q[Symbol.asyncDispose]()));
      if (!f) return;
      await Promise.allSettled([f.queue[Symbol.asyncDispose]()]);
      await f.cleanup?.();
    });

    it('hands items out in FIFO order', async () => {
      const { queue } = await open();
      const n = Math.min(options.maxsize ?? 100, 100);
      for (let i = 0; i < n; i++) await queue.put({ i });
      expect(await queue.size()).toBe(n);
      for (let i = 0; i < n; i++) expect(await queue.get()).toEqual({ i });
      expect(await queue.size()).toBe(0);
    });

    it('answers tryGet with ok: false when empty and tryPut with true when there is room', async () => {
      const { queue } = await open();
      expect(await queue.tryGet()).toEqual({ ok: false });
      expect(await queue.tryPut('x')).toBe(true);
      expect(await queue.tryGet()).toEqual({ ok: true, value: 'x' });
    });

    it('rejects get with ERR_IPC_TIMEOUT on an empty queue and keeps later items', async () => {
      const { queue } = await open();
      await rejectsWith(queue.get({ timeout: 50 }), 'ERR_IPC_TIMEOUT');
      await queue.put('later');
      expect(await queue.get({ timeout: 10_000 })).toBe('later');
    });

    it('rejects get with ERR_IPC_ABORTED, the reason as cause, and loses no item', async () => {
      const { queue } = await open();
      const ac = new AbortController();
      const pending = queue.get({ signal: ac.signal });
      const reason = new Error('enough');
      ac.abort(reason);
      const err = await rejectsWith(pending, 'ERR_IPC_ABORTED');
      expect(err.cause).toBe(reason);
      await rejectsWith(queue.get({ signal: AbortSignal.abort() }), 'ERR_IPC_ABORTED');
      await queue.put(7);
      expect(await queue.get()).toBe(7);
    });

    it('wakes a waiting get when an item is put', async () => {
      const { queue } = await open();
      const pending = queue.get({ timeout: 10_000 });
      await queue.put({ woke: true });
      expect(await pending).toEqual({ woke: true });
    });

    if (options.maxsize !== undefined) {
      const maxsize = options.maxsize;
      it('makes put wait while full: tryPut false, put times out, then proceeds after a get', async () => {
        const { queue } = await open();
        for (let i = 0; i < maxsize; i++) expect(await queue.tryPut(i)).toBe(true);
        expect(await queue.tryPut('over')).toBe(false);
        await rejectsWith(queue.put('over', { timeout: 50 }), 'ERR_IPC_TIMEOUT');
        const pending = queue.put('last', { timeout: 10_000 });
        expect(await queue.get()).toBe(0);
        await pending;
        for (let i = 1; i < maxsize; i++) expect(await queue.get()).toBe(i);
        expect(await queue.get()).toBe('last');
      });

      it('rejects a put waiting on a full queue with ERR_IPC_CLOSED when closed', async () => {
        const { queue } = await open();
        for (let i = 0; i < maxsize; i++) await queue.put(i);
        const pending = queue.put('blocked', { timeout: 10_000 });
        pending.catch(() => {}); // handled below
        await queue.close();
        await rejectsWith(pending, 'ERR_IPC_CLOSED');
      });
    }

    it('rejects waiting getters with ERR_IPC_CLOSED on close, yet lets queued items drain', async () => {
      const { queue } = await open();
      const waiting = queue.get({ timeout: 10_000 });
      waiting.catch(() => {}); // handled below
      await queue.close();
      await rejectsWith(waiting, 'ERR_IPC_CLOSED');
      expect(queue.closed).toBe(true);
      await queue.close(); // idempotent
      await rejectsWith(queue.put('after close'), 'ERR_IPC_CLOSED');
    });

    it('still hands out items that were queued before close, then ERR_IPC_CLOSED', async () => {
      const { queue } = await open();
      await queue.put('a');
      await queue.put('b');
      await queue.close();
      expect(await queue.get()).toBe('a');
      expect(await queue.tryGet()).toEqual({ ok: true, value: 'b' });
      await rejectsWith(queue.get({ timeout: 10_000 }), 'ERR_IPC_CLOSED');
    });

    it('iterates with for await until closed and drained', async () => {
      const { queue } = await open();
      for (let i = 0; i < 3; i++) await queue.put(i);
      await queue.close();
      const seen: unknown[] = [];
      for await (const v of queue) seen.push(v);
      expect(seen).toEqual([0, 1, 2]);
    });

    if (options.maxItemBytes !== undefined) {
      const max = options.maxItemBytes;
      it('refuses an item over its bound with ERR_IPC_TOO_LARGE before writing anything', async () => {
        const { queue } = await open();
        await rejectsWith(queue.put(new Uint8Array(max + 1)), 'ERR_IPC_TOO_LARGE');
        expect(await queue.size()).toBe(0);
        await queue.put('fine');
        expect(await queue.get()).toBe('fine');
      });
    }

    if (options.badBytes) {
      it('rejects undecodable bytes with ERR_IPC_DECODE and goes on', async () => {
        const f = await open();
        if (!f.putBadBytes) throw new Error('options.badBytes is set, so the fixture must provide putBadBytes');
        const whole = codec.encode({ text: 'y'.repeat(200) });
        await f.putBadBytes(whole.subarray(0, Math.floor(whole.byteLength / 2)));
        await f.queue.put('good');
        await rejectsWith(f.queue.get(), 'ERR_IPC_DECODE');
        expect(await f.queue.get()).toBe('good');
      });
    }

    it('delivers every item exactly once, per-producer FIFO, with several producers and consumers', async () => {
      const { queue, attach } = await open();
      const handles: Queue<unknown>[] = [queue];
      if (attach) {
        for (let i = 0; i < 2; i++) {
          const q = await attach();
          extra.push(q);
          handles.push(q);
        }
      }
      const producers = 4;
      const each = 200;
      const total = producers * each;
      const puts = Array.from({ length: producers }, async (_, p) => {
        const q = handles[p % handles.length]!;
        for (let i = 0; i < each; i++) await q.put([p, i], { timeout: 10_000 });
      });
      const got: Array<[number, number]> = [];
      const gets = Array.from({ length: 4 }, async (_, c) => {
        const q = handles[(c + 1) % handles.length]!;
        const mine: Array<[number, number]> = [];
        while (got.length < total) {
          try {
            const item = (await q.get({ timeout: 100 })) as [number, number];
            got.push(item);
            mine.push(item);
          } catch (err) {
            if (!IpcError.is(err, 'ERR_IPC_TIMEOUT')) throw err;
          }
        }
        return mine;
      });
      await Promise.all(puts);
      const perConsumer = await Promise.all(gets);
      expect(got.length).toBe(total);
      expect(new Set(got.map(([p, i]) => `${p}:${i}`)).size).toBe(total);
      for (const mine of perConsumer) {
        const last = new Array<number>(producers).fill(-1);
        for (const [p, i] of mine) {
          expect(i).toBeGreaterThan(last[p]!); // each consumer sees each producer's items in order
          last[p] = i;
        }
      }
    });
  });
}

/** Another owner (a process, a thread, a second client) holding the lock under test. */
export interface LockHolder {
  /** Makes the other owner release; resolves once it has. */
  release(): Promise<void>;
  /**
   * Kills the other owner while it holds the lock (a SIGKILLed process, say). Give it when the
   * implementation recovers a dead holder's lock: the kit then expects the next acquire to get it
   * with `ownerDied: true`.
   */
  kill?(): Promise<void>;
}

/** What a lock factory hands the kit. */
export interface LockFixture {
  /** The lock under test, free. */
  lock: Lock;
  /**
   * Makes another owner take the same lock and hold it; resolves once it holds it. For a lock that
   * is not reentrant, acquiring `lock` itself is another owner.
   */
  holdElsewhere(): Promise<LockHolder>;
  /** Releases whatever else the fixture holds (children, segments, connections). */
  cleanup?: () => Promise<void> | void;
}

/** What the kit should know about the lock under test. */
export interface LockConformanceOptions {
  /** The same owner may acquire again while it holds the lock (RLock). Default false. */
  reentrant?: boolean;
  /**
   * The implementation recovers a lock whose holder died: `holdElsewhere()` returns holders with
   * `kill()`, and the kit checks the next acquire gets it with `ownerDied: true`. Default false.
   */
  recovers?: boolean;
  /** Per-test timeout in ms (default 20 s: child processes take time to start on a busy machine). */
  timeout?: number;
}

/** 'pending' when `promise` has not settled within `ms`, else how it settled (see settledCode). */
async function within(promise: Promise<unknown>, ms: number): Promise<string> {
  const marker = Symbol('pending');
  let timer: ReturnType<typeof setTimeout> | undefined;
  const r = await Promise.race([
    settledCode(promise),
    new Promise<symbol>((resolve) => (timer = setTimeout(() => resolve(marker), ms))),
  ]);
  clearTimeout(timer);
  return r === marker ? 'pending' : (r as string);
}

/**
 * The Lock conformance suite: exclusion, try/timeout/abort, FIFO hand-over to waiters, idempotent
 * guards, close while waiting, and (when the fixture can kill a holder) recovery with `ownerDied`.
 * Call it inside a vitest test file.
 */
export function lockConformance(name: string, factory: () => Promise<LockFixture>, options: LockConformanceOptions = {}): void {
  const reentrant = options.reentrant ?? false;
  const timeout = options.timeout ?? 20_000;
  describe(`Lock conformance: ${name}`, { timeout }, () => {
    let fixture: LockFixture | undefined;
    const guards: LockGuard[] = [];
    const holders: LockHolder[] = [];
    const open = async () => {
      fixture = await factory();
      return fixture;
    };
    const elsewhere = async () => {
      const h = await fixture!.holdElsewhere();
      holders.push(h);
      return h;
    };
    const keep = (g: LockGuard | null) => {
      expect(g, 'expected a guard').not.toBeNull();
      guards.push(g!);
      return g!;
    };
    afterEach(async () => {
      const f = fixture;
      fixture = undefined;
      for (const g of guards.splice(0)) {
        try {
          g.release();
        } catch {
          // closed by the test
        }
      }
      await Promise.allSettled(holders.splice(0).map((h) => h.release()));
      if (!f) return;
      await Promise.allSettled([f.lock[Symbol.asyncDispose]()]);
      await f.cleanup?.();
    });

    it('gives a guard on a free lock; the guard releases once and says so', async () => {
      const { lock } = await open();
      const g = keep(lock.tryAcquire());
      expect(g.ownerDied).toBe(false);
      expect(g.released).toBe(false);
      g.release();
      expect(g.released).toBe(true);
      g.release(); // idempotent
      const h = keep(await lock.acquire({ timeout: 5000 }));
      expect(h.ownerDied).toBe(false);
      h[Symbol.dispose]();
      expect(h.released).toBe(true);
      const k = keep(await lock.acquire({ timeout: 5000 }));
      await k[Symbol.asyncDispose]();
      expect(k.released).toBe(true);
      // Free again: another owner can take it.
      await (await elsewhere()).release();
    });

    if (reentrant) {
      it('lets its holder acquire again, and frees only after as many releases', async () => {
        const { lock } = await open();
        const a = keep(lock.tryAcquire());
        const b = keep(await lock.acquire({ timeout: 1000 }));
        a.release();
        const other = fixture!.holdElsewhere();
        other.catch(() => {});
        expect(await within(other, 100)).toBe('pending');
        b.release();
        holders.push(await other);
      });
    } else {
      it('refuses its own holder a second time: tryAcquire is null, acquire waits', async () => {
        const { lock } = await open();
        const g = keep(lock.tryAcquire());
        expect(lock.tryAcquire()).toBeNull();
        await rejectsWith(lock.acquire({ timeout: 0 }), 'ERR_IPC_TIMEOUT');
        const next = lock.acquire({ timeout: 10_000 });
        expect(await within(next, 50)).toBe('pending');
        g.release();
        keep(await next).release();
      });

      it('serves waiters one at a time, first in first out', async () => {
        const { lock } = await open();
        const first = keep(lock.tryAcquire());
        const order: number[] = [];
        let inside = 0;
        let overlap = false;
        const tasks = Array.from({ length: 8 }, async (_, i) => {
          const g = keep(await lock.acquire({ timeout: 10_000 }));
          if (++inside > 1) overlap = true;
          order.push(i);
          await new Promise((r) => setImmediate(r));
          inside--;
          g.release();
        });
        await new Promise((r) => setImmediate(r));
        first.release();
        await Promise.all(tasks);
        expect(overlap).toBe(false);
        expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
      });
    }

    it('refuses while another owner holds it, and hands over when it releases', async () => {
      const { lock } = await open();
      const holder = await elsewhere();
      expect(lock.tryAcquire()).toBeNull();
      await rejectsWith(lock.acquire({ timeout: 0 }), 'ERR_IPC_TIMEOUT');
      await rejectsWith(lock.acquire({ timeout: 50 }), 'ERR_IPC_TIMEOUT');
      const waiting = lock.acquire({ timeout: 10_000 });
      expect(await within(waiting, 50)).toBe('pending');
      await holder.release();
      const g = keep(await waiting);
      expect(g.ownerDied).toBe(false);
    });

    it('rejects with ERR_IPC_ABORTED (the reason as cause) and does not take the lock later', async () => {
      const { lock } = await open();
      await rejectsWith(lock.acquire({ signal: AbortSignal.abort() }), 'ERR_IPC_ABORTED');
      const holder = await elsewhere();
      const ac = new AbortController();
      const pending = lock.acquire({ signal: ac.signal });
      const reason = new Error('enough');
      ac.abort(reason);
      const err = await rejectsWith(pending, 'ERR_IPC_ABORTED');
      expect(err.cause).toBe(reason);
      await rejectsWith(lock.acquire({ timeout: 20 }), 'ERR_IPC_TIMEOUT');
      await holder.release();
      // Neither the aborted nor the timed-out waiter holds it now.
      const g = keep(lock.tryAcquire() ?? (await lock.acquire({ timeout: 5000 })));
      g.release();
      await (await elsewhere()).release();
    });

    it('rejects pending and later acquires with ERR_IPC_CLOSED once closed', async () => {
      const { lock } = await open();
      const holder = await elsewhere();
      const pending = lock.acquire({ timeout: 10_000 });
      expect(await within(pending, 20)).toBe('pending');
      await lock.close();
      await rejectsWith(pending, 'ERR_IPC_CLOSED');
      await rejectsWith(lock.acquire(), 'ERR_IPC_CLOSED');
      expect(() => lock.tryAcquire()).toThrow(expect.objectContaining({ code: 'ERR_IPC_CLOSED' }));
      await lock.close(); // idempotent
      await holder.release();
    });

    it('rejects bad wait options with a TypeError or RangeError', async () => {
      const { lock } = await open();
      await expect(lock.acquire({ timeout: -1 })).rejects.toThrow();
      await expect(lock.acquire({ timeout: Number.NaN })).rejects.toThrow();
      await expect(lock.acquire({ signal: {} as AbortSignal })).rejects.toThrow();
      keep(lock.tryAcquire()).release(); // still free
    });

    if (!options.recovers) return;
    it('recovers the lock from a holder that died holding it, and says ownerDied once', async () => {
      const { lock } = await open();
      const holder = await elsewhere();
      expect(holder.kill, 'recovers: true needs holdElsewhere() to return a holder with kill()').toBeTypeOf('function');
      const waiting = lock.acquire({ timeout: 15_000 });
      await holder.kill!();
      const g = keep(await waiting);
      expect(g.ownerDied).toBe(true);
      g.release();
      const next = keep(await lock.acquire({ timeout: 5000 }));
      expect(next.ownerDied).toBe(false);
    });
  });
}
