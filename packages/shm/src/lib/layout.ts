/**
 * The trailer: the last {@link TRAILER_BYTES} of every segment this package creates. The user's bytes
 * stay at offset 0 (so Python and other tools see exactly them); the trailer records the creator
 * and holds the async-waiter registrations. See docs/decisions/001-async-waits.md.
 *
 * ```
 * byte 0     magic (u64)            byte 8   user size (u64)
 * word 4     layout version         word 5   creator pid
 * byte 24    creator start time (f64, clock ticks)
 * word 8     flags (bit 0: unlinkOnExit)
 * word 9     sync waiters parked in FUTEX_WAIT on this segment (notify skips the syscall when 0)
 * word 10    registration slots in use high-water mark
 * word 11    metadata length (bytes)
 * byte 64    metadata, UTF-8 JSON (Value / SharedArray type), up to 960 bytes
 * byte 1024  SLOT_COUNT slots of 8 words: state, pid, fd, ino, token, bloomLo, bloomHi, overflow
 * ```
 */
export const MAGIC = 0x31304d4853435049n; // 'IPCSHM01' little-endian
export const LAYOUT_VERSION = 1;
export const SLOT_COUNT = 128;
export const SLOT_WORDS = 8;
export const SLOTS_BYTE_OFFSET = 1024;
export const TRAILER_BYTES = SLOTS_BYTE_OFFSET + SLOT_COUNT * SLOT_WORDS * 4;
export const META_BYTE_OFFSET = 64;
export const META_MAX_BYTES = SLOTS_BYTE_OFFSET - META_BYTE_OFFSET;

export const W_VERSION = 4;
export const W_PID = 5;
export const B_START_TIME = 24;
export const W_FLAGS = 8;
export const W_SYNC_WAITERS = 9;
export const W_HWM = 10;
export const W_META_LEN = 11;

export const FLAG_UNLINK_ON_EXIT = 1;

export const SLOT_FREE = 0;
export const SLOT_CLAIMING = 1;
export const SLOT_ACTIVE = 2;
export const S_STATE = 0;
export const S_PID = 1;
export const S_FD = 2;
export const S_INO = 3;
export const S_TOKEN = 4;
export const S_BLOOM_LO = 5;
export const S_BLOOM_HI = 6;
export const S_OVERFLOW = 7;

/** The word index (in the trailer's Int32Array) of slot `i`'s field `f`. */
export function slotWord(i: number, f: number): number {
  return (SLOTS_BYTE_OFFSET >> 2) + i * SLOT_WORDS + f;
}

/** The user region is padded to 64 bytes so the trailer's words are aligned. */
export function totalBytesFor(size: number): number {
  return Math.ceil(size / 64) * 64 + TRAILER_BYTES;
}

/** What a trailer records about its segment, read without mapping (the CLI uses it). */
export interface TrailerInfo {
  size: number;
  pid: number;
  startTime: number;
  unlinkOnExit: boolean;
  meta: unknown;
}

/** Builds the initial trailer bytes for a new segment. */
export function buildTrailer(size: number, pid: number, startTime: number, flags: number, meta: unknown): Uint8Array {
  const bytes = new Uint8Array(TRAILER_BYTES);
  const dv = new DataView(bytes.buffer);
  dv.setBigUint64(0, MAGIC, true);
  dv.setBigUint64(8, BigInt(size), true);
  dv.setInt32(W_VERSION * 4, LAYOUT_VERSION, true);
  dv.setInt32(W_PID * 4, pid, true);
  dv.setFloat64(B_START_TIME, startTime, true);
  dv.setInt32(W_FLAGS * 4, flags, true);
  if (meta !== undefined) {
    const json = new TextEncoder().encode(JSON.stringify(meta));
    if (json.length > META_MAX_BYTES) throw new RangeError(`segment metadata must be <= ${META_MAX_BYTES} bytes`);
    bytes.set(json, META_BYTE_OFFSET);
    dv.setInt32(W_META_LEN * 4, json.length, true);
  }
  return bytes;
}

/** Parses trailer bytes; undefined when they are not ours. */
export function parseTrailer(bytes: Uint8Array, fileSize: number): TrailerInfo | undefined {
  if (bytes.byteLength < TRAILER_BYTES) return undefined;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dv.getBigUint64(0, true) !== MAGIC) return undefined;
  const size = Number(dv.getBigUint64(8, true));
  if (size < 1 || size > fileSize - TRAILER_BYTES) return undefined;
  const metaLen = dv.getInt32(W_META_LEN * 4, true);
  let meta: unknown;
  if (metaLen > 0 && metaLen <= META_MAX_BYTES) {
    try {
      meta = JSON.parse(new TextDecoder().decode(bytes.subarray(META_BYTE_OFFSET, META_BYTE_OFFSET + metaLen)));
    } catch {
      meta = undefined;
    }
  }
  return {
    size,
    pid: dv.getInt32(W_PID * 4, true),
    startTime: dv.getFloat64(B_START_TIME, true),
    unlinkOnExit: (dv.getInt32(W_FLAGS * 4, true) & FLAG_UNLINK_ON_EXIT) !== 0,
    meta,
  };
}
