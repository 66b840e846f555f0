import { defineConfig, type Options } from 'tsup';

/**
 * The one tsup config every package shares: ESM + CJS + `.d.ts` for both, target node20 so that
 * `using` / `await using` are lowered for Node 20.
 */
export function packageConfig(entry: Record<string, string> | string[], overrides: Options = {}) {
  return defineConfig({
    entry,
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'node20',
    platform: 'node',
    splitting: true,
    treeshake: true,
    ...overrides,
  });
}
