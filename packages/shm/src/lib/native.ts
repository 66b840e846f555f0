import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { IpcError } from '@ipc/core';

/** The typed surface of `build/Release/ipc_shm.node` (see native/shm.cc). System calls only. */
export interface NativeBinding {
  /** shm_open(O_CREAT[|O_EXCL], 0600) + pwrite(trailer at the end) + posix_fallocate + mmap. */
  create(name: string, totalBytes: number, exclusive: boolean, trailer: Uint8Array, magic: bigint): MappedSegment;
  /** shm_open(O_RDWR) + fstat + mmap; the trailer is returned when its magic matches. */
  open(name: string, trailerBytes: number, magic: bigint): MappedSegment;
  /** shm_unlink. */
  unlink(name: string): void;
  /**
   * When this thread has segments mapped: a full garbage collection, which unmaps the closed ones
   * nothing references any more. Returns the bytes it unmapped.
   */
  reclaim(): number;
  /** FUTEX_WAIT (shared) on `view[index]`: 0 ok, 1 not-equal, 2 timed-out. Negative timeout: forever. */
  futexWait(view: Int32Array, index: number, expected: number, timeoutMs: number): 0 | 1 | 2;
  /** FUTEX_WAKE (shared) on `view[index]`; returns how many were woken. */
  futexWake(view: Int32Array, index: number, count: number): number;
  /** pipe2(O_NONBLOCK | O_CLOEXEC): [readFd, writeFd]; the write end is closed with the thread. */
  pipe(): [number, number];
  /** uv_poll on this thread's doorbell read end; calls back with whole rings (3 words each). Unreferenced at first. */
  doorbellStart(readFd: number, onRings: (rings: Int32Array) => void): void;
  /** uv_ref / uv_unref of the doorbell poll handle. */
  doorbellRef(on: boolean): void;
  /** write(fd, [token, wordIndex, count]): 0 or the errno (EAGAIN 11, EPIPE 32, ...). */
  ring(fd: number, token: number, wordIndex: number, count: number): number;
  /** Records a segment to unlink when this thread's environment is torn down (if still ours). */
  own(name: string, startTime: number, trailerBytes: number): void;
  /** Forgets a segment recorded with own(). */
  disown(name: string): void;
  /** The start address of a SharedArrayBuffer's memory. */
  address(buffer: SharedArrayBuffer): number;
  /** gettid(): the kernel's id of the calling thread. */
  threadId(): number;
  readonly abiVersion: number;
}

/** [user bytes, trailer or null, total file size]. */
export type MappedSegment = [SharedArrayBuffer, SharedArrayBuffer | null, number];

declare const __filename: string | undefined;

/**
 * This module's file: `import.meta.url` in the ESM build (checked first: an eval'd worker or `node -e`
 * defines a global `__filename` such as '[worker eval]'), `__filename` in the CJS build, where
 * `import.meta` is an empty object.
 */
export const MODULE_FILE: string = (() => {
  const url = (import.meta as { url?: unknown }).url;
  if (typeof url === 'string' && url.startsWith('file:')) return fileURLToPath(url);
  return typeof __filename === 'string' ? __filename : '';
})();

// Works from src/lib (tests), dist (ESM and CJS): walk up to the directory holding binding.gyp.
function packageRoot(): string {
  const here = MODULE_FILE;
  let dir = dirname(here);
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'binding.gyp'))) return dir;
    dir = dirname(dir);
  }
  return dirname(dirname(here));
}

let binding: NativeBinding | undefined;

/**
 * Loads the addon once per thread.
 * @throws {IpcError} ERR_IPC_NATIVE when it was not built or does not load
 */
export function native(): NativeBinding {
  if (binding) return binding;
  const root = packageRoot();
  const file = join(root, 'build', 'Release', 'ipc_shm.node');
  if (!existsSync(file)) {
    throw new IpcError(
      'ERR_IPC_NATIVE',
      `@ipc/shm: the native addon was not built (${file} is missing). It is compiled from source when the package ` +
        'installs: install python3, make and g++ (Debian/Ubuntu: apt-get install python3 make g++), then run ' +
        `\`npm rebuild @ipc/shm\` (or \`npx node-gyp rebuild\` in ${root}).`,
      { details: { file } },
    );
  }
  try {
    const req = createRequire(join(root, 'package.json'));
    binding = req(file) as NativeBinding;
  } catch (err) {
    throw new IpcError(
      'ERR_IPC_NATIVE',
      `@ipc/shm: the native addon at ${file} failed to load (built for another Node.js version or platform?). ` +
        'Rebuild it with `npm rebuild @ipc/shm`; building needs python3, make and g++.',
      { cause: err, details: { file } },
    );
  }
  return binding;
}
