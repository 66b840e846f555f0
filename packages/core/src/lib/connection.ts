import type { Codec, CodecName } from './codec.js';
import { resolveCodec } from './codec.js';
import { IpcError } from './errors.js';
import { iterateUntilClosed } from './iterate.js';
import { DEFAULT_MAX_FRAME_BYTES, tooLargeError, validateMaxFrameBytes } from './framing.js';
import type { WaitOptions } from './wait.js';
import { validateWaitOptions, waitFor } from './wait.js';

/** Options of {@link Connection.recvBytes}. */
export interface RecvBytesOptions extends WaitOptions {
  /** Reject with `ERR_IPC_TOO_LARGE` (leaving the message in place) when the next message is longer. */
  maxLength?: number;
}

/**
 * A duplex message stream between two endpoints: a pipe end, a socket, a fork channel, a
 * MessagePort. `send`/`recv` carry values through the connection's codec; `sendBytes`/`recvBytes`
 * carry raw bytes. Messages arrive whole and in order.
 *
 * Iterating with `for await` yields received values until the peer closes; breaking out of the
 * loop stops reading but does not close the connection.
 *
 * @example
 * await conn.send({ hello: 'world' });
 * for await (const msg of conn) console.log(msg);
 */
export interface Connection<T = unknown> extends AsyncIterable<T>, AsyncDisposable {
  /** True once `close()` was called or the peer went away and everything received was read. */
  readonly closed: boolean;
  /** False for the write-only end of a one-way connection. */
  readonly readable: boolean;
  /** False for the read-only end of a one-way connection. */
  readonly writable: boolean;
  /**
   * Sends a value; resolves when the transport took the bytes (back-pressure).
   * @throws {IpcError} ERR_IPC_CLOSED, ERR_IPC_TOO_LARGE, ERR_IPC_ENCODE, ERR_IPC_WRONG_DIRECTION, ERR_IPC_TIMEOUT, ERR_IPC_ABORTED
   */
  send(value: T, options?: WaitOptions): Promise<void>;
  /**
   * Receives the next value.
   * @throws {IpcError} ERR_IPC_CLOSED when the peer closed and nothing is left, ERR_IPC_DECODE, ERR_IPC_TIMEOUT, ERR_IPC_ABORTED
   */
  recv(options?: WaitOptions): Promise<T>;
  /**
   * Sends raw bytes as one message.
   * @throws {IpcError} ERR_IPC_CLOSED, ERR_IPC_TOO_LARGE, ERR_IPC_WRONG_DIRECTION
   */
  sendBytes(bytes: Uint8Array, options?: WaitOptions): Promise<void>;
  /**
   * Receives the next message as raw bytes.
   * @throws {IpcError} ERR_IPC_TOO_LARGE when longer than `maxLength` (the message stays queued)
   */
  recvBytes(options?: RecvBytesOptions): Promise<Uint8Array>;
  /**
   * Resolves true when a message is ready to receive (or the peer closed, so recv will not block),
   * false after `timeout` ms (default 0: just look).
   */
  poll(timeout?: number): Promise<boolean>;
  /** Closes this end; idempotent. Pending receives reject with `ERR_IPC_CLOSED`. */
  close(): Promise<void>;
}

/** Options shared by every connection built on {@link ConnectionBase}. */
export interface ConnectionOptions<T = unknown> {
  /** Codec for `send`/`recv`; a name or a Codec. Default `structured`. */
  codec?: Codec<T> | CodecName;
  /** Bound on one message in bytes, both directions. Default 64 MiB. */
  maxMessageBytes?: number;
  /** Bytes received but not yet read before the transport is asked to pause. Default 8 MiB. */
  highWaterMark?: number;
  /** `'both'` (default), `'read'` (receive only) or `'write'` (send only). */
  direction?: 'both' | 'read' | 'write';
}

interface Receiver {
  resolve(frame: Uint8Array): void;
  reject(err: unknown): void;
  maxLength: number;
}

