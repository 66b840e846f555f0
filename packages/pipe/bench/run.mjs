// @ipc/pipe benchmarks: one-way throughput and round trip for 64 B, 4 KiB and 1 MiB messages
// between two processes, for a Pipe end against the baselines a user would otherwise pick: a
// hand-written length-framed net socket (the baseline of every ratio), process.send on the fork
// channel (serialization 'advanced', Buffers), and Python's multiprocessing Pipe (send_bytes).
// Runs the built dist: turbo builds before `pnpm bench`.

import { fork } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Process } from '@ipc/core';
import { Pipe } from '@ipc/pipe';
import { python3Available, runBench, runPython, scale } from '../../../bench/lib.mjs';

const here = (f) => new URL(`./${f}`, import.meta.url);
const SIZES = [
  { label: '64 B', size: 64, count: scale(100_000), rt: scale(4000) },
  { label: '4 KiB', size: 4096, count: scale(30_000), rt: scale(3000) },
  { label: '1 MiB', size: 1 << 20, count: scale(300, 20), rt: scale(200, 20) },
];
const EMPTY = new Uint8Array(0);
const secs = (t0) => (performance.now() - t0) / 1000;

// ---- peers ---------------------------------------------------------------------------------------
const tmp = mkdtempSync(join(tmpdir(), 'ipc-pipe-bench-'));
const toStop = [];

async function pipePeer(role) {
  const [mine, theirs] = await Pipe();
  const p = new Process(here('pipe-child.mjs'), { args: [theirs, role] }).start();
  toStop.push(async () => {
    await mine.close();
    await p.join({ timeout: 5000 }).catch(() => p.kill());
  });
  return mine;
}

/** A hand-written framed socket: write header+payload per message, honour 'drain', parse replies. */
async function rawPeer(role) {
  const path = join(tmp, `raw-${role}.sock`);
  const server = net.createServer();
  await new Promise((r) => server.listen(path, r));
  const child = fork(here('raw-child.mjs'), ['net', role, path], { stdio: 'inherit' });
  const [socket] = await once(server, 'connection');
  server.close();
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
  toStop.push(async () => {
    socket.destroy();
    await once(child, 'exit').catch(() => {});
  });
  return {
    async send(frame) {
      if (!socket.write(frame)) await once(socket, 'drain');
    },
    recv: () => (frames.length ? Promise.resolve(frames.shift()) : new Promise((r) => waiters.push(r))),
  };
}

function framed(size) {
  const f = Buffer.alloc(4 + size, 7);
  f.writeUInt32BE(size, 0);
  return f;
}

async function forkPeer(role) {
  const child = fork(here('raw-child.mjs'), ['fork', role], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' });
  const waiters = [];
  const frames = [];
  child.on('message', (m) => {
    const w = waiters.shift();
    if (w) w(m);
    else frames.push(m);
  });
  toStop.push(async () => {
    child.disconnect();
    await once(child, 'exit').catch(() => {});
  });
  await new Promise((r) => child.once('spawn', r));
  return {
    send: (m) => child.send(m),
    recv: () => (frames.length ? Promise.resolve(frames.shift()) : new Promise((r) => waiters.push(r))),
  };
}

const pipeSink = await pipePeer('sink');
const pipeEcho = await pipePeer('echo');
const rawSink = await rawPeer('sink');
const rawEcho = await rawPeer('echo');
const forkSink = await forkPeer('sink');
const forkEcho = await forkPeer('echo');
const havePython = python3Available();

// ---- measurements --------------------------------------------------------------------------------
async function pipeOneWay(size, n) {
  const payload = Buffer.alloc(size, 7);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await pipeSink.sendBytes(payload);
  await pipeSink.sendBytes(EMPTY);
  const got = (await pipeSink.recvBytes()).readUInt32BE(0);
  if (got !== n) throw new Error(`pipe sink counted ${got}, expected ${n}`);
  return n / secs(t0);
}

async function pipeRoundTrip(size, n) {
  const payload = Buffer.alloc(size, 7);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    await pipeEcho.sendBytes(payload);
    await pipeEcho.recvBytes();
  }
  return (secs(t0) * 1e6) / n;
}

async function rawOneWay(size, n) {
  const frame = framed(size);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await rawSink.send(frame);
  await rawSink.send(framed(0));
  const got = (await rawSink.recv()).readUInt32BE(0);
  if (got !== n) throw new Error(`raw sink counted ${got}, expected ${n}`);
  return n / secs(t0);
}

async function rawRoundTrip(size, n) {
  const frame = framed(size);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    await rawEcho.send(frame);
    await rawEcho.recv();
  }
  return (secs(t0) * 1e6) / n;
}

async function forkOneWay(size, n) {
  const payload = Buffer.alloc(size, 7);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) forkSink.send(payload);
  forkSink.send(Buffer.alloc(0));
  const got = await forkSink.recv();
  if (got !== n) throw new Error(`fork sink counted ${got}, expected ${n}`);
  return n / secs(t0);
}

async function forkRoundTrip(size, n) {
  const payload = Buffer.alloc(size, 7);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    forkEcho.send(payload);
    await forkEcho.recv();
  }
  return (secs(t0) * 1e6) / n;
}

const PY = `
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
const python = (mode, size, n) => runPython(PY, { args: [mode, String(size), String(n)] });

// ---- cases ---------------------------------------------------------------------------------------
const cases = [];
for (const { label, size, count, rt } of SIZES) {
  const base1 = `raw net framed one-way ${label}`;
  cases.push({ name: base1, unit: 'msg/s', fn: () => rawOneWay(size, count) });
  cases.push({ name: `pipe one-way ${label}`, unit: 'msg/s', baseline: base1, fn: () => pipeOneWay(size, count) });
  cases.push({ name: `process.send one-way ${label}`, unit: 'msg/s', baseline: base1, fn: () => forkOneWay(size, count) });
  if (havePython) cases.push({ name: `python Pipe one-way ${label}`, unit: 'msg/s', baseline: base1, fn: () => python('oneway', size, count) });
  const base2 = `raw net framed round trip ${label}`;
  cases.push({ name: base2, unit: 'us', higherIsBetter: false, fn: () => rawRoundTrip(size, rt) });
  cases.push({ name: `pipe round trip ${label}`, unit: 'us', higherIsBetter: false, baseline: base2, fn: () => pipeRoundTrip(size, rt) });
  cases.push({ name: `process.send round trip ${label}`, unit: 'us', higherIsBetter: false, baseline: base2, fn: () => forkRoundTrip(size, rt) });
  if (havePython) cases.push({ name: `python Pipe round trip ${label}`, unit: 'us', higherIsBetter: false, baseline: base2, fn: () => python('rt', size, rt) });
}

try {
  await runBench({ package: '@ipc/pipe', runs: 5, cases });
} finally {
  for (const stop of toStop) await stop();
  rmSync(tmp, { recursive: true, force: true });
}
