// node examples/pipeline.mjs: two producer processes and three consumer processes on one queue.
import { Process, processArgs } from '@ipc/core';
import { JoinableQueue } from '@ipc/queue';

const role = process.env.PIPELINE_ROLE;
const self = new URL(import.meta.url);

if (role === 'producer') {
  const [jobs, id] = await processArgs();
  for (let n = 0; n < 10_000; n++) await jobs.put({ producer: id, n });
  // Exiting with jobs still queued is fine: nothing waits for them to be taken.
} else if (role === 'consumer') {
  const [jobs] = await processArgs();
  let done = 0;
  for await (const job of jobs) {
    if (job.n >= 0) done++;
    jobs.taskDone();
  }
  console.log(`consumer ${process.pid} did ${done} jobs`);
} else {
  const jobs = new JoinableQueue({ maxsize: 1000 });
  const start = (r, args) => new Process(self, { args, env: { PIPELINE_ROLE: r } }).start();
  const producers = [0, 1].map((id) => start('producer', [jobs, id]));
  const consumers = [0, 1, 2].map(() => start('consumer', [jobs]));
  await Promise.all(producers.map((p) => p.join()));
  await jobs.join({ timeout: 30_000 }); // every job was marked done
  await jobs.close(); // the consumers' loops end once the queue is drained
  await Promise.all(consumers.map((c) => c.join()));
  console.log('left in the queue:', jobs.size());
  await jobs[Symbol.asyncDispose]();
}
