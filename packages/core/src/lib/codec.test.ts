import { serialize } from 'node:v8';
import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { bytesCodec, codecName, jsonCodec, msgpackCodec, resolveCodec, structuredCodec } from './codec.js';
import type { Codec } from './codec.js';
import { IpcError } from './errors.js';

function roundTrip<T>(codec: Codec<T>, value: T): T {
  const bytes = codec.encode(value);
  expect(bytes).toBeInstanceOf(Uint8Array);
  return codec.decode(bytes);
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (IpcError.is(err)) return err.code;
    throw err;
  }
  return undefined;
}

class Point {
  constructor(
    public x: number,
    public y: number,
  ) {}
  norm(): number {
    return Math.hypot(this.x, this.y);
  }
}

describe('structured codec', () => {
  it('round-trips Map, Set, Date, BigInt, RegExp, typed arrays and special numbers', () => {
    const value = {
      map: new Map<unknown, unknown>([
        [1, 'one'],
        ['k', { nested: true }],
      ]),
      set: new Set([1, 'two', 3n]),
      date: new Date('2024-02-29T12:34:56.789Z'),
      big: 2n ** 70n,
      neg: -(2n ** 65n),
      re: /ab+c/giu,
      u8: new Uint8Array([0, 1, 255]),
      f64: new Float64Array([1.5, -0, Number.NaN]),
      i32: new Int32Array([-1, 2 ** 31 - 1]),
      b64: new BigInt64Array([-5n, 2n ** 62n]),
      nums: [Number.NaN, Infinity, -Infinity, -0],
      undef: undefined,
      nil: null,
      str: 'héllo ✓ 𝄞',
    };
    const back = roundTrip(structuredCodec, value) as typeof value;
    expect(back).toEqual(value);
    expect(back.map).toBeInstanceOf(Map);
    expect(back.set).toBeInstanceOf(Set);
    expect(back.date).toBeInstanceOf(Date);
    expect(back.date.getTime()).toBe(value.date.getTime());
    expect(back.re.flags).toBe('giu');
    expect(back.f64).toBeInstanceOf(Float64Array);
    expect(Object.is(back.nums[3], -0)).toBe(true);
    expect(back.b64).toBeInstanceOf(BigInt64Array);
    expect('undef' in back).toBe(true);
  });

  it('round-trips cycles and shared references', () => {
    const shared = { s: 1 };
    const a: Record<string, unknown> = { name: 'a', shared, again: shared };
    a.self = a;
    const list: unknown[] = [a];
    a.list = list;
    const back = roundTrip(structuredCodec, a) as typeof a;
    expect(back.self).toBe(back);
    expect(back.shared).toBe(back.again);
    expect((back.list as unknown[])[0]).toBe(back);
  });

  it('round-trips errors as Error objects with their message', () => {
    const back = roundTrip(structuredCodec, new RangeError('out of range')) as Error;
    expect(back).toBeInstanceOf(RangeError);
    expect(back.message).toBe('out of range');
  });

  it('does not revive classes: an instance comes back as a plain object without methods', () => {
    const back = roundTrip(structuredCodec, new Point(3, 4)) as Point;
    expect(back).toEqual({ x: 3, y: 4 });
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    expect(back).not.toBeInstanceOf(Point);
    expect((back as { norm?: unknown }).norm).toBeUndefined();
  });

  it('refuses functions with ERR_IPC_ENCODE instead of carrying code', () => {
    expect(codeOf(() => structuredCodec.encode(() => 1))).toBe('ERR_IPC_ENCODE');
    expect(codeOf(() => structuredCodec.encode({ f() {} }))).toBe('ERR_IPC_ENCODE');
    expect(codeOf(() => structuredCodec.encode(Symbol('s')))).toBe('ERR_IPC_ENCODE');
  });

  it('refuses an object carrying a method without calling it (not even toJSON)', () => {
    let calls = 0;
    const value = {
      toJSON() {
        calls++;
        return 'x';
      },
    };
    // a function-valued property cannot be cloned: refused, and toJSON is not called
    expect(codeOf(() => structuredCodec.encode(value))).toBe('ERR_IPC_ENCODE');
    expect(calls).toBe(0);
  });

  it('throws ERR_IPC_DECODE with a cause for truncated or corrupt bytes', () => {
    const good = structuredCodec.encode({ a: [1, 2, 3], s: 'string' });
    for (const bad of [good.subarray(0, good.length - 3), good.subarray(0, 3), Uint8Array.from([0xff, 0x0f, 0x6f, 0x22, 0x7f])]) {
      try {
        structuredCodec.decode(bad);
        expect.unreachable();
      } catch (err) {
        expect(IpcError.is(err, 'ERR_IPC_DECODE')).toBe(true);
        expect((err as IpcError).cause).toBeDefined();
      }
    }
  });

  it('decodes from a view into a larger buffer', () => {
    const bytes = structuredCodec.encode({ a: 1 });
    const big = new Uint8Array(bytes.length + 16);
    big.set(bytes, 8);
    expect(structuredCodec.decode(big.subarray(8, 8 + bytes.length))).toEqual({ a: 1 });
  });
});

