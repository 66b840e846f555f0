import type { ChildProcess } from 'node:child_process';
import { IpcError } from '@ipc/core';
import type { ControlMessage, PostedConnectionOptions, PostedMessage } from './posted.js';
import { PostedConnection } from './posted.js';

const TAG = '@ipc/pipe';

/** Options of {@link channelConnection}. */
export interface ChannelConnectionOptions<T = unknown> extends PostedConnectionOptions<T> {
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

interface ChannelMessage extends PostedMessage {
  [TAG]: string;
  d?: Uint8Array | string | { type: 'Buffer'; data: number[] };
}

// `send(message, handle, options, callback)`: the callback reports when Node wrote the message.
type SendWithCallback = (m: ChannelMessage, h: undefined, o: object, cb: (err: Error | null) => void) => boolean;

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
export class ChannelConnection<T = unknown> extends PostedConnection<T> {
  readonly name: string;
  readonly #endpoint: ChannelEndpoint;
  readonly #advanced: boolean;
  #unwritten = 0;
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
    const serialization = options.serialization
      ?? (endpoint === process ? (process.env.NODE_CHANNEL_SERIALIZATION_MODE === 'advanced' ? 'advanced' : 'json') : 'json');
    if (serialization !== 'json' && serialization !== 'advanced') {
      throw new TypeError(`serialization must be 'json' or 'advanced', got ${String(serialization)}`);
    }
    this.name = name;
    this.#endpoint = endpoint;
    this.#advanced = serialization === 'advanced';
    const onMessage = (msg: unknown) => {
      const m = msg as ChannelMessage | null;
      if (typeof m !== 'object' || m === null || m[TAG] !== name) return;
      this._receive(m, toBytes(m.d));
    };
    const onGone = () => this._fail(new IpcError('ERR_IPC_CLOSED', 'the IPC channel disconnected'));
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

  protected _canPost(): boolean {
    return this.#unwritten < this._writeHighWaterMark;
  }

  protected _post(frame: Uint8Array): Promise<void> {
    if (!this.#endpoint.connected) {
      return Promise.reject(new IpcError('ERR_IPC_CLOSED', 'the IPC channel is disconnected'));
    }
    const size = frame.byteLength;
    const d = this.#advanced ? frame : Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength).toString('base64');
    this.#unwritten += size;
    try {
      (this.#endpoint.send as SendWithCallback)({ [TAG]: this.name, d }, undefined, {}, (err) => {
        this.#unwritten -= size;
        if (err && !this._endError) {
          this._fail(new IpcError('ERR_IPC_CLOSED', `the IPC channel failed: ${err.message}`, { cause: err }));
          return;
        }
        this._release();
      });
    } catch (err) {
      this.#unwritten -= size;
      return Promise.reject(new IpcError('ERR_IPC_CLOSED', `the IPC channel failed: ${(err as Error).message}`, { cause: err }));
    }
    return Promise.resolve();
  }

  protected _postControl(message: ControlMessage): void {
    if (!this.#endpoint.connected) return;
    try {
      (this.#endpoint.send as SendWithCallback)({ [TAG]: this.name, ...message }, undefined, {}, () => {});
    } catch {
      // the channel went away: the end will be reported by 'disconnect'
    }
  }

  protected _close(): void {
    this.#detach();
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
