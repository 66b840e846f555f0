import type { ChildProcess } from 'node:child_process';
import type { ConnectionOptions, WaitOptions } from '@ipc/core';
import { ConnectionBase, IpcError, waitFor } from '@ipc/core';

const TAG = '@ipc/pipe';

/** Options of {@link channelConnection}. */
export interface ChannelConnectionOptions<T = unknown> extends Omit<ConnectionOptions<T>, 'direction'> {
  /**
   * Names this connection on the channel, so several connections (and other users of
   * `process.send`) can share it. Both sides must use the same name. Default `'default'`.
   */
  name?: string;
  /**
   * How the channel serializes: `'advanced'` carries bytes as they are, `'json'` as base64 text.
   * Default: what the child was forked with (read from the environment on the child side);
   * `'json'` on the parent side unless told, which works with either.
   */
  serialization?: 'json' | 'advanced';
  /** Bytes sent but not yet written by Node before `send` waits. Default 1 MiB. */
  writeHighWaterMark?: number;
}

/** What a channel endpoint looks like: a `ChildProcess` in the parent, `process` in the child. */
type ChannelEndpoint = Pick<ChildProcess, 'send' | 'on' | 'off' | 'connected'> | NodeJS.Process;

interface ChannelMessage {
  [TAG]: string;
  d?: Uint8Array | string | { type: 'Buffer'; data: number[] };
  end?: true;
  /** Flow control: the receiver's inbox is over its high-water mark (true) or drained (false). */
  stop?: boolean;
}

interface Waiter {
  frame: Uint8Array;
  resolve(): void;
  reject(err: unknown): void;
}

function toBytes(d: ChannelMessage['d']): Uint8Array | undefined {
  if (d instanceof Uint8Array) return d;
  if (typeof d === 'string') return Buffer.from(d, 'base64');
  if (d && typeof d === 'object' && d.type === 'Buffer' && Array.isArray(d.data)) return Buffer.from(d.data);
  return undefined;
}

/**
 * A {@link Connection} over the IPC channel Node gives a forked child: `child.send` in the parent,
 * `process.send` in the child. Messages are tagged, so the channel stays usable for other things.
 * `send` resolves once Node queued the message and waits while more than `writeHighWaterMark`
 * bytes are unwritten. The channel's disconnect (or the child's exit) ends the connection with
 * `ERR_IPC_CLOSED`.
 */
export class ChannelConnection<T = unknown> extends ConnectionBase<T> {
  readonly name: string;
  readonly #endpoint: ChannelEndpoint;
  readonly #advanced: boolean;
  readonly #hwm: number;
  #unwritten = 0;
  #peerStopped = false;
  #waiters: Waiter[] = [];
  #detach: () => void;

