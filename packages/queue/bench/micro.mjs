import { Queue } from '@ipc/queue';
const q = new Queue();
const mk = (i) => ({ id: i, name: 'item', tags: ['a', 'b'], score: 1.5, ok: true });
const chunk = Array.from({ length: 64 }, (_, i) => mk(i & 15));
const N = 2_000_000;
for (let rep = 0; rep < 3; rep++) {
  let tp = 0, tg = 0;
  for (let i = 0; i < N; i += 256) {
    const t0 = performance.now();
    for (let k = 0; k < 4; k++) await q.putMany(chunk);
    const t1 = performance.now();
    let got = 0;
    while (got < 256) got += (await q.getMany(256)).length;
    tg += performance.now() - t1; tp += t1 - t0;
  }
  console.log(`putMany ${(tp * 1e6 / N).toFixed(0)} ns/item, getMany ${(tg * 1e6 / N).toFixed(0)} ns/item`);
  tp = 0; tg = 0;
  for (let i = 0; i < N; i += 256) {
    const t0 = performance.now();
    for (let k = 0; k < 256; k++) await q.put(chunk[k & 63]);
    const t1 = performance.now();
    for (let k = 0; k < 256; k++) await q.get();
    tg += performance.now() - t1; tp += t1 - t0;
  }
  console.log(`put ${(tp * 1e6 / N).toFixed(0)} ns/item, get ${(tg * 1e6 / N).toFixed(0)} ns/item`);
}
await q[Symbol.asyncDispose]();
