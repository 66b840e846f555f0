// @ipc/queue benchmarks: items/s from producer processes to consumers for small objects (structured
// codec), 64 B, 4 KiB and 1 MiB byte items (bytes codec), 1->1 and 2->2, against what a Node or
// Python user would otherwise pick, measured in the same run: process.send (json and advanced), a
// framed Unix socket, Python's multiprocessing.Queue; and memcpy for the 1 MiB rows (cache-hot, and 1 MiB
// blocks over a 64 MiB region, bound by memory bandwidth). 1 MiB items also go through getBytes({ into })
// into one reused buffer, and out of line (a 1 MiB ring, so each item travels in a segment of its own).
// The `batched` rows move the same objects with putMany (chunks of 64) and getMany(256) instead of one
// await per item. Every peer (baselines included) is a fresh child process that first moves a quarter
// as many items the same way, untimed (V8 compiles the hot paths, buffers and the ring's pages are
// there), as the pipe and socket benches warm theirs: every row is steady-state throughput, not a
// cold start (the first few hundred thousand small objects run 20-40% slower than the rest), and each
// timed row still runs for about a second (1 MiB rows: a few hundred ms to seconds).
// BENCH_ONLY=<regex> runs only the matching cases and their baselines (and writes no results file).
// Runs the built dist: build first (`pnpm turbo run build --filter=@ipc/queue...`).

import { fork } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from '@ipc/queue';
import { python3Available, runBench, runPython, scale } from '../../../bench/lib.mjs';
import { readFrames } from '../../../bench/baselines.mjs';

const CHILD = fileURLToPath(new URL('./child.mjs', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'ipc-queue-bench-'));
const MiB = 1 << 20;
const SIZE = { 64: 64, '4k': 4096, '1m': MiB };

/** The untimed items moved before a row of `count`: about a quarter, even (split between two peers). */
const warmOf = (count) => 2 * Math.ceil(count / 8);

function spawnPeer(args, serialization = 'json') {
  const child = fork(CHILD, args, { stdio: 'inherit', serialization });
  const ready = new Promise((resolve, reject) => {
    child.once('error', reject);
    child.on('message', function onReady(m) {
      if (m === 'ready') {
        child.off('message', onReady);
        resolve();
      }
    });
  });
  const exited = once(child, 'exit');
  // A peer that dies early fails the case instead of leaving it waiting forever.
  const failed = exited.then(([code, signal]) => {
    if (code !== 0) throw new Error(`bench peer ${args[0]} exited with ${code ?? signal}`);
    return new Promise(() => {});
  });
  failed.catch(() => {});
  return { child, ready: Promise.race([ready, failed]), exited, failed };
}

const doneOf = (peer) =>
  new Promise((resolve) =>
    peer.child.on('message', function onDone(m) {
      if (m === 'done') {
        peer.child.off('message', onDone);
        resolve();
      }
    }),
  );

/**
 * Our queue, P producer processes -> C consumers (the parent when C is 0): items/s (MB/s with mb).
 * `into`: the parent takes items with getBytes({ into }) into one reused buffer; `ring`: the ring's bytes.
 */
