import { IpcError } from './errors.js';

/** Bytes in a frame header: a 4-byte big-endian unsigned length. */
export const FRAME_HEADER_BYTES = 4;
// Frames from this size are assembled in place once half arrived; smaller ones are joined at the end.
const ASSEMBLE_MIN_BYTES = 64 * 1024;
/** Default bound on one frame's payload: 64 MiB. */
export const DEFAULT_MAX_FRAME_BYTES = 64 * 1024 * 1024;
/** The largest bound anyone may set: 2 GiB - 1 (what one Buffer can hold on every platform). */
export const MAX_FRAME_BYTES_LIMIT = 0x7fff_ffff;

/**
 * Checks a `maxFrameBytes` option.
 * @throws {RangeError} when outside 1..{@link MAX_FRAME_BYTES_LIMIT}
 */
export function validateMaxFrameBytes(value: unknown, name = 'maxFrameBytes'): number {
  if (value === undefined) return DEFAULT_MAX_FRAME_BYTES;
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new TypeError(`${name} must be an integer, got ${String(value)}`);
  }
  if (value < 1 || value > MAX_FRAME_BYTES_LIMIT) {
    throw new RangeError(`${name} must be between 1 and ${MAX_FRAME_BYTES_LIMIT}, got ${value}`);
  }
  return value;
}

/** The error for a frame over its bound. */
export function tooLargeError(length: number, max: number, what = 'frame'): IpcError {
  return new IpcError('ERR_IPC_TOO_LARGE', `${what} of ${length} bytes is over maxFrameBytes ${max}`, {
    details: { length, max },
  });
}

/**
 * The 4-byte header for a payload of `length` bytes. Write it and the payload together (cork or
 * writev) so that a large payload is not copied.
 * @throws {IpcError} ERR_IPC_TOO_LARGE when length is over `max`
 */
export function frameHeader(length: number, max: number = DEFAULT_MAX_FRAME_BYTES): Buffer {
  if (length > max) throw tooLargeError(length, max);
  const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  header.writeUInt32BE(length, 0);
  return header;
}

/**
 * One buffer holding header and payload (copies the payload; for small messages).
 * @throws {IpcError} ERR_IPC_TOO_LARGE when the payload is over `max`
 */
export function encodeFrame(payload: Uint8Array, max: number = DEFAULT_MAX_FRAME_BYTES): Buffer {
  if (payload.byteLength > max) throw tooLargeError(payload.byteLength, max);
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.byteLength);
  out.writeUInt32BE(payload.byteLength, 0);
  out.set(payload, FRAME_HEADER_BYTES);
  return out;
}

/**
 * Incremental decoder of length-prefixed frames, correct for any chunking of its input.
 *
 * The claimed length is checked against `maxFrameBytes` as soon as the header is complete, before
 * any allocation. A partial frame is held as the chunks that arrived until half of it is here; then
 * one buffer of the frame's length takes them and every later chunk is copied in as it arrives, so
 * completing a large frame copies only its last chunk. Memory never exceeds twice what the peer
 * actually sent (and never the bound). After an error the decoder stays failed: a byte stream
 * cannot resynchronise.
 */
export class FrameDecoder {
  readonly maxFrameBytes: number;
  #chunks: Buffer[] = [];
  #buffered = 0;
  #frame: Buffer | undefined; // the frame in progress, once half of it arrived
  #need = -1; // payload length of the frame in progress, -1 while reading a header
  #failed: IpcError | undefined;

  constructor(options: { maxFrameBytes?: number } = {}) {
    this.maxFrameBytes = validateMaxFrameBytes(options.maxFrameBytes);
  }

  /** Bytes held for an incomplete frame. */
  get bufferedBytes(): number {
    return this.#buffered;
  }

  /** True when a frame or header is partly received. */
  get hasPartial(): boolean {
    return this.#buffered > 0 || this.#need >= 0;
  }

