// examples/counter.mjs: node examples/counter.mjs
import { fork } from 'node:child_process';
import { SharedMemory, Value, notify, wait } from '@ipc/shm';

if (process.argv[2] === 'child') {
  const hits = await Value.open(process.argv[3]);
  const done = new Int32Array(SharedMemory.open(process.argv[4]).buffer);
  for (let i = 0; i < 100_000; i++) hits.add(1);      // atomic, no lock needed
  Atomics.add(done, 0, 1);
  notify(done, 0);                                      // wakes the parent's wait()
} else {
  const hits = new Value('i32', 0);
  const done = SharedMemory.create({ size: 4 });
  const flag = new Int32Array(done.buffer);
  for (let i = 0; i < 4; i++) fork(new URL(import.meta.url).pathname, ['child', hits.name, done.name]);
  let n;
  while ((n = Atomics.load(flag, 0)) < 4) await wait(flag, 0, n, { timeout: 10_000 });
  console.log(hits.value);                              // 400000
}
// The creator unlinks both segments when it exits.
