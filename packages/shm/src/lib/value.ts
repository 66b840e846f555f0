import { IpcError, isShareable, moduleUrl, registerHandleKind, reviveHandle, toHandle } from '@ipc/core';
import type { Handle, HandleContext, Shareable, WaitOptions } from '@ipc/core';
import { SharedMemory, createSegment } from './shared-memory.js';
import { MODULE_FILE } from './native.js';
import { readTrailerFile } from './segment.js';

/** The element types of {@link Value} and {@link SharedArray}; `i64` / `u64` hold bigints. */
export type ElementType = 'i8' | 'i16' | 'i32' | 'u8' | 'u16' | 'u32' | 'f32' | 'f64' | 'i64' | 'u64';

/** The JavaScript type of an element: bigint for `i64` / `u64`, number otherwise. */
export type ElementOf<T extends ElementType> = T extends 'i64' | 'u64' ? bigint : number;

type AnyTypedArray =
  | Int8Array
  | Int16Array
  | Int32Array
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | Float32Array
  | Float64Array
  | BigInt64Array
  | BigUint64Array;

/** The typed array over the shared bytes for each element type. */
export type TypedArrayOf<T extends ElementType> = T extends 'i8'
  ? Int8Array
  : T extends 'i16'
    ? Int16Array
    : T extends 'i32'
      ? Int32Array
      : T extends 'u8'
        ? Uint8Array
        : T extends 'u16'
          ? Uint16Array
          : T extends 'u32'
            ? Uint32Array
            : T extends 'f32'
              ? Float32Array
              : T extends 'f64'
                ? Float64Array
                : T extends 'i64'
                  ? BigInt64Array
                  : BigUint64Array;

const CTORS = {
  i8: Int8Array,
  i16: Int16Array,
  i32: Int32Array,
  u8: Uint8Array,
  u16: Uint16Array,
  u32: Uint32Array,
  f32: Float32Array,
  f64: Float64Array,
  i64: BigInt64Array,
  u64: BigUint64Array,
} as const;

/** The largest SharedArray length accepted. */
export const MAX_ARRAY_LENGTH = 2 ** 32;

/** The release guard a lock's `acquire` resolves to. */
export interface LockGuardLike extends Disposable {
  release(): void;
}

/**
 * What {@link Value} and {@link SharedArray} accept as `lock` (an `@ipc/semaphore` `Lock` or `RLock`
 * fits). Make it {@link Shareable} too, or the Value cannot carry its lock to another process.
 */
export interface LockLike {
  acquire(options?: WaitOptions): Promise<LockGuardLike>;
  acquireSync?(options?: { timeout?: number }): LockGuardLike;
}

/** Makes the lock for `{ lock: true }`. */
export type LockFactory = () => LockLike;

const FACTORY_KEY = Symbol.for('@ipc/shm.lockFactory');

/**
 * Registers what `{ lock: true }` creates. `@ipc/semaphore` calls this when imported (with a factory
 * making a process-shared `RLock`), so `@ipc/shm` itself does not depend on it. Kept on globalThis so
 * duplicate copies of this package share it.
 * @param factory - returns a new lock
 */
export function registerLockFactory(factory: LockFactory): void {
  if (typeof factory !== 'function') throw new TypeError('factory must be a function returning a lock');
  (globalThis as Record<symbol, unknown>)[FACTORY_KEY] = factory;
}

function lockFactory(): LockFactory | undefined {
  return (globalThis as Record<symbol, unknown>)[FACTORY_KEY] as LockFactory | undefined;
}

/** Options of {@link Value} and {@link SharedArray}. */
export interface SharedValueOptions {
  /**
   * `false` (default): no lock, use the atomic methods. `true`: a lock from the factory registered by
   * `@ipc/semaphore` (import it first). Or a lock of your own.
   */
  lock?: boolean | LockLike | undefined;
  /** Segment name; random when omitted. */
  name?: string | undefined;
  /** Unlink the segment when the creating process exits (default true). */
  unlinkOnExit?: boolean | undefined;
}

interface Meta {
  t: 'value' | 'array';
  type: ElementType;
  length: number;
  lock?: Handle;
}

