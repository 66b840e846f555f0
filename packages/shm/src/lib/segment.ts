import { closeSync, openSync, readFileSync, readSync, fstatSync } from 'node:fs';
import { fromSystemError } from '@ipc/core';
import type { IpcError } from '@ipc/core';
import { MAGIC, TRAILER_BYTES, parseTrailer, type TrailerInfo } from './layout.js';
import { native } from './native.js';

/** What the waiting code needs to know about the segment under a buffer. */
export interface SegmentRef {
  /** The name without the leading slash. */
  readonly name: string;
  /** The trailer's words, or null for a segment that another tool made (no trailer). */
  readonly trailer: Int32Array | null;
}

// Per thread (each worker loads its own copy of this module): buffers we mapped, to their segment.
const byBuffer = new WeakMap<SharedArrayBuffer, SegmentRef>();

/** Records that `buffer` is the user region of a segment. */
export function rememberBuffer(buffer: SharedArrayBuffer, ref: SegmentRef): void {
  byBuffer.set(buffer, ref);
}

// Segments mapped only to reach the trailer of a buffer that was posted to this thread, by name.
const trailerCache = new Map<string, SegmentRef>();

/**
 * Finds the segment under a SharedArrayBuffer: a buffer this thread mapped is known; one that was
 * posted here from another thread is looked up in /proc/self/maps by its address.
 * @throws {TypeError} when the buffer is not shared memory from this package
 */
export function segmentOf(buffer: SharedArrayBuffer): SegmentRef {
  const known = byBuffer.get(buffer);
  if (known) return known;
  const address = native().address(buffer);
  const name = mappedShmName(address);
  if (name === undefined) {
    throw new TypeError('view must be over the buffer of a SharedMemory (a segment in /dev/shm), not a plain SharedArrayBuffer');
  }
  let ref = trailerCache.get(name);
  if (!ref) {
    try {
      const [, trailer] = native().open(`/${name}`, TRAILER_BYTES, MAGIC);
      ref = { name, trailer: trailer ? new Int32Array(trailer) : null };
    } catch {
      ref = { name, trailer: null };
    }
    trailerCache.set(name, ref);
  }
  byBuffer.set(buffer, ref);
  return ref;
}

function mappedShmName(address: number): string | undefined {
  let maps: string;
  try {
    maps = readFileSync('/proc/self/maps', 'utf8');
  } catch {
    return undefined;
  }
  for (const line of maps.split('\n')) {
    const dash = line.indexOf('-');
    const space = line.indexOf(' ');
    if (dash < 0 || space < 0) continue;
    const start = parseInt(line.slice(0, dash), 16);
    const end = parseInt(line.slice(dash + 1, space), 16);
    if (address < start || address >= end) continue;
    const m = /\s\/dev\/shm\/(\S+)$/.exec(line);
    return m ? m[1] : undefined;
  }
  return undefined;
}

/** Reads the trailer of `/dev/shm/<name>` with plain file reads (no mapping). */
export function readTrailerFile(name: string): TrailerInfo | undefined {
  let fd: number;
  try {
    fd = openSync(`/dev/shm/${name}`, 'r');
  } catch {
    return undefined;
  }
  try {
    const size = fstatSync(fd).size;
    if (size < TRAILER_BYTES + 1) return undefined;
    const bytes = new Uint8Array(TRAILER_BYTES);
    readSync(fd, bytes, 0, TRAILER_BYTES, size - TRAILER_BYTES);
    return parseTrailer(bytes, size);
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/** Maps errno from the addon to IpcError codes. */
export function systemError(err: unknown, message: string): IpcError {
  return fromSystemError(err, message, { ENOSPC: 'ERR_IPC_TOO_LARGE', EFBIG: 'ERR_IPC_TOO_LARGE', ENOMEM: 'ERR_IPC_TOO_LARGE' });
}
