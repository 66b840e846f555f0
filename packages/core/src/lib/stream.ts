import { writeSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import type { ConnectionOptions } from './connection.js';
import { ConnectionBase } from './connection.js';
import { SpinJudge } from './spin.js';
import { IpcError } from './errors.js';
import { FRAME_HEADER_BYTES, FrameDecoder } from './framing.js';
import type { WaitOptions } from './wait.js';
import { waitFor } from './wait.js';

/**
 * An incremental decoder of a framed byte stream, as {@link StreamConnection} uses it. The core
 * {@link FrameDecoder} is one; a transport with another wire format (Python's, or frames with a
 * control bit) supplies its own.
 */
export interface StreamDecoder {
  /**
   * Feeds a chunk; calls `onFrame` for every complete frame (a view into the chunk is fine).
   * @throws {IpcError} ERR_IPC_TOO_LARGE or ERR_IPC_PROTOCOL on a bad header
   */
  push(chunk: Buffer, onFrame: (frame: Buffer) => void): void;
  /** True while a frame is partly received. */
  readonly hasPartial: boolean;
}

/** Options of a {@link StreamConnection}. */
export interface StreamConnectionOptions<T = unknown> extends ConnectionOptions<T> {
  /**
   * Bytes queued for the socket but not yet taken by the kernel before `send` waits. This bounds
   * the memory a slow reader can make the writer hold. Default 1 MiB.
   */
  writeHighWaterMark?: number;
  /** Makes the decoder for incoming bytes. Default: the core 4-byte big-endian framing. */
  createDecoder?: (maxFrameBytes: number) => StreamDecoder;
  /** Makes the header written before a payload. Default: a 4-byte big-endian length. */
  encodeHeader?: (length: number) => Buffer;
  /** Milliseconds `close()` lets queued bytes drain before it destroys the socket. Default 2000. */
  closeTimeout?: number;
  /**
   * Do not read from the socket until `_startReading()` is called (the first receive). The socket
   * must be paused when attached. For a pipe end that may still move to another process: bytes
   * meant for it must stay in the kernel until then. Default false.
   */
  lazyRead?: boolean;
  /**
   * Most microseconds a receive that finds nothing queued keeps the event loop spinning (polling
   * the socket without sleeping) before it parks, so a reply on its way is read as soon as it
   * arrives, without the wake-up of a sleeping process (~10-20 us a hop here). Only the first
   * receive after a send spins (a receiver that only receives never does). Spinning burns CPU and,
   * on a busy machine, delays the peer; so the connection keeps measuring its round-trip cycles
   * with spinning and without (alternating now and then) and spins only while that is clearly
   * faster. 0 (default) never spins; at most 1000.
   */
  spin?: number;
}

// The largest `spin` accepted, in microseconds.
const MAX_SPIN_US = 1000;

/**
 * Checks a `spin` option (microseconds, 0 to 1000) and returns it, `fallback` when undefined.
 * @throws {RangeError} for anything else
 */
export function validateSpin(spin: unknown, fallback = 0): number {
  if (spin === undefined) return fallback;
  if (typeof spin !== 'number' || Number.isNaN(spin) || spin < 0 || spin > MAX_SPIN_US) {
    throw new RangeError(`spin must be a number of microseconds between 0 and ${MAX_SPIN_US}, got ${String(spin)}`);
  }
  return spin;
}

/** The `onread` option of a `net.Socket` (see {@link directReads}). */
export interface SocketOnread {
  buffer: () => Uint8Array;
  callback: (bytes: number, buffer: Uint8Array) => boolean;
}

// Direct reads land in pooled buffers (frames are views into them, as they are into the stream's
// chunks); a new pool is taken when less than a good read's worth is left.
const READ_POOL_BYTES = 64 * 1024;
const MIN_READ_BYTES = 16 * 1024;

// Takes a socket's reads for the StreamConnection attached to it. Until one is (or after it let
// go), reads are held and the socket stops reading.
class DirectReader {
  #pool = Buffer.allocUnsafe(0);
  #off = 0;
  #held: Buffer[] = [];
  #sink: ((chunk: Buffer) => void) | undefined;
  readonly onread: SocketOnread = {
    buffer: () => {
      if (this.#pool.length - this.#off < MIN_READ_BYTES) {
        this.#pool = Buffer.allocUnsafe(READ_POOL_BYTES);
        this.#off = 0;
      }
      return this.#pool.subarray(this.#off);
    },
    // `buffer` is what the last buffer() returned: the pool from #off.
    callback: (bytes, buffer) => {
      const chunk = Buffer.from(buffer.buffer, buffer.byteOffset, bytes);
      this.#off += bytes;
      if (this.#sink) {
        this.#sink(chunk);
        return true;
      }
      this.#held.push(chunk);
      return false;
    },
  };

  attach(sink: (chunk: Buffer) => void): void {
    this.#sink = sink;
    const held = this.#held;
    this.#held = [];
    for (const chunk of held) sink(chunk);
  }

  detach(): void {
    this.#sink = undefined;
  }
}

const directReaders = new WeakMap<object, DirectReader>();

/**
 * Makes a `net.Socket` whose reads go straight to the {@link StreamConnection} that will carry it:
 * `make` gets the `onread` option to create the socket with. Reads then land in pooled buffers
 * handed to the connection's decoder, without the stream's buffering and 'data' events (about
 * 3 us less CPU a read here). Other streams work as they are.
 * @example
 * const socket = directReads((onread) => net.connect({ path, onread }));
 * const conn = new StreamConnection(socket);
 */
export function directReads<S extends Duplex>(make: (onread: SocketOnread) => S): S {
  const reader = new DirectReader();
  const socket = make(reader.onread);
  directReaders.set(socket, reader);
  return socket;
}

interface SendWaiter {
  frame: Uint8Array;
  resolve(): void;
  reject(err: unknown): void;
}

// Payloads up to this size are copied into a shared slab so that many frames leave in one write;
// larger ones go out as they are (no copy) and their send resolves when the kernel took them.
const COPY_LIMIT = 16 * 1024;
const SLAB_BYTES = 256 * 1024;
const MIN_SLAB_BYTES = 16 * 1024;

// Connections with bytes that may still sit in user space. On `process.exit()` (a child returning
// from main, say) they are written synchronously when nothing is in flight, so that
// `await send(); process.exit()` does not lose the message.
const exitFlushers = new Set<() => void>();
let exitHooked = false;
function onExitFlush(flush: () => void): () => void {
  if (!exitHooked) {
    exitHooked = true;
    process.on('exit', () => {
      for (const f of exitFlushers) {
        try {
          f();
        } catch {
          // best effort: the process is going away
        }
      }
    });
  }
  exitFlushers.add(flush);
  return () => exitFlushers.delete(flush);
}

interface WritableInternals {
  _writableState?: { writing?: boolean };
  _handle?: { fd?: number };
  encrypted?: boolean;
  writableBuffer?: Array<{ chunk: unknown }>;
}

function writeAllSync(fd: number, chunk: Uint8Array): boolean {
  let off = 0;
  for (let tries = 0; off < chunk.byteLength && tries < 100_000; tries++) {
    try {
      off += writeSync(fd, chunk, off);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') return false;
    }
  }
  return off === chunk.byteLength;
}

function defaultHeader(length: number): Buffer {
  const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  header.writeUInt32BE(length, 0);
  return header;
}

/**
 * A {@link ConnectionBase} over a byte stream (a `net.Socket`, a `tls.TLSSocket`, any Duplex),
 * framed with length prefixes. Writes in the same tick are batched into one `writev`; a read
 * yields every frame it holds. `send` resolves when the bytes were handed on (small messages are
 * copied, large ones resolve when the kernel took them) and waits while more than
 * `writeHighWaterMark` bytes are queued, so a slow reader bounds the writer's memory. The peer's
 * EOF, reset or death rejects pending and later calls with `ERR_IPC_CLOSED`. With `spin`, a receive
 * right after a send keeps the event loop turning for a few microseconds before it parks.
 *
 * Subclasses may start without a socket and `_attach` one later, and override `_socketGone` to
 * reconnect instead of ending.
 */
export class StreamConnection<T = unknown> extends ConnectionBase<T> {
  readonly #writeHwm: number;
  readonly #createDecoder: (max: number) => StreamDecoder;
  readonly #encodeHeader: ((length: number) => Buffer) | undefined; // undefined: the core header, written in place
  readonly #closeTimeout: number;
  #socket: Duplex | undefined;
  #detach: (() => void) | undefined;
  #slab: Buffer = Buffer.allocUnsafe(0);
  #slabStart = 0;
  #slabEnd = 0;
  #corked = false;
  #flushScheduled = false;
  #waiters: SendWaiter[] = [];
  #pausedByInbox = false;
  #reading: boolean;
  #gone: IpcError | undefined;
  readonly #spinMax: number;
  // Whether spinning pays, measured (made by the first spin; see spin.ts).
  #judge: SpinJudge | undefined;
  // Only a receive after a send spins (a reply may be on its way): a receiver that only receives
  // never does.
  #replyExpected = false;
  #spinRead: (() => void) | undefined;

  /**
   * @param socket - the connected stream, or undefined to attach one later with `_attach`
   * @param options - codec, bounds, back-pressure and wire format
   */
  constructor(socket: Duplex | undefined, options: StreamConnectionOptions<T> = {}) {
    super(options);
    const hwm = options.writeHighWaterMark ?? 1024 * 1024;
    if (!Number.isInteger(hwm) || hwm < 1) throw new RangeError(`writeHighWaterMark must be a positive integer, got ${hwm}`);
    const closeTimeout = options.closeTimeout ?? 2000;
    if (typeof closeTimeout !== 'number' || Number.isNaN(closeTimeout) || closeTimeout < 0) {
      throw new RangeError(`closeTimeout must be a number >= 0, got ${String(closeTimeout)}`);
    }
    this.#spinMax = validateSpin(options.spin);
    this.#writeHwm = hwm;
    this.#closeTimeout = closeTimeout;
    this.#createDecoder = options.createDecoder ?? ((max) => new FrameDecoder({ maxFrameBytes: max }));
    this.#encodeHeader = options.encodeHeader;
    this.#reading = !options.lazyRead;
    if (socket) this._attach(socket);
  }

  /** The stream currently carrying this connection, if any. */
  protected get _socket(): Duplex | undefined {
    return this.#socket;
  }

  /**
   * Starts carrying the connection over `socket`. `leftover` holds bytes already read from it
   * (after a handshake) that belong to the framed stream.
   */
  protected _attach(socket: Duplex, leftover?: Buffer): void {
    if (this.#socket) throw new Error('StreamConnection: a socket is already attached');
    this.#socket = socket;
    this.#gone = undefined;
    const decoder = this.#createDecoder(this.maxMessageBytes);
    let frames = 0;
    const onFrame = (frame: Buffer) => {
      frames++;
      this.#judge?.frameArrived();
      this._deliver(frame);
    };
    // Every way the socket goes ends here (and destroys it); events of a socket that was already
    // replaced (a reconnecting subclass) are ignored.
    const lose = (err: IpcError) => {
      if (this.#socket === socket) this.#lost(err);
    };
    const onData = (chunk: Buffer) => {
      if (this.#socket !== socket) return;
      this._onBytes();
      try {
        decoder.push(chunk, onFrame);
      } catch (err) {
        lose(IpcError.is(err) ? err : new IpcError('ERR_IPC_PROTOCOL', 'bad frame from the peer', { cause: err }));
      }
    };
    const onEnd = () => lose(decoder.hasPartial
      ? new IpcError('ERR_IPC_CLOSED', 'the peer closed the connection in the middle of a message')
      : new IpcError('ERR_IPC_CLOSED', 'the peer closed the connection'));
    const onError = (err: Error) => lose(new IpcError('ERR_IPC_CLOSED', `the connection failed: ${err.message}`, {
      cause: err,
      errno: (err as NodeJS.ErrnoException).code,
    }));
    const onClose = () => lose(new IpcError('ERR_IPC_CLOSED', 'the connection closed'));
    const onDrain = () => this.#drainWaiters();
    const reader = directReaders.get(socket);
    if (reader) reader.attach(onData);
    else socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('error', onError);
    socket.on('close', onClose);
    socket.on('drain', onDrain);
    const unhookExit = onExitFlush(() => {
      if (this.#socket !== socket) return;
      const raw = socket as unknown as WritableInternals;
      const fd = raw._handle?.fd;
      // Only a plain socket with nothing in flight: TLS must encrypt, and an in-flight write
      // would interleave.
      if (raw.encrypted || typeof fd !== 'number' || fd < 0 || raw._writableState?.writing) return;
      for (const entry of raw.writableBuffer ?? []) {
        if (!(entry.chunk instanceof Uint8Array) || !writeAllSync(fd, entry.chunk)) return;
      }
      if (this.#slabEnd > this.#slabStart) writeAllSync(fd, this.#slab.subarray(this.#slabStart, this.#slabEnd));
    });
    this.#spinRead = this.#spinMax > 0 ? () => this.#spinLoop(socket, () => frames) : undefined;
    this.#detach = () => {
      this.#spinRead = undefined;
      unhookExit();
      reader?.detach();
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('drain', onDrain);
      socket.off('close', onClose);
      // keep an error listener: a late EPIPE after detaching must not crash the process
      socket.off('error', onError);
      socket.on('error', () => {});
    };
    if (this.#pausedByInbox || !this.#reading) socket.pause();
    else socket.resume();
    if (leftover && leftover.length > 0) onData(leftover);
    this.#drainWaiters();
  }

  protected override _spin(): boolean {
    this.#spinRead?.();
    return false;
  }

  // For the first receive after a send (a reply may be on its way), when spinning pays: keeps the
  // event loop turning with setImmediate until a frame comes, the socket goes or the window
  // passes. While an immediate is pending, libuv polls with a zero timeout instead of sleeping, so
  // a reply is read as soon as it arrives, through libuv's usual path (order, EOF, errors and
  // writes as always), without the wake-up of a sleeping process.
  #spinLoop(socket: Duplex, frames: () => number): void {
    if (!this.#replyExpected) return;
    this.#replyExpected = false;
    const start = performance.now();
    const judge = (this.#judge ??= new SpinJudge(this.#spinMax));
    judge.waitStarted(start);
    if (!judge.polling || this.#socket !== socket || !this.#reading || this.#pausedByInbox) return;
    const deadline = start + this.#spinMax / 1000;
    const before = frames();
    const turn = (): void => {
      if (this.#socket === socket && frames() === before && performance.now() < deadline) setImmediate(turn);
    };
    setImmediate(turn);
  }

  /** Called whenever bytes arrive (idle timers hook here). */
  protected _onBytes(): void {}

  /**
   * The socket went away (EOF, error, reset, oversize frame). The default ends the connection with
   * `error`; a reconnecting subclass may instead attach a new socket.
   */
  protected _socketGone(error: IpcError): void {
    this._end(error);
    this.#rejectWaiters(error);
  }

  #lost(error: IpcError): void {
    const socket = this.#socket;
    if (!socket) return;
    this.#detach?.();
    this.#detach = undefined;
    this.#socket = undefined;
    this.#slab = Buffer.allocUnsafe(0);
    this.#slabStart = this.#slabEnd = 0;
    this.#corked = false;
    this.#gone = error;
    socket.destroy();
    this._socketGone(error);
  }

  /** Drops the current socket (destroying it) as if it failed with `error`. */
  protected _dropSocket(error: IpcError): void {
    this.#lost(error);
  }

  #rejectWaiters(error: IpcError): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w.reject(error);
  }

  #pending(): number {
    return (this.#socket?.writableLength ?? 0) + (this.#slabEnd - this.#slabStart);
  }

  /** Writes raw bytes (a control frame) in order with the framed messages. */
  protected _writeRaw(bytes: Buffer): void {
    if (!this.#socket) return;
    this.#appendSmall(bytes, undefined);
  }

  protected _write(frame: Uint8Array, options: WaitOptions | undefined): Promise<void> {
    this.#replyExpected = true;
    if (!this.#socket && this.#gone && this._endError) return Promise.reject(this._endError);
    if (this.#waiters.length === 0 && this.#socket && this.#pending() < this.#writeHwm) {
      return this.#enqueue(frame, options);
    }
    let waiter: SendWaiter;
    return waitFor<void>(options, (resolve, reject, scope) => {
      waiter = { frame, resolve, reject };
      this.#waiters.push(waiter);
      scope.onCleanup(() => {
        const i = this.#waiters.indexOf(waiter);
        if (i >= 0) this.#waiters.splice(i, 1);
      });
    }, 'send');
  }

  #drainWaiters(): void {
    while (this.#waiters.length > 0 && this.#socket && this.#pending() < this.#writeHwm) {
      const w = this.#waiters.shift()!;
      this.#enqueue(w.frame, undefined).then(w.resolve, w.reject);
    }
  }

  #enqueue(frame: Uint8Array, options: WaitOptions | undefined): Promise<void> {
    const length = frame.byteLength;
    if (length <= COPY_LIMIT) {
      this.#appendSmall(this.#encodeHeader?.(length), frame);
      return Promise.resolve();
    }
    const header = this.#encodeHeader?.(length) ?? defaultHeader(length);
    // Large: flush what is batched, then write header and payload without copying the payload;
    // the caller may reuse its buffer once the kernel took it, so send resolves only then.
    const socket = this.#socket!;
    this.#cork();
    this.#flushSlab();
    socket.write(header);
    let written: ((err?: Error | null) => void) | undefined;
    let result: Error | null | undefined;
    socket.write(frame, (err) => {
      result = err ?? null;
      written?.(err);
    });
    return waitFor<void>(options, (resolve, reject, scope) => {
      written = (err) => {
        if (err) reject(new IpcError('ERR_IPC_CLOSED', `the connection failed: ${err.message}`, { cause: err }));
        else resolve();
      };
      if (result !== undefined) written(result);
      // On timeout the message stays queued and is delivered once the reader reads.
      scope.onCleanup(() => (written = undefined));
    }, 'send (the message is queued; it waited for the kernel to take it)');
  }

  // `header` undefined: the core 4-byte length of `payload`, written straight into the slab (no
  // buffer per message).
  #appendSmall(header: Buffer | undefined, payload: Uint8Array | undefined): void {
    const payloadBytes = payload?.byteLength ?? 0;
    const need = (header ? header.length : FRAME_HEADER_BYTES) + payloadBytes;
    // Reuse the slab once the kernel took everything written from it: fresh memory costs a page
    // fault per 4 KiB here, more than the copy itself.
    if (this.#slabStart === this.#slabEnd && this.#slabEnd > 0 && this.#socket!.writableLength === 0) {
      this.#slabStart = this.#slabEnd = 0;
    }
    if (this.#slab.length - this.#slabEnd < need) {
      if (this.#slabEnd > this.#slabStart) {
        this.#cork();
        this.#flushSlab();
      }
      const size = Math.min(SLAB_BYTES, Math.max(MIN_SLAB_BYTES, this.#slab.length * 2));
      this.#slab = Buffer.allocUnsafe(Math.max(size, need));
      this.#slabStart = this.#slabEnd = 0;
    }
    if (header) {
      header.copy(this.#slab, this.#slabEnd);
      this.#slabEnd += header.length;
    } else {
      this.#slab.writeUInt32BE(payloadBytes, this.#slabEnd);
      this.#slabEnd += FRAME_HEADER_BYTES;
    }
    if (payload) {
      this.#slab.set(payload, this.#slabEnd);
      this.#slabEnd += payloadBytes;
    }
    if (!this.#flushScheduled && !this.#corked && this.#socket!.writableLength === 0) {
      // Idle socket: the first message of a tick leaves at once (the peer wakes while we go on);
      // whatever else this tick sends is batched behind it in the slab.
      this.#flushSlab();
    }
    this.#scheduleFlush();
  }

  // One flush of the slab when the tick ends. Small messages need no cork: they batch in the slab,
  // which leaves as one write; corking (a large message) is for writes that bypass the slab.
  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    process.nextTick(this.#endOfTick);
  }

  readonly #endOfTick = (): void => {
    this.#flushScheduled = false;
    // A socket attached since this was scheduled holds only bytes appended after it (#lost empties the slab).
    if (this.#socket) this.#flushSlab();
  };

  #cork(): void {
    if (this.#corked) return;
    this.#corked = true;
    const socket = this.#socket!;
    socket.cork();
    // Everything sent in this tick leaves in one writev when the tick ends.
    process.nextTick(() => {
      if (this.#socket !== socket) return;
      this.#flushSlab();
      this.#corked = false;
      socket.uncork();
    });
  }

  #flushSlab(): void {
    if (this.#slabEnd === this.#slabStart) return;
    const chunk = this.#slab.subarray(this.#slabStart, this.#slabEnd);
    this.#slabStart = this.#slabEnd;
    this.#socket!.write(chunk);
  }

  /** Starts reading (with `lazyRead`); idempotent. */
  protected _startReading(): void {
    if (this.#reading) return;
    this.#reading = true;
    if (!this.#pausedByInbox) this.#socket?.resume();
  }

  protected override _pause(): void {
    this.#pausedByInbox = true;
    this.#socket?.pause();
  }

  protected override _resume(): void {
    this.#pausedByInbox = false;
    if (this.#reading) this.#socket?.resume();
  }

  protected _destroy(): Promise<void> {
    const closed = new IpcError('ERR_IPC_CLOSED', 'the connection is closed');
    this.#rejectWaiters(closed);
    const socket = this.#socket;
    if (!socket) return Promise.resolve();
    if (this.#socket === socket) this.#flushSlab();
    this.#detach?.();
    this.#detach = undefined;
    this.#socket = undefined;
    if (this.#corked) {
      this.#corked = false;
      socket.uncork();
    }
    if (socket.destroyed) return Promise.resolve();
    // Ends gracefully (queued bytes drain, then FIN) without making close() wait for the peer; a
    // peer that never reads or never closes gets the socket destroyed after closeTimeout.
    const timer = setTimeout(() => socket.destroy(), this.#closeTimeout);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
    // Read and drop whatever still arrives, so the peer's FIN is seen and 'close' follows.
    directReaders.get(socket)?.attach(() => {});
    socket.on('data', () => {});
    socket.resume();
    socket.end();
    return Promise.resolve();
  }
}
