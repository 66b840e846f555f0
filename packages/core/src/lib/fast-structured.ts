import { deserialize, serialize } from 'node:v8';
import { IpcError } from './errors.js';

/**
 * A faster path for the structured codec. `v8.serialize` builds a serializer object per call and
 * caps small-object throughput at a few hundred thousand per second; most messages are plain
 * data (objects, arrays, strings, numbers, booleans, null), so those are written here, in JS, in
 * the same V8 wire format (version 15), and read back the same way. Anything else (Map, Set, Date,
 * typed arrays, BigInt, class instances, shared or cyclic references, holes) falls back to
 * `node:v8` for the whole value, so the bytes are always readable by `v8.deserialize` and this
 * decoder reads anything `v8.serialize` writes.
 *
 * @internal
 */

const T_PADDING = 0x00;
const T_VERIFY_COUNT = 0x3f; // '?'
const T_UNDEFINED = 0x5f; // '_'
const T_NULL = 0x30; // '0'
const T_TRUE = 0x54; // 'T'
const T_FALSE = 0x46; // 'F'
const T_INT32 = 0x49; // 'I'
const T_UINT32 = 0x55; // 'U'
const T_DOUBLE = 0x4e; // 'N'
const T_ONE_BYTE = 0x22; // '"'
const T_TWO_BYTE = 0x63; // 'c'
const T_UTF8 = 0x53; // 'S'
const T_BEGIN_OBJECT = 0x6f; // 'o'
const T_END_OBJECT = 0x7b; // '{'
const T_BEGIN_DENSE = 0x41; // 'A'
const T_END_DENSE = 0x24; // '$'
const T_HOLE = 0x2d; // '-'
const VERSION = 15;

class Fallback extends Error {}
const FALLBACK = new Fallback('fallback');

let buf = new Uint8Array(4096);
let view = new DataView(buf.buffer);
let buf32 = new Int32Array(buf.buffer);
let pos = 0;
// Objects written so far in this value: a few in an array (cheaper than a Set), more in a Set.
const seenFew: object[] = [];
let seenCount = 0;
const seen = new Set<object>();

function wasSeen(v: object): boolean {
  for (let i = 0; i < seenCount; i++) if (seenFew[i] === v) return true;
  if (seenCount < 16) {
    seenFew[seenCount++] = v;
    return false;
  }
  if (seen.has(v)) return true;
  seen.add(v);
  return false;
}

function resetSeen(): void {
  for (let i = 0; i < seenCount; i++) seenFew[i] = EMPTY_OBJECT;
  seenCount = 0;
  if (seen.size > 0) seen.clear();
}

const EMPTY_OBJECT = {};

/** Makes room for `need` more bytes at `pos`. */
function grow(need: number): void {
  let size = buf.length * 2;
  while (size < pos + need) size *= 2;
  const next = new Uint8Array(size);
  next.set(buf.subarray(0, pos));
  buf = next;
  view = new DataView(buf.buffer);
  buf32 = new Int32Array(buf.buffer);
}

// Every writer below first makes sure of its room with one comparison (`pos + n > buf.length`),
// and calls grow() only when that fails.

/** A varint of a non-negative integer below 2^53; the caller reserved 8 bytes (10 above 2^49). */
function varint(n: number): void {
  if (n < 0x80) {
    buf[pos++] = n;
    return;
  }
  while (n >= 0x80) {
    buf[pos++] = (n & 0x7f) | 0x80;
    n = n >= 0x1000_0000 ? Math.floor(n / 128) : n >>> 7;
  }
  buf[pos++] = n;
}

function varintBytes(n: number): number {
  let k = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    k++;
  }
  return k;
}

/** Whether V8 writes `n` as an int32 (zigzag varint) rather than a double: -0 is a double. */
function isInt32(n: number): boolean {
  return (n | 0) === n && (n !== 0 || 1 / n > 0);
}

function writeNumber(n: number): void {
  if (pos + 10 > buf.length) grow(10);
  if (isInt32(n)) {
    buf[pos++] = T_INT32;
    const z = ((n << 1) ^ (n >> 31)) >>> 0;
    if (z < 0x80) buf[pos++] = z;
    else varint(z);
  } else {
    buf[pos++] = T_DOUBLE;
    view.setFloat64(pos, n, true);
    pos += 8;
  }
}

function writeString(s: string): void {
  const len = s.length;
  if (pos + len + 12 > buf.length) grow(len + 12);
  if (len < 0x80) {
    // Optimistically one byte: copy while checking, and start over as two-byte at the first wide char.
    const start = pos;
    buf[pos] = T_ONE_BYTE;
    buf[pos + 1] = len;
    let p = pos + 2;
    let i = 0;
    for (; i < len; i++) {
      const c = s.charCodeAt(i);
      if (c > 0xff) break;
      buf[p++] = c;
    }
    if (i === len) {
      pos = p;
      return;
    }
    pos = start;
    writeTwoByte(s);
    return;
  }
  let oneByte = true;
  for (let i = 0; i < len; i++) {
    if (s.charCodeAt(i) > 0xff) {
      oneByte = false;
      break;
    }
  }
  if (!oneByte) {
    writeTwoByte(s);
    return;
  }
  buf[pos++] = T_ONE_BYTE;
  varint(len);
  for (let i = 0; i < len; i++) buf[pos++] = s.charCodeAt(i);
}

function writeTwoByte(s: string): void {
  const len = s.length;
  const bytes = len * 2;
  if (pos + bytes + 12 > buf.length) grow(bytes + 12);
  // V8 aligns two-byte string data to an even offset with a padding tag.
  if ((pos + 1 + varintBytes(bytes)) & 1) buf[pos++] = T_PADDING;
  buf[pos++] = T_TWO_BYTE;
  varint(bytes);
  for (let i = 0; i < len; i++) {
    const c = s.charCodeAt(i);
    buf[pos++] = c & 0xff;
    buf[pos++] = c >> 8;
  }
}

// Shapes: a key list and those keys' encodings back to back, copied (encoder) or compared
// (decoder) a word at a time instead of encoded or read again while the keys come in the same order.
// Each end keeps the last shape per nesting depth; shapes seen before are kept in `shapeTable`, so
// a stream that alternates between a few message types switches shapes without building them again.
const SHAPE_DEPTHS = 8;
const SHAPE_MAX_KEYS = 32;
const SHAPE_TABLE_MAX = 256;
const NO_KEYS: string[] = [];

