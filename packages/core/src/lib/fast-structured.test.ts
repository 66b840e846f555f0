import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import { deserialize, serialize } from 'node:v8';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IpcError } from './errors.js';
import { NOT_PLAIN, decodePlainAt, decodeStructured, encodeStructured, encodeToScratch, scratch } from './fast-structured.js';

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
    // The root is not tracked as seen: cycles back to it end at the depth bound, and come out exact.
    const wide: Record<string, unknown> = { a: 1, b: 'x', list: [1, 2] };
    wide.inner = { back: wide, n: 2 };
    wide.self = wide;
    const ring: unknown[] = [1];
    ring.push(ring, { up: ring });
    for (const v of [wide, ring]) {
      const again = decodeStructured(encodeStructured(v)) as Record<string, unknown> & unknown[];
      expect(again).toEqual(deserialize(serialize(v)));
      if (Array.isArray(v)) {
        expect(again[1]).toBe(again);
        expect((again[2] as { up: unknown }).up).toBe(again);
      } else {
        expect(again.self).toBe(again);
        expect((again.inner as { back: unknown }).back).toBe(again);
      }
    }
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

  // Both ends remember the last key list per depth; items that change shape from one to the next
  // must still come out exactly as node:v8 writes and reads them.
  const key = fc.oneof(fc.constantFrom('a', 'b', 'id', '__proto__', '0', '1', '10', '-1', '1.5', 'é', '€', 'toString', ''), fc.string({ maxLength: 4 }));
  const shaped: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
    value: fc.oneof({ depthSize: 'small' }, fc.integer(), fc.double(), fc.string({ maxLength: 3 }), fc.boolean(), fc.constant(null), tie('object'), fc.array(tie('value'), { maxLength: 3 })),
    object: fc.array(fc.tuple(key, tie('value')), { maxLength: 5 }).map((entries) => {
      const o: Record<string, unknown> = {};
      for (const [k, v] of entries) Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
      return o;
    }),
  })).value;

  it('keeps items of changing shapes exact through both shape caches, in a row', () => {
    fc.assert(
      fc.property(fc.array(shaped, { minLength: 1, maxLength: 8 }), (items) => {
        for (const v of items) {
          const want = deserialize(serialize(v)) as unknown;
          const ours = encodeStructured(v).slice();
          expect(deserialize(Buffer.from(ours))).toEqual(want);
          // Key order too, which toEqual does not look at.
          expect(JSON.stringify(deserialize(Buffer.from(ours)))).toBe(JSON.stringify(want));
          expect(JSON.stringify(decodeStructured(ours))).toBe(JSON.stringify(want));
          expect(decodeStructured(ours)).toEqual(want);
          expect(JSON.stringify(decodeStructured(serialize(v)))).toBe(JSON.stringify(want));
        }
      }),
      { numRuns: 300 },
    );
  });

  // One shape for many items in a row (the decoder's fast path: keys compared a word at a time,
  // the value read in place, stored by position), with values that change type and content under
  // every key: strings of one length that differ (the last string per key is compared, not
  // trusted), small and large ints, doubles, -0, arrays of every short length, nested objects.
  it('keeps a stream of one shape exact while the values under each key change type and content', () => {
    const short = fc.string({ minLength: 0, maxLength: 3, unit: fc.constantFrom('a', 'b', 'é', '\u00ff', 'x') });
    const value = fc.oneof(short, fc.integer({ min: -100, max: 100 }), fc.integer(), fc.double(), fc.constantFrom(-0, true, false, null, undefined), fc.array(fc.oneof(short, fc.integer(), fc.double()), { maxLength: 7 }), fc.record({ k: short }));
    const item = fc.record({ id: value, name: value, tags: value, score: value, ok: value, '0': value });
    fc.assert(
      fc.property(fc.array(item, { minLength: 2, maxLength: 30 }), (items) => {
        for (const v of items) {
          const want = deserialize(serialize(v)) as unknown;
          const back = decodeStructured(encodeStructured(v).slice());
          expect(back).toEqual(want);
          expect(JSON.stringify(back)).toBe(JSON.stringify(want));
          // Plain objects, as `{}` makes them: the prototype, the constructor, what inspect shows.
          expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
          expect((back as object).constructor).toBe(Object);
          expect(inspect(back)).toBe(inspect(want));
        }
      }),
      { numRuns: 300 },
    );
  });

  // The decoder keeps the last value under each key and hands it out again when the bytes are the
  // same: values drawn from a small pool repeat often, change after runs, and arrays handed out are
  // the caller's own (mutating one must not show in the next item, which has the same bytes).
  it('hands out a value kept from the last item only when its bytes are the same, and arrays as new copies', () => {
    const pool = fc.constantFrom<unknown>(0, -0, 1, NaN, 1.5, -1.5, 'item', 'itex', 'a', '', true, false, null, undefined, ['a', 'b'], ['a', 'c'], [1, -0], [0, 0], [], { k: 1 }, 'x'.repeat(40));
    const item = fc.record({ id: fc.integer(), name: pool, tags: pool, score: pool, ok: pool });
    fc.assert(
      fc.property(fc.array(fc.tuple(item, fc.integer({ min: 1, max: 40 })), { minLength: 1, maxLength: 12 }), (runs) => {
        for (const [v, times] of runs) {
          for (let i = 0; i < times; i++) {
            const want = deserialize(serialize(v)) as Record<string, unknown>;
            const back = decodeStructured(encodeStructured(v).slice()) as Record<string, unknown>;
            expect(back).toEqual(want);
            for (const k of Object.keys(want)) expect(Object.is(back[k], want[k]) || typeof want[k] === 'object').toBe(true);
            // The caller owns what it got: mutate it; the next item must not see it.
            for (const k of Object.keys(back)) if (Array.isArray(back[k])) (back[k] as unknown[]).push('mutated');
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  // Shapes that keep coming get code of their own (made from templates by key count; the keys
  // reach it as values). The same stream through a process that refuses code generation (the
  // generic loops only) must give the same bytes and the same values.
  it('gives shapes that keep coming code of their own, with the same bytes and values as without it', () => {
    const fixture = fileURLToPath(new URL('../../test/fixtures/shape-code.mjs', import.meta.url));
    const run = (flags: string[]) => {
      const out = execFileSync(process.execPath, [...flags, fixture], { encoding: 'utf8', timeout: 60_000 });
      return JSON.parse(out) as { refused: boolean; made: number; encoded: string; decoded: string };
    };
    const generated = run([]);
    const generic = run(['--disallow-code-generation-from-strings']);
    expect(generated.refused).toBe(false);
    expect(generated.made).toBeGreaterThanOrEqual(6);
    expect(generic.refused).toBe(true);
    expect(generic.made).toBe(0);
    expect(generated.encoded).toBe(generic.encoded);
    expect(generated.decoded).toBe(generic.decoded);
  });

  // A decoder made for one shape meets messages that leave it part-way (fewer keys, another key,
  // another count): it gives up and the generic loop reads the message from where the object began.
  it('reads a message that leaves a shape with code part-way, from where the object began', () => {
    const full = { id: 1, name: 'item', tags: ['a', 'b'], score: 1.5, ok: true, big: 1e6, neg: -1, s: 'x' };
    for (let i = 0; i < 200; i++) expect(decodeStructured(encodeStructured({ ...full, id: i }).slice())).toEqual({ ...full, id: i });
    const partial = [{ id: 0, name: 'n' }, { id: 2, name: 'item', tags: ['a', 'b'], score: 1.5, ok: true, big: 1e6, neg: -1 }, { id: 3, name: 'item', tags: ['a', 'b'], score: 1.5, ok: true, big: 1e6, neg: -1, s: 'x', t: 1 }, { id: 4, name: 'item', other: 1 }];
    for (const v of partial) {
      for (let i = 0; i < 3; i++) {
        expect(decodeStructured(encodeStructured(full).slice())).toEqual(full);
        const bytes = encodeStructured(v).slice();
        // The fast path alone: giving up wrongly would end in NOT_PLAIN here (node:v8 hides it).
        const back = decodePlainAt(bytes, 0, bytes.length);
        expect(back).toEqual(v);
        expect(Object.keys(back as object)).toEqual(Object.keys(v));
      }
    }
  });

  // A shape's encoder finds its keys with for-in, which on a typed array would list every index
  // first (a 1 MiB array: a million keys). Typed arrays and DataViews never reach it: seen here
  // through a Proxy in the view's prototype chain, whose traps a key walk would call.
  it("never walks a typed array's keys looking for a shape", () => {
    for (let i = 0; i < 200; i++) encodeStructured({ id: i, name: 'n' });
    let trapped = 0;
    const proto = new Proxy(Object.create(Uint8Array.prototype) as object, {
      ownKeys(t) {
        trapped++;
        return Reflect.ownKeys(t);
      },
      getOwnPropertyDescriptor(t, k) {
        trapped++;
        return Reflect.getOwnPropertyDescriptor(t, k);
      },
    });
    for (const view of [new Uint8Array(64).fill(7), new DataView(new ArrayBuffer(8))]) {
      Object.setPrototypeOf(view, proto);
      // node:v8 refuses a view whose prototype was changed (and its error message looks at the
      // view's keys): as many trap calls as node:v8 alone makes, none of ours.
      trapped = 0;
      expect(() => serialize(view)).toThrow();
      const byV8 = trapped;
      trapped = 0;
      expect(() => encodeStructured(view)).toThrow(expect.objectContaining({ code: 'ERR_IPC_ENCODE' }));
      expect(trapped).toBe(byV8);
    }
    // An ordinary one after the shape's code, as node:v8 writes it.
    const plainView = new Uint8Array(64).fill(7);
    expect(Buffer.from(encodeStructured(plainView))).toEqual(serialize(plainView));
  });

  // Shapes seen before come back from a table (bounded: it is emptied when full).
  it('switches between message types of different shapes, more of them than the shape table holds, exactly', () => {
    const types = Array.from({ length: 600 }, (_, t) => ({ [`k${t}`]: t, kind: 'x', [`z${t % 7}`]: [t] }));
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < types.length; i += round + 1) {
        const v = types[i]!;
        const back = decodeStructured(encodeStructured(v).slice());
        expect(back).toEqual(v);
        expect(Object.keys(back as object)).toEqual(Object.keys(v));
      }
    }
  });

  it('reads from views of one buffer at different offsets, and from shared memory', () => {
    const items = [{ id: 1, name: 'ab', score: 1.5 }, { id: 2, name: 'cd', score: -2.25 }, { id: 3, name: 'ab', score: 7 }];
    const encoded = items.map((v) => encodeStructured(v).slice());
    for (const host of [new Uint8Array(256), new Uint8Array(new SharedArrayBuffer(256))]) {
      let at = 3;
      for (const [i, bytes] of encoded.entries()) {
        host.set(bytes, at);
        // A new view each time, at an odd offset into the buffer: doubles and key words unaligned.
        expect(decodePlainAt(host.subarray(at - 1), 1, bytes.length)).toEqual(items[i]);
        expect(decodePlainAt(host, at, bytes.length)).toEqual(items[i]);
        at += bytes.length + 5;
      }
    }
  });

  class Tagged<T> extends Array<T> {}

  it('tells apart objects whose keys match the last shape in part, in another order, or with other value types', () => {
    const items: unknown[] = [
      { id: 1, name: 'x', tags: ['a'] },
      { id: 'one', name: null, tags: { a: 1 } },
      { name: 'x', id: 1, tags: [] },
      { id: 1, name: 'x' },
      { id: 1, name: 'x', tags: [], more: true },
      JSON.parse('{"id": 1, "__proto__": {"p": 1}}'),
      { id: 1, __proto__x: 2 },
      { 2: 'two', 1: 'one', id: 3 },
      { 1: 'one', 2: 'two', id: 3 },
      [{ id: 1 }, { id: 2, x: 1 }, { x: 1, id: 2 }, { id: 3 }],
      // Keys compared a word at a time: differing only in the first word, only in the last, only
      // in a middle one, and shorter than a word.
      { abcdefgh: 1, score: 1.5 },
      { xbcdefgh: 2, score: 1.5 },
      { abcdefgx: 3, score: 1.5 },
      { abcdefghijkl: 4 },
      { abcdxfghijkl: 5 },
      { a: 6 },
      { b: 7 },
      { a: { b: { c: 1 } } },
      { a: { b: { d: 1 } } },
      { a: { c: { b: 1 } } },
      Object.assign(Object.create(null) as object, { id: 1, name: 'x', tags: ['a'] }),
      { id: 1, name: 'x', tags: ['a'] },
      // Arrays of any prototype: V8 writes them as plain arrays, and so do we.
      Tagged.from(['a', 'b']),
      Object.setPrototypeOf([1, 2], null) as unknown,
      { list: Tagged.from([{ id: 1 }]) },
    ];
    for (let round = 0; round < 2; round++) {
      for (const v of items) {
        const bytes = encodeStructured(v).slice();
        const back = decodeStructured(bytes);
        const want = deserialize(serialize(v)) as unknown;
        expect(back).toEqual(want);
        expect(JSON.stringify(back)).toBe(JSON.stringify(want));
        expect(Object.getPrototypeOf(back)).toBe(Object.getPrototypeOf(want));
        expect(Buffer.from(bytes).equals(serialize(v)) || !Array.isArray(v)).toBe(true);
        // And what v8.serialize writes for it reads back the same through our decoder.
        expect(JSON.stringify(decodeStructured(serialize(v)))).toBe(JSON.stringify(want));
      }
    }
    const proto = decodeStructured(encodeStructured(JSON.parse('{"id": 1, "__proto__": {"p": 1}}')).slice()) as Record<string, unknown>;
    expect(Object.getPrototypeOf(proto)).toBe(Object.prototype);
    expect(Object.keys(proto)).toEqual(['id', '__proto__']);
  });

  it('lists own keys only, even when Object.prototype has an enumerable property', () => {
    const v = { id: 1, name: 'x' };
    encodeStructured(v);
    (Object.prototype as Record<string, unknown>).polluted = 1;
    try {
      expect(deserialize(Buffer.from(encodeStructured(v)))).toEqual(v);
      expect(Object.keys(deserialize(Buffer.from(encodeStructured({ z: 1 }))) as object)).toEqual(['z']);
    } finally {
      delete (Object.prototype as Record<string, unknown>).polluted;
    }
  });

  it('encodes into its scratch buffer, growing it, and decodes at an offset in a larger buffer', () => {
    const big = { text: 'x'.repeat(10_000), list: Array.from({ length: 500 }, (_, i) => ({ i, s: 'é'.repeat(i % 5) })) };
    const len = encodeToScratch(big);
    const bytes = scratch().slice(0, len);
    expect(Buffer.from(bytes)).toEqual(serialize(big));
    const host = new Uint8Array(len + 100);
    host.set(bytes, 37);
    expect(decodePlainAt(host, 37, len)).toEqual(big);
    expect(decodePlainAt(host, 37, len - 1)).toBe(NOT_PLAIN);
  });
});
