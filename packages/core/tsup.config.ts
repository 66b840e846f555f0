import { packageConfig } from '../../tsup.base';

// dist/testing.cjs is built too but not exported: ./testing is ESM only, as vitest cannot be require()d.
export default packageConfig({ index: 'src/index.ts', testing: 'src/testing.ts', child: 'src/child.ts' }, { external: ['vitest'] });
