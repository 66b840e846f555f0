import { readFileSync } from 'node:fs';
import { native } from './native.js';

function validatePid(pid: unknown, what = 'pid'): asserts pid is number {
  if (typeof pid !== 'number' || !Number.isInteger(pid)) throw new TypeError(`${what} must be an integer, got ${String(pid)}`);
  if (pid < 1 || pid > 4_194_304) throw new RangeError(`${what} must be between 1 and 4194304, got ${pid}`);
}

interface Stat {
  state: string;
  startTime: number;
}

function readStat(pid: number, tid?: number): Stat | undefined {
  let text: string;
  try {
    text = readFileSync(tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`, 'latin1');
  } catch {
    return undefined;
  }
  // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  const fields = text.slice(close + 2).split(' ');
  // fields[0] is field 3 (state); field 22 (starttime) is fields[19].
  const startTime = Number(fields[19]);
  if (!Number.isFinite(startTime)) return undefined;
  return { state: fields[0] ?? '?', startTime };
}

/**
 * The start time of process `pid` (clock ticks since boot, field 22 of `/proc/<pid>/stat`). With the
 * pid it identifies a process even after the pid is reused.
 * @param pid - a process id
 * @returns the start time, or undefined when there is no such process
 * @throws {TypeError|RangeError} when pid is not a valid process id
 */
export function processStartTime(pid: number): number | undefined {
  validatePid(pid);
  return readStat(pid)?.startTime;
}

/**
 * True when process `pid` exists and is not a zombie, and (when `startTime` is given) it is the same
 * process that had that start time: a reused pid is not mistaken for the one recorded.
 * @param pid - a process id
 * @param startTime - the start time recorded with the pid ({@link processStartTime})
 */
export function isProcessAlive(pid: number, startTime?: number): boolean {
  validatePid(pid);
  if (startTime !== undefined && (typeof startTime !== 'number' || Number.isNaN(startTime))) {
    throw new TypeError(`startTime must be a number, got ${String(startTime)}`);
  }
  const stat = readStat(pid);
  if (!stat) return false;
  // A killed child stays a zombie until its parent reaps it: it holds nothing any more.
  if (stat.state === 'Z' || stat.state === 'X') return false;
  return startTime === undefined || stat.startTime === startTime;
}

let ownStartTime: number | undefined;

/** This process's start time, as {@link processStartTime} gives it (read once, then cached). */
export function selfStartTime(): number {
  ownStartTime ??= processStartTime(process.pid) ?? 0;
  return ownStartTime;
}

// ---- Threads: a lock held by a worker thread that ended (terminate(), a crash) while its process
// lives on must be recovered too, so holders record the kernel's id of their thread (gettid) and its
// start time next to the pid. A thread id is only looked up under its own process
// (/proc/<pid>/task/<tid>), and the start time tells a reused id from the holder.

let ownThreadId: number | undefined;
let ownThreadStart: number | undefined;

/**
 * The kernel's id of the calling thread (gettid; the pid on the main thread), read once per thread.
 * 0 where the platform or the native addon cannot tell: callers then judge a holder by its process.
 */
export function selfThreadId(): number {
  if (ownThreadId === undefined) {
    try {
      ownThreadId = process.platform === 'linux' ? native().threadId() : 0;
    } catch {
      ownThreadId = 0;
    }
  }
  return ownThreadId;
}

/**
 * The calling thread's start time (clock ticks since boot, field 22 of `/proc/<pid>/task/<tid>/stat`),
 * read once per thread; 0 when unknown.
 */
export function selfThreadStartTime(): number {
  if (ownThreadStart === undefined) {
    const tid = selfThreadId();
    ownThreadStart = tid > 0 ? (threadStartTime(process.pid, tid) ?? 0) : 0;
  }
  return ownThreadStart;
}

/**
 * The start time of thread `tid` of process `pid` (clock ticks since boot).
 * @returns the start time, or undefined when the process has no such thread
 * @throws {TypeError|RangeError} when pid or tid is not a valid id
 */
export function threadStartTime(pid: number, tid: number): number | undefined {
  validatePid(pid);
  validatePid(tid, 'tid');
  return readStat(pid, tid)?.startTime;
}

/**
 * True when process `pid` has a thread `tid` that has not exited and (when `startTime` is given) is
 * the thread that had that start time. The start time is compared modulo 2^32, so the low 32 bits
 * that fit in one shared Int32 word are enough. Does not check the process's own start time: combine
 * with {@link isProcessAlive}.
 * @param pid - the process id
 * @param tid - the thread id ({@link selfThreadId} in that thread)
 * @param startTime - the thread's start time ({@link selfThreadStartTime}), or its low 32 bits
 */
export function isThreadAlive(pid: number, tid: number, startTime?: number): boolean {
  validatePid(pid);
  validatePid(tid, 'tid');
  if (startTime !== undefined && (typeof startTime !== 'number' || !Number.isInteger(startTime))) {
    throw new TypeError(`startTime must be an integer, got ${String(startTime)}`);
  }
  const stat = readStat(pid, tid);
  if (!stat) return false;
  if (stat.state === 'Z' || stat.state === 'X') return false;
  return startTime === undefined || (stat.startTime - startTime) % 2 ** 32 === 0;
}

/**
 * True when the holder of a lock recorded as process `pid` started at `startTime`, thread `tid`
 * started at `threadStart` (its low 32 bits) still runs: what robust locks ask of a record in shared
 * memory. A 0 means not recorded: without a start time any process with that pid counts, without a
 * thread id the holder lives as long as its process (another platform, or a record being written).
 * A record with our pid but another start time is an earlier process's: dead; this thread is alive;
 * another thread of ours is alive while it runs.
 */
export function isHolderAlive(pid: number, startTime: number, tid: number, threadStart: number): boolean {
  const start = startTime === 0 ? undefined : startTime;
  if (pid === process.pid) {
    if (start !== undefined && start !== selfStartTime()) return false;
    if (tid <= 0 || tid === selfThreadId()) return true;
  } else if (!isProcessAlive(pid, start)) return false;
  return tid <= 0 || isThreadAlive(pid, tid, threadStart === 0 ? undefined : threadStart);
}
