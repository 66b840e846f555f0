import { threadId } from 'node:worker_threads';
import { IpcError, isHolderAlive, notify, selfStartTime, selfThreadId, selfThreadStartTime, waitSync } from './deps.js';
import {
  H_GET_LOCK,
  H_OWNER_DIED,
  H_PUT_LOCK,
  SLOT_BASE,
  SLOT_COUNT,
  SLOT_WORDS,
  S_OSTID,
  S_PID,
  S_START_HI,
  S_START_LO,
  S_TID,
  S_TSTART,
} from './layout.js';

/**
 * The queue's two locks live in its header and are only ever held across synchronous code (a few
 * microseconds, a memcpy at most), never across an `await`. So a lock is one word holding the
 * holder's attachment token; a waiter spins briefly, then parks on the word with a short futex
 * timeout, and checks whether the holder is still alive each time it wakes: a holder whose process
 * died (SIGKILL), or whose worker thread ended (terminate(), a crash) while its process lives on, is
 * replaced by CAS and the new holder is told `ownerDied` (the caller then replays its journal).
 *
 * @internal
 */

// x86 keeps loads in order and makes every locked instruction (any Atomics store, exchange or
// compareExchange) a full fence; ARM does neither.
const TSO = process.arch === 'x64' || process.arch === 'ia32';

/**
 * Reads a shared word right after this thread's own Atomics write (a lock taken or let go, a commit
 * stored): on x86 a plain load is then as ordered as `Atomics.load` and costs a few instructions
 * where `Atomics.load` is a builtin call (about 80 in Node 20's V8); elsewhere it is `Atomics.load`.
 * Only for straight-line code after such a call (the call also keeps V8 from reusing an earlier
 * load), never in a loop that waits for the word to change.
 */
export const loadAfterFence: (h: Int32Array, index: number) => number = TSO ? (h, index) => h[index]! : (h, index) => Atomics.load(h, index);

/**
 * A first look at a shared word that is read again under a lock before anything depends on it
 * (HEAD and TAIL before a take): a stale value only costs a second look. A plain load on x86, where
 * loads are not reordered with each other; `Atomics.load` elsewhere. Not for a loop that waits for
 * the word to change (a plain load there may be hoisted out of the loop).
 */
export const peekWord: (h: Int32Array, index: number) => number = loadAfterFence;

/**
 * Stores a shared word that this thread's unlock (an `Atomics.store`) follows in straight-line code:
 * on x86 a plain store, which becomes visible after the stores before it and before the unlock (the
 * unlock is the fence that the lock's waiters need); `Atomics.store` elsewhere.
 */
export const storeBeforeUnlock: (h: Int32Array, index: number, value: number) => void = TSO
  ? (h, index, value) => {
      h[index] = value;
    }
  : (h, index, value) => {
      Atomics.store(h, index, value);
    };

// About 10-20 us of polling: longer than a critical section (a decode or a small copy), shorter than
// a futex sleep and wake-up.
const SPINS = 2000;
const PARK_MS = 20;
// S_PID of a slot being taken over from a dead attachment, until its new owner has filled it in.
const CLAIMING = -1;

/** This thread's attachment to one queue segment: a slot recording pid, start time and threads. */
export class Attachment {
  readonly token: number;
  readonly #h: Int32Array;

  constructor(h: Int32Array) {
    this.#h = h;
    this.token = claimSlot(h);
  }

  /** Frees the slot. Only call when no lock is held. */
  release(): void {
    const h = this.#h;
    const w = SLOT_BASE + (this.token - 1) * SLOT_WORDS;
    // Every field back to 0 before the slot is free: the next owner's fields are never mixed with ours.
    Atomics.store(h, w + S_OSTID, 0);
    Atomics.store(h, w + S_TSTART, 0);
    Atomics.store(h, w + S_TID, 0);
    Atomics.store(h, w + S_START_LO, 0);
    Atomics.store(h, w + S_START_HI, 0);
    Atomics.store(h, w + S_PID, 0);
  }

  /**
   * Takes the lock at `index` (its waiter count at `index + 1`). Returns true when the previous
   * holder died holding it.
   */
  lock(index: number): boolean {
    const h = this.#h;
    const me = this.token;
    if (Atomics.compareExchange(h, index, 0, me) === 0) return false;
    for (let i = 0; i < SPINS; i++) {
      if (Atomics.load(h, index) === 0 && Atomics.compareExchange(h, index, 0, me) === 0) return false;
    }
    Atomics.add(h, index + 1, 1);
    try {
      for (;;) {
        const cur = Atomics.load(h, index);
        if (cur === 0) {
          if (Atomics.compareExchange(h, index, 0, me) === 0) return false;
          continue;
        }
        if (cur === me) {
          throw new IpcError('ERR_IPC_SYSTEM', 'queue lock re-entered by its holder (an earlier call was interrupted while holding it)');
        }
        const r = waitSync(h, index, cur, PARK_MS);
        if (r === 'timed-out' && !holderAlive(h, cur)) {
          if (Atomics.compareExchange(h, index, cur, me) === cur) {
            Atomics.add(h, H_OWNER_DIED, 1);
            return true;
          }
        }
      }
    } finally {
      Atomics.sub(h, index + 1, 1);
    }
  }

