import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import type { Codec, CodecName, Handle, HandleContext, Shareable, WaitOptions } from '@ipc/core';
import {
  IpcError,
  StreamConnection,
  codecName,
  moduleUrl,
  registerHandleKind,
  sleep,
  toHandle,
  validateMaxFrameBytes,
  validateSpin,
  validateWaitOptions,
  waitFor,
} from '@ipc/core';
import type { Address, ResolvedAddress } from './address.js';
import { resolveAddress } from './address.js';
import { authkeyBytes, handshake } from './auth.js';
import { RPC_TAG, isRpcMessage } from './rpc.js';
import type { RpcMessage } from './rpc.js';
import type { Wire } from './wire.js';
import { WireDecoder, pingFrame } from './wire.js';

// The idle timeout looks this many times per period: it closes 1 to 1 + 1/IDLE_CHECKS periods after the last byte.
const IDLE_CHECKS = 4;

/** Options shared by listeners and clients. */
export interface SocketOptions<T = unknown> {
  /** Codec for `send`/`recv`. Default `'json'` (sockets cross languages and machines). */
  codec?: Codec<T> | CodecName;
  /** Bound on one message, both directions; a peer's larger frame closes that connection with ERR_IPC_TOO_LARGE. Default 64 MiB. */
  maxFrameBytes?: number;
  /** Shared secret: both sides prove they know it (mutual HMAC challenge-response) before any message. */
  authkey?: string | Uint8Array;
  /** `'native'` (default) or `'python'`: the framing and handshake of Python's multiprocessing.connection. */
  wire?: Wire;
  /** Milliseconds the authentication handshake may take before the connection is dropped. Default 10 000. */
  handshakeTimeout?: number;
  /**
   * Close a connection that received nothing for this many ms (ERR_IPC_CLOSED, cause ERR_IPC_TIMEOUT);
   * it is checked four times per period, so the close comes 1 to 1.25 periods after the last byte.
   * Default: never.
   */
  idleTimeout?: number;
  /** Send a heartbeat every this many ms so the peer's idleTimeout does not fire (native wire only). Default: none. */
  heartbeatInterval?: number;
  /** Bytes sent but not yet taken by the kernel before `send` waits: the bound on unacknowledged bytes. Default 1 MiB. */
  maxUnackedBytes?: number;
  /** Bytes received but not yet read before the socket stops reading. Default 8 MiB. */
  highWaterMark?: number;
  /**
   * Most microseconds a receive right after a send keeps the event loop turning before it sleeps,
   * so a quick reply is read without the wake-up of a sleeping process; the connection measures
   * its round trips with and without and spins only while that is faster (core `StreamConnection`
   * `spin`). Default {@link DEFAULT_SOCKET_SPIN_US}; 0 never spins; at most 1000.
   */
  spin?: number;
}

/** The `spin` of a socket connection unless its options say otherwise, in microseconds. */
export const DEFAULT_SOCKET_SPIN_US = 64;

/** TLS options for a client (CA, servername, client certificate...). */
export type ClientTlsOptions = tls.ConnectionOptions;

/** Options of {@link connect} and {@link Client}. */
export interface ClientOptions<T = unknown> extends SocketOptions<T>, WaitOptions {
  /** Connect with TLS: `true` for the defaults, or node:tls connect options. */
  tls?: boolean | ClientTlsOptions;
  /**
   * Reconnect with exponential backoff when the first connect fails or the connection drops.
   * `true` for the defaults, or limits. Messages in flight when a connection drops may be lost.
   */
  reconnect?: boolean | ReconnectOptions;
}

/** Backoff of a reconnecting {@link Client}. */
export interface ReconnectOptions {
  /** Attempts before giving up (ERR_IPC_CLOSED); default Infinity. */
  retries?: number;
  /** First delay in ms; default 50. */
  minDelay?: number;
  /** Largest delay in ms; default 5000. */
  maxDelay?: number;
}

/** @internal Resolved options of one socket connection. */
export interface ResolvedSocketOptions<T> {
  codec: Codec<T> | CodecName;
  maxFrameBytes: number;
  authkey: Buffer | undefined;
  wire: Wire;
  handshakeTimeout: number;
  idleTimeout: number;
  heartbeatInterval: number;
  maxUnackedBytes: number;
  highWaterMark: number | undefined;
  spin: number;
}

