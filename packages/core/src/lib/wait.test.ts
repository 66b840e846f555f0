import { getEventListeners } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { IpcError } from './errors.js';
import {
  Deadline,
  MAX_TIMEOUT_MS,
  abortError,
  sleep,
  throwIfAborted,
  timeoutError,
  validateWaitOptions,
  waitFor,
} from './wait.js';
import type { WaitScope } from './wait.js';

function abortListeners(signal: AbortSignal): number {
  return getEventListeners(signal, 'abort').length;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected the promise to reject');
}

// A test clock for setTimeout/clearTimeout only: lets the tests count live timers and fire timeouts
// without waiting on the wall clock. Promises and the code under test are real.
beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('validateWaitOptions', () => {
  it('accepts nothing, an empty object, Infinity, 0 and an AbortSignal', () => {
    expect(() => validateWaitOptions(undefined)).not.toThrow();
    expect(() => validateWaitOptions({})).not.toThrow();
    expect(() => validateWaitOptions({ timeout: 0 })).not.toThrow();
    expect(() => validateWaitOptions({ timeout: Infinity })).not.toThrow();
    expect(() => validateWaitOptions({ timeout: 10, signal: new AbortController().signal })).not.toThrow();
  });

  it('throws TypeError naming the option for a timeout that is not a number', () => {
    expect(() => validateWaitOptions({ timeout: '10' as unknown as number })).toThrow(TypeError);
    expect(() => validateWaitOptions({ timeout: Number.NaN })).toThrow(/options\.timeout/);
    expect(() => validateWaitOptions({ timeout: Number.NaN }, 'getOptions')).toThrow(/getOptions\.timeout/);
  });

  it('throws RangeError naming the limit for a negative timeout', () => {
    expect(() => validateWaitOptions({ timeout: -1 })).toThrow(RangeError);
    expect(() => validateWaitOptions({ timeout: -1 })).toThrow(/>= 0, got -1/);
  });

  it('throws TypeError for a signal that is not an AbortSignal and for options that are not an object', () => {
    expect(() => validateWaitOptions({ signal: {} as AbortSignal })).toThrow(/options\.signal must be an AbortSignal/);
    expect(() => validateWaitOptions(5 as unknown as object)).toThrow(TypeError);
    expect(() => validateWaitOptions(null as unknown as object)).toThrow(TypeError);
  });
});

