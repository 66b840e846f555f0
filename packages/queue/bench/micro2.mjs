import { Queue } from '@ipc/queue';
const q = new Queue();
const mk = (i) => ({ id: i, name: 'item', tags: ['a', 'b'], score: 1.5, ok: true });
const chunk = Array.from({ length: 64 }, (_, i) => mk(i & 15));
const N = 4_000_000;
const mode = process.argv[2];
const t0 = performance.now();
for (let i = 0; i < N; i += 256) {
  if (mode === 'batch') {
    for (let k = 0; k < 4; k++) await q.putMany(chunk);
    let got = 0;
    while (got < 256) got += (await q.getMany(256)).length;
  } else {
    for (let k = 0; k < 256; k++) await q.put(chunk[k & 63]);
    for (let k = 0; k < 256; k++) await q.get();
  }
}
console.log(mode, ((performance.now() - t0) * 1e6 / N).toFixed(0), 'ns/item put+get');
await q[Symbol.asyncDispose]();
