import { Queue } from '@ipc/queue';
const q = new Queue({ capacityBytes: 64 << 20 });
const item = { id: 1, name: 'item', tags: ['a', 'b'], score: 1.5, ok: true };
const N = 300000;
for (let i = 0; i < N; i++) q.tryPut(item);
const t0 = performance.now();
for (let i = 0; i < N; i++) q.tryGet();
console.log('tryGet/s', N / (performance.now() - t0) * 1000 | 0);
await q[Symbol.asyncDispose]();
