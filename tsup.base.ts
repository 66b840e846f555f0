import { defineConfig, type Options } from 'tsup';

/**
 * The one tsup config every package shares: ESM + CJS + `.d.ts` for both, target node20 so that
 * `using` / `await using` are lowered for Node 20.
 *
 * No code splitting: each entry is one self-contained file. A handle names the module that
 * registers its reviver by that module's own URL (`import.meta.url`); with shared chunks that URL
 * would be a chunk which registers nothing. Registries and error markers live on `globalThis`, so a
 * second copy of shared code in another entry is harmless.
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
    splitting: false,
    treeshake: true,
    ...overrides,
  });
}
