import { Process } from '@ipc/core';
import { Lock, Semaphore } from '@ipc/semaphore';
import { SharedArray, Value } from '@ipc/shm';
import type { Section } from '../lib/section.js';

const SLOT_MS = 100;

function timeline(events: Float64Array | number[], workers: number, endMs: number): string[] {
  const slots = Math.ceil(endMs / SLOT_MS);
  const rows: string[] = [];
  for (let w = 0; w < workers; w++) {
    const enter = events[2 * w]!;
    const exit = events[2 * w + 1]!;
    let row = '';
    for (let s = 0; s < slots; s++) {
      const mid = (s + 0.5) * SLOT_MS;
      row += mid >= enter && mid < exit ? '█' : '·';
    }
    rows.push(`worker ${w}  ${row}  in at ${Math.round(enter)} ms, out at ${Math.round(exit)} ms`);
  }
  return rows;
}

export const semaphoreSection: Section = {
  name: 'semaphore',
  title: 'Semaphore and Lock: two of five processes at a time; a killed holder recovered',
  async run({ say, child }) {
    const workers = 5;
    await using gate = Semaphore.create({ value: 2 });
    await using events = new SharedArray('f64', workers * 2);
    const epoch = Date.now();
    say(`a Semaphore(2) and five processes, each holding it for 400 ms (one column = ${SLOT_MS} ms):`);
    const procs = Array.from({ length: workers }, (_, i) =>
      new Process(child('gate-worker'), { name: `worker-${i}`, args: [gate, events, i, epoch, 400], execArgv: [] }).start(),
    );
    for (const p of procs) await p.join({ timeout: 60_000 });
    const times = events.toArray() as number[];
    for (const line of timeline(times, workers, Math.max(...times))) say(`  ${line}`);
    let most = 0;
    for (let t = 0; t < Math.max(...times); t += 10) {
      let inside = 0;
      for (let w = 0; w < workers; w++) if (t >= times[2 * w]! && t < times[2 * w + 1]!) inside++;
      most = Math.max(most, inside);
    }
    say(`never more than ${most} inside at once`);

    await using lock = Lock.create({ ownerCheckInterval: 200 });
    await using holding = new Value('i32', 0);
    const holder = new Process(child('lock-holder'), { name: 'holder', args: [lock, holding], execArgv: [] }).start();
    while (holding.load() === 0) await new Promise((r) => setTimeout(r, 10));
    say(`process ${holder.pid} holds the Lock; killing it with SIGKILL while it holds it`);
    holder.kill();
    await holder.join({ timeout: 10_000 });
    const started = performance.now();
    using guard = await lock.acquire({ timeout: 10_000 });
    say(`acquired after ${Math.round(performance.now() - started)} ms, guard.ownerDied = ${guard.ownerDied} (Python would wait forever)`);
  },
};
