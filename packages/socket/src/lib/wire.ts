import type { StreamDecoder } from '@ipc/core';
import { IpcError, tooLargeError } from '@ipc/core';

/** The wire formats a socket speaks. */
export type Wire = 'native' | 'python';

/**
 * The native wire's heartbeat: a header with only the top bit set. Real frames never set it
 * (their length is at most 2^31 - 1), so it cannot be mistaken for data.
 */
export const PING_HEADER = 0x8000_0000;

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

  // Returns the payload length, -2 for "need more header bytes", -3 for a ping (consumed).
  #parseHeader(b: Buffer, avail: number): { used: number; length: number } | undefined {
    if (avail < 4) return undefined;
    if (this.#wire === 'native') {
      const n = b.readUInt32BE(0);
      if (n === PING_HEADER) return { used: 4, length: -3 };
      this.#check(n);
      return { used: 4, length: n };
    }
    const n = b.readInt32BE(0);
    if (n >= 0) {
      this.#check(n);
      return { used: 4, length: n };
    }
    if (n !== -1) throw new IpcError('ERR_IPC_PROTOCOL', `negative frame length ${n} from the peer`);
    if (avail < 12) return undefined;
    const big = b.readBigUInt64BE(4);
    if (big > BigInt(this.#max)) throw tooLargeError(Number(big), this.#max);
    return { used: 12, length: Number(big) };
  }

  #check(n: number): void {
    if (n > this.#max) throw tooLargeError(n, this.#max);
  }

  push(chunk: Buffer, onFrame: (frame: Buffer) => void): void {
    let buf = chunk;
    while (buf.length > 0) {
      if (this.#need < 0) {
        let parsed: { used: number; length: number } | undefined;
        if (this.#hdrLen === 0) {
          parsed = this.#parseHeader(buf, buf.length);
          if (parsed) {
            buf = buf.subarray(parsed.used);
          } else {
            buf.copy(this.#hdr, 0, 0, buf.length);
            this.#hdrLen = buf.length;
            return;
          }
        } else {
          // Finish a header split across chunks: take what it may still need (at most 12 bytes).
          const want = Math.min(12 - this.#hdrLen, buf.length);
          buf.copy(this.#hdr, this.#hdrLen, 0, want);
          const avail = this.#hdrLen + want;
          parsed = this.#parseHeader(this.#hdr, avail);
          if (!parsed) {
            this.#hdrLen = avail;
            buf = buf.subarray(want);
            continue;
          }
          buf = buf.subarray(parsed.used - this.#hdrLen);
          this.#hdrLen = 0;
        }
        if (parsed.length === -3) continue;
        this.#need = parsed.length;
        if (this.#need === 0) {
          this.#need = -1;
          onFrame(Buffer.alloc(0));
        }
        continue;
      }
      const missing = this.#need - this.#got;
      if (this.#got === 0 && buf.length >= missing) {
        onFrame(buf.subarray(0, missing));
        buf = buf.subarray(missing);
        this.#need = -1;
        continue;
      }
      const take = Math.min(missing, buf.length);
      this.#parts.push(buf.subarray(0, take));
      this.#got += take;
      buf = buf.subarray(take);
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
