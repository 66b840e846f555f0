import { fork, type ChildProcess } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { IpcError } from './errors.js';
import { encodeHandles, reviveHandles } from './handle.js';
import type { WaitOptions } from './wait.js';
import { validateWaitOptions, waitFor } from './wait.js';

/** The message a parent sends its child first; also the shape of a thread's workerData. */
export interface ChildInit {
  readonly entry: string;
  readonly args: unknown;
  readonly name: string;
  readonly target: 'process' | 'thread';
}

/** How an uncaught error travels from child to parent. */
export interface SerializedError {
  name: string;
  message: string;
  stack?: string | undefined;
  code?: unknown;
}

interface ChildState {
  init: ChildInit;
  revived?: Promise<unknown[]>;
}

const STATE_KEY = Symbol.for('@ipc/core.childState');
/** The workerData key under which a Thread's init travels. */
export const THREAD_INIT_KEY = '@ipc/core.init';
/** Message types on the fork channel. */
export const INIT_MESSAGE = '@ipc/core.init';
export const ERROR_MESSAGE = '@ipc/core.error';

/** @internal Called by the child bootstrap before the entry is imported. */
export function setChildInit(init: ChildInit): void {
  (globalThis as unknown as Record<symbol, ChildState>)[STATE_KEY] = { init };
}

/**
 * The arguments this process or thread was started with, as live objects: every shareable
 * argument (a queue, a lock, a Value, a connection) is reopened from its handle.
 *
 * @example
 * // worker.mjs, started with new Process('./worker.mjs', { args: [queue, 3] })
 * const [queue, n] = await processArgs();
 * @throws {IpcError} ERR_IPC_NOT_STARTED when this process was not started by Process or Thread
 */
export function processArgs<T extends unknown[] = unknown[]>(): Promise<T> {
  const state = (globalThis as unknown as Record<symbol, ChildState | undefined>)[STATE_KEY];
  if (!state) {
    return Promise.reject(
      new IpcError('ERR_IPC_NOT_STARTED', 'processArgs() is only available in a process or thread started by @ipc/core Process or Thread'),
    );
  }
  state.revived ??= reviveHandles(state.init.args, { target: state.init.target }) as Promise<unknown[]>;
  return state.revived as Promise<T>;
}

/** The name given to this process or thread by its parent, or undefined when not started by Process/Thread. */
export function processName(): string | undefined {
  return (globalThis as unknown as Record<symbol, ChildState | undefined>)[STATE_KEY]?.init.name;
}

/** Turns any thrown value into something that crosses a process boundary. */
export function serializeError(err: unknown): SerializedError {
  if (err instanceof Error) {
    return { name: err.name, message: err.message, stack: err.stack, code: (err as { code?: unknown }).code };
  }
  return { name: 'Error', message: `non-error thrown: ${String(err)}` };
}

function reviveError(e: SerializedError): Error {
  const err = new Error(e.message);
  err.name = e.name;
  if (e.stack) err.stack = e.stack;
  if (e.code !== undefined) (err as { code?: unknown }).code = e.code;
  return err;
}

function processFailed(who: string, error: SerializedError | Error, exitCode: number | null): IpcError {
  const cause = error instanceof Error ? error : reviveError(error);
  return new IpcError('ERR_IPC_PROCESS_FAILED', `${who} failed: ${cause.message}`, { cause, details: { exitCode } });
}

/** Options of {@link Process} and {@link Thread}. */
export interface RunnerOptions {
  /** Arguments for the child: plain data and shareable primitives (revived live in the child). */
  args?: unknown[];
  /** A name for logs and errors. Default `process-<n>` / `thread-<n>`. */
  name?: string;
  /** Node flags for the child. Default: the parent's (`process.execArgv`), so a loader such as tsx carries over. */
  execArgv?: string[];
  /** Extra environment variables, on top of the parent's. */
  env?: Record<string, string | undefined>;
}

/** Options of {@link Process}. */
export interface ProcessOptions extends RunnerOptions {
  /** Working directory of the child. */
  cwd?: string;
  /** `'inherit'` (default) shares the parent's stdout/stderr; `'pipe'` exposes them as streams; `'ignore'` drops them. */
  stdio?: 'inherit' | 'pipe' | 'ignore';
  /** A daemon child is killed when the parent exits and does not keep the parent alive. */
  daemon?: boolean;
}

let counter = 0;

