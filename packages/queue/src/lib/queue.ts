import { randomBytes } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync, readdirSync, statSync, unlinkSync, writeSync } from 'node:fs';
import {
  IpcError,
  SharedMemory,
  abortError,
  codecName,
  fromSystemError,
  isProcessAlive,
  iterateUntilClosed,
  moduleUrl,
  notify,
  selfStartTime,
  registerHandleKind,
  resolveCodec,
  structuredCodec,
  structuredFast,
  timeoutError,
  toHandle,
  validateWaitOptions,
  wait,
  waitFor,
} from './deps.js';
import type { Codec, CodecName, Handle, HandleContext, QueueInterface, Shareable, TryGetResult, WaitOptions } from './deps.js';
import {
  HEADER_BYTES,
  H_CAPACITY,
  H_CLOSED,
  H_CODEC,
  H_DONE_COUNT,
  H_GET_ARMED,
  H_GET_COUNT,
  H_GET_LOCK,
  H_HEAD,
  H_HEADER_BYTES,
  H_INLINE_MAX,
  H_JG_NEW_COUNT,
  H_JG_NEW_HEAD,
  H_JG_OLD_COUNT,
  H_JG_OLD_HEAD,
  H_JG_VALID,
  H_JOIN_SEQ,
  H_JOIN_WAITERS,
  H_JP_COUNT,
  H_JP_TAIL,
  H_JP_VALID,
  H_KIND,
  H_MAGIC,
  H_MAXSIZE,
  H_MAX_ITEM_BYTES,
  H_NOT_EMPTY,
  H_NOT_FULL,
  H_OOL_SEQ,
  H_OWNER_DIED,
  H_PUT_ARMED,
  H_PUT_COUNT,
  H_PUT_LOCK,
  H_SEEN_GET_COUNT,
  H_SEEN_HEAD,
  H_SEEN_TAIL,
  H_SLOTS,
  H_TAIL,
  H_VERSION,
  KIND_DATA,
  KIND_OUT_OF_LINE,
  KIND_PAD,
  MAGIC,
  QUEUE_JOINABLE,
  QUEUE_PLAIN,
  QUEUE_SIMPLE,
  RECORD_HEADER,
  SLOT_COUNT,
  VERSION,
  recordBytes,
} from './layout.js';
import { Attachment, loadAfterFence, peekWord, storeBeforeUnlock } from './lock.js';

// The structured codec's fast path (in @ipc/core): the queue encodes straight into its ring.
const { NOT_PLAIN, decodePlainAt, decodeStructured, encodeStructured, encodeToScratch, scratch, scratch32 } = structuredFast;

/** Default ring size: 4 MiB of shared memory (pages are touched only as the ring fills). */
export const DEFAULT_CAPACITY_BYTES = 4 * 1024 * 1024;
/** Smallest ring. */
export const MIN_CAPACITY_BYTES = 4096;
/** Largest ring (1 GiB). */
export const MAX_CAPACITY_BYTES = 2 ** 30;
/** Default bound on one item's encoding: 64 MiB. */
export const DEFAULT_MAX_ITEM_BYTES = 64 * 1024 * 1024;
/** Largest allowed `maxItemBytes` (1 GiB). */
export const MAX_ITEM_BYTES_LIMIT = 2 ** 30;
/** Largest allowed `maxsize`. */
export const MAX_MAXSIZE = 2 ** 31 - 1;
/** Most items one {@link Queue.getMany} call returns. */
export const MAX_GET_MANY = 65_536;
/** Longest queue name (out-of-line segments append a suffix to it). */
export const MAX_QUEUE_NAME_LENGTH = 160;
/** The handle kind of every queue class. */
export const QUEUE_KIND = '@ipc/queue.Queue';

/**
 * Sleepers look again at least this often: a waker SIGKILLed between clearing the armed flag and
 * notifying would otherwise leave them asleep with work waiting.
 */
const RECHECK_MS = 250;
const SPIN_MIN_US = 4;
const SPIN_MAX_US = 64;
const CODEC_IDS: Record<CodecName, number> = { structured: 1, json: 2, bytes: 3, msgpack: 4 };
const CODEC_NAMES: Record<number, CodecName> = { 1: 'structured', 2: 'json', 3: 'bytes', 4: 'msgpack' };
const NAME_RE = /^[A-Za-z0-9._-]+$/;
const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

/** Options of {@link Queue}. */
export interface QueueOptions<T = unknown> {
  /** The segment name (`/dev/shm/<name>`), for {@link Queue.open} elsewhere; random when omitted. */
  name?: string | undefined;
  /** Most items held at once; `0` (default) means no item limit, only the ring's bytes. */
  maxsize?: number | undefined;
  /** Bytes of the ring (default 4 MiB), rounded up to a power of two, 4 KiB .. 1 GiB. */
  capacityBytes?: number | undefined;
  /** The codec (default structured clone); a custom codec must be given again to {@link Queue.open}. */
  codec?: Codec<T> | CodecName | undefined;
  /**
   * The largest encoded item (default 64 MiB, at most 1 GiB). Items over half the ring travel
   * out of line in a segment of their own (never chunked through the ring; its producer reuses it
   * once it was copied out); items over this bound are refused with `ERR_IPC_TOO_LARGE` before
   * anything is written.
   */
  maxItemBytes?: number | undefined;
  /** Unlink the queue (and its out-of-line segments) when the creating process exits (default true). */
  unlinkOnExit?: boolean | undefined;
}

/** Options of {@link Queue.open}. */
export interface OpenQueueOptions<T = unknown> {
  /** The codec, when the queue was created with a custom one (built-in codecs are found by name). */
  codec?: Codec<T> | CodecName | undefined;
}

/** Options of {@link Queue.getBytes}. */
export interface GetBytesOptions extends WaitOptions {
  /**
   * Copy the item into this buffer and return a view of it (`into.subarray(0, length)`) instead of
   * a new allocation, like Python's `Connection.recv_bytes_into`. A receive loop that reuses one
   * buffer saves a fresh allocation per item, and for large items the page faults of memory touched
   * for the first time, which cost more than the copy. An item longer than `into` is refused with
   * `ERR_IPC_TOO_LARGE` (`details: { length, capacity }`) and stays first in the queue.
   */
  into?: Uint8Array | undefined;
}

interface Getter {
  raw: boolean;
  into: Uint8Array | undefined;
  /** A getMany: up to this many items, resolved as an array; 0 for a single item. */
  max: number;
  resolve(value: unknown): void;
  reject(err: unknown): void;
}

interface Prepared {
  kind: number;
  payload: Uint8Array;
  need: number;
  /** A one-shot out-of-line segment (its consumer unlinks it). */
  segment: OneShot | undefined;
  /** A reusable out-of-line segment of this producer's pool. */
  pooled?: PoolSegment | undefined;
  /**
   * An out-of-line item waiting for a segment of the pool to come free (its consumers are behind):
   * its bytes, written to the segment by #commit.
   */
  deferred?: Uint8Array | undefined;
  /** The pool whose spare buffer `deferred` is a view of. */
  spareOf?: Pool | undefined;
}

/**
 * A reusable out-of-line segment: `cap` payload bytes, then a state word in the last 64 bytes.
 * Writing fresh /dev/shm pages costs several times the copy (a page fault and a page clear per
 * 4 KiB), so a producer writes its next large item into a segment its consumer has finished with.
 */
interface PoolSegment {
  readonly seg: SharedMemory;
  readonly name: string;
  readonly cap: number;
  readonly state: Int32Array;
  readonly ino: number;
  readonly pool: Pool;
  lastUsed: number;
  /** TAIL just after the record naming it was committed (NO_INDEX before that). */
  committedAt: number;
  /** When this producer first saw that record taken (HEAD past it) with the segment still BUSY; 0 before. */
  takenSeen: number;
  /** When the pool's trim first saw it FREE (0: not seen so); a segment long BUSY is not idle. */
  freeSeen: number;
}

interface Pool {
  readonly segments: PoolSegment[];
  readonly maxBytes: number;
  trim: NodeJS.Timeout | undefined;
  /**
   * Where the first item waiting for a segment keeps its bytes (reused: a fresh copy aside per item
   * would fault in new pages each time); dropped by the trim when not in use.
   */
  spare: Uint8Array | undefined;
  spareBusy: boolean;
}

interface Putter {
  rec: Prepared;
  resolve(): void;
  reject(err: unknown): void;
}

/** An item decoded while it was taken (plain data read straight from the ring). */
class Decoded {
  constructor(readonly value: unknown) {}
}

/** The next item did not fit the caller's `into` buffer: it was left in the queue. */
class Refused {
  constructor(readonly error: IpcError) {}
}

type Taken = Uint8Array | IpcError | Decoded | Refused;

/** An out-of-line item taken under the lock, copied out after it: from a mapping or a descriptor. */
interface OutOfLine {
  at: number;
  name: string;
  size: number;
  into: Uint8Array | undefined;
  seg: SharedMemory | undefined;
  fd: number | undefined;
}

/** #encodeOrCommit put the item in the ring. */
const COMMITTED: unique symbol = Symbol('committed');
/** #takeOne found nothing. */
const NONE: unique symbol = Symbol('none');
/**
 * Whether the last #takeOne returned a decoded value (true) or something to finish (false). A flag
 * here rather than the value in a field: storing an object into the queue costs a write barrier.
 */
let tookValue = false;

function closedError(what: string): IpcError {
  return new IpcError('ERR_IPC_CLOSED', `${what}: the queue is closed`);
}

function tooLarge(bytes: number, max: number): IpcError {
  return new IpcError('ERR_IPC_TOO_LARGE', `item encodes to ${bytes} bytes, over maxItemBytes (${max})`, { details: { length: bytes, maxItemBytes: max } });
}

function intoTooSmall(length: number, capacity: number): Refused {
  return new Refused(
    new IpcError('ERR_IPC_TOO_LARGE', `the next item is ${length} bytes, over the ${capacity} bytes of options.into; it stays in the queue`, {
      details: { length, capacity },
    }),
  );
}

function intOption(value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) throw new TypeError(`${name} must be an integer, got ${String(value)}`);
  if (value < min) throw new RangeError(`${name} must be >= ${min}, got ${value}`);
  if (value > max) throw new RangeError(`${name} must be <= ${max}, got ${value}`);
  return value;
}

function pow2(n: number): number {
  let p = MIN_CAPACITY_BYTES;
  while (p < n) p *= 2;
  return p;
}

// Queues this process created with unlinkOnExit: their out-of-line segments are swept at exit.
const createdHere = new Set<string>();
let exitHook = false;

/** The out-of-line segments of queue `name` present in /dev/shm. */
function outOfLineNames(name: string): string[] {
  const prefix = `${name}-o`;
  try {
    return readdirSync('/dev/shm').filter((n) => n.startsWith(prefix));
  } catch {
    return [];
  }
}

function unlinkName(name: string): void {
  // By path, not through shm_open: a producer killed between shm_open and ftruncate leaves a
  // zero-length segment that cannot be opened as a SharedMemory.
  try {
    unlinkSync(`/dev/shm/${name}`);
  } catch {
    // gone already
  }
}

function sweepAll(name: string): void {
  for (const n of outOfLineNames(name)) unlinkName(n);
}

// Reusable out-of-line segments. The state word is written by the producer (BUSY when it writes an
// item, ORPHAN when it lets the segment go) and by the consumer once it copied the item out (BUSY ->
// FREE, or unlink when ORPHAN): exactly one of them unlinks it. A one-shot segment (the old kind, used
// when the pool is full) is exactly as long as its item, and its consumer unlinks it.
const SEG_STATE_BYTES = 64;
const SEG_BUSY = 1;
const SEG_FREE = 2;
const SEG_ORPHAN = 3;
/** Most reusable segments one producer handle keeps (in use or free). */
const POOL_SEGMENTS = 4;
/** Mappings of other producers' reusable segments a consumer handle keeps. */
const SEG_CACHE = 8;
/** A free segment unused this long (and seen free on two ticks of the trim, this far apart) is unlinked. */
const POOL_IDLE_MS = 1000;
/**
 * A segment still in use this long after its producer saw its item taken (HEAD past its record) is
 * let go when the pool needs room: its consumer died before copying it out, or is that slow. It
 * becomes ORPHAN, unlinked by the consumer once it copied it out, or with the queue.
 */