async function queueCase(kind, count, producers = 1, consumers = 0, mb = false, { into = false, ring, batch = false } = {}) {
  const codec = kind === 'obj' ? 'structured' : 'bytes';
  const capacityBytes = ring ?? (kind === '1m' ? 8 * MiB : 4 * MiB);
  const q = new Queue({ codec, capacityBytes });
  try {
    const warm = warmOf(count);
    const ps = Array.from({ length: producers }, () => spawnPeer([batch ? 'queue-produce-batch' : 'queue-produce', kind, String(count / producers), q.name, String(warm / producers)]));
    const cs = Array.from({ length: consumers }, () => spawnPeer([batch ? 'queue-consume-batch' : 'queue-consume', kind, String(count / consumers), q.name, String(warm / consumers)]));
    const peersFailed = Promise.race([...ps, ...cs].map((p) => p.failed));
    const buf = into ? Buffer.allocUnsafe(SIZE[kind]) : undefined;
    // The parent as the consumer: the same loop warms it (untimed) and then runs the row.
    const getAll = async (n) => {
      if (batch) for (let got = 0; got < n; ) got += (await q.getMany(Math.min(256, n - got))).length;
      else if (buf) for (let i = 0; i < n; i++) await q.getBytes({ into: buf });
      else for (let i = 0; i < n; i++) await q.get();
    };
    await Promise.race([Promise.all([...[...ps, ...cs].map((p) => p.ready), consumers === 0 ? getAll(warm) : undefined]), peersFailed]);
    const dones = cs.map(doneOf);
    const t0 = performance.now();
    for (const p of [...cs, ...ps]) p.child.send('go');
    if (consumers === 0) await Promise.race([getAll(count), peersFailed]);
    else await Promise.race([Promise.all(dones), peersFailed]);
    const s = (performance.now() - t0) / 1000;
    await Promise.all([...ps, ...cs].map((p) => p.exited));
    return mb ? (count * SIZE[kind]) / s / 1e6 : count / s;
  } finally {
    await q[Symbol.asyncDispose]();
  }
}

/** process.send from a child to the parent: a message per item, or (`batch`) arrays of 64 items. */
async function sendCase(kind, count, serialization, mb = false, batch = false) {
  // The warm-up messages arrive before 'ready' and go only to spawnPeer's listener.
  const peer = spawnPeer([batch ? 'send-produce-batch' : 'send-produce', kind, String(count), serialization, String(warmOf(count))], serialization);
  await peer.ready;
  let got = 0;
  const done = new Promise((resolve) =>
    peer.child.on('message', (m) => {
      if (m === 'end') resolve();
      else got += batch ? m.length : 1;
    }),
  );
  const t0 = performance.now();
  peer.child.send('go');
  await done;
  const s = (performance.now() - t0) / 1000;
  await peer.exited;
  if (got !== count) throw new Error(`process.send delivered ${got} of ${count}`);
  return mb ? (count * SIZE[kind]) / s / 1e6 : count / s;
}

/** A Unix socket with 4-byte length frames, written per message, parsed (and JSON-decoded for objects). */
async function socketCase(kind, count, mb = false) {
  const path = join(tmp, `s${Math.random().toString(36).slice(2)}.sock`);
  const server = net.createServer();
  await new Promise((r) => server.listen(path, r));
  const warm = warmOf(count);
  const peer = spawnPeer(['socket-produce', kind, String(count), path, String(warm)]);
  const [socket] = await once(server, 'connection');
  server.close();
  let got = 0;
  let warmed;
  let done;
  const warmedUp = new Promise((resolve) => (warmed = resolve));
  const finished = new Promise((resolve) => (done = resolve));
  readFrames(socket, (buf, at, len) => {
    if (kind === 'obj') JSON.parse(buf.toString('utf8', at + 4, at + 4 + len));
    if (++got === warm) warmed();
    if (got === warm + count) done();
  });
  await Promise.all([peer.ready, warmedUp]);
  const t0 = performance.now();
  peer.child.send('go');
  await finished;
  const s = (performance.now() - t0) / 1000;
  await peer.exited;
  return mb ? (count * SIZE[kind]) / s / 1e6 : count / s;
}

