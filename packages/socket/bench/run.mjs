// @ipc/socket benchmarks: one-way throughput and round trip for 64 B, 4 KiB and 1 MiB messages
// from this process to a listener in a child, over a Unix socket, TCP and TLS, for our
// Listener/connect (with an authkey handshake at connect) against a hand-written length-framed
// net/tls socket on the same transport (the baseline of each ratio).
// Runs the built dist: turbo builds before `pnpm bench`.

import { execFileSync, fork } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { connect } from '@ipc/socket';
import { runBench, scale } from '../../../bench/lib.mjs';

const SIZES = [
  { label: '64 B', size: 64, count: scale(100_000), rt: scale(3000) },
  { label: '4 KiB', size: 4096, count: scale(30_000), rt: scale(2000) },
  { label: '1 MiB', size: 1 << 20, count: scale(200, 20), rt: scale(100, 10) },
];
const EMPTY = new Uint8Array(0);
const secs = (t0) => (performance.now() - t0) / 1000;
const tmp = mkdtempSync(join(tmpdir(), 'ipc-socket-bench-'));
execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
  '-keyout', join(tmp, 'key.pem'), '-out', join(tmp, 'cert.pem'), '-days', '1', '-subj', '/CN=localhost',
  '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore' });
const KEY = readFileSync(join(tmp, 'key.pem'), 'utf8');
const CERT = readFileSync(join(tmp, 'cert.pem'), 'utf8');
const toStop = [];

async function server(kind, transport, role) {
  const child = fork(new URL('./server-child.mjs', import.meta.url), [kind, transport, role, join(tmp, `${kind}-${transport}-${role}.sock`)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, KEY, CERT },
  });
  const [msg] = await once(child, 'message');
  toStop.push(async () => {
    child.disconnect();
    await once(child, 'exit').catch(() => {});
  });
  return msg.address;
}

async function ours(transport, role) {
  const address = await server('ours', transport, role);
  const c = await connect(address, { authkey: 'bench', codec: 'bytes', tls: transport === 'tls' ? { ca: CERT } : undefined });
  toStop.unshift(() => c.close());
  return c;
}

async function raw(transport, role) {
  const address = await server('raw', transport, role);
  const socket = transport === 'tls'
    ? tls.connect({ ...address, ca: CERT })
    : net.connect(typeof address === 'string' ? { path: address } : address);
  await once(socket, transport === 'tls' ? 'secureConnect' : 'connect');
  if (transport !== 'unix') socket.setNoDelay(true);
  let buf = Buffer.alloc(0);
  const waiters = [];
  const frames = [];
  socket.on('data', (chunk) => {
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    let off = 0;
    while (buf.length - off >= 4) {
      const len = buf.readUInt32BE(off);
      if (buf.length - off < 4 + len) break;
      const f = buf.subarray(off + 4, off + 4 + len);
      off += 4 + len;
      const w = waiters.shift();
      if (w) w(f);
      else frames.push(f);
    }
    buf = buf.subarray(off);
  });
  toStop.unshift(() => socket.destroy());
  return {
    async sendBytes(payload) {
      const f = Buffer.allocUnsafe(4 + payload.byteLength);
      f.writeUInt32BE(payload.byteLength, 0);
      f.set(payload, 4);
      if (!socket.write(f)) await once(socket, 'drain');
    },
    recvBytes: () => (frames.length ? Promise.resolve(frames.shift()) : new Promise((r) => waiters.push(r))),
  };
}

async function oneWay(conn, size, n) {
  const payload = Buffer.alloc(size, 7);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await conn.sendBytes(payload);
  await conn.sendBytes(EMPTY);
  const got = (await conn.recvBytes()).readUInt32BE(0);
  if (got !== n) throw new Error(`sink counted ${got}, expected ${n}`);
  return n / secs(t0);
}

async function roundTrip(conn, size, n) {
  const payload = Buffer.alloc(size, 7);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    await conn.sendBytes(payload);
    await conn.recvBytes();
  }
  return (secs(t0) * 1e6) / n;
}

const cases = [];
for (const transport of ['unix', 'tcp', 'tls']) {
  const peers = {
    oursSink: await ours(transport, 'sink'),
    oursEcho: await ours(transport, 'echo'),
    rawSink: await raw(transport, 'sink'),
    rawEcho: await raw(transport, 'echo'),
  };
  for (const { label, size, count, rt } of SIZES) {
    const base1 = `raw ${transport} one-way ${label}`;
    cases.push({ name: base1, unit: 'msg/s', fn: () => oneWay(peers.rawSink, size, count) });
    cases.push({ name: `socket ${transport} one-way ${label}`, unit: 'msg/s', baseline: base1, fn: () => oneWay(peers.oursSink, size, count) });
    const base2 = `raw ${transport} round trip ${label}`;
    cases.push({ name: base2, unit: 'us', higherIsBetter: false, fn: () => roundTrip(peers.rawEcho, size, rt) });
    cases.push({ name: `socket ${transport} round trip ${label}`, unit: 'us', higherIsBetter: false, baseline: base2, fn: () => roundTrip(peers.oursEcho, size, rt) });
  }
}

try {
  await runBench({ package: '@ipc/socket', runs: 5, cases });
} finally {
  for (const stop of toStop) await stop();
  rmSync(tmp, { recursive: true, force: true });
}