/**
 * The decoder's memory of the last value under each key of a shape: the key's record followed by
 * that value's bytes, in the key's slot of `bytes`. A key and its value are compared with the slot
 * in one run of words and, when they are the same bytes, the value kept is handed out (a copy for
 * an array) instead of being read again. Values of up to {@link VALUE_CACHE_MAX} bytes are kept:
 * primitives, and arrays of primitives. (An encoder-side twin, comparing values and copying their
 * bytes, measured slower than writing them: not kept.)
 */
interface ValueCache {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  /** Bytes of each slot in use: the key's record, plus the kept value's when `kind` is not NONE. */
  readonly len: Int32Array;
  /** The value kept under each key (an array as a private copy). */
  readonly vals: unknown[];
  /** KEPT_NONE, KEPT_VALUE (primitive: handed out as is) or KEPT_ARRAY (an array: copied). */
  readonly kind: Uint8Array;
  /** Visits left during which a key whose value changed keeps no value (values that change every time cost no copy). */
  readonly skip: Uint8Array;
}

interface Shape {
  /** The keys, as V8's internalized strings (what a property key becomes; see {@link shapeOf}). */
  readonly keys: string[];
  /** Each key as a one-byte string record, back to back, padded to whole words plus one (the encoder's). */
  readonly bytes: Uint8Array;
  readonly view: DataView;
  /** Where each key's record ends in `bytes`. */
  readonly ends: Int32Array;
  /** Where each key's slot starts in the decoder's cache (a multiple of 4). */
  readonly slot: Int32Array;
  /** The length of each key's record (a one-byte string: tag, length, characters). */
  readonly keyLen: Int32Array;
  readonly dec: ValueCache;
  /** The shape's own decoder: undefined until it is made, null where none is made. */
  fastDec: FastDecoder | null | undefined;
  /** Objects read while this was the current shape, before its decoder was made. */
  decUses: number;
  /** The shape's own encoder, as `fastDec`. */
  fastEnc: FastEncoder | null | undefined;
  /** Objects written while this was the current shape, before its encoder was made. */
  encUses: number;
}

const KEPT_NONE = 0;
const KEPT_VALUE = 1;
const KEPT_ARRAY = 2;
/** The longest value bytes a shape's cache keeps under a key. */
const VALUE_CACHE_MAX = 32;
/** How many visits a key whose kept value changed goes without keeping one. */
const VALUE_SKIP = 32;

function valueCache(size: number, n: number): ValueCache {
  const bytes = new Uint8Array(size);
  return { bytes, view: new DataView(bytes.buffer), len: new Int32Array(n), vals: new Array<unknown>(n).fill(undefined), kind: new Uint8Array(n), skip: new Uint8Array(n) };
}

const NO_SHAPE: Shape = { keys: NO_KEYS, bytes: new Uint8Array(0), view: new DataView(new ArrayBuffer(0)), ends: new Int32Array(0), slot: new Int32Array(0), keyLen: new Int32Array(0), dec: valueCache(0, 0), fastDec: null, decUses: 0, fastEnc: null, encUses: 0 };
const shapeTable = new Map<string, Shape>();
// The encoder's shape per depth (compared by identity first: objects of one shape hand out the same key strings).
const writeShapes: Shape[] = new Array<Shape>(SHAPE_DEPTHS).fill(NO_SHAPE);

// Checked once per encode: an enumerable property on Object.prototype would show up in for-in.
let forInOwn = true;

/** True while Object.prototype has no enumerable property (so for-in lists own keys only). */
function prototypeClean(): boolean {
  for (const _ in Object.prototype) return false;
  return true;
}

function writeObject(v: Record<string, unknown>, depth: number): void {
  if (pos + 8 > buf.length) grow(8);
  buf[pos++] = T_BEGIN_OBJECT;
  let n = 0;
  if (depth < SHAPE_DEPTHS && forInOwn) {
    // for-in reads each value by the enum cache (no key array, no keyed lookup) on fast objects.
    const shape = writeShapes[depth]!;
    const known = shape.keys;
    const kn = known.length;
    let missKeys: string[] | undefined;
    const kv = shape.view;
    const ends = shape.ends;
    let from = 0;
    // The write position and buffer in locals (registers): `pos` is written back around calls, and
    // `b` and `w` read again after them (a call may grow the buffer).
    let p = pos;
    let b = buf;
    let w = view;
    for (const key in v) {
      if (missKeys === undefined && n < kn && known[n] === key) {
        const to = ends[n]!;
        // Room for the key's words and for the common values below (a double: 9 bytes).
        if (p + (to - from) + 16 > b.length) {
          pos = p;
          grow(to - from + 16);
          b = buf;
          w = view;
        }
        // A word at a time (the shape's bytes are padded to whole words): the last word's excess
        // lands where the value goes next, and is written over.
        const base = p - from;
        for (let j = from; j < to; j += 4) w.setInt32(base + j, kv.getInt32(j, true), true);
        p = base + to;
        from = to;
      } else {
        if (missKeys === undefined) missKeys = known.slice(0, n);
        missKeys.push(key);
        pos = p;
        writeString(key);
        if (pos + 16 > buf.length) grow(16);
        p = pos;
        b = buf;
        w = view;
      }
      // Small ints, booleans and doubles written here (the room is there); the rest by the writers.
      const val: unknown = v[key];
      if (typeof val === 'number') {
        const int = isInt32(val);
        if (int && val >= 0 && val < 64) {
          b[p] = T_INT32;
          b[p + 1] = val << 1;
          p += 2;
        } else if (!int) {
          b[p] = T_DOUBLE;
          w.setFloat64(p + 1, val, true);
          p += 9;
        } else {
          pos = p;
          writeNumber(val);
          p = pos;
          b = buf;
          w = view;
        }
      } else if (typeof val === 'boolean') b[p++] = val ? T_TRUE : T_FALSE;
      else {
        pos = p;
        if (typeof val === 'string') writeString(val);
        else writeValue(val, depth + 1);
        p = pos;
        b = buf;
        w = view;
      }
      n++;
    }
    pos = p;
    if (missKeys !== undefined || n !== kn) writeShapes[depth] = shapeOf(missKeys ?? known.slice(0, n)) ?? writeShapes[depth]!;
  } else {
    const keys = Object.keys(v);
    n = keys.length;
    for (let i = 0; i < n; i++) {
      const key = keys[i]!;
      writeString(key);
      writeValue(v[key], depth + 1);
    }
  }
  if (pos + 12 > buf.length) grow(12);
  buf[pos++] = T_END_OBJECT;
  varint(n);
}

