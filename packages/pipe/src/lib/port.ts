import { MessageChannel } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import type { ConnectionOptions, WaitOptions } from '@ipc/core';
import { ConnectionBase, IpcError } from '@ipc/core';

const TAG = '@ipc/pipe.port';

/** Options of {@link portConnection}. */
export type PortConnectionOptions<T = unknown> = Omit<ConnectionOptions<T>, 'direction'>;

interface PortMessage {
  [TAG]: 1;
  d?: Uint8Array;
  end?: true;
}

/**
 * A {@link Connection} over a worker_threads `MessagePort` (one end of a `MessageChannel`, handed
 * to a worker in `workerData` or `postMessage` with a transfer list). The port's `close` (the other
 * end closed, or its worker ended) ends the connection with `ERR_IPC_CLOSED`. A MessagePort has no
 * back-pressure of its own: `send` resolves once the message is posted.
 */
export class PortConnection<T = unknown> extends ConnectionBase<T> {
  readonly #port: MessagePort;
  readonly #detach: () => void;
  #portClosed = false;

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
      if (m.end) {
        this._end(new IpcError('ERR_IPC_CLOSED', 'the peer closed the connection'));
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
    };
    port.on('message', onMessage);
    port.on('close', onClose);
    this.#detach = () => {
      port.off('message', onMessage);
      port.off('close', onClose);
    };
  }

  protected _write(frame: Uint8Array, _options: WaitOptions | undefined): Promise<void> {
    if (this.#portClosed) return Promise.reject(new IpcError('ERR_IPC_CLOSED', 'the MessagePort closed'));
    try {
      // A view is cloned with its whole ArrayBuffer (a pooled Buffer drags 8 KiB along): send exact bytes.
      const d = frame.byteOffset === 0 && frame.byteLength === frame.buffer.byteLength ? frame : new Uint8Array(frame);
      this.#port.postMessage({ [TAG]: 1, d } satisfies PortMessage);
    } catch (err) {
      return Promise.reject(new IpcError('ERR_IPC_CLOSED', `could not post to the MessagePort: ${(err as Error).message}`, { cause: err }));
    }
    return Promise.resolve();
  }

  protected override _pause(): void {
    // A MessagePort cannot be paused without losing its 'close' event; the inbox keeps growing.
  }

  protected _destroy(): void {
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
