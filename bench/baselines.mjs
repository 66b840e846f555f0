// Message-passing baselines shared by the package benchmarks: what a user would write without @ipc
// (a hand-written length-framed net/tls socket, process.send on the fork channel, Python's
// multiprocessing Pipe), and the one-way and round-trip measurements that drive every peer alike,
// ours or a baseline. Plain ESM: a package's bench/run.mjs imports '../../../bench/baselines.mjs'.
//
// A peer is `{ sendBytes(bytes), recvBytes(), close() }` (a @ipc Connection is one, plus close()
// for the child behind it). Its other side plays a role: a 'sink' counts messages and answers an
// empty message with the count as a 4-byte big-endian message; an 'echo' sends every message back.

import { fork } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { join } from 'node:path';
import tls from 'node:tls';
import { runPython, scale } from './lib.mjs';

const children = (name) => new URL(`./children/${name}`, import.meta.url);
const secs = (t0) => (performance.now() - t0) / 1000;
const EMPTY = new Uint8Array(0);

// ---- the framed socket: 4-byte big-endian length, then the payload --------------------------------

/**
 * Header and payload in one new buffer, as a hand-written framed sender writes a message.
 * @param {Uint8Array} payload
 * @returns {Buffer}
 */
export function frame(payload) {
  const f = Buffer.allocUnsafe(4 + payload.byteLength);
  f.writeUInt32BE(payload.byteLength, 0);
  f.set(payload, 4);
  return f;
}

/**
 * Parses the 4-byte length-prefixed frames arriving on `socket` and calls `onFrame(buf, at, length)`
 * for each whole one: the frame is `buf[at, at + 4 + length)`, its payload starts at `at + 4`.
 * (Offsets rather than a view: a sink only counts, an echo writes the whole frame back.)
 * @param {import('node:stream').Duplex} socket
 * @param {(buf: Buffer, at: number, length: number) => void} onFrame
 */
export function readFrames(socket, onFrame) {
  let buf = Buffer.alloc(0);
  socket.on('data', (chunk) => {
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    let off = 0;
    while (buf.length - off >= 4) {
      const len = buf.readUInt32BE(off);
      if (buf.length - off < 4 + len) break;
      onFrame(buf, off, len);
      off += 4 + len;
    }
    buf = buf.subarray(off);
  });
}

/**
 * The client side of a hand-written framed socket, as a peer: `sendBytes` frames each message and
 * honours 'drain'; `recvBytes` resolves with the next payload.
 * @param {import('node:stream').Duplex} socket - connected
 * @param {() => Promise<void> | void} [onClose] - also run by close(), after the socket is destroyed
 */
export function framedPeer(socket, onClose) {
  const waiters = [];
  const frames = [];
  readFrames(socket, (buf, at, len) => {
    const payload = buf.subarray(at + 4, at + 4 + len);
    const w = waiters.shift();
    if (w) w(payload);
    else frames.push(payload);
  });
  return {
    async sendBytes(payload) {
      if (!socket.write(frame(payload))) await once(socket, 'drain');
    },
    recvBytes: () => (frames.length ? Promise.resolve(frames.shift()) : new Promise((r) => waiters.push(r))),
    async close() {
      socket.destroy();
      await onClose?.();
    },
  };
}

/**
 * Plays `role` ('sink' or 'echo') on the server side of a hand-written framed socket.
 * @param {import('node:stream').Duplex} socket
 * @param {'sink' | 'echo'} role
 */
export function serveFramed(socket, role) {
  let n = 0;
  readFrames(socket, (buf, at, len) => {
    if (role === 'echo') socket.write(buf.subarray(at, at + 4 + len));
    else if (len === 0) {
      const r = Buffer.alloc(8);
      r.writeUInt32BE(4, 0);
      r.writeUInt32BE(n, 4);
      n = 0;
      socket.write(r);
    } else n++;
  });
}

/**
 * Plays `role` ('sink' or 'echo') on a @ipc Connection until it closes (or the peer does), then
 * closes it.
 * @param {{ sendBytes(b: Uint8Array): Promise<void>, recvBytes(): Promise<Uint8Array>, close(): Promise<void> }} conn
 * @param {'sink' | 'echo'} role
 */
