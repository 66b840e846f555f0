import { describe, expect, it } from 'vitest';
import type * as errorsModule from './errors.js';
import { IpcError, IpcErrorCodes, fromSystemError, isIpcErrorCode } from './errors.js';
import type { IpcErrorCode } from './errors.js';

const codes = Object.keys(IpcErrorCodes) as IpcErrorCode[];

/** A second, separately evaluated copy of errors.ts: what two installed copies of @ipc/core look like. */
async function loadDuplicateCopy(): Promise<typeof errorsModule> {
  // A query string makes the module loader evaluate the file again as a new module.
  const specifier = './errors.js?duplicate-copy';
  return (await import(specifier)) as typeof errorsModule;
}

describe('the code registry', () => {
  it('names every code ERR_IPC_* with a human summary', () => {
    expect(codes.length).toBeGreaterThan(0);
    for (const code of codes) {
      expect(code).toMatch(/^ERR_IPC_[A-Z_]+$/);
      expect(typeof IpcErrorCodes[code]).toBe('string');
      expect(IpcErrorCodes[code].length).toBeGreaterThan(0);
    }
  });

  it('keeps the codes other packages switch on', () => {
    for (const code of ['ERR_IPC_CLOSED', 'ERR_IPC_TIMEOUT', 'ERR_IPC_ABORTED', 'ERR_IPC_TOO_LARGE', 'ERR_IPC_DECODE', 'ERR_IPC_ENCODE']) {
      expect(codes).toContain(code);
    }
  });

  it('recognises registered codes and nothing else, not even Object.prototype keys', () => {
    for (const code of codes) expect(isIpcErrorCode(code)).toBe(true);
    for (const notCode of ['ERR_NOPE', 'err_ipc_closed', 'toString', '__proto__', 'constructor', '', 42, null, undefined, {}]) {
      expect(isIpcErrorCode(notCode)).toBe(false);
    }
  });
});

describe('IpcError', () => {
  it('carries code, message, cause, errno, syscall and details', () => {
    const cause = new Error('root cause');
    const err = new IpcError('ERR_IPC_SYSTEM', 'shm_open failed', {
      cause,
      errno: 'EACCES',
      syscall: 'shm_open',
      details: { name: '/x' },
    });
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('IpcError');
    expect(err.code).toBe('ERR_IPC_SYSTEM');
    expect(err.message).toBe('shm_open failed');
    expect(err.cause).toBe(cause);
    expect(err.errno).toBe('EACCES');
    expect(err.syscall).toBe('shm_open');
    expect(err.details).toEqual({ name: '/x' });
    expect(err.stack).toContain('shm_open failed');
  });

  it('has no cause property when none was given', () => {
    const err = new IpcError('ERR_IPC_CLOSED', 'closed');
    expect('cause' in err).toBe(false);
    expect(err.errno).toBeUndefined();
    expect(err.syscall).toBeUndefined();
    expect(err.details).toBeUndefined();
  });

  it('keeps a falsy cause such as 0 or null', () => {
    expect(new IpcError('ERR_IPC_ABORTED', 'a', { cause: 0 }).cause).toBe(0);
    expect(new IpcError('ERR_IPC_ABORTED', 'a', { cause: null }).cause).toBeNull();
  });

  it('is recognised by IpcError.is, narrowed by code', () => {
    const err: unknown = new IpcError('ERR_IPC_TIMEOUT', 'late');
    expect(IpcError.is(err)).toBe(true);
    expect(IpcError.is(err, 'ERR_IPC_TIMEOUT')).toBe(true);
    expect(IpcError.is(err, 'ERR_IPC_CLOSED')).toBe(false);
    if (IpcError.is(err, 'ERR_IPC_TIMEOUT')) {
      const code: 'ERR_IPC_TIMEOUT' = err.code;
      expect(code).toBe('ERR_IPC_TIMEOUT');
    }
  });

  it('rejects non-IpcErrors in IpcError.is, including look-alikes without the marker', () => {
    for (const value of [
      null,
      undefined,
      'ERR_IPC_CLOSED',
      42,
      new Error('plain'),
      { code: 'ERR_IPC_CLOSED', name: 'IpcError', message: 'fake' },
      Object.assign(new Error('x'), { code: 'ERR_IPC_CLOSED' }),
      { [Symbol('@ipc/core.IpcError')]: true, code: 'ERR_IPC_CLOSED' },
      { [Symbol.for('@ipc/core.IpcError')]: 'yes', code: 'ERR_IPC_CLOSED' },
    ]) {
      expect(IpcError.is(value)).toBe(false);
      expect(value instanceof IpcError).toBe(false);
    }
  });

  it('supports instanceof for its own errors and not for other errors', () => {
    expect(new IpcError('ERR_IPC_FULL', 'full') instanceof IpcError).toBe(true);
    expect(new IpcError('ERR_IPC_FULL', 'full') instanceof Error).toBe(true);
    expect(new TypeError('x') instanceof IpcError).toBe(false);
  });

  it('keeps its marker off the enumerable properties', () => {
    const err = new IpcError('ERR_IPC_FULL', 'full');
    expect(Object.getOwnPropertySymbols(err)).toContain(Symbol.for('@ipc/core.IpcError'));
    expect(Object.keys(err)).not.toContain(Symbol.for('@ipc/core.IpcError'));
    expect(JSON.stringify(err)).not.toContain('@ipc/core');
  });
});