const POOL_STUCK_MS = 1000;

// Producers' pools, let go at exit (a producer need not dispose its handle).
const livePools = new Set<Pool>();
let poolExitHook = false;

/**
 * Gives a segment up: unlinked now if free (and its name still ours: a queue re-created under the
 * same name after a dispose may use it again), else by the consumer that copies its item out.
 */
function letGo(p: PoolSegment): void {
  const at = p.pool.segments.indexOf(p);
  if (at >= 0) p.pool.segments.splice(at, 1);
  if (Atomics.compareExchange(p.state, 0, SEG_BUSY, SEG_ORPHAN) !== SEG_BUSY && inodeOf(p.name) === p.ino) unlinkName(p.name);
  p.seg.close();
}

/** Unlinks a segment no record names (an item that was never committed). */
function dropPooled(p: PoolSegment): void {
  Atomics.store(p.state, 0, SEG_FREE);
  letGo(p);
}

function closePool(pool: Pool): void {
  for (const p of [...pool.segments]) letGo(p);
  if (pool.trim) clearInterval(pool.trim);
  pool.trim = undefined;
  livePools.delete(pool);
}

/**
 * The consumer's side: done with the item in `seg` (`size` bytes), named `name`.
 * @returns true when the segment went back to its producer (its next item may come in it)
 */
function releaseSegment(seg: SharedMemory, name: string, size: number): boolean {
  if (seg.size !== size) {
    const state = new Int32Array(seg.buffer, seg.size - SEG_STATE_BYTES, 1);
    // Back to its producer, unless that one was killed since: then nobody else would unlink it.
    if (Atomics.compareExchange(state, 0, SEG_BUSY, SEG_FREE) === SEG_BUSY && producerAlive(name)) return true;
  }
  try {
    seg.unlink();
  } catch {
    // gone already (swept)
  }
  seg.close();
  return false;
}

/**
 * A one-shot out-of-line segment: a /dev/shm file exactly as long as its item, written and read
 * with write(2) and read(2), never mapped. A mapping would keep its pages (and the /dev/shm space)
 * after the unlink until V8 collects the buffer, which it does not hurry for shared memory.
 */
class OneShot {
  private constructor(readonly name: string) {}

  /**
   * Creates `/dev/shm/<name>` holding `bytes`.
   * @throws {IpcError} ERR_IPC_TOO_LARGE when /dev/shm cannot hold it
   */
  static write(name: string, bytes: Uint8Array): OneShot {
    const path = `/dev/shm/${name}`;
    let fd: number;
    try {
      fd = openSync(path, 'wx', 0o600);
    } catch (err) {
      throw fromSystemError(err, `cannot create the out-of-line segment '${name}'`);
    }
    try {
      for (let done = 0; done < bytes.byteLength; ) done += writeSync(fd, bytes, done, bytes.byteLength - done, done);
    } catch (err) {
      closeSync(fd);
      unlinkName(name);
      throw fromSystemError(err, `cannot write the out-of-line segment '${name}' (${bytes.byteLength} bytes)`);
    }
    closeSync(fd);
    return new OneShot(name);
  }

  close(): void {
    // nothing mapped, nothing open
  }

  unlink(): void {
    unlinkName(this.name);
  }
}

/** The record payload of an out-of-line item: its length, then the segment's name. */
function outOfLinePayload(segName: string, len: number): Uint8Array {
  const nameBytes = textEncoder.encode(segName);
  const payload = new Uint8Array(4 + nameBytes.byteLength);
  new DataView(payload.buffer).setUint32(0, len, true);
  payload.set(nameBytes, 4);
  return payload;
}

function align4k(n: number): number {
  return Math.ceil(n / 4096) * 4096;
}

/**
 * False when the producer named in a segment's name is gone. One kill(pid, 0) per item (reading
 * /proc costs about as much as copying the item): a reused pid only makes a segment wait for sweep().
 */
