import { readFileSync, readdirSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { child, killChildren, uniqueName } from './helpers.js';

afterEach(killChildren);

const COUNT = 300;
// Enough that a bound on what stays mapped has room: up to ~160 were seen at any moment (GC timing),
// however many were made; without the external-memory reports nearly all of them stay.
const CHURN = 600;
const SIZE = 1 << 20;

// Mappings of unlinked segments whose name starts with `prefix` in /proc/<pid>/maps.
function mappedDeleted(pid: number, prefix: string): number {
  return readFileSync(`/proc/${pid}/maps`, 'utf8')
    .split('\n')
    .filter((l) => l.includes(`/dev/shm/${prefix}-`) && l.endsWith('(deleted)')).length;
}

describe('closed segments are unmapped without an explicit gc', () => {
  // V8 does not count SharedArrayBuffer backing stores toward its heap limits; each mapping is
  // reported as external memory instead, so V8 collects once about 64 MiB are outstanding. Without
  // that, nearly all 300 MiB stay mapped (and allocated in /dev/shm) until some unrelated GC.
  for (const where of ['main', 'worker'] as const) {
    it(`${CHURN} x 1 MiB created, touched, closed and unlinked in the ${where} thread stay bounded`, async () => {
      const prefix = uniqueName(`churn-${where}`);
      await using k = child('churn.mjs', [prefix, String(CHURN), String(SIZE), where]);
      expect(await k.line()).toBe(`done ${CHURN}`);
      const mapped = mappedDeleted(k.proc.pid!, prefix);
      expect(mapped).toBeLessThanOrEqual(CHURN / 2);
      expect(readdirSync('/dev/shm').filter((n) => n.startsWith(prefix))).toEqual([]);
    });
  }

  // Docker gives containers a 64 MiB /dev/shm. A private 16 MiB tmpfs (a user and mount namespace,
  // so nothing touches the real /dev/shm) is below what V8 lets pile up before it collects: a create
  // that finds it full must collect and retry (without that, the 16th segment fails with ENOSPC).
  for (const where of ['main', 'worker'] as const) {
    it(`${COUNT} x 1 MiB through a 16 MiB /dev/shm in the ${where} thread: a full /dev/shm collects and retries`, async () => {
      const mountTmpfs = 'mount -t tmpfs -o size=16m tmpfs /dev/shm && exec "$0" "$@"';
      const extra = ['--user', '--map-root-user', '--mount', 'sh', '-c', mountTmpfs, process.execPath];
      await using k = child('churn.mjs', [uniqueName('full'), String(COUNT), String(SIZE), where], 'unshare', extra);
      const line = await k.line().catch((err: unknown) => `${String(err)} (needs unshare(1) from util-linux and user namespaces)`);
      expect(line).toBe(`done ${COUNT}`);
    });
  }
});
