import { getEventListeners } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { ConnectionBase } from './connection.js';
import type { ConnectionOptions } from './connection.js';
import { IpcError } from './errors.js';
import type { WaitOptions } from './wait.js';

/**
 * The smallest transport: frames written are kept in `written`; the test plays the peer with
 * `deliver` and `end`. Counts the calls the base class makes into the transport.
 */
class TestConnection<T = unknown> extends ConnectionBase<T> {
  readonly written: Uint8Array[] = [];
  pauses = 0;
  resumes = 0;
  destroys = 0;

  constructor(options: ConnectionOptions<T> = {}) {
    super(options);
  }

  protected async _write(frame: Uint8Array, _options: WaitOptions | undefined): Promise<void> {
    this.written.push(frame);
  }

  protected _destroy(): void {
    this.destroys++;
  }

  protected override _pause(): void {
    this.pauses++;
  }

  protected override _resume(): void {
    this.resumes++;
  }

  deliver(frame: Uint8Array): void {
    this._deliver(frame);
  }

  end(error?: IpcError): void {
    this._end(error);
  }

  get endError(): IpcError | undefined {
    return this._endError;
  }
}

const open: TestConnection<never>[] = [];
function connection<T = unknown>(options?: ConnectionOptions<T>): TestConnection<T> {
  const c = new TestConnection<T>(options);
  open.push(c as TestConnection<never>);
  return c;
}
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected the promise to reject');
}

const bytes = (n: number, fill = 1) => new Uint8Array(n).fill(fill);

describe('ConnectionBase send and recv', () => {
  it('encodes with its codec on send and decodes delivered frames on recv, in order', async () => {
    const a = connection({ codec: 'json' });
    await a.send({ hello: 'world' });
    expect(Buffer.from(a.written[0]!).toString()).toBe('{"hello":"world"}');
    a.deliver(Buffer.from('1'));
    a.deliver(Buffer.from('"two"'));
    a.deliver(Buffer.from('[3]'));
    expect(await a.recv()).toBe(1);
    expect(await a.recv()).toBe('two');
    expect(await a.recv()).toEqual([3]);
  });

  it('resolves a waiting recv when a frame arrives', async () => {
    const a = connection({ codec: 'json' });
    const p = a.recv();
    a.deliver(Buffer.from('{"late":true}'));
    expect(await p).toEqual({ late: true });
  });

  it('serves several waiting receivers in the order they asked', async () => {
    const a = connection({ codec: 'json' });
    const ps = [a.recv(), a.recv(), a.recv()];
    for (const n of [1, 2, 3]) a.deliver(Buffer.from(String(n)));
    expect(await Promise.all(ps)).toEqual([1, 2, 3]);
  });

  it('sends and receives raw bytes unchanged', async () => {
    const a = connection();
    await a.sendBytes(Uint8Array.of(1, 2, 3));
    expect([...a.written[0]!]).toEqual([1, 2, 3]);
    a.deliver(Uint8Array.of(4, 5));
    expect([...(await a.recvBytes())]).toEqual([4, 5]);
  });

  it('refuses a message over maxMessageBytes with ERR_IPC_TOO_LARGE before writing it', async () => {
    const a = connection({ maxMessageBytes: 4 });
    expect(IpcError.is(await rejection(a.sendBytes(bytes(5))), 'ERR_IPC_TOO_LARGE')).toBe(true);
    expect(IpcError.is(await rejection(a.send('a long string')), 'ERR_IPC_TOO_LARGE')).toBe(true);
    expect(a.written).toHaveLength(0);
    await a.sendBytes(bytes(4));
    expect(a.written).toHaveLength(1);
  });

  it('rejects recv with ERR_IPC_DECODE and the frame in details for bad bytes', async () => {
    const a = connection({ codec: 'json' });
    a.deliver(Buffer.from('{not json'));
    const err = await rejection(a.recv());
    expect(IpcError.is(err, 'ERR_IPC_DECODE')).toBe(true);
    expect(Buffer.from((err as IpcError).details!.frame as Uint8Array).toString()).toBe('{not json');
  });

  it('rejects a send of a value the codec cannot carry with ERR_IPC_ENCODE', async () => {
    const a = connection({ codec: 'json' });
    expect(IpcError.is(await rejection(a.send(1n as unknown)), 'ERR_IPC_ENCODE')).toBe(true);
  });

  it('validates its options with TypeError/RangeError', () => {
    expect(() => connection({ highWaterMark: 0 })).toThrow(RangeError);
    expect(() => connection({ maxMessageBytes: 0 })).toThrow(/maxMessageBytes/);
    expect(() => connection({ direction: 'sideways' as 'both' })).toThrow(TypeError);
    expect(() => connection({ codec: 'yaml' as 'json' })).toThrow(TypeError);
  });

  it('rejects sendBytes of something that is not a Uint8Array with TypeError', async () => {
    const a = connection();
    expect(await rejection(a.sendBytes('text' as unknown as Uint8Array))).toBeInstanceOf(TypeError);
  });
});