describe('json codec', () => {
  it('round-trips JSON data as UTF-8', () => {
    const value = { a: [1, 2.5, 'three', null, true], nested: { s: 'héllo ✓ 𝄞' } };
    const bytes = jsonCodec.encode(value);
    expect(Buffer.from(bytes).toString('utf8')).toBe(JSON.stringify(value));
    expect(jsonCodec.decode(bytes)).toEqual(value);
  });

  it('refuses values with no JSON form with ERR_IPC_ENCODE', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    for (const value of [undefined, () => 1, Symbol('s'), 1n, cyclic]) {
      expect(codeOf(() => jsonCodec.encode(value))).toBe('ERR_IPC_ENCODE');
    }
  });

  it('throws ERR_IPC_DECODE for invalid JSON and for invalid UTF-8', () => {
    expect(codeOf(() => jsonCodec.decode(Buffer.from('{"a":')))).toBe('ERR_IPC_DECODE');
    expect(codeOf(() => jsonCodec.decode(Buffer.from('')))).toBe('ERR_IPC_DECODE');
    expect(codeOf(() => jsonCodec.decode(Uint8Array.from([0x22, 0xc3, 0x28, 0x22])))).toBe('ERR_IPC_DECODE');
  });

  it('does not let __proto__ in the bytes change any prototype', () => {
    const back = jsonCodec.decode(Buffer.from('{"__proto__":{"polluted":true},"a":1}')) as Record<string, unknown>;
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(back.polluted).toBeUndefined();
  });
});

describe('bytes codec', () => {
  it('passes a Uint8Array through encode and returns a copy from decode', () => {
    const input = Uint8Array.from([1, 2, 3]);
    expect(bytesCodec.encode(input)).toBe(input);
    const wire = Buffer.from([9, 8, 7, 6]);
    const out = bytesCodec.decode(wire.subarray(1, 3));
    expect([...out]).toEqual([8, 7]);
    wire.fill(0);
    expect([...out]).toEqual([8, 7]);
  });

  it('accepts a Buffer and refuses anything that is not a Uint8Array with ERR_IPC_ENCODE', () => {
    expect(bytesCodec.encode(Buffer.from('hi'))).toBeInstanceOf(Uint8Array);
    for (const value of ['text', 1, null, [1, 2], new ArrayBuffer(2), new Uint16Array(2)]) {
      expect(codeOf(() => bytesCodec.encode(value as unknown as Uint8Array))).toBe('ERR_IPC_ENCODE');
    }
  });
});

describe('msgpack codec', () => {
  it('round-trips numbers, strings, arrays, null, booleans, Date, BigInt, Set and typed arrays', () => {
    const cases: unknown[] = [
      0,
      -1,
      2 ** 31,
      1.5,
      'héllo ✓',
      '',
      null,
      true,
      [1, [2, [3]], 'x'],
      new Date('2024-02-29T12:34:56.789Z'),
      2n ** 63n - 1n,
      -(2n ** 63n),
      new Set([1, 2, 3]),
      new Float64Array([1.5, -2]),
      new Uint8Array([0, 255]),
      new Int16Array([-3, 3]),
    ];
    for (const value of cases) expect(roundTrip(msgpackCodec, value)).toEqual(value);
  });

  it('does not revive classes: an instance comes back without its prototype or methods', () => {
    const back = roundTrip(msgpackCodec, new Point(3, 4));
    expect(back).not.toBeInstanceOf(Point);
    expect((back as { norm?: unknown }).norm).toBeUndefined();
  });

  it('reads bytes from other MessagePack writers', () => {
    // A plain msgpack writer, as another language would produce: [1, "a", true, null, 1.5]
    const other = new Packr({ useRecords: false });
    expect(msgpackCodec.decode(other.pack([1, 'a', true, null, 1.5]))).toEqual([1, 'a', true, null, 1.5]);
  });

  it('throws ERR_IPC_DECODE with a cause for truncated bytes and unknown tokens', () => {
    const good = msgpackCodec.encode(['a string that is long enough', [1, 2, 3]]);
    for (const bad of [good.subarray(0, good.length - 4), Uint8Array.from([0xd4, 0x99, 0x00]), Uint8Array.from([0x92, 0x01]), new Uint8Array(0)]) {
      try {
        msgpackCodec.decode(bad);
        expect.unreachable();
      } catch (err) {
        expect(IpcError.is(err, 'ERR_IPC_DECODE')).toBe(true);
        expect((err as IpcError).cause).toBeDefined();
      }
    }
  });
});

