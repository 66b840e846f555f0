// @ipc/shm benchmarks: wake-up round trips (async, sync) against process.send and a C futex
// ping-pong; Value.add across two processes against Python Value(lock=True); bulk copy into a
// SharedArray against Buffer.copy.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { runC, sendRoundTripP50 } from '../../../bench/helpers-wakeup.mjs';
import { percentile, python3Available, runBench, runPython, scale } from '../../../bench/lib.mjs';
import { SharedArray, SharedMemory, Value, notify, wait, waitSync } from '../dist/index.js';

const CHILD = fileURLToPath(new URL('./child.mjs', import.meta.url));
const ROUNDS = scale(3000, 200);

function once(proc, event) {
  return new Promise((resolve) => proc.once(event, resolve));
}

async function futexRoundTrip(mode, spin = false) {
  const shm = SharedMemory.create({ size: 64 });
  const v = new Int32Array(shm.buffer);
  const child = fork(CHILD, [mode, shm.name, String(ROUNDS), String(spin)]);
  try {
    await once(child, 'message');
    const times = [];
    for (let i = 0; i < ROUNDS; i++) {
      const t0 = performance.now();
      Atomics.store(v, 0, 2 * i + 1);
      notify(v, 0);
      let cur;
      while ((cur = Atomics.load(v, 0)) !== 2 * i + 2) {
        if (mode === 'sync') waitSync(v, 0, cur, 5000);
        else await wait(v, 0, cur, { timeout: 5000, spin });
      }
      times.push((performance.now() - t0) * 1000);
    }
    return percentile(times, 50);
  } finally {
    child.kill();
    shm.unlink();
  }
}

function cFutex() {
  return runC(new URL('./futex_pingpong.c', import.meta.url), [String(ROUNDS)]);
}

const ADDS = scale(1_000_000, 20_000);
async function valueAdd() {
  const value = new Value('i32', 0);
  const go = SharedMemory.create({ name: `${value.name}-go`, size: 4 });
  const flag = new Int32Array(go.buffer);
  const kids = [0, 1].map(() => fork(CHILD, ['add', value.name, String(ADDS)]));
  try {
    await Promise.all(kids.map((k) => once(k, 'message')));
    const t0 = performance.now();
    Atomics.store(flag, 0, 1);
    notify(flag, 0);
    await Promise.all(kids.map((k) => once(k, 'message')));
    const seconds = (performance.now() - t0) / 1000;
    if (value.value !== 2 * ADDS) throw new Error(`lost updates: ${value.value}`);
    return (2 * ADDS) / seconds;
  } finally {
    for (const k of kids) k.kill();
    value.unlink();
    go.unlink();
  }
}

const PY_ADDS = scale(200_000, 5_000);
const PY_VALUE = `
import json, sys, time
from multiprocessing import Process, Value, Event
def work(v, go, n):
    go.wait()
    for _ in range(n):
        with v.get_lock():
            v.value += 1
if __name__ == '__main__':
    n = int(sys.argv[1])
    v = Value('i', 0, lock=True); go = Event()
    ps = [Process(target=work, args=(v, go, n)) for _ in range(2)]
    for p in ps: p.start()
    time.sleep(0.2)
    t0 = time.perf_counter(); go.set()
    for p in ps: p.join()
    dt = time.perf_counter() - t0
    assert v.value == 2 * n
    print(json.dumps(2 * n / dt))
`;
async function pythonValue() {
  // -c code runs as __main__ with fork start method on Linux (3.11), so the workers need no import.
  return runPython(PY_VALUE, { args: [String(PY_ADDS)] });
}

const BULK = 64 * 1024 * 1024;
const source = Buffer.alloc(BULK, 7);
const plainTarget = Buffer.alloc(BULK);
let sharedTarget;
function bulkShared() {
  sharedTarget ??= new SharedArray('u8', BULK);
  const reps = scale(10, 2);
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) sharedTarget.array.set(source);
  return (reps * BULK) / 1e6 / ((performance.now() - t0) / 1000);
}
function bulkPlain() {
  const reps = scale(10, 2);
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) source.copy(plainTarget);
  return (reps * BULK) / 1e6 / ((performance.now() - t0) / 1000);
}

const cases = [
  { name: 'process.send round trip p50', unit: 'us', higherIsBetter: false, fn: () => sendRoundTripP50(ROUNDS) },
  { name: 'C futex ping-pong p50', unit: 'us', higherIsBetter: false, fn: cFutex },
  { name: 'wait/notify async round trip p50', unit: 'us', higherIsBetter: false, baseline: 'process.send round trip p50', fn: () => futexRoundTrip('async') },
  { name: 'wait/notify async + adaptive spin p50', unit: 'us', higherIsBetter: false, baseline: 'process.send round trip p50', fn: () => futexRoundTrip('async', true) },
  { name: 'waitSync/notify round trip p50', unit: 'us', higherIsBetter: false, baseline: 'C futex ping-pong p50', fn: () => futexRoundTrip('sync') },
  { name: 'Value.add, 2 processes', unit: 'ops/s', fn: valueAdd, baseline: python3Available() ? 'Python Value(lock=True) += 1, 2 processes' : undefined },
  { name: 'Buffer.copy 64 MiB', unit: 'MB/s', fn: bulkPlain },
  { name: 'SharedArray u8 .set 64 MiB', unit: 'MB/s', baseline: 'Buffer.copy 64 MiB', fn: bulkShared },
];
if (python3Available()) {
  cases.splice(4, 0, { name: 'Python Value(lock=True) += 1, 2 processes', unit: 'ops/s', fn: pythonValue });
}

await runBench({ package: '@ipc/shm', runs: 5, cases });
sharedTarget?.unlink();