/**
 * The shape of `keys`, from the table or made and kept there; undefined when the keys are too
 * many, not all short one-byte strings, or include `__proto__` (written and read the slow way, as
 * an own property).
 */
function shapeOf(keys: ReadonlyArray<string | number>): Shape | undefined {
  const n = keys.length;
  if (n > SHAPE_MAX_KEYS) return undefined;
  let total = 0;
  let size = 0;
  for (let i = 0; i < n; i++) {
    const k = keys[i]!;
    if (typeof k !== 'string' || k.length >= 0x80 || k === '__proto__') return undefined;
    for (let j = 0; j < k.length; j++) if (k.charCodeAt(j) > 0xff) return undefined;
    total += 2 + k.length;
    size += (2 + k.length + VALUE_CACHE_MAX + 3) & ~3;
  }
  // Keys are one-byte strings: joined by a wider character, the list is told apart from any other.
  const id = keys.join('\u0100');
  const known = shapeTable.get(id);
  if (known !== undefined) return known;
  const bytes = new Uint8Array((total + 7) & ~3);
  const ends = new Int32Array(n);
  const slot = new Int32Array(n);
  const keyLen = new Int32Array(n);
  const dec = valueCache(size, n);
  let o = 0;
  let c = 0;
  for (let i = 0; i < n; i++) {
    const k = keys[i] as string;
    bytes[o++] = T_ONE_BYTE;
    bytes[o++] = k.length;
    for (let j = 0; j < k.length; j++) bytes[o++] = k.charCodeAt(j);
    ends[i] = o;
    slot[i] = c;
    keyLen[i] = 2 + k.length;
    dec.bytes.set(bytes.subarray(o - keyLen[i]!, o), c);
    dec.len[i] = keyLen[i]!;
    c += (2 + k.length + VALUE_CACHE_MAX + 3) & ~3;
  }
  // A key read from the bytes is a string built here: as a property key V8 would look it up in its
  // string table at every store. Object.keys hands out the internalized one.
  const shape: Shape = { keys: (keys as string[]).map((k) => Object.keys({ [k]: 0 })[0]!), bytes, view: new DataView(bytes.buffer), ends, slot, keyLen, dec, fastDec: undefined, decUses: 0, fastEnc: undefined, encUses: 0 };
  if (shapeTable.size >= SHAPE_TABLE_MAX) {
    shapeTable.clear();
    // The functions of the shapes dropped go with them.
    made.dec = 0;
    made.enc = 0;
  }
  shapeTable.set(id, shape);
  return shape;
}

/**
 * How a value may be kept in a shape's cache: KEPT_VALUE for a primitive, KEPT_ARRAY for an array
 * of at most 8 primitives, else KEPT_NONE.
 */
function keepable(v: unknown): number {
  if (typeof v !== 'object' || v === null) return KEPT_VALUE;
  if (!Array.isArray(v) || v.length > 8) return KEPT_NONE;
  for (let i = 0; i < v.length; i++) {
    const e: unknown = v[i];
    if (typeof e === 'object' && e !== null) return KEPT_NONE;
  }
  return KEPT_ARRAY;
}

function writeValue(v: unknown, depth: number): void {
  // `typeof v === '...'` tests compile to type checks; a switch on typeof builds the string.
  if (typeof v === 'number') {
    writeNumber(v);
    return;
  }
  if (typeof v === 'string') {
    writeString(v);
    return;
  }
  if (typeof v === 'boolean') {
    if (pos + 1 > buf.length) grow(1);
    buf[pos++] = v ? T_TRUE : T_FALSE;
    return;
  }
  if (v === undefined) {
    if (pos + 1 > buf.length) grow(1);
    buf[pos++] = T_UNDEFINED;
    return;
  }
  if (typeof v !== 'object') throw FALLBACK; // bigint, symbol, function: node:v8 encodes or refuses them
  if (v === null) {
    if (pos + 1 > buf.length) grow(1);
    buf[pos++] = T_NULL;
    return;
  }
  // Deep, shared or cyclic: node:v8 keeps identity exact. The value at the root is not tracked: it
  // can only come again inside itself, a cycle, which the depth bound ends (a fallback either way).
  if (depth > 64 || (depth > 0 && wasSeen(v))) throw FALLBACK;
  if (Array.isArray(v)) {
    // Any array, whatever its prototype: V8 writes an Array subclass instance as a plain array too.
    const len = v.length;
    if (pos + 12 > buf.length) grow(12);
    buf[pos++] = T_BEGIN_DENSE;
    varint(len);
    for (let i = 0; i < len; i++) {
      const item: unknown = v[i];
      if (item === undefined && !(i in v)) throw FALLBACK; // a hole
      writeValue(item, depth + 1);
    }
    if (pos + 24 > buf.length) grow(24);
    buf[pos++] = T_END_DENSE;
    buf[pos++] = 0;
    varint(len);
    return;
  }
  // Not a typed array or DataView: for-in would list every index before the shape's code could
  // tell (writeObject never sees one: its prototype sends it to node:v8 first).
  if (depth < SHAPE_DEPTHS && forInOwn && !ArrayBuffer.isView(v)) {
    const sh = writeShapes[depth]!;
    const f = sh.fastEnc;
    if (f !== undefined) {
      if (f !== null) {
        const r = f(v, buf, view, pos, depth);
        if (r >= 0) {
          pos = r;
          return;
        }
      }
    } else if (++sh.encUses >= FAST_AFTER) sh.fastEnc = compileEncoder(sh);
  }
  const proto: unknown = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) throw FALLBACK;
  writeObject(v as Record<string, unknown>, depth);
}

let encoding = false;
// What encodeFast returns when the value is not plain data (or a getter re-entered the encoder).
const NOT_FAST = -1;

/**
 * Writes `value` into the scratch buffer and returns its length, or {@link NOT_FAST} when it is not
 * plain data or when called from inside another encode (a getter that puts).
 */
