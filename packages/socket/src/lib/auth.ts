import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { IpcError } from '@ipc/core';
import type { Wire } from './wire.js';

// The challenge-response of Python's multiprocessing.connection (3.12+), which is mutual
// HMAC-SHA256 when both sides speak it; see docs/decisions/006-socket.md.
const CHALLENGE = Buffer.from('#CHALLENGE#');
const WELCOME = Buffer.from('#WELCOME#');
const FAILURE = Buffer.from('#FAILURE#');
const MESSAGE_LENGTH = 40;
const MD5_ONLY_MESSAGE_LENGTH = 20;
const MD5_DIGEST_LENGTH = 16;
const HANDSHAKE_MAX_FRAME = 256;
const ALLOWED_DIGESTS = new Set(['md5', 'sha256', 'sha384', 'sha3_256', 'sha3_384']);
const NODE_DIGEST: Record<string, string> = { md5: 'md5', sha256: 'sha256', sha384: 'sha384', sha3_256: 'sha3-256', sha3_384: 'sha3-384' };

function authError(message: string): IpcError {
  return new IpcError('ERR_IPC_AUTH', message);
}

/**
 * Reads length-prefixed handshake frames (at most 256 bytes each) straight from a socket, then
 * hands back whatever arrived after the last one.
 */
