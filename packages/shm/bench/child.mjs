// Bench peer. node child.mjs <mode> <name> <rounds>
//   send: echo process.send messages; async|sync: answer odd words with the next even one;
//   add: Value.open(name).add(1) <rounds> times after the start flag.
import { SharedMemory, Value, notify, wait, waitSync } from '../dist/index.js';
const [mode, name, roundsArg, spinArg] = process.argv.slice(2);
const spin = spinArg === 'true';
const rounds = Number(roundsArg);
if (mode === 'send') {
  process.on('message', (m) => process.send(m));
} else if (mode === 'add') {
  const v = await Value.open(name);
  const flag = new Int32Array(SharedMemory.open(`${name}-go`).buffer);
  process.send('ready');
  let cur;
  while ((cur = Atomics.load(flag, 0)) === 0) await wait(flag, 0, cur);
  for (let i = 0; i < rounds; i++) v.add(1);
  process.send('done');
} else {
  const v = new Int32Array(SharedMemory.open(name).buffer);
  process.send('ready');
  for (let i = 0; i < rounds; i++) {
    const want = 2 * i + 1;
    let cur;
    while ((cur = Atomics.load(v, 0)) !== want) {
      if (mode === 'sync') waitSync(v, 0, cur);
      else await wait(v, 0, cur, { spin });
    }
    Atomics.store(v, 0, want + 1);
    notify(v, 0);
  }
  process.disconnect();
}