function entryUrl(entry: string | URL): string {
  if (entry instanceof URL) return entry.href;
  if (typeof entry !== 'string' || entry.length === 0) throw new TypeError('entry must be a file path or a file: URL');
  if (entry.startsWith('file:')) return entry;
  return pathToFileURL(entry).href;
}

function bootstrapPath(): string {
  // The bootstrap is built next to this module (dist/child.js or dist/child.cjs).
  // import.meta.url first: in an `eval: true` worker __filename is a global that names something else.
  const here = typeof import.meta.url === 'string' ? fileURLToPath(import.meta.url) : __filename!;
  const ext = here.endsWith('.cjs') ? '.cjs' : '.js';
  return new URL(`./child${ext}`, pathToFileURL(here)).pathname;
}

declare const __filename: string | undefined;

/** The shared life cycle of a {@link Process} and a {@link Thread}. */
abstract class Runner implements AsyncDisposable {
  readonly name: string;
  protected readonly entry: string;
  protected readonly options: RunnerOptions;
  #exitCode: number | null = null;
  #error: IpcError | undefined;
  #started = false;
  #exited: Promise<void>;
  #resolveExited!: () => void;

  protected constructor(entry: string | URL, options: RunnerOptions, kind: string) {
    if (options !== undefined && (typeof options !== 'object' || options === null)) throw new TypeError('options must be an object');
    if (options.args !== undefined && !Array.isArray(options.args)) throw new TypeError('args must be an array');
    if (options.execArgv !== undefined && !Array.isArray(options.execArgv)) throw new TypeError('execArgv must be an array of strings');
    this.entry = entryUrl(entry);
    this.options = options;
    this.name = options.name ?? `${kind}-${++counter}`;
    this.#exited = new Promise((resolve) => (this.#resolveExited = resolve));
  }

  /** The exit code once exited (negative signal number when killed by a signal, like Python), else null. */
  get exitCode(): number | null {
    return this.#exitCode;
  }

  /** The uncaught error the child failed with, if it did. */
  get error(): IpcError | undefined {
    return this.#error;
  }

  /** True between `start()` and exit. */
  get alive(): boolean {
    return this.#started && this.#exitCode === null;
  }

