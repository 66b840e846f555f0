import { Process } from '@ipc/core';
import { SharedArray, Value } from '@ipc/shm';
import type { Section } from '../lib/section.js';

export const shmSection: Section = {
  name: 'shm',
  title: 'Shared memory: several processes counting into one Value, exactly',
  async run({ say, child }) {
    const workers = 4;
    const each = 25_000;
    await using counter = new Value('i32', 0);
    await using perWorker = new SharedArray('u32', workers);
    say(`a Value in /dev/shm/${counter.name}, ${workers} processes adding 1 to it ${each.toLocaleString('en')} times each`);
    const procs = Array.from({ length: workers }, (_, i) =>
      new Process(child('value-counter'), { name: `counter-${i}`, args: [counter, perWorker, i, each], execArgv: [] }).start(),
    );
    const started = performance.now();
    for (const p of procs) await p.join({ timeout: 60_000 });
    const ms = performance.now() - started;
    say(`each process counted ${perWorker.toArray().map((n) => n.toLocaleString('en')).join(', ')}`);
    say(`the Value reads ${counter.value.toLocaleString('en')} (expected ${(workers * each).toLocaleString('en')}): no update lost, no lock, ${Math.round(ms)} ms`);
  },
};
