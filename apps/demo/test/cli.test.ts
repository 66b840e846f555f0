import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const run = (...args: string[]) => promisify(execFile)(process.execPath, [cli, ...args], { timeout: 60_000 });

describe('demo CLI', () => {
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

  it('refuses an unknown section with a non-zero exit', async () => {
    await expect(run('tour', 'nope')).rejects.toMatchObject({ code: 1 });
  });
});