const PY = String.raw`
import sys, time, json, multiprocessing as mp
kind, count, mode, warm = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
def item():
    if kind == 'obj': return {'id': 1, 'name': 'item', 'tags': ['a', 'b'], 'score': 1.5, 'ok': True}
    return b'x' * {'64': 64, '4k': 4096, '1m': 1 << 20}[kind]
# Every side first moves its share of the warm-up items (untimed), as the Node peers do, and meets the others.
def produce(q, n, w, ready, go):
    it = item()
    for _ in range(w): q.put(it)
    ready.wait(); go.wait()
    for _ in range(n): q.put(it)
def consume(q, n, w, ready, go):
    for _ in range(w): q.get()
    ready.wait(); go.wait()
    for _ in range(n): q.get()
if __name__ == '__main__':
    mp.set_start_method('fork')
    q = mp.Queue(); go = mp.Event()
    if mode == '1to1':
        ready = mp.Barrier(2)
        ps = [mp.Process(target=produce, args=(q, count, warm, ready, go))]; cs = []
    else:
        ready = mp.Barrier(5)
        ps = [mp.Process(target=produce, args=(q, count // 2, warm // 2, ready, go)) for _ in range(2)]
        cs = [mp.Process(target=consume, args=(q, count // 2, warm // 2, ready, go)) for _ in range(2)]
    for p in ps + cs: p.start()
    if mode == '1to1':
        for _ in range(warm): q.get()
    ready.wait()
    t0 = time.perf_counter(); go.set()
    if mode == '1to1':
        for _ in range(count): q.get()
    else:
        for c in cs: c.join()
    s = time.perf_counter() - t0
    for p in ps: p.join()
    print(json.dumps({'value': count / s}))
`;

async function pythonCase(kind, count, mode = '1to1', mb = false) {
  const { value } = await runPython(PY, { args: [kind, String(count), mode, String(warmOf(count))], timeout: 120_000 });
  return mb ? (value * SIZE[kind]) / 1e6 : value;
}

/** memcpy of 1 MiB: the same block again and again (cache-hot), or blocks walking over a `region`. */
function memcpyCase(region = MiB) {
  const src = Buffer.alloc(region, 1);
  const dst = Buffer.alloc(region);
  const blocks = region / MiB;
  const n = scale(3000, 100);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const at = (i % blocks) * MiB;
    src.copy(dst, at, at, at + MiB);
  }
  return (n * MiB) / ((performance.now() - t0) / 1000) / 1e6;
}

