import { packageConfig } from '../../tsup.base';

// The demo is an app: ESM only, no type declarations; each child entry is its own file so a
// Process can start it.
export default packageConfig(['src/cli.ts', 'src/children/*.ts'], { format: ['esm'], dts: false });