describe('ConnectionBase recvBytes maxLength', () => {
  it('rejects with ERR_IPC_TOO_LARGE and leaves a queued message in place', async () => {
    const a = connection();
    a.deliver(bytes(10, 7));
    const err = await rejection(a.recvBytes({ maxLength: 9 }));
    expect(IpcError.is(err, 'ERR_IPC_TOO_LARGE')).toBe(true);
    expect((err as IpcError).details).toEqual({ length: 10, max: 9 });
    expect(await a.poll()).toBe(true);
    const frame = await a.recvBytes({ maxLength: 10 });
    expect([...frame]).toEqual([...bytes(10, 7)]);
  });

  it('rejects a waiting receiver whose maxLength is too small and keeps the message queued', async () => {
    const a = connection();
    const waiting = a.recvBytes({ maxLength: 3 });
    a.deliver(bytes(4, 2));
    expect(IpcError.is(await rejection(waiting), 'ERR_IPC_TOO_LARGE')).toBe(true);
    expect([...(await a.recvBytes())]).toEqual([2, 2, 2, 2]);
  });

  it('throws RangeError for a negative or NaN maxLength', async () => {
    const a = connection();
    expect(await rejection(a.recvBytes({ maxLength: -1 }))).toBeInstanceOf(RangeError);
    expect(await rejection(a.recvBytes({ maxLength: Number.NaN }))).toBeInstanceOf(RangeError);
  });
});

describe('ConnectionBase timeouts and abort', () => {
  it('rejects recv with ERR_IPC_TIMEOUT at once for timeout 0 on an empty inbox', async () => {
    const a = connection();
    expect(IpcError.is(await rejection(a.recv({ timeout: 0 })), 'ERR_IPC_TIMEOUT')).toBe(true);
  });

  it('rejects recv with ERR_IPC_TIMEOUT after the timeout and does not swallow a later message', async () => {
    const a = connection({ codec: 'json' });
    expect(IpcError.is(await rejection(a.recv({ timeout: 5 })), 'ERR_IPC_TIMEOUT')).toBe(true);
    a.deliver(Buffer.from('"kept"'));
    expect(await a.recv({ timeout: 0 })).toBe('kept');
  });

  it('rejects recv with ERR_IPC_ABORTED keeping the reason, removes its listener, and loses no message', async () => {
    const a = connection({ codec: 'json' });
    const ac = new AbortController();
    const p = a.recv({ signal: ac.signal });
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(1);
    ac.abort('enough');
    const err = await rejection(p);
    expect(IpcError.is(err, 'ERR_IPC_ABORTED')).toBe(true);
    expect((err as IpcError).cause).toBe('enough');
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
    a.deliver(Buffer.from('1'));
    expect(await a.recv()).toBe(1);
  });

  it('rejects at once for an already-aborted signal, on recv and on send', async () => {
    const a = connection();
    const signal = AbortSignal.abort('gone');
    expect(IpcError.is(await rejection(a.recv({ signal })), 'ERR_IPC_ABORTED')).toBe(true);
    const err = await rejection(a.send('x', { signal }));
    expect(IpcError.is(err, 'ERR_IPC_ABORTED')).toBe(true);
    expect((err as IpcError).cause).toBe('gone');
    expect(a.written).toHaveLength(0);
  });

  it('validates wait options on recv and send', async () => {
    const a = connection();
    expect(await rejection(a.recv({ timeout: -1 }))).toBeInstanceOf(RangeError);
    expect(await rejection(a.send('x', { timeout: Number.NaN }))).toBeInstanceOf(TypeError);
  });
});

