import { inspect } from 'node:util';
import { processArgs, processName } from '@ipc/core';

const args = await processArgs();
console.log(`    [${processName()} pid ${process.pid}] got ${inspect(args, { breakLength: Infinity, colors: false })}`);
