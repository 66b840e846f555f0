export {
  DEFAULT_CAPACITY_BYTES,
  DEFAULT_MAX_ITEM_BYTES,
  JoinableQueue,
  MAX_CAPACITY_BYTES,
  MAX_GET_MANY,
  MAX_ITEM_BYTES_LIMIT,
  MAX_MAXSIZE,
  MAX_QUEUE_NAME_LENGTH,
  MIN_CAPACITY_BYTES,
  QUEUE_KIND,
  Queue,
  SimpleQueue,
} from './lib/queue.js';
export type { GetBytesOptions, OpenQueueOptions, QueueOptions } from './lib/queue.js';