function positive(name: string, value: unknown, fallback: number, allowZero = false): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0 || (!allowZero && value === 0)) {
    throw new RangeError(`${name} must be a ${allowZero ? 'number >= 0' : 'positive number'}, got ${String(value)}`);
  }
  return value;
}

/** @internal Validates the shared options. */
export function resolveSocketOptions<T>(options: SocketOptions<T>): ResolvedSocketOptions<T> {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  const wire = options.wire ?? 'native';
  if (wire !== 'native' && wire !== 'python') throw new TypeError(`wire must be 'native' or 'python', got ${String(wire)}`);
  const heartbeatInterval = positive('heartbeatInterval', options.heartbeatInterval, 0, true);
  if (heartbeatInterval > 0 && wire === 'python') {
    throw new TypeError('heartbeatInterval needs the native wire: Python peers do not understand heartbeats');
  }
  return {
    codec: options.codec ?? 'json',
    maxFrameBytes: validateMaxFrameBytes(options.maxFrameBytes),
    authkey: authkeyBytes(options.authkey),
    wire,
    handshakeTimeout: positive('handshakeTimeout', options.handshakeTimeout, 10_000),
    idleTimeout: positive('idleTimeout', options.idleTimeout, 0, true),
    heartbeatInterval,
    maxUnackedBytes: positive('maxUnackedBytes', options.maxUnackedBytes, 1024 * 1024),
    highWaterMark: options.highWaterMark,
    spin: validateSpin(options.spin, DEFAULT_SOCKET_SPIN_US),
  };
}

/**
 * One socket connection (accepted by a {@link Listener} or opened by a {@link Client}): a core
 * `Connection` with the socket wire, idle timeout and heartbeat.
 */
export class SocketConnection<T = unknown> extends StreamConnection<T> {
  /** @internal */
  protected readonly _opts: ResolvedSocketOptions<T>;
  #idleTimer: NodeJS.Timeout | undefined;
  #received = false; // bytes arrived since the idle check last looked
  #heartbeat: NodeJS.Timeout | undefined;
  #rpcPending = new Map<number, { resolve(v: unknown): void; reject(e: unknown): void }>();
  #rpcNext = 1;
  #rpcReading = false;

  /** @internal Use {@link connect} or {@link Listener.accept}. */
  constructor(socket: Duplex | undefined, options: ResolvedSocketOptions<T>, leftover?: Buffer) {
    super(undefined, {
      codec: options.codec,
      maxMessageBytes: options.maxFrameBytes,
      writeHighWaterMark: Math.max(1, Math.floor(options.maxUnackedBytes)),
      highWaterMark: options.highWaterMark,
      spin: options.spin,
      createDecoder: (max) => new WireDecoder(options.wire, max),
    });
    this._opts = options;
    if (socket) this._attach(socket, leftover);
  }

