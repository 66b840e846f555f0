// node examples/thread-recover.mjs — a worker thread is terminated holding the lock; the next owner is told.
import { Thread, processName } from '@ipc/core';
import { Event, Lock } from '@ipc/semaphore';

export async function main(lock, held) {
  lock.acquireSync(); // ...and never releases it
  held.set();
  for (;;); // busy in synchronous code: alive, however long it takes
}

if (processName() === undefined) {
  const lock = Lock.create({ ownerCheckInterval: 200 }); // look for a dead holder every 200 ms
  const held = Event.create();
  const thread = new Thread(new URL(import.meta.url), { args: [lock, held] }).start();
  await held.wait({ timeout: 10_000 });
  thread.terminate(); // worker.terminate(): this process lives on
  const guard = await lock.acquire({ timeout: 10_000 });
  console.log(`recovered, ownerDied: ${guard.ownerDied}`); // recovered, ownerDied: true
  guard.release();
  await thread.join().catch(() => {});
  lock.close();
  held.close();
}
