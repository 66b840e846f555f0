import { mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deserialize } from 'node:v8';
import { afterEach, describe, expect, it } from 'vitest';
import { IpcError, Process, Thread, processArgs } from '@ipc/core';
import { Token } from './fixtures/token.mjs';

const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url);
const running: Array<Process | Thread> = [];
const tempDirs: string[] = [];

function track<T extends Process | Thread>(p: T): T {
  running.push(p);
  return p;
}

async function readAll(stream: NodeJS.ReadableStream | null): Promise<string> {
  if (!stream) throw new Error('no stream');
  let out = '';
  for await (const chunk of stream) out += chunk.toString();
  return out;
}

afterEach(async () => {
  await Promise.all(running.splice(0).map((p) => p[Symbol.asyncDispose]()));
  for (const d of tempDirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('Process', () => {
  it('round-trips plain arguments and revives shareable ones as live objects', async () => {
    const when = new Date('2026-11-26T00:00:00Z');
    const args = [1, 'two', { three: [3n], when }, new Map([['k', new Set([1, 2])]]), new Token('alpha')];
    const p = track(new Process(fixture('echo-args.mjs'), { args, execArgv: [], stdio: 'pipe', name: 'echo' }).start());
    const out = readAll(p.stdout);
    expect(await p.join({ timeout: 20_000 })).toBe(0);
    const got = deserialize(Buffer.from(await out, 'base64')) as { args: unknown[]; name: string };
    expect(got.name).toBe('echo');
    expect(got.args).toEqual([1, 'two', { three: [3n], when }, new Map([['k', new Set([1, 2])]]), 'live token alpha']);
  });

  it('passes a file descriptor to the child through a handle', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ipc-core-test-'));
    tempDirs.push(dir);
    const file = join(dir, 'out.txt');
    const fd = openSync(file, 'w');
    try {
      const p = track(new Process(fixture('write-fd.mjs'), { args: [new Token('fd', fd), 'written by the child'], execArgv: [] }).start());
      expect(await p.join({ timeout: 20_000 })).toBe(0);
    } finally {
      closeSync(fd);
    }
    expect(readFileSync(file, 'utf8')).toBe('written by the child');
  });

  it('resolves join with the exit code the child chose', async () => {
    const p = track(new Process(fixture('exit-code.mjs'), { args: [3], execArgv: [] }).start());
    expect(await p.join({ timeout: 20_000 })).toBe(3);
    expect(p.exitCode).toBe(3);
    expect(p.alive).toBe(false);
  });

  it('calls an exported main with the arguments and exits with its return', async () => {
    const p = track(new Process(fixture('main-export.mjs'), { args: [2, 5], execArgv: [] }).start());
    expect(await p.join({ timeout: 20_000 })).toBe(7);
  });

  it.each([
    ['throw', 'RangeError', 'boom from the child'],
    ['reject', 'TypeError', 'rejected in the child'],
    ['main', 'Error', 'thrown at top level'],
  ])('reports an uncaught error (%s) as ERR_IPC_PROCESS_FAILED with the child message and stack', async (how, name, message) => {
    const p = track(new Process(fixture('crash.mjs'), { args: [how], execArgv: [], stdio: 'pipe' }).start());
    void readAll(p.stderr);
    const err = await p.join({ timeout: 20_000 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(IpcError.is(err, 'ERR_IPC_PROCESS_FAILED')).toBe(true);
    const cause = (err as IpcError).cause as Error;
    expect(cause.name).toBe(name);
    expect(cause.message).toBe(message);
    expect(cause.stack).toContain('crash.mjs');
    expect(p.exitCode).toBe(1);
    expect(p.error).toBe(err);
  });

  it('reports a child killed with SIGKILL as exit code -9', async () => {
    const p = track(new Process(fixture('hang.mjs'), { execArgv: [], stdio: 'pipe' }).start());
    const stdout = p.stdout!;
    await new Promise((resolve) => stdout.once('data', resolve));
    p.kill();
    expect(await p.join({ timeout: 20_000 })).toBe(-9);
  });

  it('reports terminate() as exit code -15', async () => {
    const p = track(new Process(fixture('hang.mjs'), { execArgv: [], stdio: 'pipe' }).start());
    await new Promise((resolve) => p.stdout!.once('data', resolve));
    p.terminate();
    expect(await p.join({ timeout: 20_000 })).toBe(-15);
  });

  it('rejects join with ERR_IPC_TIMEOUT while the child runs on', async () => {
    const p = track(new Process(fixture('hang.mjs'), { execArgv: [], stdio: 'ignore' }).start());
    await expect(p.join({ timeout: 100 })).rejects.toMatchObject({ code: 'ERR_IPC_TIMEOUT' });
    expect(p.alive).toBe(true);
    expect(p.pid).toBeGreaterThan(0);
  });

  it('runs a TypeScript entry through the loader given in execArgv', async () => {
    const p = track(
      new Process(fixture('typed-entry.ts'), {
        args: [{ left: 40, right: 2 }],
        execArgv: ['--import', 'tsx'],
        env: { TSX_DISABLE_CACHE: '1' }, // tsx would otherwise leave its cache in the temp dir
        cwd: fileURLToPath(new URL('..', import.meta.url)), // where the user's loader is installed
      }).start(),
    );
    expect(await p.join({ timeout: 30_000 })).toBe(42);
  });

  it('refuses misuse with clear errors', async () => {
    expect(() => new Process('')).toThrow(TypeError);
    expect(() => new Process(fixture('hang.mjs'), { args: 'nope' as never })).toThrow(TypeError);
    expect(() => new Process(fixture('hang.mjs'), { stdio: 'tty' as never })).toThrow(TypeError);
    const p = new Process(fixture('main-export.mjs'), { args: [0, 0], execArgv: [] });
    await expect(p.join()).rejects.toMatchObject({ code: 'ERR_IPC_NOT_STARTED' });
    track(p).start();
    expect(() => p.start()).toThrow(expect.objectContaining({ code: 'ERR_IPC_ALREADY_STARTED' }));
    expect(await p.join({ timeout: 20_000 })).toBe(0);
  });

  it('rejects processArgs() outside a started child with ERR_IPC_NOT_STARTED', async () => {
    await expect(processArgs()).rejects.toMatchObject({ code: 'ERR_IPC_NOT_STARTED' });
  });
});

describe('Thread', () => {
  it('runs the same entry on a worker thread with revived arguments', async () => {
    const t = track(new Thread(fixture('main-export.mjs'), { args: [20, 22] }).start());
    expect(await t.join({ timeout: 20_000 })).toBe(42);
    expect(t.threadId).toBeGreaterThan(0);
  });

  it('passes shareable arguments as handles to a thread', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ipc-core-test-'));
    tempDirs.push(dir);
    const file = join(dir, 'thread.txt');
    const fd = openSync(file, 'w');
    try {
      const t = track(new Thread(fixture('write-fd.mjs'), { args: [new Token('t', fd), 'from a thread'] }).start());
      expect(await t.join({ timeout: 20_000 })).toBe(0);
    } finally {
      closeSync(fd);
    }
    expect(readFileSync(file, 'utf8')).toBe('from a thread');
  });

  it('reports an uncaught error in the thread as ERR_IPC_PROCESS_FAILED', async () => {
    const t = track(new Thread(fixture('crash.mjs'), { args: ['main'] }).start());
    const err = await t.join({ timeout: 20_000 }).catch((e: unknown) => e);
    expect(IpcError.is(err, 'ERR_IPC_PROCESS_FAILED')).toBe(true);
    expect(((err as IpcError).cause as Error).message).toBe('thrown at top level');
  });
});
