import type { Section } from '../lib/section.js';
import { processSection } from './process.js';

/** The tour, in order. Each package adds its section here. */
export const sections: Section[] = [processSection];
