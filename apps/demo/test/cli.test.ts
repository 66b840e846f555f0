import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const run = (...args: string[]) => promisify(execFile)(process.execPath, [cli, ...args], { timeout: 120_000 });

describe('demo CLI', { timeout: 120_000 }, () => {
  it('prints help naming the commands', async () => {
    const { stdout } = await run('--help');
    expect(stdout).toContain('tour');
    expect(stdout).toContain('list');
  });

  it('runs the process section alone, reporting the crash and the kill', async () => {
    const { stdout } = await run('tour', 'process');
    expect(stdout).toContain('greeter exited with code 0');
    expect(stdout).toContain('crasher failed: ERR_IPC_PROCESS_FAILED, exit code 1');
    expect(stdout).toContain("SyntaxError: config is not JSON: 'oops'");
    expect(stdout).toContain('exit code -9');
  });

  it('runs the whole tour: every mechanism in real processes, with the results it claims', async () => {
    const { stdout } = await run('tour');
    expect(stdout).toContain('the Value reads 100,000 (expected 100,000)');
    expect(stdout).toContain('never more than 2 inside at once');
    expect(stdout).toContain('guard.ownerDied = true');
    expect(stdout).toMatch(/consumers took .* = 40,000 items/);
    expect(stdout).toContain("none torn; and it still takes puts: 'still works'");
    expect(stdout).toContain('ping 3 -> pong 3');
    expect(stdout).toContain('bob (pid');
    expect(stdout).toContain('node client 3: the sum is 333');
    expect(stdout).toContain('a client with the wrong key: ERR_IPC_AUTH');
    expect(stdout).toContain('got the sum: 42');
  });

  it('refuses an unknown section with a non-zero exit', async () => {
    await expect(run('tour', 'nope')).rejects.toMatchObject({ code: 1 });
  });
});
