import {
  IpcError,
  MAX_TIMEOUT_MS,
  moduleUrl,
  timeoutError,
  toHandle,
  validateWaitOptions,
  waitFor,
  type Handle,
  type HandleContext,
  type Shareable,
  type WaitOptions,
} from '@ipc/core';
import { identity } from './identity.js';
import { SharedMemory, notify, wait, waitSync } from './shm.js';

/** 'IPCS' read as a little-endian int32: marks an initialized block. */
export const MAGIC = 0x53435049;
/**
 * Block layout version, checked on open. 2: holder records carry the kernel's thread id and its
 * start time (words 6 and 7 of an entry), and a Condition's waiter slots are 8 words.
 */
export const LAYOUT_VERSION = 2;

/** The kinds of primitives, stored in each block's header. */
export const KIND_CODES = {
  Lock: 1,
  RLock: 2,
  Semaphore: 3,
  BoundedSemaphore: 4,
  Condition: 5,
  Event: 6,
  Barrier: 7,
} as const;
/** The name of a primitive kind. */
export type KindName = keyof typeof KIND_CODES;

// Header words shared by every block. WAITERS counts the threads (one per process and thread at
// most for the async path, plus each thread blocked in a *Sync call) parked on the block, so that
// a release calls notify (a system call) only when somebody really waits.
export const H_MAGIC = 0;
export const H_KIND = 1;
export const H_WORDS = 2;
export const H_WAITERS = 3;
export const HEADER_WORDS = 4;

/** A notify count that wakes every waiter. */
export const WAKE_ALL = 0x7fffffff;

/** The default interval at which a waiter checks whether the holders are still alive. */
export const DEFAULT_OWNER_CHECK_INTERVAL = 1000;
/** Where a block may start inside a segment: a multiple of this many bytes. */
export const BLOCK_ALIGN = 8;

// import.meta.url in the ESM build; the CJS build has no import.meta (tsup leaves it empty) but has
// __filename. (Testing typeof __filename first is fooled by `eval: true` workers, where it is a global.)
const HERE = moduleUrl(typeof import.meta.url === 'string' ? import.meta.url : __filename);

/** Options every primitive takes when created, opened or attached. */
export interface PrimitiveOptions {
  /**
   * Milliseconds between two checks, by a waiting caller, that the holders are alive: a holder that
   * died (SIGKILL included) has its permits recovered within about this time. Default 1000;
   * 1 to 2147483647.
   */
  ownerCheckInterval?: number;
  /**
   * Microseconds (0 to 1000, default 0: off) to poll the shared word before parking, for
   * request/response patterns where the answer comes within microseconds. Adaptive: the budget
   * halves after spins that fail and recovers after spins that succeed. An async spin holds this
   * thread's event loop for at most that long per wait.
   */
  spin?: number;
}

/** Validated per-handle tuning. */
export interface Tuning {
  ownerCheckInterval: number;
  spin: number;
}

/** The most microseconds a wait may spin. */
export const MAX_SPIN_US = 1000;

/**
 * Where a new primitive lives: its own segment (the default; `name`, `exclusive` and
 * `unlinkOnExit` go to `SharedMemory.create`) or a slot of a segment you manage (`memory` and
 * `offset`, a multiple of 8; the primitive's `byteLength(options)` bytes from there are its own).
 */
export interface PlacementOptions extends PrimitiveOptions {
  /** The segment name; random when omitted. Not with `memory`. */
  name?: string;
  /** Fail with `ERR_IPC_EXISTS` when the name is taken (default true). Not with `memory`. */
  exclusive?: boolean;
  /** Unlink the segment when this process exits (default true). Not with `memory`. */
  unlinkOnExit?: boolean;
  /** A segment to place the primitive in, instead of a segment of its own. */
  memory?: SharedMemory;
  /** Byte offset of the slot in `memory` (default 0), a multiple of 8. */
  offset?: number;
}

/** Validates the options every primitive takes. */
export function validatePrimitiveOptions(options: PrimitiveOptions | undefined, name = 'options'): Tuning {
  if (options === undefined) return { ownerCheckInterval: DEFAULT_OWNER_CHECK_INTERVAL, spin: 0 };
  if (typeof options !== 'object' || options === null) throw new TypeError(`${name} must be an object, got ${typeof options}`);
  const v = options.ownerCheckInterval ?? DEFAULT_OWNER_CHECK_INTERVAL;
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    throw new TypeError(`${name}.ownerCheckInterval must be an integer number of milliseconds, got ${String(v)}`);
  }
  if (v < 1 || v > MAX_TIMEOUT_MS) {
    throw new RangeError(`${name}.ownerCheckInterval must be between 1 and ${MAX_TIMEOUT_MS}, got ${v}`);
  }
  const spin = options.spin ?? 0;
  if (typeof spin !== 'number' || Number.isNaN(spin)) throw new TypeError(`${name}.spin must be a number of microseconds, got ${String(spin)}`);
  if (spin < 0 || spin > MAX_SPIN_US) throw new RangeError(`${name}.spin must be between 0 and ${MAX_SPIN_US}, got ${spin}`);
  return { ownerCheckInterval: v, spin };
}