class HandshakeReader {
  readonly #socket: Duplex;
  #buf: Buffer = Buffer.alloc(0);
  #waiting: { resolve(b: Buffer): void; reject(e: unknown): void } | undefined;
  #failed: unknown;
  readonly #onData = (chunk: Buffer) => {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    if (this.#buf.length > 4 * HANDSHAKE_MAX_FRAME) {
      this.#fail(new IpcError('ERR_IPC_PROTOCOL', 'the peer sent too much during the handshake'));
      return;
    }
    this.#try();
  };
  readonly #onEnd = () => this.#fail(new IpcError('ERR_IPC_CLOSED', 'the peer closed the connection during the handshake'));
  readonly #onError = (err: Error) => this.#fail(new IpcError('ERR_IPC_CLOSED', `the connection failed during the handshake: ${err.message}`, { cause: err }));

  constructor(socket: Duplex) {
    this.#socket = socket;
    socket.on('data', this.#onData);
    socket.on('end', this.#onEnd);
    socket.on('close', this.#onEnd);
    socket.on('error', this.#onError);
  }

  #fail(err: unknown): void {
    this.#failed ??= err;
    const w = this.#waiting;
    this.#waiting = undefined;
    w?.reject(err);
  }

  #try(): void {
    if (!this.#waiting || this.#buf.length < 4) return;
    const n = this.#buf.readInt32BE(0);
    if (n < 0 || n > HANDSHAKE_MAX_FRAME) {
      this.#fail(authError(`handshake message of ${n} bytes (at most ${HANDSHAKE_MAX_FRAME}): the peer does not speak the handshake`));
      return;
    }
    if (this.#buf.length < 4 + n) return;
    const frame = this.#buf.subarray(4, 4 + n);
    this.#buf = this.#buf.subarray(4 + n);
    const w = this.#waiting;
    this.#waiting = undefined;
    w.resolve(frame);
  }

  next(): Promise<Buffer> {
    if (this.#failed) return Promise.reject(this.#failed);
    return new Promise<Buffer>((resolve, reject) => {
      this.#waiting = { resolve, reject };
      this.#try();
    });
  }

  send(payload: Buffer): void {
    const header = Buffer.allocUnsafe(4);
    header.writeInt32BE(payload.length, 0);
    this.#socket.write(Buffer.concat([header, payload]));
  }

  /** Stops reading; returns the bytes that arrived after the handshake. */
  detach(): Buffer {
    // Paused, so nothing is emitted (and lost) before the connection starts reading.
    this.#socket.pause();
    this.#socket.off('data', this.#onData);
    this.#socket.off('end', this.#onEnd);
    this.#socket.off('close', this.#onEnd);
    this.#socket.off('error', this.#onError);
    return this.#buf;
  }
}

function digestNameAndPayload(message: Buffer): [string, Buffer] {
  if (message.length === MD5_ONLY_MESSAGE_LENGTH || message.length === MD5_DIGEST_LENGTH) return ['', message];
  if (message[0] === 0x7b /* { */) {
    const curly = message.indexOf(0x7d /* } */, 1);
    if (curly > 0 && curly <= 10) {
      const name = message.subarray(1, curly).toString('ascii');
      if (ALLOWED_DIGESTS.has(name)) return [name, message.subarray(curly + 1)];
    }
  }
  throw authError('unsupported handshake message: wrong length, no digest prefix, or an unknown digest');
}

function hmac(key: Buffer, message: Buffer, digest: string): Buffer {
  return createHmac(NODE_DIGEST[digest] ?? digest, key).update(message).digest();
}

/** Our answer to a challenge: `{sha256}` + HMAC over the whole message, or raw HMAC-MD5 for an old peer. */
function createResponse(key: Buffer, message: Buffer, wire: Wire): Buffer {
  const [name] = digestNameAndPayload(message);
  if (!name) {
    if (wire !== 'python') throw authError('the peer offered only the legacy HMAC-MD5 handshake');
    return hmac(key, message, 'md5');
  }
  return Buffer.concat([Buffer.from(`{${name}}`), hmac(key, message, name)]);
}

function verifyResponse(key: Buffer, message: Buffer, response: Buffer, wire: Wire): boolean {
  let name: string;
  let mac: Buffer;
  try {
    [name, mac] = digestNameAndPayload(response);
  } catch {
    return false;
  }
  if (!name) {
    // A Python 3.11 client answers with a raw HMAC-MD5; only the python wire accepts that.
    if (wire !== 'python') return false;
    name = 'md5';
  } else if (wire !== 'python' && name === 'md5') {
    return false;
  }
  const expected = hmac(key, message, name);
  return expected.length === mac.length && timingSafeEqual(expected, mac);
}

async function deliverChallenge(reader: HandshakeReader, key: Buffer, wire: Wire): Promise<void> {
  const message = Buffer.concat([Buffer.from('{sha256}'), randomBytes(MESSAGE_LENGTH)]);
  reader.send(Buffer.concat([CHALLENGE, message]));
  const response = await reader.next();
  if (verifyResponse(key, message, response, wire)) {
    reader.send(WELCOME);
  } else {
    reader.send(FAILURE);
    throw authError('the peer answered the challenge wrongly (wrong authkey?)');
  }
}

async function answerChallenge(reader: HandshakeReader, key: Buffer, wire: Wire): Promise<void> {
  const challenge = await reader.next();
  if (!challenge.subarray(0, CHALLENGE.length).equals(CHALLENGE)) {
    throw authError('expected a #CHALLENGE# from the peer: does it use an authkey?');
  }
  const message = challenge.subarray(CHALLENGE.length);
  if (message.length < MD5_ONLY_MESSAGE_LENGTH) throw authError(`challenge too short: ${message.length} bytes`);
  reader.send(createResponse(key, message, wire));
  const verdict = await reader.next();
  if (!verdict.equals(WELCOME)) throw authError('the peer rejected our answer (wrong authkey?)');
}

/**
 * Runs the mutual challenge-response on a fresh socket within `timeout` ms: the server challenges
 * first, then answers the client's challenge. Resolves with the bytes that arrived after it.
 * @throws {IpcError} ERR_IPC_AUTH on a wrong key or a peer that does not speak the handshake; ERR_IPC_TIMEOUT past the deadline; ERR_IPC_CLOSED when the peer went away
 */
export async function handshake(socket: Duplex, role: 'server' | 'client', key: Buffer, wire: Wire, timeout: number): Promise<Buffer> {
  const reader = new HandshakeReader(socket);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new IpcError('ERR_IPC_TIMEOUT', `the authentication handshake took longer than ${timeout} ms`, { details: { timeout } })), timeout);
  });
  try {
    const run = role === 'server'
      ? (async () => { await deliverChallenge(reader, key, wire); await answerChallenge(reader, key, wire); })()
      : (async () => { await answerChallenge(reader, key, wire); await deliverChallenge(reader, key, wire); })();
    run.catch(() => {});
    await Promise.race([run, deadline]);
    return reader.detach();
  } catch (err) {
    reader.detach();
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

/** Normalises an authkey option to bytes. */
export function authkeyBytes(authkey: string | Uint8Array | undefined): Buffer | undefined {
  if (authkey === undefined) return undefined;
  if (typeof authkey === 'string') {
    if (authkey.length === 0) throw new RangeError('authkey must not be empty');
    return Buffer.from(authkey, 'utf8');
  }
  if (authkey instanceof Uint8Array) {
    if (authkey.byteLength === 0) throw new RangeError('authkey must not be empty');
    return Buffer.from(authkey);
  }
  throw new TypeError('authkey must be a string or a Uint8Array');
}
