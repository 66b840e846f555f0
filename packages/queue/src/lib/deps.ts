// The one place that imports the packages this one rests on.
export { IpcError, abortError, fromSystemError, iterateUntilClosed, moduleUrl, registerHandleKind, resolveCodec, codecName, structuredCodec, structuredFast, timeoutError, toHandle, validateWaitOptions, waitFor } from '@ipc/core';
export type { Codec, CodecName, Handle, HandleContext, Queue as QueueInterface, Shareable, TryGetResult, WaitOptions } from '@ipc/core';
export { SharedMemory, isHolderAlive, isProcessAlive, notify, selfStartTime, selfThreadId, selfThreadStartTime, wait, waitSync } from '@ipc/shm';
