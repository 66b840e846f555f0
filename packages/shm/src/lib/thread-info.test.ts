import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { isHolderAlive, isProcessAlive, isThreadAlive, selfStartTime, selfThreadId, selfThreadStartTime, threadStartTime } from '../index.js';

function spinner(): Promise<{ worker: Worker; tid: number; start: number }> {
  const worker = new Worker(new URL('../../test/fixtures/worker-thread-id.mjs', import.meta.url));
  return new Promise((resolve, reject) => {
    worker.once('error', reject);
    worker.once('message', (m: { tid: number; start: number }) => resolve({ worker, ...m }));
  });
}

describe('selfThreadId / isThreadAlive', () => {
  it('knows the main thread: its id is the pid, its start time the process start time', () => {
    expect(selfThreadId()).toBe(process.pid);
    expect(selfThreadStartTime()).toBe(threadStartTime(process.pid, process.pid));
    expect(isThreadAlive(process.pid, process.pid, selfThreadStartTime())).toBe(true);
  });

  it('tells a terminated worker thread from a live one, in a process that lives on', async () => {
    const { worker, tid, start } = await spinner();
    expect(tid).not.toBe(process.pid);
    expect(tid).toBeGreaterThan(0);
    expect(start).toBe(threadStartTime(process.pid, tid));
    expect(isThreadAlive(process.pid, tid)).toBe(true);
    expect(isThreadAlive(process.pid, tid, start)).toBe(true);
    expect(isThreadAlive(process.pid, tid, start | 0)).toBe(true); // the low 32 bits are enough
    expect(isThreadAlive(process.pid, tid, start + 1)).toBe(false); // a reused id is not the holder
    await worker.terminate();
    expect(isThreadAlive(process.pid, tid, start)).toBe(false);
    expect(threadStartTime(process.pid, tid)).toBeUndefined();
    expect(isProcessAlive(process.pid)).toBe(true);
  });

  it('does not find a thread of one process under another', async () => {
    const { worker, tid } = await spinner();
    try {
      expect(isThreadAlive(1, tid)).toBe(false);
    } finally {
      await worker.terminate();
    }
  });

  it('rejects bad ids', () => {
    expect(() => isThreadAlive(process.pid, 0)).toThrow(RangeError);
    expect(() => isThreadAlive(process.pid, 1.5)).toThrow(TypeError);
    expect(() => threadStartTime(0, 1)).toThrow(RangeError);
    expect(() => isThreadAlive(process.pid, process.pid, Number.NaN)).toThrow(TypeError);
  });
});

describe('isHolderAlive', () => {
  it('judges a holder record by its process and thread, 0 meaning not recorded', async () => {
    const me = [process.pid, selfStartTime(), selfThreadId(), selfThreadStartTime()] as const;
    expect(isHolderAlive(...me)).toBe(true);
    expect(isHolderAlive(process.pid, 0, 0, 0)).toBe(true);
    expect(isHolderAlive(process.pid, selfStartTime() + 1, 0, 0)).toBe(false); // an earlier process with our pid
    const { worker, tid, start } = await spinner();
    expect(isHolderAlive(process.pid, selfStartTime(), tid, start)).toBe(true);
    await worker.terminate();
    expect(isHolderAlive(process.pid, selfStartTime(), tid, start)).toBe(false); // ended while we live on
    expect(isHolderAlive(1, selfStartTime(), 0, 0)).toBe(false); // pid 1 has another start time
  });
});