function encodeFast(value: unknown, at: number): number {
  if (encoding) return NOT_FAST;
  encoding = true;
  pos = at;
  try {
    if (at + 16 > buf.length) grow(16);
    buf[at] = 0xff;
    buf[at + 1] = VERSION;
    pos = at + 2;
    forInOwn = prototypeClean();
    writeValue(value, 0);
    if (seenCount > 0) resetSeen();
    return pos - at;
  } catch (err) {
    resetSeen();
    // A getter that threw, say: node:v8 would have thrown the same from inside serialize.
    if (err !== FALLBACK) throw new IpcError('ERR_IPC_ENCODE', 'structured codec could not encode the value', { cause: err });
    pos = 0;
    return NOT_FAST;
  } finally {
    encoding = false;
  }
}

/**
 * Encodes `value` into the scratch buffer ({@link scratch}) from offset `at` (the bytes before it
 * are kept, so a batch of values can be written one after another) and returns its length, or -1
 * when called from inside another encode (a getter that puts): then use {@link encodeStructured}.
 * @throws {IpcError} ERR_IPC_ENCODE when node:v8 cannot clone the value either
 */
export function encodeToScratch(value: unknown, at = 0): number {
  if (encoding) return -1;
  const n = encodeFast(value, at);
  if (n !== NOT_FAST) return n;
  const bytes = slowEncode(value);
  if (at + bytes.byteLength > buf.length) {
    pos = at;
    grow(bytes.byteLength);
  }
  buf.set(bytes, at);
  return bytes.byteLength;
}

/** The scratch buffer {@link encodeToScratch} wrote to (it may be replaced by a larger one). */
export function scratch(): Uint8Array {
  return buf;
}

/** Drops a scratch buffer that a large value grew past 1 MiB, so one big message is not kept for good. */
export function trimScratch(): void {
  if (buf.length <= 1 << 20 || encoding) return;
  buf = new Uint8Array(4096);
  view = new DataView(buf.buffer);
  buf32 = new Int32Array(buf.buffer);
}

/** {@link scratch} as 32-bit words (its length is a multiple of 4), for copying a word at a time. */
export function scratch32(): Int32Array {
  return buf32;
}

/**
 * Encodes `value` in V8's serialization format. Plain data comes back as a view into a scratch
 * buffer that the next call overwrites (copy it before encoding again); anything else as the
 * fresh bytes of `v8.serialize`.
 * @throws {IpcError} ERR_IPC_ENCODE when node:v8 cannot clone the value either
 */
export function encodeStructured(value: unknown): Uint8Array {
  const n = encodeFast(value, 0);
  return n === NOT_FAST ? slowEncode(value) : buf.subarray(0, n);
}

function slowEncode(value: unknown): Uint8Array {
  try {
    return serialize(value);
  } catch (err) {
    throw new IpcError('ERR_IPC_ENCODE', 'structured codec could not encode the value', { cause: err });
  }
}

// ------------------------------------------------------------------------------------------------

let src: Uint8Array = new Uint8Array(0);
let at = 0;
let end = 0;
// A DataView of src's buffer, kept while the buffers decoded from stay the same (a connection's read
// pool, the queue's staging buffer): words and doubles are read through it. `srcBase` is src's offset
// in the buffer.
let srcBuffer: ArrayBufferLike = src.buffer;
let srcView: DataView = new DataView(srcBuffer);
let srcBase = 0;
let srcRelease = false;

function setSource(bytes: Uint8Array): void {
  src = bytes;
  srcBase = bytes.byteOffset;
  if (bytes.buffer === srcBuffer) return;
  srcBuffer = bytes.buffer;
  srcView = new DataView(srcBuffer);
  // Not kept past the call: shared memory (its mapping goes when its buffer is collected), or a big buffer.
  srcRelease = srcBuffer.byteLength > 1 << 20 || srcBuffer instanceof SharedArrayBuffer;
}

function readVarint(): number {
  if (at < end) {
    const b = src[at]!;
    if (b < 0x80) {
      at++;
      return b;
    }
  }
  let result = 0;
  let mul = 1;
  for (;;) {
    if (at >= end) throw FALLBACK;
    const b = src[at++]!;
    result += (b & 0x7f) * mul;
    if (b < 0x80) return result;
    mul *= 128;
    if (mul > 2 ** 49) throw FALLBACK;
  }
}

// Short strings (property names above all) repeat from item to item: reuse the string when the
// bytes match a cached one instead of building it again.
const cache: string[] = new Array<string>(512).fill('');


function readDouble(): number {
  if (at + 8 > end) throw FALLBACK;
  const v = srcView.getFloat64(srcBase + at, true);
  at += 8;
  return v;
}

function readZigZag(): number {
  const z = readVarint();
  return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
}

function readOneByte(len: number): string {
  if (at + len > end) throw FALLBACK;
  let s: string;
  if (len <= 24) {
    const b = src;
    const a = at;
    let h = len;
    for (let i = 0; i < len; i++) h = (h * 31 + b[a + i]!) | 0;
    const slot = h & 511;
    const c = cache[slot]!;
    if (c.length === len) {
      let i = 0;
      while (i < len && c.charCodeAt(i) === b[a + i]) i++;
      if (i === len) {
        at = a + len;
        return c;
      }
    }
    s = '';
    for (let i = 0; i < len; i++) s += String.fromCharCode(b[a + i]!);
    cache[slot] = s;
  } else if (len < 64) {
    s = '';
    for (let i = 0; i < len; i++) s += String.fromCharCode(src[at + i]!);
  } else {
    s = Buffer.from(src.buffer, src.byteOffset + at, len).toString('latin1');
  }
  at += len;
  return s;
}

function readTwoByte(bytes: number): string {
  if (at + bytes > end || bytes & 1) throw FALLBACK;
  const s = Buffer.from(src.buffer, src.byteOffset + at, bytes).toString('utf16le');
  at += bytes;
  return s;
}

function readKey(): string | number {
  for (;;) {
    if (at >= end) throw FALLBACK;
    const tag = src[at++]!;
    switch (tag) {
      case T_PADDING:
        continue;
      case T_ONE_BYTE:
        return readOneByte(readVarint());
      case T_TWO_BYTE:
        return readTwoByte(readVarint());
      case T_UTF8: {
        const len = readVarint();
        if (at + len > end) throw FALLBACK;
        const s = Buffer.from(src.buffer, src.byteOffset + at, len).toString('utf8');
        at += len;
        return s;
      }
      case T_INT32:
        return readZigZag();
      case T_UINT32:
        return readVarint();
      case T_DOUBLE:
        return readDouble();
      default:
        throw FALLBACK;
    }
  }
}

