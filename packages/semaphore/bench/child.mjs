// Bench child process. argv: mode, ...; tells the parent 'ready' over the fork channel.
import { Worker } from 'node:worker_threads';
import { Semaphore } from '../dist/index.js';

const [mode, a, b, rounds, spinArg] = process.argv.slice(2);
const spin = Number(spinArg ?? 0);

if (mode === 'async-pong') {
  // Waits on A, answers on B, `rounds` times.
  const ping = Semaphore.open(a, { spin });
  const pong = Semaphore.open(b, { spin });
  process.send('ready');
  for (let i = 0; i < Number(rounds); i++) {
    await ping.acquire();
    pong.release();
  }
  process.exit(0);
} else if (mode === 'sync-pong') {
  // The same, blocking, in a worker thread (acquireSync is for worker threads).
  const w = new Worker(new URL('./sync-worker.mjs', import.meta.url), { workerData: { role: 'pong', a, b, rounds: Number(rounds), spin } });
  w.once('message', () => process.send('ready'));
  w.once('exit', () => process.exit(0));
}
