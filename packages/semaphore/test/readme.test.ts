import { execFile } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const here = (p: string) => new URL(p, import.meta.url);
const readme = readFileSync(here('../README.md'), 'utf8');

describe('README', () => {
  it('shows examples/counter.mjs as it is', () => {
    const example = readFileSync(here('../examples/counter.mjs'), 'utf8').split('\n').slice(1).join('\n').trim();
    expect(readme).toContain(example);
  });

  it('shows examples/thread-recover.mjs as it is', () => {
    const example = readFileSync(here('../examples/thread-recover.mjs'), 'utf8').split('\n').slice(1).join('\n').trim();
    expect(readme).toContain(example);
  });

  it('lists every error code the package throws', () => {
    const lib = here('../src/lib/');
    const codes = new Set<string>();
    for (const f of readdirSync(lib)) {
      if (!f.endsWith('.ts') || f.endsWith('.test.ts')) continue;
      for (const m of readFileSync(new URL(f, lib), 'utf8').matchAll(/'(ERR_IPC_[A-Z_]+)'/g)) codes.add(m[1]!);
    }
    for (const code of ['ERR_IPC_TIMEOUT', 'ERR_IPC_ABORTED']) codes.add(code);
    for (const code of codes) expect(readme, code).toContain(`| \`${code}\` |`);
  });

  it('runs the examples: exact counting across processes, and recovery from a killed holder process and a terminated holder thread', async () => {
    const counter = await run(process.execPath, [here('../examples/counter.mjs').pathname], { timeout: 60_000 });
    expect(counter.stdout.trim()).toBe('40000');
    const recover = await run(process.execPath, [here('../examples/recover.mjs').pathname], { timeout: 60_000 });
    expect(recover.stdout.trim()).toBe('recovered, ownerDied: true');
    const threadRecover = await run(process.execPath, [here('../examples/thread-recover.mjs').pathname], { timeout: 60_000 });
    expect(threadRecover.stdout.trim()).toBe('recovered, ownerDied: true');
  });
});
