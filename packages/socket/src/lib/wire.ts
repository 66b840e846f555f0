import type { StreamDecoder } from '@ipc/core';
import { IpcError, tooLargeError } from '@ipc/core';

/** The wire formats a socket speaks. */
export type Wire = 'native' | 'python';

/**
 * The native wire's heartbeat: a header with only the top bit set. Real frames never set it
 * (their length is at most 2^31 - 1), so it cannot be mistaken for data.
 */
export const PING_HEADER = 0x8000_0000;

const NEED_MORE = -2;
const PING = -3;

/** A 4-byte ping frame (native wire only). */
export function pingFrame(): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(PING_HEADER, 0);
  return b;
}

/**
 * Decoder of the socket wire formats, correct for any chunking:
 * - `native`: 4-byte big-endian unsigned length, then the payload; {@link PING_HEADER} is a
 *   heartbeat with no payload.
 * - `python`: `multiprocessing.connection`'s framing: a 4-byte big-endian signed length, or -1
 *   followed by an 8-byte length for large messages.
 *
 * A claimed length is checked against `maxFrameBytes` before anything is allocated; a partial
 * payload is held as the chunks that arrived, so memory never exceeds what the peer really sent.
 */
export class WireDecoder implements StreamDecoder {
  readonly #wire: Wire;
  readonly #max: number;
  readonly #hdr = Buffer.alloc(12);
  #hdrLen = 0;
  #need = -1;
  #parts: Buffer[] = [];
  #got = 0;
  #used = 0;

  constructor(wire: Wire, maxFrameBytes: number) {
    this.#wire = wire;
    this.#max = maxFrameBytes;
  }

  get hasPartial(): boolean {
    return this.#hdrLen > 0 || this.#need >= 0;
  }

  /** Bytes held for an unfinished frame. */
  get bufferedBytes(): number {
    return this.#hdrLen + this.#got;
  }

  // Returns the payload length of the header at b[off] (it took #used bytes), NEED_MORE, or PING
  // (4 bytes taken). A number rather than an object: this runs once per message.
  #parseHeader(b: Buffer, off: number, avail: number): number {
    if (avail < 4) return NEED_MORE;
    this.#used = 4;
    if (this.#wire === 'native') {
      const n = b.readUInt32BE(off);
      if (n === PING_HEADER) return PING;
      this.#check(n);
      return n;
    }
    const n = b.readInt32BE(off);
    if (n >= 0) {
      this.#check(n);
      return n;
    }
    if (n !== -1) throw new IpcError('ERR_IPC_PROTOCOL', `negative frame length ${n} from the peer`);
    if (avail < 12) return NEED_MORE;
    const big = b.readBigUInt64BE(off + 4);
    if (big > BigInt(this.#max)) throw tooLargeError(Number(big), this.#max);
    this.#used = 12;
    return Number(big);
  }

  #check(n: number): void {
    if (n > this.#max) throw tooLargeError(n, this.#max);
  }

  push(chunk: Buffer, onFrame: (frame: Buffer) => void): void {
    // Offsets into the chunk rather than views of it: the frame is the only buffer made per message.
    const size = chunk.length;
    let off = 0;
    if (this.#wire === 'native' && this.#need < 0 && this.#hdrLen === 0) {
      // The common case, many small frames whole in one chunk (a TLS record holds ~240 of 64 B):
      // one pass with no per-frame state, each frame a view made from the chunk's ArrayBuffer
      // (cheaper than chunk.subarray, whose property loads see every Buffer of the process).
      const max = this.#max;
      const ab = chunk.buffer;
      const base = chunk.byteOffset;
      while (size - off >= 4) {
        const n = ((chunk[off]! << 24) | (chunk[off + 1]! << 16) | (chunk[off + 2]! << 8) | chunk[off + 3]!) >>> 0;
        if (n === PING_HEADER) {
          off += 4;
          continue;
        }
        if (n > max) throw tooLargeError(n, max);
        if (size - off - 4 < n) break;
        off += 4;
        onFrame(n === 0 ? Buffer.alloc(0) : Buffer.from(ab, base + off, n));
        off += n;
      }
    }
    while (off < size) {
      if (this.#need < 0) {
        let parsed: number;
        if (this.#hdrLen === 0) {
          parsed = this.#parseHeader(chunk, off, size - off);
          if (parsed === NEED_MORE) {
            chunk.copy(this.#hdr, 0, off, size);
            this.#hdrLen = size - off;
            return;
          }
          off += this.#used;
        } else {
          // Finish a header split across chunks: take what it may still need (at most 12 bytes).
          const want = Math.min(12 - this.#hdrLen, size - off);
          chunk.copy(this.#hdr, this.#hdrLen, off, off + want);
          const avail = this.#hdrLen + want;
          parsed = this.#parseHeader(this.#hdr, 0, avail);
          if (parsed === NEED_MORE) {
            this.#hdrLen = avail;
            off += want;
            continue;
          }
          off += this.#used - this.#hdrLen;
          this.#hdrLen = 0;
        }
        if (parsed === PING) continue;
        if (parsed === 0) onFrame(Buffer.alloc(0));
        else this.#need = parsed;
        continue;
      }
      const missing = this.#need - this.#got;
      if (this.#got === 0 && size - off >= missing) {
        this.#need = -1;
        onFrame(chunk.subarray(off, off + missing));
        off += missing;
        continue;
      }
      const take = Math.min(missing, size - off);
      this.#parts.push(chunk.subarray(off, off + take));
      this.#got += take;
      off += take;
      if (this.#got === this.#need) {
        const frame = Buffer.concat(this.#parts, this.#need);
        this.#parts = [];
        this.#got = 0;
        this.#need = -1;
        onFrame(frame);
      }
    }
  }
}
