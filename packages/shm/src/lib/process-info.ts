import { readFileSync } from 'node:fs';

function validatePid(pid: unknown): asserts pid is number {
  if (typeof pid !== 'number' || !Number.isInteger(pid)) throw new TypeError(`pid must be an integer, got ${String(pid)}`);
  if (pid < 1 || pid > 4_194_304) throw new RangeError(`pid must be between 1 and 4194304, got ${pid}`);
}

interface Stat {
  state: string;
  startTime: number;
}

function readStat(pid: number): Stat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1');
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
