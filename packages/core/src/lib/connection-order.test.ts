import { describe, expect, it } from 'vitest';
import { ConnectionBase } from './connection.js';
import { IpcError } from './errors.js';

class TestConnection extends ConnectionBase<unknown> {
  constructor() {
    super({ codec: 'bytes' });
  }
  protected async _write(): Promise<void> {}
  protected _destroy(): void {}
  deliver(frame: Uint8Array): void {
    this._deliver(frame);
  }
}

describe('connection ordering', () => {
  it('a receiver with a too-small maxLength does not let a later frame overtake the queued one', async () => {
    const c = new TestConnection();
    const small = c.recvBytes({ maxLength: 1 }).catch((e: unknown) => e);
    const any = c.recvBytes(); // waits behind `small`
    c.deliver(Uint8Array.of(1, 1)); // too long for `small`: queued; `any` should get it now
    expect(IpcError.is(await small, 'ERR_IPC_TOO_LARGE')).toBe(true);
    c.deliver(Uint8Array.of(2));
    // messages arrive whole and in order: `any` gets the queued [1, 1], and [2] stays for the next recv
    expect(await any).toEqual(Uint8Array.of(1, 1));
    expect(await c.recvBytes({ timeout: 0 })).toEqual(Uint8Array.of(2));
    await c.close();
  });
});
