import { existsSync, statSync, writeFileSync } from 'node:fs';
import { createHook } from 'node:async_hooks';
import net from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { IpcError } from '@ipc/core';
import { settledCode } from '@ipc/core/testing';
import { Listener, connect, maxUnixPathBytes } from '../src/index.js';
import type { Client, SocketConnection } from '../src/index.js';
import { tempDir } from './helpers.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

function dir(): string {
  const t = tempDir();
  cleanups.push(t.cleanup);
  return t.dir;
}

async function listener(address: Parameters<typeof Listener.listen>[0], options: Parameters<typeof Listener.listen>[1] = {}) {
  const l = await Listener.listen(address, options);
  cleanups.push(() => l.close());
  return l;
}

function track<C extends { close(): Promise<void> }>(c: C): C {
  cleanups.push(() => c.close());
  return c;
}


describe('authkey', () => {
  it('connects when both sides know the key and rejects a wrong key with ERR_IPC_AUTH on both ends', async () => {
    const l = await listener(join(dir(), 's'), { authkey: 'right' });
    const good = track(await connect(l.address, { authkey: 'right' }));
    const server = track(await l.accept({ timeout: 5000 }));
    await good.send('hi');
    expect(await server.recv()).toBe('hi');
    expect(await settledCode(connect(l.address, { authkey: 'wrong' }))).toBe('ERR_IPC_AUTH');
    await expect.poll(() => l.stats.rejected).toBe(1);
    expect(l.stats.accepted).toBe(1);
  });

  it('rejects a client without a key and a client with a key against a keyless listener', async () => {
    const keyed = await listener(join(dir(), 'k'), { authkey: 'k', handshakeTimeout: 500 });
    const noKey = track(await connect(keyed.address));
    // The keyless client sees the challenge as a message; the listener never hands it out.
    expect(await settledCode(keyed.accept({ timeout: 300 }))).toBe('ERR_IPC_TIMEOUT');
    await noKey.close();
    const keyless = await listener(join(dir(), 'n'), { handshakeTimeout: 500 });
    expect(await settledCode(connect(keyless.address, { authkey: 'k', handshakeTimeout: 300 }))).toBe('ERR_IPC_TIMEOUT');
  });

  it('drops a silent client at the handshake deadline and keeps serving others', async () => {
    const l = await listener(join(dir(), 's'), { authkey: 'k', handshakeTimeout: 200 });
    const silent = net.connect({ path: l.address as string });
    cleanups.push(() => void silent.destroy());
    const closed = new Promise((resolve) => silent.once('close', resolve));
    silent.on('error', () => {});
    silent.resume();
    await closed;
    expect(l.stats.rejected).toBe(1);
    const good = track(await connect(l.address, { authkey: 'k' }));
    track(await l.accept({ timeout: 5000 }));
    expect(good.closed).toBe(false);
  });

  it('refuses the legacy HMAC-MD5 answer on the native wire', async () => {
    const l = await listener(join(dir(), 's'), { authkey: 'k' });
    // Answer the challenge the way Python 3.11 does (raw HMAC-MD5): the native wire says no.
    const { createHmac } = await import('node:crypto');
    const sock = net.connect({ path: l.address as string });
    cleanups.push(() => void sock.destroy());
    const frames: Buffer[] = [];
    let buf = Buffer.alloc(0);
    const next = () => new Promise<Buffer>((resolve) => {
      const tryTake = () => {
        if (buf.length >= 4 && buf.length >= 4 + buf.readInt32BE(0)) {
          const n = buf.readInt32BE(0);
          const f = buf.subarray(4, 4 + n);
          buf = buf.subarray(4 + n);
          sock.off('data', onData);
          resolve(f);
          return true;
        }
        return false;
      };
      const onData = (c: Buffer) => {
        buf = Buffer.concat([buf, c]);
        tryTake();
      };
      if (!tryTake()) sock.on('data', onData);
    });
    const challenge = await next();
    frames.push(challenge);
    const message = challenge.subarray('#CHALLENGE#'.length);
    const mac = createHmac('md5', 'k').update(message).digest();
    const h = Buffer.alloc(4);
    h.writeInt32BE(mac.length);
    sock.write(Buffer.concat([h, mac]));
    expect((await next()).toString()).toBe('#FAILURE#');
  });
});

