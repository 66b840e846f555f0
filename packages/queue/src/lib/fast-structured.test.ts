import { deserialize, serialize } from 'node:v8';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IpcError } from '@ipc/core';
import { decodeStructured, encodeStructured } from './fast-structured.js';

const plain = fc.jsonValue().chain((v) => fc.constantFrom(v, { wrap: v, list: [v, v === undefined ? null : 1], u: undefined, neg0: -0, big: 2 ** 40, s: 'é€\u{1F600}' }));

describe('the structured fast path', () => {
  it('writes plain data that v8.deserialize reads back equal', () => {
    fc.assert(
      fc.property(plain, (v) => {
        expect(deserialize(Buffer.from(encodeStructured(v)))).toEqual(v);
      }),
      { numRuns: 500 },
    );
  });

  it('reads whatever v8.serialize writes, equal to v8.deserialize', () => {
    fc.assert(
      fc.property(fc.anything({ withMap: true, withSet: true, withDate: true, withTypedArray: true, withBigInt: true, withNullPrototype: true, withSparseArray: true }), (v) => {
        const bytes = serialize(v);
        expect(decodeStructured(bytes)).toEqual(deserialize(bytes));
      }),
      { numRuns: 500 },
    );
  });

  it('falls back to node:v8 for shared references, cycles, Maps, Dates, typed arrays and class instances', () => {
    const shared = { x: 1 };
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    const holey = [1, 2, 3];
    delete holey[1];
    class Point {
      constructor(public x = 1) {}
    }
    for (const v of [{ a: shared, b: shared }, cyclic, new Map([[1, 2]]), new Date(0), new Uint8Array([1, 2]), holey, new Point(), 10n]) {
      const back = decodeStructured(encodeStructured(v)) as unknown;
      expect(back).toEqual(deserialize(serialize(v)));
    }
    const back = decodeStructured(encodeStructured({ a: shared, b: shared })) as { a: object; b: object };
    expect(back.a).toBe(back.b); // identity kept, as structured clone does
  });

  it('refuses what structured clone refuses with ERR_IPC_ENCODE, and bad bytes with ERR_IPC_DECODE', () => {
    expect(() => encodeStructured({ f: () => 1 })).toThrow(expect.objectContaining({ code: 'ERR_IPC_ENCODE' }));
    const boom = new Error('getter');
    const withGetter = {
      get x(): number {
        throw boom;
      },
    };
    expect(() => encodeStructured(withGetter)).toThrow(expect.objectContaining({ code: 'ERR_IPC_ENCODE', cause: boom }));
    const whole = encodeStructured({ text: 'y'.repeat(200) }).slice();
    let err: unknown;
    try {
      decodeStructured(whole.subarray(0, 50));
    } catch (e) {
      err = e;
    }
    expect(IpcError.is(err, 'ERR_IPC_DECODE')).toBe(true);
  });

  it('keeps a __proto__ key as an own property, as v8.deserialize does', () => {
    const v = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as object;
    const back = decodeStructured(serialize(v)) as Record<string, unknown>;
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(back).toEqual(deserialize(serialize(v)));
  });
});