  /**
   * Feeds a chunk; calls `onFrame` for each complete frame. A frame may be a view into `chunk`:
   * copy it if the chunk's memory is reused. `onFrame` must not throw: the rest of the chunk would
   * be lost and the stream out of step.
   * @throws {IpcError} ERR_IPC_TOO_LARGE when a header claims more than `maxFrameBytes`
   */
  push(chunk: Uint8Array, onFrame: (frame: Buffer) => void): void {
    if (this.#failed) throw this.#failed;
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const size = buf.length;
    let off = 0;
    if (this.#need < 0 && this.#buffered > 0) {
      // A header split across chunks: at most 3 bytes are held.
      const missing = FRAME_HEADER_BYTES - this.#buffered;
      if (size < missing) {
        this.#hold(buf);
        return;
      }
      const header = Buffer.concat([...this.#chunks, buf.subarray(0, missing)], FRAME_HEADER_BYTES);
      this.#chunks = [];
      this.#buffered = 0;
      off = missing;
      const length = header.readUInt32BE(0);
      this.#check(length);
      this.#need = length;
    }
    if (this.#need >= 0) {
      // The rest of a frame whose header arrived earlier; its bytes are held as they arrived (see
      // #hold: a large frame gets its buffer once half of it is here), so a claimed length is never
      // allocated up front.
      const missing = this.#need - this.#buffered;
      if (size - off < missing) {
        this.#hold(off === 0 ? buf : buf.subarray(off));
        return;
      }
      const tail = buf.subarray(off, off + missing);
      let frame: Buffer;
      if (this.#frame) {
        frame = this.#frame;
        frame.set(tail, this.#buffered);
      } else {
        frame = this.#chunks.length === 0 ? tail : Buffer.concat([...this.#chunks, tail], this.#need);
      }
      this.#dropPartial();
      off += missing;
      onFrame(frame);
    }
    // Whole frames straight out of the chunk: offsets only, one view per frame.
    while (size - off >= FRAME_HEADER_BYTES) {
      const length = ((buf[off]! << 24) | (buf[off + 1]! << 16) | (buf[off + 2]! << 8) | buf[off + 3]!) >>> 0;
      this.#check(length);
      const start = off + FRAME_HEADER_BYTES;
      const end = start + length;
      if (end > size) {
        this.#need = length;
        off = start;
        break;
      }
      off = end;
      onFrame(buf.subarray(start, end));
    }
    if (off < size) this.#hold(buf.subarray(off));
  }

  #hold(part: Buffer): void {
    if (this.#frame) {
      this.#frame.set(part, this.#buffered);
      this.#buffered += part.length;
      return;
    }
    this.#chunks.push(part);
    this.#buffered += part.length;
    // Half a payload is here: from now on copy each chunk into the frame as it comes (while the
    // rest is still in flight) instead of all of them once the last one arrived.
    if (this.#need >= ASSEMBLE_MIN_BYTES && this.#buffered * 2 >= this.#need) {
      const frame = Buffer.allocUnsafe(this.#need);
      let at = 0;
      for (const c of this.#chunks) {
        frame.set(c, at);
        at += c.length;
      }
      this.#chunks = [];
      this.#frame = frame;
    }
  }

  /**
   * Declares the end of input.
   * @throws {IpcError} ERR_IPC_DECODE when the input stopped inside a frame
   */
  end(): void {
    if (this.#failed) return;
    if (this.hasPartial) {
      const got = this.#buffered;
      this.reset();
      throw new IpcError('ERR_IPC_DECODE', `stream ended inside a frame (${got} bytes of an unfinished frame)`);
    }
  }

  /** Forgets the frame in progress (its chunks or its buffer) and waits for a header again. */
  #dropPartial(): void {
    this.#frame = undefined;
    this.#chunks = [];
    this.#buffered = 0;
    this.#need = -1;
  }

  /** Drops any partial frame and clears a failure. */
  reset(): void {
    this.#dropPartial();
    this.#failed = undefined;
  }

  #check(length: number): void {
    if (length > this.maxFrameBytes) {
      this.#failed = tooLargeError(length, this.maxFrameBytes);
      this.#dropPartial();
      throw this.#failed;
    }
  }
}