describe('Unix socket files', () => {
  it('creates the socket file with mode 0600 and removes it on close', async () => {
    const path = join(dir(), 's');
    const l = await Listener.listen(path);
    expect(statSync(path).isSocket()).toBe(true);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    await l.close();
    expect(existsSync(path)).toBe(false);
  });

  it('replaces a stale socket file left by a dead listener', async () => {
    const path = join(dir(), 's');
    // A bound socket whose listener is gone: bind, then close the handle without unlinking.
    const stale = net.createServer();
    await new Promise<void>((resolve) => stale.listen(path, resolve));
    // Duplicate the file entry so closing the server (which unlinks) leaves one behind.
    const { linkSync, unlinkSync } = await import('node:fs');
    linkSync(path, `${path}.keep`);
    await new Promise<void>((resolve) => stale.close(() => resolve()));
    linkSync(`${path}.keep`, path);
    unlinkSync(`${path}.keep`);
    expect(statSync(path).isSocket()).toBe(true);
    const l = await listener(path);
    const c = track(await connect(path));
    const s = track(await l.accept({ timeout: 5000 }));
    await c.send(1);
    expect(await s.recv()).toBe(1);
  });

  it('refuses a path where a listener is live, and a path holding a regular file, with ERR_IPC_EXISTS', async () => {
    const path = join(dir(), 's');
    await listener(path);
    expect(await settledCode(Listener.listen(path))).toBe('ERR_IPC_EXISTS');
    const file = join(dir(), 'file');
    writeFileSync(file, 'keep me');
    expect(await settledCode(Listener.listen(file))).toBe('ERR_IPC_EXISTS');
    expect(existsSync(file)).toBe(true);
  });

  it('refuses a path longer than the OS allows with a RangeError naming the limit', async () => {
    const long = join(dir(), 'x'.repeat(maxUnixPathBytes()));
    expect(await settledCode(Listener.listen(long))).toMatch(/RangeError: .*over the \d+-byte limit/);
    expect(await settledCode(connect(long))).toMatch(/RangeError/);
  });

  it('refuses a TCP port in use with ERR_IPC_EXISTS', async () => {
    const l = await listener({ host: '127.0.0.1', port: 0 });
    expect(await settledCode(Listener.listen(l.address))).toBe('ERR_IPC_EXISTS');
  });
});

