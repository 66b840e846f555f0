import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { IpcErrorCodes } from '@ipc/core';

describe('README', () => {
  it('lists every error code of the registry', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    for (const code of Object.keys(IpcErrorCodes)) expect(readme, code).toContain(`| \`${code}\` |`);
  });
});