function readValue(depth: number): unknown {
  for (;;) {
    if (at >= end) throw FALLBACK;
    const tag = src[at++]!;
    switch (tag) {
      case T_PADDING:
        continue;
      case T_VERIFY_COUNT:
        readVarint();
        continue;
      case T_UNDEFINED:
        return undefined;
      case T_NULL:
        return null;
      case T_TRUE:
        return true;
      case T_FALSE:
        return false;
      case T_INT32:
        return readZigZag();
      case T_UINT32:
        return readVarint();
      case T_DOUBLE:
        return readDouble();
      case T_ONE_BYTE:
        return readOneByte(readVarint());
      case T_TWO_BYTE:
      case T_UTF8:
        at--;
        return readKey();
      case T_BEGIN_OBJECT:
        if (depth > 256) throw FALLBACK;
        return readObject(depth);
      case T_BEGIN_DENSE: {
        if (depth > 256) throw FALLBACK;
        const len = readVarint();
        if (len > end - at) throw FALLBACK;
        const a = newArray(len);
        for (let i = 0; i < len; i++) {
          const s = src;
          const p = at;
          // A short one-byte string (the common element) read here; anything else by readValue.
          if (p + 1 < end && s[p] === T_ONE_BYTE && s[p + 1]! < 0x80) {
            at = p + 2;
            a[i] = readOneByte(s[p + 1]!);
          } else {
            if (s[p] === T_HOLE) throw FALLBACK;
            a[i] = readValue(depth + 1);
          }
        }
        if (at >= end || src[at++] !== T_END_DENSE) throw FALLBACK;
        if (readVarint() !== 0) throw FALLBACK; // extra properties on the array: let V8 do it
        if (readVarint() !== len) throw FALLBACK;
        return a;
      }
      default:
        throw FALLBACK; // sparse arrays, references, Map, Set, Date, host objects...: node:v8
    }
  }
}

/**
 * An array of `len` undefined to fill: short ones from a literal (allocated inline, packed, of a
 * kind any value fits without a transition), longer ones from `new Array(len)`.
 */
function newArray(len: number): unknown[] {
  switch (len) {
    case 0: return [];
    case 1: return [undefined];
    case 2: return [undefined, undefined];
    case 3: return [undefined, undefined, undefined];
    case 4: return [undefined, undefined, undefined, undefined];
    default: return new Array<unknown>(len);
  }
}

// The decoder's shape per depth: the last object's. A key whose bytes equal the shape's at its
// position is the shape's (internalized) key, no hashing; a value whose bytes equal the last one's
// under that key is the same value.
const readShapes: Shape[] = new Array<Shape>(SHAPE_DEPTHS).fill(NO_SHAPE);

function readObject(depth: number): Record<string, unknown> {
  const shaped = depth < SHAPE_DEPTHS;
  const shape = shaped ? readShapes[depth]! : NO_SHAPE;
  // The shape's own decoder first (NO_SHAPE has none): it reads the object, or leaves it to the loop below.
  const fast = shape.fastDec;
  if (fast !== undefined) {
    if (fast !== null) {
      const q0 = at;
      const r = fast(src, srcView, srcBase, q0, end, depth);
      if (r !== undefined) {
        at = io[0]!;
        return r;
      }
      at = q0;
    }
  } else if (++shape.decUses >= FAST_AFTER) shape.fastDec = compileDecoder(shape);
  const known = shape.keys;
  const slots = shape.slot;
  const keyLens = shape.keyLen;
  const cache = shape.dec;
  const cb = cache.bytes;
  const cv = cache.view;
  const keptLen = cache.len;
  const keptKind = cache.kind;
  const skips = cache.skip;
  const kn = known.length;
  // The source and the read position in locals (registers): `at` is written back around calls.
  const s = src;
  const e = end;
  const sv = srcView;
  const sb = srcBase;
  let q = at;
  const o = newPlainObject();
  let keys: Array<string | number> | undefined; // set once a key differs from the shape
  let n = 0;
  for (;;) {
    if (q >= e) throw FALLBACK;
    const b = s[q]!;
    if (b === T_PADDING) {
      q++;
      continue;
    }
    if (b === T_END_OBJECT) {
      at = q + 1;
      if (readVarint() !== n) throw FALLBACK;
      if (shaped && (keys !== undefined || n !== kn)) readShapes[depth] = shapeOf(keys ?? known.slice(0, n)) ?? readShapes[depth]!;
      return o;
    }
    if (keys === undefined && n < kn) {
      const ks = slots[n]!;
      const kl = keyLens[n]!;
      // The key and the value kept under it, or the key alone where the kept value cannot fit.
      let len = keptLen[n]!;
      if (q + len > e) len = kl;
      if (q + len <= e) {
        // m: how many bytes from q are known to equal the slot's.
        let m = 0;
        if (len >= 4) {
          // Whole words, then the last four bytes as one more word (overlapping the one before).
          const base = sb + q;
          while (m + 4 <= len && sv.getInt32(base + m, true) === cv.getInt32(ks + m, true)) m += 4;
          if (m < len && m + 4 > len && sv.getInt32(base + len - 4, true) === cv.getInt32(ks + len - 4, true)) m = len;
        } else while (m < len && s[q + m] === cb[ks + m]) m++;
        while (m < kl && s[q + m] === cb[ks + m]) m++;
        if (m >= kl) {
          let v: unknown;
          const kept = keptKind[n]!;
          if (m === len && kept !== KEPT_NONE && len > kl) {
            // The same bytes as the last value under this key: the same value (an array, copied).
            v = cache.vals[n];
            if (kept === KEPT_ARRAY) v = (v as unknown[]).slice();
            q += len;
          } else {
            const p = q + kl;
            // The common values read here; the others through readValue.
            const tag = p + 1 < e ? s[p]! : -1;
            if (tag === T_INT32 && s[p + 1]! < 0x80) {
              const z = s[p + 1]!;
              v = (z >>> 1) ^ -(z & 1);
              q = p + 2;
            } else if (tag === T_TRUE) {
              v = true;
              q = p + 1;
            } else if (tag === T_FALSE) {
              v = false;
              q = p + 1;
            } else if (tag === T_NULL) {
              v = null;
              q = p + 1;
            } else if (tag === T_DOUBLE && p + 9 <= e) {
              v = sv.getFloat64(sb + p + 1, true);
              q = p + 9;
            } else {
              if (tag === T_ONE_BYTE && s[p + 1]! < 0x80) {
                at = p + 2;
                v = readOneByte(s[p + 1]!);
              } else {
                at = p;
                v = readValue(depth + 1);
              }
              q = at;
            }
            // A key whose kept value keeps changing keeps none for a while: no copy per value.
            if (kept === KEPT_NONE && skips[n]! > 0) skips[n]!--;
            else keepValue(cache, n, ks + kl, kl, kept, v, s, p, q);
          }
          // Never '__proto__' (shapeOf leaves such shapes out): a plain store is right.
          storeAt(o, n, known[n]!, v);
          n++;
          continue;
        }
      }
    }
    at = q;
    if (b === T_VERIFY_COUNT) {
      at++;
      readVarint();
      q = at;
      continue;
    }
    keys ??= known.slice(0, n);
    const key = readKey();
    keys.push(key);
    define(o, key, readValue(depth + 1));
    q = at;
    n++;
  }
}

