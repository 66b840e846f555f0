import { spawn, spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { SharedMemory } from '../src/index.js';
import { fixture, uniqueName } from './helpers.js';

const PY = process.env.PYTHON ?? 'python3';
const made: SharedMemory[] = [];
afterEach(() => {
  for (const s of made.splice(0)) s.unlink();
});

describe('Python interop', () => {
  it('python3 attaches to a segment we created and the bytes agree both ways', () => {
    const shm = SharedMemory.create({ size: 64 });
    made.push(shm);
    new Uint8Array(shm.buffer).set([0xde, 0xad, 0xbe, 0xef]);
    const r = spawnSync(PY, [fixture('python_attach.py'), shm.name], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('deadbeef');
    expect(Buffer.from(shm.buffer, 4, 2).toString()).toBe('PY');
    // Python's resource tracker did not unlink it behind our back
    expect(SharedMemory.open(shm.name).size).toBe(64);
  });

  it('we attach to a segment python3 created', async () => {
    const name = uniqueName('py');
    const py = spawn(PY, [fixture('python_create.py'), name], { stdio: ['pipe', 'pipe', 'pipe'] });
    try {
      py.stdout.setEncoding('utf8');
      const lines: string[] = [];
      let buf = '';
      const next = () =>
        new Promise<string>((resolve, reject) => {
          const check = () => {
            const nl = buf.indexOf('\n');
            if (nl >= 0) {
              const l = buf.slice(0, nl);
              buf = buf.slice(nl + 1);
              py.stdout.off('data', onData);
              resolve(l);
            }
          };
          const onData = (d: string) => {
            buf += d;
            check();
          };
          py.stdout.on('data', onData);
          py.once('exit', (c) => reject(new Error(`python exited ${c}`)));
          check();
        });
      expect(await next()).toBe('ready');
      const shm = SharedMemory.open(name);
      expect(shm.size).toBeGreaterThanOrEqual(64);
      expect(Buffer.from(shm.buffer, 0, 5).toString()).toBe('hello');
      Buffer.from(shm.buffer, 5, 2).write('JS');
      py.stdin.write('\n');
      lines.push(await next());
      expect(lines[0]).toBe('JS');
      await new Promise((r) => py.once('exit', r));
    } finally {
      if (py.exitCode === null) py.kill('SIGKILL');
    }
  });
});
