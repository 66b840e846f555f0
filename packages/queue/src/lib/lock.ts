import { threadId } from 'node:worker_threads';
import { IpcError, isProcessAlive, notify, selfStartTime, waitSync } from './deps.js';
import { H_GET_LOCK, H_OWNER_DIED, H_PUT_LOCK, SLOT_BASE, SLOT_COUNT, SLOT_WORDS, S_PID, S_START_HI, S_START_LO, S_TID } from './layout.js';

/**
 * The queue's two locks live in its header and are only ever held across synchronous code (a few
 * microseconds, a memcpy at most), never across an `await`. So a lock is one word holding the
 * holder's attachment token; a waiter spins briefly, then parks on the word with a short futex
 * timeout, and checks whether the holder's process is still alive each time it wakes: a holder
 * that died (SIGKILL) is replaced by CAS and the new holder is told `ownerDied`.
 *
 * @internal
 */

// About 10-20 us of polling: longer than a critical section (a decode or a small copy), shorter than
// a futex sleep and wake-up.
const SPINS = 2000;
const PARK_MS = 20;


/** This thread's attachment to one queue segment: a slot recording pid, start time and thread. */
export class Attachment {
  readonly token: number;
  readonly #h: Int32Array;

  constructor(h: Int32Array) {
    this.#h = h;
    this.token = claimSlot(h);
  }

  /** Frees the slot. Only call when no lock is held. */
  release(): void {
    const w = SLOT_BASE + (this.token - 1) * SLOT_WORDS;
    Atomics.store(this.#h, w + S_TID, 0);
    Atomics.store(this.#h, w + S_PID, 0);
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
    if (Atomics.load(h, index + 1) > 0) notify(h, index, 1);
  }
}

function slotAlive(h: Int32Array, slot: number): boolean {
  const w = SLOT_BASE + slot * SLOT_WORDS;
  const pid = Atomics.load(h, w + S_PID);
  if (pid === 0) return false;
  if (pid === process.pid) return true; // another thread of ours: it may be slow, it is not dead
  const start = (Atomics.load(h, w + S_START_HI) >>> 0) * 2 ** 32 + (Atomics.load(h, w + S_START_LO) >>> 0);
  return isProcessAlive(pid, start === 0 ? undefined : start);
}

function holderAlive(h: Int32Array, token: number): boolean {
  if (token < 1 || token > SLOT_COUNT) return false;
  return slotAlive(h, token - 1);
}

function claimSlot(h: Int32Array): number {
  const pid = process.pid;
  const start = selfStartTime();
  const fill = (slot: number) => {
    const w = SLOT_BASE + slot * SLOT_WORDS;
    Atomics.store(h, w + S_START_LO, start % 2 ** 32 | 0);
    Atomics.store(h, w + S_START_HI, Math.floor(start / 2 ** 32) | 0);
    Atomics.store(h, w + S_TID, threadId + 1);
    return slot + 1;
  };
  for (let slot = 0; slot < SLOT_COUNT; slot++) {
    const w = SLOT_BASE + slot * SLOT_WORDS;
    if (Atomics.load(h, w + S_PID) === 0 && Atomics.compareExchange(h, w + S_PID, 0, pid) === 0) return fill(slot);
  }
  // Full: reclaim the slot of a dead process. A lock it still holds keeps pointing at the slot,
  // so the slot is taken over only while no lock word names it (the lock waiters recover those).
  for (let slot = 0; slot < SLOT_COUNT; slot++) {
    const w = SLOT_BASE + slot * SLOT_WORDS;
    const old = Atomics.load(h, w + S_PID);
    if (old === 0 || old === pid || slotAlive(h, slot)) continue;
    if (Atomics.load(h, H_PUT_LOCK) === slot + 1 || Atomics.load(h, H_GET_LOCK) === slot + 1) continue;
    if (Atomics.compareExchange(h, w + S_PID, old, pid) === old) return fill(slot);
  }
  throw new IpcError('ERR_IPC_SYSTEM', `more than ${SLOT_COUNT} live threads are attached to this queue`);
}