/** Validates a positive integer option. */
export function validateInt(value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) throw new TypeError(`${name} must be an integer, got ${String(value)}`);
  if (value < min || value > max) throw new RangeError(`${name} must be between ${min} and ${max}, got ${value}`);
  return value;
}

/** The segment and slot a block was placed in. */
export interface Placement {
  memory: SharedMemory;
  owns: boolean;
  offset: number;
}

function isSharedMemory(value: unknown): value is SharedMemory {
  return typeof value === 'object' && value !== null && (value as SharedMemory).buffer instanceof SharedArrayBuffer;
}

/** Validates `offset` inside `memory` for a block of `bytes`. */
export function validateSlot(memory: unknown, offset: unknown, bytes: number, name = 'options'): number {
  if (!isSharedMemory(memory)) throw new TypeError(`${name}.memory must be a SharedMemory`);
  const off = offset === undefined ? 0 : offset;
  if (typeof off !== 'number' || !Number.isInteger(off)) throw new TypeError(`${name}.offset must be an integer, got ${String(off)}`);
  if (off < 0 || off % BLOCK_ALIGN !== 0) throw new RangeError(`${name}.offset must be a non-negative multiple of ${BLOCK_ALIGN}, got ${off}`);
  if (off + bytes > memory.buffer.byteLength) {
    throw new RangeError(`${name}.offset + ${bytes} bytes must be <= the segment size ${memory.buffer.byteLength}, got offset ${off}`);
  }
  return off;
}

/** Places a new block: a slot of the caller's segment, or a fresh segment. */
export function placeBlock(bytes: number, options: PlacementOptions | undefined): Placement {
  const o = options ?? {};
  if (o.memory !== undefined) {
    for (const k of ['name', 'exclusive', 'unlinkOnExit'] as const) {
      if (o[k] !== undefined) throw new TypeError(`options.${k} cannot be combined with options.memory`);
    }
    return { memory: o.memory, owns: false, offset: validateSlot(o.memory, o.offset, bytes) };
  }
  if (o.offset !== undefined) throw new TypeError('options.offset needs options.memory');
  if (o.name !== undefined && typeof o.name !== 'string') throw new TypeError(`options.name must be a string, got ${typeof o.name}`);
  const memory = SharedMemory.create({
    size: bytes,
    ...(o.name !== undefined ? { name: o.name } : {}),
    ...(o.exclusive !== undefined ? { exclusive: o.exclusive } : {}),
    ...(o.unlinkOnExit !== undefined ? { unlinkOnExit: o.unlinkOnExit } : {}),
  });
  return { memory, owns: true, offset: 0 };
}

const napView = new Int32Array(new SharedArrayBuffer(4));

/** Waits (a few ms at most) for the creator to finish initializing, then checks magic and kind. */
export function checkBlock(memory: SharedMemory, offset: number, kind: KindName): Int32Array {
  if (memory.buffer.byteLength < offset + HEADER_WORDS * 4) {
    throw new IpcError('ERR_IPC_NOT_FOUND', `no ${kind} at offset ${offset} of ${memory.name}: the segment is too small`);
  }
  const head = new Int32Array(memory.buffer, offset, HEADER_WORDS);
  for (let i = 0; Atomics.load(head, H_MAGIC) === 0 && i < 50; i++) Atomics.wait(napView, 0, 0, 2);
  if (Atomics.load(head, H_MAGIC) !== MAGIC) {
    throw new IpcError('ERR_IPC_NOT_FOUND', `no ${kind} at offset ${offset} of ${memory.name}: not an @ipc/semaphore block`);
  }
  const code = Atomics.load(head, H_KIND);
  if ((code & 0xff) === KIND_CODES[kind] && code >>> 8 !== LAYOUT_VERSION) {
    throw new IpcError(
      'ERR_IPC_NOT_FOUND',
      `the ${kind} at offset ${offset} of ${memory.name} was made by another version of @ipc/semaphore ` +
        `(block layout ${code >>> 8}, this one reads ${LAYOUT_VERSION}): use one version in every process`,
      { details: { layout: code >>> 8, expected: LAYOUT_VERSION } },
    );
  }
  if ((code & 0xff) !== KIND_CODES[kind] || code >>> 8 !== LAYOUT_VERSION) {
    const found = Object.entries(KIND_CODES).find(([, c]) => c === (code & 0xff))?.[0] ?? 'unknown';
    throw new IpcError('ERR_IPC_NOT_FOUND', `no ${kind} at offset ${offset} of ${memory.name}: it holds a ${found} (layout ${code >>> 8})`);
  }
  const words = Atomics.load(head, H_WORDS);
  if (offset + words * 4 > memory.buffer.byteLength) {
    throw new IpcError('ERR_IPC_NOT_FOUND', `no ${kind} at offset ${offset} of ${memory.name}: the block overruns the segment`);
  }
  return new Int32Array(memory.buffer, offset, words);
}

