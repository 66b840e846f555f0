import { connectionConformance, lockConformance, MemoryLock, MemoryQueue, memoryPair, queueConformance } from '@ipc/core/testing';

// The kit checks itself against the in-memory reference implementations.
connectionConformance('in-memory pair', async () => {
  const [a, b] = memoryPair({ maxMessageBytes: 4 * 1024 * 1024 });
  return { a, b };
}, { maxMessageBytes: 4 * 1024 * 1024 });

queueConformance('in-memory queue, bounded', async () => {
  const queue = new MemoryQueue({ maxsize: 8, maxItemBytes: 1024 });
  return { queue, putBadBytes: (bytes: Uint8Array) => void queue.putRaw(bytes) };
}, { maxsize: 8, maxItemBytes: 1024, badBytes: true });

queueConformance('in-memory queue, unbounded', async () => {
  return { queue: new MemoryQueue() };
});

lockConformance('in-memory lock', async () => {
  const lock = new MemoryLock();
  return {
    lock,
    // Not reentrant: acquiring it again is another owner.
    holdElsewhere: async () => {
      const g = await lock.acquire({ timeout: 5000 });
      return { release: async () => g.release() };
    },
  };
});
