import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { readTrailerFile } from '../src/lib/segment.js';

/** Absolute path of a child fixture in test/fixtures. */
export function fixture(name: string): string {
  return fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
}

/** A spawned child that is SIGKILLed on dispose if still running. */
export interface Child extends AsyncDisposable {
  readonly proc: ChildProcess;
  /** Resolves with the exit code and all stdout once the child exits. */
  readonly done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
  /** Resolves with the first stdout line. */
  line(): Promise<string>;
}

const live = new Set<ChildProcess>();

/** Spawns `node fixtures/<name> ...args` with piped stdio. */
export function child(name: string, args: string[] = [], runtime = process.execPath, extra: string[] = []): Child {
  const proc = spawn(runtime, [...extra, fixture(name), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(proc);
  let stdout = '';
  let stderr = '';
  const lineWaiters: Array<(l: string) => void> = [];
  const lines: string[] = [];
  let partial = '';
  proc.stdout!.setEncoding('utf8');
  proc.stderr!.setEncoding('utf8');
  proc.stdout!.on('data', (d: string) => {
    stdout += d;
    partial += d;
    let nl: number;
    while ((nl = partial.indexOf('\n')) >= 0) {
      const l = partial.slice(0, nl);
      partial = partial.slice(nl + 1);
      const w = lineWaiters.shift();
      if (w) w(l);
      else lines.push(l);
    }
  });
  proc.stderr!.on('data', (d: string) => (stderr += d));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) => {
    proc.on('exit', (code, signal) => {
      live.delete(proc);
      // let stdio drain
      setImmediate(() => resolve({ code, signal, stdout, stderr }));
    });
  });
  return {
    proc,
    done,
    line: () =>
      lines.length > 0
        ? Promise.resolve(lines.shift()!)
        : new Promise<string>((resolve, reject) => {
            lineWaiters.push(resolve);
            done.then((r) => reject(new Error(`child exited (${r.code ?? r.signal}) before printing a line: ${r.stderr}`)));
          }),
    async [Symbol.asyncDispose]() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await done;
    },
  };
}

/** Kills every child still running (afterEach safety net). */
export async function killChildren(): Promise<void> {
  const waits = [...live].map((p) => new Promise((r) => (p.exitCode !== null || p.signalCode !== null ? r(null) : (p.once('exit', r), p.kill('SIGKILL')))));
  await Promise.all(waits);
}

/** Names in /dev/shm whose trailer says they were created by one of `pids`. */
export function segmentsCreatedBy(pids: Iterable<number>): string[] {
  const set = new Set(pids);
  const out: string[] = [];
  for (const name of readdirSync('/dev/shm')) {
    const info = readTrailerFile(name);
    if (info && set.has(info.pid)) out.push(name);
  }
  return out;
}

/** A unique segment name for this test process. */
let counter = 0;
export function uniqueName(tag: string): string {
  return `ipc-test-${tag}-${process.pid}-${++counter}-${Math.random().toString(36).slice(2, 8)}`;
}