  /** Starts the child. @throws {IpcError} ERR_IPC_ALREADY_STARTED when called twice */
  start(): this {
    if (this.#started) throw new IpcError('ERR_IPC_ALREADY_STARTED', `${this.name} was already started`);
    this.#started = true;
    try {
      this._start();
    } catch (err) {
      this.#started = false;
      throw err;
    }
    return this;
  }

  protected abstract _start(): void;

  protected _fail(error: SerializedError | Error): void {
    this.#error ??= processFailed(this.name, error, this.#exitCode);
  }

  protected _exited(code: number): void {
    if (this.#exitCode !== null) return;
    this.#exitCode = code;
    if (this.#error?.details) this.#error.details.exitCode = code;
    this.#resolveExited();
  }

  /**
   * Waits for the child to end and resolves to its exit code (negative signal number when killed by
   * a signal).
   * @throws {IpcError} ERR_IPC_PROCESS_FAILED when the child ended with an uncaught error (child's message and stack in `cause`)
   * @throws {IpcError} ERR_IPC_TIMEOUT, ERR_IPC_ABORTED; ERR_IPC_NOT_STARTED before start()
   */
  async join(options?: WaitOptions): Promise<number> {
    validateWaitOptions(options);
    if (!this.#started) throw new IpcError('ERR_IPC_NOT_STARTED', `${this.name} was not started`);
    if (this.#exitCode === null) {
      await waitFor<void>(options, (resolve) => {
        void this.#exited.then(resolve);
      }, `join ${this.name}`);
    }
    if (this.#error) throw this.#error;
    return this.#exitCode!;
  }

  /** Kills the child if alive and waits for it; errors are not thrown. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.#started) return;
    if (this.alive) this.kill();
    await this.#exited;
  }

  abstract terminate(): void;
  abstract kill(): void;
}

/**
 * A child process running a module, like Python's `multiprocessing.Process`. The entry is a module
 * path or URL (JavaScript, or TypeScript when the parent runs under a loader such as tsx: the
 * loader's flags carry over). The child reads its arguments with {@link processArgs}, or exports
 * `main(...args)`, which is called with them; the child then exits with `main`'s numeric return (0
 * otherwise).
 *
 * @example
 * const p = new Process(new URL('./worker.js', import.meta.url), { args: [queue, 'job-1'] }).start();
 * const code = await p.join({ timeout: 10_000 });
 */
export class Process extends Runner {
  #child: ChildProcess | undefined;
  readonly #popts: ProcessOptions;

  constructor(entry: string | URL, options: ProcessOptions = {}) {
    super(entry, options, 'process');
    this.#popts = options;
    const stdio = options.stdio ?? 'inherit';
    if (stdio !== 'inherit' && stdio !== 'pipe' && stdio !== 'ignore') {
      throw new TypeError(`stdio must be 'inherit', 'pipe' or 'ignore', got ${String(stdio)}`);
    }
  }

  /** The child's pid once started. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** The child's stdout when started with `stdio: 'pipe'`. */
  get stdout(): NodeJS.ReadableStream | null {
    return this.#child?.stdout ?? null;
  }

  /** The child's stderr when started with `stdio: 'pipe'`. */
  get stderr(): NodeJS.ReadableStream | null {
    return this.#child?.stderr ?? null;
  }

  protected _start(): void {
    const mode = this.#popts.stdio ?? 'inherit';
    const stdio: Array<'inherit' | 'pipe' | 'ignore' | 'ipc' | number> = [mode === 'pipe' ? 'ignore' : mode, mode, mode, 'ipc'];
    const args = encodeHandles(this.options.args ?? [], {
      target: 'process',
      inheritFd(fd: number) {
        if (!Number.isInteger(fd) || fd < 0) throw new TypeError(`inheritFd takes a file descriptor, got ${fd}`);
        stdio.push(fd);
        return stdio.length - 1;
      },
    });
    const child = fork(bootstrapPath(), [], {
      execArgv: this.options.execArgv ?? process.execArgv,
      env: { ...process.env, ...this.options.env },
      cwd: this.#popts.cwd,
      stdio,
      serialization: 'advanced',
    });
    this.#child = child;
    child.on('message', (msg: unknown) => {
      const m = msg as { type?: string; error?: SerializedError };
      if (m?.type === ERROR_MESSAGE && m.error) this._fail(m.error);
    });
    child.on('error', (err) => {
      // spawn failure (ENOENT, EAGAIN): there will be no exit event when the child never ran
      this._fail(err);
      if (child.pid === undefined) this._exited(-1);
    });
    child.on('exit', (code, signal) => {
      this._exited(code ?? -(signal ? (osConstants.signals[signal] ?? 1) : 1));
    });
    const init: ChildInit = { entry: this.entry, args, name: this.name, target: 'process' };
    child.send({ type: INIT_MESSAGE, init }, (err) => {
      if (err && this.exitCode === null) this._fail(err);
    });
    if (this.#popts.daemon) {
      child.unref();
      (child.channel as { unref?: () => void } | undefined)?.unref?.();
      const killOnExit = () => child.kill('SIGKILL');
      process.once('exit', killOnExit);
      child.once('exit', () => process.removeListener('exit', killOnExit));
    }
  }

  /** Sends SIGTERM. */
  terminate(): void {
    this.#child?.kill('SIGTERM');
  }

  /** Sends SIGKILL. */
  kill(): void {
    this.#child?.kill('SIGKILL');
  }
}

/**
 * The same as {@link Process}, on a worker thread: the entry and its arguments (handles included)
 * work alike, and {@link processArgs} reads them.
 */
export class Thread extends Runner {
  #worker: Worker | undefined;
  #threadId: number | undefined;

  constructor(entry: string | URL, options: RunnerOptions = {}) {
    super(entry, options, 'thread');
  }

  /** The worker's threadId once started (kept after it exits). */
  get threadId(): number | undefined {
    return this.#threadId;
  }

  protected _start(): void {
    const args = encodeHandles(this.options.args ?? [], { target: 'thread', inheritFd: (fd) => fd });
    const init: ChildInit = { entry: this.entry, args, name: this.name, target: 'thread' };
    const worker = new Worker(bootstrapPath(), {
      workerData: { [THREAD_INIT_KEY]: init },
      name: this.name,
      env: { ...process.env, ...this.options.env },
      ...(this.options.execArgv ? { execArgv: this.options.execArgv } : {}),
    });
    this.#worker = worker;
    this.#threadId = worker.threadId;
    worker.on('error', (err) => this._fail(err));
    worker.on('exit', (code) => this._exited(code));
  }

  /** Stops the thread (worker.terminate()). */
  terminate(): void {
    void this.#worker?.terminate();
  }

  /** Same as terminate: a thread cannot be killed harder. */
  kill(): void {
    this.terminate();
  }
}
