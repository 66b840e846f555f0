import { MessageChannel } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import type { ConnectionOptions, WaitOptions } from '@ipc/core';
import { ConnectionBase, IpcError, waitFor } from '@ipc/core';

const TAG = '@ipc/pipe.port';

/** Options of {@link portConnection}. */
export interface PortConnectionOptions<T = unknown> extends Omit<ConnectionOptions<T>, 'direction'> {
  /** Bytes posted within one turn of the event loop before `send` lets the loop turn (so the peer's stop request is seen). Default 1 MiB. */
  writeHighWaterMark?: number;
}

interface PortMessage {
  [TAG]: 1;
  d?: Uint8Array;
  end?: true;
  /** Flow control: the receiver's inbox is over its high-water mark (true) or drained (false). */
  stop?: boolean;
}

interface Waiter {
  frame: Uint8Array;
  resolve(): void;
  reject(err: unknown): void;
}

/**
 * A {@link Connection} over a worker_threads `MessagePort` (one end of a `MessageChannel`, handed
 * to a worker in `workerData` or `postMessage` with a transfer list). The port's `close` (the other
 * end closed, or its worker ended) ends the connection with `ERR_IPC_CLOSED`. A MessagePort has no
 * back-pressure of its own: the receiver asks the sender to stop while its inbox is over its
 * high-water mark, and the sender lets the event loop turn after each `writeHighWaterMark` bytes so
 * it hears that request: memory stays bounded when the reader is slow.
 */
export class PortConnection<T = unknown> extends ConnectionBase<T> {
  readonly #port: MessagePort;
  readonly #detach: () => void;
  readonly #hwm: number;
  #portClosed = false;
  #peerStopped = false;
  #burst = 0;
  #turnScheduled = false;
  #waiters: Waiter[] = [];

  /**
   * @param port - a MessagePort this connection takes over (it is closed by `close()`)
   * @param options - codec, bounds
   */
  constructor(port: MessagePort, options: PortConnectionOptions<T> = {}) {
    super(options);
    if (!port || typeof port.postMessage !== 'function' || typeof port.on !== 'function') {
      throw new TypeError('portConnection needs a worker_threads MessagePort');
    }
    this.#port = port;
    const hwm = options.writeHighWaterMark ?? 1024 * 1024;
    if (!Number.isInteger(hwm) || hwm < 1) throw new RangeError(`writeHighWaterMark must be a positive integer, got ${hwm}`);
    this.#hwm = hwm;
    const onMessage = (msg: unknown) => {
      const m = msg as PortMessage | null;
      if (typeof m !== 'object' || m === null || m[TAG] !== 1) return;
      if (m.end) {
        this._end(new IpcError('ERR_IPC_CLOSED', 'the peer closed the connection'));
        this.#rejectWaiters();
        return;
      }
      if (typeof m.stop === 'boolean') {
        this.#peerStopped = m.stop;
        this.#release();
        return;
      }
      if (!(m.d instanceof Uint8Array)) return;
      if (m.d.byteLength > this.maxMessageBytes) {
        this._end(new IpcError('ERR_IPC_TOO_LARGE', `received a message of ${m.d.byteLength} bytes, over maxMessageBytes ${this.maxMessageBytes}`));
        return;
      }
      this._deliver(m.d);
    };
    const onClose = () => {
      this.#portClosed = true;
      this._end(new IpcError('ERR_IPC_CLOSED', 'the MessagePort closed'));
      this.#rejectWaiters();
    };
    port.on('message', onMessage);
    port.on('close', onClose);
    this.#detach = () => {
      port.off('message', onMessage);
      port.off('close', onClose);
    };
  }

  #rejectWaiters(): void {
    const err = this._endError ?? new IpcError('ERR_IPC_CLOSED', 'the connection is closed');
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w.reject(err);
  }

  #canPost(): boolean {
    return !this.#peerStopped && this.#burst < this.#hwm;
  }

  protected _write(frame: Uint8Array, options: WaitOptions | undefined): Promise<void> {
    if (this.#waiters.length === 0 && this.#canPost()) return this.#post(frame);
    let waiter: Waiter;
    return waitFor<void>(options, (resolve, reject, scope) => {
      waiter = { frame, resolve, reject };
      this.#waiters.push(waiter);
      this.#scheduleTurn();
      scope.onCleanup(() => {
        const i = this.#waiters.indexOf(waiter);
        if (i >= 0) this.#waiters.splice(i, 1);
      });
    }, 'send');
  }

  #post(frame: Uint8Array): Promise<void> {
    if (this.#portClosed) return Promise.reject(new IpcError('ERR_IPC_CLOSED', 'the MessagePort closed'));
    try {
      // A view is cloned with its whole ArrayBuffer (a pooled Buffer drags 8 KiB along): send exact bytes.
      const d = frame.byteOffset === 0 && frame.byteLength === frame.buffer.byteLength ? frame : new Uint8Array(frame);
      this.#port.postMessage({ [TAG]: 1, d } satisfies PortMessage);
    } catch (err) {
      return Promise.reject(new IpcError('ERR_IPC_CLOSED', `could not post to the MessagePort: ${(err as Error).message}`, { cause: err }));
    }
    this.#burst += frame.byteLength + 64;
    this.#scheduleTurn();
    return Promise.resolve();
  }

  // A MessagePort has no back-pressure: after a burst, let the event loop turn so that the peer's
  // stop request (sent when its inbox passes its high-water mark) is seen before posting more.
  #scheduleTurn(): void {
    if (this.#turnScheduled) return;
    this.#turnScheduled = true;
    setImmediate(() => {
      this.#turnScheduled = false;
      this.#burst = 0;
      this.#release();
    });
  }

  #release(): void {
    while (this.#waiters.length > 0 && this.#canPost()) {
      const w = this.#waiters.shift()!;
      this.#post(w.frame).then(w.resolve, w.reject);
    }
  }

  #control(stop: boolean): void {
    if (this.#portClosed) return;
    try {
      this.#port.postMessage({ [TAG]: 1, stop } satisfies PortMessage);
    } catch {
      // closed meanwhile
    }
  }

  protected override _pause(): void {
    this.#control(true);
  }

  protected override _resume(): void {
    this.#control(false);
  }

  protected _destroy(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w.reject(new IpcError('ERR_IPC_CLOSED', 'the connection is closed'));
    if (!this.#portClosed) {
      try {
        this.#port.postMessage({ [TAG]: 1, end: true } satisfies PortMessage);
      } catch {
        // already closed
      }
    }
    this.#detach();
    this.#port.close();
  }
}

/**
 * Wraps a MessagePort as a {@link Connection}.
 * @param port - one end of a `MessageChannel`
 * @param options - codec, bounds
 * @example
 * const { port1, port2 } = new MessageChannel();
 * new Worker(url, { workerData: { port: port2 }, transferList: [port2] });
 * const conn = portConnection(port1);
 */
export function portConnection<T = unknown>(port: MessagePort, options?: PortConnectionOptions<T>): PortConnection<T> {
  return new PortConnection<T>(port, options);
}

/**
 * Two connected {@link PortConnection}s over a fresh `MessageChannel`. Keep one, and hand the other's
 * port to a worker with {@link PortConnection} on the other side, or use both in one thread.
 * @param options - codec, bounds
 */
export function portPair<T = unknown>(options?: PortConnectionOptions<T>): [PortConnection<T>, PortConnection<T>] {
  const { port1, port2 } = new MessageChannel();
  return [new PortConnection<T>(port1, options), new PortConnection<T>(port2, options)];
}
