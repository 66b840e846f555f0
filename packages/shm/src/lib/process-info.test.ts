import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { isProcessAlive, processStartTime } from '../index.js';

describe('processStartTime / isProcessAlive', () => {
  it('knows this process and its start time', () => {
    const t = processStartTime(process.pid);
    expect(typeof t).toBe('number');
    expect(isProcessAlive(process.pid)).toBe(true);
    expect(isProcessAlive(process.pid, t)).toBe(true);
  });

  it('does not mistake a process with another start time (a reused pid) for the recorded one', () => {
    const t = processStartTime(process.pid)!;
    expect(isProcessAlive(process.pid, t + 1)).toBe(false);
  });

  it('reports a killed child as dead, while still a zombie and after it is reaped', async () => {
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    const pid = child.pid!;
    const t = processStartTime(pid);
    expect(isProcessAlive(pid, t)).toBe(true);
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    expect(isProcessAlive(pid, t)).toBe(false);
  });

  it('returns undefined / false for no such process and rejects bad pids', () => {
    expect(processStartTime(4_194_303)).toBeUndefined();
    expect(isProcessAlive(4_194_303)).toBe(false);
    expect(() => processStartTime(0)).toThrow(RangeError);
    expect(() => processStartTime(1.5)).toThrow(TypeError);
    expect(() => isProcessAlive('1' as never)).toThrow(TypeError);
    expect(() => isProcessAlive(1, Number.NaN)).toThrow(TypeError);
  });
});
