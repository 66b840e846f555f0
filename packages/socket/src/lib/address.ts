import { lstat, unlink } from 'node:fs/promises';
import net from 'node:net';
import { IpcError } from '@ipc/core';

/**
 * Where a listener listens or a client connects: a Unix socket path (a string, or `{ path }`),
 * or a TCP `{ host, port }` (port 0 picks a free one). With the `tls` option, TCP runs over TLS.
 */
export type Address = string | { path: string } | { host?: string; port: number };

/** A checked address. */
export type ResolvedAddress = { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number };

/** The longest Unix socket path (bytes, without the final NUL) the OS takes. */
export function maxUnixPathBytes(): number {
  return process.platform === 'linux' ? 107 : 103;
}

/**
 * Checks an address up front.
 * @throws {TypeError} when it is neither a path nor `{ host, port }`
 * @throws {RangeError} for a port out of range or a path longer than the OS allows (never cut)
 */
export function resolveAddress(address: Address): ResolvedAddress {
  if (typeof address === 'string') return unixAddress(address);
  if (typeof address !== 'object' || address === null) {
    throw new TypeError('address must be a Unix socket path or { host, port }');
  }
  if ('path' in address && address.path !== undefined) return unixAddress(address.path);
  const { host = '127.0.0.1', port } = address as { host?: string; port: number };
  if (typeof host !== 'string' || host.length === 0) throw new TypeError('address.host must be a non-empty string');
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`address.port must be an integer between 0 and 65535, got ${String(port)}`);
  }
  return { kind: 'tcp', host, port };
}

function unixAddress(path: unknown): ResolvedAddress {
  if (typeof path !== 'string' || path.length === 0) throw new TypeError('a Unix socket path must be a non-empty string');
  if (process.platform === 'win32') return { kind: 'unix', path };
  const bytes = Buffer.byteLength(path);
  const max = maxUnixPathBytes();
  if (bytes > max) {
    throw new RangeError(`Unix socket path is ${bytes} bytes, over the ${max}-byte limit of ${process.platform}: ${path}`);
  }
  return { kind: 'unix', path };
}

/** True for a Linux abstract socket name (no file). */
export function isAbstract(path: string): boolean {
  return path.startsWith('\0');
}

/**
 * Makes room for a listener at `path`: nothing there is fine; a socket file nobody listens on (a
 * dead listener's) is removed; a live listener or any other file is refused.
 * @throws {IpcError} ERR_IPC_EXISTS
 */
export async function clearStaleSocket(path: string): Promise<void> {
  if (process.platform === 'win32' || isAbstract(path)) return;
  let st;
  try {
    st = await lstat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (!st.isSocket()) {
    throw new IpcError('ERR_IPC_EXISTS', `${path} exists and is not a socket; refusing to replace it`);
  }
  const live = await new Promise<boolean>((resolve) => {
    const probe = net.connect({ path });
    const done = (result: boolean) => {
      probe.destroy();
      resolve(result);
    };
    probe.once('connect', () => done(true));
    probe.once('error', (err: NodeJS.ErrnoException) => done(err.code !== 'ECONNREFUSED' && err.code !== 'ENOENT'));
    probe.setTimeout(2000, () => done(true));
  });
  if (live) throw new IpcError('ERR_IPC_EXISTS', `a listener is already live at ${path}`);
  try {
    await unlink(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