describe('ConnectionBase close', () => {
  it('rejects a receiver waiting during close with ERR_IPC_CLOSED', async () => {
    const a = connection();
    const p = a.recv();
    const q = a.recvBytes();
    await a.close();
    expect(IpcError.is(await rejection(p), 'ERR_IPC_CLOSED')).toBe(true);
    expect(IpcError.is(await rejection(q), 'ERR_IPC_CLOSED')).toBe(true);
  });

  it('is idempotent: close twice destroys the transport once', async () => {
    const a = connection();
    const first = a.close();
    const second = a.close();
    expect(second).toBe(first);
    await first;
    await a.close();
    expect(a.destroys).toBe(1);
    expect(a.closed).toBe(true);
  });

  it('closes through Symbol.asyncDispose (await using)', async () => {
    let seen: TestConnection | undefined;
    {
      await using a = connection();
      seen = a;
      expect(a.closed).toBe(false);
    }
    expect(seen.closed).toBe(true);
    expect(seen.destroys).toBe(1);
  });

  it('rejects send, recv and poll after close with ERR_IPC_CLOSED and drops unread messages', async () => {
    const a = connection();
    a.deliver(bytes(3));
    await a.close();
    expect(IpcError.is(await rejection(a.send('x')), 'ERR_IPC_CLOSED')).toBe(true);
    expect(IpcError.is(await rejection(a.recvBytes()), 'ERR_IPC_CLOSED')).toBe(true);
    expect(IpcError.is(await rejection(a.poll()), 'ERR_IPC_CLOSED')).toBe(true);
  });

  it('wakes a pending poll with false on close', async () => {
    const a = connection();
    const p = a.poll(Infinity);
    await a.close();
    expect(await p).toBe(false);
  });
});

describe('ConnectionBase peer end', () => {
  it('keeps frames delivered before the end readable, then rejects with ERR_IPC_CLOSED', async () => {
    const a = connection({ codec: 'json' });
    a.deliver(Buffer.from('1'));
    a.end();
    expect(a.closed).toBe(false);
    expect(await a.recv()).toBe(1);
    expect(a.closed).toBe(true);
    expect(IpcError.is(await rejection(a.recv()), 'ERR_IPC_CLOSED')).toBe(true);
  });

  it('rejects a waiting receiver when the peer ends', async () => {
    const a = connection();
    const p = a.recv();
    a.end();
    expect(IpcError.is(await rejection(p), 'ERR_IPC_CLOSED')).toBe(true);
  });

  it('reports the error the transport ended with', async () => {
    const a = connection();
    const broken = new IpcError('ERR_IPC_PROTOCOL', 'bad frame');
    const p = a.recv();
    a.end(broken);
    expect(await rejection(p)).toBe(broken);
    expect(a.endError).toBe(broken);
    expect(await rejection(a.recv())).toBe(broken);
  });

  it('ignores frames and a second end after the peer ended', async () => {
    const a = connection({ codec: 'json' });
    a.end();
    a.deliver(Buffer.from('1'));
    a.end(new IpcError('ERR_IPC_PROTOCOL', 'later'));
    expect(IpcError.is(await rejection(a.recv()), 'ERR_IPC_CLOSED')).toBe(true);
  });

  it('refuses to send after the peer ended', async () => {
    const a = connection();
    a.end();
    expect(IpcError.is(await rejection(a.send('x')), 'ERR_IPC_CLOSED')).toBe(true);
  });

  it('answers poll with true once the peer ended, so that recv will not block', async () => {
    const a = connection();
    const pending = a.poll(Infinity);
    a.end();
    expect(await pending).toBe(true);
    expect(await a.poll()).toBe(true);
  });
});

