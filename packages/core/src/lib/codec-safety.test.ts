import { describe, expect, it } from 'vitest';
import { msgpackCodec, resolveCodec, structuredCodec } from './codec.js';

describe('codec safety', () => {
  it('msgpack decodes plain objects as plain objects, not Map', () => {
    const value = { a: 1, nested: { b: [1, 2] } };
    expect(msgpackCodec.decode(msgpackCodec.encode(value))).toEqual(value);
  });

  it('msgpack never constructs a Function while decoding hostile record bytes', () => {
    // msgpackr "records": fixext1 0x72 defines structure 0 with keys ["a"]; token 0x40 reuses it.
    // After a few reuses msgpackr compiles a reader with new Function(); the keys come from the wire.
    const bytes = Uint8Array.from([0x95, 0xd4, 0x72, 0x40, 0x91, 0xa1, 0x61, 0x01, 0x40, 0x02, 0x40, 0x03, 0x40, 0x04, 0x40, 0x05]);
    const RealFunction = globalThis.Function;
    let constructed = 0;
    globalThis.Function = new Proxy(RealFunction, {
      construct(target, args) {
        constructed++;
        return Reflect.construct(target, args);
      },
      apply(target, self, args) {
        constructed++;
        return Reflect.apply(target, self, args);
      },
    });
    try {
      try {
        msgpackCodec.decode(bytes);
      } catch {
        // refusing records altogether (ERR_IPC_DECODE) is fine too
      }
    } finally {
      globalThis.Function = RealFunction;
    }
    expect(constructed).toBe(0);
  });

  it('structured decode does not alias the input bytes (they may be a reused buffer)', () => {
    const wire = Buffer.from(structuredCodec.encode({ data: new Uint8Array(64).fill(1) }));
    const back = structuredCodec.decode(wire) as { data: Uint8Array };
    wire.fill(9);
    expect(back.data[0]).toBe(1);
  });

  it('structured encode hands out bytes that later encodes do not overwrite (plain data, large and small)', () => {
    const first = structuredCodec.encode({ n: 1, s: 'first' });
    const kept = Buffer.from(first);
    structuredCodec.encode({ n: 2, s: 'second!' });
    const big = structuredCodec.encode({ s: 'x'.repeat(3 << 20) }); // grows the scratch past 1 MiB, then trims it
    structuredCodec.encode({ n: 3, s: 'third' });
    expect(Buffer.from(first)).toEqual(kept);
    expect(structuredCodec.decode(first)).toEqual({ n: 1, s: 'first' });
    expect((structuredCodec.decode(big) as { s: string }).s.length).toBe(3 << 20);
  });

  it('resolveCodec refuses Object.prototype names', () => {
    for (const name of ['toString', '__proto__', 'constructor', 'hasOwnProperty']) {
      expect(() => resolveCodec(name as 'json')).toThrow(TypeError);
    }
  });
});
