import type { ConnectionOptions, WaitOptions } from '@ipc/core';
import { ConnectionBase, IpcError, waitFor } from '@ipc/core';

/** Options every {@link PostedConnection} takes. */
export interface PostedConnectionOptions<T = unknown> extends Omit<ConnectionOptions<T>, 'direction'> {
  /** The sender's own bound on bytes in flight before `send` waits (its meaning is the transport's). Default 1 MiB. */
  writeHighWaterMark?: number;
}

/**
 * The protocol fields a {@link PostedConnection} understands, beside the tag a transport adds to
 * tell its messages from other traffic: data, the end, or a flow-control request.
 */
export interface PostedMessage {
  /** The payload of a data message, in the transport's encoding. */
  d?: unknown;
  /** The sender closed its end. */
  end?: true;
  /** Flow control: the receiver's inbox is over its high-water mark (true) or drained (false). */
  stop?: boolean;
}

/** A message of the protocol that carries no data: the end, or a flow-control request. */
export type ControlMessage = Omit<PostedMessage, 'd'>;

interface SendWaiter {
  frame: Uint8Array;
  resolve(): void;
  reject(err: unknown): void;
}

/**
 * A {@link ConnectionBase} over a transport that posts whole messages and has no back-pressure a
 * reader can exert (the fork channel, a MessagePort). The receiver asks the sender to stop while
 * its inbox is over its high-water mark and to go on once it drained; a `send` that may not post
 * yet waits, in order, until the peer and the transport's own budget let it.
 *
 * A subclass posts (`_post`, `_postControl`), says whether its budget allows another message
 * (`_canPost`, then `_release()` once it does again), hands every message of its protocol to
 * `_receive`, reports a failed transport with `_fail`, and frees its resources in `_close`.
 */
export abstract class PostedConnection<T = unknown> extends ConnectionBase<T> {
  /** The validated `writeHighWaterMark` option. */
  protected readonly _writeHighWaterMark: number;
  #waiters: SendWaiter[] = [];
  #peerStopped = false;

  /** @param options - codec, bounds */
  protected constructor(options: PostedConnectionOptions<T>) {
    super(options);
    const hwm = options.writeHighWaterMark ?? 1024 * 1024;
    if (!Number.isInteger(hwm) || hwm < 1) throw new RangeError(`writeHighWaterMark must be a positive integer, got ${hwm}`);
    this._writeHighWaterMark = hwm;
  }

  /** True while the transport's own budget (bytes unwritten, bytes in this burst) allows a post. */
  protected abstract _canPost(): boolean;
  /**
   * Posts one data message.
   * @throws {IpcError} ERR_IPC_CLOSED (as a rejection) when the transport is gone or refused it
   */
  protected abstract _post(frame: Uint8Array): Promise<void>;
  /** Posts a control message, best effort: a transport that went away meanwhile is ignored. */
  protected abstract _postControl(message: ControlMessage): void;
  /** Releases the transport (listeners, port). Called once, after the end was posted. */
  protected abstract _close(): void;
  /** Called when a send starts waiting. */
  protected _onWait(): void {}

  /**
   * Handles one message of the protocol from the peer.
   * @param message - the message (its tag already checked)
   * @param bytes - its payload as bytes, or undefined when it carries none (or none readable)
   */
  protected _receive(message: PostedMessage, bytes: Uint8Array | undefined): void {
    if (message.end) {
      this._fail(new IpcError('ERR_IPC_CLOSED', 'the peer closed the connection'));
      return;
    }
    if (typeof message.stop === 'boolean') {
      this.#peerStopped = message.stop;
      this._release();
      return;
    }
    if (bytes === undefined) return;
    if (bytes.byteLength > this.maxMessageBytes) {
      this._fail(new IpcError('ERR_IPC_TOO_LARGE', `received a message of ${bytes.byteLength} bytes, over maxMessageBytes ${this.maxMessageBytes}`));
      return;
    }
    this._deliver(bytes);
  }

  /** Ends the connection with `error` and rejects the waiting sends with it. */
  protected _fail(error: IpcError): void {
    this._end(error);
    this.#rejectWaiters(this._endError ?? new IpcError('ERR_IPC_CLOSED', 'the connection is closed'));
  }

  #rejectWaiters(error: IpcError): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w.reject(error);
  }

  #mayPost(): boolean {
    return !this.#peerStopped && this._canPost();
  }

  protected _write(frame: Uint8Array, options: WaitOptions | undefined): Promise<void> {
    if (this.#waiters.length === 0 && this.#mayPost()) return this._post(frame);
    let waiter: SendWaiter;
    return waitFor<void>(options, (resolve, reject, scope) => {
      waiter = { frame, resolve, reject };
      this.#waiters.push(waiter);
      this._onWait();
      scope.onCleanup(() => {
        const i = this.#waiters.indexOf(waiter);
        if (i >= 0) this.#waiters.splice(i, 1);
      });
    }, 'send');
  }

  /** Posts waiting sends, in order, while the peer and `_canPost` allow. */
  protected _release(): void {
    while (this.#waiters.length > 0 && this.#mayPost()) {
      const w = this.#waiters.shift()!;
      this._post(w.frame).then(w.resolve, w.reject);
    }
  }

  #control(message: ControlMessage): void {
    // A peer that is gone needs no flow control.
    if (!this._endError) this._postControl(message);
  }

  // The inbox passed its high-water mark: ask the sender to wait (bounded memory).
  protected override _pause(): void {
    this.#control({ stop: true });
  }

  protected override _resume(): void {
    this.#control({ stop: false });
  }

  protected _destroy(): void {
    this.#rejectWaiters(new IpcError('ERR_IPC_CLOSED', 'the connection is closed'));
    this.#control({ end: true });
    this._close();
  }
}
