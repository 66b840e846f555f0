import type { Lock } from '@ipc/semaphore';
import type { Value } from '@ipc/shm';

export async function main(lock: Lock, holding: Value<'i32'>): Promise<void> {
  await lock.acquire();
  holding.store(1);
  await new Promise(() => setInterval(() => {}, 1_000)); // hold it until killed
}
