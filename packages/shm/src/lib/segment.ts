import { closeSync, fstatSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
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

/**
 * Finds the segment under a SharedArrayBuffer: a buffer this thread mapped is known; one that was
 * posted here from another thread is looked up in /proc/self/maps by its address (once per buffer),
 * and its trailer mapped again by name, if the name still leads to the same file (inode).
 * @throws {TypeError} when the buffer is not shared memory from /dev/shm
 */
export function segmentOf(buffer: SharedArrayBuffer): SegmentRef {
  const known = byBuffer.get(buffer);
  if (known) return known;
  const found = mappedShm(native().address(buffer));
  if (found === undefined) {
    throw new TypeError('view must be over the buffer of a SharedMemory (a segment in /dev/shm), not a plain SharedArrayBuffer');
  }
  let ref: SegmentRef = { name: found.name, trailer: null };
  if (!found.deleted) {
    try {
      const [, trailer] = native().open(`/${found.name}`, TRAILER_BYTES, MAGIC);
      // The name may have been unlinked and reused since this buffer was mapped: then the trailer we
      // just mapped belongs to another segment, and waits on this buffer fall back to polling.
      if (trailer && statSync(`/dev/shm/${found.name}`).ino === found.inode) ref = { name: found.name, trailer: new Int32Array(trailer) };
    } catch {
      // gone: polling fallback
    }
  }
  byBuffer.set(buffer, ref);
  return ref;
}

function mappedShm(address: number): { name: string; inode: number; deleted: boolean } | undefined {
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
    // start-end perms offset dev inode path [(deleted)]
    const m = /^\S+ \S+ \S+ \S+ (\d+)\s+\/dev\/shm\/(\S+)( \(deleted\))?$/.exec(line);
    return m ? { name: m[2]!, inode: Number(m[1]), deleted: m[3] !== undefined } : undefined;
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
