import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { IpcError } from '@ipc/core';
import { Listener, connect } from '../src/index.js';
import { tempDir } from './helpers.js';

const python = process.env.PYTHON ?? 'python3';
const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url));
const hasPython = spawnSync(python, ['-c', 'import multiprocessing.connection'], { stdio: 'ignore' }).status === 0;
if (!hasPython && process.env.CI) throw new Error('python3 is required for the interop tests');

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

function runPython(script: string, args: string[]): { child: ChildProcess; lines: AsyncIterator<string>; exited: Promise<number | null> } {
  const child = spawn(python, [join(fixtures, script), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  return { child, lines, exited };
}

async function nextJson(lines: AsyncIterator<string>): Promise<unknown> {
  const { value, done } = await lines.next();
  if (done) throw new Error('python ended without output');
  return JSON.parse(value);
}

const BIG = Buffer.concat(Array.from({ length: 4096 }, () => Buffer.from(Array.from({ length: 256 }, (_, i) => i))));

describe.runIf(hasPython)('Python interop', () => {
  for (const handshake of ['3.11', '3.12'] as const) {
    for (const transport of ['unix', 'tcp'] as const) {
      it(`a Python client (${handshake} handshake) talks to our listener over ${transport}`, async () => {
        const t = tempDir();
        cleanups.push(t.cleanup);
        const listener = await Listener.listen(transport === 'unix' ? join(t.dir, 's') : { host: '127.0.0.1', port: 0 }, { wire: 'python', authkey: 'secret' });
        cleanups.push(() => listener.close());
        const a = listener.address;
        const py = runPython('py_client.py', [typeof a === 'string' ? a : `tcp:127.0.0.1:${(a as { port: number }).port}`, 'secret', handshake, fixtures]);
        const conn = await listener.accept({ timeout: 15_000 });
        cleanups.push(() => conn.close());
        for (let i = 0; i < 3; i++) {
          const msg = (await conn.recv({ timeout: 15_000 })) as { n: number; text: string };
          expect(msg).toEqual({ n: i, text: 'ü'.repeat(i) });
          await conn.send({ ...msg, node: true });
        }
        await conn.sendBytes(BIG);
        expect(await nextJson(py.lines)).toEqual([
          { n: 0, text: '', node: true },
          { n: 1, text: 'ü', node: true },
          { n: 2, text: 'üü', node: true },
          { bigLength: BIG.length, bigOk: true },
        ]);
        expect(await py.exited).toBe(0);
        await expect(conn.recv({ timeout: 5000 })).rejects.toMatchObject({ code: 'ERR_IPC_CLOSED' });
      });
    }

    it(`our client talks to a Python listener (${handshake} handshake)`, async () => {
      const t = tempDir();
      cleanups.push(t.cleanup);
      const path = join(t.dir, 'py.sock');
      const py = runPython('py_listener.py', [path, 'secret', handshake, fixtures]);
      expect(await nextJson(py.lines)).toBe(path);
      const client = await connect(path, { wire: 'python', authkey: 'secret' });
      cleanups.push(() => client.close());
      await client.send({ hello: 'python' });
      expect(await client.recv({ timeout: 15_000 })).toEqual({ hello: 'python', py: true });
      await client.send('big');
      expect(Buffer.compare(await client.recvBytes({ timeout: 15_000 }), BIG)).toBe(0);
      await client.close();
      expect(await py.exited).toBe(0);
    });
  }

  it('the 3.12 handshake is HMAC-SHA256: our native wire, which refuses MD5, accepts a 3.12 client', async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const listener = await Listener.listen(join(t.dir, 's'), { authkey: 'secret' });
    cleanups.push(() => listener.close());
    const py = runPython('py_client.py', [listener.address as string, 'secret', '3.12', fixtures]);
    const conn = await listener.accept({ timeout: 15_000 });
    cleanups.push(() => conn.close());
    expect(await conn.recv({ timeout: 15_000 })).toEqual({ n: 0, text: '' });
    py.child.kill('SIGKILL');
    await expect(conn.recv({ timeout: 5000 })).rejects.toMatchObject({ code: 'ERR_IPC_CLOSED' });
  });

  it('refuses a Python client with the wrong key, and a Python listener refuses ours', async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const listener = await Listener.listen(join(t.dir, 's'), { wire: 'python', authkey: 'right' });
    cleanups.push(() => listener.close());
    const py = runPython('py_client.py', [listener.address as string, 'wrong', '3.11', fixtures]);
    expect(await nextJson(py.lines)).toEqual({ error: 'AuthenticationError' });
    expect(listener.stats.rejected).toBe(1);

    const path = join(t.dir, 'py.sock');
    const pyl = runPython('py_listener.py', [path, 'right', '3.12', fixtures]);
    expect(await nextJson(pyl.lines)).toBe(path);
    const err = await connect(path, { wire: 'python', authkey: 'wrong' }).catch((e: unknown) => e);
    expect(IpcError.is(err, 'ERR_IPC_AUTH')).toBe(true);
    expect(await nextJson(pyl.lines)).toEqual({ error: 'AuthenticationError' });
  });
});