  /**
   * @param endpoint - a forked `ChildProcess` (parent side) or `process` (child side)
   * @param options - name, codec, bounds
   */
  constructor(endpoint: ChannelEndpoint, options: ChannelConnectionOptions<T> = {}) {
    super(options);
    if (!endpoint || typeof endpoint.send !== 'function') {
      throw new TypeError('channelConnection needs a ChildProcess forked with an IPC channel, or process in such a child');
    }
    const name = options.name ?? 'default';
    if (typeof name !== 'string') throw new TypeError('name must be a string');
    const hwm = options.writeHighWaterMark ?? 1024 * 1024;
    if (!Number.isInteger(hwm) || hwm < 1) throw new RangeError(`writeHighWaterMark must be a positive integer, got ${hwm}`);
    const serialization = options.serialization
      ?? (endpoint === process ? (process.env.NODE_CHANNEL_SERIALIZATION_MODE === 'advanced' ? 'advanced' : 'json') : 'json');
    if (serialization !== 'json' && serialization !== 'advanced') {
      throw new TypeError(`serialization must be 'json' or 'advanced', got ${String(serialization)}`);
    }
    this.name = name;
    this.#endpoint = endpoint;
    this.#advanced = serialization === 'advanced';
    this.#hwm = hwm;
    const onMessage = (msg: unknown) => {
      const m = msg as ChannelMessage | null;
      if (typeof m !== 'object' || m === null || m[TAG] !== name) return;
      if (m.end) {
        this._end(new IpcError('ERR_IPC_CLOSED', 'the peer closed the connection'));
        this.#rejectWaiters();
        return;
      }
      if (typeof m.stop === 'boolean') {
        this.#peerStopped = m.stop;
        if (!m.stop) this.#release();
        return;
      }
      const bytes = toBytes(m.d);
      if (bytes === undefined) return;
      if (bytes.byteLength > this.maxMessageBytes) {
        this._end(new IpcError('ERR_IPC_TOO_LARGE', `received a message of ${bytes.byteLength} bytes, over maxMessageBytes ${this.maxMessageBytes}`));
        this.#rejectWaiters();
        return;
      }
      this._deliver(bytes);
    };
    const onGone = () => {
      this._end(new IpcError('ERR_IPC_CLOSED', 'the IPC channel disconnected'));
      this.#rejectWaiters();
    };
    const ep = endpoint as NodeJS.EventEmitter;
    ep.on('message', onMessage);
    ep.on('disconnect', onGone);
    ep.on('exit', onGone);
    this.#detach = () => {
      ep.off('message', onMessage);
      ep.off('disconnect', onGone);
      ep.off('exit', onGone);
    };
    if (!endpoint.connected) onGone();
  }

  #rejectWaiters(): void {
    const err = this._endError ?? new IpcError('ERR_IPC_CLOSED', 'the connection is closed');
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w.reject(err);
  }

  protected _write(frame: Uint8Array, options: WaitOptions | undefined): Promise<void> {
    if (this.#waiters.length === 0 && !this.#peerStopped && this.#unwritten < this.#hwm) return this.#post(frame);
    let waiter: Waiter;
    return waitFor<void>(options, (resolve, reject, scope) => {
      waiter = { frame, resolve, reject };
      this.#waiters.push(waiter);
      scope.onCleanup(() => {
        const i = this.#waiters.indexOf(waiter);
        if (i >= 0) this.#waiters.splice(i, 1);
      });
    }, 'send');
  }

  #post(frame: Uint8Array): Promise<void> {
    if (!this.#endpoint.connected) {
      return Promise.reject(new IpcError('ERR_IPC_CLOSED', 'the IPC channel is disconnected'));
    }
    const size = frame.byteLength;
    const d = this.#advanced ? frame : Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength).toString('base64');
    const message: ChannelMessage = { [TAG]: this.name, d };
    this.#unwritten += size;
    try {
      (this.#endpoint.send as (m: unknown, h: undefined, o: object, cb: (err: Error | null) => void) => boolean)(message, undefined, {}, (err) => {
        this.#unwritten -= size;
        if (err && !this._endError) {
          this._end(new IpcError('ERR_IPC_CLOSED', `the IPC channel failed: ${err.message}`, { cause: err }));
          this.#rejectWaiters();
          return;
        }
        this.#release();
      });
    } catch (err) {
      this.#unwritten -= size;
      return Promise.reject(new IpcError('ERR_IPC_CLOSED', `the IPC channel failed: ${(err as Error).message}`, { cause: err }));
    }
    return Promise.resolve();
  }

  #control(stop: boolean): void {
    if (!this.#endpoint.connected || this._endError) return;
    try {
      (this.#endpoint.send as (m: unknown, h: undefined, o: object, cb: () => void) => boolean)({ [TAG]: this.name, stop }, undefined, {}, () => {});
    } catch {
      // the channel went away: the end will be reported by 'disconnect'
    }
  }

  // The receiver's inbox passed its high-water mark: ask the sender to wait (bounded memory).
  protected override _pause(): void {
    this.#control(true);
  }

  protected override _resume(): void {
    this.#control(false);
  }

  #release(): void {
    while (this.#waiters.length > 0 && !this.#peerStopped && this.#unwritten < this.#hwm) {
      const w = this.#waiters.shift()!;
      this.#post(w.frame).then(w.resolve, w.reject);
    }
  }

  protected _destroy(): void {
    this.#detach();
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w.reject(new IpcError('ERR_IPC_CLOSED', 'the connection is closed'));
    if (this.#endpoint.connected && !this._endError) {
      try {
        (this.#endpoint.send as (m: unknown, h: undefined, o: object, cb: () => void) => boolean)({ [TAG]: this.name, end: true }, undefined, {}, () => {});
      } catch {
        // the channel went away meanwhile: nothing to tell
      }
    }
  }
}

/**
 * A {@link Connection} over the IPC channel of a forked child: pass the `ChildProcess` in the
 * parent, `process` in the child.
 *
 * @param endpoint - `child` (from `child_process.fork`) or `process`
 * @param options - name (to share one channel), codec, serialization, bounds
 * @example
 * // parent
 * const conn = channelConnection(fork('./child.js'));
 * // child
 * const conn = channelConnection(process);
 */
export function channelConnection<T = unknown>(endpoint: ChannelEndpoint, options?: ChannelConnectionOptions<T>): ChannelConnection<T> {
  return new ChannelConnection<T>(endpoint, options);
}