function validateType(type: unknown): ElementType {
  if (typeof type !== 'string' || !Object.prototype.hasOwnProperty.call(CTORS, type)) {
    throw new TypeError(`type must be one of ${Object.keys(CTORS).join(', ')}, got ${String(type)}`);
  }
  return type as ElementType;
}

function validateOptions(options: unknown): SharedValueOptions {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  const lock = (options as SharedValueOptions).lock;
  if (lock !== undefined && typeof lock !== 'boolean' && (typeof lock !== 'object' || lock === null || typeof lock.acquire !== 'function')) {
    throw new TypeError('options.lock must be a boolean or a lock with an acquire() method');
  }
  return options as SharedValueOptions;
}

function resolveLock(lock: SharedValueOptions['lock']): LockLike | undefined {
  if (lock === undefined || lock === false) return undefined;
  if (lock === true) {
    const factory = lockFactory();
    if (!factory) {
      throw new IpcError(
        'ERR_IPC_UNSUPPORTED',
        "lock: true needs a lock implementation: import '@ipc/semaphore' first (it registers one), or pass { lock: yourLock }",
      );
    }
    return factory();
  }
  return lock;
}

function lockHandle(lock: LockLike | undefined): Handle | undefined {
  if (!lock || !isShareable(lock)) return undefined;
  return lock[toHandle]({
    target: 'process',
    inheritFd: () => {
      throw new IpcError('ERR_IPC_HANDLE', 'a Value lock must be reopenable by name (no file descriptors)');
    },
  });
}

function checkElement(type: ElementType, v: unknown, what: string): void {
  if (type === 'i64' || type === 'u64') {
    if (typeof v !== 'bigint') throw new TypeError(`${what} must be a bigint for ${type}, got ${typeof v}`);
  } else if (typeof v !== 'number') {
    throw new TypeError(`${what} must be a number for ${type}, got ${typeof v}`);
  }
}

function isFloat(type: ElementType): boolean {
  return type === 'f32' || type === 'f64';
}

function assertAtomic(type: ElementType, op: string): void {
  if (isFloat(type)) {
    throw new TypeError(`${op} is not atomic for ${type}: use getLock() (create with { lock: true }) and plain reads/writes`);
  }
}

/** Shared behaviour of Value and SharedArray. */
abstract class SharedElements<T extends ElementType> implements Shareable, AsyncDisposable {
  /** The element type. */
  readonly type: T;
  /** The segment holding the elements. */
  readonly shm: SharedMemory;
  /** @internal */
  protected readonly view: AnyTypedArray;
  /** @internal */
  protected readonly lock: LockLike | undefined;

  protected constructor(type: T, shm: SharedMemory, length: number, lock: LockLike | undefined) {
    this.type = type;
    this.shm = shm;
    this.view = new CTORS[type](shm.buffer as unknown as ArrayBuffer, 0, length) as AnyTypedArray;
    this.lock = lock;
  }

  /** The segment name (open it elsewhere with `open(name)`). */
  get name(): string {
    return this.shm.name;
  }

  /** @internal Atomic read of element `at`. */
  protected _load(at: number): ElementOf<T> {
    assertAtomic(this.type, 'load');
    return Atomics.load(this.view as Int32Array, at) as ElementOf<T>;
  }

  /** @internal One checked atomic read-modify-write (store, add, sub, exchange) of element `at`. */
  protected _rmw(op: 'store' | 'add' | 'sub' | 'exchange', at: number, v: ElementOf<T>): ElementOf<T> {
    assertAtomic(this.type, op);
    checkElement(this.type, v, 'value');
    return Atomics[op](this.view as Int32Array, at, v as number) as ElementOf<T>;
  }

  /** @internal Atomic compare-and-swap of element `at`. */
  protected _cas(at: number, expected: ElementOf<T>, replacement: ElementOf<T>): ElementOf<T> {
    assertAtomic(this.type, 'compareExchange');
    checkElement(this.type, expected, 'expected');
    checkElement(this.type, replacement, 'replacement');
    return Atomics.compareExchange(this.view as Int32Array, at, expected as number, replacement as number) as ElementOf<T>;
  }

