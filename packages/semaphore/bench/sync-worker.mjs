// Bench worker thread: the blocking half of the Semaphore ping-pong.
import { parentPort, workerData } from 'node:worker_threads';
import { Semaphore } from '../dist/index.js';

const { role, a, b, rounds, spin } = workerData;
const ping = Semaphore.open(a, { spin });
const pong = Semaphore.open(b, { spin });
if (role === 'pong') {
  parentPort.postMessage('ready');
  for (let i = 0; i < rounds; i++) {
    ping.acquireSync({ timeout: 10_000 });
    pong.release();
  }
} else {
  parentPort.once('message', () => {
    const times = new Float64Array(rounds);
    for (let i = 0; i < rounds; i++) {
      const t0 = performance.now();
      ping.release();
      pong.acquireSync({ timeout: 10_000 });
      times[i] = (performance.now() - t0) * 1000;
    }
    parentPort.postMessage(times);
  });
  parentPort.postMessage('ready');
}
