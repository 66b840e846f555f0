import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Handle, HandleContext, RecvBytesOptions, Shareable, StreamConnectionOptions, WaitOptions } from '@ipc/core';
import { IpcError, StreamConnection, codecName, directReads, moduleUrl, registerHandleKind, toHandle } from '@ipc/core';

/** The handle kind of a pipe end passed to a child process. */
export const PIPE_HANDLE_KIND = '@ipc/pipe.Connection';

/** Options of {@link Pipe}. */
export interface PipeOptions<T = unknown> extends Omit<StreamConnectionOptions<T>, 'direction' | 'createDecoder' | 'encodeHeader' | 'lazyRead'> {
  /**
   * `true` (default): both ends send and receive. `false`: the first end only receives and the
   * second only sends, like Python's `Pipe(duplex=False)`; the wrong direction is refused with
   * `ERR_IPC_WRONG_DIRECTION`.
   */
  duplex?: boolean;
  /**
   * Most microseconds a receive right after a send that finds nothing queued keeps the event loop
   * spinning before it parks (default {@link DEFAULT_PIPE_SPIN_US}; 0 never spins; at most 1000).
   * A reply on its way is then read without the wake-up of a sleeping process, which roughly
   * halves a round trip when a CPU is free. Each end spins only while its measured round-trip
   * cycles show spinning is faster. An end passed to a child keeps its value.
   */
  spin?: number;
}

/** The `spin` of a pipe end unless its options say otherwise, in microseconds. */
export const DEFAULT_PIPE_SPIN_US = 64;

interface PipeEndOptions<T> extends StreamConnectionOptions<T> {
  direction: 'both' | 'read' | 'write';
}

declare const __filename: string | undefined;
const here = typeof __filename === 'string' ? __filename : import.meta.url;

/**
 * One end of a {@link Pipe}: a {@link Connection} over a Unix socket pair. It can be passed to a
 * `Process` among its arguments; the child receives the descriptor and gets a live end back. Once
 * passed, the end belongs to the child: this process closes its copy right after the child is
 * spawned (so the other end sees EOF when the child dies), and using it here rejects with
 * `ERR_IPC_CLOSED`.
 */
export class PipeConnection<T = unknown> extends StreamConnection<T> implements Shareable {
  readonly #options: PipeEndOptions<T>;
  #transferred = false;

  /**
   * Wraps a connected stream socket. Most code calls {@link Pipe} instead.
   * @param socket - a connected `net.Socket` (a socket pair end, or one opened on an inherited fd)
   * @param options - codec, bounds, direction
   */
  constructor(socket: net.Socket, options: PipeEndOptions<T>) {
    // Lazy: an end does not read before its first receive, so bytes sent to it before it moves
    // to a child stay in the kernel for the child.
    super(socket, { ...options, spin: options.spin ?? DEFAULT_PIPE_SPIN_US, lazyRead: true });
    this.#options = options;
  }

  override recv(options?: WaitOptions): Promise<T> {
    this._startReading();
    return super.recv(options);
  }

  override recvBytes(options?: RecvBytesOptions): Promise<Uint8Array> {
    this._startReading();
    return super.recvBytes(options);
  }

  override poll(timeout?: number): Promise<boolean> {
    this._startReading();
    return super.poll(timeout);
  }

  override [Symbol.asyncIterator](): AsyncIterator<T> {
    this._startReading();
    return super[Symbol.asyncIterator]();
  }

  /** The file descriptor of this end (Unix only), or undefined once closed. */
  get fd(): number | undefined {
    const fd = (this._socket as unknown as { _handle?: { fd?: number } } | undefined)?._handle?.fd;
    return typeof fd === 'number' && fd >= 0 ? fd : undefined;
  }

  /**
   * Describes this end for a child process: its descriptor is inherited, and this process closes
   * its own copy once the child was spawned.
   * @throws {IpcError} ERR_IPC_UNSUPPORTED for a worker thread (use `portPair()` there), ERR_IPC_HANDLE when closed or the codec has no name
   */
  [toHandle](context: HandleContext): Handle {
    if (context.target !== 'process') {
      throw new IpcError('ERR_IPC_UNSUPPORTED', 'a pipe end cannot move to a worker thread (its descriptor would be shared); use a MessagePort connection');
    }
    const fd = this.fd;
    if (this.closed || this.#transferred || fd === undefined) {
      throw new IpcError('ERR_IPC_HANDLE', 'this pipe end is closed or was already passed to another process');
    }
    const codec = codecName(this.codec);
    if (codec === undefined) {
      throw new IpcError('ERR_IPC_HANDLE', `the pipe end's codec '${this.codec.name}' is not built in, so the child cannot rebuild it`);
    }
    const childFd = context.inheritFd(fd);
    this.#transferred = true;
    // The child is spawned synchronously right after its arguments are described; then our copy of
    // the descriptor goes, without a shutdown (that would end the socket for the child as well).
    process.nextTick(() => void this.close());
    const direction = this.readable && this.writable ? 'both' : this.readable ? 'read' : 'write';
    return {
      kind: PIPE_HANDLE_KIND,
      module: moduleUrl(here),
      fd: childFd,
      codec,
      direction,
      maxMessageBytes: this.maxMessageBytes,
      writeHighWaterMark: this.#options.writeHighWaterMark,
      highWaterMark: this.#options.highWaterMark,
      spin: this.#options.spin,
    };
  }