  /**
   * The lock given or created with `{ lock }`, like Python's `get_lock()`.
   * @throws {TypeError} when created with `lock: false`
   */
  getLock(): LockLike {
    if (!this.lock) throw new TypeError(`this ${this.constructor.name} has no lock: create it with { lock: true } or { lock: someLock }`);
    return this.lock;
  }

  /** Closes this handle (idempotent); the segment stays until unlinked. */
  close(): void {
    this.shm.close();
  }

  /** Removes the segment name (idempotent). */
  unlink(): void {
    this.shm.unlink();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }

  abstract [toHandle](context: HandleContext): Handle;
}

/**
 * One number (or bigint) in shared memory, like Python's `multiprocessing.Value`. Integer types have
 * atomic `add`, `sub`, `exchange`, `compareExchange`, `load`, `store`, exact across processes without
 * a lock; `value` reads and writes atomically too. Float types have only `value`: for a
 * read-modify-write take `getLock()`.
 *
 * @example
 * const hits = new Value('i32', 0);
 * hits.add(1);                                 // atomic, any process
 * const child = new Process('./worker.js', { args: [hits] });
 */
export class Value<T extends ElementType = ElementType> extends SharedElements<T> {
  /**
   * Creates a Value in a new segment.
   * @param type - element type
   * @param initial - initial value (default 0 / 0n)
   * @param options - `{ lock, name, unlinkOnExit }`
   * @throws {TypeError} on a bad type, initial value or lock
   * @throws {IpcError} ERR_IPC_EXISTS when `name` exists; ERR_IPC_UNSUPPORTED for `lock: true` without `@ipc/semaphore`
   */
  constructor(type: T, initial?: ElementOf<T>, options?: SharedValueOptions);
  /** @internal */
  constructor(type: T, initial: ElementOf<T> | undefined, options: SharedValueOptions | undefined, existing: { shm: SharedMemory; lock: LockLike | undefined });
  constructor(type: T, initial?: ElementOf<T>, options?: SharedValueOptions, existing?: { shm: SharedMemory; lock: LockLike | undefined }) {
    if (existing) {
      super(type, existing.shm, 1, existing.lock);
      return;
    }
    const t = validateType(type) as T;
    const opts = validateOptions(options);
    if (initial !== undefined) checkElement(t, initial, 'initial');
    const lock = resolveLock(opts.lock);
    const bytes = CTORS[t].BYTES_PER_ELEMENT;
    const meta: Meta = { t: 'value', type: t, length: 1, lock: lockHandle(lock) };
    const shm = createSegment({ name: opts.name, size: Math.max(bytes, 8), unlinkOnExit: opts.unlinkOnExit, meta });
    super(t, shm, 1, lock);
    if (initial !== undefined) (this.view as unknown as ElementOf<T>[])[0] = initial;
  }

  /**
   * Opens a Value by segment name (its type and lock come from the segment).
   * @throws {IpcError} ERR_IPC_NOT_FOUND; ERR_IPC_HANDLE when the segment is not a Value
   */
  static async open(name: string): Promise<Value> {
    const { shm, meta, lock } = await openElements(name, 'value');
    return new Value(meta.type, undefined, undefined, { shm, lock });
  }

  /** The value (an atomic load / store for integer types). */
  get value(): ElementOf<T> {
    return (isFloat(this.type) ? this.view[0] : Atomics.load(this.view as Int32Array, 0)) as ElementOf<T>;
  }

  set value(v: ElementOf<T>) {
    checkElement(this.type, v, 'value');
    if (isFloat(this.type)) (this.view as Float64Array)[0] = v as number;
    else Atomics.store(this.view as Int32Array, 0, v as number);
  }

  /** Atomic read. */
  load(): ElementOf<T> {
    return this._load(0);
  }

  /** Atomic write; returns the value written. */
  store(v: ElementOf<T>): ElementOf<T> {
    return this._rmw('store', 0, v);
  }

  /** Atomic add (wrapping like the type); returns the previous value. */
  add(v: ElementOf<T>): ElementOf<T> {
    return this._rmw('add', 0, v);
  }

