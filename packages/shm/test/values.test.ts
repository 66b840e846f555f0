import { Process, Thread } from '@ipc/core';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { SharedArray, Value } from '../src/index.js';
import { child, fixture, killChildren, segmentsCreatedBy } from './helpers.js';

const made: Array<{ unlink(): void }> = [];
afterEach(async () => {
  await killChildren();
  for (const x of made.splice(0)) x.unlink();
});
afterAll(() => {
  expect(segmentsCreatedBy([process.pid])).toEqual([]);
});

describe('Value across processes', () => {
  it('Value.add without a lock is exact across N processes x M increments', async () => {
    const v = new Value('i32', 0);
    made.push(v);
    const N = 3;
    const M = 20_000;
    const results = await Promise.all(Array.from({ length: N }, () => child('value-adder.mjs', [v.name, String(M)]).done));
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    expect(v.value).toBe(N * M);
  });

  it('a Value and a SharedArray passed to a Process as arguments are live in the child', async () => {
    const v = new Value('i64', 10n);
    const a = new SharedArray('f64', [1]);
    made.push(v, a);
    const p = new Process(fixture('process-main.mjs'), { args: [v, a, 5n], execArgv: [] }).start();
    expect(await p.join({ timeout: 20_000 })).toBe(0);
    expect(v.value).toBe(15n);
    expect(a.get(0)).toBe(1.5);
  });
});

describe('Value in worker threads', () => {
  it('a Value and a SharedArray passed to a Thread as arguments are live in the worker', async () => {
    const v = new Value('i32', 1);
    const a = new SharedArray('f64', [2]);
    made.push(v, a);
    const t = new Thread(fixture('process-main.mjs'), { args: [v, a, 10] }).start();
    expect(await t.join({ timeout: 20_000 })).toBe(0);
    expect(v.value).toBe(11);
    expect(a.get(0)).toBe(2.5);
  });
});

describe('README example', () => {
  it('examples/counter.mjs counts 400000 across four processes and leaves nothing behind', async () => {
    const { execFileSync } = await import('node:child_process');
    const { fileURLToPath } = await import('node:url');
    const out = execFileSync(process.execPath, [fileURLToPath(new URL('../examples/counter.mjs', import.meta.url))], { encoding: 'utf8', timeout: 20_000 });
    expect(out.trim()).toBe('400000');
  });
});
