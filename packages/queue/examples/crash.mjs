// node examples/crash.mjs: a consumer is SIGKILLed mid-stream; the other one carries on and no
// item is delivered twice.
import { Process, processArgs } from '@ipc/core';
import { Queue } from '@ipc/queue';

const role = process.env.CRASH_ROLE;
const self = new URL(import.meta.url);
const TOTAL = 20_000;

if (role === 'producer') {
  const [jobs] = await processArgs();
  for (let n = 0; n < TOTAL; n++) await jobs.put(n);
  await jobs.close(); // no more jobs: consumers stop once the queue is drained
} else if (role === 'consumer') {
  const [jobs, done] = await processArgs();
  for await (const n of jobs) await done.put(n); // report each job taken
  await done.put(-1);
} else {
  const jobs = new Queue({ maxsize: 100 });
  const done = new Queue();
  const start = (r, args) => new Process(self, { args, env: { CRASH_ROLE: r } }).start();
  const producer = start('producer', [jobs]);
  const victim = start('consumer', [jobs, done]);
  const survivor = start('consumer', [jobs, done]);
  setTimeout(() => victim.kill(), 300); // SIGKILL, wherever it is: inside get(), holding the lock...
  const seen = new Set();
  let duplicates = 0;
  let finished = 0;
  while (finished < 1) {
    const n = await done.get({ timeout: 30_000 });
    if (n === -1) finished++;
    else if (seen.has(n)) duplicates++;
    else seen.add(n);
  }
  await Promise.all([producer.join(), survivor.join(), victim.join().catch(() => {})]);
  console.log(`victim exit ${victim.exitCode}; ${seen.size} of ${TOTAL} jobs reported, ${duplicates} duplicates,`,
    `${TOTAL - seen.size} taken by the victim as it died; dead lock holders recovered: ${jobs.stats().ownerDied}`);
  await jobs[Symbol.asyncDispose]();
  await done[Symbol.asyncDispose]();
}