  /** Atomic subtract; returns the previous value. */
  sub(v: ElementOf<T>): ElementOf<T> {
    return this._rmw('sub', 0, v);
  }

  /** Atomic exchange; returns the previous value. */
  exchange(v: ElementOf<T>): ElementOf<T> {
    return this._rmw('exchange', 0, v);
  }

  /** Atomic compare-and-swap; returns the previous value (equal to `expected` when it swapped). */
  compareExchange(expected: ElementOf<T>, replacement: ElementOf<T>): ElementOf<T> {
    return this._cas(0, expected, replacement);
  }

  /** Describes this Value as a handle (kind `@ipc/shm.Value`), reopened with {@link Value.open}. */
  [toHandle](_context: HandleContext): Handle {
    return { kind: VALUE_KIND, module: MODULE_URL, name: this.name };
  }
}

/**
 * A fixed-length array of numbers (or bigints) in shared memory, like Python's
 * `multiprocessing.Array` (named so as not to shadow the global `Array`). `array` is a typed array
 * over the shared bytes; integer types have atomic per-element operations.
 *
 * @example
 * const a = new SharedArray('f64', [1.5, 2.5, 3.5]);
 * a.array.fill(0);
 */
export class SharedArray<T extends ElementType = ElementType> extends SharedElements<T> {
  /** The number of elements. */
  readonly length: number;

  /**
   * Creates a SharedArray in a new segment.
   * @param type - element type
   * @param lengthOrValues - a length (zero-filled) or the initial elements
   * @param options - `{ lock, name, unlinkOnExit }`
   * @throws {TypeError|RangeError} on a bad type, length or element
   */
  constructor(type: T, lengthOrValues: number | ArrayLike<ElementOf<T>>, options?: SharedValueOptions);
  /** @internal */
  constructor(type: T, lengthOrValues: number, options: undefined, existing: { shm: SharedMemory; lock: LockLike | undefined });
  constructor(type: T, lengthOrValues: number | ArrayLike<ElementOf<T>>, options?: SharedValueOptions, existing?: { shm: SharedMemory; lock: LockLike | undefined }) {
    if (existing) {
      super(type, existing.shm, lengthOrValues as number, existing.lock);
      this.length = lengthOrValues as number;
      return;
    }
    const t = validateType(type) as T;
    const opts = validateOptions(options);
    let length: number;
    let values: ArrayLike<ElementOf<T>> | undefined;
    if (typeof lengthOrValues === 'number') {
      if (!Number.isInteger(lengthOrValues)) throw new TypeError(`length must be an integer, got ${lengthOrValues}`);
      length = lengthOrValues;
    } else if (typeof lengthOrValues === 'object' && lengthOrValues !== null && typeof lengthOrValues.length === 'number') {
      values = lengthOrValues;
      length = values.length;
      for (let i = 0; i < length; i++) checkElement(t, values[i], `lengthOrValues[${i}]`);
    } else {
      throw new TypeError('lengthOrValues must be a length or an array-like of initial values');
    }
    if (length < 1 || length > MAX_ARRAY_LENGTH) throw new RangeError(`length must be between 1 and ${MAX_ARRAY_LENGTH}, got ${length}`);
    const lock = resolveLock(opts.lock);
    const meta: Meta = { t: 'array', type: t, length, lock: lockHandle(lock) };
    const shm = createSegment({ name: opts.name, size: Math.max(length * CTORS[t].BYTES_PER_ELEMENT, 8), unlinkOnExit: opts.unlinkOnExit, meta });
    super(t, shm, length, lock);
    this.length = length;
    if (values) (this.view as unknown as { set(a: ArrayLike<unknown>): void }).set(values);
  }

  /**
   * Opens a SharedArray by segment name.
   * @throws {IpcError} ERR_IPC_NOT_FOUND; ERR_IPC_HANDLE when the segment is not a SharedArray
   */
  static async open(name: string): Promise<SharedArray> {
    const { shm, meta, lock } = await openElements(name, 'array');
    return new SharedArray(meta.type, meta.length, undefined, { shm, lock });
  }

