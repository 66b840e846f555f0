import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Listener, WireDecoder, connect } from '../src/index.js';
import type { Wire } from '../src/index.js';
import { tempDir } from './helpers.js';

// The listener faces strangers: whatever they send, it must not crash, must not allocate what a
// header claims, and must keep serving well-behaved clients.

let listener: Listener;
let pyListener: Listener;
let cleanupDir: () => void;
let served = 0;

beforeAll(async () => {
  const t = tempDir();
  cleanupDir = t.cleanup;
  listener = await Listener.listen(join(t.dir, 'n'), { authkey: 'k', maxFrameBytes: 1 << 20, handshakeTimeout: 300 });
  pyListener = await Listener.listen(join(t.dir, 'p'), { wire: 'python', maxFrameBytes: 1 << 20, idleTimeout: 500 });
  for (const l of [listener, pyListener]) {
    void l.serve((req) => {
      served++;
      return { echo: req };
    });
  }
});

afterAll(async () => {
  await listener.close();
  await pyListener.close();
  cleanupDir();
});

async function stranger(path: string, write: (s: net.Socket) => Promise<void> | void): Promise<void> {
  const s = net.connect({ path });
  s.on('error', () => {});
  s.resume();
  // The listener drops it (deadline, oversize, garbage) or we do; wait for the socket to go.
  const closed = new Promise<void>((resolve) => s.once('close', () => resolve()));
  await new Promise<void>((resolve) => s.once('connect', () => resolve()));
  await write(s);
  const t = setTimeout(() => s.destroy(), 2000);
  await closed;
  clearTimeout(t);
}

function header(n: number, signed = false): Buffer {
  const b = Buffer.alloc(4);
  if (signed) b.writeInt32BE(n);
  else b.writeUInt32BE(n >>> 0);
  return b;
}

async function goodClientWorks(l: Listener, key?: string): Promise<void> {
  const c = await connect(l.address, { authkey: key, wire: l === pyListener ? 'python' : 'native' });
  try {
    expect(await c.request('still alive?', { timeout: 5000 })).toEqual({ echo: 'still alive?' });
  } finally {
    await c.close();
  }
}

describe('listener under hostile input', () => {
  it('survives random bytes, before and instead of the handshake', async () => {
    for (let i = 0; i < 20; i++) {
      await stranger(listener.address as string, (s) => void s.end(randomBytes(1 + (i * 97) % 600)));
    }
    await goodClientWorks(listener, 'k');
  });

  it('survives random bytes as frames (no handshake on this listener)', async () => {
    for (let i = 0; i < 20; i++) {
      await stranger(pyListener.address as string, (s) => void s.end(randomBytes(1 + (i * 131) % 5000)));
    }
    await goodClientWorks(pyListener);
  });

  it('never allocates a giant claimed length: closes at once, memory stays flat', async () => {
    const before = process.memoryUsage().arrayBuffers;
    const claims = [0x7fff_ffff, 0x4000_0000, (1 << 20) + 1, 0xffff_ffff];
    for (const n of claims) {
      await stranger(pyListener.address as string, (s) => void s.write(Buffer.concat([header(n), Buffer.alloc(100)])));
    }
    // Python's -1 escape with an 8-byte length of 2^62.
    const escape = Buffer.alloc(12);
    escape.writeInt32BE(-1);
    escape.writeBigUInt64BE(1n << 62n, 4);
    await stranger(pyListener.address as string, (s) => void s.write(escape));
    // A claim under the bound but never fulfilled: held as what arrived, then dropped when idle.
    await stranger(pyListener.address as string, (s) => void s.write(Buffer.concat([header(1 << 20), Buffer.alloc(10)])));
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 * 1024 * 1024);
    await goodClientWorks(pyListener);
  });

  it('survives truncated frames and a peer that leaves mid-frame', async () => {
    for (let cut = 1; cut < 12; cut++) {
      const frame = Buffer.concat([header(8), Buffer.from('"abcdef"')]);
      await stranger(pyListener.address as string, (s) => void s.end(frame.subarray(0, cut)));
    }
    await goodClientWorks(pyListener);
  });

  it('survives wrong keys, oversize handshake messages and slow, byte-at-a-time clients', async () => {
    const wrong = await connect(listener.address, { authkey: 'nope' }).catch((e: unknown) => e);
    expect((wrong as { code?: string }).code).toBe('ERR_IPC_AUTH');
    await stranger(listener.address as string, (s) => void s.write(Buffer.concat([header(100_000), randomBytes(300)])));
    // Dribbles a byte every 50 ms: the handshake deadline (300 ms) drops it.
    await stranger(listener.address as string, async (s) => {
      for (let i = 0; i < 20 && !s.destroyed; i++) {
        s.write(Buffer.from([i]));
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    });
    await goodClientWorks(listener, 'k');
    expect(listener.stats.rejected).toBeGreaterThanOrEqual(3);
  });

  it('serves good clients while strangers misbehave at the same time', async () => {
    const noise = Array.from({ length: 10 }, (_, i) => stranger(pyListener.address as string, (s) => void s.end(randomBytes(50 + i))));
    const good = Array.from({ length: 5 }, () => goodClientWorks(pyListener));
    await Promise.all([...noise, ...good]);
    expect(served).toBeGreaterThan(0);
  });
});