  protected override _attach(socket: Duplex, leftover?: Buffer): void {
    super._attach(socket, leftover);
    const { idleTimeout, heartbeatInterval } = this._opts;
    if (idleTimeout > 0 && !this.#idleTimer) {
      // Checked a few times per period instead of re-arming a timer for every chunk received.
      let silentChecks = 0;
      this.#received = false;
      this.#idleTimer = setInterval(() => {
        if (this.#received) {
          this.#received = false;
          silentChecks = 0;
          return;
        }
        if (++silentChecks < IDLE_CHECKS) return;
        clearInterval(this.#idleTimer);
        this.#idleTimer = undefined;
        this._dropSocket(new IpcError('ERR_IPC_CLOSED', `closed: nothing received for ${idleTimeout} ms`, {
          cause: new IpcError('ERR_IPC_TIMEOUT', `idle for ${idleTimeout} ms`, { details: { timeout: idleTimeout } }),
          details: { reason: 'idle' },
        }));
      }, Math.max(1, idleTimeout / IDLE_CHECKS));
      this.#idleTimer.unref();
    }
    if (heartbeatInterval > 0 && !this.#heartbeat) {
      this.#heartbeat = setInterval(() => this._writeRaw(pingFrame()), heartbeatInterval);
      this.#heartbeat.unref();
    }
  }

  protected override _onBytes(): void {
    this.#received = true;
  }

  protected override _socketGone(error: IpcError): void {
    this.#stopTimers();
    super._socketGone(error);
    this.#failRpc(error);
  }

  #stopTimers(): void {
    if (this.#idleTimer) clearInterval(this.#idleTimer);
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    this.#idleTimer = this.#heartbeat = undefined;
  }

  #failRpc(error: unknown): void {
    const pending = [...this.#rpcPending.values()];
    this.#rpcPending.clear();
    for (const p of pending) p.reject(error);
  }

  protected override _destroy(): Promise<void> {
    this.#stopTimers();
    this.#failRpc(new IpcError('ERR_IPC_CLOSED', 'the connection is closed'));
    return super._destroy();
  }

  /**
   * Sends `value` as a request to a peer that runs {@link Listener.serve} and resolves with its
   * answer, matched by a correlation id. Once a connection makes requests it reads its own
   * incoming messages: do not also call `recv()` on it.
   * @throws {IpcError} the handler's error (its code kept when it was an IpcError, else ERR_IPC_PROTOCOL), ERR_IPC_TIMEOUT, ERR_IPC_ABORTED, ERR_IPC_CLOSED
   */
  async request<R = unknown>(value: T, options?: WaitOptions): Promise<R> {
    validateWaitOptions(options);
    const id = this.#rpcNext++;
    if (this.#rpcNext > 0x3fff_ffff) this.#rpcNext = 1;
    const result = waitFor<unknown>(options, (resolve, reject, scope) => {
      this.#rpcPending.set(id, { resolve, reject });
      scope.onCleanup(() => this.#rpcPending.delete(id));
    }, 'request');
    this.#startRpcReader();
    try {
      await this.send({ [RPC_TAG]: id, p: value } as unknown as T, options);
    } catch (err) {
      this.#rpcPending.get(id)?.reject(err);
    }
    return (await result) as R;
  }

  #startRpcReader(): void {
    if (this.#rpcReading) return;
    this.#rpcReading = true;
    void (async () => {
      for (;;) {
        let msg: unknown;
        try {
          msg = await this.recv();
        } catch (err) {
          if (IpcError.is(err, 'ERR_IPC_DECODE')) continue;
          this.#failRpc(err);
          return;
        }
        if (!isRpcMessage(msg)) continue;
        const m = msg as RpcMessage;
        const waiter = this.#rpcPending.get(m[RPC_TAG]);
        if (!waiter) continue;
        this.#rpcPending.delete(m[RPC_TAG]);
        if (m.e) {
          const code = m.e.code;
          waiter.reject(new IpcError(code && /^ERR_IPC_[A-Z_]+$/.test(code) ? (code as never) : 'ERR_IPC_PROTOCOL', m.e.message ?? 'the handler failed', {
            details: { remote: true, code },
          }));
        } else {
          waiter.resolve(m.r);
        }
      }
    })();
  }
}

function parseReconnect(value: ClientOptions['reconnect']): Required<ReconnectOptions> | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === true) return { retries: Infinity, minDelay: 50, maxDelay: 5000 };
  if (typeof value !== 'object' || value === null) throw new TypeError('reconnect must be a boolean or { retries, minDelay, maxDelay }');
  const retries = value.retries ?? Infinity;
  if (typeof retries !== 'number' || Number.isNaN(retries) || retries < 0) throw new RangeError(`reconnect.retries must be >= 0, got ${String(retries)}`);
  const minDelay = positive('reconnect.minDelay', value.minDelay, 50);
  const maxDelay = positive('reconnect.maxDelay', value.maxDelay, 5000);
  if (maxDelay < minDelay) throw new RangeError(`reconnect.maxDelay (${maxDelay}) must be >= reconnect.minDelay (${minDelay})`);
  return { retries, minDelay, maxDelay };
}

