import { defineProject, type UserWorkspaceConfig } from 'vitest/config';

/**
 * The one vitest config every package shares. Tests run in forks (real processes, so native
 * addons, signals and `process.exit` behave as in production), transformed for node20 so that
 * `await using` parses on Node 20.
 */
export function projectConfig(name: string, overrides: UserWorkspaceConfig['test'] = {}) {
  return defineProject({
    esbuild: { target: 'node20' },
    test: {
      name,
      include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      pool: 'forks',
      testTimeout: 30_000,
      hookTimeout: 30_000,
      ...overrides,
    },
  });
}
