import { defineConfig } from 'vitest/config';

// Root runner: one project per package, so `pnpm vitest` at the root runs everything.
export default defineConfig({
  test: {
    projects: ['packages/*', 'apps/*'],
  },
});