describe('WireDecoder', () => {
  function decodeAll(wire: Wire, bytes: Buffer, split: number[]): Buffer[] {
    const d = new WireDecoder(wire, 1 << 20);
    const out: Buffer[] = [];
    let at = 0;
    for (const cut of [...split, bytes.length]) {
      d.push(bytes.subarray(at, cut), (f) => out.push(Buffer.from(f)));
      at = cut;
    }
    return out;
  }

  it('decodes the same frames for every way of cutting the input, with pings and the -1 escape', () => {
    const frames = [Buffer.from('a'), Buffer.alloc(0), randomBytes(300), Buffer.from('zz')];
    const native = Buffer.concat(frames.flatMap((f, i) => [header(f.length), f, ...(i === 1 ? [header(0x8000_0000)] : [])]));
    const escapeHeader = (n: number) => {
      const b = Buffer.alloc(12);
      b.writeInt32BE(-1);
      b.writeBigUInt64BE(BigInt(n), 4);
      return b;
    };
    const python = Buffer.concat(frames.flatMap((f, i) => [i % 2 ? escapeHeader(f.length) : header(f.length, true), f]));
    for (const [wire, bytes] of [['native', native], ['python', python]] as const) {
      for (let a = 0; a < bytes.length; a += 7) {
        for (const b of [a + 1, a + 5, a + 13]) {
          if (b >= bytes.length) continue;
          expect(decodeAll(wire, bytes, [a, b]).map((f) => f.toString('hex'))).toEqual(frames.map((f) => f.toString('hex')));
        }
      }
    }
  });

  it('hands whole frames of a chunk over as Buffers viewing that chunk, and refuses an oversize header among them', () => {
    const frames = [randomBytes(64), randomBytes(3), Buffer.alloc(0), randomBytes(64)];
    const chunk = Buffer.concat([...frames.flatMap((f) => [header(f.length), f]), header(0x8000_0000), header(1 << 20)]);
    const d = new WireDecoder('native', 1024);
    const out: Buffer[] = [];
    let thrown: unknown;
    try {
      d.push(chunk, (f) => out.push(f));
    } catch (err) {
      thrown = err;
    }
    expect((thrown as { code?: string }).code).toBe('ERR_IPC_TOO_LARGE');
    expect(out.map((f) => f.toString('hex'))).toEqual(frames.map((f) => f.toString('hex')));
    for (const f of out) expect(Buffer.isBuffer(f)).toBe(true);
    // no copy: the first frame is the chunk's own bytes
    chunk[4] = chunk[4]! ^ 0xff;
    expect(out[0]![0]).toBe(chunk[4]);
  });

  it('refuses a negative length other than -1 on the python wire', () => {
    const d = new WireDecoder('python', 1024);
    expect(() => d.push(header(-5, true), () => {})).toThrow(/negative frame length/);
  });
});

describe('TLS listener under hostile input', () => {
  it('drops a client that never starts the TLS handshake, and one that sends garbage, and keeps serving', async () => {
    const { selfSignedCert } = await import('./helpers.js');
    const { key, cert } = selfSignedCert();
    const l = await Listener.listen({ host: '127.0.0.1', port: 0 }, { tls: { key, cert }, handshakeTimeout: 300, authkey: 'k' });
    try {
      void l.serve((req) => ({ echo: req }));
      const port = (l.address as { port: number }).port;
      const tcp = (write?: Buffer) => new Promise<void>((resolve) => {
        const s = net.connect({ host: '127.0.0.1', port });
        s.on('error', () => {});
        s.resume();
        s.once('close', () => resolve());
        if (write) s.write(write);
      });
      await Promise.all([tcp(), tcp(randomBytes(500))]);
      expect(l.stats.rejected).toBe(2);
      const c = await connect(l.address, { tls: { ca: cert }, authkey: 'k' });
      expect(await c.request('hi', { timeout: 5000 })).toEqual({ echo: 'hi' });
      await c.close();
    } finally {
      await l.close();
    }
  });
});