  protected override _destroy(): Promise<void> {
    if (this.#transferred) this._socket?.destroy();
    return super._destroy();
  }
}

registerHandleKind(PIPE_HANDLE_KIND, (handle) => {
  const fd = handle.fd;
  if (typeof fd !== 'number' || !Number.isInteger(fd) || fd < 0) {
    throw new IpcError('ERR_IPC_HANDLE', 'a pipe handle needs a file descriptor');
  }
  // `onread` is a connect option that Node's Socket constructor takes as such (its types omit it).
  const socket = directReads((onread) => new net.Socket({ fd, readable: true, writable: true, onread } as net.SocketConstructorOpts));
  return new PipeConnection(socket, {
    codec: handle.codec as never,
    direction: handle.direction as 'both' | 'read' | 'write',
    maxMessageBytes: handle.maxMessageBytes as number,
    writeHighWaterMark: handle.writeHighWaterMark as number | undefined,
    highWaterMark: handle.highWaterMark as number | undefined,
    spin: handle.spin as number | undefined,
  });
});

/**
 * A connected pair of stream sockets. Node has no `socketpair()`; this listens on a Unix socket
 * in a fresh private (0700) temporary directory, connects once, and removes both (see
 * docs/decisions/004-pipe.md). On Windows it uses a randomly named pipe.
 */
export async function socketPair(): Promise<[net.Socket, net.Socket]> {
  const windows = process.platform === 'win32';
  const dir = windows ? undefined : await mkdtemp(join(tmpdir(), 'ipc-pipe-'));
  const path = windows
    ? `\\\\.\\pipe\\ipc-pipe-${process.pid}-${Math.random().toString(36).slice(2)}`
    : join(dir!, 's');
  // Neither socket may read before its end is used: an end may still move to a child.
  const server = net.createServer({ pauseOnConnect: true });
  try {
    const accepted = new Promise<net.Socket>((resolve, reject) => {
      server.once('connection', resolve);
      server.once('error', reject);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ path, backlog: 1 }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const client = directReads((onread) => net.connect({ path, onread }));
    client.pause();
    const connected = new Promise<void>((resolve, reject) => {
      client.once('connect', resolve);
      client.once('error', reject);
    });
    let a: net.Socket;
    try {
      [a] = await Promise.all([accepted, connected]);
    } catch (err) {
      client.destroy();
      throw err;
    }
    // The client reads directly (an accepted socket cannot): it goes first, the end a parent
    // usually keeps (the other usually moves to a child, which opens it with direct reads).
    return [client, a];
  } catch (err) {
    throw IpcError.is(err) ? err : new IpcError('ERR_IPC_SYSTEM', `could not create a socket pair: ${(err as Error).message}`, {
      cause: err,
      errno: (err as NodeJS.ErrnoException).code,
    });
  } finally {
    server.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Creates a pipe: two connected {@link Connection} ends, like Python's `multiprocessing.Pipe()`.
 * Either end (or both, to two different children) can be passed to a `Process`; bytes then flow
 * directly between the processes holding the ends.
 *
 * @param options - `duplex` (default true), codec (default structured clone), bounds
 * @returns `[a, b]`; with `duplex: false`, `a` only receives and `b` only sends
 * @throws {IpcError} ERR_IPC_SYSTEM when the socket pair cannot be created
 * @example
 * const [parent, child] = await Pipe();
 * await new Process(new URL('./child.js', import.meta.url), { args: [child] }).start();
 * await parent.send({ hello: 'child' });
 * console.log(await parent.recv());
 */
export async function Pipe<T = unknown>(options: PipeOptions<T> = {}): Promise<[PipeConnection<T>, PipeConnection<T>]> {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  const duplex = options.duplex ?? true;
  if (typeof duplex !== 'boolean') throw new TypeError(`duplex must be a boolean, got ${String(duplex)}`);
  const { duplex: _ignored, ...rest } = options;
  // Validate every option before creating sockets: the constructor throws on bad ones.
  const probe = (direction: PipeEndOptions<T>['direction']) => ({ ...rest, direction });
  const [sa, sb] = await socketPair();
  try {
    const a = new PipeConnection<T>(sa, probe(duplex ? 'both' : 'read'));
    const b = new PipeConnection<T>(sb, probe(duplex ? 'both' : 'write'));
    return [a, b];
  } catch (err) {
    sa.destroy();
    sb.destroy();
    throw err;
  }
}
