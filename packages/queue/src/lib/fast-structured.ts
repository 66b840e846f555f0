import { deserialize, serialize } from 'node:v8';
import { IpcError } from './deps.js';

/**
 * A faster path for the structured codec. `v8.serialize` builds a serializer object per call and
 * caps small-object throughput at a few hundred thousand per second; most queue items are plain
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

function grow(need: number): void {
  if (pos + need <= buf.length) return;
  let size = buf.length * 2;
  while (size < pos + need) size *= 2;
  const next = new Uint8Array(size);
  next.set(buf.subarray(0, pos));
  buf = next;
  view = new DataView(buf.buffer);
}

function varint(n: number): void {
  grow(10);
  while (n >= 0x80) {
    buf[pos++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
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

function writeNumber(n: number): void {
  if ((n | 0) === n && !Object.is(n, -0)) {
    grow(6);
    buf[pos++] = T_INT32;
    varint(((n << 1) ^ (n >> 31)) >>> 0);
  } else {
    grow(9);
    buf[pos++] = T_DOUBLE;
    view.setFloat64(pos, n, true);
    pos += 8;
  }
}

function writeString(s: string): void {
  const len = s.length;
  let oneByte = true;
  for (let i = 0; i < len; i++) {
    if (s.charCodeAt(i) > 0xff) {
      oneByte = false;
      break;
    }
  }
  if (oneByte) {
    grow(1 + 5 + len);
    buf[pos++] = T_ONE_BYTE;
    varint(len);
    for (let i = 0; i < len; i++) buf[pos++] = s.charCodeAt(i);
    return;
  }
  const bytes = len * 2;
  grow(2 + 5 + bytes);
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

function writeValue(v: unknown, depth: number): void {
  switch (typeof v) {
    case 'number':
      writeNumber(v);
      return;
    case 'string':
      writeString(v);
      return;
    case 'boolean':
      grow(1);
      buf[pos++] = v ? T_TRUE : T_FALSE;
      return;
    case 'undefined':
      grow(1);
      buf[pos++] = T_UNDEFINED;
      return;
    case 'object':
      break;
    default:
      throw FALLBACK; // bigint, symbol, function: node:v8 encodes or refuses them
  }
  if (v === null) {
    grow(1);
    buf[pos++] = T_NULL;
    return;
  }
  if (depth > 64 || wasSeen(v)) throw FALLBACK; // deep, shared or cyclic: keep identity semantics exact
  if (Array.isArray(v)) {
    if (Object.getPrototypeOf(v) !== Array.prototype) throw FALLBACK;
    const len = v.length;
    grow(6);
    buf[pos++] = T_BEGIN_DENSE;
    varint(len);
    for (let i = 0; i < len; i++) {
      const item = v[i];
      if (item === undefined && !(i in v)) throw FALLBACK; // a hole
      writeValue(item, depth + 1);
    }
    grow(11);
    buf[pos++] = T_END_DENSE;
    varint(0);
    varint(len);
    return;
  }
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) throw FALLBACK;
  grow(1);
  buf[pos++] = T_BEGIN_OBJECT;
  const keys = Object.keys(v);
  const n = keys.length;
  for (let i = 0; i < n; i++) {
    const key = keys[i]!;
    writeString(key);
    writeValue((v as Record<string, unknown>)[key], depth + 1);
  }
  grow(6);
  buf[pos++] = T_END_OBJECT;
  varint(n);
}

/**
 * Encodes `value` in V8's serialization format. The result is a view into a scratch buffer that
 * the next call overwrites: copy it before encoding again.
 * @throws {IpcError} ERR_IPC_ENCODE when node:v8 cannot clone the value either
 */
export function encodeStructured(value: unknown): Uint8Array {
  // A getter that encodes again (re-entry) would overwrite the scratch buffer: let node:v8 do it.
  if (encoding) return slowEncode(value);
  encoding = true;
  pos = 0;
  resetSeen();
  try {
    grow(2);
    buf[pos++] = 0xff;
    buf[pos++] = VERSION;
    writeValue(value, 0);
    resetSeen();
    return buf.subarray(0, pos);
  } catch (err) {
    resetSeen();
    // A getter that threw, say: node:v8 would have thrown the same from inside serialize.
    if (err !== FALLBACK) throw new IpcError('ERR_IPC_ENCODE', 'structured codec could not encode the value', { cause: err });
  } finally {
    encoding = false;
  }
  return slowEncode(value);
}

