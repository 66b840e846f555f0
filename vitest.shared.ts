import { defineConfig, type ViteUserConfig } from 'vitest/config';

type TestOptions = NonNullable<ViteUserConfig['test']>;

/**
 * The one vitest config every package shares. Tests run in forks (real processes, so native
 * addons, signals and `process.exit` behave as in production), transformed for node20 so that
 * `await using` parses on Node 20. Besides the console report, each package writes
 * `test-results/vitest.json`, from which CI prints its totals.
 */
export function projectConfig(name: string, overrides: TestOptions = {}) {
  return defineConfig({
    esbuild: { target: 'node20' },
    test: {
      name,
      include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      pool: 'forks',
      testTimeout: 30_000,
      hookTimeout: 30_000,
      reporters: ['default', ['json', { outputFile: 'test-results/vitest.json' }]],
      ...overrides,
    },
  });
}
