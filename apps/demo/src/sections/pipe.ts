import { Process } from '@ipc/core';
import { Pipe } from '@ipc/pipe';
import type { Section } from '../lib/section.js';

export const pipeSection: Section = {
  name: 'pipe',
  title: 'Pipe: ping-pong with a child; two children talking to each other directly',
  async run({ say, child }) {
    const [mine, theirs] = await Pipe();
    const ponger = new Process(child('pipe-pong'), { name: 'ponger', args: [theirs], execArgv: [] }).start();
    for (let i = 1; i <= 3; i++) {
      const t = performance.now();
      await mine.send({ ping: i, sentAt: new Date() });
      const reply = (await mine.recv({ timeout: 10_000 })) as { pong: number; by: number };
      const note = i === 1 ? ' (the child was still starting)' : '';
      say(`ping ${i} -> pong ${reply.pong} from pid ${reply.by} in ${(performance.now() - t).toFixed(2)} ms${note}`);
    }
    // The first few thousand round trips run while V8 is still compiling both ends: time the rest.
    const warmup = 3000;
    const rounds = 5000;
    let t = 0;
    for (let i = 0; i < warmup + rounds; i++) {
      if (i === warmup) t = performance.now();
      await mine.send({ ping: i });
      await mine.recv();
    }
    say(`${rounds} round trips of small objects after ${warmup} to warm up: ${(((performance.now() - t) * 1000) / rounds).toFixed(1)} us each`);
    await mine.close();
    await ponger.join({ timeout: 10_000 });

    const [left, right] = await Pipe();
    const a = new Process(child('pipe-talker'), { name: 'alice', args: [left, 'alice', true], execArgv: [], stdio: 'pipe' }).start();
    const b = new Process(child('pipe-talker'), { name: 'bob', args: [right, 'bob', false], execArgv: [], stdio: 'pipe' }).start();
    const lines: string[] = [];
    for (const p of [a, b]) p.stdout!.on('data', (d: Buffer) => lines.push(...d.toString().trim().split('\n')));
    await Promise.all([a.join({ timeout: 10_000 }), b.join({ timeout: 10_000 })]);
    say('both ends of one pipe given to two children; the parent closed its copies:');
    for (const l of lines) say(`  ${l}`);
  },
};