/**
 * After value `v` under key `n` was read from `s[p, q)` (the key's record is `kl` bytes; the
 * value's bytes go at `to` in the cache) because it was not the kept one (`kept`: what was kept):
 * keeps `v` (an array as a private copy) and its bytes; when a kept value changed, or `v` cannot be
 * kept (an object, a long array, over {@link VALUE_CACHE_MAX} bytes), keeps none and skips keeping
 * for {@link VALUE_SKIP} visits.
 */
function keepValue(cache: ValueCache, n: number, to: number, kl: number, kept: number, v: unknown, s: Uint8Array, p: number, q: number): void {
  const vl = q - p;
  // A kept value that changed, or one that cannot be kept: none for a while.
  const kind = kept === KEPT_NONE && vl <= VALUE_CACHE_MAX ? keepable(v) : KEPT_NONE;
  if (kind === KEPT_NONE) {
    cache.skip[n] = VALUE_SKIP;
    cache.kind[n] = KEPT_NONE;
    cache.len[n] = kl;
    cache.vals[n] = undefined;
    return;
  }
  const b = cache.bytes;
  for (let i = 0; i < vl; i++) b[to + i] = s[p + i]!;
  cache.vals[n] = kind === KEPT_ARRAY ? (v as unknown[]).slice() : v;
  cache.kind[n] = kind;
  cache.len[n] = kl + vl;
}

/**
 * `o[key] = value` for the key at position `n` of a shape, from one store site per position: while
 * a stream of objects keeps one shape, each site sees one key and V8 compiles it to adding that field,
 * where a single site for every key would go megamorphic (a lookup by name per store, ~3x slower).
 */
function storeAt(o: Record<string, unknown>, n: number, key: string, value: unknown): void {
  switch (n) {
    case 0: o[key] = value; return;
    case 1: o[key] = value; return;
    case 2: o[key] = value; return;
    case 3: o[key] = value; return;
    case 4: o[key] = value; return;
    case 5: o[key] = value; return;
    case 6: o[key] = value; return;
    case 7: o[key] = value; return;
    case 8: o[key] = value; return;
    case 9: o[key] = value; return;
    case 10: o[key] = value; return;
    case 11: o[key] = value; return;
    case 12: o[key] = value; return;
    case 13: o[key] = value; return;
    case 14: o[key] = value; return;
    case 15: o[key] = value; return;
    default: o[key] = value;
  }
}

// Decoded objects are made by `new PlainObject()`: the same object as `{}` (its prototype is
// Object.prototype, its constructor Object), but V8 gives objects made by a constructor room for
// their properties inside the object (a `{}` has room for 4, so a fifth key costs a second
// allocation), and the stores that add the keys of a stable shape compile to map transitions.
function PlainObject(): void {}
PlainObject.prototype = Object.prototype;
const newPlainObject = (): Record<string, unknown> => new (PlainObject as unknown as new () => Record<string, unknown>)();

function define(o: Record<string, unknown>, key: string | number, value: unknown): void {
  const k = typeof key === 'string' ? key : String(key);
  if (k.length === 9 && k === '__proto__') Object.defineProperty(o, k, { value, enumerable: true, writable: true, configurable: true });
  else o[k] = value;
}

/** What {@link decodePlain} returns for bytes it leaves to node:v8. */
export const NOT_PLAIN: unique symbol = Symbol('not plain');

/**
 * Decodes plain data only, never calling node:v8: safe on shared memory, since nothing is kept
 * that refers to the bytes. Reads `len` bytes of `bytes` from `start`.
 */
export function decodePlainAt(bytes: Uint8Array, start: number, len: number): unknown {
  if (len < 2 || bytes[start] !== 0xff || bytes[start + 1] !== VERSION) return NOT_PLAIN;
  // The source stays in `src` between calls (storing a buffer costs a write barrier), except shared
  // memory and big buffers, let go when the call ends.
  if (bytes !== src) setSource(bytes);
  at = start + 2;
  end = start + len;
  try {
    const v = at < end && src[at] === T_BEGIN_OBJECT ? (at++, readObject(0)) : readValue(0);
    return at === end ? v : NOT_PLAIN;
  } catch (err) {
    if (err !== FALLBACK) throw err;
    return NOT_PLAIN;
  } finally {
    if (srcRelease) setSource(EMPTY);
  }
}

/** {@link decodePlainAt} on a whole view. */
export function decodePlain(bytes: Uint8Array): unknown {
  return decodePlainAt(bytes, 0, bytes.byteLength);
}

/**
 * Decodes bytes written by {@link encodeStructured} or `v8.serialize`.
 * @throws {IpcError} ERR_IPC_DECODE on bytes that node:v8 cannot read either
 */
export function decodeStructured(bytes: Uint8Array): unknown {
  const v = decodePlainAt(bytes, 0, bytes.byteLength);
  if (v !== NOT_PLAIN) return v;
  try {
    return deserialize(bytes);
  } catch (err) {
    throw new IpcError('ERR_IPC_DECODE', 'structured codec could not decode the bytes', { cause: err });
  }
}

const EMPTY = new Uint8Array(0);

