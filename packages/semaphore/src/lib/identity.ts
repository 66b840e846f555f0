import { isMainThread, threadId } from 'node:worker_threads';
import { selfStartTime, selfThreadId, selfThreadStartTime } from './shm.js';

/**
 * Who we are, as recorded in holder tables: the pid, the thread id plus one (so that 0 means "no
 * thread" in shared memory, the main thread being thread 0), and the process start time split in
 * two 32-bit halves (so that a reused pid is not taken for the holder), and the kernel's id of the
 * thread with the low 32 bits of its start time (so that a worker thread that ended is found dead
 * while its process lives; 0 where the platform cannot tell).
 */
export interface Identity {
  readonly pid: number;
  readonly tid1: number;
  readonly startLo: number;
  readonly startHi: number;
  readonly ostid: number;
  readonly tstart: number;
  readonly isMainThread: boolean;
}

let self: Identity | undefined;

/** This thread's identity, computed once. */
export function identity(): Identity {
  if (self) return self;
  const start = selfStartTime();
  self = {
    pid: process.pid,
    tid1: threadId + 1,
    startLo: start % 2 ** 32 | 0,
    startHi: Math.floor(start / 2 ** 32) | 0,
    ostid: selfThreadId(),
    tstart: selfThreadStartTime() % 2 ** 32 | 0,
    isMainThread,
  };
  return self;
}

/** Joins the two stored halves of a start time; 0 when not (yet) recorded. */
export function joinStart(lo: number, hi: number): number {
  return hi * 2 ** 32 + (lo >>> 0);
}