/** @internal Opens a socket and runs the handshake; resolves with the socket and leftover bytes. */
export async function openSocket(
  address: ResolvedAddress,
  tlsOptions: ClientTlsOptions | undefined,
  opts: ResolvedSocketOptions<unknown>,
  signal?: AbortSignal,
): Promise<{ socket: Duplex; leftover: Buffer }> {
  const socket: net.Socket = tlsOptions
    ? tls.connect({ ...(address.kind === 'unix' ? { path: address.path } : { host: address.host, port: address.port, servername: net.isIP(address.host) ? undefined : address.host }), ...tlsOptions })
    : address.kind === 'unix'
      ? net.connect({ path: address.path })
      : net.connect({ host: address.host, port: address.port, noDelay: true });
  const readyEvent = tlsOptions ? 'secureConnect' : 'connect';
  try {
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => reject(new IpcError('ERR_IPC_ABORTED', 'connect was aborted', { cause: signal!.reason }));
      const cleanup = () => {
        socket.off(readyEvent, onReady);
        socket.off('error', onError);
        signal?.removeEventListener('abort', onAbort);
      };
      const onReady = () => {
        cleanup();
        resolve();
      };
      const onError = (err: NodeJS.ErrnoException) => {
        cleanup();
        const what = address.kind === 'unix' ? address.path : `${address.host}:${address.port}`;
        reject(new IpcError(err.code === 'ENOENT' ? 'ERR_IPC_NOT_FOUND' : 'ERR_IPC_CLOSED', `could not connect to ${what}: ${err.message}`, {
          cause: err,
          errno: err.code,
          syscall: err.syscall,
        }));
      };
      socket.once(readyEvent, onReady);
      socket.once('error', onError);
      if (signal) {
        if (signal.aborted) onAbort();
        else signal.addEventListener('abort', onAbort, { once: true });
      }
    });
    if (address.kind === 'tcp') socket.setNoDelay(true);
    const leftover = opts.authkey ? await handshake(socket, 'client', opts.authkey, opts.wire, opts.handshakeTimeout) : Buffer.alloc(0);
    return { socket, leftover };
  } catch (err) {
    socket.destroy();
    throw err;
  }
}

/** The handle kind a listener address or client travels as: the child connects itself. */
export const CLIENT_HANDLE_KIND = '@ipc/socket.Client';

declare const __filename: string | undefined;
const here = typeof __filename === 'string' ? __filename : import.meta.url;

/** @internal What a child needs to connect. */
export function clientHandle(address: ResolvedAddress, opts: ResolvedSocketOptions<unknown>, tlsOptions: ClientTlsOptions | undefined, extra: { reconnect?: ClientOptions['reconnect'] } = {}): Handle {
  const codec = typeof opts.codec === 'string' ? opts.codec : codecName(opts.codec as Codec<unknown>);
  if (codec === undefined) throw new IpcError('ERR_IPC_HANDLE', 'a socket with a custom codec cannot be passed to a child (its codec has no name)');
  const plainTls = tlsOptions ? JSON.parse(JSON.stringify(tlsOptions, (_k, v) => (Buffer.isBuffer(v) ? v.toString('utf8') : typeof v === 'function' ? undefined : v))) : undefined;
  return {
    kind: CLIENT_HANDLE_KIND,
    module: moduleUrl(here),
    address: address.kind === 'unix' ? { path: address.path } : { host: address.host, port: address.port },
    options: {
      codec,
      maxFrameBytes: opts.maxFrameBytes,
      authkey: opts.authkey ? opts.authkey.toString('base64') : undefined,
      wire: opts.wire,
      handshakeTimeout: opts.handshakeTimeout,
      idleTimeout: opts.idleTimeout || undefined,
      heartbeatInterval: opts.heartbeatInterval || undefined,
      maxUnackedBytes: opts.maxUnackedBytes,
      highWaterMark: opts.highWaterMark,
      spin: opts.spin,
      tls: plainTls,
      reconnect: extra.reconnect,
    },
  };
}

/**
 * A connection opened to a {@link Listener}: a core `Connection` (send, recv, poll, iteration,
 * close) plus `request()`. With `reconnect`, a dropped connection is reopened with backoff;
 * pending receives keep waiting and sends wait for the new connection (bounded by their timeout).
 * Passable to a `Process`: the child opens its own connection to the same address.
 */
export class Client<T = unknown> extends SocketConnection<T> implements Shareable {
  readonly address: Address;
  readonly #address: ResolvedAddress;
  readonly #tls: ClientTlsOptions | undefined;
  readonly #reconnect: Required<ReconnectOptions> | undefined;
  readonly #reconnectOption: ClientOptions['reconnect'];
  #closedLocally = false;
  #reconnecting = false;
  #abort = new AbortController();

  /** @internal Use {@link connect}. */
  constructor(address: Address, options: ClientOptions<T> = {}) {
    const opts = resolveSocketOptions(options);
    super(undefined, opts);
    this.address = address;
    this.#address = resolveAddress(address);
    if (options.tls !== undefined && typeof options.tls !== 'boolean' && (typeof options.tls !== 'object' || options.tls === null)) {
      throw new TypeError('tls must be a boolean or node:tls connect options');
    }
    this.#tls = options.tls === true ? {} : options.tls === false ? undefined : options.tls;
    this.#reconnect = parseReconnect(options.reconnect);
    this.#reconnectOption = options.reconnect;
  }