describe('waitFor', () => {
  it('resolves with the value and leaves no timer and no abort listener behind', async () => {
    const ac = new AbortController();
    let resolveIt!: (v: number) => void;
    const p = waitFor<number>({ timeout: 1000, signal: ac.signal }, (resolve) => {
      resolveIt = resolve;
    });
    expect(vi.getTimerCount()).toBe(1);
    expect(abortListeners(ac.signal)).toBe(1);
    resolveIt(7);
    await expect(p).resolves.toBe(7);
    expect(vi.getTimerCount()).toBe(0);
    expect(abortListeners(ac.signal)).toBe(0);
  });

  it('rejects with what start rejects with and cleans up', async () => {
    const ac = new AbortController();
    const boom = new Error('boom');
    const p = waitFor({ timeout: 1000, signal: ac.signal }, (_resolve, reject) => {
      queueMicrotask(() => reject(boom));
    });
    await expect(p).rejects.toBe(boom);
    expect(vi.getTimerCount()).toBe(0);
    expect(abortListeners(ac.signal)).toBe(0);
  });

  it('rejects with what start throws synchronously and cleans up', async () => {
    const ac = new AbortController();
    const boom = new Error('sync boom');
    const p = waitFor({ timeout: 1000, signal: ac.signal }, () => {
      throw boom;
    });
    await expect(p).rejects.toBe(boom);
    expect(vi.getTimerCount()).toBe(0);
    expect(abortListeners(ac.signal)).toBe(0);
  });

  it('rejects with ERR_IPC_TIMEOUT naming the operation when the timeout passes, and cleans up', async () => {
    const ac = new AbortController();
    let cleaned = 0;
    const p = waitFor({ timeout: 250, signal: ac.signal }, (_resolve, _reject, scope) => {
      scope.onCleanup(() => cleaned++);
    }, 'queue get');
    const err = rejection(p);
    await vi.advanceTimersByTimeAsync(249);
    expect(cleaned).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    const e = await err;
    expect(IpcError.is(e, 'ERR_IPC_TIMEOUT')).toBe(true);
    expect((e as IpcError).message).toContain('queue get');
    expect((e as IpcError).message).toContain('250');
    expect((e as IpcError).details).toEqual({ timeout: 250 });
    expect(cleaned).toBe(1);
    expect(vi.getTimerCount()).toBe(0);
    expect(abortListeners(ac.signal)).toBe(0);
  });

  it('rejects with ERR_IPC_ABORTED keeping the reason as cause when the signal aborts, and cleans up', async () => {
    const ac = new AbortController();
    let cleaned = 0;
    const p = waitFor({ timeout: 1000, signal: ac.signal }, (_resolve, _reject, scope) => {
      scope.onCleanup(() => cleaned++);
    }, 'lock acquire');
    const reason = { why: 'shutting down' };
    ac.abort(reason);
    const e = await rejection(p);
    expect(IpcError.is(e, 'ERR_IPC_ABORTED')).toBe(true);
    expect((e as IpcError).cause).toBe(reason);
    expect((e as IpcError).message).toContain('lock acquire');
    expect(cleaned).toBe(1);
    expect(vi.getTimerCount()).toBe(0);
    expect(abortListeners(ac.signal)).toBe(0);
  });

  it('rejects at once for an already-aborted signal, with the reason as cause, without starting', async () => {
    const reason = new Error('already gone');
    const signal = AbortSignal.abort(reason);
    let started = false;
    const p = waitFor({ timeout: 1000, signal }, () => {
      started = true;
    });
    expect(started).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
    expect(abortListeners(signal)).toBe(0);
    const e = await rejection(p);
    expect(IpcError.is(e, 'ERR_IPC_ABORTED')).toBe(true);
    expect((e as IpcError).cause).toBe(reason);
  });

  it('keeps the default DOMException reason of abort() as cause', async () => {
    const ac = new AbortController();
    const p = waitFor({ signal: ac.signal }, () => {});
    ac.abort();
    const e = await rejection(p);
    expect((e as IpcError).cause).toBe(ac.signal.reason);
    expect((e as Error & { cause: DOMException }).cause.name).toBe('AbortError');
  });

  it('settles once: a later resolve, reject, timeout or abort changes nothing', async () => {
    const ac = new AbortController();
    let resolveIt!: (v: string) => void;
    let rejectIt!: (e: unknown) => void;
    const p = waitFor<string>({ timeout: 100, signal: ac.signal }, (resolve, reject) => {
      resolveIt = resolve;
      rejectIt = reject;
    });
    resolveIt('first');
    resolveIt('second');
    rejectIt(new Error('late'));
    ac.abort();
    await vi.advanceTimersByTimeAsync(200);
    await expect(p).resolves.toBe('first');
  });

  it('runs every registered cleanup exactly once, newest first, even when one throws', async () => {
    const order: string[] = [];
    let resolveIt!: (v: void) => void;
    const p = waitFor<void>({}, (resolve, _reject, scope) => {
      resolveIt = resolve;
      scope.onCleanup(() => order.push('a'));
      scope.onCleanup(() => {
        order.push('b');
        throw new Error('cleanup failure must not mask the outcome');
      });
      scope.onCleanup(() => order.push('c'));
    });
    resolveIt();
    await expect(p).resolves.toBeUndefined();
    expect(order).toEqual(['c', 'b', 'a']);
  });

  it('runs a cleanup registered after settling immediately', async () => {
    let scope!: WaitScope;
    const p = waitFor<number>({}, (resolve, _reject, s) => {
      scope = s;
      resolve(1);
    });
    await p;
    let ran = 0;
    scope.onCleanup(() => ran++);
    expect(ran).toBe(1);
  });

  it('sets no timer for no timeout, Infinity, or a timeout past what a timer can hold', async () => {
    for (const timeout of [undefined, Infinity, MAX_TIMEOUT_MS + 1]) {
      let resolveIt!: (v: void) => void;
      const p = waitFor<void>({ timeout }, (resolve) => {
        resolveIt = resolve;
      });
      expect(vi.getTimerCount()).toBe(0);
      resolveIt();
      await p;
    }
  });

  it('lets a wait that completes synchronously win over a zero timeout', async () => {
    await expect(waitFor<number>({ timeout: 0 }, (resolve) => resolve(3))).resolves.toBe(3);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('times out a zero timeout that does not complete synchronously', async () => {
    const p = rejection(waitFor({ timeout: 0 }, () => {}));
    await vi.advanceTimersByTimeAsync(0);
    expect(IpcError.is(await p, 'ERR_IPC_TIMEOUT')).toBe(true);
  });

  it('leaves other abort listeners on a shared signal alone', async () => {
    const ac = new AbortController();
    const mine = () => {};
    ac.signal.addEventListener('abort', mine);
    const waits = Array.from({ length: 5 }, (_, i) => {
      let resolveIt!: (v: number) => void;
      const p = waitFor<number>({ signal: ac.signal }, (resolve) => {
        resolveIt = resolve;
      });
      return { p, resolve: () => resolveIt(i) };
    });
    expect(abortListeners(ac.signal)).toBe(6);
    for (const w of waits) w.resolve();
    await Promise.all(waits.map((w) => w.p));
    expect(getEventListeners(ac.signal, 'abort')).toEqual([mine]);
  });
});

describe('sleep', () => {
  it('resolves after the given time and leaves nothing behind', async () => {
    let done = false;
    const p = sleep(100).then(() => {
      done = true;
    });
    await vi.advanceTimersByTimeAsync(99);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await p;
    expect(done).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('rejects with ERR_IPC_ABORTED on abort and clears its timer and listener', async () => {
    const ac = new AbortController();
    const p = rejection(sleep(10_000, ac.signal));
    expect(vi.getTimerCount()).toBe(1);
    ac.abort('stop');
    const e = await p;
    expect(IpcError.is(e, 'ERR_IPC_ABORTED')).toBe(true);
    expect((e as IpcError).cause).toBe('stop');
    expect(vi.getTimerCount()).toBe(0);
    expect(abortListeners(ac.signal)).toBe(0);
  });
});

describe('Deadline', () => {
  it('never expires without a timeout', () => {
    for (const d of [new Deadline(undefined), new Deadline(Infinity)]) {
      expect(d.remaining()).toBe(Infinity);
      expect(d.expired()).toBe(false);
      expect(d.timeout).toBe(Infinity);
    }
  });

  it('counts down and never goes negative', () => {
    const d = new Deadline(1000);
    expect(d.remaining()).toBe(1000);
    vi.advanceTimersByTime(400);
    expect(d.remaining()).toBe(600);
    expect(d.expired()).toBe(false);
    vi.advanceTimersByTime(5000);
    expect(d.remaining()).toBe(0);
    expect(d.expired()).toBe(true);
  });

  it('is expired at once for a zero timeout', () => {
    expect(new Deadline(0).expired()).toBe(true);
  });
});

describe('error helpers', () => {
  it('throwIfAborted throws ERR_IPC_ABORTED with the reason only when aborted', () => {
    expect(() => throwIfAborted(undefined)).not.toThrow();
    expect(() => throwIfAborted(new AbortController().signal)).not.toThrow();
    const reason = new Error('r');
    try {
      throwIfAborted(AbortSignal.abort(reason), 'put');
      expect.unreachable();
    } catch (err) {
      expect(IpcError.is(err, 'ERR_IPC_ABORTED')).toBe(true);
      expect((err as IpcError).cause).toBe(reason);
      expect((err as IpcError).message).toContain('put');
    }
  });

  it('abortError and timeoutError carry their codes', () => {
    expect(abortError(AbortSignal.abort('x')).code).toBe('ERR_IPC_ABORTED');
    expect(timeoutError(5).code).toBe('ERR_IPC_TIMEOUT');
    expect(timeoutError(5, 'recv').message).toBe('recv timed out after 5 ms');
  });
});
