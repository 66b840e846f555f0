import { registerHandleKind, reviveHandle, toHandle } from '@ipc/core';
import { afterEach, describe, expect, it } from 'vitest';
import { SharedArray, Value, registerLockFactory } from '../index.js';
import type { LockLike } from '../index.js';

const made: Array<{ unlink(): void }> = [];
function track<T extends { unlink(): void }>(x: T): T {
  made.push(x);
  return x;
}
afterEach(() => {
  for (const x of made.splice(0)) x.unlink();
  delete (globalThis as Record<symbol, unknown>)[Symbol.for('@ipc/shm.lockFactory')];
});

function fakeLock(): LockLike & { held: number } {
  const lock = {
    held: 0,
    async acquire() {
      lock.held++;
      const release = () => {
        lock.held--;
      };
      return { release, [Symbol.dispose]: release };
    },
  };
  return lock;
}

describe('Value', () => {
  it('holds an integer with atomic add, sub, exchange, compareExchange, load, store', () => {
    const v = track(new Value('i32', 5));
    expect(v.value).toBe(5);
    expect(v.add(3)).toBe(5);
    expect(v.sub(1)).toBe(8);
    expect(v.exchange(100)).toBe(7);
    expect(v.compareExchange(1, 2)).toBe(100);
    expect(v.compareExchange(100, 2)).toBe(100);
    expect(v.load()).toBe(2);
    v.store(-4);
    v.value = v.value * 2;
    expect(v.value).toBe(-8);
  });

  it('wraps like its type and holds bigints for i64 / u64', () => {
    const u8 = track(new Value('u8', 255));
    u8.add(1);
    expect(u8.value).toBe(0);
    const big = track(new Value('i64', 2n ** 62n));
    big.add(1n);
    expect(big.value).toBe(2n ** 62n + 1n);
    const ub = track(new Value('u64'));
    ub.sub(1n);
    expect(ub.value).toBe(2n ** 64n - 1n);
    expect(() => big.add(1 as never)).toThrow(TypeError);
    expect(() => u8.add(1n as never)).toThrow(TypeError);
  });

  it('holds floats with value get/set and refuses atomic operations on them', () => {
    const f = track(new Value('f64', 1.25));
    f.value += 1;
    expect(f.value).toBe(2.25);
    expect(() => f.add(1)).toThrow(/not atomic for f64/);
    const f32 = track(new Value('f32', 0.5));
    expect(f32.value).toBe(0.5);
  });

  it('opens by name with the same type and bytes', async () => {
    const v = track(new Value('u16', 7, { name: `ipc-unit-value-${process.pid}` }));
    const w = await Value.open(v.name);
    expect(w.type).toBe('u16');
    w.add(1);
    expect(v.value).toBe(8);
    const a = track(new SharedArray('i32', 3));
    await expect(Value.open(a.name)).rejects.toMatchObject({ code: 'ERR_IPC_HANDLE' });
  });

  it('getLock() returns the given lock, and lock: true needs a registered factory', async () => {
    const lock = fakeLock();
    const v = track(new Value('f64', 0, { lock }));
    {
      using _g = await v.getLock().acquire();
      expect(lock.held).toBe(1);
      v.value += 1;
    }
    expect(lock.held).toBe(0);
    expect(() => track(new Value('i32', 0)).getLock()).toThrow(/has no lock/);
    expect(() => new Value('i32', 0, { lock: true })).toThrow(expect.objectContaining({ code: 'ERR_IPC_UNSUPPORTED' }));
    const made2 = fakeLock();
    registerLockFactory(() => made2);
    expect(track(new Value('i32', 0, { lock: true })).getLock()).toBe(made2);
  });

  it('records a shareable lock in the segment, so open(name) reopens the lock too', async () => {
    const opened: string[] = [];
    registerHandleKind('test.lock', (h) => {
      opened.push(h.id as string);
      return { ...fakeLock(), id: h.id };
    });
    const lock = { ...fakeLock(), [toHandle]: () => ({ kind: 'test.lock', id: 'L1' }) };
    const v = track(new Value('i32', 0, { lock }));
    const w = await Value.open(v.name);
    expect(opened).toEqual(['L1']);
    expect((w.getLock() as unknown as { id: string }).id).toBe('L1');
    const a = track(new SharedArray('u8', 2, { lock }));
    expect(((await SharedArray.open(a.name)).getLock() as unknown as { id: string }).id).toBe('L1');
  });

  it('validates type, initial value and options', () => {
    expect(() => new Value('i128' as never)).toThrow(/type must be one of/);
    expect(() => new Value('i32', '1' as never)).toThrow(TypeError);
    expect(() => new Value('i32', 0, { lock: 5 as never })).toThrow(/options.lock/);
    expect(() => new Value('i32', 0, null as never)).toThrow(TypeError);
    expect(() => registerLockFactory(3 as never)).toThrow(TypeError);
  });

  it('is shareable: its handle revives to the same memory', async () => {
    const v = track(new Value('i32', 1));
    const handle = v[toHandle]({ target: 'process', inheritFd: (fd) => fd });
    expect(handle.kind).toBe('@ipc/shm.Value');
    const w = (await reviveHandle(structuredClone(handle))) as Value<'i32'>;
    w.add(41);
    expect(v.value).toBe(42);
  });
});

describe('SharedArray', () => {
  it('holds a fixed number of elements with per-element atomics', () => {
    const a = track(new SharedArray('i32', [1, 2, 3]));
    expect(a.length).toBe(3);
    expect(a.toArray()).toEqual([1, 2, 3]);
    expect(a.add(1, 10)).toBe(2);
    expect(a.get(1)).toBe(12);
    a.set(2, 9);
    expect(a.compareExchange(2, 9, 10)).toBe(9);
    expect([...a]).toEqual([1, 12, 10]);
    expect(a.array).toBeInstanceOf(Int32Array);
    expect(() => a.get(3)).toThrow(RangeError);
    expect(() => a.get(0.5)).toThrow(TypeError);
  });

  it('zero-fills by length, holds floats and bigints, and opens by name', async () => {
    const f = track(new SharedArray('f32', 4));
    expect(f.toArray()).toEqual([0, 0, 0, 0]);
    f.array.set([0.5, 1.5]);
    const g = await SharedArray.open(f.name);
    expect(g.type).toBe('f32');
    expect(g.length).toBe(4);
    expect(g.toArray()).toEqual([0.5, 1.5, 0, 0]);
    expect(() => f.add(0, 1)).toThrow(TypeError);
    const b = track(new SharedArray('u64', [1n, 2n]));
    b.add(0, 5n);
    expect(b.toArray()).toEqual([6n, 2n]);
  });

  it('validates length and elements', () => {
    expect(() => new SharedArray('i32', 0)).toThrow(RangeError);
    expect(() => new SharedArray('i32', 2 ** 33)).toThrow(/between 1 and 4294967296/);
    expect(() => new SharedArray('i32', 1.5)).toThrow(TypeError);
    expect(() => new SharedArray('i32', [1, 'x' as never])).toThrow(/lengthOrValues\[1\]/);
    expect(() => new SharedArray('i64', [1 as never])).toThrow(/bigint/);
    expect(() => new SharedArray('i32', {} as never)).toThrow(TypeError);
  });
});
