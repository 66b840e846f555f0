import { IpcError, Process } from '@ipc/core';
import { Queue } from '@ipc/queue';
import { SharedArray } from '@ipc/shm';
import type { Section } from '../lib/section.js';

export const queueSection: Section = {
  name: 'queue',
  title: 'Queue: producer and consumer processes; a producer killed mid-stream, nothing torn',
  async run({ say, child }) {
    const producers = 2;
    const consumers = 2;
    const each = 20_000;
    await using queue = new Queue<{ from: number; seq: number; text: string } | null>({ maxsize: 1000 });
    await using taken = new SharedArray('u32', consumers);
    say(`${producers} producers put ${each.toLocaleString('en')} items each into a Queue (maxsize 1000); ${consumers} consumers take them`);
    const started = performance.now();
    const cons = Array.from({ length: consumers }, (_, i) =>
      new Process(child('queue-consumer'), { name: `consumer-${i}`, args: [queue, taken, i], execArgv: [] }).start(),
    );
    const prods = Array.from({ length: producers }, (_, i) =>
      new Process(child('queue-producer'), { name: `producer-${i}`, args: [queue, i, each], execArgv: [] }).start(),
    );
    for (const p of prods) await p.join({ timeout: 60_000 });
    for (let i = 0; i < consumers; i++) await queue.put(null); // one stop sign per consumer
    for (const c of cons) await c.join({ timeout: 60_000 });
    const seconds = (performance.now() - started) / 1000;
    const counts = taken.toArray() as number[];
    const total = counts.reduce((a, b) => a + b, 0);
    say(`consumers took ${counts.map((n) => n.toLocaleString('en')).join(' + ')} = ${total.toLocaleString('en')} items, in order per producer, in ${seconds.toFixed(2)} s`);

    await using crashQueue = new Queue<{ from: number; seq: number; text: string }>({ capacityBytes: 1 << 20 });
    const victim = new Process(child('queue-producer'), { name: 'victim', args: [crashQueue, 9, 1_000_000], execArgv: [] }).start();
    while ((crashQueue.size()) < 2000) await new Promise((r) => setTimeout(r, 5));
    victim.kill();
    await victim.join({ timeout: 10_000 });
    say(`a producer was SIGKILLed in the middle of its puts`);
    let n = 0;
    for (;;) {
      let item: { seq: number; text: string };
      try {
        // A wait, not tryGet: the victim may have died holding the queue's lock, which the next
        // waiter recovers within the lock's owner-check interval.
        item = await crashQueue.get({ timeout: 1500 });
      } catch (err) {
        if (IpcError.is(err, 'ERR_IPC_TIMEOUT')) break;
        throw err;
      }
      if (item.seq !== n || item.text !== `item ${n}`) throw new Error(`item ${n} is damaged: ${JSON.stringify(item)}`);
      n++;
    }
    await crashQueue.put({ from: 0, seq: 0, text: 'still works' });
    say(`the queue held ${n.toLocaleString('en')} whole items, 0..${n - 1} in order, none torn; and it still takes puts: '${(await crashQueue.get()).text}'`);
  },
};