interface Poller {
  resolve(ready: boolean): void;
}

/**
 * The shared machinery of a {@link Connection}: codec, bounds, an inbox of whole frames with
 * back-pressure, waiting receivers, poll, close and iteration. A transport subclasses it and
 * implements `_write` and `_destroy`, and reports incoming frames with `_deliver` and the end of
 * the stream with `_end`.
 */
export abstract class ConnectionBase<T = unknown> implements Connection<T> {
  readonly codec: Codec<T>;
  readonly maxMessageBytes: number;
  readonly readable: boolean;
  readonly writable: boolean;
  readonly #highWaterMark: number;
  #inbox: Uint8Array[] = [];
  #inboxHead = 0;
  #inboxBytes = 0;
  #receivers: Receiver[] = [];
  #pollers: Poller[] = [];
  #paused = false;
  #localClosed = false;
  #ended: IpcError | undefined; // set when the peer side is gone
  #closing: Promise<void> | undefined;

  protected constructor(options: ConnectionOptions<T> = {}) {
    this.codec = resolveCodec<T>(options.codec);
    this.maxMessageBytes = validateMaxFrameBytes(options.maxMessageBytes ?? DEFAULT_MAX_FRAME_BYTES, 'maxMessageBytes');
    const hwm = options.highWaterMark ?? 8 * 1024 * 1024;
    if (!Number.isInteger(hwm) || hwm < 1) throw new RangeError(`highWaterMark must be a positive integer, got ${hwm}`);
    this.#highWaterMark = hwm;
    const direction = options.direction ?? 'both';
    if (direction !== 'both' && direction !== 'read' && direction !== 'write') {
      throw new TypeError(`direction must be 'both', 'read' or 'write', got ${String(direction)}`);
    }
    this.readable = direction !== 'write';
    this.writable = direction !== 'read';
  }

  /** Writes one whole frame to the transport; resolves when it took the bytes. */
  protected abstract _write(frame: Uint8Array, options: WaitOptions | undefined): Promise<void>;
  /** Releases the transport. Called once. */
  protected abstract _destroy(): Promise<void> | void;
  /** Asks the transport to stop delivering (inbox over its high-water mark). */
  protected _pause(): void {}
  /** Asks the transport to deliver again. */
  protected _resume(): void {}
  /**
   * Called by a receive that finds nothing queued, just before it parks: a transport may look for
   * bytes synchronously for a bounded time and `_deliver` what it finds (or `_end`). Returns true
   * when it delivered or ended anything. Default: nothing.
   */
  protected _spin(): boolean {
    return false;
  }

  get closed(): boolean {
    return this.#localClosed || (this.#ended !== undefined && this.#inboxHead >= this.#inbox.length);
  }