/** Writes a fresh block's header (magic last, by the caller calling {@link publishBlock}). */
export function initBlock(placement: Placement, words: number, kind: KindName): Int32Array {
  const view = new Int32Array(placement.memory.buffer, placement.offset, words);
  Atomics.store(view, H_MAGIC, 0);
  view.fill(0, 1);
  view[H_KIND] = KIND_CODES[kind] | (LAYOUT_VERSION << 8);
  view[H_WORDS] = words;
  return view;
}

/** Makes an initialized block visible to openers. */
export function publishBlock(view: Int32Array): void {
  Atomics.store(view, H_MAGIC, MAGIC);
}

/**
 * What a primitive's constructor takes: where its block is, a view of the block, and the
 * per-handle tuning. The create, open and attach statics of every primitive produce it with
 * {@link createBlock}, {@link openBlock} and {@link attachBlock}.
 */
export type BlockArgs = [placement: Placement, view: Int32Array, tuning: Tuning];

/**
 * Places a new block of `words` int32 words (see {@link placeBlock}), writes its header, lets
 * `fill` write the primitive's own fields, and only then publishes it (magic last), so that an
 * opener never sees a half-initialized block. `tuning` is validated by the caller, first, so that
 * a bad option fails before anything is created.
 */
export function createBlock(
  kind: KindName,
  words: number,
  tuning: Tuning,
  options: PlacementOptions | undefined,
  fill?: (view: Int32Array) => void,
): BlockArgs {
  const placement = placeBlock(words * 4, options);
  const view = initBlock(placement, words, kind);
  fill?.(view);
  publishBlock(view);
  return [placement, view, tuning];
}

/**
 * Validates the tuning options, opens a segment by name and checks the `kind` block at
 * `options.offset` in it, closing the segment on failure.
 */
export function openBlock(kind: KindName, name: string, options: (PrimitiveOptions & { offset?: number }) | undefined): BlockArgs {
  const tuning = validatePrimitiveOptions(options);
  if (typeof name !== 'string' || name.length === 0) throw new TypeError(`name must be a non-empty string, got ${String(name)}`);
  const memory = SharedMemory.open(name);
  try {
    const off = validateSlot(memory, options?.offset, HEADER_WORDS * 4, 'open');
    const view = checkBlock(memory, off, kind);
    return [{ memory, owns: true, offset: off }, view, tuning];
  } catch (err) {
    memory.close();
    throw err;
  }
}

/** Validates the tuning options and checks the `kind` block in a slot of a caller-managed segment. */
export function attachBlock(kind: KindName, memory: SharedMemory, offset: number, options: PrimitiveOptions | undefined): BlockArgs {
  const tuning = validatePrimitiveOptions(options);
  const off = validateSlot(memory, offset, HEADER_WORDS * 4, 'attach');
  return [{ memory, owns: false, offset: off }, checkBlock(memory, off, kind), tuning];
}

/** A pending asynchronous wait in this thread. */
export interface WaitNode<D, T> {
  readonly data: D;
  resolve(value: T): void;
  reject(err: unknown): void;
}

/** The error a call on a closed primitive throws. */
export function closedError(kind: string): IpcError {
  return new IpcError('ERR_IPC_CLOSED', `the ${kind} is closed`);
}

/**
 * What every primitive shares: its block in shared memory, its handle, closing, and the machinery
 * of waiting. In each thread, all pending async waits on one primitive share ONE parked wait on the
 * shared word (a "pump"), so 1,000 pending `acquire()` calls cost one registration, not 1,000.
 */
