import { afterEach, describe, expect, it } from 'vitest';
import { Queue } from '@ipc/queue';
import { Fixtures, auditKillLoop, shmNames, until } from './helpers.js';

const fx = new Fixtures();
afterEach(() => fx.dispose());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('Queue under SIGKILL', () => {
  it.each([
    ['put and get', 26, 0, 0],
    ['putMany and getMany', 16, 7, 20],
  ])('loses no committed item, duplicates none and never hangs when producers and consumers are killed at random moments (%s)', async (_how, rounds, chunk, max) => {
    // rounds: producer ids, and as many consumer ids (26: 52 kills in all)
    const each = 20_000;
    const q = fx.queue(new Queue<[number, number, Uint8Array?]>({ capacityBytes: 64 * 1024, maxsize: 50 }));
    const tally = fx.segment((rounds * each + 1) * 4);
    const log = fx.segment(3000 * 4);
    const seen = new Int32Array(tally.buffer);
    const l = new Int32Array(log.buffer);
    // Two producers and two consumers per round, each killed at its own random instant (process
    // start-up is what costs: this machine has two cores).
    for (let round = 0; round < rounds / 2; round++) {
      const ids = [0, 1].map((k) => round * 2 + k);
      const victims = ids.flatMap((r) => [
        fx.process('victim-producer.mjs', [q, log, r, each, true, chunk]),
        fx.process('victim-consumer.mjs', [q, tally, each, log, r, max]),
      ]);
      await until(() => {
        const dead = victims.find((v) => !v.alive);
        if (dead) throw dead.error ?? new Error(`a victim exited early with ${dead.exitCode}`);
        return ids.every((r) => Atomics.load(l, 1000 + r) === 1 && Atomics.load(l, 2000 + r) === 1);
      });
      await Promise.all(
        victims.map(async (v) => {
          await sleep(Math.random() * 40);
          v.kill();
          await v.join({ timeout: 20_000 }).catch(() => undefined);
          expect(v.exitCode).toBe(-9);
        }),
      );
      fx.runners.splice(0);
    }
    let byVictims = 0;
    for (let k = 0; k < rounds * each; k++) byVictims += seen[k]!;
    expect(byVictims).toBeGreaterThan(0);
    // Whatever is left is drained here: the queue still works after 100 kills.
    auditKillLoop(q, seen, l, rounds, each, { chunk: chunk || 1, batch: max || 1 });
    q.sweep();
    expect(shmNames(`${q.name}-o`)).toEqual([]);
    await q.put([999, 0]);
    expect(await q.get({ timeout: 5_000 })).toEqual([999, 0]);
  }, 120_000);
});
