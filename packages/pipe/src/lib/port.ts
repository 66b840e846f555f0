import { MessageChannel } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import { IpcError } from '@ipc/core';
import type { ControlMessage, PostedConnectionOptions, PostedMessage } from './posted.js';
import { PostedConnection } from './posted.js';

const TAG = '@ipc/pipe.port';

/** Options of {@link portConnection}. */
export interface PortConnectionOptions<T = unknown> extends PostedConnectionOptions<T> {
  /** Bytes posted within one turn of the event loop before `send` lets the loop turn (so the peer's stop request is seen). Default 1 MiB. */
  writeHighWaterMark?: number;
}

interface PortMessage extends PostedMessage {
  [TAG]: 1;
  d?: Uint8Array;
}

/**
 * A {@link Connection} over a worker_threads `MessagePort` (one end of a `MessageChannel`, handed
 * to a worker in `workerData` or `postMessage` with a transfer list). The port's `close` (the other
 * end closed, or its worker ended) ends the connection with `ERR_IPC_CLOSED`. A MessagePort has no
 * back-pressure of its own: the receiver asks the sender to stop while its inbox is over its
 * high-water mark, and the sender lets the event loop turn after each `writeHighWaterMark` bytes so
 * it hears that request: memory stays bounded when the reader is slow.
 */
export class PortConnection<T = unknown> extends PostedConnection<T> {
  readonly #port: MessagePort;
  readonly #detach: () => void;
  #portClosed = false;
  #burst = 0;
  #turnScheduled = false;

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
    const onMessage = (msg: unknown) => {
      const m = msg as PortMessage | null;
      if (typeof m !== 'object' || m === null || m[TAG] !== 1) return;
      this._receive(m, m.d instanceof Uint8Array ? m.d : undefined);
    };
    const onClose = () => {
      this.#portClosed = true;
      this._fail(new IpcError('ERR_IPC_CLOSED', 'the MessagePort closed'));
    };
    port.on('message', onMessage);
    port.on('close', onClose);
    this.#detach = () => {
      port.off('message', onMessage);
      port.off('close', onClose);
    };
  }

  protected _canPost(): boolean {
    return this.#burst < this._writeHighWaterMark;
  }

  protected _post(frame: Uint8Array): Promise<void> {
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

  protected override _onWait(): void {
    this.#scheduleTurn();
  }

  // A MessagePort has no back-pressure: after a burst, let the event loop turn so that the peer's
  // stop request (sent when its inbox passes its high-water mark) is seen before posting more.
  #scheduleTurn(): void {
    if (this.#turnScheduled) return;
    this.#turnScheduled = true;
    setImmediate(() => {
      this.#turnScheduled = false;
      this.#burst = 0;
      this._release();
    });
  }

  protected _postControl(message: ControlMessage): void {
    if (this.#portClosed) return;
    try {
      this.#port.postMessage({ [TAG]: 1, ...message } satisfies PortMessage);
    } catch {
      // closed meanwhile
    }
  }

  protected _close(): void {
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