  /** Hands one received frame to the connection. */
  protected _deliver(frame: Uint8Array): void {
    if (this.#localClosed || this.#ended) return;
    const length = frame.byteLength;
    if (this.#receivers.length > 0 && this.#inboxHead === this.#inbox.length && length <= this.#receivers[0]!.maxLength) {
      // The common case of a waiting receiver and an empty inbox: hand the frame over directly
      // (no push and shift, no new inbox array per message).
      this.#receivers.shift()!.resolve(frame);
      return;
    }
    this.#inbox.push(frame);
    this.#inboxBytes += length;
    // Serve waiting receivers from the head of the inbox, in order: one whose maxLength is too small
    // for the head is rejected and the message stays queued for the next receiver, never overtaken.
    while (this.#receivers.length > 0 && this.#inboxHead < this.#inbox.length) {
      const receiver = this.#receivers.shift()!;
      const head = this.#inbox[this.#inboxHead]!;
      if (head.byteLength > receiver.maxLength) receiver.reject(this.#tooLong(head.byteLength, receiver.maxLength));
      else receiver.resolve(this.#shift());
    }
    if (this.#inboxHead === this.#inbox.length) return;
    if (!this.#paused && this.#inboxBytes > this.#highWaterMark) {
      this.#paused = true;
      this._pause();
    }
    this.#wakePollers(true);
  }

  /**
   * Marks the peer side as gone. Frames already delivered stay readable; later receives reject with
   * `error` (default `ERR_IPC_CLOSED`).
   */
  protected _end(error?: IpcError): void {
    if (this.#ended || this.#localClosed) return;
    this.#ended = error ?? new IpcError('ERR_IPC_CLOSED', 'the peer closed the connection');
    const receivers = this.#receivers;
    this.#receivers = [];
    for (const r of receivers) r.reject(this.#ended);
    this.#wakePollers(true);
  }

  /** The error the peer's end was reported with, if it ended. */
  protected get _endError(): IpcError | undefined {
    return this.#ended;
  }

  #tooLong(length: number, max: number): IpcError {
    return new IpcError('ERR_IPC_TOO_LARGE', `next message is ${length} bytes, over maxLength ${max}; it stays queued`, {
      details: { length, max },
    });
  }

  #closedError(): IpcError {
    return new IpcError('ERR_IPC_CLOSED', 'the connection is closed');
  }

  #assertWritable(): void {
    if (!this.writable) throw new IpcError('ERR_IPC_WRONG_DIRECTION', 'this end of a one-way connection is read-only');
    if (this.#localClosed) throw this.#closedError();
    if (this.#ended) throw this.#ended;
  }

  async send(value: T, options?: WaitOptions): Promise<void> {
    validateWaitOptions(options);
    this.#assertWritable();
    const bytes = this.codec.encode(value);
    return this.#sendFrame(bytes, options);
  }

  // Not async: an async function returning the transport's promise costs two more microtask hops
  // per message, which a round trip pays on both sides.
  sendBytes(bytes: Uint8Array, options?: WaitOptions): Promise<void> {
    try {
      validateWaitOptions(options);
      if (!(bytes instanceof Uint8Array)) throw new TypeError('sendBytes takes a Uint8Array');
      this.#assertWritable();
      return this.#sendFrame(bytes, options);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  #sendFrame(bytes: Uint8Array, options: WaitOptions | undefined): Promise<void> {
    if (bytes.byteLength > this.maxMessageBytes) {
      throw tooLargeError(bytes.byteLength, this.maxMessageBytes, 'message');
    }
    if (options?.signal?.aborted) {
      throw new IpcError('ERR_IPC_ABORTED', 'send was aborted', { cause: options.signal.reason });
    }
    return this._write(bytes, options);
  }

  async recv(options?: WaitOptions): Promise<T> {
    const frame = await this.#recvFrame(options, Infinity);
    try {
      return this.codec.decode(frame);
    } catch (err) {
      // The undecodable bytes travel with the error: nothing is lost.
      throw new IpcError('ERR_IPC_DECODE', 'could not decode the message', { cause: err, details: { frame } });
    }
  }

  // Not async, for the same reason as sendBytes.
  recvBytes(options?: RecvBytesOptions): Promise<Uint8Array> {
    // A queued frame and no options (a reader draining a burst): none of the checks below can fail.
    if (options === undefined && this.#inboxHead < this.#inbox.length && this.readable && !this.#localClosed) {
      return Promise.resolve(this.#shift());
    }
    const maxLength = options?.maxLength ?? Infinity;
    if (typeof maxLength !== 'number' || Number.isNaN(maxLength) || maxLength < 0) {
      return Promise.reject(new RangeError(`maxLength must be a number >= 0, got ${String(maxLength)}`));
    }
    try {
      return this.#recvFrame(options, maxLength);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  #recvFrame(options: WaitOptions | undefined, maxLength: number): Promise<Uint8Array> {
    validateWaitOptions(options);
    if (!this.readable) {
      return Promise.reject(new IpcError('ERR_IPC_WRONG_DIRECTION', 'this end of a one-way connection is write-only'));
    }
    if (this.#localClosed) return Promise.reject(this.#closedError());
    if (this.#inboxHead < this.#inbox.length) return this.#takeHead(maxLength);
    if (this.#ended) return Promise.reject(this.#ended);
    // About to park with nobody ahead: the transport may catch a reply that is on its way sooner
    // than a wake-up through the event loop would deliver it.
    if (this.#receivers.length === 0 && options?.timeout !== 0 && !options?.signal?.aborted && this._spin()) {
      if (this.#inboxHead < this.#inbox.length) return this.#takeHead(maxLength);
      if (this.#ended) return Promise.reject(this.#ended);
    }
    if (options?.timeout === 0) {
      return Promise.reject(new IpcError('ERR_IPC_TIMEOUT', 'recv timed out after 0 ms', { details: { timeout: 0 } }));
    }
    if (options?.signal === undefined && (options?.timeout === undefined || options.timeout === Infinity)) {
      // No timer and no abort listener to clean up: park the receiver directly (the common case,
      // and measurably cheaper per round trip than the general wait).
      return new Promise<Uint8Array>((resolve, reject) => this.#receivers.push({ resolve, reject, maxLength }));
    }
    return waitFor<Uint8Array>(options, (resolve, reject, scope) => {
      const receiver: Receiver = { resolve, reject, maxLength };
      this.#receivers.push(receiver);
      scope.onCleanup(() => {
        const i = this.#receivers.indexOf(receiver);
        if (i >= 0) this.#receivers.splice(i, 1);
      });
    }, 'recv');
  }

  #takeHead(maxLength: number): Promise<Uint8Array> {
    const frame = this.#inbox[this.#inboxHead]!;
    if (frame.byteLength > maxLength) return Promise.reject(this.#tooLong(frame.byteLength, maxLength));
    return Promise.resolve(this.#shift());
  }

  #shift(): Uint8Array {
    const frame = this.#inbox[this.#inboxHead]!;
    this.#inbox[this.#inboxHead++] = undefined as unknown as Uint8Array;
    if (this.#inboxHead === this.#inbox.length) {
      this.#inbox = [];
      this.#inboxHead = 0;
    } else if (this.#inboxHead > 1024 && this.#inboxHead * 2 > this.#inbox.length) {
      this.#inbox = this.#inbox.slice(this.#inboxHead);
      this.#inboxHead = 0;
    }
    this.#inboxBytes -= frame.byteLength;
    if (this.#paused && this.#inboxBytes <= this.#highWaterMark / 2) {
      this.#paused = false;
      this._resume();
    }
    return frame;
  }

  poll(timeout = 0): Promise<boolean> {
    if (typeof timeout !== 'number' || Number.isNaN(timeout) || timeout < 0) {
      return Promise.reject(new RangeError(`poll timeout must be a number >= 0, got ${String(timeout)}`));
    }
    if (this.#localClosed) return Promise.reject(this.#closedError());
    if (this.#inboxHead < this.#inbox.length || this.#ended) return Promise.resolve(true);
    if (timeout === 0) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const poller: Poller = {
        resolve: (ready) => {
          if (timer) clearTimeout(timer);
          resolve(ready);
        },
      };
      const timer = timeout === Infinity ? undefined : setTimeout(() => {
        const i = this.#pollers.indexOf(poller);
        if (i >= 0) this.#pollers.splice(i, 1);
        resolve(false);
      }, timeout);
      this.#pollers.push(poller);
    });
  }

  #wakePollers(ready: boolean): void {
    if (this.#pollers.length === 0) return;
    const pollers = this.#pollers;
    this.#pollers = [];
    for (const p of pollers) p.resolve(ready);
  }

  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#localClosed = true;
    const err = this.#closedError();
    const receivers = this.#receivers;
    this.#receivers = [];
    for (const r of receivers) r.reject(err);
    this.#wakePollers(false);
    this.#inbox = [];
    this.#inboxHead = 0;
    this.#inboxBytes = 0;
    this.#closing = Promise.resolve().then(() => this._destroy());
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return iterateUntilClosed(() => this.recv());
  }
}
