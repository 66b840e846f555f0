export { connectionConformance, lockConformance, queueConformance, settledCode } from './lib/conformance.js';
export type {
  ConnectionConformanceOptions,
  ConnectionPair,
  LockConformanceOptions,
  LockFixture,
  LockHolder,
  QueueConformanceOptions,
  QueueFixture,
} from './lib/conformance.js';
export { MemoryConnection, MemoryLock, MemoryQueue, memoryPair } from './lib/memory.js';
export type { MemoryQueueOptions } from './lib/memory.js';
