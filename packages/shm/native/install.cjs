#!/usr/bin/env node
// The package's install script: builds the addon with node-gyp (supplied by npm / pnpm on PATH).
// When the build tools are missing it prints one clear message and lets the install finish; the
// package then throws IpcError ERR_IPC_NATIVE with the same advice when it is first used.
'use strict';
const { spawnSync } = require('node:child_process');
const { createHash } = require('node:crypto');
const { existsSync, readFileSync, writeFileSync } = require('node:fs');
const { delimiter, join } = require('node:path');

const root = join(__dirname, '..');
const addon = join(root, 'build', 'Release', 'ipc_shm.node');
const stampFile = join(root, 'build', 'ipc-shm-stamp.json');

// A workspace install runs this script again and again while other processes have the addon loaded
// or are about to load it: when the build for these sources and this Node ABI exists, keep it
// (`node-gyp rebuild` would delete it for the length of a compile).
function stamp() {
  const h = createHash('sha256');
  for (const f of ['native/shm.cc', 'binding.gyp']) h.update(readFileSync(join(root, f)));
  return JSON.stringify({ node: process.version, abi: process.versions.modules, arch: process.arch, src: h.digest('hex') });
}
const want = stamp();
if (!process.env.IPC_SHM_FORCE_BUILD && existsSync(addon) && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === want) {
  process.exit(0);
}

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
  ? spawnSync(process.execPath, [gyp, 'rebuild'], { stdio: 'inherit', cwd: root })
  : spawnSync('node-gyp', ['rebuild'], { stdio: 'inherit', cwd: root, shell: process.platform === 'win32' });
if (r.error) {
  process.stderr.write(`@ipc/shm: could not run node-gyp (${r.error.message}); run \`npx node-gyp rebuild\` in ${__dirname}/..\n`);
  process.exit(1);
}
if (r.status === 0) writeFileSync(stampFile, want);
process.exit(r.status ?? 1);
