export { IpcError, IpcErrorCodes, isIpcErrorCode, fromSystemError } from './lib/errors.js';
export type { IpcErrorCode, IpcErrorOptions } from './lib/errors.js';
export {
  Deadline,
  MAX_TIMEOUT_MS,
  abortError,
  sleep,
  throwIfAborted,
  timeoutError,
  validateWaitOptions,
  waitFor,
} from './lib/wait.js';
export type { WaitOptions, WaitScope } from './lib/wait.js';
export { bytesCodec, codecName, jsonCodec, msgpackCodec, resolveCodec, structuredCodec } from './lib/codec.js';
export type { Codec, CodecName } from './lib/codec.js';
/**
 * @internal The structured codec's plain-data fast path (V8's format written and read in JS), for
 * transports that encode straight into memory of their own: the queue writes into its ring.
 */
export * as structuredFast from './lib/fast-structured.js';
export {
  DEFAULT_MAX_FRAME_BYTES,
  FRAME_HEADER_BYTES,
  FrameDecoder,
  MAX_FRAME_BYTES_LIMIT,
  encodeFrame,
  frameHeader,
  tooLargeError,
  validateMaxFrameBytes,
} from './lib/framing.js';
export { ConnectionBase } from './lib/connection.js';
export type { Connection, ConnectionOptions, RecvBytesOptions } from './lib/connection.js';
export type { AckQueue, Awaitable, Delivery, Queue, TryGetResult } from './lib/queue.js';
export type { Lock, LockGuard } from './lib/lock.js';
export {
  encodeHandles,
  isShareable,
  moduleUrl,
  registerHandleKind,
  reviveHandle,
  reviveHandles,
  toHandle,
} from './lib/handle.js';
export type { Handle, HandleContext, ReviveContext, Reviver, Shareable } from './lib/handle.js';
export { Process, Thread, processArgs, processName } from './lib/process.js';
export type { ProcessOptions, RunnerOptions } from './lib/process.js';
export { StreamConnection, directReads, validateSpin } from './lib/stream.js';
export type { SocketOnread, StreamConnectionOptions, StreamDecoder } from './lib/stream.js';
export { iterateUntilClosed } from './lib/iterate.js';
