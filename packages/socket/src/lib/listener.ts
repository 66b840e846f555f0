import { chmod, link, mkdtemp, rm, stat, unlink } from 'node:fs/promises';
import net from 'node:net';
import { dirname, join } from 'node:path';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import type { Handle, HandleContext, Shareable, WaitOptions } from '@ipc/core';
import { IpcError, toHandle, validateWaitOptions, waitFor } from '@ipc/core';
import type { Address, ResolvedAddress } from './address.js';
import { clearStaleSocket, isAbstract, maxUnixPathBytes, resolveAddress } from './address.js';
import { handshake } from './auth.js';
import type { ClientTlsOptions, ResolvedSocketOptions, SocketOptions } from './connection.js';
import { SocketConnection, clientHandle, resolveSocketOptions } from './connection.js';
import { RPC_TAG, isRpcMessage } from './rpc.js';

/** Options of {@link listen}. */
export interface ListenerOptions<T = unknown> extends SocketOptions<T> {
  /** Serve TLS with these node:tls server options (`key`, `cert`, `ca`, `requestCert`...). */
  tls?: tls.TlsOptions;
  /** How a child given this listener as a handle connects over TLS. Default `{ ca: tls.cert }`. */
  clientTls?: ClientTlsOptions;
  /** Authenticated connections waiting for `accept()` before new ones are dropped. Default 128. */
  maxPending?: number;
  /** Kernel listen backlog. Default 511. */
  backlog?: number;
}

/** Counters a listener keeps. */
export interface ListenerStats {
  /** Connections that completed the handshake. */
  accepted: number;
  /** Connections dropped before use: wrong key, bad or slow handshake, too many pending. */
  rejected: number;
}

/** What {@link Listener.serve} calls for each request. */
export type ServeHandler<T = unknown> = (request: T, connection: SocketConnection<T>) => unknown;

interface Acceptor<T> {
  resolve(conn: SocketConnection<T>): void;
  reject(err: unknown): void;
}

function describe(address: ResolvedAddress): string {
  return address.kind === 'unix' ? address.path : `${address.host}:${address.port}`;
}

/**
 * Accepts connections on a Unix socket, TCP or TLS, like Python's
 * `multiprocessing.connection.Listener`. With an `authkey`, each connection must pass the mutual
 * challenge-response (within `handshakeTimeout`) before it is handed out; failures are dropped
 * and counted, and never reach `accept()`. Iterating yields connections until the listener
 * closes; breaking out of the loop stops accepting but does not close the listener.
 *
 * Unix socket files are created 0600; a stale file from a dead listener is replaced, a live one
 * refused. Passable to a `Process`: the child connects to it.
 */
export class Listener<T = unknown> implements AsyncIterable<SocketConnection<T>>, AsyncDisposable, Shareable {
  readonly #server: net.Server;
  readonly #opts: ResolvedSocketOptions<T>;
  readonly #options: ListenerOptions<T>;
  readonly #maxPending: number;
  #address: ResolvedAddress;
  #pending: SocketConnection<T>[] = [];
  #acceptors: Array<Acceptor<T>> = [];
  #handshaking = new Set<Duplex>();
  #served = new Set<SocketConnection<T>>();
  #closed = false;
  #closing: Promise<void> | undefined;
  #unixIno: number | undefined;
  /** Counters of accepted and rejected connections. */
  readonly stats: ListenerStats = { accepted: 0, rejected: 0 };