describe('limits', () => {
  it('closes a connection whose peer sends an oversize frame with ERR_IPC_TOO_LARGE, and keeps serving', async () => {
    const l = await listener(join(dir(), 's'), { maxFrameBytes: 1024 });
    const big = track(await connect(l.address, { maxFrameBytes: 1 << 20 }));
    const s1 = track(await l.accept({ timeout: 5000 }));
    await big.sendBytes(new Uint8Array(4096));
    expect(await settledCode(s1.recv({ timeout: 5000 }))).toBe('ERR_IPC_TOO_LARGE');
    expect(await settledCode(big.recv({ timeout: 5000 }))).toBe('ERR_IPC_CLOSED');
    const ok = track(await connect(l.address, { maxFrameBytes: 1024 }));
    const s2 = track(await l.accept({ timeout: 5000 }));
    await ok.send('fine');
    expect(await s2.recv()).toBe('fine');
  });

  it('closes an idle connection after idleTimeout, but not one kept alive by heartbeats', async () => {
    const l = await listener(join(dir(), 's'), { idleTimeout: 300 });
    const quiet = track(await connect(l.address));
    const sq = track(await l.accept({ timeout: 5000 }));
    const beating = track(await connect(l.address, { heartbeatInterval: 50 }));
    const sb = track(await l.accept({ timeout: 5000 }));
    const err = await sq.recv({ timeout: 5000 }).catch((e: unknown) => e);
    expect(IpcError.is(err, 'ERR_IPC_CLOSED')).toBe(true);
    expect(IpcError.is((err as IpcError).cause, 'ERR_IPC_TIMEOUT')).toBe(true);
    expect(await settledCode(quiet.recv({ timeout: 5000 }))).toBe('ERR_IPC_CLOSED');
    expect(await settledCode(sb.recv({ timeout: 600 }))).toBe('ERR_IPC_TIMEOUT');
    await beating.send('still here');
    expect(await sb.recv()).toBe('still here');
  });

  it('bounds unacknowledged bytes: send waits (and times out) while the peer does not read', async () => {
    const l = await listener(join(dir(), 's'), { highWaterMark: 64 * 1024 });
    const c = track(await connect(l.address, { maxUnackedBytes: 64 * 1024 }));
    const s = track(await l.accept({ timeout: 5000 }));
    const chunk = new Uint8Array(16 * 1024);
    let sent = 0;
    let code = '';
    for (; sent < 10_000; sent++) {
      code = await settledCode(c.sendBytes(chunk, { timeout: 200 }));
      if (code !== 'resolved') break;
    }
    expect(code).toBe('ERR_IPC_TIMEOUT');
    expect(sent).toBeLessThan(200); // a few MiB at most, not unbounded
    for (let i = 0; i < sent; i++) await s.recvBytes({ timeout: 5000 });
  });
});

describe('spin', () => {
  // Immediates created while `run` waits: a spinning receive keeps the loop turning with them.
  async function immediatesDuring(run: () => Promise<unknown>): Promise<number> {
    let count = 0;
    const hook = createHook({
      init(_id, type) {
        if (type === 'Immediate') count++;
      },
    }).enable();
    try {
      await run();
    } finally {
      hook.disable();
    }
    return count;
  }

  it('refuses a spin outside 0..1000 microseconds with RangeError, on both sides', async () => {
    const path = join(dir(), 's');
    for (const spin of [-1, 1001, Number.NaN, '64' as unknown as number]) {
      await expect(connect(path, { spin }), String(spin)).rejects.toThrow(RangeError);
      await expect(Listener.listen(join(dir(), 'l'), { spin }), String(spin)).rejects.toThrow(RangeError);
    }
  });

  it('spins by default while a reply is on its way (unix and tcp), and never with spin: 0', async () => {
    for (const [address, spin] of [[join(dir(), 's'), undefined], [{ host: '127.0.0.1', port: 0 }, undefined], [join(dir(), 'z'), 0]] as const) {
      const l = await listener(address, { codec: 'bytes', spin });
      const c = track(await connect(l.address, { codec: 'bytes', spin }));
      const s = track(await l.accept({ timeout: 5000 }));
      const turns = await immediatesDuring(async () => {
        await c.sendBytes(Buffer.from('ask'));
        const reply = c.recvBytes({ timeout: 5000 });
        await new Promise((resolve) => setTimeout(resolve, 5)); // the client spins meanwhile (for 64 us)
        await s.sendBytes(await s.recvBytes({ timeout: 5000 }));
        expect(Buffer.from(await reply).toString()).toBe('ask');
      });
      // A spin starts with one immediate and adds one per turn of the loop within its 64 us.
      if (spin === 0) expect(turns, JSON.stringify(address)).toBe(0);
      else expect(turns, JSON.stringify(address)).toBeGreaterThan(0);
    }
  });
});