  /** @internal Connects the first time (retrying with backoff when reconnect is on). */
  async _open(options: WaitOptions): Promise<void> {
    const { timeout, signal } = options;
    const controller = new AbortController();
    const onAbort = () => controller.abort(signal!.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    const timer = timeout !== undefined && timeout !== Infinity
      ? setTimeout(() => controller.abort(new IpcError('ERR_IPC_TIMEOUT', `connect timed out after ${timeout} ms`, { details: { timeout } })), timeout)
      : undefined;
    try {
      await this.#connectLoop(controller.signal, this.#reconnect ? this.#reconnect.retries : 0);
    } catch (err) {
      const reason = controller.signal.reason;
      if (controller.signal.aborted && IpcError.is(reason, 'ERR_IPC_TIMEOUT')) throw reason;
      if (controller.signal.aborted) throw new IpcError('ERR_IPC_ABORTED', 'connect was aborted', { cause: signal?.reason });
      throw err;
    } finally {
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  async #connectLoop(signal: AbortSignal, retries: number): Promise<void> {
    let delay = this.#reconnect?.minDelay ?? 0;
    for (let attempt = 0; ; attempt++) {
      if (this.#closedLocally) throw new IpcError('ERR_IPC_CLOSED', 'the client was closed');
      try {
        const { socket, leftover } = await openSocket(this.#address, this.#tls, this._opts as ResolvedSocketOptions<unknown>, signal);
        if (this.#closedLocally) {
          socket.destroy();
          throw new IpcError('ERR_IPC_CLOSED', 'the client was closed');
        }
        this._attach(socket, leftover);
        return;
      } catch (err) {
        // A wrong key will not get better by retrying.
        if (IpcError.is(err, 'ERR_IPC_AUTH') || signal.aborted || attempt >= retries) throw err;
      }
      await sleep(delay, signal);
      delay = Math.min(delay * 2, this.#reconnect!.maxDelay);
    }
  }

  protected override _socketGone(error: IpcError): void {
    if (!this.#reconnect || this.#closedLocally) {
      super._socketGone(error);
      return;
    }
    if (this.#reconnecting) return;
    this.#reconnecting = true;
    void this.#connectLoop(this.#abort.signal, this.#reconnect.retries)
      .catch((err: unknown) => {
        super._socketGone(IpcError.is(err, 'ERR_IPC_CLOSED') ? err : new IpcError('ERR_IPC_CLOSED', 'reconnecting failed', { cause: err }));
      })
      .finally(() => {
        this.#reconnecting = false;
      });
  }

  protected override _destroy(): Promise<void> {
    this.#closedLocally = true;
    this.#abort.abort(new IpcError('ERR_IPC_CLOSED', 'the client was closed'));
    return super._destroy();
  }

  /** Describes how a child connects to the same address with the same options. */
  [toHandle](_context: HandleContext): Handle {
    return clientHandle(this.#address, this._opts as ResolvedSocketOptions<unknown>, this.#tls, { reconnect: this.#reconnectOption });
  }
}

/**
 * Connects to a {@link Listener} (ours, or Python's `multiprocessing.connection.Listener` with
 * `wire: 'python'`), runs the authkey handshake when a key is given, and resolves with the
 * connected {@link Client}.
 *
 * @param address - a Unix socket path, or `{ host, port }` for TCP (and TLS with `tls`)
 * @param options - authkey, wire, codec, limits, tls, reconnect, and `{ timeout, signal }` for the whole connect
 * @throws {IpcError} ERR_IPC_AUTH (wrong key), ERR_IPC_NOT_FOUND (no socket file), ERR_IPC_CLOSED (refused), ERR_IPC_TIMEOUT, ERR_IPC_ABORTED
 * @example
 * await using client = await connect('/tmp/app.sock', { authkey: 'secret' });
 * console.log(await client.request({ add: [1, 2] }, { timeout: 1000 }));
 */
export async function connect<T = unknown>(address: Address, options: ClientOptions<T> = {}): Promise<Client<T>> {
  validateWaitOptions(options);
  const client = new Client<T>(address, options);
  await client._open({ timeout: options.timeout, signal: options.signal });
  return client;
}

registerHandleKind(CLIENT_HANDLE_KIND, async (handle) => {
  const options = { ...(handle.options as Record<string, unknown>) };
  if (typeof options.authkey === 'string') options.authkey = Buffer.from(options.authkey, 'base64');
  return connect(handle.address as Address, options as ClientOptions);
});