  /** The typed array over the shared elements (plain reads and writes; use the methods for atomics). */
  get array(): TypedArrayOf<T> {
    return this.view as TypedArrayOf<T>;
  }

  #index(i: number): number {
    if (!Number.isInteger(i)) throw new TypeError(`index must be an integer, got ${String(i)}`);
    if (i < 0 || i >= this.length) throw new RangeError(`index must be >= 0 and < ${this.length}, got ${i}`);
    return i;
  }

  /** Reads element `i` (atomically for integer types). */
  get(i: number): ElementOf<T> {
    const at = this.#index(i);
    return (isFloat(this.type) ? this.view[at] : Atomics.load(this.view as Int32Array, at)) as ElementOf<T>;
  }

  /** Writes element `i` (atomically for integer types). */
  set(i: number, v: ElementOf<T>): void {
    const at = this.#index(i);
    checkElement(this.type, v, 'value');
    if (isFloat(this.type)) (this.view as Float64Array)[at] = v as number;
    else Atomics.store(this.view as Int32Array, at, v as number);
  }

  /** Atomic read of element `i`. */
  load(i: number): ElementOf<T> {
    return this._load(this.#index(i));
  }

  /** Atomic write of element `i`; returns the value written. */
  store(i: number, v: ElementOf<T>): ElementOf<T> {
    return this._rmw('store', this.#index(i), v);
  }

  /** Atomic add to element `i`; returns the previous value. */
  add(i: number, v: ElementOf<T>): ElementOf<T> {
    return this._rmw('add', this.#index(i), v);
  }

  /** Atomic subtract from element `i`; returns the previous value. */
  sub(i: number, v: ElementOf<T>): ElementOf<T> {
    return this._rmw('sub', this.#index(i), v);
  }

  /** Atomic exchange of element `i`; returns the previous value. */
  exchange(i: number, v: ElementOf<T>): ElementOf<T> {
    return this._rmw('exchange', this.#index(i), v);
  }

  /** Atomic compare-and-swap of element `i`; returns the previous value. */
  compareExchange(i: number, expected: ElementOf<T>, replacement: ElementOf<T>): ElementOf<T> {
    return this._cas(this.#index(i), expected, replacement);
  }

  /** A plain JavaScript array copy of the elements. */
  toArray(): ElementOf<T>[] {
    return Array.from(this.view as unknown as ArrayLike<ElementOf<T>>);
  }

  /** Iterates over the elements (plain reads). */
  [Symbol.iterator](): IterableIterator<ElementOf<T>> {
    return (this.view as unknown as Iterable<ElementOf<T>>)[Symbol.iterator]() as IterableIterator<ElementOf<T>>;
  }

  /** Describes this array as a handle (kind `@ipc/shm.SharedArray`), reopened with {@link SharedArray.open}. */
  [toHandle](_context: HandleContext): Handle {
    return { kind: ARRAY_KIND, module: MODULE_URL, name: this.name };
  }
}

async function openElements(name: string, want: Meta['t']): Promise<{ shm: SharedMemory; meta: Meta; lock: LockLike | undefined }> {
  const shm = SharedMemory.open(name);
  const info = readTrailerFile(shm.name);
  const meta = info?.meta as Meta | undefined;
  if (!meta || meta.t !== want || !Object.prototype.hasOwnProperty.call(CTORS, meta.type)) {
    throw new IpcError('ERR_IPC_HANDLE', `shared memory '${shm.name}' is not a ${want === 'value' ? 'Value' : 'SharedArray'}`);
  }
  const lock = meta.lock ? ((await reviveHandle(meta.lock)) as LockLike) : undefined;
  return { shm, meta, lock };
}

/** The handle kinds of Value and SharedArray. */
export const VALUE_KIND = '@ipc/shm.Value';
export const ARRAY_KIND = '@ipc/shm.SharedArray';

const MODULE_URL = moduleUrl(MODULE_FILE);

registerHandleKind(VALUE_KIND, (handle) => Value.open(handle.name as string));
registerHandleKind(ARRAY_KIND, (handle) => SharedArray.open(handle.name as string));
