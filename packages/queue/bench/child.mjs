// Benchmark peer. argv: role, kind, count, [queue name | socket path | serialization], warm.
// First moves `warm` items the same way (JIT, buffers, the ring's pages: every peer, baselines
// included, is measured warm), then sends 'ready', waits for 'go', runs `count`, and (consumers)
// sends 'done'.
import net from 'node:net';

const [role, kind, countText, arg, warmText = '0'] = process.argv.slice(2);
const count = Number(countText);
const warm = Number(warmText);

export function makeItem(kind, i, forJson = false) {
  if (kind === 'obj') return { id: i, name: 'item', tags: ['a', 'b'], score: 1.5, ok: true };
  const size = kind === '64' ? 64 : kind === '4k' ? 4096 : 1 << 20;
  if (forJson) return 'x'.repeat(size);
  const b = Buffer.alloc(size, i & 255);
  return b;
}

const go = new Promise((resolve) => process.on('message', (m) => m === 'go' && resolve()));

// The queue roles: open the queue and make the items, move `warm` items, say ready, run the work on 'go', say done. `-batch` roles use
// putMany in chunks of 64 (the same chunk array each time: items are encoded as they go in) and
// getMany(256) instead of one await per item.
const queueWork = {
  'queue-produce': (q) => {
    const items = Array.from({ length: 16 }, (_, i) => makeItem(kind, i));
    return async (count) => {
      for (let i = 0; i < count; i++) await q.put(items[i & 15]);
    };
  },
  'queue-produce-batch': (q) => {
    const chunk = Array.from({ length: 64 }, (_, i) => makeItem(kind, i & 15));
    return async (count) => {
      for (let i = 0; i < count; i += 64) await q.putMany(count - i >= 64 ? chunk : chunk.slice(0, count - i));
    };
  },
  'queue-consume': (q) => async (count) => {
    for (let i = 0; i < count; i++) await q.get();
  },
  'queue-consume-batch': (q) => async (count) => {
    for (let got = 0; got < count; ) got += (await q.getMany(Math.min(256, count - got))).length;
  },
};

if (Object.hasOwn(queueWork, role)) {
  const { Queue } = await import('@ipc/queue');
  const work = queueWork[role](Queue.open(arg));
  await work(warm);
  process.send('ready');
  await go;
  await work(count);
  process.send('done');
  process.disconnect();
} else if (role === 'send-produce' || role === 'send-produce-batch') {
  const json = arg === 'json';
  const items = Array.from({ length: 16 }, (_, i) => makeItem(kind, i, json));
  // `-batch`: arrays of 64 items, one message each (the same array each time: serialized as sent).
  const step = role === 'send-produce-batch' ? 64 : 1;
  const chunk = Array.from({ length: 64 }, (_, i) => items[i & 15]);
  // Waits for the channel to flush every 256 messages: the fork channel buffers without bound.
  const send = async (count) => {
    for (let i = 0, m = 0; i < count; i += step, m++) {
      const msg = step === 1 ? items[i & 15] : count - i >= 64 ? chunk : chunk.slice(0, count - i);
      if ((m & 255) === 255) await new Promise((r) => process.send(msg, r));
      else process.send(msg);
    }
  };
  await send(warm);
  process.send('ready');
  await go;
  await send(count);
  await new Promise((r) => process.send('end', r));
  process.disconnect();
} else if (role === 'socket-produce') {
  const socket = net.connect(arg);
  await new Promise((r) => socket.once('connect', r));
  const items = Array.from({ length: 16 }, (_, i) => {
    const v = makeItem(kind, i);
    const payload = kind === 'obj' ? Buffer.from(JSON.stringify(v)) : v;
    const frame = Buffer.allocUnsafe(4 + payload.length);
    frame.writeUInt32BE(payload.length, 0);
    payload.copy(frame, 4);
    return frame;
  });
  const write = async (count) => {
    for (let i = 0; i < count; i++) {
      if (!socket.write(items[i & 15])) await new Promise((r) => socket.once('drain', r));
    }
  };
  await write(warm);
  process.send('ready');
  await go;
  await write(count);
  socket.end();
  process.disconnect();
}
