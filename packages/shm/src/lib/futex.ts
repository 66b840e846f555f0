import { closeSync, constants as fsc, fstatSync, openSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { IpcError, validateWaitOptions, waitFor } from '@ipc/core';
import {
  SLOT_ACTIVE,
  SLOT_CLAIMING,
  SLOT_COUNT,
  SLOT_FREE,
  S_BLOOM_HI,
  S_BLOOM_LO,
  S_FD,
  S_INO,
  S_OVERFLOW,
  S_PID,
  S_STATE,
  S_TOKEN,
  W_HWM,
  W_SYNC_WAITERS,
  slotWord,
} from './layout.js';
import { native } from './native.js';
import { isProcessAlive } from './process-info.js';
import { segmentOf, type SegmentRef } from './segment.js';

/** How a wait ended: woken by notify, the word did not hold `expected`, or the timeout passed. */
export type WaitResult = 'ok' | 'not-equal' | 'timed-out';

/** Options of {@link wait}. */
export interface FutexWaitOptions {
  /** Milliseconds before resolving `'timed-out'` (default: forever). */
  timeout?: number | undefined;
  /** Rejects with `ERR_IPC_ABORTED` when aborted. */
  signal?: AbortSignal | undefined;
  /**
   * Busy-wait before parking, for request/response patterns where the peer answers within
   * microseconds. `false` (default): never. `true`: adaptive, up to {@link MAX_SPIN_US} us, only on a
   * machine with more than one CPU, and only while spinning recently paid off (after a few misses in a
   * row it stops and probes again now and then). A number: spin that many microseconds (max 10,000).
   * A spin blocks this thread for at most that long.
   */
  spin?: number | boolean | undefined;
}

/** The longest default spin (microseconds) of {@link wait} before it parks. */
export const MAX_SPIN_US = 20;

function validateView(view: unknown, index: unknown): asserts view is Int32Array {
  if (!(view instanceof Int32Array)) throw new TypeError('view must be an Int32Array');
  if (!(view.buffer instanceof SharedArrayBuffer)) throw new TypeError('view must be over a SharedArrayBuffer (a SharedMemory buffer)');
  if (typeof index !== 'number' || !Number.isInteger(index)) throw new TypeError(`index must be an integer, got ${String(index)}`);
  if (index < 0 || index >= view.length) throw new RangeError(`index must be >= 0 and < ${view.length} (view.length), got ${index}`);
}

function validateExpected(expected: unknown): number {
  if (typeof expected !== 'number' || !Number.isInteger(expected)) throw new TypeError(`expected must be an integer, got ${String(expected)}`);
  return expected | 0;
}

// ---------------------------------------------------------------------------------------------
// The doorbell: one pipe per thread, read on the event loop. Other processes reopen its write end
// through /proc/<pid>/fd/<fd> and write 12-byte rings [token, wordIndex, count]. The shared word is
// the truth; a ring is only a hint to look at it (docs/decisions/001-async-waits.md).

interface Waiter {
  resolve(result: WaitResult): void;
}

/** This thread's waiters on one segment, and its registration slot in that segment's trailer. */
interface Registration {
  readonly token: number;
  readonly ref: SegmentRef;
  readonly trailer: Int32Array;
  readonly slot: number;
  readonly byIndex: Map<number, Waiter[]>;
  readonly bitCounts: Uint32Array;
  pending: number;
}

interface Doorbell {
  readonly readFd: number;
  readonly writeFd: number;
  readonly ino: number;
  readonly byToken: Map<number, Registration>;
  readonly byRef: Map<SegmentRef, Registration>;
  pending: number;
  nextToken: number;
  referenced: boolean;
}

// One doorbell per thread, shared through globalThis by every copy of this module loaded in the
// thread (the ESM and the CJS build, say): the addon allows one doorbell per environment.
const DOORBELL_KEY = Symbol.for('@ipc/shm.doorbell.v1');
const threadGlobal = globalThis as unknown as Record<symbol, Doorbell | undefined>;

function currentDoorbell(): Doorbell | undefined {
  return threadGlobal[DOORBELL_KEY];
}

// Spinning only helps when the peer runs on another CPU at the same time.
const MULTI_CPU = availableParallelism() > 1;

function getDoorbell(): Doorbell {
  const existing = currentDoorbell();
  if (existing) return existing;
  const [readFd, writeFd] = native().pipe();
  const ino = fstatSync(readFd).ino | 0;
  const bell: Doorbell = {
    readFd,
    writeFd,
    ino,
    byToken: new Map(),
    byRef: new Map(),
    pending: 0,
    nextToken: 1,
    referenced: false,
  };
  native().doorbellStart(readFd, (rings) => onRing(bell, rings));
  threadGlobal[DOORBELL_KEY] = bell;
  return bell;
}

function onRing(bell: Doorbell, rings: Int32Array): void {
  for (let i = 0; i + 2 < rings.length; i += 3) {
    const reg = bell.byToken.get(rings[i]!);
    if (reg) wakeLocal(reg, rings[i + 1]!, rings[i + 2]! >>> 0);
  }
  // A waker that found our pipe full could not leave its ring: it set our overflow flag instead.
  for (const reg of bell.byToken.values()) {
    if (Atomics.load(reg.trailer, slotWord(reg.slot, S_OVERFLOW)) !== 0) {
      Atomics.store(reg.trailer, slotWord(reg.slot, S_OVERFLOW), 0);
      for (const idx of [...reg.byIndex.keys()]) wakeLocal(reg, idx, 0xffffffff);
    }
  }
}

function wakeLocal(reg: Registration, wordIndex: number, count: number): number {
  const list = reg.byIndex.get(wordIndex);
  if (!list) return 0;
  const n = Math.min(count, list.length);
  const woken = list.slice(0, n);
  for (const w of woken) w.resolve('ok');
  return n;
}

function bloomWord(wordIndex: number): number {
  return (wordIndex & 63) < 32 ? S_BLOOM_LO : S_BLOOM_HI;
}

function bloomBit(wordIndex: number): number {
  return 1 << (wordIndex & 31);
}

function register(bell: Doorbell, ref: SegmentRef): Registration | undefined {
  const existing = bell.byRef.get(ref);
  if (existing) {
    idle.delete(existing);
    return existing;
  }
  const trailer = ref.trailer;
  if (!trailer) return undefined;
  return claimSlot(bell, ref, trailer) ?? (reapDeadSlots(trailer) > 0 ? claimSlot(bell, ref, trailer) : undefined);
}

function claimSlot(bell: Doorbell, ref: SegmentRef, trailer: Int32Array): Registration | undefined {
  for (let i = 0; i < SLOT_COUNT; i++) {
    const st = slotWord(i, S_STATE);
    if (Atomics.load(trailer, st) !== SLOT_FREE) continue;
    if (Atomics.compareExchange(trailer, st, SLOT_FREE, SLOT_CLAIMING) !== SLOT_FREE) continue;
    const token = bell.nextToken++;
    Atomics.store(trailer, slotWord(i, S_PID), process.pid);
    Atomics.store(trailer, slotWord(i, S_FD), bell.writeFd);
    Atomics.store(trailer, slotWord(i, S_INO), bell.ino);
    Atomics.store(trailer, slotWord(i, S_TOKEN), token);
    Atomics.store(trailer, slotWord(i, S_BLOOM_LO), 0);
    Atomics.store(trailer, slotWord(i, S_BLOOM_HI), 0);
    Atomics.store(trailer, slotWord(i, S_OVERFLOW), 0);
    Atomics.store(trailer, st, SLOT_ACTIVE);
    for (;;) {
      const hwm = Atomics.load(trailer, W_HWM);
      if (hwm >= i + 1 || Atomics.compareExchange(trailer, W_HWM, hwm, i + 1) === hwm) break;
    }
    const reg: Registration = { token, ref, trailer, slot: i, byIndex: new Map(), bitCounts: new Uint32Array(64), pending: 0 };
    bell.byToken.set(token, reg);
    bell.byRef.set(ref, reg);
    return reg;
  }
  return undefined;
}

// Frees slots whose doorbell pipe is gone (a crashed process, a terminated worker): the pipe is
// reachable as /proc/<pid>/fd/<fd> with the recorded inode while its thread lives. Run only when a
// segment's slots are exhausted.
function reapDeadSlots(trailer: Int32Array): number {
  let freed = 0;
  const hwm = Math.min(Atomics.load(trailer, W_HWM), SLOT_COUNT);
  for (let i = 0; i < hwm; i++) {
    if (Atomics.load(trailer, slotWord(i, S_STATE)) !== SLOT_ACTIVE) continue;
    const pid = Atomics.load(trailer, slotWord(i, S_PID));
    const fd = Atomics.load(trailer, slotWord(i, S_FD));
    const ino = Atomics.load(trailer, slotWord(i, S_INO));
    let alive: boolean;
    try {
      alive = (statSync(`/proc/${pid}/fd/${fd}`).ino | 0) === ino;
    } catch {
      alive = false;
    }
    if (alive) continue;
    if (Atomics.load(trailer, slotWord(i, S_PID)) !== pid || Atomics.load(trailer, slotWord(i, S_FD)) !== fd) continue;
    if (Atomics.compareExchange(trailer, slotWord(i, S_STATE), SLOT_ACTIVE, SLOT_FREE) === SLOT_ACTIVE) freed++;
  }
  return freed;
}

// Registrations with no pending wait are kept a while for the next wait on the same segment
// (claiming and releasing a slot per wait cost about 1.7 us per hop), then released by one sweep.
const IDLE_RELEASE_MS = 1000;
const idle = new Set<Registration>();
let idleTimer: NodeJS.Timeout | undefined;

function markIdle(bell: Doorbell, reg: Registration): void {
  idle.add(reg);
  if (idleTimer) return;
  idleTimer = setTimeout(() => {
    idleTimer = undefined;
    for (const r of idle) if (r.pending === 0) unregister(bell, r);
    idle.clear();
  }, IDLE_RELEASE_MS);
  idleTimer.unref();
}

/** Releases every idle registration now (at exit, so no slot outlives this thread). */
function releaseIdle(): void {
  const bell = currentDoorbell();
  if (!bell) return;
  for (const r of idle) if (r.pending === 0) unregister(bell, r);
  idle.clear();
}
process.once('exit', releaseIdle);

function unregister(bell: Doorbell, reg: Registration): void {
  bell.byToken.delete(reg.token);
  bell.byRef.delete(reg.ref);
  const t = reg.trailer;
  Atomics.store(t, slotWord(reg.slot, S_BLOOM_LO), 0);
  Atomics.store(t, slotWord(reg.slot, S_BLOOM_HI), 0);
  Atomics.store(t, slotWord(reg.slot, S_STATE), SLOT_FREE);
}

function addWaiter(bell: Doorbell, reg: Registration, wordIndex: number, waiter: Waiter): void {
  let list = reg.byIndex.get(wordIndex);
  if (!list) {
    list = [];
    reg.byIndex.set(wordIndex, list);
  }
  list.push(waiter);
  const bit = wordIndex & 63;
  if (reg.bitCounts[bit]!++ === 0) Atomics.or(reg.trailer, slotWord(reg.slot, bloomWord(wordIndex)), bloomBit(wordIndex));
  reg.pending++;
  if (bell.pending++ === 0 && !bell.referenced) {
    native().doorbellRef(true);
    bell.referenced = true;
  }
}

function removeWaiter(bell: Doorbell, reg: Registration, wordIndex: number, waiter: Waiter): void {
  const list = reg.byIndex.get(wordIndex);
  if (!list) return;
  const at = list.indexOf(waiter);
  if (at < 0) return;
  list.splice(at, 1);
  if (list.length === 0) reg.byIndex.delete(wordIndex);
  const bit = wordIndex & 63;
  if (--reg.bitCounts[bit]! === 0) Atomics.and(reg.trailer, slotWord(reg.slot, bloomWord(wordIndex)), ~bloomBit(wordIndex));
  if (--reg.pending === 0) markIdle(bell, reg);
  // Nothing pending: the doorbell must not keep the process alive.
  if (--bell.pending === 0 && bell.referenced) {
    native().doorbellRef(false);
    bell.referenced = false;
  }
}

// Write ends of other threads' doorbells, opened through /proc and kept (oldest closed past the cap).
const peers = new Map<string, number>();
const MAX_PEERS = 256;

function ring(trailer: Int32Array, slot: number, wordIndex: number, count: number): void {
  const pid = Atomics.load(trailer, slotWord(slot, S_PID));
  const fd = Atomics.load(trailer, slotWord(slot, S_FD));
  const ino = Atomics.load(trailer, slotWord(slot, S_INO));
  const token = Atomics.load(trailer, slotWord(slot, S_TOKEN));
  const bell = currentDoorbell();
  if (bell && pid === process.pid && fd === bell.writeFd && ino === bell.ino) {
    const reg = bell.byToken.get(token);
    if (reg) wakeLocal(reg, wordIndex, count);
    return;
  }
  const key = `${pid}:${fd}:${ino}`;
  let out = peers.get(key);
  if (out === undefined) {
    try {
      out = openSync(`/proc/${pid}/fd/${fd}`, fsc.O_WRONLY | fsc.O_NONBLOCK);
    } catch {
      // ENOENT: the process or its thread is gone; ENXIO: the pipe has no reader any more.
      reapSlot(trailer, slot, pid, fd, ino);
      return;
    }
    const st = fstatSync(out);
    if (!st.isFIFO() || (st.ino | 0) !== ino) {
      // The fd number now names something else (only ever write rings into a pipe): that doorbell is gone.
      closeSync(out);
      reapSlot(trailer, slot, pid, fd, ino);
      return;
    }
    peers.set(key, out);
    // Bounded: a long-lived process that notifies many short-lived ones must not collect their fds.
    if (peers.size > MAX_PEERS) {
      const [oldKey, oldFd] = peers.entries().next().value as [string, number];
      peers.delete(oldKey);
      closeSync(oldFd);
    }
  }
  const err = native().ring(out, token, wordIndex, count >>> 0);
  if (err === 0) return;
  if (err === EAGAIN) {
    // The pipe is full (its thread is busy): leave a flag it checks after each read, then write once
    // more. If that fails too, the pipe still holds unread rings, so a read (and a flag check) is
    // still to come; if it succeeds, that ring brings the read. Either way the flag is seen.
    Atomics.store(trailer, slotWord(slot, S_OVERFLOW), 1);
    native().ring(out, token, wordIndex, count >>> 0);
    return;
  }
  // EPIPE: no reader any more.
  peers.delete(key);
  closeSync(out);
  reapSlot(trailer, slot, pid, fd, ino);
}

const EAGAIN = 11;

// Frees a slot whose doorbell is dead, unless it was reused meanwhile.
function reapSlot(trailer: Int32Array, slot: number, pid: number, fd: number, ino: number): void {
  if (pid === process.pid) {
    // Same process, another thread that exited without unregistering: its pipe is gone.
  } else if (isProcessAlive(pid)) {
    return;
  }
  if (Atomics.load(trailer, slotWord(slot, S_PID)) !== pid) return;
  if (Atomics.load(trailer, slotWord(slot, S_FD)) !== fd) return;
  if (Atomics.load(trailer, slotWord(slot, S_INO)) !== ino) return;
  Atomics.compareExchange(trailer, slotWord(slot, S_STATE), SLOT_ACTIVE, SLOT_FREE);
}

function wordIndexOf(view: Int32Array, index: number): number {
  return (view.byteOffset >> 2) + index;
}

// One timer per thread for all wait timeouts: arming and clearing a Node timer per wait cost more
// than the wake-up itself in the ping-pong measurements (docs/decisions/001-async-waits.md).
interface Deadline {
  at: number;
  fire(): void;
}
const deadlines = new Set<Deadline>();
let deadlineTimer: NodeJS.Timeout | undefined;
let deadlineArmedAt = Infinity;

function armDeadlines(): void {
  let min = Infinity;
  for (const d of deadlines) if (d.at < min) min = d.at;
  if (min === deadlineArmedAt) return;
  if (deadlineTimer) clearTimeout(deadlineTimer);
  deadlineTimer = undefined;
  deadlineArmedAt = min;
  if (min === Infinity) return;
  deadlineTimer = setTimeout(onDeadlines, Math.max(0, Math.ceil(min - performance.now())));
  // Pending waits keep the doorbell referenced; the timer alone must not hold the process open.
  deadlineTimer.unref();
}

function onDeadlines(): void {
  deadlineTimer = undefined;
  deadlineArmedAt = Infinity;
  const now = performance.now();
  for (const d of [...deadlines]) {
    if (d.at <= now) {
      deadlines.delete(d);
      d.fire();
    }
  }
  armDeadlines();
}

function addDeadline(d: Deadline): void {
  deadlines.add(d);
  if (d.at < deadlineArmedAt) armDeadlines();
}

function removeDeadline(d: Deadline): void {
  // Lazy: the armed timer stays (unref'd); when it fires it finds nothing due and re-arms for the
  // next deadline, if any. So a loop of waits with the same timeout arms one timer, not one per wait.
  deadlines.delete(d);
}

// Adaptive spin, per thread: spin while it pays off; after SPIN_GIVE_UP misses in a row stop, and
// probe again every SPIN_PROBE_EVERY parks.
const SPIN_GIVE_UP = 3;
const SPIN_PROBE_EVERY = 64;
let spinMisses = 0;
let spinSkip = 0;

function spinFor(view: Int32Array, index: number, expected: number, us: number): boolean {
  const end = performance.now() + us / 1000;
  for (let n = 1; ; n++) {
    if (Atomics.load(view, index) !== expected) return true;
    if ((n & 31) === 0 && performance.now() >= end) return false;
  }
}

function adaptiveSpin(view: Int32Array, index: number, expected: number): boolean {
  if (spinSkip > 0) {
    spinSkip--;
    return false;
  }
  if (spinFor(view, index, expected, MAX_SPIN_US)) {
    spinMisses = 0;
    return true;
  }
  if (++spinMisses >= SPIN_GIVE_UP) {
    spinMisses = SPIN_GIVE_UP - 1;
    spinSkip = SPIN_PROBE_EVERY;
  }
  return false;
}

const POLL_MIN_MS = 1;
const POLL_MAX_MS = 20;

/**
 * Waits until `view[index]` is notified, like `Atomics.waitAsync` but across processes and threads.
 * Never blocks the event loop and holds no libuv pool thread: the wait is registered in the
 * segment and this thread's doorbell (a pipe read on the event loop) is rung by {@link notify}.
 *
 * @param view - an Int32Array over a {@link SharedMemory} buffer (or one posted from another thread)
 * @param index - the element to wait on
 * @param expected - resolve `'not-equal'` at once unless `view[index] === expected`
 * @param options - `{ timeout }` resolves `'timed-out'`; `{ signal }` rejects
 * @returns `'ok'` when notified, `'not-equal'`, or `'timed-out'`
 * @throws {IpcError} ERR_IPC_ABORTED when the signal aborts
 * @throws {TypeError} when the view is not over shared memory from this package
 */
export function wait(view: Int32Array, index: number, expected: number, options?: FutexWaitOptions): Promise<WaitResult> {
  try {
    validateView(view, index);
    expected = validateExpected(expected);
    validateWaitOptions(options);
  } catch (err) {
    return Promise.reject(err);
  }
  const { timeout, signal, spin } = options ?? {};
  if (spin !== undefined && typeof spin !== 'boolean' && (typeof spin !== 'number' || !(spin >= 0))) {
    return Promise.reject(new TypeError(`options.spin must be a boolean or a number of microseconds >= 0, got ${String(spin)}`));
  }
  if (signal?.aborted) return Promise.reject(new IpcError('ERR_IPC_ABORTED', 'wait was aborted', { cause: signal.reason }));
  if (Atomics.load(view, index) !== expected) return Promise.resolve('not-equal');
  if (timeout === 0) return Promise.resolve('timed-out');
  // The word changed while we spun: whoever changed it notifies (or would have woken us): 'ok'.
  if (spin === true ? MULTI_CPU && adaptiveSpin(view, index, expected) : typeof spin === 'number' && spin > 0 && spinFor(view, index, expected, Math.min(spin, 10_000))) {
    return Promise.resolve('ok');
  }
  let ref: SegmentRef;
  try {
    ref = segmentOf(view.buffer as SharedArrayBuffer);
  } catch (err) {
    return Promise.reject(err);
  }
  const bell = getDoorbell();
  const reg = register(bell, ref);
  const wordIndex = wordIndexOf(view, index);
  return waitFor<WaitResult>({ signal }, (resolve, _reject, scope) => {
    if (timeout !== undefined && timeout !== Infinity) {
      const d: Deadline = { at: performance.now() + timeout, fire: () => resolve('timed-out') };
      addDeadline(d);
      scope.onCleanup(() => removeDeadline(d));
    }
    if (!reg) {
      // No trailer (a segment made by another tool) or all slots taken: poll the word instead.
      let delay = POLL_MIN_MS;
      let timer: NodeJS.Timeout;
      const poll = () => {
        if (Atomics.load(view, index) !== expected) return resolve('ok');
        delay = Math.min(delay * 2, POLL_MAX_MS);
        timer = setTimeout(poll, delay);
      };
      timer = setTimeout(poll, delay);
      scope.onCleanup(() => clearTimeout(timer));
      return;
    }
    const waiter: Waiter = { resolve };
    // Register first (a seq_cst write to the bloom), then re-check the word: a notify that changed it
    // before our registration became visible is seen here, and one after it rings us.
    addWaiter(bell, reg, wordIndex, waiter);
    scope.onCleanup(() => removeWaiter(bell, reg, wordIndex, waiter));
    if (Atomics.load(view, index) !== expected) resolve('not-equal');
  }, 'wait');
}

/**
 * Blocks this thread in `FUTEX_WAIT` (shared) until `view[index]` is notified from any process or
 * thread. For worker threads (it blocks the event loop of the thread that calls it).
 *
 * @param view - an Int32Array over a {@link SharedMemory} buffer
 * @param index - the element to wait on
 * @param expected - returns `'not-equal'` at once unless `view[index] === expected`
 * @param timeoutMs - milliseconds (default: forever)
 * @returns `'ok'`, `'not-equal'` or `'timed-out'`
 */
export function waitSync(view: Int32Array, index: number, expected: number, timeoutMs?: number): WaitResult {
  validateView(view, index);
  expected = validateExpected(expected);
  if (timeoutMs !== undefined) {
    if (typeof timeoutMs !== 'number' || Number.isNaN(timeoutMs)) throw new TypeError(`timeoutMs must be a number, got ${String(timeoutMs)}`);
    if (timeoutMs < 0) throw new RangeError(`timeoutMs must be >= 0, got ${timeoutMs}`);
  }
  const ref = segmentOf(view.buffer as SharedArrayBuffer);
  const t = timeoutMs === undefined || timeoutMs === Infinity ? -1 : timeoutMs;
  const trailer = ref.trailer;
  // Counted so that notify can skip FUTEX_WAKE when nobody sleeps; the kernel re-checks the word
  // atomically with going to sleep, so a notify between the count and the sleep is not lost.
  if (trailer) Atomics.add(trailer, W_SYNC_WAITERS, 1);
  try {
    const r = native().futexWait(view, index, expected, t);
    return r === 0 ? 'ok' : r === 1 ? 'not-equal' : 'timed-out';
  } finally {
    if (trailer) Atomics.sub(trailer, W_SYNC_WAITERS, 1);
  }
}

/**
 * Wakes waiters on `view[index]`: sync waiters ({@link waitSync}, via `FUTEX_WAKE`) and async
 * waiters ({@link wait}) in every process and thread. Update the word before notifying.
 *
 * Async waiters are woken per thread: each thread with waiters on the word wakes up to `count` of
 * its own, so more than `count` may wake in total (a woken waiter re-checks the shared word).
 *
 * @param view - an Int32Array over a {@link SharedMemory} buffer
 * @param index - the element
 * @param count - how many to wake (default: all)
 * @returns sync waiters woken plus threads whose async waiters were signalled
 */
export function notify(view: Int32Array, index: number, count = Infinity): number {
  validateView(view, index);
  if (typeof count !== 'number' || Number.isNaN(count)) throw new TypeError(`count must be a number, got ${String(count)}`);
  if (count < 0) throw new RangeError(`count must be >= 0, got ${count}`);
  const want = count === Infinity ? 0x7fffffff : Math.min(Math.floor(count), 0x7fffffff);
  if (want === 0) return 0;
  const ref = segmentOf(view.buffer as SharedArrayBuffer);
  const trailer = ref.trailer;
  let woken = 0;
  if (!trailer || Atomics.load(trailer, W_SYNC_WAITERS) > 0) woken = native().futexWake(view, index, want);
  const remaining = want - woken;
  if (remaining <= 0 || !trailer) return woken;
  const wordIndex = wordIndexOf(view, index);
  const bw = bloomWord(wordIndex);
  const bit = bloomBit(wordIndex);
  const hwm = Math.min(Atomics.load(trailer, W_HWM), SLOT_COUNT);
  for (let i = 0; i < hwm; i++) {
    if (Atomics.load(trailer, slotWord(i, S_STATE)) !== SLOT_ACTIVE) continue;
    if ((Atomics.load(trailer, slotWord(i, bw)) & bit) === 0) continue;
    ring(trailer, i, wordIndex, remaining);
    woken++;
  }
  return woken;
}
