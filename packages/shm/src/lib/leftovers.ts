import { readdirSync, readFileSync, unlinkSync } from 'node:fs';
import { isProcessAlive } from './process-info.js';
import { readTrailerFile } from './segment.js';

/** A segment created by this package, as found in /dev/shm. */
export interface SegmentInfo {
  /** The name (`/dev/shm/<name>`). */
  name: string;
  /** The user size in bytes. */
  size: number;
  /** The creator's pid and start time. */
  pid: number;
  startTime: number;
  /** Whether the creator is still running (the same process, not a reused pid). */
  creatorAlive: boolean;
  /** Whether the creator asked for the segment to be unlinked at its exit. */
  unlinkOnExit: boolean;
  /** Pids of processes that have the segment mapped now. */
  mappedBy: number[];
  /** 'value', 'array' or undefined for a plain SharedMemory. */
  kind: string | undefined;
}

function mappers(): Map<string, number[]> {
  const out = new Map<string, number[]>();
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return out;
  }
  for (const pid of pids) {
    let maps: string;
    try {
      maps = readFileSync(`/proc/${pid}/maps`, 'utf8');
    } catch {
      continue;
    }
    const seen = new Set<string>();
    for (const m of maps.matchAll(/ \/dev\/shm\/(\S+)(?: \(deleted\))?$/gm)) seen.add(m[1]!);
    for (const name of seen) {
      const list = out.get(name) ?? [];
      list.push(Number(pid));
      out.set(name, list);
    }
  }
  return out;
}

/**
 * Lists the segments in /dev/shm that this package created (those with its trailer), with their
 * creator and whether it is alive. Segments of other tools are not listed.
 */
export function listSegments(): SegmentInfo[] {
  let names: string[];
  try {
    names = readdirSync('/dev/shm');
  } catch {
    return [];
  }
  const mapped = mappers();
  const out: SegmentInfo[] = [];
  for (const name of names.sort()) {
    const info = readTrailerFile(name);
    if (!info) continue;
    const meta = info.meta as { t?: string } | undefined;
    out.push({
      name,
      size: info.size,
      pid: info.pid,
      startTime: info.startTime,
      creatorAlive: info.pid > 0 && isProcessAlive(info.pid, info.startTime),
      unlinkOnExit: info.unlinkOnExit,
      mappedBy: mapped.get(name) ?? [],
      kind: meta?.t,
    });
  }
  return out;
}

/** Options of {@link cleanSegments}. */
export interface CleanOptions {
  /** Also remove segments created with `unlinkOnExit: false` (kept on purpose) whose creator died. */
  all?: boolean;
  /** Also remove segments still mapped by a live process (default: keep them). */
  evenIfMapped?: boolean;
  /** Only report what would be removed. */
  dryRun?: boolean;
  /** Only consider segments whose name starts with this. */
  prefix?: string;
}

/**
 * Removes leftovers: segments this package created whose creator is dead (a crash or SIGKILL kept
 * it from unlinking). Never removes one whose creator is alive.
 * @returns the segments removed (or that would be, with dryRun)
 */
export function cleanSegments(options: CleanOptions = {}): SegmentInfo[] {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  if (options.prefix !== undefined && typeof options.prefix !== 'string') throw new TypeError('options.prefix must be a string');
  const removed: SegmentInfo[] = [];
  for (const seg of listSegments()) {
    if (options.prefix !== undefined && !seg.name.startsWith(options.prefix)) continue;
    if (seg.creatorAlive) continue;
    if (!seg.unlinkOnExit && !options.all) continue;
    if (seg.mappedBy.length > 0 && !options.evenIfMapped) continue;
    // Re-check right before unlinking: the name may have been reused by a live creator meanwhile.
    const now = readTrailerFile(seg.name);
    if (!now || now.pid !== seg.pid || now.startTime !== seg.startTime) continue;
    if (!options.dryRun) {
      try {
        unlinkSync(`/dev/shm/${seg.name}`);
      } catch {
        continue;
      }
    }
    removed.push(seg);
  }
  return removed;
}