let encoding = false;

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

function readVarint(): number {
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

// One scratch pair for doubles: copying 8 bytes beats allocating a DataView per number.
const scratchDouble = new Float64Array(1);
const scratchBytes = new Uint8Array(scratchDouble.buffer);

function readDouble(): number {
  if (at + 8 > end) throw FALLBACK;
  for (let i = 0; i < 8; i++) scratchBytes[i] = src[at + i]!;
  at += 8;
  return scratchDouble[0]!;
}

function readZigZag(): number {
  const z = readVarint();
  return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
}

function readOneByte(len: number): string {
  if (at + len > end) throw FALLBACK;
  let s: string;
  if (len <= 24) {
    let h = len;
    for (let i = 0; i < len; i++) h = (h * 31 + src[at + i]!) | 0;
    const slot = h & 511;
    const c = cache[slot]!;
    if (c.length === len) {
      let same = true;
      for (let i = 0; i < len; i++) {
        if (c.charCodeAt(i) !== src[at + i]) {
          same = false;
          break;
        }
      }
      if (same) {
        at += len;
        return c;
      }
    }
    s = '';
    for (let i = 0; i < len; i++) s += String.fromCharCode(src[at + i]!);
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
  if (depth > 256) throw FALLBACK;
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
      case T_TWO_BYTE:
      case T_UTF8:
        at--;
        return readKey();
      case T_BEGIN_OBJECT: {
        const o: Record<string, unknown> = {};
        let n = 0;
        for (;;) {
          while (at < end && (src[at] === T_PADDING || src[at] === T_VERIFY_COUNT)) {
            if (src[at++] === T_VERIFY_COUNT) readVarint();
          }
          if (at >= end) throw FALLBACK;
          if (src[at] === T_END_OBJECT) {
            at++;
            if (readVarint() !== n) throw FALLBACK;
            return o;
          }
          const key = readKey();
          define(o, key, readValue(depth + 1));
          n++;
        }
      }
      case T_BEGIN_DENSE: {
        const len = readVarint();
        if (len > end - at) throw FALLBACK;
        const a = new Array<unknown>(len);
        for (let i = 0; i < len; i++) {
          if (src[at] === T_HOLE) throw FALLBACK;
          a[i] = readValue(depth + 1);
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

function define(o: Record<string, unknown>, key: string | number, value: unknown): void {
  const k = typeof key === 'string' ? key : String(key);
  if (k.length === 9 && k === '__proto__') Object.defineProperty(o, k, { value, enumerable: true, writable: true, configurable: true });
  else o[k] = value;
}

/** What {@link decodePlain} returns for bytes it leaves to node:v8. */
export const NOT_PLAIN: unique symbol = Symbol('not plain');

/**
 * Decodes plain data only, never calling node:v8: safe on a view of shared memory, since nothing
 * is kept that refers to the bytes.
 */
export function decodePlain(bytes: Uint8Array): unknown {
  if (bytes.byteLength < 2 || bytes[0] !== 0xff || bytes[1] !== VERSION) return NOT_PLAIN;
  src = bytes;
  at = 2;
  end = bytes.byteLength;
  try {
    const v = readValue(0);
    return at === end ? v : NOT_PLAIN;
  } catch (err) {
    if (err !== FALLBACK) throw err;
    return NOT_PLAIN;
  } finally {
    src = EMPTY;
  }
}

/**
 * Decodes bytes written by {@link encodeStructured} or `v8.serialize`.
 * @throws {IpcError} ERR_IPC_DECODE on bytes that node:v8 cannot read either
 */
export function decodeStructured(bytes: Uint8Array): unknown {
  if (bytes.byteLength >= 2 && bytes[0] === 0xff && bytes[1] === VERSION) {
    src = bytes;
    at = 2;
    end = bytes.byteLength;
    try {
      const v = readValue(0);
      if (at === end) return v;
    } catch (err) {
      if (err !== FALLBACK) throw err;
    } finally {
      src = EMPTY;
    }
  }
  try {
    return deserialize(bytes);
  } catch (err) {
    throw new IpcError('ERR_IPC_DECODE', 'structured codec could not decode the bytes', { cause: err });
  }
}

const EMPTY = new Uint8Array(0);