// ------------------------------------------------------------------------------------------------
// Shape-specialized code. A shape that keeps coming gets its own decoder and encoder: straight-line
// code for its key count, one block per key. Each is a function of its own (made by `new Function`),
// so V8 keeps separate type feedback for it and compiles each key's store, load and value test for
// that shape alone, where the generic loops above see every shape and key at the same sites:
// about 40% fewer instructions per small object. The source text comes from the templates below
// and depends on nothing but the key count and a serial number: the keys themselves (and everything
// else read from a message) reach the code as values in `lib`, never as text, so no byte from the
// wire is ever evaluated. Where code generation is refused (`--disallow-code-generation-from-strings`,
// a CSP), the generic loops do all the work and produce the same bytes and values.

type FastDecoder = (s: Uint8Array, sv: DataView, sb: number, q: number, e: number, depth: number) => Record<string, unknown> | undefined;
type FastEncoder = (v: object, b: Uint8Array, w: DataView, p: number, depth: number) => number;

/** Objects a shape sees before it gets its own code. */
const FAST_AFTER = 64;
/** Shapes with more keys stay with the generic loops. */
const FAST_MAX_KEYS = 16;
/** Functions made per direction while the shape table lasts (it is cleared past SHAPE_TABLE_MAX). */
const FAST_MAX_SHAPES = 64;
// Functions made while the shape table lasts, per direction.
const made = { dec: 0, enc: 0 };
let codegen = true;
// Where a generated decoder or a helper it calls leaves the read position.
const io = new Int32Array(1);

function readValueAt(p: number, depth: number): unknown {
  at = p;
  const v = readValue(depth);
  io[0] = at;
  return v;
}

function readOneByteAt(p: number, len: number): string {
  at = p;
  const v = readOneByte(len);
  io[0] = at;
  return v;
}

function writeValueAt(x: unknown, p: number, depth: number): number {
  pos = p;
  writeValue(x, depth);
  return pos;
}

function roomAt(p: number, need: number): void {
  pos = p;
  grow(need);
}

const bufNow = (): Uint8Array => buf;
const viewNow = (): DataView => view;

/**
 * A decoder for a shape of `n` keys: readObject's shaped path unrolled (the key and its kept value
 * compared a word at a time, the common values read in place), the object made by a constructor of
 * its own. Returns undefined, having consumed nothing that counts, where the message leaves the
 * shape (a key differs, padding, a count that differs): readObject then reads it.
 */
function decoderSource(n: number, serial: number): string {
  const L: string[] = [`'use strict'; // @ipc/core shape decoder ${serial}`];
  L.push('const { keys, slot, keyLen, cache, readValueAt, readOneByteAt, keepValue, io } = lib;');
  L.push('const cb = cache.bytes, cv = cache.view, len = cache.len, kind = cache.kind, vals = cache.vals, skip = cache.skip;');
  const args: string[] = [];
  for (let i = 0; i < n; i++) {
    L.push(`const K${i} = keys[${i}], S${i} = slot[${i}], KL${i} = keyLen[${i}];`);
    args.push(`a${i}`);
  }
  // Objects made by a constructor get room for their properties inside the object (see PlainObject).
  L.push(`function C(${args.join(', ')}) { ${args.map((a, i) => `this[K${i}] = ${a};`).join(' ')} }`);
  L.push('C.prototype = Object.prototype;');
  L.push('return function decode(s, sv, sb, q, e, depth) {');
  L.push('  let l = 0, m = 0, k = 0, p = 0, t = 0, z = 0;');
  for (let i = 0; i < n; i++) {
    L.push(`  let v${i};`);
    L.push(`  l = len[${i}]; if (q + l > e) l = KL${i}; if (q + l > e) return undefined;`);
    L.push(`  m = 0; if (l >= 4) { while (m + 4 <= l && sv.getInt32(sb + q + m, true) === cv.getInt32(S${i} + m, true)) m += 4; if (m < l && m + 4 > l && sv.getInt32(sb + q + l - 4, true) === cv.getInt32(S${i} + l - 4, true)) m = l; } else while (m < l && s[q + m] === cb[S${i} + m]) m++;`);
    L.push(`  while (m < KL${i} && s[q + m] === cb[S${i} + m]) m++; if (m < KL${i}) return undefined;`);
    L.push(`  k = kind[${i}];`);
    L.push(`  if (m === l && k !== ${KEPT_NONE} && l > KL${i}) { v${i} = vals[${i}]; if (k === ${KEPT_ARRAY}) v${i} = v${i}.slice(); q += l; }`);
    L.push('  else {');
    L.push(`    p = q + KL${i}; t = p + 1 < e ? s[p] : -1;`);
    L.push(`    if (t === ${T_INT32} && s[p + 1] < 0x80) { z = s[p + 1]; v${i} = (z >>> 1) ^ -(z & 1); q = p + 2; }`);
    L.push(`    else if (t === ${T_TRUE}) { v${i} = true; q = p + 1; }`);
    L.push(`    else if (t === ${T_FALSE}) { v${i} = false; q = p + 1; }`);
    L.push(`    else if (t === ${T_NULL}) { v${i} = null; q = p + 1; }`);
    L.push(`    else if (t === ${T_DOUBLE} && p + 9 <= e) { v${i} = sv.getFloat64(sb + p + 1, true); q = p + 9; }`);
    L.push(`    else if (t === ${T_ONE_BYTE} && s[p + 1] < 0x80) { v${i} = readOneByteAt(p + 2, s[p + 1]); q = io[0]; }`);
    L.push(`    else { v${i} = readValueAt(p, depth + 1); q = io[0]; }`);
    L.push(`    if (k === ${KEPT_NONE} && skip[${i}] > 0) skip[${i}]--; else keepValue(cache, ${i}, S${i} + KL${i}, KL${i}, k, v${i}, s, p, q);`);
    L.push('  }');
  }
  L.push(`  if (q + 1 >= e || s[q] !== ${T_END_OBJECT} || s[q + 1] !== ${n}) return undefined;`);
  L.push('  io[0] = q + 2;');
  L.push(`  return new C(${Array.from({ length: n }, (_, i) => `v${i}`).join(', ')});`);
  L.push('};');
  return L.join('\n');
}

/**
 * An encoder for a shape of `n` keys: checks with for-in that the object has exactly the shape's
 * keys in order (else returns -1 and writeObject takes it), reads each value from its own site,
 * checks the prototype (after those loads V8 knows the object's map and answers without a call),
 * then writes the key records a word at a time and the common values in place.
 */
// After a call that may have grown the scratch buffer: the encoder's views of it again.
const RELOAD = 'b = bufNow(); w = viewNow();';