  /** Releases the lock at `index`. */
  unlock(index: number): void {
    const h = this.#h;
    Atomics.store(h, index, 0);
    if (loadAfterFence(h, index + 1) > 0) notify(h, index, 1);
  }
}

/**
 * True while the attachment in `slot` lives: its process (pid and start time) and, when recorded, its
 * thread (the kernel's id and start time). Another thread of this process is alive while its thread
 * is; one whose record is not filled in yet (0) counts as alive, and so does a slot being claimed.
 */
function slotAlive(h: Int32Array, slot: number): boolean {
  const w = SLOT_BASE + slot * SLOT_WORDS;
  const pid = Atomics.load(h, w + S_PID);
  if (pid === 0) return false;
  if (pid === CLAIMING) return true;
  const start = (Atomics.load(h, w + S_START_HI) >>> 0) * 2 ** 32 + (Atomics.load(h, w + S_START_LO) >>> 0);
  return isHolderAlive(pid, start, Atomics.load(h, w + S_OSTID), Atomics.load(h, w + S_TSTART));
}

function holderAlive(h: Int32Array, token: number): boolean {
  if (token < 1 || token > SLOT_COUNT) return false;
  return slotAlive(h, token - 1);
}

function claimSlot(h: Int32Array): number {
  const pid = process.pid;
  const start = selfStartTime();
  const startLo = start % 2 ** 32 | 0;
  const startHi = Math.floor(start / 2 ** 32) | 0;
  const tid = threadId + 1;
  const ostid = selfThreadId();
  const tstart = selfThreadStartTime() % 2 ** 32 | 0;
  // The fields are written inline, with no call between the claim and the last store: a worker can
  // be terminated at a call or a loop back-edge, and must not leave a slot half-written.
  for (let slot = 0; slot < SLOT_COUNT; slot++) {
    const w = SLOT_BASE + slot * SLOT_WORDS;
    if (Atomics.load(h, w + S_PID) !== 0 || Atomics.compareExchange(h, w + S_PID, 0, pid) !== 0) continue;
    // Until S_OSTID is stored, the slot is judged by its process alone (release() left zeros).
    Atomics.store(h, w + S_START_LO, startLo);
    Atomics.store(h, w + S_START_HI, startHi);
    Atomics.store(h, w + S_TID, tid);
    Atomics.store(h, w + S_TSTART, tstart);
    Atomics.store(h, w + S_OSTID, ostid);
    return slot + 1;
  }
  // Full: reclaim the slot of a dead process or an ended thread (of ours too). A lock it still holds
  // keeps pointing at the slot, so the slot is taken over only while no lock word names it (the lock
  // waiters recover those). The pid goes to CLAIMING first, so that nobody judges the slot by
  // half-written fields; the thread fields, checked again after that CAS, tell the dead attachment
  // from a new one of the same process that took the slot meanwhile.
  for (let slot = 0; slot < SLOT_COUNT; slot++) {
    const w = SLOT_BASE + slot * SLOT_WORDS;
    const old = Atomics.load(h, w + S_PID);
    if (old === 0 || old === CLAIMING) continue;
    const oldTid = Atomics.load(h, w + S_OSTID);
    const oldStart = Atomics.load(h, w + S_TSTART);
    if (slotAlive(h, slot)) continue;
    if (Atomics.load(h, H_PUT_LOCK) === slot + 1 || Atomics.load(h, H_GET_LOCK) === slot + 1) continue;
    if (Atomics.compareExchange(h, w + S_PID, old, CLAIMING) !== old) continue;
    if (Atomics.load(h, w + S_OSTID) !== oldTid || Atomics.load(h, w + S_TSTART) !== oldStart) {
      Atomics.store(h, w + S_PID, old);
      continue;
    }
    Atomics.store(h, w + S_START_LO, startLo);
    Atomics.store(h, w + S_START_HI, startHi);
    Atomics.store(h, w + S_TID, tid);
    Atomics.store(h, w + S_TSTART, tstart);
    Atomics.store(h, w + S_OSTID, ostid);
    Atomics.store(h, w + S_PID, pid);
    return slot + 1;
  }
  throw new IpcError('ERR_IPC_SYSTEM', `more than ${SLOT_COUNT} live threads are attached to this queue`);
}
