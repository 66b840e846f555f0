export { connectionConformance, queueConformance, settledCode } from './lib/conformance.js';
export type {
  ConnectionConformanceOptions,
  ConnectionPair,
  QueueConformanceOptions,
  QueueFixture,
} from './lib/conformance.js';
export { MemoryConnection, MemoryQueue, memoryPair } from './lib/memory.js';
export type { MemoryQueueOptions } from './lib/memory.js';