export abstract class Primitive<D = unknown, T = unknown> implements Shareable, AsyncDisposable {
  /** @internal */
  protected readonly v: Int32Array;
  /** @internal */
  protected readonly placement: Placement;
  /** @internal */
  protected readonly checkInterval: number;
  readonly #spinMax: number;
  #spinBudget: number;
  #spinSkips = 0;
  /** @internal */
  protected readonly queue: Array<WaitNode<D, T>> = [];
  #closed = false;
  #pumping = false;
  #parked = false;
  // One controller reused across parks (creating an AbortSignal and its first listener costs ~7 us
  // here, more than the rest of a wake-up); replaced only once aborted.
  #parkCtl: AbortController | undefined;
  #parkedAsync = false;
  #lastCheck = 0;
  /** @internal The primitive's kind, as in error messages and handles. */
  protected readonly kind: KindName;

  /** @internal */
  protected constructor(kind: KindName, placement: Placement, view: Int32Array, tuning: Tuning) {
    this.kind = kind;
    this.placement = placement;
    this.v = view;
    this.checkInterval = tuning.ownerCheckInterval;
    this.#spinMax = tuning.spin;
    this.#spinBudget = tuning.spin;
  }

  /** The name of the segment this primitive lives in (pass it to `open`). */
  get name(): string {
    return this.placement.memory.name;
  }

  /** Byte offset of this primitive's block in its segment. */
  get offset(): number {
    return this.placement.offset;
  }

