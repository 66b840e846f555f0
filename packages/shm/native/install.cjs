#!/usr/bin/env node
// The package's install script: builds the addon with node-gyp (supplied by npm / pnpm on PATH).
// When the build tools are missing it prints one clear message and lets the install finish; the
// package then throws IpcError ERR_IPC_NATIVE with the same advice when it is first used.
'use strict';
const { spawnSync } = require('node:child_process');
const { existsSync } = require('node:fs');
const { delimiter, join } = require('node:path');

function onPath(cmd) {
  return (process.env.PATH || '').split(delimiter).some((dir) => dir && existsSync(join(dir, cmd)));
}

const missing = [];
if (!onPath('python3') && !onPath('python') && !process.env.PYTHON && !process.env.npm_config_python) missing.push('python3');
if (!onPath('make')) missing.push('make');
if (!onPath('g++') && !onPath('c++') && !process.env.CXX) missing.push('g++');

if (missing.length > 0) {
  process.stderr.write(
    `@ipc/shm: cannot build its native addon: ${missing.join(', ')} not found. ` +
      'Install python3, make and g++ (Debian/Ubuntu: apt-get install python3 make g++), then run `npm rebuild @ipc/shm`.\n',
  );
  process.exit(0);
}

const gyp = process.env.npm_config_node_gyp;
const r = gyp
  ? spawnSync(process.execPath, [gyp, 'rebuild'], { stdio: 'inherit' })
  : spawnSync('node-gyp', ['rebuild'], { stdio: 'inherit', shell: process.platform === 'win32' });
if (r.error) {
  process.stderr.write(`@ipc/shm: could not run node-gyp (${r.error.message}); run \`npx node-gyp rebuild\` in ${__dirname}/..\n`);
  process.exit(1);
}
process.exit(r.status ?? 1);
