// Baselines of the wake-up latency benchmarks (@ipc/shm, @ipc/semaphore): a process.send round trip
// and a C program (a futex ping-pong) compiled on the spot. Plain ESM: a package's bench/run.mjs
// imports '../../../bench/helpers-wakeup.mjs'.

import { execFileSync, fork } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { percentile } from './lib.mjs';

/** @type {Map<string, string | null>} source path -> binary path, or null when it did not compile */
const binaries = new Map();

/**
 * Compiles a C source (`cc -O2`) once per process into a temporary directory removed at exit.
 * @param {URL | string} source - the .c file
 * @returns {string | null} the binary's path, or null when there is no compiler or it failed
 */
export function compileC(source) {
  const path = source instanceof URL ? fileURLToPath(source) : source;
  if (binaries.has(path)) return binaries.get(path);
  const dir = mkdtempSync(join(tmpdir(), 'ipc-bench-c-'));
  let bin = join(dir, basename(path, '.c'));
  try {
    execFileSync('cc', ['-O2', '-o', bin, path]);
    process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  } catch {
    rmSync(dir, { recursive: true, force: true });
    bin = null;
  }
  binaries.set(path, bin);
  return bin;
}

/**
 * Compiles (once) and runs a C benchmark that prints one number.
 * @param {URL | string} source - the .c file
 * @param {string[]} args
 * @returns {number} what it printed, or NaN when it cannot be compiled here
 */
export function runC(source, args) {
  const bin = compileC(source);
  if (!bin) return NaN;
  return Number(execFileSync(bin, args, { encoding: 'utf8' }).trim());
}

/**
 * The process.send baseline of a wake-up: the median microseconds of `rounds` round trips of a
 * small message to a forked echo child (bench/children/fork-peer.mjs), after one warm-up.
 * @param {number} rounds
 * @returns {Promise<number>} p50 round trip, in microseconds
 */
export async function sendRoundTripP50(rounds) {
  const child = fork(new URL('./children/fork-peer.mjs', import.meta.url), ['echo'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    child.send(-1);
    await once(child, 'message');
    const times = [];
    for (let i = 0; i < rounds; i++) {
      const t0 = performance.now();
      child.send(i);
      await once(child, 'message');
      times.push((performance.now() - t0) * 1000);
    }
    return percentile(times, 50);
  } finally {
    if (child.connected) child.disconnect();
    if (child.exitCode === null && child.signalCode === null) await once(child, 'exit').catch(() => {});
  }
}
