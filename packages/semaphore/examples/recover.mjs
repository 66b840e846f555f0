// node examples/recover.mjs — a process dies holding the lock; the next owner is told.
import { Process, processName } from '@ipc/core';
import { Event, Lock } from '@ipc/semaphore';

export async function main(lock, held) {
  await lock.acquire(); // ...and never releases it
  held.set();
  setInterval(() => {}, 1000);
}

if (processName() === undefined) {
  const lock = Lock.create({ ownerCheckInterval: 200 }); // look for a dead holder every 200 ms
  const held = Event.create();
  const child = new Process(new URL(import.meta.url), { args: [lock, held] }).start();
  await held.wait({ timeout: 10_000 });
  child.kill(); // SIGKILL: no cleanup runs in the child
  const guard = await lock.acquire({ timeout: 10_000 });
  console.log(`recovered, ownerDied: ${guard.ownerDied}`); // recovered, ownerDied: true
  guard.release();
  await child.join().catch(() => {});
  lock.close();
  held.close();
}