export async function serveConnection(conn, role) {
  let n = 0;
  for (;;) {
    let b;
    try {
      b = await conn.recvBytes();
    } catch {
      break;
    }
    if (role === 'echo') await conn.sendBytes(b);
    else if (b.byteLength === 0) {
      const r = Buffer.alloc(4);
      r.writeUInt32BE(n);
      n = 0;
      await conn.sendBytes(r);
    } else n++;
  }
  await conn.close();
}

// ---- peers in child processes ---------------------------------------------------------------------

/**
 * Forks `script` (which reports `{ address }` with process.send once it listens) and resolves with
 * that address and a stop() that disconnects the child and waits for it to exit.
 * @param {URL | string} script
 * @param {string[]} args
 * @param {NodeJS.ProcessEnv} [env] - added to this process's environment
 */
export async function forkServer(script, args, env) {
  const child = fork(script, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: { ...process.env, ...env } });
  const [msg] = await once(child, 'message');
  return {
    address: msg.address,
    async stop() {
      if (child.connected) child.disconnect();
      if (child.exitCode === null && child.signalCode === null) await once(child, 'exit').catch(() => {});
    },
  };
}

/**
 * The hand-written framed socket baseline: a child serving `role` on a Unix socket (a fresh file
 * in `dir`), TCP (127.0.0.1, Nagle off on both sides, as a latency-minded user sets it) or TLS.
 * @param {'unix' | 'tcp' | 'tls'} transport
 * @param {'sink' | 'echo'} role
 * @param {{ dir: string, key?: string, cert?: string }} options - `key` and `cert` (PEM) for TLS
 */
export async function rawSocketPeer(transport, role, { dir, key, cert }) {
  const path = join(dir, `raw-${transport}-${role}-${Math.random().toString(36).slice(2)}.sock`);
  const server = await forkServer(children('framed-server.mjs'), [transport, role, path], transport === 'tls' ? { KEY: key, CERT: cert } : {});
  const { address } = server;
  const socket = transport === 'tls'
    ? tls.connect({ ...address, ca: cert })
    : net.connect(typeof address === 'string' ? { path: address } : address);
  await once(socket, transport === 'tls' ? 'secureConnect' : 'connect');
  if (transport !== 'unix') socket.setNoDelay(true);
  return framedPeer(socket, () => server.stop());
}

/**
 * The process.send baseline: a forked child (serialization 'advanced', so Buffers travel as bytes)
 * serving `role`; `sendBytes` does not wait (process.send has no back-pressure to wait for).
 * @param {'sink' | 'echo'} role
 */
export async function forkPeer(role) {
  const child = fork(children('fork-peer.mjs'), [role], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' });
  const waiters = [];
  const frames = [];
  child.on('message', (m) => {
    const w = waiters.shift();
    if (w) w(m);
    else frames.push(m);
  });
  await once(child, 'spawn');
  return {
    sendBytes(payload) {
      child.send(payload);
    },
    recvBytes: () => (frames.length ? Promise.resolve(frames.shift()) : new Promise((r) => waiters.push(r))),
    async close() {
      child.disconnect();
      await once(child, 'exit').catch(() => {});
    },
  };
}

// ---- measurements ---------------------------------------------------------------------------------

/**
 * Sends `n` messages of `size` bytes to a sink peer, then asks for its count (which must be `n`).
 * A `sendBytes` that returns a promise is awaited before the next message.
 * @returns {Promise<number>} messages per second
 */
export async function oneWay(peer, size, n) {
  const payload = Buffer.alloc(size, 7);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const sent = peer.sendBytes(payload);
    if (sent) await sent;
  }
  await peer.sendBytes(EMPTY);
  const r = await peer.recvBytes();
  const got = new DataView(r.buffer, r.byteOffset, r.byteLength).getUint32(0);
  if (got !== n) throw new Error(`the sink counted ${got}, expected ${n}`);
  return n / secs(t0);
}

/**
 * Sends `n` messages of `size` bytes to an echo peer, one at a time, each awaiting its echo.
 * @returns {Promise<number>} microseconds per round trip
 */
export async function roundTrip(peer, size, n) {
  const payload = Buffer.alloc(size, 7);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const sent = peer.sendBytes(payload);
    if (sent) await sent;
    await peer.recvBytes();
  }
  return (secs(t0) * 1e6) / n;
}