describe('every codec on garbage', () => {
  const codecs = [structuredCodec, jsonCodec, msgpackCodec] as const;

  it('either decodes random bytes or throws IpcError ERR_IPC_DECODE, never another error', () => {
    fc.assert(
      fc.property(fc.constantFrom(...codecs), fc.uint8Array({ maxLength: 64 }), (codec, bytes) => {
        try {
          codec.decode(bytes);
        } catch (err) {
          return IpcError.is(err, 'ERR_IPC_DECODE');
        }
        return true;
      }),
      { numRuns: 300 },
    );
  });

  it('either decodes a corrupted valid message or throws ERR_IPC_DECODE', () => {
    const samples = [{ a: [1, 2, { b: 'text' }], n: 1.5 }, ['x', 'y', 3], 'just a string'];
    fc.assert(
      fc.property(
        fc.constantFrom(...codecs),
        fc.constantFrom(...samples),
        fc.nat(),
        fc.integer({ min: 0, max: 255 }),
        fc.nat(),
        (codec, sample, at, byte, cut) => {
          const bytes = Uint8Array.from(codec.encode(sample));
          bytes[at % bytes.length] = byte;
          try {
            codec.decode(bytes.subarray(0, bytes.length - (cut % 3)));
          } catch (err) {
            return IpcError.is(err, 'ERR_IPC_DECODE');
          }
          return true;
        },
      ),
      { numRuns: 300 },
    );
  });

  it('round-trips arbitrary JSON values through the structured and json codecs', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(structuredCodec.decode(structuredCodec.encode(value))).toEqual(value);
        // JSON itself turns -0 into 0: compare with what JSON.parse(JSON.stringify()) gives
        expect(jsonCodec.decode(jsonCodec.encode(value))).toEqual(JSON.parse(JSON.stringify(value)));
      }),
      { numRuns: 200 },
    );
  });

  it('never builds a function, nor reaches the prototype chain, from structured-clone bytes', () => {
    // A hostile peer hand-crafts bytes: the v8 format has no tag that carries code.
    const bytes = serialize({ __proto__: { polluted: true }, constructor: { prototype: { polluted: true } } });
    const back = structuredCodec.decode(bytes) as Record<string, unknown>;
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(typeof back.constructor).not.toBe('function');
  });
});

describe('resolveCodec and codecName', () => {
  it('resolves built-in names and falls back to the given default', () => {
    expect(resolveCodec('structured')).toBe(structuredCodec);
    expect(resolveCodec('json')).toBe(jsonCodec);
    expect(resolveCodec('bytes')).toBe(bytesCodec);
    expect(resolveCodec('msgpack')).toBe(msgpackCodec);
    expect(resolveCodec(undefined)).toBe(structuredCodec);
    expect(resolveCodec(undefined, 'json')).toBe(jsonCodec);
  });

  it('accepts a custom codec object and returns it as it is', () => {
    const custom: Codec<string> = {
      name: 'upper',
      encode: (s) => Buffer.from(s.toUpperCase()),
      decode: (b) => Buffer.from(b).toString(),
    };
    expect(resolveCodec(custom)).toBe(custom);
    expect(codecName(custom as Codec<unknown>)).toBeUndefined();
  });

  it('throws TypeError for unknown names, listing the known ones, and for non-codecs', () => {
    expect(() => resolveCodec('yaml' as 'json')).toThrow(TypeError);
    expect(() => resolveCodec('yaml' as 'json')).toThrow(/structured, json, bytes, msgpack/);
    expect(() => resolveCodec({} as Codec)).toThrow(TypeError);
    expect(() => resolveCodec({ encode: () => new Uint8Array() } as unknown as Codec)).toThrow(TypeError);
    expect(() => resolveCodec(null as unknown as Codec)).toThrow(TypeError);
  });

  it('names the built-in codecs for handles', () => {
    expect(codecName(structuredCodec)).toBe('structured');
    expect(codecName(jsonCodec)).toBe('json');
    expect(codecName(bytesCodec as Codec<unknown>)).toBe('bytes');
    expect(codecName(msgpackCodec)).toBe('msgpack');
  });
});
