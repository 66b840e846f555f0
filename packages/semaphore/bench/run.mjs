// @ipc/semaphore benchmarks: uncontended acquire+release pairs/s (sync and async) against Python
// multiprocessing.Lock and async-mutex; cross-process handoff round trips on a Semaphore pair
// (async, and blocking in worker threads) against process.send and a C futex ping-pong.
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { Mutex } from 'async-mutex';
import { percentile, python3Available, runBench, runPython, scale } from '../../../bench/lib.mjs';
import { runC, sendRoundTripP50 } from '../../../bench/helpers-wakeup.mjs';
import { Lock, Semaphore } from '../dist/index.js';

const CHILD = fileURLToPath(new URL('./child.mjs', import.meta.url));
// The same C baseline as @ipc/shm's bench, compiled from its source.
const FUTEX_PINGPONG_C = new URL('../../shm/bench/futex_pingpong.c', import.meta.url);
const PAIRS = scale(2_000_000, 50_000);
const ASYNC_PAIRS = scale(500_000, 20_000);
const ROUNDS = scale(3000, 200);

const lock = Lock.create();
const sem = Semaphore.create({ value: 4 });
process.on('exit', () => {
  lock.close();
  sem.close();
});

// A tight loop, as tight as the Python baseline's (`a(); r()` with bound methods).
function syncPairs(prim) {
  const t0 = performance.now();
  for (let i = 0; i < PAIRS; i++) prim.tryAcquire().release();
  return PAIRS / ((performance.now() - t0) / 1000);
}

async function asyncPairs(prim) {
  const t0 = performance.now();
  for (let i = 0; i < ASYNC_PAIRS; i++) (await prim.acquire()).release();
  return ASYNC_PAIRS / ((performance.now() - t0) / 1000);
}

async function asyncMutexPairs() {
  const mutex = new Mutex();
  const t0 = performance.now();
  for (let i = 0; i < ASYNC_PAIRS; i++) (await mutex.acquire())();
  return ASYNC_PAIRS / ((performance.now() - t0) / 1000);
}

const PY_PAIRS = scale(1_000_000, 20_000);
const PY_LOCK = `
import json, sys, time, multiprocessing as mp
n = int(sys.argv[1]); kind = sys.argv[2]
l = mp.Lock() if kind == 'lock' else mp.Semaphore(4)
a, r = l.acquire, l.release
t0 = time.perf_counter()
for _ in range(n):
    a(); r()
print(json.dumps(n / (time.perf_counter() - t0)))
`;

async function semaphoreHandoff(mode, spin = 0) {
  const ping = Semaphore.create({ value: 0, spin });
  const pong = Semaphore.create({ value: 0, spin });
  const child = fork(CHILD, [mode === 'async' ? 'async-pong' : 'sync-pong', ping.name, pong.name, String(ROUNDS), String(spin)]);
  try {
    await once(child, 'message');
    if (mode === 'async') {
      const times = [];
      for (let i = 0; i < ROUNDS; i++) {
        const t0 = performance.now();
        ping.release();
        await pong.acquire();
        times.push((performance.now() - t0) * 1000);
      }
      return percentile(times, 50);
    }
    const w = new Worker(new URL('./sync-worker.mjs', import.meta.url), { workerData: { role: 'ping', a: ping.name, b: pong.name, rounds: ROUNDS, spin } });
    try {
      await once(w, 'message');
      w.postMessage('go');
      const [times] = await once(w, 'message');
      return percentile([...times], 50);
    } finally {
      await w.terminate();
    }
  } finally {
    child.kill();
    for (const s of [ping, pong]) {
      s.close();
      s.unlink();
    }
  }
}

const py = python3Available();
const cases = [
  ...(py
    ? [
        { name: 'Python multiprocessing.Lock acquire+release', unit: 'ops/s', fn: () => runPython(PY_LOCK, { args: [String(PY_PAIRS), 'lock'] }) },
        { name: 'Python multiprocessing.Semaphore acquire+release', unit: 'ops/s', fn: () => runPython(PY_LOCK, { args: [String(PY_PAIRS), 'sem'] }) },
      ]
    : []),
  { name: 'async-mutex 0.5.0 acquire+release (one process)', unit: 'ops/s', fn: asyncMutexPairs },
  {
    name: 'Lock tryAcquire+release (sync)',
    unit: 'ops/s',
    baseline: py ? 'Python multiprocessing.Lock acquire+release' : undefined,
    fn: () => syncPairs(lock),
  },
  {
    name: 'Semaphore tryAcquire+release (sync)',
    unit: 'ops/s',
    baseline: py ? 'Python multiprocessing.Semaphore acquire+release' : undefined,
    fn: () => syncPairs(sem),
  },
  { name: 'Lock await acquire+release (async)', unit: 'ops/s', baseline: 'async-mutex 0.5.0 acquire+release (one process)', fn: () => asyncPairs(lock) },
  { name: 'Semaphore await acquire+release (async)', unit: 'ops/s', baseline: 'async-mutex 0.5.0 acquire+release (one process)', fn: () => asyncPairs(sem) },
  { name: 'process.send round trip p50', unit: 'us', higherIsBetter: false, fn: () => sendRoundTripP50(ROUNDS) },
  { name: 'C futex ping-pong p50', unit: 'us', higherIsBetter: false, fn: () => runC(FUTEX_PINGPONG_C, [String(ROUNDS)]) },
  {
    name: 'Semaphore pair handoff, async, p50',
    unit: 'us',
    higherIsBetter: false,
    baseline: 'process.send round trip p50',
    fn: () => semaphoreHandoff('async'),
  },
  {
    name: 'Semaphore pair handoff, acquireSync in workers, p50',
    unit: 'us',
    higherIsBetter: false,
    baseline: 'C futex ping-pong p50',
    fn: () => semaphoreHandoff('sync'),
  },
  {
    name: 'Semaphore pair handoff, async, spin 50 us, p50',
    unit: 'us',
    higherIsBetter: false,
    baseline: 'process.send round trip p50',
    fn: () => semaphoreHandoff('async', 50),
  },
  {
    name: 'Semaphore pair handoff, acquireSync in workers, spin 50 us, p50',
    unit: 'us',
    higherIsBetter: false,
    baseline: 'C futex ping-pong p50',
    fn: () => semaphoreHandoff('sync', 50),
  },
];

await runBench({ package: '@ipc/semaphore', runs: 5, cases });