const py = python3Available();
const cases = [
  // small objects, structured clone. The baseline runs between the two rows it is most compared
  // with, so that the host's speed (which drifts over seconds here) is as alike as it can be for them.
  { name: 'queue obj 1->1', unit: 'items/s', baseline: 'process.send advanced obj', fn: () => queueCase('obj', scale(800_000, 2000)) },
  { name: 'process.send advanced obj', unit: 'items/s', fn: () => sendCase('obj', scale(100_000, 1000), 'advanced') },
  { name: 'queue obj 2->2', unit: 'items/s', baseline: 'process.send advanced obj', fn: () => queueCase('obj', scale(800_000, 2000), 2, 2) },
  // the same, producers putMany in chunks of 64 and consumers getMany(256)
  { name: 'queue obj 1->1 batched', unit: 'items/s', baseline: 'process.send advanced obj', fn: () => queueCase('obj', scale(800_000, 2000), 1, 0, false, { batch: true }) },
  { name: 'queue obj 2->2 batched', unit: 'items/s', baseline: 'process.send advanced obj', fn: () => queueCase('obj', scale(800_000, 2000), 2, 2, false, { batch: true }) },
  // For reference (no row is measured against it): what a user who batches by hand gets from process.send.
  { name: 'process.send advanced obj, arrays of 64', unit: 'items/s', fn: () => sendCase('obj', scale(400_000, 1280), 'advanced', false, true) },
  { name: 'process.send json obj', unit: 'items/s', fn: () => sendCase('obj', scale(200_000, 1000), 'json') },
  { name: 'unix socket frames obj (json)', unit: 'items/s', fn: () => socketCase('obj', scale(300_000, 1000)) },
  // raw bytes
  { name: 'queue 64 B 1->1', unit: 'items/s', baseline: 'python mp.Queue 64 B 1->1', fn: () => queueCase('64', scale(1_000_000, 2000)) },
  { name: 'process.send advanced 64 B', unit: 'items/s', fn: () => sendCase('64', scale(100_000, 1000), 'advanced') },
  { name: 'process.send json 64 B', unit: 'items/s', fn: () => sendCase('64', scale(250_000, 1000), 'json') },
  { name: 'unix socket frames 64 B', unit: 'items/s', fn: () => socketCase('64', scale(400_000, 1000)) },
  { name: 'queue 4 KiB 1->1', unit: 'items/s', baseline: 'python mp.Queue 4 KiB 1->1', fn: () => queueCase('4k', scale(300_000, 1000)) },
  { name: 'queue 4 KiB 2->2', unit: 'items/s', baseline: 'python mp.Queue 4 KiB 1->1', fn: () => queueCase('4k', scale(300_000, 1000), 2, 2) },
  { name: 'process.send advanced 4 KiB', unit: 'items/s', fn: () => sendCase('4k', scale(60_000, 1000), 'advanced') },
  { name: 'process.send json 4 KiB', unit: 'items/s', fn: () => sendCase('4k', scale(60_000, 1000), 'json') },
  { name: 'unix socket frames 4 KiB', unit: 'items/s', fn: () => socketCase('4k', scale(150_000, 1000)) },
  { name: 'queue 1 MiB 1->1', unit: 'MB/s', baseline: 'memcpy 1 MiB blocks over a 64 MiB region', fn: () => queueCase('1m', scale(3000, 100), 1, 0, true) },
  { name: 'queue 1 MiB 1->1 getBytes into', unit: 'MB/s', baseline: 'memcpy 1 MiB blocks over a 64 MiB region', fn: () => queueCase('1m', scale(3000, 100), 1, 0, true, { into: true }) },
  { name: 'queue 1 MiB 1->1 out of line', unit: 'MB/s', baseline: 'memcpy 1 MiB blocks over a 64 MiB region', fn: () => queueCase('1m', scale(1000, 100), 1, 0, true, { ring: MiB }) },
  { name: 'process.send advanced 1 MiB', unit: 'MB/s', fn: () => sendCase('1m', scale(300, 20), 'advanced', true) },
  { name: 'unix socket frames 1 MiB', unit: 'MB/s', fn: () => socketCase('1m', scale(500, 20), true) },
  { name: 'memcpy 1 MiB', unit: 'MB/s', fn: () => memcpyCase() },
  { name: 'memcpy 1 MiB blocks over a 64 MiB region', unit: 'MB/s', fn: () => memcpyCase(64 * MiB) },
];
if (py) {
  cases.push(
    { name: 'python mp.Queue obj 1->1', unit: 'items/s', fn: () => pythonCase('obj', scale(120_000, 1000)) },
    { name: 'python mp.Queue obj 2->2', unit: 'items/s', fn: () => pythonCase('obj', scale(120_000, 1000), '2to2') },
    { name: 'python mp.Queue 64 B 1->1', unit: 'items/s', fn: () => pythonCase('64', scale(120_000, 1000)) },
    { name: 'python mp.Queue 4 KiB 1->1', unit: 'items/s', fn: () => pythonCase('4k', scale(100_000, 1000)) },
    { name: 'python mp.Queue 1 MiB 1->1', unit: 'MB/s', fn: () => pythonCase('1m', scale(300, 20), '1to1', true) },
  );
} else {
  // Without python3 the rows that compare with it have no baseline.
  for (const c of cases) if (c.baseline?.startsWith('python')) delete c.baseline;
}

// BENCH_ONLY=<regex>: run only the matching cases and the baselines they compare with; the
// results file is then left as it is.
const only = process.env.BENCH_ONLY ? new RegExp(process.env.BENCH_ONLY) : undefined;
const picked = only ? cases.filter((c) => only.test(c.name) || cases.some((d) => only.test(d.name) && d.baseline === c.name)) : cases;
if (picked.length === 0) throw new Error(`BENCH_ONLY=${process.env.BENCH_ONLY} matches no case`);

try {
  await runBench({ package: '@ipc/queue', runs: Number(process.env.BENCH_RUNS) || 5, cases: picked, write: !only });
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
