import { join } from 'node:path';
import { jsonCodec } from '@ipc/core';
import { connectionConformance } from '@ipc/core/testing';
import { Listener, connect } from '../src/index.js';
import type { ClientOptions, ListenerOptions } from '../src/index.js';
import { selfSignedCert, tempDir } from './helpers.js';

const MAX = 2 * 1024 * 1024;

async function socketPair(address: (dir: string) => string | { host: string; port: number }, listenerOptions: ListenerOptions, clientOptions: ClientOptions) {
  const { dir, cleanup } = tempDir();
  const listener = await Listener.listen(address(dir), { maxFrameBytes: MAX, ...listenerOptions });
  try {
    const [a, b] = await Promise.all([connect(listener.address, { maxFrameBytes: MAX, ...clientOptions }), listener.accept({ timeout: 10_000 })]);
    return {
      a,
      b,
      cleanup: async () => {
        await listener.close();
        cleanup();
      },
    };
  } catch (err) {
    await listener.close();
    cleanup();
    throw err;
  }
}

const opts = { maxMessageBytes: MAX, codec: jsonCodec };

connectionConformance('socket over a Unix path', () => socketPair((dir) => join(dir, 's'), {}, {}), opts);

connectionConformance('socket over a Unix path with authkey', () =>
  socketPair((dir) => join(dir, 's'), { authkey: 'k3y' }, { authkey: 'k3y' }), opts);

connectionConformance('socket over TCP with authkey', () =>
  socketPair(() => ({ host: '127.0.0.1', port: 0 }), { authkey: 'k3y' }, { authkey: 'k3y' }), opts);

const { key, cert } = selfSignedCert();
connectionConformance('socket over TLS with authkey', () =>
  socketPair(() => ({ host: '127.0.0.1', port: 0 }), { authkey: 'k3y', tls: { key, cert } }, { authkey: 'k3y', tls: { ca: cert } }), opts);

connectionConformance('socket with the python wire', () =>
  socketPair((dir) => join(dir, 's'), { authkey: 'k3y', wire: 'python' }, { authkey: 'k3y', wire: 'python' }), opts);
