import { deserialize } from 'node:v8';
import { Packr } from 'msgpackr';
import { Unpackr } from 'msgpackr/unpack-no-eval';
import { IpcError } from './errors.js';
import { NOT_PLAIN, decodePlainAt, encodeStructured, scratch, trimScratch } from './fast-structured.js';

/**
 * Turns values into bytes and back. A codec never evaluates code from the wire. `decode`
 * throws `IpcError` `ERR_IPC_DECODE` on bad bytes; `encode` throws `ERR_IPC_ENCODE` on a value
 * it cannot carry.
 */
export interface Codec<T = unknown> {
  /** A short name, carried in handles so the other side picks the same codec. */
  readonly name: string;
  /** Value to bytes. */
  encode(value: T): Uint8Array;
  /** Bytes to value. The bytes may be a view into a reused buffer: copy what you keep. */
  decode(bytes: Uint8Array): T;
}

/** Names of the built-in codecs. */
export type CodecName = 'structured' | 'json' | 'bytes' | 'msgpack';

function decodeError(codec: string, cause: unknown): IpcError {
  return new IpcError('ERR_IPC_DECODE', `${codec} codec could not decode the bytes`, { cause });
}

function encodeError(codec: string, cause: unknown): IpcError {
  return new IpcError('ERR_IPC_ENCODE', `${codec} codec could not encode the value`, { cause });
}

/**
 * Structured clone in V8's serialization format: Map, Set, Date, RegExp, BigInt, typed arrays, Error,
 * cycles. Plain data (objects, arrays, strings, numbers, booleans, null) is written and read by a
 * JavaScript fast path in the same format, several times faster than `node:v8` for small values;
 * everything else goes through `node:v8`, and the bytes are always what `v8.deserialize` reads.
 * The default for mechanisms that stay on one machine.
 */
export const structuredCodec: Codec<unknown> = {
  name: 'structured',
  encode(value) {
    const bytes = encodeStructured(value);
    // The fast path wrote into its scratch buffer, which the next encode reuses: hand out a copy.
    if (bytes.buffer !== scratch().buffer) return bytes;
    const copy = bytes.slice();
    trimScratch();
    return copy;
  },
  decode(bytes) {
    const plain = decodePlainAt(bytes, 0, bytes.byteLength);
    if (plain !== NOT_PLAIN) return plain;
    try {
      // v8 returns typed arrays as views into its input: copy, so decoded values never alias a
      // buffer the transport reuses.
      return deserialize(Uint8Array.prototype.slice.call(bytes));
    } catch (err) {
      throw decodeError('structured', err);
    }
  },
};

const textDecoder = new TextDecoder('utf-8', { fatal: true });

/** JSON in UTF-8: the default for mechanisms that cross languages or machines. */
export const jsonCodec: Codec<unknown> = {
  name: 'json',
  encode(value) {
    let text: string | undefined;
    try {
      text = JSON.stringify(value);
    } catch (err) {
      throw encodeError('json', err);
    }
    if (text === undefined) throw encodeError('json', new TypeError(`${typeof value} has no JSON form`));
    return Buffer.from(text, 'utf8');
  },
  decode(bytes) {
    try {
      return JSON.parse(textDecoder.decode(bytes));
    } catch (err) {
      throw decodeError('json', err);
    }
  },
};

/** Raw bytes, unchanged: `Uint8Array` in, `Uint8Array` out (a copy, safe to keep). */
export const bytesCodec: Codec<Uint8Array> = {
  name: 'bytes',
  encode(value) {
    if (!(value instanceof Uint8Array)) {
      throw encodeError('bytes', new TypeError(`bytes codec takes a Uint8Array, got ${describe(value)}`));
    }
    return value;
  },
  decode(bytes) {
    return Uint8Array.prototype.slice.call(bytes);
  },
};

// No records (no class revival) and the no-eval unpacker: msgpackr's default unpacker compiles
// readers with new Function from field names found on the wire.
const msgpackOptions = { useRecords: false, moreTypes: true, int64AsType: 'bigint' } as const;
const packr = new Packr(msgpackOptions);
const unpackr = new Unpackr(msgpackOptions);

/**
 * MessagePack (msgpackr): compact, cross-language. Date, BigInt, Set and typed arrays survive; a Map
 * arrives as a plain object (MessagePack maps are objects for every other language too).
 */
export const msgpackCodec: Codec<unknown> = {
  name: 'msgpack',
  encode(value) {
    try {
      return packr.pack(value);
    } catch (err) {
      throw encodeError('msgpack', err);
    }
  },
  decode(bytes) {
    try {
      return unpackr.unpack(bytes as Buffer);
    } catch (err) {
      throw decodeError('msgpack', err);
    }
  },
};

const builtins: Record<CodecName, Codec<unknown>> = {
  structured: structuredCodec,
  json: jsonCodec,
  bytes: bytesCodec as Codec<unknown>,
  msgpack: msgpackCodec,
};

/**
 * Resolves a codec given by name or object.
 * @throws {TypeError} on an unknown name or an object that is not a codec
 */
export function resolveCodec<T = unknown>(codec: Codec<T> | CodecName | undefined, fallback: CodecName = 'structured'): Codec<T> {
  if (codec === undefined) return builtins[fallback] as Codec<T>;
  if (typeof codec === 'string') {
    const found = Object.hasOwn(builtins, codec) ? builtins[codec as CodecName] : undefined;
    if (!found) throw new TypeError(`codec must be one of ${Object.keys(builtins).join(', ')} or a Codec object, got '${codec}'`);
    return found as Codec<T>;
  }
  if (typeof codec !== 'object' || codec === null || typeof codec.encode !== 'function' || typeof codec.decode !== 'function') {
    throw new TypeError('codec must have encode(value) and decode(bytes) functions');
  }
  return codec;
}

/** The name a codec is carried by in a handle, or undefined for a custom codec that has none registered. */
export function codecName(codec: Codec<unknown>): CodecName | undefined {
  return (Object.keys(builtins) as CodecName[]).find((n) => builtins[n] === codec);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'object';
  return typeof value;
}
