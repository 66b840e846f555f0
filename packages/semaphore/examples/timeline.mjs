// node examples/timeline.mjs — a Semaphore lets two of five processes in at once; prints a timeline.
import { Process, processName } from '@ipc/core';
import { SharedArray } from '@ipc/shm';
import { Semaphore } from '@ipc/semaphore';

const SLOT_MS = 100;

// Each child waits for a permit, "works" 3 slots, and records when it was inside.
export async function main(id, slots, log, t0) {
  const permit = await slots.acquire({ timeout: 10_000 });
  log.array[id * 2] = Math.round((Date.now() - t0) / SLOT_MS);
  await new Promise((r) => setTimeout(r, 3 * SLOT_MS));
  log.array[id * 2 + 1] = Math.round((Date.now() - t0) / SLOT_MS);
  permit.release();
}

if (processName() === undefined) {
  const slots = Semaphore.create({ value: 2 });
  const log = new SharedArray('i32', 10);
  const t0 = Date.now();
  const kids = Array.from({ length: 5 }, (_, id) => new Process(new URL(import.meta.url), { args: [id, slots, log, t0] }).start());
  await Promise.all(kids.map((k) => k.join({ timeout: 30_000 })));
  for (let id = 0; id < 5; id++) {
    const [from, to] = [log.array[id * 2], log.array[id * 2 + 1]];
    console.log(`process ${id} ${' '.repeat(from)}${'#'.repeat(Math.max(1, to - from))}`);
  }
  slots.close();
  log.close();
}
