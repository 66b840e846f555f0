import { identity, joinStart } from './identity.js';
import { isHolderAlive } from './shm.js';

// A bounded table of holders in shared memory: ENTRY_WORDS int32 words per entry. PID is claimed
// by compare-and-swap (0 -> pid) and set to -1 while a dead holder's entry is being recovered, so
// that exactly one thread recovers it. OSTID is the kernel's id of the holder's thread and TSTART
// the low 32 bits of its start time (0: not recorded, judge by the process): a worker thread that
// ended (terminate(), a crash) is dead even though its process lives. Word 5 is a Lock's DIED flag.
export const E_PID = 0;
export const E_TID = 1;
export const E_START_LO = 2;
export const E_START_HI = 3;
export const E_COUNT = 4;
export const E_OSTID = 6;
export const E_TSTART = 7;
export const ENTRY_WORDS = 8;
const RECOVERING = -1;

/** The largest holder or participant table. */
export const MAX_TABLE = 4096;

/**
 * Finds this thread's entry in the table at word `base` with `cap` entries, claiming a free one
 * when there is none. Returns the word index of the entry, or -1 when the table is full.
 */
export function claimEntry(v: Int32Array, base: number, cap: number): number {
  const me = identity();
  const end = base + cap * ENTRY_WORDS;
  for (let e = base; e < end; e += ENTRY_WORDS) {
    if (Atomics.load(v, e + E_PID) === me.pid && v[e + E_TID] === me.tid1) return e;
  }
  for (let e = base; e < end; e += ENTRY_WORDS) {
    if (Atomics.load(v, e + E_PID) === 0 && Atomics.compareExchange(v, e + E_PID, 0, me.pid) === 0) {
      v[e + E_TID] = me.tid1;
      v[e + E_START_LO] = me.startLo;
      v[e + E_START_HI] = me.startHi;
      v[e + E_TSTART] = me.tstart;
      v[e + E_OSTID] = me.ostid;
      return e;
    }
  }
  return -1;
}

/** True when `e` is still this thread's entry. */
export function isOwnEntry(v: Int32Array, e: number): boolean {
  const me = identity();
  return e >= 0 && v[e + E_PID] === me.pid && v[e + E_TID] === me.tid1;
}

/** Frees an entry of this thread (its count must be zero). */
export function freeEntry(v: Int32Array, e: number): void {
  v[e + E_OSTID] = 0;
  v[e + E_TSTART] = 0;
  v[e + E_TID] = 0;
  v[e + E_START_LO] = 0;
  v[e + E_START_HI] = 0;
  Atomics.store(v, e + E_COUNT, 0);
  Atomics.store(v, e + E_PID, 0);
}

/**
 * Claims the entry at word `e` for recovery when its holder (never this thread) is dead: its process
 * died, or its thread ended while the process lives on. A compare-and-swap of its pid to -1, so that
 * exactly one thread recovers it. The start times recorded next to the pid and the thread id tell a
 * reused id from the holder. True when the caller won and must now clear the entry and store its pid
 * (0). Also reads a Lock's owner record, which has this layout.
 */
export function claimDead(v: Int32Array, e: number): boolean {
  const pid = Atomics.load(v, e + E_PID);
  if (pid <= 0) return false;
  const lo = v[e + E_START_LO]!;
  const hi = v[e + E_START_HI]!;
  const ostid = v[e + E_OSTID]!;
  const tstart = v[e + E_TSTART]!;
  if (isHolderAlive(pid, joinStart(lo, hi), ostid, tstart)) return false;
  // Re-read: the holder we judged must still be the holder (the start times and the thread id guard
  // a quick handover, between threads of one process too).
  if (v[e + E_START_LO] !== lo || v[e + E_START_HI] !== hi || v[e + E_OSTID] !== ostid || v[e + E_TSTART] !== tstart) return false;
  return Atomics.compareExchange(v, e + E_PID, pid, RECOVERING) === pid;
}

/**
 * Frees the entries of dead holders (dead processes, and ended threads of live ones), calling
 * `onDead(count)` with each one's count.
 * @returns how many dead entries were freed
 */
export function reapDead(v: Int32Array, base: number, cap: number, onDead: (count: number) => void): number {
  let reaped = 0;
  const end = base + cap * ENTRY_WORDS;
  for (let e = base; e < end; e += ENTRY_WORDS) {
    if (!claimDead(v, e)) continue;
    const count = Atomics.exchange(v, e + E_COUNT, 0);
    v[e + E_OSTID] = 0;
    v[e + E_TSTART] = 0;
    v[e + E_TID] = 0;
    v[e + E_START_LO] = 0;
    v[e + E_START_HI] = 0;
    Atomics.store(v, e + E_PID, 0);
    reaped++;
    onDead(count);
  }
  return reaped;
}

/** Takes up to `n` from the counts of entries other than `skip`; returns how many were taken. */
export function takeFromAny(v: Int32Array, base: number, cap: number, n: number, skip: number): number {
  let taken = 0;
  const end = base + cap * ENTRY_WORDS;
  for (let e = base; e < end && taken < n; e += ENTRY_WORDS) {
    if (e === skip || Atomics.load(v, e + E_PID) <= 0) continue;
    taken += takeCount(v, e + E_COUNT, n - taken);
  }
  return taken;
}

/** Decrements the word at `index` by up to `n`, never below zero; returns how much it took. */
export function takeCount(v: Int32Array, index: number, n: number): number {
  let cur = Atomics.load(v, index);
  while (cur > 0) {
    const k = Math.min(cur, n);
    const prev = Atomics.compareExchange(v, index, cur, cur - k);
    if (prev === cur) return k;
    cur = prev;
  }
  return 0;
}