function encoderSource(n: number, serial: number): string {
  const L: string[] = [`'use strict'; // @ipc/core shape encoder ${serial}`];
  L.push('const { keys, ends, kv, writeValueAt, bufNow, viewNow, roomAt, isInt32, OP } = lib;');
  for (let i = 0; i < n; i++) L.push(`const K${i} = keys[${i}], E${i} = ends[${i}];`);
  L.push('return function encode(v, b, w, p, depth) {');
  L.push('  let i = 0;');
  L.push('  for (const k in v) {');
  L.push('    switch (i) {');
  for (let i = 0; i < n; i++) L.push(`      case ${i}: if (k !== K${i}) return -1; break;`);
  L.push('      default: return -1;');
  L.push('    }');
  L.push('    i++;');
  L.push('  }');
  L.push(`  if (i !== ${n}) return -1;`);
  for (let i = 0; i < n; i++) L.push(`  const x${i} = v[K${i}];`);
  L.push('  if (Object.getPrototypeOf(v) !== OP) return -1;');
  // The only object or array in the message (at the root, under at most one key): nothing in the
  // message can refer to it again, so it needs no identity tracking (written in place below).
  L.push(`  const lone = depth === 0 && ${Array.from({ length: n }, (_, i) => `(typeof x${i} === 'object' && x${i} !== null ? 1 : 0)`).join(' + ')} <= 1;`);
  // Room for the 'o', every key record, the in-place values (a double: 9 bytes) and the end.
  L.push(`  const need = E${n - 1} + ${n * 16 + 8};`);
  L.push(`  if (p + need > b.length) { roomAt(p, need); ${RELOAD} }`);
  L.push(`  b[p++] = ${T_BEGIN_OBJECT};`);
  L.push('  let base = 0, x, j = 0, c = 0, len = 0, a = 0, e, el = 0, k = 0, int = false;');
  for (let i = 0; i < n; i++) {
    const from = i === 0 ? '0' : `E${i - 1}`;
    // What the keys after this one and the end still need (kept free after each value).
    const rest = i === n - 1 ? '8' : `E${n - 1} - E${i} + ${(n - 1 - i) * 16 + 8}`;
    L.push(`  base = p - ${from}; for (j = ${from}; j < E${i}; j += 4) w.setInt32(base + j, kv.getInt32(j, true), true); p = base + E${i};`);
    L.push(`  x = x${i};`);
    L.push(`  if (typeof x === 'number') {`);
    L.push('    int = isInt32(x);');
    L.push(`    if (int && x >= 0 && x < 64) { b[p] = ${T_INT32}; b[p + 1] = x << 1; p += 2; }`);
    L.push(`    else if (!int) { b[p] = ${T_DOUBLE}; w.setFloat64(p + 1, x, true); p += 9; }`);
    L.push(`    else { p = writeValueAt(x, p, depth + 1); ${RELOAD} }`);
    L.push(`  } else if (typeof x === 'boolean') b[p++] = x ? ${T_TRUE} : ${T_FALSE};`);
    L.push(`  else if (typeof x === 'string' && (len = x.length) < 0x80 && p + len + 2 + ${rest} <= b.length) {`);
    L.push(`    b[p] = ${T_ONE_BYTE}; b[p + 1] = len;`);
    L.push('    for (j = 0; j < len; j++) { c = x.charCodeAt(j); if (c > 0xff) break; b[p + 2 + j] = c; }');
    L.push(`    if (j === len) p += len + 2; else { p = writeValueAt(x, p, depth + 1); ${RELOAD} }`);
    // A short array of short one-byte strings and small ints, when it is the message's only object.
    L.push(`  } else if (lone && Array.isArray(x) && (len = x.length) <= 16 && p + 6 + len * 17 + ${rest} <= b.length) {`);
    L.push(`    a = p; b[p] = ${T_BEGIN_DENSE}; b[p + 1] = len; p += 2;`);
    L.push('    for (j = 0; j < len; j++) {');
    L.push('      e = x[j];');
    L.push(`      if (typeof e === 'string' && (el = e.length) < 16) { b[p] = ${T_ONE_BYTE}; b[p + 1] = el; for (k = 0; k < el; k++) { c = e.charCodeAt(k); if (c > 0xff) break; b[p + 2 + k] = c; } if (k < el) break; p += el + 2; }`);
    L.push(`      else if (typeof e === 'number' && isInt32(e) && e >= 0 && e < 64) { b[p] = ${T_INT32}; b[p + 1] = e << 1; p += 2; }`);
    L.push('      else break;');
    L.push('    }');
    L.push(`    if (j === len) { b[p] = ${T_END_DENSE}; b[p + 1] = 0; b[p + 2] = len; p += 3; }`);
    L.push(`    else { p = writeValueAt(x, a, depth + 1); ${RELOAD} }`);
    L.push(`  } else { p = writeValueAt(x, p, depth + 1); ${RELOAD} }`);
    L.push(`  if (p + ${rest} > b.length) { roomAt(p, ${rest}); ${RELOAD} }`);
  }
  L.push(`  b[p] = ${T_END_OBJECT}; b[p + 1] = ${n};`);
  L.push('  return p + 2;');
  L.push('};');
  return L.join('\n');
}

/**
 * Makes a shape's function of one direction from its template (text that depends only on the key
 * count and a serial number, never on message bytes), or null: too many keys, the direction's
 * bound reached, or code generation refused (then never tried again).
 */
function compile<F>(shape: Shape, dir: keyof typeof made, source: (n: number, serial: number) => string, lib: object): F | null {
  const n = shape.keys.length;
  if (!codegen || n === 0 || n > FAST_MAX_KEYS || made[dir] >= FAST_MAX_SHAPES) return null;
  try {
    return (new Function('lib', source(n, made[dir]++)) as (lib: object) => F)(lib);
  } catch {
    codegen = false;
    return null;
  }
}

function compileDecoder(shape: Shape): FastDecoder | null {
  return compile<FastDecoder>(shape, 'dec', decoderSource, { keys: shape.keys, slot: shape.slot, keyLen: shape.keyLen, cache: shape.dec, readValueAt, readOneByteAt, keepValue, io });
}

function compileEncoder(shape: Shape): FastEncoder | null {
  return compile<FastEncoder>(shape, 'enc', encoderSource, { keys: shape.keys, ends: shape.ends, kv: shape.view, writeValueAt, bufNow, viewNow, roomAt, isInt32, OP: Object.prototype });
}