describe('Client', () => {
  it('retries the first connect with backoff until the listener comes up', async () => {
    const path = join(dir(), 's');
    const pending = connect(path, { reconnect: { minDelay: 20, maxDelay: 100 }, timeout: 10_000 });
    await new Promise((resolve) => setTimeout(resolve, 150));
    const l = await listener(path);
    const c = track(await pending);
    const s = track(await l.accept({ timeout: 5000 }));
    await c.send('late');
    expect(await s.recv()).toBe('late');
  });

  it('fails fast without reconnect: ERR_IPC_NOT_FOUND for a missing path, ERR_IPC_CLOSED for a refused port', async () => {
    expect(await settledCode(connect(join(dir(), 'none')))).toBe('ERR_IPC_NOT_FOUND');
    const l = await Listener.listen({ host: '127.0.0.1', port: 0 });
    const address = l.address;
    await l.close();
    expect(await settledCode(connect(address))).toBe('ERR_IPC_CLOSED');
  });

  it('reconnects after the connection drops; a receive waiting meanwhile gets the next message', async () => {
    const l = await listener(join(dir(), 's'));
    const c: Client = track(await connect(l.address, { reconnect: { minDelay: 10, maxDelay: 50 } }));
    const s1 = await l.accept({ timeout: 5000 });
    const waiting = c.recv({ timeout: 10_000 });
    await s1.close();
    const s2 = track(await l.accept({ timeout: 5000 }));
    await s2.send('after reconnect');
    expect(await waiting).toBe('after reconnect');
    await c.send('back');
    expect(await s2.recv()).toBe('back');
  });

  it('rejects connect with ERR_IPC_TIMEOUT when the deadline passes while retrying', async () => {
    expect(await settledCode(connect(join(dir(), 'never'), { reconnect: true, timeout: 150 }))).toBe('ERR_IPC_TIMEOUT');
  });
});

describe('serve and request', () => {
  it('answers requests by correlation id, concurrently, and carries handler errors with their code', async () => {
    const l = await listener({ host: '127.0.0.1', port: 0 }, { authkey: 'k' });
    const served = l.serve(async (req) => {
      const r = req as { add?: number[]; fail?: boolean; wait?: number };
      if (r.fail) throw new IpcError('ERR_IPC_NOT_FOUND', 'no such thing');
      if (r.wait) await new Promise((resolve) => setTimeout(resolve, r.wait));
      return { sum: r.add!.reduce((a, b) => a + b, 0) };
    });
    const c = track(await connect(l.address, { authkey: 'k' }));
    const slow = c.request({ add: [1], wait: 100 }, { timeout: 5000 });
    const fast = c.request({ add: [1, 2, 3] }, { timeout: 5000 });
    expect(await fast).toEqual({ sum: 6 });
    expect(await slow).toEqual({ sum: 1 });
    const err = await c.request({ fail: true }, { timeout: 5000 }).catch((e: unknown) => e);
    expect(IpcError.is(err, 'ERR_IPC_NOT_FOUND')).toBe(true);
    expect((err as IpcError).message).toBe('no such thing');
    await l.close();
    await served;
  });

  it('times out a request nobody answers with ERR_IPC_TIMEOUT', async () => {
    const l = await listener(join(dir(), 's'));
    const c = track(await connect(l.address));
    track(await l.accept({ timeout: 5000 }));
    expect(await settledCode(c.request('ping', { timeout: 100 }))).toBe('ERR_IPC_TIMEOUT');
  });

  it('serves several clients at once', async () => {
    const l = await listener(join(dir(), 's'));
    void l.serve((req) => ({ echo: req }));
    const clients = await Promise.all(Array.from({ length: 5 }, () => connect(l.address).then(track)));
    const answers = await Promise.all(clients.map((c, i) => c.request(i, { timeout: 5000 })));
    expect(answers).toEqual([0, 1, 2, 3, 4].map((i) => ({ echo: i })));
  });
});

describe('accept', () => {
  it('iterates connections until the listener closes', async () => {
    const l = await Listener.listen(join(dir(), 's'));
    const seen: SocketConnection[] = [];
    const loop = (async () => {
      for await (const conn of l) seen.push(track(conn));
    })();
    track(await connect(l.address));
    track(await connect(l.address));
    await expect.poll(() => seen.length).toBe(2);
    await l.close();
    await loop;
    expect(await settledCode(l.accept())).toBe('ERR_IPC_CLOSED');
  });
});
