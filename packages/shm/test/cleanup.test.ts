import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { SharedMemory, cleanSegments, listSegments } from '../src/index.js';
import { child, killChildren, uniqueName } from './helpers.js';

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const names: string[] = [];
afterEach(async () => {
  await killChildren();
  for (const n of names.splice(0)) {
    try {
      SharedMemory.open(n).unlink();
    } catch {
      // gone already
    }
  }
});

describe('cleanup of leftovers', () => {
  it('the creator unlinks its segments when it exits, unless unlinkOnExit is false', async () => {
    const a = uniqueName('exit');
    const b = uniqueName('keep');
    names.push(a, b);
    const ka = child('holder.mjs', [a, '64', 'true', 'handler']);
    const kb = child('holder.mjs', [b, '64', 'false', 'handler']);
    expect(await ka.line()).toBe(a);
    expect(await kb.line()).toBe(b);
    ka.proc.kill('SIGTERM');
    kb.proc.kill('SIGTERM');
    await Promise.all([ka.done, kb.done]);
    expect(existsSync(`/dev/shm/${a}`)).toBe(false);
    expect(existsSync(`/dev/shm/${b}`)).toBe(true);
    // kept on purpose: plain clean leaves it, --all removes it
    expect(cleanSegments({ prefix: b }).map((s) => s.name)).not.toContain(b);
    expect(cleanSegments({ all: true, prefix: b }).map((s) => s.name)).toEqual([b]);
  });

  it('a creator killed by SIGTERM or SIGINT (default action) still unlinks, and dies by that signal', async () => {
    for (const sig of ['SIGTERM', 'SIGINT'] as const) {
      const name = uniqueName('sig');
      names.push(name);
      const k = child('holder.mjs', [name, '64']);
      expect(await k.line()).toBe(name);
      k.proc.kill(sig);
      expect((await k.done).signal).toBe(sig);
      expect(existsSync(`/dev/shm/${name}`)).toBe(false);
    }
  });

  it('with two copies of the package loaded, SIGINT still kills the process and unlinks both copies\' segments', async () => {
    const k = child('dual-holder.mjs');
    const [a, b] = (await k.line()).split(' ');
    names.push(a!, b!);
    k.proc.kill('SIGINT');
    expect((await k.done).signal).toBe('SIGINT');
    expect(existsSync(`/dev/shm/${a}`)).toBe(false);
    expect(existsSync(`/dev/shm/${b}`)).toBe(false);
  });

  it('ipc-shm list shows a SIGKILLed creator as dead and clean removes its segment, never a live one', async () => {
    const PREFIX = uniqueName('cli');
    const dead = `${PREFIX}-dead`;
    const alive = `${PREFIX}-alive`;
    names.push(dead, alive);
    const kd = child('holder.mjs', [dead, '4096']);
    const ka = child('holder.mjs', [alive, '4096']);
    expect(await kd.line()).toBe(dead);
    expect(await ka.line()).toBe(alive);
    const deadPid = kd.proc.pid!;
    kd.proc.kill('SIGKILL');
    await kd.done;
    expect(existsSync(`/dev/shm/${dead}`)).toBe(true);

    const listed = JSON.parse(execFileSync(process.execPath, [CLI, 'list', '--json'], { encoding: 'utf8' })) as Array<{ name: string; pid: number; creatorAlive: boolean }>;
    expect(listed.find((s) => s.name === dead)).toMatchObject({ pid: deadPid, creatorAlive: false });
    expect(listed.find((s) => s.name === alive)).toMatchObject({ pid: ka.proc.pid, creatorAlive: true });
    expect(execFileSync(process.execPath, [CLI, 'list'], { encoding: 'utf8' })).toContain(`${dead}\t4096\tcreator=${deadPid} (dead)`);

    const dry = execFileSync(process.execPath, [CLI, 'clean', '--dry-run', `--prefix=${PREFIX}`], { encoding: 'utf8' });
    expect(dry).toContain(`would remove ${dead}`);
    expect(existsSync(`/dev/shm/${dead}`)).toBe(true);
    const out = execFileSync(process.execPath, [CLI, 'clean', `--prefix=${PREFIX}`], { encoding: 'utf8' });
    expect(out).toContain(`removed ${dead}`);
    expect(out).not.toContain(alive);
    expect(existsSync(`/dev/shm/${dead}`)).toBe(false);
    expect(existsSync(`/dev/shm/${alive}`)).toBe(true);
    expect(listSegments().find((s) => s.name === alive)?.creatorAlive).toBe(true);
  });

  it('keeps a dead creator\'s segment that a live process still maps', async () => {
    const name = uniqueName('mapped');
    names.push(name);
    const k = child('holder.mjs', [name, '64']);
    expect(await k.line()).toBe(name);
    const mine = SharedMemory.open(name);
    k.proc.kill('SIGKILL');
    await k.done;
    expect(listSegments().find((s) => s.name === name)?.mappedBy).toContain(process.pid);
    expect(cleanSegments({ prefix: name }).map((s) => s.name)).not.toContain(name);
    expect(cleanSegments({ evenIfMapped: true, prefix: name }).map((s) => s.name)).toEqual([name]);
    expect(new Uint8Array(mine.buffer)[0]).toBe(7);
  });

  it('the CLI rejects unknown options', () => {
    const r = spawnSync(process.execPath, [CLI, 'clean', '--bogus'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('unknown option --bogus');
  });
});