  /** True once `close()` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** @internal */
  protected assertOpen(): void {
    if (this.#closed) throw closedError(this.kind);
  }

  /** Describes this primitive as a handle, so a child process or a worker thread can reopen it. */
  [toHandle](_context?: HandleContext): Handle {
    this.assertOpen();
    return {
      kind: `@ipc/semaphore.${this.kind}`,
      module: HERE,
      name: this.placement.memory.name,
      offset: this.placement.offset,
      ownerCheckInterval: this.checkInterval,
      spin: this.#spinMax,
    };
  }

  /**
   * Closes this process's view: pending waits in this thread reject with `ERR_IPC_CLOSED`, and the
   * segment is unmapped when this primitive opened it. Others keep working. Idempotent.
   */
  close(): void {
    if (this.#closed) return;
    this.beforeClose();
    this.#closed = true;
    if (this.#parked) {
      this.#parked = false;
      Atomics.sub(this.v, H_WAITERS, 1);
    }
    this.#unpark();
    const err = closedError(this.kind);
    for (const node of [...this.queue]) node.reject(err);
    this.queue.length = 0;
    if (this.placement.owns) this.placement.memory.close();
  }

  /** @internal Hook run before closing (release owned resources). */
  protected beforeClose(): void {}

  /**
   * Removes the segment's name (when this primitive has a segment of its own), so that nobody
   * else can `open` it; processes that have it open keep using it. Idempotent.
   */
  unlink(): void {
    if (this.placement.owns) {
      try {
        this.placement.memory.unlink();
      } catch (err) {
        if (!IpcError.is(err, 'ERR_IPC_NOT_FOUND')) throw err;
      }
    }
  }

  /** Closes (see {@link close}). */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }

  // ---- waiting -------------------------------------------------------------------------------

  /**
   * @internal Tries to satisfy pending waiters (resolving or rejecting their nodes). Returns the
   * value of the word at {@link parkIndex} that made the remaining ones wait.
   */
  protected abstract service(): number;

  /** @internal The word waiters park on. */
  protected abstract parkIndex(): number;

  /** @internal Checks the holders; returns true when something was recovered. */
  protected checkOwners(): boolean {
    return false;
  }

  /** @internal Called when the pump stops: pass a wake-up we may have swallowed on to others. */
  protected passOn(): void {}

  /** @internal Runs {@link checkOwners} when the last check is older than the interval. */
  protected maybeCheckOwners(): boolean {
    const now = performance.now();
    if (now - this.#lastCheck < this.checkInterval) return false;
    this.#lastCheck = now;
    return this.checkOwners();
  }

  /**
   * @internal Polls `v[index]` for up to the spin budget; true when it moved off `observed`.
   * Adaptive: a failed spin halves the budget, a successful one doubles it back (up to the
   * option); at zero, spinning resumes on probation every 32 parks.
   */
  protected spinUntilChanged(index: number, observed: number): boolean {
    if (this.#spinMax === 0) return false;
    if (this.#spinBudget < 1) {
      if (++this.#spinSkips < 32) return false;
      this.#spinSkips = 0;
      this.#spinBudget = Math.max(1, this.#spinMax / 4);
    }
    const end = performance.now() + this.#spinBudget / 1000;
    const v = this.v;
    do {
      if (Atomics.load(v, index) !== observed) {
        this.#spinBudget = Math.min(this.#spinMax, this.#spinBudget * 2);
        return true;
      }
    } while (performance.now() < end);
    this.#spinBudget /= 2;
    return false;
  }

  /** @internal Queues an async wait, served by the pump. */
  protected enqueue(options: WaitOptions | undefined, data: D, what: string): Promise<T> {
    return waitFor<T>(
      options,
      (resolve, reject, scope) => {
        if (this.#closed) return reject(closedError(this.kind));
        const node: WaitNode<D, T> = { data, resolve, reject };
        this.queue.push(node);
        scope.onCleanup(() => this.#remove(node));
        if (!this.#pumping) void this.#pump();
      },
      what,
    );
  }

  #remove(node: WaitNode<D, T>): void {
    const i = this.queue.indexOf(node);
    if (i >= 0) this.queue.splice(i, 1);
    if (this.queue.length === 0) this.#unpark();
  }

  /** @internal Wakes the pump now (a local change made progress possible). */
  protected kick(): void {
    if (this.queue.length === 0) return;
    if (this.#pumping) this.#unpark();
    else void this.#pump();
  }

  #unpark(): void {
    if (!this.#parkedAsync) return;
    this.#parkedAsync = false;
    const ctl = this.#parkCtl;
    this.#parkCtl = undefined;
    ctl?.abort();
  }

  async #pump(): Promise<void> {
    this.#pumping = true;
    const v = this.v;
    try {
      while (!this.#closed) {
        const observed = this.service();
        if (this.queue.length === 0 || this.#closed) return;
        if (this.maybeCheckOwners()) continue;
        const index = this.parkIndex();
        if (this.spinUntilChanged(index, observed)) continue;
        Atomics.add(v, H_WAITERS, 1);
        this.#parked = true;
        try {
          // Re-check after registering as a waiter: a waker updates the word, then reads WAITERS.
          if (Atomics.load(v, index) !== observed) continue;
          this.#parkCtl ??= new AbortController();
          this.#parkedAsync = true;
          await wait(v, index, observed, { timeout: this.checkInterval, signal: this.#parkCtl.signal }).catch(() => 'aborted');
        } finally {
          this.#parkedAsync = false;
          if (this.#parked) {
            this.#parked = false;
            Atomics.sub(v, H_WAITERS, 1);
          }
        }
      }
    } catch (err) {
      for (const node of [...this.queue]) node.reject(err);
    } finally {
      this.#pumping = false;
      if (!this.#closed) {
        if (this.queue.length > 0) void this.#pump();
        else this.passOn();
      }
    }
  }

  /** @internal Throws unless this thread may block. */
  protected assertMayBlock(what: string, timeout: number | undefined): void {
    if (timeout === 0) return;
    if (identity().isMainThread) {
      throw new IpcError(
        'ERR_IPC_UNSUPPORTED',
        `${what} blocks its thread and would freeze the event loop on the main thread: use the async form, or call it in a worker thread`,
      );
    }
  }

  /**
   * @internal Blocks this thread until `attempt` succeeds: `attempt` returns `{ value }` on success
   * or the word value that made it fail.
   */
  protected block<R>(options: { timeout?: number } | undefined, what: string, attempt: () => { value: R } | number): R {
    if (options !== undefined) validateWaitOptions(options, 'options');
    const timeout = options?.timeout;
    this.assertMayBlock(what, timeout);
    const end = timeout === undefined || timeout === Infinity ? Infinity : performance.now() + timeout;
    const v = this.v;
    for (;;) {
      this.assertOpen();
      const r = attempt();
      if (typeof r === 'object') return r.value;
      if (this.maybeCheckOwners()) continue;
      const left = end === Infinity ? Infinity : end - performance.now();
      if (left <= 0) throw timeoutError(timeout ?? 0, what);
      const index = this.parkIndex();
      if (this.spinUntilChanged(index, r)) continue;
      Atomics.add(v, H_WAITERS, 1);
      try {
        if (Atomics.load(v, index) !== r) continue;
        waitSync(v, index, r, Math.min(left, this.checkInterval));
      } finally {
        Atomics.sub(v, H_WAITERS, 1);
      }
    }
  }

  /** @internal Wakes up to `count` parked threads when there are any (no system call otherwise). */
  protected wake(index: number, count: number): void {
    if (Atomics.load(this.v, H_WAITERS) > 0) notify(this.v, index, count);
  }

  /**
   * @internal After a change that may release every waiter (an Event set, a Barrier's generation
   * ending, broken or reset): wakes the parked threads of every process, and this thread's pump,
   * which the change did not go through.
   */
  protected wakeAll(index: number): void {
    this.wake(index, WAKE_ALL);
    this.kick();
  }
}
