import { createHook } from 'node:async_hooks';
import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { IpcError } from './errors.js';
import { StreamConnection, directReads } from './stream.js';
import type { StreamConnectionOptions } from './stream.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** A connected pair; with `direct`, the second (the client) is made with directReads. */
async function socketPair(direct = false): Promise<[net.Socket, net.Socket]> {
  const dir = mkdtempSync(join(tmpdir(), 'ipc-stream-test-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(join(dir, 's'), resolve));
  const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
  const client = direct ? directReads((onread) => net.connect({ path: join(dir, 's'), onread })) : net.connect(join(dir, 's'));
  await new Promise((resolve) => client.once('connect', resolve));
  const a = await accepted;
  server.close();
  cleanups.push(() => {
    a.destroy();
    client.destroy();
  });
  return [a, client];
}

async function pair(options: StreamConnectionOptions = {}, direct = false) {
  const [sa, sb] = await socketPair(direct);
  const a = new StreamConnection(sa, options);
  const b = new StreamConnection(sb, options);
  cleanups.push(async () => {
    await a.close();
    await b.close();
  });
  return { a, b, sa, sb };
}

/** Counts the setImmediate callbacks scheduled from now until stop(): a spinning receive schedules one a loop turn. */
function countImmediates(): { readonly count: number; stop(): void } {
  let count = 0;
  const hook = createHook({
    init(_id, type) {
      if (type === 'Immediate') count++;
    },
  }).enable();
  cleanups.push(() => void hook.disable());
  return {
    get count() {
      return count;
    },
    stop: () => void hook.disable(),
  };
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return IpcError.is(err) ? err.code : String(err);
  }
  return 'resolved';
}

describe('StreamConnection', () => {
  it('batches many sends of one tick into few writes and delivers them in order', async () => {
    const { a, b, sa } = await pair();
    const writes: number[] = [];
    const origWrite = sa.write.bind(sa);
    sa.write = ((chunk: Uint8Array, ...rest: unknown[]) => {
      writes.push(chunk.byteLength);
      return (origWrite as (...args: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof sa.write;
    const n = 1000;
    await Promise.all(Array.from({ length: n }, (_, i) => a.send(i)));
    for (let i = 0; i < n; i++) expect(await b.recv()).toBe(i);
    expect(writes.length).toBeLessThan(10);
  });

  it('makes send wait while the reader is slow, keeping the writer memory bounded', async () => {
    const { a, b, sa } = await pair({ writeHighWaterMark: 64 * 1024, highWaterMark: 64 * 1024 });
    const chunk = new Uint8Array(8 * 1024);
    let sent = 0;
    let timedOut = false;
    for (let i = 0; i < 10_000; i++) {
      try {
        await a.sendBytes(chunk, { timeout: 200 });
        sent++;
      } catch (err) {
        expect(IpcError.is(err, 'ERR_IPC_TIMEOUT')).toBe(true);
        timedOut = true;
        break;
      }
      expect(sa.writableLength).toBeLessThanOrEqual(64 * 1024 + chunk.byteLength + 4);
    }
    expect(timedOut).toBe(true);
    expect(sent).toBeLessThan(10_000);
    // Once the reader reads, everything that was sent arrives.
    for (let i = 0; i < sent; i++) expect((await b.recvBytes({ timeout: 5000 })).byteLength).toBe(chunk.byteLength);
    await a.sendBytes(chunk, { timeout: 5000 });
    expect((await b.recvBytes({ timeout: 5000 })).byteLength).toBe(chunk.byteLength);
  });

  it('rejects pending and later calls with ERR_IPC_CLOSED when the peer stops mid-frame', async () => {
    const [sa, sb] = await socketPair();
    const b = new StreamConnection(sb);
    cleanups.push(() => b.close());
    const pending = b.recv();
    const header = Buffer.alloc(4);
    header.writeUInt32BE(100);
    sa.write(Buffer.concat([header, Buffer.alloc(10)]));
    sa.destroy();
    expect(await code(pending)).toBe('ERR_IPC_CLOSED');
    expect(await code(b.recv())).toBe('ERR_IPC_CLOSED');
    expect(await code(b.send('x'))).toBe('ERR_IPC_CLOSED');
  });

  it('ends with ERR_IPC_TOO_LARGE on a header claiming more than maxMessageBytes, without allocating it', async () => {
    const [sa, sb] = await socketPair();
    const b = new StreamConnection(sb, { maxMessageBytes: 1024 });
    cleanups.push(() => b.close());
    const pending = b.recv();
    const header = Buffer.alloc(4);
    header.writeUInt32BE(0xfffffff0);
    sa.write(header);
    expect(await code(pending)).toBe('ERR_IPC_TOO_LARGE');
    await new Promise((resolve) => sa.once('close', resolve));
  });

  it('refuses to send a message over maxMessageBytes with ERR_IPC_TOO_LARGE', async () => {
    const { a, b } = await pair({ maxMessageBytes: 100 });
    expect(await code(a.sendBytes(new Uint8Array(101)))).toBe('ERR_IPC_TOO_LARGE');
    await a.sendBytes(new Uint8Array(100));
    expect((await b.recvBytes()).byteLength).toBe(100);
  });

  it.each([false, true])('pauses the socket while the inbox is over its high-water mark and resumes when read (direct reads: %s)', async (direct) => {
    const { a, b, sb } = await pair({ highWaterMark: 32 * 1024 }, direct);
    const big = new Uint8Array(4 * 1024);
    for (let i = 0; i < 20; i++) await a.sendBytes(big, { timeout: 5000 });
    await b.poll(5000);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(sb.isPaused()).toBe(true);
    for (let i = 0; i < 20; i++) expect((await b.recvBytes({ timeout: 5000 })).byteLength).toBe(big.byteLength);
    expect(sb.isPaused()).toBe(false);
  });

  it('carries 1 MiB messages without copying them into the batch', async () => {
    const { a, b } = await pair();
    const big = new Uint8Array(1024 * 1024).map((_, i) => i & 0xff);
    await Promise.all([a.sendBytes(big), a.sendBytes(new Uint8Array([1, 2, 3])), a.sendBytes(big)]);
    expect(Buffer.compare(await b.recvBytes(), big)).toBe(0);
    expect([...(await b.recvBytes())]).toEqual([1, 2, 3]);
    expect(Buffer.compare(await b.recvBytes(), big)).toBe(0);
  });

  it('writes the first small message of a tick at once and batches the rest of the tick behind it', async () => {
    const { a, b, sa } = await pair({ codec: 'bytes' });
    const writes: number[] = [];
    const origWrite = sa.write.bind(sa);
    sa.write = ((chunk: Uint8Array, ...rest: unknown[]) => {
      writes.push(chunk.byteLength);
      return (origWrite as (...args: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof sa.write;
    const sent = [a.sendBytes(new Uint8Array(10)), a.sendBytes(new Uint8Array(20)), a.sendBytes(new Uint8Array(30))];
    expect(writes).toEqual([14]);
    await Promise.all(sent);
    await new Promise((resolve) => setImmediate(resolve));
    expect(writes).toEqual([14, 24 + 34]);
    for (const n of [10, 20, 30]) expect((await b.recvBytes()).byteLength).toBe(n);
    // A later tick on the idle socket again goes out at once.
    void a.sendBytes(new Uint8Array(5));
    expect(writes).toEqual([14, 58, 9]);
    expect((await b.recvBytes()).byteLength).toBe(5);
  });

  it('keeps small and large messages in order when they mix within a tick and across ticks', async () => {
    const { a, b } = await pair({ codec: 'bytes' });
    const big = (tag: number) => new Uint8Array(64 * 1024).fill(tag);
    const small = (tag: number) => new Uint8Array([tag, tag, tag]);
    const sends = [small(1), big(2), small(3), small(4), big(5), small(6)];
    await Promise.all(sends.map((m) => a.sendBytes(m)));
    await a.sendBytes(small(7));
    await a.sendBytes(big(8));
    await a.sendBytes(new Uint8Array(0));
    for (const m of [...sends, small(7), big(8), new Uint8Array(0)]) {
      const got = await b.recvBytes({ timeout: 5000 });
      expect(got.byteLength).toBe(m.byteLength);
      expect(got[0]).toBe(m[0]);
    }
  });

  it('puts a custom encodeHeader in front of small and large payloads', async () => {
    const lengths: number[] = [];
    const encodeHeader = (length: number) => {
      lengths.push(length);
      const h = Buffer.alloc(4);
      h.writeUInt32BE(length, 0);
      return h;
    };
    const [sa, sb] = await socketPair();
    const a = new StreamConnection(sa, { codec: 'bytes', encodeHeader });
    const b = new StreamConnection(sb, { codec: 'bytes' });
    cleanups.push(async () => {
      await a.close();
      await b.close();
    });
    await Promise.all([a.sendBytes(new Uint8Array(3)), a.sendBytes(new Uint8Array(100_000))]);
    expect(lengths).toEqual([3, 100_000]);
    expect((await b.recvBytes()).byteLength).toBe(3);
    expect((await b.recvBytes({ timeout: 5000 })).byteLength).toBe(100_000);
  });

  it('rejects a send waiting on back-pressure with ERR_IPC_CLOSED when closed', async () => {
    const { a } = await pair({ writeHighWaterMark: 1024 });
    const chunk = new Uint8Array(64 * 1024);
    const sends: Promise<void>[] = [];
    for (let i = 0; i < 40; i++) sends.push(a.sendBytes(chunk));
    const results = Promise.allSettled(sends);
    await a.close();
    const settled = await results;
    expect(settled.some((r) => r.status === 'rejected' && IpcError.is(r.reason, 'ERR_IPC_CLOSED'))).toBe(true);
  });
});

describe('StreamConnection direct reads', () => {
  it('holds what a direct-read socket read before a connection attached (it stops reading) and hands it over in order', async () => {
    const [sa, sb] = await socketPair(true);
    const a = new StreamConnection(sa, { codec: 'bytes' });
    cleanups.push(() => a.close());
    for (let i = 0; i < 50; i++) await a.sendBytes(Buffer.alloc(1000, i));
    // sb reads on its own meanwhile (it is flowing) with nobody to take the bytes.
    await new Promise((resolve) => setTimeout(resolve, 30));
    const b = new StreamConnection(sb, { codec: 'bytes' });
    cleanups.push(() => b.close());
    for (let i = 0; i < 50; i++) expect(Buffer.from(await b.recvBytes({ timeout: 5000 })).equals(Buffer.alloc(1000, i)), `message ${i}`).toBe(true);
    await a.sendBytes(Buffer.from('after'));
    expect((await b.recvBytes({ timeout: 5000 })).toString()).toBe('after');
  });

  it('sees the peer close after it closed itself (reads are drained to the FIN), leaving no socket open', async () => {
    const [sa, sb] = await socketPair(true);
    const a = new StreamConnection(sa, { codec: 'bytes' });
    // No destroy after a timeout: only reading to the FIN closes sb in time.
    const b = new StreamConnection(sb, { codec: 'bytes', closeTimeout: 60_000 });
    cleanups.push(() => a.close());
    await a.sendBytes(Buffer.alloc(100_000));
    await b.close();
    const closed = new Promise((resolve) => sb.once('close', resolve));
    await a.close();
    await closed;
    expect(sb.destroyed).toBe(true);
  });
});

describe('StreamConnection spin', () => {
  it('accepts 0..1000 microseconds and refuses anything else with RangeError', () => {
    for (const spin of [-1, 1001, Number.NaN, '10' as unknown as number]) {
      expect(() => new StreamConnection(undefined, { spin }), String(spin)).toThrow(RangeError);
    }
    for (const spin of [0, 1, 64, 1000]) expect(() => new StreamConnection(undefined, { spin })).not.toThrow();
  });

  it('keeps the event loop turning after a send until the reply comes; without spin it parks at once', async () => {
    for (const spin of [1000, 0]) {
      const { a, b } = await pair({ spin, codec: 'bytes' });
      const turns = countImmediates();
      await a.sendBytes(Buffer.from('ask'));
      const reply = a.recvBytes();
      // b answers a few turns later: until then a's receive keeps the loop busy.
      await new Promise((resolve) => setImmediate(resolve));
      const spun = turns.count;
      await b.sendBytes(await b.recvBytes());
      expect((await reply).toString()).toBe('ask');
      // The frame came: no more spinning turns (two of the test's own).
      const atReply = turns.count;
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setImmediate(resolve));
      expect(turns.count - atReply).toBe(2);
      turns.stop();
      if (spin > 0) expect(spun, `spin ${spin}`).toBeGreaterThan(1);
      else expect(spun, `spin ${spin}`).toBe(1); // only the test's own
    }
  });

  it('stops spinning when the window passes without a reply, and takes the reply when it comes', async () => {
    const { a, b } = await pair({ spin: 1000, codec: 'bytes' });
    const turns = countImmediates();
    await a.sendBytes(Buffer.from('ask'));
    const reply = a.recvBytes();
    await new Promise((resolve) => setTimeout(resolve, 20));
    const spun = turns.count;
    expect(spun).toBeGreaterThan(0);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(turns.count).toBe(spun); // 1 ms window: long over
    turns.stop();
    await b.sendBytes(await b.recvBytes());
    expect((await reply).toString()).toBe('ask');
  });

  it('does not spin in a receiver that only receives', async () => {
    const { a, b } = await pair({ spin: 1000, codec: 'bytes' });
    await a.sendBytes(Buffer.from('one'));
    expect((await b.recvBytes()).toString()).toBe('one');
    const turns = countImmediates();
    const got = b.recvBytes();
    await new Promise((resolve) => setTimeout(resolve, 5));
    await a.sendBytes(Buffer.from('two'));
    expect((await got).toString()).toBe('two');
    turns.stop();
    expect(turns.count).toBe(0);
  });

  it('stops spinning when it does not shorten the cycles (a peer that answers after milliseconds)', async () => {
    const { a, b } = await pair({ spin: 1000, codec: 'bytes' });
    const rounds = 64; // one epoch spinning (cut short: its waits pass the window), one parking: parking wins
    const answering = (async () => {
      for (let i = 0; i <= rounds; i++) {
        const q = await b.recvBytes();
        await new Promise((resolve) => setTimeout(resolve, 3));
        await b.sendBytes(q);
      }
    })();
    for (let i = 0; i < rounds; i++) {
      await a.sendBytes(Buffer.from([i]));
      expect([...(await a.recvBytes())]).toEqual([i]);
    }
    const turns = countImmediates();
    await a.sendBytes(Buffer.from('q'));
    expect((await a.recvBytes()).toString()).toBe('q');
    turns.stop();
    expect(turns.count).toBe(0);
    await answering;
  });

  it.each([
    [8 * 1024 * 1024, false],
    [16 * 1024, false],
    [8 * 1024 * 1024, true],
    [16 * 1024, true],
  ])('keeps the order of frames, small and large, with spins under any interleaving (highWaterMark %i, direct reads %s)', async (highWaterMark, direct) => {
    // A small highWaterMark pauses and resumes the socket.
    const { a, b } = await pair({ spin: 64, codec: 'bytes', maxMessageBytes: 1 << 20, highWaterMark }, direct);
    let seed = 12345;
    const random = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    const sizes = Array.from({ length: 400 }, () => {
      const r = random();
      return r < 0.05 ? 64 * 1024 + Math.floor(random() * 150_000) : r < 0.2 ? Math.floor(random() * 8192) : 4 + Math.floor(random() * 60);
    });
    const message = (i: number) => {
      const m = Buffer.alloc(sizes[i]!, i & 0xff);
      m.writeUInt32BE(i, 0);
      return m;
    };
    const sending = (async () => {
      for (let i = 0; i < sizes.length; i++) {
        const sent = a.sendBytes(message(i));
        if (random() < 0.3) await sent;
        if (random() < 0.2) await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    // a drains b's acknowledgements: b sends before most receives, so its receives poll.
    const acks = (async () => {
      while ((await a.recvBytes().catch(() => undefined)) !== undefined);
    })();
    const kept: Uint8Array[] = [];
    for (let i = 0; i < sizes.length; i++) {
      if (random() < 0.7) void b.sendBytes(Buffer.from([1]));
      const frame = await b.recvBytes({ timeout: 10_000 });
      kept.push(frame);
      const got = Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
      expect(got.length, `message ${i}`).toBe(sizes[i]);
      expect(got.equals(message(i)), `message ${i}`).toBe(true);
      if (random() < 0.2) await new Promise((resolve) => setImmediate(resolve));
    }
    // Received messages stay intact while later reads arrive (read buffers are not reused).
    for (const [i, frame] of kept.entries()) {
      expect(Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength).equals(message(i)), `kept message ${i}`).toBe(true);
    }
    await sending;
    await b.close();
    await acks;
  });

  it.each([false, true])('ends with ERR_IPC_CLOSED when the peer closed, after what it sent before (direct reads: %s)', async (direct) => {
    const { a, b } = await pair({ spin: 64, codec: 'bytes' }, direct);
    await b.sendBytes(Buffer.from('x'));
    expect((await a.recvBytes()).toString()).toBe('x');
    await a.sendBytes(Buffer.from('last'));
    await a.close();
    expect((await b.recvBytes()).toString()).toBe('last');
    expect(await code(b.recvBytes())).toBe('ERR_IPC_CLOSED');
  });

  it('ends with ERR_IPC_CLOSED (errno ECONNRESET) when a spinning receive meets the reset of a peer that left bytes unread', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ipc-stream-test-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    // The accepted side never reads: what b sends stays in its kernel queue, so closing it resets b.
    const server = net.createServer({ pauseOnConnect: true });
    await new Promise<void>((resolve) => server.listen(join(dir, 's'), resolve));
    const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
    const client = net.connect(join(dir, 's'));
    await new Promise((resolve) => client.once('connect', resolve));
    const sa = await accepted;
    server.close();
    const b = new StreamConnection(client, { spin: 64 });
    cleanups.push(() => b.close());
    await b.sendBytes(new Uint8Array(100));
    sa.destroy();
    // Same tick: libuv has not seen the reset yet; the spinning loop meets it.
    const err = await b.recvBytes().catch((e: unknown) => e);
    expect(IpcError.is(err, 'ERR_IPC_CLOSED')).toBe(true);
    expect((err as IpcError).errno).toBe('ECONNRESET');
  });
});
