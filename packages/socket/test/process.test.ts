import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Process, Thread } from '@ipc/core';
import { Listener, connect } from '../src/index.js';
import { selfSignedCert, tempDir } from './helpers.js';

const fixture = new URL('./fixtures/socket-child.mjs', import.meta.url);
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

function start(args: unknown[]): Process {
  const p = new Process(fixture, { args }).start();
  cleanups.push(() => p[Symbol.asyncDispose]());
  return p;
}

/** A fresh private directory, removed after the test. */
function tmp(): string {
  const t = tempDir();
  cleanups.push(t.cleanup);
  return t.dir;
}

/**
 * A listener (closed after the test) serving requests: it records each one in `reports` and answers
 * the child's first request (the one that says `from`) with `answer`.
 */
async function reportingListener(address: Parameters<typeof Listener.listen>[0], options: Parameters<typeof Listener.listen>[1], answer: unknown) {
  const l = await Listener.listen(address, options);
  cleanups.push(() => l.close());
  const reports: unknown[] = [];
  void l.serve((req) => {
    reports.push(req);
    return (req as { from?: string }).from ? answer : undefined;
  });
  return { l, reports };
}

describe('handles: a child connects itself', () => {
  it('passes a Listener with authkey over a Unix path; the child requests and reports', async () => {
    const { l, reports } = await reportingListener(join(tmp(), 's2'), { authkey: 'family' }, { hello: 'child' });
    const child = start([l, 'request']);
    expect(await child.join({ timeout: 20_000 })).toBe(0);
    expect(reports).toEqual([{ from: 'child', pid: child.pid }, { got: { hello: 'child' } }]);
  });

  it('passes a TLS Listener over TCP; the child trusts its certificate', async () => {
    const { key, cert } = selfSignedCert();
    const { l, reports } = await reportingListener({ host: '127.0.0.1', port: 0 }, { authkey: 'k', tls: { key, cert } }, 'welcome');
    const child = start([l, 'request']);
    expect(await child.join({ timeout: 20_000 })).toBe(0);
    expect(reports[1]).toEqual({ got: 'welcome' });
  });

  it('passes a Client: the child opens its own connection to the same address', async () => {
    const { l, reports } = await reportingListener(join(tmp(), 's'), undefined, 'hi');
    const mine = await connect(l.address);
    cleanups.push(() => mine.close());
    const child = start([mine, 'request']);
    expect(await child.join({ timeout: 20_000 })).toBe(0);
    expect(reports[1]).toEqual({ got: 'hi' });
    expect(await mine.request('me too', { timeout: 5000 })).toBeNull();
  });
});

describe('handles: a worker thread connects itself too', () => {
  it('passes a Listener to a Thread', async () => {
    const { l, reports } = await reportingListener(join(tmp(), 's'), { authkey: 'k' }, 'hello thread');
    const th = new Thread(fixture, { args: [l, 'request'] }).start();
    cleanups.push(() => th[Symbol.asyncDispose]());
    expect(await th.join({ timeout: 20_000 })).toBe(0);
    expect(reports[1]).toEqual({ got: 'hello thread' });
  });
});

describe('a peer killed mid-message', () => {
  it('rejects the pending recv with ERR_IPC_CLOSED promptly, and the listener goes on', async () => {
    const l = await Listener.listen(join(tmp(), 's'));
    cleanups.push(() => l.close());
    const child = start([l, 'half-frame']);
    const died = child.join().then((code) => {
      throw new Error(`the child exited (${code}) before connecting`);
    });
    died.catch(() => {});
    const conn = await Promise.race([l.accept({ timeout: 20_000 }), died]);
    cleanups.push(() => conn.close());
    const pending = conn.recv();
    expect(await conn.poll(200)).toBe(false);
    child.kill();
    await expect(pending).rejects.toMatchObject({ code: 'ERR_IPC_CLOSED' });
    const again = await connect(l.address);
    cleanups.push(() => again.close());
    const s = await l.accept({ timeout: 5000 });
    cleanups.push(() => s.close());
    await again.send('ok');
    expect(await s.recv()).toBe('ok');
  });
});