const PY_PIPE = `
import sys, time, json
from multiprocessing import Pipe, Process
def sink(conn):
    n = 0
    while True:
        b = conn.recv_bytes()
        if not b:
            conn.send_bytes(n.to_bytes(4, 'big')); n = 0
            break
        n += 1
def echo(conn, n):
    for _ in range(n):
        conn.send_bytes(conn.recv_bytes())
mode, size, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
a, b = Pipe()
payload = bytes(size)
if mode == 'oneway':
    p = Process(target=sink, args=(b,)); p.start()
    t0 = time.perf_counter()
    for _ in range(n): a.send_bytes(payload)
    a.send_bytes(b'')
    got = int.from_bytes(a.recv_bytes(), 'big')
    dt = time.perf_counter() - t0
    assert got == n
    print(json.dumps(n / dt))
else:
    p = Process(target=echo, args=(b, n)); p.start()
    a.send_bytes(payload); a.recv_bytes()
    t0 = time.perf_counter()
    for _ in range(n - 1):
        a.send_bytes(payload); a.recv_bytes()
    dt = time.perf_counter() - t0
    print(json.dumps(dt * 1e6 / (n - 1)))
p.join()
`;

/**
 * Python's multiprocessing Pipe (send_bytes/recv_bytes) between two Python processes, measured in
 * Python the way oneWay/roundTrip measure (the round trip leaves out one warm-up message). Needs
 * python3Available() from lib.mjs.
 * @param {'oneway' | 'rt'} mode
 * @param {number} size - bytes per message
 * @param {number} n - messages
 * @returns {Promise<number>} messages per second ('oneway') or microseconds per round trip ('rt')
 */
export function pythonPipe(mode, size, n) {
  return runPython(PY_PIPE, { args: [mode, String(size), String(n)] });
}

// ---- cases ----------------------------------------------------------------------------------------

/**
 * The runBench cases of one message size: `${name} one-way ${label}` (msg/s) and
 * `${name} round trip ${label}` (us) for each contender; the first contender is the baseline of the
 * others' ratios.
 * @param {{ label: string, size: number, count: number, rt: number }} sizing - `count` one-way messages, `rt` round trips
 * @param {Array<{ name: string, oneWay(size: number, n: number): Promise<number>, roundTrip(size: number, n: number): Promise<number> }>} contenders
 */
export function messageCases({ label, size, count, rt }, contenders) {
  const oneWayBase = `${contenders[0].name} one-way ${label}`;
  const roundTripBase = `${contenders[0].name} round trip ${label}`;
  const cases = [];
  for (const [i, c] of contenders.entries()) {
    cases.push({ name: `${c.name} one-way ${label}`, unit: 'msg/s', baseline: i ? oneWayBase : undefined, fn: () => c.oneWay(size, count) });
  }
  for (const [i, c] of contenders.entries()) {
    cases.push({
      name: `${c.name} round trip ${label}`,
      unit: 'us',
      higherIsBetter: false,
      baseline: i ? roundTripBase : undefined,
      fn: () => c.roundTrip(size, rt),
    });
  }
  return cases;
}

/**
 * Warms a sink and an echo peer (JIT in both processes, buffers), so the first measured run is not
 * a cold start for one contender and a warm one for another.
 */
export async function warm(sink, echo) {
  await oneWay(sink, 64, scale(20_000));
  await roundTrip(echo, 64, scale(3000));
  await roundTrip(echo, 4096, scale(1000));
  return [sink, echo];
}

/**
 * A contender for messageCases driving a sink peer and an echo peer with oneWay and roundTrip.
 * @param {string} name
 * @param {object} sink
 * @param {object} echo
 */
export function peerContender(name, sink, echo) {
  return { name, oneWay: (size, n) => oneWay(sink, size, n), roundTrip: (size, n) => roundTrip(echo, size, n) };
}

/** The Python multiprocessing Pipe contender for messageCases (check python3Available() first). */
export const pythonPipeContender = {
  name: 'python Pipe',
  oneWay: (size, n) => pythonPipe('oneway', size, n),
  roundTrip: (size, n) => pythonPipe('rt', size, n),
};
