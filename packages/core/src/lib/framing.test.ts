import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IpcError } from './errors.js';
import {
  DEFAULT_MAX_FRAME_BYTES,
  FRAME_HEADER_BYTES,
  FrameDecoder,
  MAX_FRAME_BYTES_LIMIT,
  encodeFrame,
  frameHeader,
  validateMaxFrameBytes,
} from './framing.js';

/** The byte stream for some messages: header + payload each. */
function streamOf(messages: Uint8Array[]): Buffer {
  return Buffer.concat(messages.map((m) => encodeFrame(m)));
}

/** Cuts `bytes` at the given offsets (any order, duplicates and out-of-range values allowed). */
function cut(bytes: Buffer, offsets: number[]): Buffer[] {
  const points = [...new Set(offsets.map((o) => o % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let prev = 0;
  for (const p of [...points, bytes.length]) {
    // Copy each chunk, as a socket hands out fresh buffers; empty chunks are allowed too.
    chunks.push(Buffer.from(bytes.subarray(prev, p)));
    prev = p;
  }
  return chunks;
}

/** Feeds chunks and copies every frame out (frames may be views into a chunk). */
function decodeAll(decoder: FrameDecoder, chunks: Uint8Array[]): Buffer[] {
  const frames: Buffer[] = [];
  for (const chunk of chunks) decoder.push(chunk, (f) => frames.push(Buffer.from(f)));
  return frames;
}

function thrown(fn: () => void): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

const messages = fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 30 });
const offsets = fc.array(fc.nat(), { maxLength: 40 });

describe('frame encoding', () => {
  it('prefixes the payload with its length as 4 big-endian bytes', () => {
    const frame = encodeFrame(Uint8Array.from([7, 8, 9]));
    expect([...frame]).toEqual([0, 0, 0, 3, 7, 8, 9]);
    expect([...frameHeader(258)]).toEqual([0, 0, 1, 2]);
    expect(FRAME_HEADER_BYTES).toBe(4);
  });

  it('refuses a payload over the bound with ERR_IPC_TOO_LARGE naming length and bound', () => {
    const err = thrown(() => encodeFrame(new Uint8Array(11), 10));
    expect(IpcError.is(err, 'ERR_IPC_TOO_LARGE')).toBe(true);
    expect((err as IpcError).details).toEqual({ length: 11, max: 10 });
    expect(IpcError.is(thrown(() => frameHeader(11, 10)), 'ERR_IPC_TOO_LARGE')).toBe(true);
    expect(encodeFrame(new Uint8Array(10), 10).length).toBe(14);
  });
});

describe('validateMaxFrameBytes', () => {
  it('defaults to 64 MiB and accepts 1..2 GiB - 1', () => {
    expect(validateMaxFrameBytes(undefined)).toBe(DEFAULT_MAX_FRAME_BYTES);
    expect(validateMaxFrameBytes(1)).toBe(1);
    expect(validateMaxFrameBytes(MAX_FRAME_BYTES_LIMIT)).toBe(MAX_FRAME_BYTES_LIMIT);
  });

  it('throws RangeError naming the option and the limit outside the range, TypeError for non-integers', () => {
    expect(() => validateMaxFrameBytes(0)).toThrow(RangeError);
    expect(() => validateMaxFrameBytes(MAX_FRAME_BYTES_LIMIT + 1)).toThrow(/maxFrameBytes must be between 1 and 2147483647, got 2147483648/);
    expect(() => validateMaxFrameBytes(-5, 'maxMessageBytes')).toThrow(/maxMessageBytes/);
    expect(() => validateMaxFrameBytes(1.5)).toThrow(TypeError);
    expect(() => validateMaxFrameBytes('10')).toThrow(TypeError);
    expect(() => validateMaxFrameBytes(Number.NaN)).toThrow(TypeError);
    expect(() => new FrameDecoder({ maxFrameBytes: 0 })).toThrow(RangeError);
  });
});

describe('FrameDecoder', () => {
  it('yields exactly the frames sent, in order, for any chunking of the stream', () => {
    fc.assert(
      fc.property(messages, offsets, (msgs, cuts) => {
        const decoder = new FrameDecoder();
        const frames = decodeAll(decoder, cut(streamOf(msgs), cuts));
        expect(frames).toEqual(msgs.map((m) => Buffer.from(m)));
        expect(decoder.bufferedBytes).toBe(0);
        expect(decoder.hasPartial).toBe(false);
        decoder.end();
      }),
      { numRuns: 300 },
    );
  });

  it('assembles large frames in place for any chunking, between small ones, without mixing them up', () => {
    const sizes = fc.array(fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 64 * 1024 - 2, max: 200 * 1024 })), {
      minLength: 1,
      maxLength: 6,
    });
    fc.assert(
      fc.property(sizes, fc.array(fc.nat(), { maxLength: 60 }), (lengths, cuts) => {
        const msgs = lengths.map((n, i) => {
          const m = new Uint8Array(n);
          for (let j = 0; j < n; j += 997) m[j] = (i * 31 + j) & 0xff;
          if (n > 0) m[n - 1] = i;
          return m;
        });
        const decoder = new FrameDecoder();
        const frames = decodeAll(decoder, cut(streamOf(msgs), cuts));
        expect(frames.map((f) => f.length)).toEqual(lengths);
        // Buffer#equals: a deep equality over 200 KiB buffers would take seconds.
        for (const [i, f] of frames.entries()) expect(f.equals(msgs[i]!), `frame ${i}`).toBe(true);
        expect(decoder.hasPartial).toBe(false);
      }),
      { numRuns: 60 },
    );
  });

  it('decodes a stream fed one byte at a time, including empty frames', () => {
    const msgs = [new Uint8Array(0), Uint8Array.from([1]), new Uint8Array(0), Buffer.from('hello'), new Uint8Array(0)];
    const stream = streamOf(msgs);
    const decoder = new FrameDecoder();
    const frames = decodeAll(decoder, [...stream].map((b) => Uint8Array.of(b)));
    expect(frames).toEqual(msgs.map((m) => Buffer.from(m)));
    decoder.end();
  });

  it('accepts plain Uint8Array chunks and views into larger buffers', () => {
    const stream = streamOf([Buffer.from('abc'), Buffer.from('defg')]);
    const backing = new Uint8Array(stream.length + 10);
    backing.set(stream, 5);
    const view = backing.subarray(5, 5 + stream.length);
    const frames = decodeAll(new FrameDecoder(), [view.subarray(0, 6), view.subarray(6)]);
    expect(frames.map((f) => f.toString())).toEqual(['abc', 'defg']);
  });

  it('accepts a frame of exactly maxFrameBytes and refuses one byte more', () => {
    const ok = new FrameDecoder({ maxFrameBytes: 8 });
    expect(decodeAll(ok, [encodeFrame(new Uint8Array(8).fill(1))])).toHaveLength(1);
    const tooBig = new FrameDecoder({ maxFrameBytes: 8 });
    const err = thrown(() => tooBig.push(frameHeader(9), () => {}));
    expect(IpcError.is(err, 'ERR_IPC_TOO_LARGE')).toBe(true);
    expect((err as IpcError).details).toEqual({ length: 9, max: 8 });
  });

  it('refuses a huge claimed length as soon as the header is complete, holding nothing', () => {
    const decoder = new FrameDecoder();
    decoder.push(Uint8Array.from([0xff, 0xff]), () => {});
    expect(decoder.bufferedBytes).toBe(2);
    const err = thrown(() => decoder.push(Uint8Array.from([0xff, 0xf0, 1, 2, 3]), () => {}));
    expect(IpcError.is(err, 'ERR_IPC_TOO_LARGE')).toBe(true);
    expect(decoder.bufferedBytes).toBe(0);
  });

  it('never holds more than the bytes it was given while a header claims a large length', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1 << 20 }),
        fc.array(fc.integer({ min: 0, max: 4096 }), { maxLength: 20 }),
        (claimed, sizes) => {
          const decoder = new FrameDecoder({ maxFrameBytes: 1 << 20 });
          let given = 0;
          let frames = 0;
          const feed = (chunk: Uint8Array) => {
            given += chunk.length;
            decoder.push(chunk, () => frames++);
            expect(decoder.bufferedBytes).toBeLessThanOrEqual(given);
          };
          feed(frameHeader(claimed));
          for (const size of sizes) {
            if (frames > 0) break;
            feed(new Uint8Array(size));
          }
          if (frames === 0) expect(decoder.bufferedBytes).toBe(given - FRAME_HEADER_BYTES);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('only ever throws IpcError on random garbage, and stays failed after an error', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 2000 }),
        offsets,
        fc.integer({ min: 1, max: 512 }),
        (garbage, cuts, maxFrameBytes) => {
          const decoder = new FrameDecoder({ maxFrameBytes });
          let failure: unknown;
          for (const chunk of cut(Buffer.from(garbage), cuts)) {
            failure = thrown(() => decoder.push(chunk, (f) => expect(f.length).toBeLessThanOrEqual(maxFrameBytes)));
            if (failure !== undefined) break;
            expect(decoder.bufferedBytes).toBeLessThanOrEqual(garbage.length);
          }
          if (failure !== undefined) {
            expect(IpcError.is(failure, 'ERR_IPC_TOO_LARGE')).toBe(true);
            expect(decoder.bufferedBytes).toBe(0);
            // a byte stream cannot resynchronise: the same error again
            expect(thrown(() => decoder.push(Uint8Array.of(0, 0, 0, 0), () => {}))).toBe(failure);
            return;
          }
          const end = thrown(() => decoder.end());
          if (end !== undefined) expect(IpcError.is(end, 'ERR_IPC_DECODE')).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('only ever throws IpcError on near-valid garbage: plausible headers over payloads of the wrong size', () => {
    const pieces = fc.array(
      fc.record({ claimed: fc.integer({ min: 0, max: 700 }), body: fc.uint8Array({ maxLength: 700 }) }),
      { maxLength: 10 },
    );
    fc.assert(
      fc.property(pieces, offsets, fc.integer({ min: 1, max: 512 }), (parts, cuts, maxFrameBytes) => {
        const stream = Buffer.concat(parts.flatMap((p) => [frameHeader(p.claimed, MAX_FRAME_BYTES_LIMIT), p.body]));
        const decoder = new FrameDecoder({ maxFrameBytes });
        try {
          for (const chunk of cut(stream, cuts)) {
            decoder.push(chunk, (f) => expect(f.length).toBeLessThanOrEqual(maxFrameBytes));
            expect(decoder.bufferedBytes).toBeLessThanOrEqual(stream.length);
          }
          decoder.end();
        } catch (err) {
          if (!IpcError.is(err)) throw err;
          expect(['ERR_IPC_TOO_LARGE', 'ERR_IPC_DECODE']).toContain(err.code);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('throws ERR_IPC_DECODE from end() when the input stops inside a header or payload', () => {
    fc.assert(
      fc.property(messages.filter((m) => m.length > 0), fc.nat(), (msgs, at) => {
        const stream = streamOf(msgs);
        const boundaries = new Set<number>([0]);
        let off = 0;
        for (const m of msgs) boundaries.add((off += FRAME_HEADER_BYTES + m.length));
        const stop = at % (stream.length + 1);
        const decoder = new FrameDecoder();
        decodeAll(decoder, [stream.subarray(0, stop)]);
        const err = thrown(() => decoder.end());
        if (boundaries.has(stop)) {
          expect(err).toBeUndefined();
        } else {
          expect(IpcError.is(err, 'ERR_IPC_DECODE')).toBe(true);
          expect(decoder.hasPartial).toBe(false);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('reset() drops a partial frame and clears a failure', () => {
    const decoder = new FrameDecoder({ maxFrameBytes: 4 });
    decoder.push(Uint8Array.of(0, 0), () => {});
    decoder.reset();
    expect(decoder.hasPartial).toBe(false);
    expect(IpcError.is(thrown(() => decoder.push(frameHeader(5, 10), () => {})), 'ERR_IPC_TOO_LARGE')).toBe(true);
    decoder.reset();
    expect(decodeAll(decoder, [encodeFrame(Uint8Array.of(1, 2))]).map((f) => [...f])).toEqual([[1, 2]]);
  });
});
