import type { Section } from '../lib/section.js';
import { pipeSection } from './pipe.js';
import { processSection } from './process.js';
import { queueSection } from './queue.js';
import { semaphoreSection } from './semaphore.js';
import { shmSection } from './shm.js';
import { socketSection } from './socket.js';

/** The tour, in order. Each package adds its section here. */
export const sections: Section[] = [processSection, shmSection, semaphoreSection, queueSection, pipeSection, socketSection];
