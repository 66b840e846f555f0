import { IpcError, Process } from '@ipc/core';
import type { Section } from '../lib/section.js';

export const processSection: Section = {
  name: 'process',
  title: 'Process: start children with arguments, collect exit codes, report a crash cleanly',
  async run({ say, child }) {
    const jobs = [
      { name: 'greeter', args: ['hello from the parent', new Map([['answer', 42]]), new Date(0)] },
      { name: 'counter', args: ['count to', 3n, { nested: [1, 2, 3] }] },
    ];
    const started = jobs.map((j) => new Process(child('echo'), { name: j.name, args: j.args, execArgv: [] }).start());
    for (const p of started) say(`started ${p.name} (pid ${p.pid})`);
    for (const p of started) say(`${p.name} exited with code ${await p.join({ timeout: 20_000 })}`);

    const crash = new Process(child('crash'), { name: 'crasher', execArgv: [], stdio: 'ignore' }).start();
    try {
      await crash.join({ timeout: 20_000 });
      say('crasher did not crash?');
    } catch (err) {
      if (!IpcError.is(err, 'ERR_IPC_PROCESS_FAILED')) throw err;
      const cause = err.cause as Error;
      const where = cause.stack?.split('\n').find((l) => l.includes('crash.js'))?.trim();
      say(`crasher failed: ${err.code}, exit code ${crash.exitCode}`);
      say(`  the child's error: ${cause.name}: ${cause.message}`);
      if (where) say(`  its stack, in the child: ${where.replace(/\(file:\/\/.*\/dist\//, '(dist/')}`);
    }

    const sleeper = new Process(child('sleep'), { name: 'sleeper', execArgv: [], stdio: 'ignore' }).start();
    await new Promise((r) => setTimeout(r, 200));
    sleeper.kill();
    say(`sleeper killed with SIGKILL: exit code ${await sleeper.join({ timeout: 20_000 })} (minus the signal number, as in Python)`);
  },
};
