import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IpcError, Process } from '@ipc/core';
import { Listener, connect } from '@ipc/socket';
import type { Section } from '../lib/section.js';

const PYTHON_CLIENT = `
import json, sys
from multiprocessing.connection import Client
port, key = int(sys.argv[1]), sys.argv[2].encode()
with Client(('127.0.0.1', port), authkey=key) as conn:
    conn.send_bytes(json.dumps({'add': [10, 20, 12], 'from': 'python'}).encode())
    print(json.loads(conn.recv_bytes())['sum'])
`;

function runPython(port: number, key: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const py = spawn('python3', ['-c', PYTHON_CLIENT, String(port), key], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    py.stdout.on('data', (d: Buffer) => (out += d));
    py.stderr.on('data', (d: Buffer) => (err += d));
    py.on('error', reject);
    py.on('exit', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`python3 exited ${code}: ${err}`))));
  });
}

export const socketSection: Section = {
  name: 'socket',
  title: 'Socket: a listener with an authkey serving Node clients and a Python client',
  async run({ say, child }) {
    const dir = mkdtempSync(join(tmpdir(), 'ipc-demo-'));
    const key = 'correct horse battery staple';
    try {
      const path = join(dir, 'calc.sock');
      type Req = { add: number[]; from: string };
      await using listener = await Listener.listen<Req>(path, { authkey: key });
      const served = listener.serve((req) => {
        say(`  listener: request from ${req.from}: add ${req.add.join(' + ')}`);
        return { sum: req.add.reduce((a, b) => a + b, 0) };
      });
      say(`listening on ${path} (mode 0600), authkey required`);
      const clients = [1, 2, 3].map((i) =>
        new Process(child('socket-client'), { name: `client-${i}`, args: [path, key, i], execArgv: [], stdio: 'pipe' }).start(),
      );
      const outputs = clients.map(async (p) => {
        let out = '';
        for await (const d of p.stdout!) out += d;
        await p.join({ timeout: 20_000 });
        return out.trim();
      });
      for (const line of await Promise.all(outputs)) say(`  ${line}`);

      try {
        await connect(path, { authkey: 'wrong key' });
        say('a client with the wrong key got in?!');
      } catch (err) {
        if (!IpcError.is(err, 'ERR_IPC_AUTH')) throw err;
        say(`a client with the wrong key: ${err.code}`);
      }

      await using pyListener = await Listener.listen<Req>({ host: '127.0.0.1', port: 0 }, { authkey: key, wire: 'python' });
      const pyServed = pyListener.serve((req) => {
        say(`  python listener: request from ${req.from}: add ${req.add.join(' + ')}`);
        return { sum: req.add.reduce((a, b) => a + b, 0) };
      });
      const { port } = pyListener.address as { port: number };
      say(`a second listener on 127.0.0.1:${port} speaks Python's multiprocessing.connection wire`);
      try {
        say(`  python3 Client(authkey=...) got the sum: ${await runPython(port, key)}`);
      } catch (err) {
        say(`  python3 could not run: ${(err as Error).message}`);
      }
      await listener.close();
      await pyListener.close();
      await Promise.allSettled([served, pyServed]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
