import { pathToFileURL } from 'node:url';
import { IpcError } from './errors.js';

/**
 * The symbol by which a primitive describes itself as a {@link Handle}. Implement it to make an
 * object passable to a {@link Process} or a thread:
 *
 * @example
 * class Counter implements Shareable {
 *   [toHandle]() { return { kind: '@acme/counter', module: import.meta.url, name: this.name } }
 * }
 * registerHandleKind('@acme/counter', (h) => Counter.open(h.name as string));
 */
export const toHandle: unique symbol = Symbol.for('@ipc/core.toHandle') as never;

/**
 * A small serializable description of a live primitive, from which another process or thread
 * reopens it. Plain data only (structured-cloneable).
 */
export interface Handle {
  /** Which reviver reopens it, e.g. `@ipc/shm.SharedMemory`. */
  readonly kind: string;
  /**
   * A module (absolute file URL or package specifier) whose import registers the reviver for `kind`;
   * imported on demand in the child when `kind` is not yet known there.
   */
  readonly module?: string;
  readonly [key: string]: unknown;
}

/** What a primitive is told when it describes itself. */
export interface HandleContext {
  /** Where the handle is going. */
  readonly target: 'process' | 'thread';
  /**
   * Asks that this file descriptor be inherited by the child; returns the descriptor number the
   * child will see (the same number for a thread).
   */
  inheritFd(fd: number): number;
}

/** What a reviver is told when it reopens a handle. */
export interface ReviveContext {
  /** Where we are. */
  readonly target: 'process' | 'thread';
}

/** Something that can describe itself as a {@link Handle}. */
export interface Shareable {
  [toHandle](context: HandleContext): Handle;
}

/** Reopens a live object from its handle. */
export type Reviver = (handle: Handle, context: ReviveContext) => unknown;

interface Registry {
  revivers: Map<string, Reviver>;
}

// Kept on globalThis so that two copies of @ipc/core (ESM and CJS, or two versions) share one registry.
const REGISTRY_KEY = Symbol.for('@ipc/core.handleRegistry');
function registry(): Registry {
  const g = globalThis as unknown as Record<symbol, Registry | undefined>;
  let r = g[REGISTRY_KEY];
  if (!r) {
    r = { revivers: new Map() };
    g[REGISTRY_KEY] = r;
  }
  return r;
}

/**
 * Registers how handles of `kind` are reopened. Each package registers its own kinds when imported;
 * core knows none of them. Registering the same kind again replaces the reviver.
 */
export function registerHandleKind(kind: string, reviver: Reviver): void {
  if (typeof kind !== 'string' || kind.length === 0) throw new TypeError('kind must be a non-empty string');
  if (typeof reviver !== 'function') throw new TypeError('reviver must be a function');
  registry().revivers.set(kind, reviver);
}

/** True when `value` can describe itself as a handle. */
export function isShareable(value: unknown): value is Shareable {
  return typeof value === 'object' && value !== null && typeof (value as Shareable)[toHandle] === 'function';
}

/**
 * Reopens a live object from a handle, importing the handle's module first when its kind is unknown.
 * @throws {IpcError} ERR_IPC_HANDLE when no reviver is known for the kind
 */
export async function reviveHandle(handle: Handle, context: ReviveContext = { target: 'process' }): Promise<unknown> {
  if (typeof handle !== 'object' || handle === null || typeof handle.kind !== 'string') {
    throw new IpcError('ERR_IPC_HANDLE', 'not a handle: expected an object with a string kind');
  }
  let reviver = registry().revivers.get(handle.kind);
  if (!reviver && typeof handle.module === 'string') {
    try {
      await import(handle.module);
    } catch (err) {
      throw new IpcError('ERR_IPC_HANDLE', `could not import ${handle.module} to revive a ${handle.kind} handle`, { cause: err });
    }
    reviver = registry().revivers.get(handle.kind);
  }
  if (!reviver) {
    throw new IpcError('ERR_IPC_HANDLE', `no reviver registered for handle kind '${handle.kind}'; import the package that provides it`);
  }
  try {
    return await reviver(handle, context);
  } catch (err) {
    if (IpcError.is(err)) throw err;
    throw new IpcError('ERR_IPC_HANDLE', `could not revive a ${handle.kind} handle`, { cause: err });
  }
}

/** The URL to put in {@link Handle.module} for a module given its `import.meta.url` or `__filename`. */
export function moduleUrl(fileOrUrl: string): string {
  return fileOrUrl.startsWith('file:') ? fileOrUrl : pathToFileURL(fileOrUrl).href;
}

const HANDLE_TAG = '\u0000@ipc.handle';

/**
 * Replaces every shareable object inside `value` (arrays and plain objects are walked) by its
 * handle, so the result can be structured-cloned to another process or thread.
 */
export function encodeHandles(value: unknown, context: HandleContext): unknown {
  const seen = new Map<object, unknown>();
  const walk = (v: unknown): unknown => {
    if (typeof v !== 'object' || v === null) return v;
    if (isShareable(v)) return { [HANDLE_TAG]: v[toHandle](context) };
    if (seen.has(v)) return seen.get(v);
    if (Array.isArray(v)) {
      const out: unknown[] = [];
      seen.set(v, out);
      for (const item of v) out.push(walk(item));
      return out;
    }
    const proto = Object.getPrototypeOf(v);
    if (proto === Object.prototype || proto === null) {
      const out: Record<string, unknown> = {};
      seen.set(v, out);
      for (const [k, item] of Object.entries(v)) out[k] = walk(item);
      return out;
    }
    return v; // Map, Date, typed arrays...: structured clone carries them as they are
  };
  return walk(value);
}

/** The inverse of {@link encodeHandles}: reopens every handle inside `value`. */
export async function reviveHandles(value: unknown, context: ReviveContext): Promise<unknown> {
  const walk = async (v: unknown): Promise<unknown> => {
    if (typeof v !== 'object' || v === null) return v;
    if (Array.isArray(v)) {
      const out: unknown[] = [];
      for (const item of v) out.push(await walk(item));
      return out;
    }
    const proto = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) return v;
    const rec = v as Record<string, unknown>;
    if (HANDLE_TAG in rec) return reviveHandle(rec[HANDLE_TAG] as Handle, context);
    const out: Record<string, unknown> = {};
    for (const [k, item] of Object.entries(rec)) out[k] = await walk(item);
    return out;
  };
  return walk(value);
}