describe('IpcError across duplicate copies of the package', () => {
  it('loads a genuinely separate class for the test to mean anything', async () => {
    const other = await loadDuplicateCopy();
    expect(other.IpcError).not.toBe(IpcError);
  });

  it('recognises an error made by another copy with IpcError.is and instanceof', async () => {
    const other = await loadDuplicateCopy();
    const foreign: unknown = new other.IpcError('ERR_IPC_CLOSED', 'closed by the other copy');
    expect(IpcError.is(foreign)).toBe(true);
    expect(IpcError.is(foreign, 'ERR_IPC_CLOSED')).toBe(true);
    expect(IpcError.is(foreign, 'ERR_IPC_TIMEOUT')).toBe(false);
    expect(foreign instanceof IpcError).toBe(true);
    // and the other way round
    const ours = new IpcError('ERR_IPC_TIMEOUT', 'ours');
    expect(other.IpcError.is(ours, 'ERR_IPC_TIMEOUT')).toBe(true);
    expect(ours instanceof other.IpcError).toBe(true);
  });

  it('recognises any object carrying the Symbol.for marker', () => {
    const lookAlike = { [Symbol.for('@ipc/core.IpcError')]: true, code: 'ERR_IPC_EMPTY', message: 'empty' };
    expect(IpcError.is(lookAlike)).toBe(true);
    expect(IpcError.is(lookAlike, 'ERR_IPC_EMPTY')).toBe(true);
    expect(lookAlike instanceof IpcError).toBe(true);
  });

  it('passes an error from another copy through fromSystemError unchanged', async () => {
    const other = await loadDuplicateCopy();
    const foreign = new other.IpcError('ERR_IPC_NOT_FOUND', 'gone');
    expect(fromSystemError(foreign, 'opening')).toBe(foreign);
  });
});

describe('fromSystemError', () => {
  function systemError(code: string, syscall = 'open'): NodeJS.ErrnoException {
    return Object.assign(new Error(`${code}: failed, ${syscall}`), { code, syscall, errno: -2 });
  }

  it.each([
    ['EEXIST', 'ERR_IPC_EXISTS'],
    ['ENOENT', 'ERR_IPC_NOT_FOUND'],
    ['EPIPE', 'ERR_IPC_CLOSED'],
    ['ECONNRESET', 'ERR_IPC_CLOSED'],
    ['ENOSPC', 'ERR_IPC_TOO_LARGE'],
    ['EFBIG', 'ERR_IPC_TOO_LARGE'],
    ['EACCES', 'ERR_IPC_SYSTEM'],
  ] as const)('maps %s to %s keeping errno, syscall and the original as cause', (errno, code) => {
    const original = systemError(errno, 'shm_open');
    const err = fromSystemError(original, 'opening segment /a');
    expect(err).toBeInstanceOf(IpcError);
    expect(err.code).toBe(code);
    expect(err.errno).toBe(errno);
    expect(err.syscall).toBe('shm_open');
    expect(err.cause).toBe(original);
    expect(err.message).toContain('opening segment /a');
    expect(err.message).toContain(original.message);
  });

  it('lets the caller override the mapping per errno', () => {
    const err = fromSystemError(systemError('EACCES'), 'locking', { EACCES: 'ERR_IPC_AUTH' });
    expect(err.code).toBe('ERR_IPC_AUTH');
    expect(fromSystemError(systemError('ENOENT'), 'x', { ENOENT: 'ERR_IPC_CLOSED' }).code).toBe('ERR_IPC_CLOSED');
  });

  it('turns things that are not system errors into ERR_IPC_SYSTEM', () => {
    for (const thrown of ['a string', 42, null, undefined, new Error('no code'), { code: 17 }]) {
      const err = fromSystemError(thrown, 'doing it');
      expect(err.code).toBe('ERR_IPC_SYSTEM');
      expect(err.errno).toBeUndefined();
      expect(err.cause).toBe(thrown);
      expect(err.message).toContain('doing it');
    }
  });

  it('returns an IpcError as it is', () => {
    const err = new IpcError('ERR_IPC_TIMEOUT', 'late');
    expect(fromSystemError(err, 'waiting')).toBe(err);
  });
});