describe('ConnectionBase iteration', () => {
  it('yields every message and stops when the peer ends', async () => {
    const a = connection({ codec: 'json' });
    for (const n of [1, 2, 3]) a.deliver(Buffer.from(String(n)));
    setImmediate(() => {
      a.deliver(Buffer.from('4'));
      a.end();
    });
    const seen: unknown[] = [];
    for await (const v of a) seen.push(v);
    expect(seen).toEqual([1, 2, 3, 4]);
  });

  it('stops when the connection is closed while iterating', async () => {
    const a = connection({ codec: 'json' });
    a.deliver(Buffer.from('1'));
    const seen: unknown[] = [];
    for await (const v of a) {
      seen.push(v);
      setImmediate(() => void a.close());
    }
    expect(seen).toEqual([1]);
  });

  it('throws the transport error when the peer ended with one', async () => {
    const a = connection({ codec: 'json' });
    a.deliver(Buffer.from('1'));
    a.end(new IpcError('ERR_IPC_PROTOCOL', 'garbled'));
    const seen: unknown[] = [];
    const err = await rejection(
      (async () => {
        for await (const v of a) seen.push(v);
      })(),
    );
    expect(seen).toEqual([1]);
    expect(IpcError.is(err, 'ERR_IPC_PROTOCOL')).toBe(true);
  });

  it('breaking out of the loop stops reading without closing the connection', async () => {
    const a = connection({ codec: 'json' });
    for (const n of [1, 2, 3]) a.deliver(Buffer.from(String(n)));
    for await (const v of a) {
      expect(v).toBe(1);
      break;
    }
    expect(a.closed).toBe(false);
    expect(a.destroys).toBe(0);
    expect(await a.recv()).toBe(2);
  });
});

describe('ConnectionBase back-pressure', () => {
  it('pauses the transport once past the high-water mark and resumes it at half', async () => {
    const a = connection({ highWaterMark: 100 });
    a.deliver(bytes(40));
    a.deliver(bytes(40));
    expect(a.pauses).toBe(0);
    a.deliver(bytes(40)); // 120 > 100
    expect(a.pauses).toBe(1);
    a.deliver(bytes(40)); // still paused: no second pause
    expect(a.pauses).toBe(1);
    await a.recvBytes(); // 120 left
    await a.recvBytes(); // 80 left: above half
    expect(a.resumes).toBe(0);
    await a.recvBytes(); // 40 left: <= 50
    expect(a.resumes).toBe(1);
    await a.recvBytes();
    expect(a.resumes).toBe(1);
    a.deliver(bytes(101));
    expect(a.pauses).toBe(2);
  });

  it('does not count frames handed straight to a waiting receiver', async () => {
    const a = connection({ highWaterMark: 10 });
    const waits = [a.recvBytes(), a.recvBytes()];
    a.deliver(bytes(50));
    a.deliver(bytes(50));
    await Promise.all(waits);
    expect(a.pauses).toBe(0);
  });
});

describe('ConnectionBase poll', () => {
  it('answers false for an empty inbox and true once a message is queued', async () => {
    const a = connection();
    expect(await a.poll()).toBe(false);
    expect(await a.poll(1)).toBe(false);
    a.deliver(bytes(1));
    expect(await a.poll()).toBe(true);
  });

  it('resolves a waiting poll when a message arrives', async () => {
    const a = connection();
    const p = a.poll(Infinity);
    a.deliver(bytes(1));
    expect(await p).toBe(true);
  });

  it('rejects a negative or NaN timeout with RangeError', async () => {
    const a = connection();
    expect(await rejection(a.poll(-1))).toBeInstanceOf(RangeError);
    expect(await rejection(a.poll(Number.NaN))).toBeInstanceOf(RangeError);
  });
});

describe('ConnectionBase one-way ends', () => {
  it('refuses to send on a read-only end with ERR_IPC_WRONG_DIRECTION', async () => {
    const r = connection({ direction: 'read' });
    expect(r.readable).toBe(true);
    expect(r.writable).toBe(false);
    expect(IpcError.is(await rejection(r.send('x')), 'ERR_IPC_WRONG_DIRECTION')).toBe(true);
    expect(IpcError.is(await rejection(r.sendBytes(bytes(1))), 'ERR_IPC_WRONG_DIRECTION')).toBe(true);
  });

  it('refuses to receive on a write-only end with ERR_IPC_WRONG_DIRECTION', async () => {
    const w = connection({ direction: 'write' });
    expect(w.readable).toBe(false);
    expect(w.writable).toBe(true);
    expect(IpcError.is(await rejection(w.recv()), 'ERR_IPC_WRONG_DIRECTION')).toBe(true);
    expect(IpcError.is(await rejection(w.recvBytes()), 'ERR_IPC_WRONG_DIRECTION')).toBe(true);
  });
});
