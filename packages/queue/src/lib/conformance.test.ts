import { queueConformance } from '@ipc/core/testing';
import { JoinableQueue, Queue, SimpleQueue } from '../index.js';

const factory = (make: () => Queue<unknown>) => async () => {
  const queue = make();
  return {
    queue,
    attach: async () => Queue.open(queue.name),
    putBadBytes: (bytes: Uint8Array) => queue.putBytes(bytes),
  };
};

queueConformance('Queue', factory(() => new Queue({ maxsize: 8, maxItemBytes: 4096 })), { maxsize: 8, maxItemBytes: 4096, badBytes: true });
queueConformance('Queue, out-of-line items', factory(() => new Queue({ capacityBytes: 4096 })), { badBytes: true });
queueConformance('SimpleQueue', factory(() => new SimpleQueue()), { maxItemBytes: 64 * 1024 * 1024, badBytes: true });
queueConformance('JoinableQueue', factory(() => new JoinableQueue({ maxsize: 5 })), { maxsize: 5, badBytes: true });
