// node examples/counter.mjs — four processes count into shared memory under one Lock.
import { Process, processName } from '@ipc/core';
import { Value } from '@ipc/shm';
import { Lock } from '@ipc/semaphore';

// Runs in each child: the Lock and the Value arrive live (revived from their handles).
export async function main(lock, hits) {
  for (let i = 0; i < 10_000; i++) {
    const guard = await lock.acquire({ timeout: 10_000 });
    try {
      hits.value = hits.value + 1; // a plain read-modify-write, made exact by the lock
    } finally {
      guard.release(); // or: await using guard = await lock.acquire() (TypeScript, Node 22+)
    }
  }
}

if (processName() === undefined) {
  const lock = Lock.create();
  const hits = new Value('i32', 0);
  const children = Array.from({ length: 4 }, () => new Process(new URL(import.meta.url), { args: [lock, hits] }).start());
  await Promise.all(children.map((c) => c.join({ timeout: 60_000 })));
  console.log(hits.value); // 40000
  lock.close();
  hits.close(); // the creator unlinks both segments when it exits
}
