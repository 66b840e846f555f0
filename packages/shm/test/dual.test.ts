import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import * as here from '../src/index.js';

type Shm = typeof here;

// Two copies of the package in one thread (the ESM and the CJS build, or source and build) share the
// thread's doorbell: waits and notifies from either copy reach each other.
const other = createRequire(import.meta.url)('../dist/index.cjs') as Shm;

describe('two copies of @ipc/shm in one thread', () => {
  it('wait in one copy is woken by notify in the other, both ways', async () => {
    const shm = here.SharedMemory.create({ size: 16 });
    try {
      const v = new Int32Array(shm.buffer);
      const a = here.wait(v, 0, 0, { timeout: 5000 });
      const b = other.wait(v, 1, 0, { timeout: 5000 });
      expect(other.notify(v, 0)).toBe(1);
      expect(here.notify(v, 1)).toBe(1);
      expect(await Promise.all([a, b])).toEqual(['ok', 'ok']);
    } finally {
      shm.unlink();
    }
  });
});