  private constructor(server: net.Server, address: ResolvedAddress, opts: ResolvedSocketOptions<T>, options: ListenerOptions<T>) {
    this.#server = server;
    this.#address = address;
    this.#opts = opts;
    this.#options = options;
    this.#maxPending = options.maxPending ?? 128;
    server.on(options.tls ? 'secureConnection' : 'connection', (socket: net.Socket) => this.#onSocket(socket));
    // A failed TLS handshake is a rejected client, never a crash.
    server.on('tlsClientError', (_err: Error, socket: Duplex) => {
      this.stats.rejected++;
      socket.destroy();
    });
    server.on('error', () => {});
  }

  /**
   * Starts listening.
   * @param address - a Unix socket path, or `{ host, port }` (port 0 picks a free port)
   * @param options - authkey, wire, codec, limits, tls
   * @throws {IpcError} ERR_IPC_EXISTS (a live listener or a non-socket file at the path, or the port is taken), ERR_IPC_SYSTEM
   * @throws {RangeError} a path longer than the OS allows
   * @example
   * await using listener = await Listener.listen('/tmp/app.sock', { authkey: 'secret' });
   * for await (const conn of listener) void conn.send('hello');
   */
  static async listen<T = unknown>(address: Address, options: ListenerOptions<T> = {}): Promise<Listener<T>> {
    const resolved = resolveAddress(address);
    const opts = resolveSocketOptions(options);
    const maxPending = options.maxPending ?? 128;
    if (!Number.isInteger(maxPending) || maxPending < 1) throw new RangeError(`maxPending must be a positive integer, got ${maxPending}`);
    const backlog = options.backlog ?? 511;
    if (!Number.isInteger(backlog) || backlog < 1) throw new RangeError(`backlog must be a positive integer, got ${backlog}`);
    if (options.tls !== undefined && (typeof options.tls !== 'object' || options.tls === null)) {
      throw new TypeError('tls must be node:tls server options ({ key, cert, ... })');
    }
    // The TLS handshake gets the same deadline as ours (node's default is two minutes).
    const server = options.tls ? tls.createServer({ handshakeTimeout: opts.handshakeTimeout, ...options.tls }) : net.createServer();
    const listener = new Listener<T>(server, resolved, opts, options);
    try {
      if (resolved.kind === 'unix') await listener.#listenUnix(resolved.path, backlog);
      else {
        await listenOn(server, { host: resolved.host, port: resolved.port, backlog });
        const a = server.address() as net.AddressInfo;
        listener.#address = { kind: 'tcp', host: resolved.host, port: a.port };
      }
    } catch (err) {
      server.close();
      throw err;
    }
    return listener;
  }

  async #listenUnix(path: string, backlog: number): Promise<void> {
    await clearStaleSocket(path);
    if (process.platform === 'win32' || isAbstract(path)) {
      await listenOn(this.#server, { path, backlog });
      return;
    }
    // Bind inside a fresh private directory, set 0600, then hard-link into place: nobody can
    // connect before the mode is right, and link() refuses (EEXIST) to replace what appeared meanwhile.
    let tmpDir: string | undefined;
    try {
      tmpDir = await mkdtemp(join(dirname(path), '.ipc-'));
    } catch {
      tmpDir = undefined;
    }
    const tmpPath = tmpDir && join(tmpDir, 's');
    try {
      if (tmpPath && Buffer.byteLength(tmpPath) <= maxUnixPathBytes()) {
        await listenOn(this.#server, { path: tmpPath, backlog });
        await chmod(tmpPath, 0o600);
        try {
          await link(tmpPath, path);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
            throw new IpcError('ERR_IPC_EXISTS', `${path} appeared while the listener was starting`, { cause: err });
          }
          throw err;
        }
        await unlink(tmpPath);
      } else {
        await listenOn(this.#server, { path, backlog });
        await chmod(path, 0o600);
      }
      this.#unixIno = (await stat(path)).ino;
    } finally {
      if (tmpDir) await rm(tmpDir, { recursive: true, force: true });
    }
  }

  /** Where the listener listens (with the real port when 0 was asked). */
  get address(): Address {
    const a = this.#address;
    return a.kind === 'unix' ? a.path : { host: a.host, port: a.port };
  }

  /** True once closed. */
  get closed(): boolean {
    return this.#closed;
  }

  #onSocket(socket: net.Socket): void {
    if (this.#closed) {
      socket.destroy();
      return;
    }
    if (this.#address.kind === 'tcp') socket.setNoDelay(true);
    socket.on('error', () => {});
    const key = this.#opts.authkey;
    if (!key) {
      this.#admit(socket, Buffer.alloc(0));
      return;
    }
    this.#handshaking.add(socket);
    handshake(socket, 'server', key, this.#opts.wire, this.#opts.handshakeTimeout).then(
      (leftover) => {
        this.#handshaking.delete(socket);
        this.#admit(socket, leftover);
      },
      () => {
        this.#handshaking.delete(socket);
        this.stats.rejected++;
        socket.destroy();
      },
    );
  }

  #admit(socket: Duplex, leftover: Buffer): void {
    if (this.#closed || socket.destroyed || (this.#acceptors.length === 0 && this.#pending.length >= this.#maxPending)) {
      this.stats.rejected++;
      socket.destroy();
      return;
    }
    this.stats.accepted++;
    const conn = new SocketConnection<T>(socket, this.#opts, leftover);
    const acceptor = this.#acceptors.shift();
    if (acceptor) acceptor.resolve(conn);
    else this.#pending.push(conn);
  }

  /**
   * Waits for the next authenticated connection.
   * @throws {IpcError} ERR_IPC_CLOSED when the listener closes, ERR_IPC_TIMEOUT, ERR_IPC_ABORTED
   */
  accept(options?: WaitOptions): Promise<SocketConnection<T>> {
    validateWaitOptions(options);
    if (this.#pending.length > 0) return Promise.resolve(this.#pending.shift()!);
    if (this.#closed) return Promise.reject(new IpcError('ERR_IPC_CLOSED', 'the listener is closed'));
    return waitFor<SocketConnection<T>>(options, (resolve, reject, scope) => {
      const acceptor: Acceptor<T> = { resolve, reject };
      this.#acceptors.push(acceptor);
      scope.onCleanup(() => {
        const i = this.#acceptors.indexOf(acceptor);
        if (i >= 0) this.#acceptors.splice(i, 1);
      });
    }, 'accept');
  }

  async *[Symbol.asyncIterator](): AsyncIterator<SocketConnection<T>> {
    for (;;) {
      try {
        yield await this.accept();
      } catch (err) {
        if (IpcError.is(err, 'ERR_IPC_CLOSED')) return;
        throw err;
      }
    }
  }

  /**
   * Answers requests on every connection until the listener closes: each `request()` from a
   * {@link Client} (or any message, for peers that just send and read) goes to `handler`, and
   * its result (or error, with its code) goes back. Requests on one connection run concurrently;
   * plain messages one at a time. A connection that breaks the protocol or sends an oversize frame
   * is closed; the others go on.
   * @param handler - computes the answer; may be async
   * @returns resolves when the listener is closed
   */
  async serve(handler: ServeHandler<T>): Promise<void> {
    if (typeof handler !== 'function') throw new TypeError('serve needs a handler function');
    for await (const conn of this) {
      this.#served.add(conn);
      void this.#serveOne(conn, handler).finally(() => this.#served.delete(conn));
    }
  }

  async #serveOne(conn: SocketConnection<T>, handler: ServeHandler<T>): Promise<void> {
    const reply = async (id: number, work: () => unknown) => {
      let message: unknown;
      try {
        message = { [RPC_TAG]: id, r: (await work()) ?? null };
      } catch (err) {
        const e = err as { code?: unknown; message?: unknown };
        message = { [RPC_TAG]: id, e: { code: typeof e?.code === 'string' ? e.code : undefined, message: typeof e?.message === 'string' ? e.message : String(err) } };
      }
      await conn.send(message as T).catch(() => {});
    };
    try {
      for (;;) {
        let msg: T;
        try {
          msg = await conn.recv();
        } catch (err) {
          if (IpcError.is(err, 'ERR_IPC_DECODE')) continue;
          throw err;
        }
        if (isRpcMessage(msg) && 'p' in msg) {
          void reply(msg[RPC_TAG], () => handler(msg.p as T, conn));
          continue;
        }
        let result: unknown;
        try {
          result = await handler(msg, conn);
        } catch {
          continue;
        }
        if (result !== undefined) await conn.send(result as T);
      }
    } catch {
      // closed, oversize or broken: this connection ends, the listener goes on
    } finally {
      await conn.close();
    }
  }

  /**
   * Stops listening, drops connections still in the handshake or waiting for `accept()`, closes
   * connections run by `serve()`, and removes the socket file. Connections already accepted stay
   * open. Idempotent.
   */
  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#closed = true;
    const err = new IpcError('ERR_IPC_CLOSED', 'the listener is closed');
    const acceptors = this.#acceptors;
    this.#acceptors = [];
    for (const a of acceptors) a.reject(err);
    this.#closing = (async () => {
      // Stops listening at once; the server's own 'close' waits for every accepted connection, which stay the user's.
      this.#server.close(() => {});
      for (const s of this.#handshaking) s.destroy();
      this.#handshaking.clear();
      const pending = this.#pending;
      this.#pending = [];
      await Promise.allSettled([...pending, ...this.#served].map((c) => c.close()));
      if (this.#address.kind === 'unix' && this.#unixIno !== undefined) {
        try {
          // Only our own file: a new listener may have replaced it since.
          if ((await stat(this.#address.path)).ino === this.#unixIno) await unlink(this.#address.path);
        } catch {
          // already gone
        }
      }
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Describes how a child connects to this listener (same key, wire, codec and limits). */
  [toHandle](_context: HandleContext): Handle {
    const a = this.#address;
    const target: ResolvedAddress = a.kind === 'tcp' && (a.host === '0.0.0.0' || a.host === '::') ? { kind: 'tcp', host: '127.0.0.1', port: a.port } : a;
    const serverTls = this.#options.tls;
    const clientTls = this.#options.clientTls ?? (serverTls ? { ca: serverTls.ca ?? serverTls.cert } as ClientTlsOptions : undefined);
    return clientHandle(target, this.#opts as ResolvedSocketOptions<unknown>, clientTls);
  }

  /** @internal */
  toString(): string {
    return `Listener(${describe(this.#address)})`;
  }
}

function listenOn(server: net.Server, options: net.ListenOptions): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      const where = options.path ?? `${options.host}:${options.port}`;
      reject(new IpcError(err.code === 'EADDRINUSE' ? 'ERR_IPC_EXISTS' : 'ERR_IPC_SYSTEM', `could not listen on ${where}: ${err.message}`, {
        cause: err,
        errno: err.code,
        syscall: err.syscall,
      }));
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(options);
  });
}

/**
 * Starts a {@link Listener}. Same as `Listener.listen(address, options)`.
 * @example
 * const listener = await listen({ host: '127.0.0.1', port: 0 }, { authkey: 'secret' });
 * void listener.serve(async (req) => ({ echo: req }));
 */
export function listen<T = unknown>(address: Address, options?: ListenerOptions<T>): Promise<Listener<T>> {
  return Listener.listen<T>(address, options);
}
