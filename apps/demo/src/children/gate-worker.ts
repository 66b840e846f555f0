import type { Semaphore } from '@ipc/semaphore';
import type { SharedArray } from '@ipc/shm';

export async function main(gate: Semaphore, events: SharedArray<'f64'>, index: number, epoch: number, holdMs: number): Promise<void> {
  await new Promise((r) => setTimeout(r, index * 20)); // arrive one after another
  using _guard = await gate.acquire({ timeout: 30_000 });
  events.set(2 * index, Date.now() - epoch);
  await new Promise((r) => setTimeout(r, holdMs));
  events.set(2 * index + 1, Date.now() - epoch);
}
