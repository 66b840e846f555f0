import { statSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { IpcError } from '@ipc/core';
import { SharedMemory, MAX_NAME_LENGTH } from '../index.js';
import { TRAILER_BYTES } from './layout.js';

const made: SharedMemory[] = [];
function track(shm: SharedMemory): SharedMemory {
  made.push(shm);
  return shm;
}
afterEach(() => {
  for (const s of made.splice(0)) s.unlink();
});
const uniq = () => `ipc-unit-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;

describe('SharedMemory', () => {
  it('creates a segment that another mapping of the same name sees byte for byte', () => {
    const a = track(SharedMemory.create({ size: 100 }));
    const b = SharedMemory.open(a.name);
    expect(a.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(b.size).toBe(100);
    new Uint8Array(a.buffer).set([1, 2, 3], 10);
    expect([...new Uint8Array(b.buffer, 10, 3)]).toEqual([1, 2, 3]);
    Atomics.add(new Int32Array(b.buffer), 0, 5);
    expect(Atomics.load(new Int32Array(a.buffer), 0)).toBe(5);
  });

  it('gives a random ipc_ name when none is given and accepts a leading slash', () => {
    const a = track(SharedMemory.create({ size: 8 }));
    expect(a.name).toMatch(/^ipc_[0-9a-f]{16}$/);
    const name = uniq();
    const b = track(SharedMemory.create({ name: `/${name}`, size: 8 }));
    expect(b.name).toBe(name);
    expect(SharedMemory.open(`/${name}`).size).toBe(8);
  });

  it('keeps the user bytes at offset 0 of /dev/shm/<name> and creates it mode 0600', () => {
    const a = track(SharedMemory.create({ size: 5 }));
    new Uint8Array(a.buffer).set([104, 101, 108, 108, 111]);
    const st = statSync(`/dev/shm/${a.name}`);
    expect(st.mode & 0o777).toBe(0o600);
    expect(readFileSync(`/dev/shm/${a.name}`).subarray(0, 5).toString()).toBe('hello');
    expect(st.size).toBe(64 + TRAILER_BYTES);
  });

  it('rejects an existing name with ERR_IPC_EXISTS unless exclusive is false', () => {
    const a = track(SharedMemory.create({ name: uniq(), size: 16 }));
    let err: unknown;
    try {
      SharedMemory.create({ name: a.name, size: 16 });
    } catch (e) {
      err = e;
    }
    expect(IpcError.is(err, 'ERR_IPC_EXISTS')).toBe(true);
    const b = SharedMemory.create({ name: a.name, size: 16, exclusive: false });
    new Uint8Array(a.buffer)[0] = 9;
    expect(new Uint8Array(b.buffer)[0]).toBe(9);
    expect(() => SharedMemory.create({ name: a.name, size: 32, exclusive: false })).toThrow(/exists with size 16/);
  });

  it('throws ERR_IPC_NOT_FOUND when opening a name that does not exist', () => {
    expect(() => SharedMemory.open(uniq())).toThrow(expect.objectContaining({ code: 'ERR_IPC_NOT_FOUND' }));
  });

  it('fails at create with ERR_IPC_TOO_LARGE when /dev/shm cannot hold the size', () => {
    const name = uniq();
    expect(() => SharedMemory.create({ name, size: 2 ** 40 })).toThrow(expect.objectContaining({ code: 'ERR_IPC_TOO_LARGE' }));
    expect(() => SharedMemory.open(name)).toThrow(expect.objectContaining({ code: 'ERR_IPC_NOT_FOUND' }));
  });

  it('validates names and sizes before touching the system, naming the option and the limit', () => {
    expect(() => SharedMemory.create({ size: 0 })).toThrow(new RangeError('options.size must be >= 1, got 0'));
    expect(() => SharedMemory.create({ size: 1.5 })).toThrow(TypeError);
    expect(() => SharedMemory.create({ size: 2 ** 41 })).toThrow(/<= 1099511627776/);
    expect(() => SharedMemory.create({ size: 8, name: 'a/b' })).toThrow(RangeError);
    expect(() => SharedMemory.create({ size: 8, name: '' })).toThrow(/must not be empty/);
    expect(() => SharedMemory.create({ size: 8, name: 'x'.repeat(MAX_NAME_LENGTH + 1) })).toThrow(`at most ${MAX_NAME_LENGTH}`);
    expect(() => SharedMemory.create({ size: 8, name: 3 as never })).toThrow(TypeError);
    expect(() => SharedMemory.create(undefined as never)).toThrow(TypeError);
    expect(() => SharedMemory.open('..')).toThrow(RangeError);
  });

  it('unlinks idempotently and closes idempotently', async () => {
    const a = SharedMemory.create({ size: 8 });
    a.close();
    a.close();
    expect(a.closed).toBe(true);
    a.unlink();
    a.unlink();
    expect(() => SharedMemory.open(a.name)).toThrow(expect.objectContaining({ code: 'ERR_IPC_NOT_FOUND' }));
    // the mapping outlives the name
    new Uint8Array(a.buffer)[0] = 1;
    await a[Symbol.asyncDispose]();
  });
});