function producerAlive(segName: string): boolean {
  const m = /-o(\d+)-\d+-\d+$/.exec(segName);
  if (!m) return true;
  const pid = Number(m[1]);
  if (pid === process.pid || !(pid > 0)) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

function inodeOf(name: string): number {
  try {
    return statSync(`/dev/shm/${name}`).ino;
  } catch {
    return -1;
  }
}

const slots = new FinalizationRegistry<Attachment>((att) => att.release());

const RESOLVED = Promise.resolve();
/** Equal to no ring index (those are int32): what #myTail and #myHead hold before a first commit. */
const NO_INDEX = 2 ** 32;

// State handed from Queue.open to the constructor.
let opening: { shm: SharedMemory; codec: Codec<unknown> } | undefined;


/**
 * A FIFO queue in shared memory, shared by any number of producer and consumer processes and
 * threads (Python's `multiprocessing.Queue`, without its feeder thread and its exit deadlock). Each
 * item goes to exactly one consumer, in FIFO order per producer. Items live in a ring in a
 * `/dev/shm` segment; an item over half the ring travels out of line in a segment of its
 * own. Pass it to a {@link https://nodejs.org/api/child_process.html | Process} or a thread as an
 * argument, or attach with {@link Queue.open}.
 *
 * Closing (`close()`) closes the queue for everyone; disposing (`await using`) only detaches this
 * handle (the creator's handle also unlinks the name).
 *
 * @example
 * await using queue = new Queue<{ job: number }>({ maxsize: 1000 });
 * const worker = new Process(new URL('./worker.js', import.meta.url), { args: [queue] }).start();
 * await queue.put({ job: 1 });
 * // worker.js: const [queue] = await processArgs(); for await (const job of queue) { ... }
 */
export class Queue<T = unknown> implements QueueInterface<T>, Shareable {
  /** The segment name, to pass to {@link Queue.open}. */
  readonly name: string;
  /** The most items held at once (0: no item limit). */
  readonly maxsize: number;
  /** Bytes of the ring. */
  readonly capacityBytes: number;
  /** The bound on one encoded item. */
  readonly maxItemBytes: number;
  /** The codec items are encoded with. */
  readonly codec: Codec<T>;

  readonly #shm: SharedMemory;
  readonly #h: Int32Array;
  readonly #ring: Uint8Array;
  readonly #ring32: Int32Array;
  readonly #mask: number;
  readonly #inlineMax: number;
  readonly #raw: boolean;
  readonly #fast: boolean;
  readonly #creator: boolean;
  readonly #unlinkOnExit: boolean;
  #att: Attachment | undefined;
  #detached = false;
  readonly #getters: Getter[] = [];
  // Items this handle took but did not hand out: a getMany batch ends before an item that fails
  // (undecodable, its segment gone); that item and those after it wait here, first in line.
  readonly #held: Taken[] = [];
  readonly #putters: Putter[] = [];
  #getPump = false;
  #spinUs = SPIN_MIN_US * 4;
  #putPump = false;
  #getKick: AbortController | undefined;
  readonly #disposed = new AbortController();
  #putKick: AbortController | undefined;
  #pool: Pool | undefined;
  // Reusable out-of-line segments this handle took items from, by name, least recently used first.
  readonly #segCache = new Map<string, SharedMemory>();
  // Producer side: TAIL as this handle last wrote it (where its last out-of-line item went). What
  // the producers saw of HEAD and GET_COUNT is shared, in the header (SEEN_HEAD, SEEN_GET_COUNT).
  #myTail = NO_INDEX;
  // Consumer side: HEAD as this handle last left it and TAIL as it last saw it, for a look without
  // the lock; under the lock the shared SEEN_TAIL counts.
  #myHead = NO_INDEX;
  #seenTail = 0;
  // How many items the last #take decoded from the staging buffer.
  #plainTaken = 0;
  // A wake of producers waiting for room was put off (too little room yet): done when this thread
  // next returns to its event loop, unless a later take did it first.
  #wakeLater = false;
  readonly #lateWake = (): void => {
    this.#wakeLater = false;
    try {
      wakeNotFull(this.#h);
    } catch {
      // this handle's segment was closed meanwhile: the producers' own recheck finds the room
    }
  };

  /**
   * Creates a queue (a new segment).
   * @param options - `{ maxsize, capacityBytes, codec, maxItemBytes, name, unlinkOnExit }`
   * @throws {TypeError|RangeError} on a bad option, naming it and its limit
   * @throws {IpcError} ERR_IPC_EXISTS when `name` is taken; ERR_IPC_TOO_LARGE when /dev/shm cannot hold the ring
   */
  constructor(options: QueueOptions<T> = {}) {
    const open = opening;
    opening = undefined;
    if (open) {
      this.#shm = open.shm;
      this.codec = open.codec as Codec<T>;
      this.#creator = false;
      this.#unlinkOnExit = false;
    } else {
      if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
      const maxsize = options.maxsize === undefined ? 0 : intOption(options.maxsize, 'maxsize', 0, MAX_MAXSIZE);
      const capacity = pow2(
        options.capacityBytes === undefined ? DEFAULT_CAPACITY_BYTES : intOption(options.capacityBytes, 'capacityBytes', MIN_CAPACITY_BYTES, MAX_CAPACITY_BYTES),
      );
      const maxItemBytes =
        options.maxItemBytes === undefined ? DEFAULT_MAX_ITEM_BYTES : intOption(options.maxItemBytes, 'maxItemBytes', 1, MAX_ITEM_BYTES_LIMIT);
      const codec = resolveCodec<T>(options.codec);
      const unlinkOnExit = options.unlinkOnExit ?? true;
      if (typeof unlinkOnExit !== 'boolean') throw new TypeError('unlinkOnExit must be a boolean');
      let name: string;
      if (options.name === undefined) name = `ipcq_${randomBytes(8).toString('hex')}`;
      else {
        if (typeof options.name !== 'string') throw new TypeError(`name must be a string, got ${typeof options.name}`);
        name = options.name.startsWith('/') ? options.name.slice(1) : options.name;
        if (name.length === 0 || name.length > MAX_QUEUE_NAME_LENGTH) {
          throw new RangeError(`name must be 1 to ${MAX_QUEUE_NAME_LENGTH} characters, got ${name.length}`);
        }
        if (!NAME_RE.test(name)) throw new RangeError(`name may only contain letters, digits, '.', '_' and '-', got ${JSON.stringify(options.name)}`);
      }
      const shm = SharedMemory.create({ name, size: HEADER_BYTES + capacity, unlinkOnExit });
      const h = new Int32Array(shm.buffer, 0, HEADER_BYTES / 4);
      h[H_VERSION] = VERSION;
      h[H_HEADER_BYTES] = HEADER_BYTES;
      h[H_CAPACITY] = capacity;
      h[H_MAXSIZE] = maxsize;
      h[H_MAX_ITEM_BYTES] = maxItemBytes;
      h[H_CODEC] = CODEC_IDS[codecName(codec as Codec<unknown>) as CodecName] ?? 0;
      h[H_KIND] = new.target === JoinableQueue ? QUEUE_JOINABLE : new.target === SimpleQueue ? QUEUE_SIMPLE : QUEUE_PLAIN;
      h[H_SLOTS] = SLOT_COUNT;
      h[H_INLINE_MAX] = capacity / 2;
      // Last: an opener that sees MAGIC sees the rest.
      Atomics.store(h, H_MAGIC, MAGIC);
      this.#shm = shm;
      this.codec = codec;
      this.#creator = true;
      this.#unlinkOnExit = unlinkOnExit;
      if (unlinkOnExit) {
        createdHere.add(name);
        if (!exitHook) {
          exitHook = true;
          process.once('exit', () => {
            for (const n of createdHere) sweepAll(n);
          });
        }
      }
    }
    const shm = this.#shm;
    this.name = shm.name;
    this.#h = new Int32Array(shm.buffer, 0, HEADER_BYTES / 4);
    const h = this.#h;
    this.capacityBytes = h[H_CAPACITY]!;
    this.maxsize = h[H_MAXSIZE]!;
    this.maxItemBytes = h[H_MAX_ITEM_BYTES]!;
    this.#inlineMax = h[H_INLINE_MAX]!;
    this.#mask = this.capacityBytes - 1;
    this.#ring = new Uint8Array(shm.buffer, HEADER_BYTES, this.capacityBytes);
    this.#ring32 = new Int32Array(shm.buffer, HEADER_BYTES, this.capacityBytes / 4);
    this.#raw = codecName(this.codec as Codec<unknown>) === 'bytes';
    this.#fast = (this.codec as Codec<unknown>) === structuredCodec;
    this.#att = new Attachment(h);
    // A handle dropped without dispose (a thread that just ended) gives its slot back when collected.
    slots.register(this, this.#att, this);
  }

  /**
   * Attaches to a queue created elsewhere (another process or thread) by its name. Returns the class
   * it was created as ({@link JoinableQueue}, {@link SimpleQueue} or {@link Queue}).
   * @param name - the queue's {@link Queue.name}
   * @param options - `{ codec }`, needed only for a queue made with a custom codec
   * @throws {IpcError} ERR_IPC_NOT_FOUND when no such queue exists
   * @throws {TypeError} when the segment is not a queue, or a custom codec is missing
   */
  static open<T = unknown>(name: string, options: OpenQueueOptions<T> = {}): Queue<T> {
    if (typeof name !== 'string') throw new TypeError(`name must be a string, got ${typeof name}`);
    if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
    const shm = SharedMemory.open(name);
    try {
      if (shm.size < 4096 + MIN_CAPACITY_BYTES) throw new TypeError(`shared memory '${name}' is not a queue`);
      // The first line only, until the version says how long the header is.
      const line = new Int32Array(shm.buffer, 0, 16);
      // The creator writes MAGIC last; give it a moment if we raced it.
      for (let i = 0; Atomics.load(line, H_MAGIC) !== MAGIC; i++) {
        if (Atomics.load(line, H_MAGIC) !== 0 || i >= 100) throw new TypeError(`shared memory '${name}' is not a queue`);
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
      }
      if (line[H_VERSION] !== VERSION || line[H_HEADER_BYTES] !== HEADER_BYTES) {
        throw new TypeError(
          `queue '${name}' was made by another version of @ipc/queue (layout version ${line[H_VERSION]}, this one reads ${VERSION}): use one version in every process`,
        );
      }
      if (shm.size < HEADER_BYTES + MIN_CAPACITY_BYTES) throw new TypeError(`shared memory '${name}' is not a queue`);
      const h = new Int32Array(shm.buffer, 0, HEADER_BYTES / 4);
      let codec: Codec<unknown>;
      if (options.codec !== undefined) codec = resolveCodec(options.codec as Codec<unknown> | CodecName);
      else {
        const stored = CODEC_NAMES[h[H_CODEC]!];
        if (!stored) throw new TypeError(`queue '${name}' uses a custom codec: pass it as options.codec`);
        codec = resolveCodec(stored);
      }
      const kind = h[H_KIND];
      opening = { shm, codec };
      const q = kind === QUEUE_JOINABLE ? new JoinableQueue<T>() : kind === QUEUE_SIMPLE ? new SimpleQueue<T>() : new Queue<T>();
      return q;
    } catch (err) {
      opening = undefined;
      shm.close();
      throw err;
    }
  }

  /** True once the queue was closed (by anyone sharing it) or this handle was disposed. */
  get closed(): boolean {
    return this.#detached || Atomics.load(this.#h, H_CLOSED) !== 0;
  }

  /** Items in the queue now (approximate while others put and get). */
  size(): number {
    if (this.#detached) return 0;
    const n = (Atomics.load(this.#h, H_PUT_COUNT) - Atomics.load(this.#h, H_GET_COUNT)) | 0;
    return n < 0 ? 0 : n;
  }

  /** Counters for monitoring: items queued, ring bytes in use, dead lock holders recovered. */
  stats(): { size: number; usedBytes: number; capacityBytes: number; ownerDied: number } {
    const h = this.#h;
    return {
      size: this.size(),
      usedBytes: (Atomics.load(h, H_TAIL) - Atomics.load(h, H_HEAD)) >>> 0,
      capacityBytes: this.capacityBytes,
      ownerDied: Atomics.load(h, H_OWNER_DIED),
    };
  }

  /** True when no item is queued now. */
  empty(): boolean {
    return this.size() === 0;
  }

  /** True when `maxsize` items are queued now (always false without a maxsize). */
  full(): boolean {
    return this.maxsize > 0 && this.size() >= this.maxsize;
  }

  // ------------------------------------------------------------------------------------------
  // producing

  /**
   * Adds an item, waiting while the queue is full. Items from one producer are taken in the order
   * they were put.
   * @param item - the value (encoded with the queue's codec)
   * @param options - `{ timeout, signal }`
   * @throws {IpcError} ERR_IPC_CLOSED, ERR_IPC_TOO_LARGE, ERR_IPC_ENCODE, ERR_IPC_TIMEOUT, ERR_IPC_ABORTED
   */
  put(item: T, options?: WaitOptions): Promise<void> {
    try {
      if (options !== undefined) validateWaitOptions(options);
      this.#checkOpen('put');
      if (this.#putters.length > 0) return this.#putEncoded(this.#encode(item), options);
      const bytes = this.#encodeOrCommit(item);
      return bytes === COMMITTED ? RESOLVED : this.#putEncoded(bytes, options);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Encodes `item` for put/tryPut. The common case, plain data with the structured codec, is encoded
   * into the scratch buffer and copied from there straight into the ring: COMMITTED. Otherwise (no
   * room now, too large, out of line, another codec) the encoded bytes, for the general path; they
   * may be a scratch view, valid until the next encode.
   */
  #encodeOrCommit(item: T): Uint8Array | typeof COMMITTED {
    if (this.#fast) {
      const len = encodeToScratch(item);
      if (len >= 0) {
        const need = recordBytes(len);
        if (len <= this.maxItemBytes && need <= this.#inlineMax && this.#commitBytes(KIND_DATA, scratch(), len, need, scratch32())) return COMMITTED;
        return scratch().subarray(0, len);
      }
    }
    return this.#encode(item);
  }

  /**
   * Adds already-encoded bytes as an item, bypassing the codec (the consumer decodes them).
   * @throws {IpcError} ERR_IPC_CLOSED, ERR_IPC_TOO_LARGE, ERR_IPC_TIMEOUT, ERR_IPC_ABORTED
   */
  putBytes(bytes: Uint8Array, options?: WaitOptions): Promise<void> {
    try {
      if (!(bytes instanceof Uint8Array)) throw new TypeError('bytes must be a Uint8Array');
      validateWaitOptions(options);
      this.#checkOpen('putBytes');
      return this.#putEncoded(bytes, options);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Adds an item if there is room now, without waiting.
   * @returns false when the queue is full (or earlier puts of this handle are still waiting, or a
   * large item finds every reusable out-of-line segment of this handle in use)
   * @throws {IpcError} ERR_IPC_CLOSED, ERR_IPC_TOO_LARGE, ERR_IPC_ENCODE
   */
  tryPut(item: T): boolean {
    this.#checkOpen('tryPut');
    if (this.#putters.length > 0) return false;
    const bytes = this.#encodeOrCommit(item);
    if (bytes === COMMITTED) return true;
    const rec = this.#prepare(bytes);
    let ok = false;
    try {
      ok = this.#commit(rec);
    } finally {
      if (!ok) discard(rec);
    }
    return ok;
  }

  /**
   * Adds the items in order, as `put` would one after another: each waits while the queue is full
   * (`timeout` bounds the whole call). If the call fails part way (timeout, abort, close, an item
   * too large or not encodable), the items before the failing one are in the queue and none after
   * it: the rejection is the IpcError of that cause, with `details.put` (items put) and
   * `details.total`.
   * @param items - the values, in order
   * @param options - `{ timeout, signal }`
   * @throws {IpcError} ERR_IPC_CLOSED, ERR_IPC_TOO_LARGE, ERR_IPC_ENCODE, ERR_IPC_TIMEOUT, ERR_IPC_ABORTED
   * @throws {TypeError} when `items` is not an array
   * @example
   * await queue.putMany(jobs.map((id) => ({ id })), { timeout: 5000 });
   */
  async putMany(items: readonly T[], options?: WaitOptions): Promise<void> {
    if (!Array.isArray(items)) throw new TypeError(`items must be an array, got ${items === null ? 'null' : typeof items}`);
    if (options !== undefined) validateWaitOptions(options);
    this.#checkOpen('putMany');
    const total = items.length;
    const timeout = options?.timeout;
    const signal = options?.signal;
    const deadline = timeout === undefined ? Infinity : performance.now() + timeout;
    let i = 0;
    try {
      if (signal?.aborted) throw abortError(signal, 'putMany');
      while (i < total) {
        // Runs of small items are encoded into one buffer and committed under one lock hold.
        if (this.#putters.length === 0 && !batching) i += this.#putBatch(items, i);
        if (i === total) break;
        // The item that did not fit, or that goes out of line, or failed to encode: as put() does.
        const item = items[i]!;
        if (this.#putters.length === 0) {
          const bytes = this.#encodeOrCommit(item);
          if (bytes !== COMMITTED) await this.#putEncoded(bytes, this.#rest(timeout, deadline, signal));
        } else await this.#putEncoded(this.#encode(item), this.#rest(timeout, deadline, signal));
        i++;
        if (signal?.aborted) throw abortError(signal, 'putMany');
      }
    } catch (err) {
      if (!IpcError.is(err)) throw err;
      const details = { ...err.details, put: i, total };
      if (err.code === 'ERR_IPC_TIMEOUT' && timeout !== undefined) {
        throw new IpcError('ERR_IPC_TIMEOUT', `putMany timed out after ${timeout} ms with ${i} of ${total} items put`, { details: { ...details, timeout } });
      }
      throw new IpcError(err.code, `putMany: ${err.message} (${i} of ${total} items put)`, { cause: err, details });
    }
  }

  /**
   * Encodes items from `from` on, while they are small (in line), into the batch buffer as
   * finished records, then commits as many of them as there is room for under one hold of the put
   * lock: one journal, one TAIL store, one wake-up for all. Stops before an item that is large or
   * fails to encode (the caller puts it the ordinary way, which throws its error).
   * @returns how many items were committed
   */
  #putBatch(items: readonly T[], from: number): number {
    const total = items.length;
    const room = Math.min(BATCH_BYTES, this.capacityBytes >>> 2);
    let bytes = 0;
    let n = 0;
    batching = true;
    try {
      // The structured codec's records are built in its scratch buffer itself, each item encoded
      // straight after the header of its record; other codecs' in the batch buffer.
      const fast = this.#fast;
      if (!fast && batchBuf.byteLength < room) growBatch(room);
      for (let i = from; i < total && n < BATCH_ITEMS; i++) {
        let payload: Uint8Array | undefined;
        let len: number;
        try {
          if (fast) {
            len = encodeToScratch(items[i]!, bytes + RECORD_HEADER);
            if (len < 0) break;
          } else {
            payload = this.codec.encode(items[i]!) as Uint8Array;
            len = payload.byteLength;
          }
        } catch {
          break; // thrown again, with its item, by the ordinary put
        }
        const need = recordBytes(len);
        if (len > this.maxItemBytes || need > this.#inlineMax) break;
        if (bytes + need > room) {
          if (n > 0) break;
          if (!fast && need > batchBuf.byteLength) growBatch(need);
        }
        const words = fast ? scratch32() : batch32;
        words[bytes >> 2] = len;
        words[(bytes >> 2) + 1] = KIND_DATA;
        if (payload !== undefined) batchBuf.set(payload, bytes + RECORD_HEADER);
        bytes += need;
        n++;
      }
      if (n === 0) return 0;
      return fast ? this.#commitRecords(n, scratch(), scratch32()) : this.#commitRecords(n, batchBuf, batch32);
    } finally {
      batching = false;
    }
  }

  // The get lock was taken from a dead holder: finish its take (the journal), and forget what this
  // handle cached of HEAD.
  #getHolderDied(): void {
    recoverGet(this.#h);
    this.#myHead = NO_INDEX;
    this.#sweepSoon();
  }

  /**
   * Under one hold of the put lock, copies the first records of `src` (at most `n`, back to back
   * from offset 0; `src32` a word view of it) to the ring while they fit; the TAIL store commits
   * them all. Records that land back to back in the ring (all of them, unless the ring wraps) go in
   * one copy. Crash safety is that of one record: the redo journal covers the whole run.
   * @returns how many were committed
   */
  #commitRecords(n: number, src: Uint8Array, src32: Int32Array): number {
    const h = this.#h;
    let k = 0;
    this.#lockPut();
    try {
      const tail = h[H_JP_TAIL]!;
      const count = h[H_PUT_COUNT]!;
      const max = this.#admit(count, n);
      const ring = this.#ring;
      let t = tail;
      let at = 0;
      // The run not copied yet: `runLen` bytes of `src` from `runFrom`, for the ring at `runTo`.
      let runFrom = 0;
      let runTo = 0;
      let runLen = 0;
      for (; k < max; k++) {
        const need0 = recordBytes(src32[at >> 2]!);
        const need = this.#claim(t, need0);
        if (need < 0) break;
        const to = (t + need - need0) & this.#mask;
        if (runLen > 0 && to !== runTo + runLen) {
          ring.set(src.subarray(runFrom, runFrom + runLen), runTo);
          runLen = 0;
        }
        if (runLen === 0) {
          runFrom = at;
          runTo = to;
        }
        runLen += need0;
        at += need0;
        t = (t + need) | 0;
      }
      if (runLen > 0) ring.set(src.subarray(runFrom, runFrom + runLen), runTo);
      if (k > 0) {
        publishPut(h, t, (count + k) | 0);
        this.#myTail = t;
      }
    } finally {
      this.#att!.unlock(H_PUT_LOCK);
    }
    if (k > 0) wakeNotEmpty(h);
    return k;
  }

  /** The wait options of one put inside putMany: what is left of its timeout. */
  #rest(timeout: number | undefined, deadline: number, signal: AbortSignal | undefined): WaitOptions | undefined {
    if (timeout === undefined) return signal ? { signal } : undefined;
    return { timeout: Math.max(0, deadline - performance.now()), signal };
  }

  #putEncoded(bytes: Uint8Array, options: WaitOptions | undefined): Promise<void> {
    const rec = this.#prepare(bytes);
    if (this.#putters.length === 0) {
      let ok: boolean;
      try {
        ok = this.#commit(rec);
      } catch (err) {
        discard(rec);
        throw err;
      }
      if (ok) return Promise.resolve();
    }
    if (options?.timeout === 0) {
      discard(rec);
      return Promise.reject(timeoutError(0, 'put'));
    }
    // It waits: keep our own copy (the encoding may be a scratch view, or the caller's array).
    if (rec.kind === KIND_DATA) rec.payload = rec.payload.slice();
    else if (rec.deferred) setAside(rec, this.#pool!);
    return waitFor<void>(
      options,
      (resolve, reject, scope) => {
        const p: Putter = { rec, resolve, reject };
        this.#putters.push(p);
        scope.onCleanup(() => {
          const at = this.#putters.indexOf(p);
          if (at >= 0) {
            // Not committed: it never becomes visible, and its out-of-line segment goes.
            this.#putters.splice(at, 1);
            discard(rec);
            if (this.#putters.length === 0) this.#putKick?.abort();
          }
        });
        this.#startPutPump();
      },
      'put',
    );
  }

  #prepare(bytes: Uint8Array): Prepared {
    const len = bytes.byteLength;
    if (len > this.maxItemBytes) throw tooLarge(len, this.maxItemBytes);
    const need = recordBytes(len);
    if (need <= this.#inlineMax) return { kind: KIND_DATA, payload: bytes, need, segment: undefined };
    // Out of line: one copy into a segment of its own, before taking any lock; a reusable one when
    // the pool has or can make one.
    const rec: Prepared = { kind: KIND_OUT_OF_LINE, payload: EMPTY_BYTES, need: 0, segment: undefined };
    if (this.#fillPooled(rec, bytes)) return rec;
    // Every segment of the pool is in use (consumers are behind): wait for one, as for room in the
    // ring, rather than write fresh /dev/shm pages for a one-shot segment (several times the copy).
    if (align4k(len) <= this.#pool!.maxBytes) {
      rec.deferred = bytes;
      return rec;
    }
    const segName = this.#segmentName();
    const seg = OneShot.write(segName, bytes);
    const payload = outOfLinePayload(segName, len);
    return { kind: KIND_OUT_OF_LINE, payload, need: recordBytes(payload.byteLength), segment: seg };
  }

  /** Copies `bytes` into a free segment of the pool for `rec`; false when none is free. */
  #fillPooled(rec: Prepared, bytes: Uint8Array): boolean {
    const len = bytes.byteLength;
    const pooled = this.#pooledSegment(len);
    if (!pooled) return false;
    try {
      new Uint8Array(pooled.seg.buffer, 0, len).set(bytes);
    } catch (err) {
      dropPooled(pooled);
      throw err;
    }
    rec.payload = outOfLinePayload(pooled.name, len);
    rec.need = recordBytes(rec.payload.byteLength);
    rec.pooled = pooled;
    return true;
  }

  #segmentName(): string {
    return `${this.name}-o${process.pid}-${selfStartTime()}-${Atomics.add(this.#h, H_OOL_SEQ, 1) >>> 0}`;
  }

  /**
   * A free reusable segment of at least `len` bytes, marked BUSY; undefined when the pool is full of
   * segments in use (or over its bytes): the item then goes in a one-shot segment.
   */
  #pooledSegment(len: number): PoolSegment | undefined {
    let pool = this.#pool;
    if (!pool) {
      // Bounded by the ring's own size: a pool never holds more /dev/shm than 4 rings.
      pool = this.#pool = { segments: [], maxBytes: 4 * this.capacityBytes, trim: undefined, spare: undefined, spareBusy: false };
    }
    const segments = pool.segments;
    let best: PoolSegment | undefined;
    let used = 0;
    for (const p of segments) {
      used += p.cap;
      if (p.cap >= len && Atomics.load(p.state, 0) === SEG_FREE && (!best || p.cap < best.cap)) best = p;
    }
    // Still ours? The creator unlinks every out-of-line name when it disposes of the queue.
    if (best && inodeOf(best.name) !== best.ino) {
      used -= best.cap;
      letGo(best);
      best = undefined;
    }
    if (!best) {
      const cap = align4k(len);
      // Make room: drop free segments (too small), then ones in use for too long, until the new
      // one fits.
      const now = performance.now();
      for (const p of [...segments]) {
        if (segments.length < POOL_SEGMENTS && used + cap <= pool.maxBytes) break;
        // Not one large enough: it was freed since the look above (its consumer wakes us).
        if (p.cap < len && Atomics.load(p.state, 0) === SEG_FREE) {
          used -= p.cap;
          letGo(p);
        }
      }
      for (const p of [...segments]) {
        if (segments.length < POOL_SEGMENTS && used + cap <= pool.maxBytes) break;
        if (p.committedAt === NO_INDEX || ((Atomics.load(this.#h, H_HEAD) - p.committedAt) | 0) < 0) continue;
        if (p.takenSeen === 0) p.takenSeen = now;
        else if (now - p.takenSeen > POOL_STUCK_MS) {
          used -= p.cap;
          letGo(p);
        }
      }
      if (segments.length >= POOL_SEGMENTS || used + cap > pool.maxBytes) return undefined;
      const name = this.#segmentName();
      const seg = SharedMemory.create({ name, size: cap + SEG_STATE_BYTES, unlinkOnExit: false });
      best = { seg, name, cap, state: new Int32Array(seg.buffer, cap, 1), ino: inodeOf(name), pool, lastUsed: 0, committedAt: NO_INDEX, takenSeen: 0, freeSeen: 0 };
      segments.push(best);
      livePools.add(pool);
      if (!poolExitHook) {
        poolExitHook = true;
        process.once('exit', () => {
          for (const p of livePools) closePool(p);
        });
      }
      if (!pool.trim) {
        const owner = pool;
        owner.trim = setInterval(() => {
          const now = performance.now();
          for (const p of [...owner.segments]) {
            // Idle: written over a second ago and seen FREE on two ticks (a segment freed just now
            // after a long wait in use is not idle).
            if (Atomics.load(p.state, 0) !== SEG_FREE) p.freeSeen = 0;
            else if (p.freeSeen === 0) p.freeSeen = now;
            else if (now - p.lastUsed > POOL_IDLE_MS) letGo(p);
          }
          if (!owner.spareBusy) owner.spare = undefined;
          if (owner.segments.length === 0) closePool(owner);
        }, POOL_IDLE_MS);
        owner.trim.unref();
      }
    }
    Atomics.store(best.state, 0, SEG_BUSY);
    best.lastUsed = performance.now();
    best.committedAt = NO_INDEX;
    best.takenSeen = 0;
    best.freeSeen = 0;
    return best;
  }

  /** Writes one record if it fits; the TAIL store is the commit. */
  #commit(rec: Prepared): boolean {
    if (rec.deferred) {
      if (!this.#fillPooled(rec, rec.deferred)) return false;
      rec.deferred = undefined;
      releaseSpare(rec);
    }
    if (!this.#commitBytes(rec.kind, rec.payload, rec.payload.byteLength, rec.need)) return false;
    if (rec.pooled) rec.pooled.committedAt = this.#myTail;
    rec.segment?.close();
    rec.segment = undefined;
    return true;
  }

  /**
   * Writes a record of `kind` holding `payload[0, len)` (`need` ring bytes) if it fits. Journal
   * words are plain stores: the seq-cst stores that follow them (TAIL, the unlock)
   * publish them, and a SIGKILL cannot undo a store already made.
   */
  #commitBytes(kind: number, payload: Uint8Array, len: number, need0: number, words?: Int32Array): boolean {
    const h = this.#h;
    this.#lockPut();
    try {
      // JP_TAIL equals TAIL outside a commit (recoverPut keeps it so), and sits on the producers'
      // own cache line: reading it spares a miss on TAIL's line, which the consumers poll.
      const tail = h[H_JP_TAIL]!;
      const count = h[H_PUT_COUNT]!;
      if (this.#admit(count, 1) === 0) return false;
      const need = this.#claim(tail, need0);
      if (need < 0) return false;
      const r32 = this.#ring32;
      const off = (tail + need - need0) & this.#mask;
      r32[off >> 2] = len;
      r32[(off >> 2) + 1] = kind;
      const at = off + RECORD_HEADER;
      if (words !== undefined && len <= 1024) {
        // The scratch buffer, a word at a time: the record's padding takes the last word's excess.
        const w = at >> 2;
        for (let i = 0, n = (len + 3) >> 2; i < n; i++) r32[w + i] = words[i]!;
      } else this.#ring.set(len === payload.byteLength ? payload : payload.subarray(0, len), at);
      const newTail = (tail + need) | 0;
      publishPut(h, newTail, (count + 1) | 0);
      this.#myTail = newTail;
    } finally {
      this.#att!.unlock(H_PUT_LOCK);
    }
    wakeNotEmpty(h);
    return true;
  }

  /**
   * Takes the put lock, first finishing or undoing the commit of a dead holder (the journal) and
   * forgetting what this handle cached of TAIL; throws ERR_IPC_CLOSED, the lock let go, when the
   * queue is closed (a plain read: a put racing close() may go either way).
   */
  #lockPut(): void {
    const att = this.#att!;
    const died = att.lock(H_PUT_LOCK);
    try {
      if (died) {
        recoverPut(this.#h);
        this.#myTail = NO_INDEX;
        this.#sweepSoon();
      }
      if (this.#h[H_CLOSED] !== 0) throw closedError('put');
    } catch (err) {
      att.unlock(H_PUT_LOCK);
      throw err;
    }
  }

  /**
   * How many of `n` more items may go in at PUT_COUNT `count`: `n`, or fewer under `maxsize`. The
   * count is checked against SEEN_GET_COUNT, what the producers last read of GET_COUNT, and
   * GET_COUNT is read (and SEEN_GET_COUNT updated) only when that refuses. GET_COUNT only grows
   * (outside a dead consumer's rolled-back take), so an old value over-counts the items queued;
   * every admission keeps `PUT_COUNT - SEEN_GET_COUNT <= maxsize`, so it never wraps.
   */
  #admit(count: number, n: number): number {
    if (this.maxsize === 0) return n;
    const h = this.#h;
    let seen = h[H_SEEN_GET_COUNT]!;
    if (((count - seen) | 0) + n > this.maxsize) seen = refreshSeen(h, H_SEEN_GET_COUNT, H_GET_COUNT);
    return Math.max(0, Math.min(n, this.maxsize - ((count - seen) | 0)));
  }

  /**
   * Claims ring room for a record of `need0` bytes at position `t`: returns the bytes it takes from
   * `t` (more than `need0` when it must start over at offset 0, and then a PAD record covers the end
   * of the ring), or -1 when it does not fit. The room is counted from SEEN_HEAD, what the
   * producers last read of HEAD; HEAD is read (and SEEN_HEAD updated) only when that says no. HEAD
   * only grows, so an old value under-counts the room, and since every claim keeps
   * `TAIL - SEEN_HEAD <= capacity`, the 32-bit distance never wraps. The record then goes at
   * `(t + need - need0) & mask`.
   */
  #claim(t: number, need0: number): number {
    const cap = this.capacityBytes;
    const off = t & this.#mask;
    const contiguous = cap - off;
    const need = need0 <= contiguous ? need0 : contiguous + need0;
    const h = this.#h;
    let seen = h[H_SEEN_HEAD]!;
    if (need > cap - ((t - seen) >>> 0)) {
      seen = refreshSeen(h, H_SEEN_HEAD, H_HEAD);
      if (need > cap - ((t - seen) >>> 0)) return -1;
    }
    if (need0 > contiguous) {
      this.#ring32[off >> 2] = contiguous;
      this.#ring32[(off >> 2) + 1] = KIND_PAD;
    }
    return need;
  }

  #servePutters(): void {
    const putters = this.#putters;
    while (putters.length > 0) {
      const p = putters[0]!;
      let ok: boolean;
      try {
        ok = this.#commit(p.rec);
      } catch (err) {
        for (const q of putters.splice(0)) {
          discard(q.rec);
          q.reject(err);
        }
        return;
      }
      if (!ok) return;
      putters.shift();
      p.resolve();
    }
  }

  #startPutPump(): void {
    if (this.#putPump) return;
    this.#putPump = true;
    void this.#runPutPump();
  }

  async #runPutPump(): Promise<void> {
    const h = this.#h;
    try {
      while (this.#putters.length > 0 && !this.#detached) {
        Atomics.store(h, H_PUT_ARMED, 1);
        const seq = Atomics.load(h, H_NOT_FULL);
        this.#servePutters();
        if (this.#putters.length === 0 || this.#detached) break;
        const kick = new AbortController();
        this.#putKick = kick;
        try {
          await wait(h, H_NOT_FULL, seq, { signal: kick.signal, timeout: RECHECK_MS });
        } catch (err) {
          if (!kick.signal.aborted) {
            for (const p of this.#putters.splice(0)) {
              discard(p.rec);
              p.reject(err);
            }
          }
        }
        this.#putKick = undefined;
      }
    } finally {
      this.#putPump = false;
    }
  }

  // ------------------------------------------------------------------------------------------
  // consuming

  /**
   * Takes the next item, waiting while the queue is empty.
   * @param options - `{ timeout, signal }`
   * @throws {IpcError} ERR_IPC_CLOSED (closed and drained), ERR_IPC_DECODE, ERR_IPC_TIMEOUT, ERR_IPC_ABORTED
   */
  get(options?: WaitOptions): Promise<T> {
    return this.#get(options, false) as Promise<T>;
  }

  /**
   * Takes the next item's bytes without decoding them: in a new buffer, or copied into
   * `options.into` (a view of it is returned; the next call with the same buffer overwrites it).
   * @param options - `{ timeout, signal, into }`
   * @throws {IpcError} ERR_IPC_CLOSED, ERR_IPC_TIMEOUT, ERR_IPC_ABORTED; ERR_IPC_TOO_LARGE when the
   * next item is longer than `into` (`details: { length, capacity }`; the item stays in the queue)
   * @throws {TypeError} when `into` is not a Uint8Array
   * @example
   * const buf = Buffer.allocUnsafe(queue.maxItemBytes);
   * for (;;) handle(await queue.getBytes({ into: buf })); // a view of buf, valid until the next call
   */
  getBytes(options?: GetBytesOptions): Promise<Uint8Array> {
    const into = options?.into;
    if (into !== undefined && !(into instanceof Uint8Array)) return Promise.reject(new TypeError('options.into must be a Uint8Array'));
    return this.#get(options, true, into) as Promise<Uint8Array>;
  }

  #get(options: WaitOptions | undefined, raw: boolean, into?: Uint8Array): Promise<unknown> {
    try {
      if (options !== undefined) validateWaitOptions(options);
      if (this.#detached) throw closedError('get');
      if (options?.signal?.aborted) throw abortError(options.signal, 'get');
      if (this.#getters.length === 0) {
        if (this.#held.length !== 0) return Promise.resolve(this.#fromHeld(raw, into));
        if (into) {
          const intos = [into];
          let got = this.#take(1, raw, intos);
          if (got.length === 0 && options?.timeout !== 0 && Atomics.load(this.#h, H_CLOSED) === 0 && this.#spin()) got = this.#take(1, raw, intos);
          if (got.length > 0) return Promise.resolve(this.#finish(got[0]!, raw));
        } else {
          let got = this.#takeOne(raw);
          if (got === NONE && options?.timeout !== 0 && Atomics.load(this.#h, H_CLOSED) === 0 && this.#spin()) got = this.#takeOne(raw);
          if (got !== NONE) return Promise.resolve(tookValue ? got : this.#finish(got as Taken, raw));
        }
        if (Atomics.load(this.#h, H_CLOSED) !== 0) throw closedError('get');
        if (options?.timeout === 0) throw timeoutError(0, 'get');
      }
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#park<unknown>(options, raw, into, 0, 'get');
  }

  // Parks a get (max 0) or a getMany until the get pump deals it items, or its timeout, abort or
  // the queue's close ends it.
  #park<R>(options: WaitOptions | undefined, raw: boolean, into: Uint8Array | undefined, max: number, what: string): Promise<R> {
    return waitFor<R>(
      options,
      (resolve, reject, scope) => {
        const g: Getter = { raw, into, max, resolve: resolve as (value: unknown) => void, reject };
        this.#getters.push(g);
        scope.onCleanup(() => {
          const at = this.#getters.indexOf(g);
          if (at >= 0) {
            this.#getters.splice(at, 1);
            if (this.#getters.length === 0) this.#getKick?.abort();
          }
        });
        this.#startGetPump();
      },
      what,
    );
  }

  /**
   * Takes up to `max` items at once: waits like {@link Queue.get} for the first (same `timeout`,
   * `signal` and close behaviour), then returns it with every item waiting behind it, up to `max`,
   * in order, taken under one hold of the consumers' lock (one wake-up, many items). An item that
   * cannot be decoded ends a batch that has items before it; the next get/getMany/tryGet of this
   * handle throws its error (the item is consumed, as with `get`).
   * @param max - the most items to return, 1 to {@link MAX_GET_MANY}
   * @param options - `{ timeout, signal }`
   * @returns one item or more
   * @throws {IpcError} ERR_IPC_CLOSED (closed and drained), ERR_IPC_DECODE, ERR_IPC_TIMEOUT, ERR_IPC_ABORTED
   * @throws {TypeError|RangeError} when `max` is not an integer from 1 to MAX_GET_MANY
   * @example
   * for (;;) for (const job of await queue.getMany(256)) handle(job);
   */
  getMany(max: number, options?: WaitOptions): Promise<T[]> {
    try {
      intOption(max, 'max', 1, MAX_GET_MANY);
      if (options !== undefined) validateWaitOptions(options);
      if (this.#detached) throw closedError('getMany');
      if (options?.signal?.aborted) throw abortError(options.signal, 'getMany');
      if (this.#getters.length === 0) {
        if (this.#held.length !== 0) return Promise.resolve(this.#batch(this.#held.splice(0, max)) as T[]);
        let got = this.#takeValues(max);
        if (got.length === 0 && options?.timeout !== 0 && Atomics.load(this.#h, H_CLOSED) === 0 && this.#spin()) got = this.#takeValues(max);
        if (got.length > 0) return Promise.resolve(got as T[]);
        if (Atomics.load(this.#h, H_CLOSED) !== 0) throw closedError('getMany');
        if (options?.timeout === 0) throw timeoutError(0, 'getMany');
      }
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#park<T[]>(options, false, undefined, max, 'getMany');
  }

  /**
   * Finishes the items of one getMany batch, in order. An item that fails ends the batch: thrown
   * when it is the first (it is consumed, as with get), else left first in #held with the items
   * after it, for this handle's next get.
   */
  #batch(got: Taken[]): unknown[] {
    const values: unknown[] = [];
    for (let i = 0; i < got.length; i++) {
      let v: unknown;
      try {
        v = this.#finish(got[i]!, false);
      } catch (err) {
        const rest = got.slice(values.length > 0 ? i : i + 1);
        if (rest.length > 0) this.#held.unshift(...rest);
        if (values.length > 0) return values;
        throw err;
      }
      values.push(v);
    }
    return values;
  }

  /** The first item of #held, for get or getBytes (copied into `into`, or left first when longer). */
  #fromHeld(raw: boolean, into: Uint8Array | undefined): unknown {
    const t = this.#held[0]!;
    if (into && !(t instanceof IpcError)) {
      const bytes = this.#finish(t, true) as Uint8Array;
      if (bytes.byteLength > into.byteLength) throw intoTooSmall(bytes.byteLength, into.byteLength).error;
      this.#held.shift();
      into.set(bytes);
      return into.subarray(0, bytes.byteLength);
    }
    this.#held.shift();
    return this.#finish(t, raw);
  }

  /**
   * Takes an item if one is ready now.
   * @returns `{ ok: true, value }` or `{ ok: false }`
   * @throws {IpcError} ERR_IPC_DECODE on undecodable bytes (the item is consumed)
   */
  tryGet(): TryGetResult<T> {
    if (this.#detached) return { ok: false };
    if (this.#held.length !== 0) return { ok: true, value: this.#finish(this.#held.shift()!, false) as T };
    const got = this.#takeOne(false);
    if (got === NONE) return { ok: false };
    return { ok: true, value: (tookValue ? got : this.#finish(got as Taken, false)) as T };
  }

  /**
   * Before parking, watch the ring for a few microseconds: a producer that is busy putting will
   * commit again sooner than a wake-up through the kernel takes (~20-50 us here). The window adapts:
   * it doubles when it catches an item and halves when it does not.
   */
  #spin(): boolean {
    const h = this.#h;
    const limit = this.#spinUs;
    const t0 = performance.now();
    for (;;) {
      if (Atomics.load(h, H_HEAD) !== Atomics.load(h, H_TAIL)) {
        this.#spinUs = Math.min(SPIN_MAX_US, limit * 2);
        return true;
      }
      // Reading the clock between looks (~50 ns) keeps us from pulling TAIL's cache line away from
      // the producer that is about to write it.
      if ((performance.now() - t0) * 1000 > limit) {
        this.#spinUs = Math.max(SPIN_MIN_US, limit / 2);
        return false;
      }
    }
  }

  #finish(taken: Taken, raw: boolean): unknown {
    // Decoded for a getMany, then left in #held for a getBytes: its encoding again.
    if (taken instanceof Decoded) return raw ? this.#encode(taken.value as T).slice() : taken.value;
    if (taken instanceof IpcError) throw taken;
    if (taken instanceof Refused) throw taken.error;
    if (raw || this.#raw) return taken;
    return this.#fast ? decodeStructured(taken) : this.codec.decode(taken);
  }

  // The structured codec's bytes, written by a faster encoder for plain data (same V8 format); the
  // result may be a scratch view, valid until the next encode.
  #encode(item: T): Uint8Array {
    return this.#fast ? encodeStructured(item) : this.codec.encode(item);
  }

  /**
   * Takes the next item, for get/tryGet: {@link Queue.#take} of one item without its arrays. An
   * in-line record of plain data is staged under the lock and decoded after it (the value is
   * returned, with `tookValue` set), other in-line records are copied out; other kinds go to #take.
   */
  #takeOne(raw: boolean): unknown {
    const h = this.#h;
    // While TAIL as last read is past where we left HEAD, there is an item, unless another consumer
    // took it: the lock is taken without a look. Caught up, HEAD and TAIL are looked at first, so
    // that an empty queue costs no lock.
    if (this.#myHead === this.#seenTail) {
      const head0 = peekWord(h, H_HEAD);
      if (head0 === (this.#seenTail = peekWord(h, H_TAIL))) return NONE;
    }
    const att = this.#att!;
    tookValue = false;
    let result: Taken | typeof NONE = NONE;
    let freed = false;
    let other = false;
    let stagedLen = -1;
    const died = att.lock(H_GET_LOCK);
    try {
      if (died) this.#getHolderDied();
      // HEAD, GET_COUNT and SEEN_TAIL are written under this lock only: plain reads see the last
      // holder's. TAIL is read only when HEAD has caught up with what was seen of it.
      const oldHead = h[H_HEAD]!;
      let tail = h[H_SEEN_TAIL]!;
      if (oldHead === tail) tail = refreshSeen(h, H_SEEN_TAIL, H_TAIL);
      this.#seenTail = tail;
      const r32 = this.#ring32;
      let head = oldHead;
      let n = 0;
      while (head !== tail) {
        const off = head & this.#mask;
        const len = r32[off >> 2]!;
        const kind = r32[(off >> 2) + 1]!;
        if (kind === KIND_PAD) {
          head = (head + len) | 0;
          continue;
        }
        if (kind !== KIND_DATA) {
          other = true;
          break;
        }
        const start = off + RECORD_HEADER;
        if (this.#fast && !raw && len <= STAGE_MAX) {
          // Copied to the staging buffer and decoded once the lock is free (the value is returned
          // then): other consumers wait for a copy, not for a decode.
          stageRecord(r32, start, len, 0);
          stagedLen = len;
        } else result = copyOut(this.#ring, start, len);
        head = (head + recordBytes(len)) | 0;
        n = 1;
        break;
      }
      if (!other && head !== oldHead) {
        publishTake(h, oldHead, h[H_GET_COUNT]!, head, n);
        this.#myHead = head;
        freed = true;
      } else if (!other) this.#myHead = oldHead; // empty: the next look goes without the lock
    } finally {
      att.unlock(H_GET_LOCK);
    }
    if (other) {
      const got = this.#take(1, raw);
      return got.length === 0 ? NONE : got[0]!;
    }
    if (freed && loadAfterFence(h, H_PUT_ARMED) !== 0) this.#wakeProducers();
    if (stagedLen >= 0) {
      const v = decodePlainAt(stage, 0, stagedLen);
      if (v === NOT_PLAIN) return copyOut(stage, 0, stagedLen);
      tookValue = true;
      return v;
    }
    return result;
  }

  /**
   * A take freed room while a producer waits for it (PUT_ARMED). Producers that wait on a full ring
   * are woken once a quarter of the ring is free, not after every take: woken sooner, a producer
   * fills the few bytes freed and parks again, and each such round costs the consumer a notify and
   * the producer a wake-up (about one round per 20 items with a slow consumer and a 64 KiB ring).
   * A wake put off this way is made when this thread returns to its event loop (it stopped taking,
   * or the ring ran empty), so a producer whose item fits is never left waiting for a consumer that
   * went idle. With a maxsize, producers may wait for an item slot rather than bytes: woken at once.
   */
  #wakeProducers(): void {
    const h = this.#h;
    if (this.maxsize === 0) {
      // TAIL does not move while the producers wait, so this load costs no cache miss then.
      const used = (Atomics.load(h, H_TAIL) - Atomics.load(h, H_HEAD)) >>> 0;
      if (used > this.capacityBytes - (this.capacityBytes >>> 2)) {
        if (!this.#wakeLater) {
          this.#wakeLater = true;
          setImmediate(this.#lateWake).unref();
        }
        return;
      }
    }
    wakeNotFull(h);
  }

  /**
   * Takes up to `max` items under one lock hold; copies them out (item `n` into `intos[n]` when
   * given); the HEAD store is the commit. An item longer than its `into` is not taken: a
   * {@link Refused} ends the list.
   */
  #take(max: number, raw = false, intos?: ReadonlyArray<Uint8Array | undefined>, plain = false): Taken[] {
    const h = this.#h;
    const out: Taken[] = [];
    this.#plainTaken = 0;
    if (Atomics.load(h, H_HEAD) === Atomics.load(h, H_TAIL)) return out;
    const att = this.#att!;
    let outside: OutOfLine[] | undefined;
    // Items copied to the staging buffer: in `staged`, their index in `out`, offset there and length.
    let ns = 0;
    let stageUsed = 0;
    let freed = false;
    const died = att.lock(H_GET_LOCK);
    try {
      if (died) this.#getHolderDied();
      // Under the lock (its compareExchange the fence): HEAD and GET_COUNT are only written by holders.
      const oldHead = h[H_HEAD]!;
      const tail = refreshSeen(h, H_SEEN_TAIL, H_TAIL);
      const oldCount = h[H_GET_COUNT]!;
      const r32 = this.#ring32;
      const ring = this.#ring;
      let head = oldHead;
      let n = 0;
      while (n < max && head !== tail) {
        const off = head & this.#mask;
        const len = r32[off >> 2]!;
        const kind = r32[(off >> 2) + 1]!;
        if (kind === KIND_PAD) {
          head = (head + len) | 0;
          continue;
        }
        const start = off + RECORD_HEADER;
        const into = intos?.[n];
        if (kind === KIND_DATA) {
          if (into) {
            if (len > into.byteLength) {
              out.push(intoTooSmall(len, into.byteLength));
              break;
            }
            into.set(ring.subarray(start, start + len));
            out.push(into.subarray(0, len));
          } else if (this.#fast && !raw && len <= STAGE_MAX) {
            // Copied to the staging buffer (no ArrayBuffer per item) and decoded once the lock is
            // free: other consumers wait for a copy, not for the decode of a whole batch.
            if (stageUsed + len > STAGE_MAX && n > 0) break;
            stageRecord(r32, start, len, stageUsed);
            if (ns === staged.length) growStaged();
            staged[ns] = out.length;
            staged[ns + 1] = stageUsed;
            staged[ns + 2] = len;
            ns += 3;
            stageUsed = (stageUsed + len + 7) & ~7;
            out.push(EMPTY_BYTES);
          } else out.push(copyOut(ring, start, len));
        }
        else if (kind === KIND_OUT_OF_LINE) {
          const size = new DataView(ring.buffer, ring.byteOffset + start, 4).getUint32(0, true);
          if (into && size > into.byteLength) {
            out.push(intoTooSmall(size, into.byteLength));
            break;
          }
          const segName = textDecoder.decode(ring.slice(start + 4, start + len));
          try {
            // Opened while we hold the lock, so that no sweeper can unlink it under us.
            (outside ??= []).push(this.#openSegment(out.length, segName, size, into));
            out.push(new Uint8Array(0));
          } catch (err) {
            out.push(new IpcError('ERR_IPC_DECODE', `item lost: its out-of-line segment '${segName}' is gone`, { cause: err }));
          }
        } else {
          out.push(new IpcError('ERR_IPC_DECODE', `corrupt record kind ${kind} in queue '${this.name}'`));
        }
        head = (head + recordBytes(len)) | 0;
        n++;
      }
      if (head !== oldHead) {
        publishTake(h, oldHead, oldCount, head, n);
        freed = true;
      }
    } finally {
      att.unlock(H_GET_LOCK);
    }
    if (freed && loadAfterFence(h, H_PUT_ARMED) !== 0) this.#wakeProducers();
    stagedCount = ns / 3;
    let decoded = 0;
    for (let i = 0; i < ns; i += 3) {
      const at = staged[i + 1]!;
      const len = staged[i + 2]!;
      const v = decodePlainAt(stage, at, len);
      if (v === NOT_PLAIN) out[staged[i]!] = copyOut(stage, at, len);
      else {
        // For getMany (`plain`), the value itself; #takeValues wraps it when others are not plain.
        out[staged[i]!] = plain ? (v as Taken) : new Decoded(v);
        decoded++;
      }
    }
    this.#plainTaken = decoded;
    if (outside === undefined) return out;
    for (const o of outside) {
      const { at, name, size, into, seg, fd } = o;
      if (seg) {
        if (into) {
          into.set(new Uint8Array(seg.buffer, 0, size));
          out[at] = into.subarray(0, size);
        } else out[at] = copyOut(new Uint8Array(seg.buffer), 0, size);
        if (releaseSegment(seg, name, size)) {
          this.#keepSegment(name, seg);
          // Its producer may be waiting for it (every segment of its pool in use).
          if (Atomics.load(h, H_PUT_ARMED) !== 0) wakeNotFull(h);
        }
        else this.#segCache.delete(name);
        continue;
      }
      // A one-shot segment: read(2) straight into the result, then unlink it.
      const dest = into ? into.subarray(0, size) : outBuffer(size);
      try {
        for (let done = 0; done < size; ) {
          const n = readSync(fd!, dest, done, size - done, done);
          if (n === 0) throw new Error(`it ends after ${done} of ${size} bytes`);
          done += n;
        }
        out[at] = dest;
      } catch (err) {
        out[at] = new IpcError('ERR_IPC_DECODE', `item lost: its out-of-line segment '${name}' cannot be read`, { cause: err });
      } finally {
        closeSync(fd!);
        unlinkName(name);
      }
    }
    return out;
  }

  /**
   * Takes up to `max` items for getMany and finishes them as {@link Queue.#batch} does. Items of
   * plain data (the common case) are decoded straight into the array returned.
   */
  #takeValues(max: number): unknown[] {
    const got = this.#take(max, false, undefined, true);
    if (this.#plainTaken === got.length) return got;
    wrapDecoded(got);
    return this.#batch(got);
  }

  /**
   * Opens the segment of an out-of-line item: a reusable one is mapped (and the mapping kept), a
   * one-shot one (exactly as long as its item) is only opened, to be read with read(2).
   */
  #openSegment(at: number, name: string, size: number, into: Uint8Array | undefined): OutOfLine {
    const cached = this.#segCache.get(name);
    if (cached) return { at, name, size, into, seg: cached, fd: undefined };
    let fd: number;
    try {
      fd = openSync(`/dev/shm/${name}`, 'r');
    } catch (err) {
      throw fromSystemError(err, `cannot open the out-of-line segment '${name}'`);
    }
    let st;
    try {
      st = fstatSync(fd);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
    if (st.size === size) return { at, name, size, into, seg: undefined, fd };
    closeSync(fd);
    return { at, name, size, into, seg: SharedMemory.open(name), fd: undefined };
  }

  /** Keeps the mapping of a reusable segment for its next item (names are never reused). */
  #keepSegment(name: string, seg: SharedMemory): void {
    const cache = this.#segCache;
    cache.delete(name);
    cache.set(name, seg);
    if (cache.size > SEG_CACHE) cache.delete(cache.keys().next().value!);
  }

  #serveGetters(): void {
    const getters = this.#getters;
    const held = this.#held;
    while (getters.length > 0) {
      let got: Taken[];
      if (held.length > 0) got = held.splice(0);
      else {
        let want = 0;
        let raw = false;
        let intos: Array<Uint8Array | undefined> | undefined;
        for (const g of getters) {
          want += g.max || 1;
          raw ||= g.raw;
          if (g.into) intos = [];
        }
        // Item n of the take goes to the getter it will be dealt to: its `into`, if it gave one.
        if (intos) for (const g of getters) for (let k = 0, n = g.max || 1; k < n; k++) intos.push(g.max ? undefined : g.into);
        const plain = !raw && intos === undefined;
        try {
          got = this.#take(want, raw, intos, plain);
        } catch (err) {
          getters.shift()!.reject(err);
          return;
        }
        if (got.length === 0) break;
        if (plain) {
          if (this.#plainTaken === got.length) {
            // All plain data, decoded: dealt as they are.
            let i = 0;
            while (i < got.length && getters.length > 0) {
              const g = getters.shift()!;
              if (g.max === 0) g.resolve(got[i++]);
              else if (i === 0 && got.length <= g.max) {
                i = got.length;
                g.resolve(got);
              } else {
                const part = got.slice(i, i + g.max);
                i += part.length;
                g.resolve(part);
              }
            }
            for (; i < got.length; i++) held.push(new Decoded(got[i]));
            continue;
          }
          wrapDecoded(got);
        }
      }
      // Dealt in call order: one item to a get, up to `max` to a getMany.
      let i = 0;
      while (i < got.length && getters.length > 0) {
        const g = getters.shift()!;
        let value: unknown;
        try {
          if (g.max === 0) value = this.#finish(got[i++]!, g.raw);
          else {
            const part = got.slice(i, i + g.max);
            i += part.length;
            value = this.#batch(part);
          }
        } catch (err) {
          g.reject(err);
          continue;
        } finally {
          // A batch ended early: what it left in #held comes before the rest of this take.
          if (held.length > 0 && i < got.length) {
            held.push(...got.slice(i));
            i = got.length;
          }
        }
        g.resolve(value);
      }
      if (i < got.length) held.push(...got.slice(i));
    }
    if (getters.length > 0 && Atomics.load(this.#h, H_CLOSED) !== 0 && held.length === 0 && Atomics.load(this.#h, H_HEAD) === Atomics.load(this.#h, H_TAIL)) {
      for (const g of getters.splice(0)) g.reject(closedError(g.max ? 'getMany' : 'get'));
    }
  }

  #startGetPump(): void {
    if (this.#getPump) return;
    this.#getPump = true;
    void this.#runGetPump();
  }

  async #runGetPump(): Promise<void> {
    const h = this.#h;
    try {
      while (this.#getters.length > 0 && !this.#detached) {
        // Arm, then look: a producer that commits after our look sees the flag and wakes us.
        Atomics.store(h, H_GET_ARMED, 1);
        const seq = Atomics.load(h, H_NOT_EMPTY);
        this.#serveGetters();
        if (this.#getters.length === 0 || this.#detached) break;
        const kick = new AbortController();
        this.#getKick = kick;
        try {
          await wait(h, H_NOT_EMPTY, seq, { signal: kick.signal, timeout: RECHECK_MS });
        } catch (err) {
          // Kicked (close, dispose, last getter gone): look again. Anything else would repeat.
          if (!kick.signal.aborted) for (const g of this.#getters.splice(0)) g.reject(err);
        }
        this.#getKick = undefined;
      }
    } finally {
      this.#getPump = false;
    }
  }

  /**
   * Yields items until the queue is closed and drained. Breaking out of the loop stops taking
   * items; it does not close the queue.
   * @throws {IpcError} ERR_IPC_DECODE on undecodable bytes
   */
  [Symbol.asyncIterator](): AsyncIterator<T> {
    return iterateUntilClosed(() => this.get());
  }

  // ------------------------------------------------------------------------------------------
  // life cycle

  /**
   * Closes the queue for everyone: later puts and waiting getters (in every process) reject with
   * `ERR_IPC_CLOSED`; items already queued can still be taken. Idempotent.
   */
  async close(): Promise<void> {
    if (this.#detached) return;
    const h = this.#h;
    if (Atomics.exchange(h, H_CLOSED, 1) === 0) {
      for (const i of [H_NOT_EMPTY, H_NOT_FULL, H_JOIN_SEQ]) {
        Atomics.add(h, i, 1);
        notify(h, i);
      }
    }
    this.#getKick?.abort();
    this.#putKick?.abort();
  }

  /**
   * Detaches this handle: its waiting calls reject with `ERR_IPC_CLOSED`. The creator's handle also
   * unlinks the queue's name and its out-of-line segments (processes attached keep working).
   * Does not close the queue for others: see {@link Queue.close}. Idempotent.
   */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#detached) return;
    this.#detached = true;
    const err = new IpcError('ERR_IPC_CLOSED', 'this queue handle was disposed');
    for (const g of this.#getters.splice(0)) g.reject(err);
    for (const p of this.#putters.splice(0)) {
      discard(p.rec);
      p.reject(err);
    }
    this.#getKick?.abort();
    this.#putKick?.abort();
    this.#disposed.abort();
    slots.unregister(this);
    this.#att?.release();
    this.#att = undefined;
    if (this.#pool) closePool(this.#pool);
    this.#segCache.clear();
    if (this.#creator && this.#unlinkOnExit) {
      this.#shm.unlink();
      sweepAll(this.name);
      createdHere.delete(this.name);
    }
    this.#shm.close();
  }

  /**
   * Unlinks the out-of-line segments of producers that died before committing them, and of
   * consumers that died after taking them. Runs by itself when a dead lock holder is recovered.
   * @returns how many segments were removed
   */
  sweep(): number {
    this.#checkOpen('sweep');
    const h = this.#h;
    const att = this.#att!;
    let removed = 0;
    // Both locks: no record is being committed or taken while we compare names with the ring.
    if (att.lock(H_PUT_LOCK)) recoverPut(h);
    try {
      if (att.lock(H_GET_LOCK)) recoverGet(h);
      try {
        const live = new Set<string>();
        let head = Atomics.load(h, H_HEAD);
        const tail = Atomics.load(h, H_TAIL);
        while (head !== tail) {
          const off = head & this.#mask;
          const len = this.#ring32[off >> 2]!;
          const kind = this.#ring32[(off >> 2) + 1]!;
          if (kind === KIND_PAD) {
            head = (head + len) | 0;
            continue;
          }
          if (kind === KIND_OUT_OF_LINE) {
            const start = off + RECORD_HEADER;
            live.add(textDecoder.decode(this.#ring.slice(start + 4, start + len)));
          }
          head = (head + recordBytes(len)) | 0;
        }
        for (const n of outOfLineNames(this.name)) {
          if (live.has(n)) continue;
          const m = /-o(\d+)-(\d+)-\d+$/.exec(n);
          if (!m) continue;
          const pid = Number(m[1]);
          if (pid === process.pid || (pid > 0 && isProcessAlive(pid, Number(m[2]) || undefined))) continue;
          unlinkName(n);
          removed++;
        }
      } finally {
        att.unlock(H_GET_LOCK);
      }
    } finally {
      att.unlock(H_PUT_LOCK);
    }
    return removed;
  }

  // A dead lock holder may have left an out-of-line segment behind: look once the lock is free.
  #sweepSoon(): void {
    setImmediate(() => {
      try {
        if (!this.#detached) this.sweep();
      } catch {
        // best effort; sweep() can be called again
      }
    }).unref();
  }

  #checkOpen(what: string): void {
    if (this.#detached) throw new IpcError('ERR_IPC_CLOSED', `${what}: this queue handle was disposed`);
  }

  /** @internal for JoinableQueue: aborted when this handle is disposed */
  protected get _disposed(): AbortSignal {
    return this.#disposed.signal;
  }

  /** @internal for JoinableQueue */
  protected get _header(): Int32Array {
    return this.#h;
  }

  /** @internal for JoinableQueue */
  protected _checkOpen(what: string): void {
    this.#checkOpen(what);
  }

  /**
   * Describes this queue as a handle, so it can be passed to a `Process` or a thread.
   * @throws {IpcError} ERR_IPC_HANDLE for a queue with a custom codec (open it by name instead)
   */
  [toHandle](_context: HandleContext): Handle {
    const codec = codecName(this.codec as Codec<unknown>);
    if (!codec) {
      throw new IpcError('ERR_IPC_HANDLE', 'a queue with a custom codec cannot be passed as a handle: pass its name and call Queue.open(name, { codec })');
    }
    return { kind: QUEUE_KIND, module: MODULE_URL, name: this.name, codec };
  }
}

// The consumers' staging buffer: records of plain data are copied here under the get lock and
// decoded after it (decoding under the lock made consumers wait for each other's decodes). One per
// thread, grown as needed up to STAGE_MAX; a longer record is copied out on its own.
const STAGE_MAX = 256 * 1024;
let stage = new Uint8Array(16 * 1024);
// stage's length, kept here: reading `stage.byteLength` went through a generic property load.
let stageSize = stage.length;
let stage32 = new Int32Array(stage.buffer);
const EMPTY_BYTES = new Uint8Array(0);
// The last #take's staged items, three words each: index in its result, offset in `stage`, length.
let staged = new Int32Array(3 * 256);
let stagedCount = 0;

/**
 * After a #take for getMany (`plain`) that did not decode every item: the values it decoded
 * become {@link Decoded} again, so that the items can be finished one by one. A decoded value is
 * never a Uint8Array: one there is the copy of an item that was not plain data.
 */
function wrapDecoded(got: unknown[]): void {
  for (let i = 0, n = stagedCount * 3; i < n; i += 3) {
    const at = staged[i]!;
    const v = got[at];
    if (!(v instanceof Uint8Array)) got[at] = new Decoded(v);
  }
}

function growStaged(): void {
  const next = new Int32Array(staged.length * 2);
  next.set(staged);
  staged = next;
}

/** Copies ring bytes [start, start + len) (`start` a multiple of 4) to the staging buffer at `at`. */
function stageRecord(r32: Int32Array, start: number, len: number, at: number): void {
  if (at + len + 8 > stageSize) {
    let size = stageSize * 2;
    while (size < at + len + 8) size *= 2;
    const next = new Uint8Array(size);
    next.set(stage.subarray(0, at));
    stage = next;
    stageSize = size;
    stage32 = new Int32Array(next.buffer);
  }
  if (len > 256) {
    stage.set(new Uint8Array(r32.buffer, r32.byteOffset + start, len), at);
    return;
  }
  const s32 = stage32;
  const w = at >> 2;
  const r = start >> 2;
  for (let i = 0, n = (len + 3) >> 2; i < n; i++) s32[w + i] = r32[r + i]!;
}

// Small copies are carved from a shared slab, as Buffer's pool does: one ArrayBuffer per 256 KiB
// instead of one per item (allocating an ArrayBuffer costs more than copying 4 KiB).
const SLAB_BYTES = 256 * 1024;
const SLAB_MAX_ITEM = 16 * 1024;
let slab = new ArrayBuffer(0);
let slabUsed = 0;

/**
 * A private copy of `len` bytes at `start`. Large copies skip the zero-fill that `slice` does
 * (which halves the bandwidth of 1 MiB items).
 */
function copyOut(from: Uint8Array, start: number, len: number): Uint8Array {
  if (len <= SLAB_MAX_ITEM) {
    const out = outBuffer(len);
    out.set(from.subarray(start, start + len));
    return out;
  }
  if (len < 65_536) return from.slice(start, start + len);
  const b = Buffer.allocUnsafeSlow(len);
  b.set(from.subarray(start, start + len));
  return new Uint8Array(b.buffer, b.byteOffset, len);
}

/** Room for a private copy of `len` bytes (not zeroed: the caller fills all of it). */
function outBuffer(len: number): Uint8Array {
  if (len <= SLAB_MAX_ITEM) {
    if (slabUsed + len > slab.byteLength) {
      slab = new ArrayBuffer(SLAB_BYTES);
      slabUsed = 0;
    }
    const out = new Uint8Array(slab, slabUsed, len);
    slabUsed = (slabUsed + len + 7) & ~7;
    return out;
  }
  const b = Buffer.allocUnsafeSlow(len);
  return new Uint8Array(b.buffer, b.byteOffset, len);
}

/** Copies the bytes of an item that waits for a segment aside: into the pool's spare when free. */
function setAside(rec: Prepared, pool: Pool): void {
  const bytes = rec.deferred!;
  const len = bytes.byteLength;
  if (pool.spareBusy) {
    rec.deferred = bytes.slice();
    return;
  }
  if (!pool.spare || pool.spare.byteLength < len) {
    const b = Buffer.allocUnsafeSlow(align4k(len));
    pool.spare = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  }
  const view = pool.spare.subarray(0, len);
  view.set(bytes);
  pool.spareBusy = true;
  rec.deferred = view;
  rec.spareOf = pool;
}

function releaseSpare(rec: Prepared): void {
  if (rec.spareOf) rec.spareOf.spareBusy = false;
  rec.spareOf = undefined;
}

function discard(rec: Prepared): void {
  rec.deferred = undefined;
  releaseSpare(rec);
  if (rec.pooled) {
    dropPooled(rec.pooled);
    rec.pooled = undefined;
  }
  const seg = rec.segment;
  if (!seg) return;
  rec.segment = undefined;
  try {
    seg.unlink();
  } catch {
    // gone
  }
  seg.close();
}

// putMany's batch: finished records (header and payload, 8-byte aligned), built outside the put
// lock and copied to the ring under one hold of it; with the structured codec in its scratch
// buffer, with other codecs in this batch buffer (made on first use). Shared by every handle of
// this thread; a putMany entered again while one builds (a custom codec that puts) goes item by item.
const BATCH_BYTES = 64 * 1024;
const BATCH_ITEMS = 1024;
let batchBuf = new Uint8Array(0);
let batch32 = new Int32Array(batchBuf.buffer);
let batching = false;

function growBatch(need: number): void {
  batchBuf = new Uint8Array(need);
  batch32 = new Int32Array(batchBuf.buffer);
}

/**
 * Under the get lock: moves HEAD from `oldHead` to `head` past `n` items. The journal words and
 * GET_COUNT are plain stores, published by the seq-cst stores that follow (HEAD, the unlock); the
 * HEAD store is the commit, and a waiter that recovers the lock from a dead holder
 * rolls a valid journal back and rewrites GET_COUNT from it (recoverGet). A GET_COUNT read early
 * is the old one: it over-counts the items queued, which only makes a producer wait for a maxsize
 * slot a moment longer.
 */
function publishTake(h: Int32Array, oldHead: number, oldCount: number, head: number, n: number): void {
  const newCount = (oldCount + n) | 0;
  h[H_JG_OLD_HEAD] = oldHead;
  h[H_JG_OLD_COUNT] = oldCount;
  h[H_JG_NEW_HEAD] = head;
  h[H_JG_NEW_COUNT] = newCount;
  commitJournaled(h, H_JG_VALID, H_GET_COUNT, newCount, H_HEAD, head);
}

/**
 * Commits records already written past TAIL (one or a run): the redo journal first (the records are
 * complete, so a waiter that recovers the lock from a dead holder rolls a valid journal forward),
 * then PUT_COUNT and TAIL. Journal words and PUT_COUNT are plain stores, published by the seq-cst
 * stores that follow (TAIL, the unlock); the TAIL store is the commit.
 */
function publishPut(h: Int32Array, tail: number, count: number): void {
  h[H_JP_TAIL] = tail;
  h[H_JP_COUNT] = count;
  commitJournaled(h, H_JP_VALID, H_PUT_COUNT, count, H_TAIL, tail);
}

/**
 * The end of a journaled commit (the journal words written), always followed by the unlock: the
 * journal's valid flag, the count, the position (the commit), the flag cleared. The flag is a plain
 * store: the journal is read only by a holder that took the lock from a dead one, and a killed
 * process leaves every store it made up to where it stopped, in program order. The position is a
 * plain store too on x86 ({@link storeBeforeUnlock}: the unlock's `Atomics.store` right after is the
 * fence), `Atomics.store` elsewhere. V8's optimizing compiler keeps typed-array stores in program
 * order and does not drop a store that a later one to the same word overwrites (its store-store
 * elimination is for object fields only: checked with --print-opt-code on Node 20's V8).
 */
function commitJournaled(h: Int32Array, valid: number, countAt: number, count: number, posAt: number, pos: number): void {
  h[valid] = 1;
  h[countAt] = count;
  storeBeforeUnlock(h, posAt, pos);
  h[valid] = 0;
}

/**
 * Reads the other end's word at `index` (HEAD, GET_COUNT or TAIL) and records it at `seen`, the view
 * of it that this end's handles share. Only under this end's lock: the lock orders the writers of
 * `seen`, and its compareExchange is the fence that {@link loadAfterFence} needs (a value read
 * earlier in the same hold, if V8 reused it, is only older: it under-counts what it bounds).
 */
function refreshSeen(h: Int32Array, seen: number, index: number): number {
  const v = loadAfterFence(h, index);
  h[seen] = v;
  return v;
}

/** Wakes a consumer parked on an empty queue, if one armed the wake-up. */
function wakeNotEmpty(h: Int32Array): void {
  // Called right after the commit's unlock: its store is the fence that orders this load after TAIL's.
  if (loadAfterFence(h, H_GET_ARMED) !== 0) wakeArmed(h, H_GET_ARMED, H_NOT_EMPTY);
}

/** Wakes the producers waiting for room, if any is armed (one wake-up per sleep). */
function wakeNotFull(h: Int32Array): void {
  if (Atomics.load(h, H_PUT_ARMED) !== 0) wakeArmed(h, H_PUT_ARMED, H_NOT_FULL);
}

// Disarms the wake-up at `armed` (only one waker gets it) and wakes the waiters on `seq`.
function wakeArmed(h: Int32Array, armed: number, seq: number): void {
  if (Atomics.exchange(h, armed, 0) !== 0) {
    Atomics.add(h, seq, 1);
    notify(h, seq);
  }
}

/** A dead producer held the put lock: its journal says whether its record was complete. */
function recoverPut(h: Int32Array): void {
  if (Atomics.load(h, H_JP_VALID) !== 0) {
    Atomics.store(h, H_PUT_COUNT, Atomics.load(h, H_JP_COUNT));
    Atomics.store(h, H_TAIL, Atomics.load(h, H_JP_TAIL));
    Atomics.store(h, H_JP_VALID, 0);
  } else {
    // It died before its journal was valid: the journal words may hold its unfinished commit.
    Atomics.store(h, H_JP_TAIL, Atomics.load(h, H_TAIL));
    Atomics.store(h, H_JP_COUNT, Atomics.load(h, H_PUT_COUNT));
  }
}

/**
 * A dead consumer held the get lock. If HEAD had not moved, the items stay (rolled back: it never
 * returned them); if it had, producers may already reuse that space, so the take stands.
 */
function recoverGet(h: Int32Array): void {
  if (Atomics.load(h, H_JG_VALID) === 0) return;
  const head = Atomics.load(h, H_HEAD);
  if (head === Atomics.load(h, H_JG_NEW_HEAD)) Atomics.store(h, H_GET_COUNT, Atomics.load(h, H_JG_NEW_COUNT));
  else Atomics.store(h, H_GET_COUNT, Atomics.load(h, H_JG_OLD_COUNT));
  Atomics.store(h, H_JG_VALID, 0);
}

/**
 * A {@link Queue} that also counts unfinished items, like Python's `JoinableQueue`: every `put`
 * adds one, `taskDone()` removes one, and `join()` waits until all are done.
 *
 * @example
 * const jobs = new JoinableQueue();
 * // consumer: const job = await jobs.get(); work(job); jobs.taskDone();
 * await jobs.join({ timeout: 60_000 });
 */
export class JoinableQueue<T = unknown> extends Queue<T> {
  /** Items put and not yet marked done with {@link JoinableQueue.taskDone}. */
  unfinished(): number {
    const h = this._header;
    return (Atomics.load(h, H_PUT_COUNT) - Atomics.load(h, H_DONE_COUNT)) | 0;
  }

  /**
   * Marks one item taken with `get` as done.
   * @throws {IpcError} ERR_IPC_OVER_RELEASE when called more times than items were put
   */
  taskDone(): void {
    this._checkOpen('taskDone');
    const h = this._header;
    for (;;) {
      const done = Atomics.load(h, H_DONE_COUNT);
      const put = Atomics.load(h, H_PUT_COUNT);
      if (((put - done) | 0) <= 0) throw new IpcError('ERR_IPC_OVER_RELEASE', 'taskDone() called more times than there were items');
      if (Atomics.compareExchange(h, H_DONE_COUNT, done, (done + 1) | 0) !== done) continue;
      if (((put - done - 1) | 0) === 0 && Atomics.load(h, H_JOIN_WAITERS) > 0) {
        Atomics.add(h, H_JOIN_SEQ, 1);
        notify(h, H_JOIN_SEQ);
      }
      return;
    }
  }

  /**
   * Waits until every item put was marked done.
   * @param options - `{ timeout, signal }`
   * @throws {IpcError} ERR_IPC_TIMEOUT, ERR_IPC_ABORTED; ERR_IPC_CLOSED when this handle is disposed
   */
  async join(options?: WaitOptions): Promise<void> {
    validateWaitOptions(options);
    this._checkOpen('join');
    if (this.unfinished() <= 0) return;
    const h = this._header;
    const deadline = options?.timeout === undefined ? Infinity : performance.now() + options.timeout;
    Atomics.add(h, H_JOIN_WAITERS, 1);
    try {
      for (;;) {
        const seq = Atomics.load(h, H_JOIN_SEQ);
        if (this.unfinished() <= 0) return;
        const left = deadline - performance.now();
        if (left <= 0) throw timeoutError(options!.timeout!, 'join');
        const disposed = this._disposed;
        const signal = options?.signal ? AbortSignal.any([options.signal, disposed]) : disposed;
        const r = await wait(h, H_JOIN_SEQ, seq, { timeout: Math.min(left, RECHECK_MS), signal }).catch((err: unknown) => {
          if (options?.signal?.aborted) throw abortError(options.signal, 'join');
          if (disposed.aborted) throw new IpcError('ERR_IPC_CLOSED', 'join: this queue handle was disposed');
          throw err;
        });
        if (r === 'timed-out' && this.unfinished() > 0 && performance.now() >= deadline) throw timeoutError(options!.timeout!, 'join');
      }
    } finally {
      Atomics.sub(h, H_JOIN_WAITERS, 1);
    }
  }
}

/**
 * The minimal queue, like Python's `SimpleQueue`: no item limit (only the ring's bytes bound it,
 * and `put` waits for room rather than buffering without bound).
 */
export class SimpleQueue<T = unknown> extends Queue<T> {
  /**
   * @param options - `{ capacityBytes, codec, maxItemBytes, name, unlinkOnExit }` (no maxsize)
   */
  constructor(options: Omit<QueueOptions<T>, 'maxsize'> = {}) {
    if (typeof options === 'object' && options !== null && 'maxsize' in options && options.maxsize !== undefined) {
      throw new TypeError('SimpleQueue has no maxsize: use Queue');
    }
    super(options);
  }
}

declare const __filename: string | undefined;
const MODULE_URL = moduleUrl(typeof __filename === 'string' ? __filename : import.meta.url);

registerHandleKind(QUEUE_KIND, (handle) => Queue.open(handle.name as string, { codec: handle.codec as CodecName }));
