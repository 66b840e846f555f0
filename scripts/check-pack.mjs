#!/usr/bin/env node
// "Users install our packages one by one from npm": for every non-private package in packages/*,
// `pnpm pack` it (which rewrites workspace:^ to real versions), npm-install all the tarballs together
// into a blank project OUTSIDE the workspace, then import every package (and each of its subpath
// exports) from an ESM consumer and a CJS consumer under plain node. A package added later is covered
// without editing this script. Temp dirs are always removed. Exits non-zero on any failure.
//
// Usage: node scripts/check-pack.mjs [--no-build] [--keep] [@ipc/name ...]
//   --no-build  do not run `turbo run build` first (dist must exist)
//   --keep      keep the temp dir for debugging (its path is printed)

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const noBuild = args.includes('--no-build');
const keep = args.includes('--keep');
const only = args.filter((a) => !a.startsWith('--'));

/** Exports each consumer checks by name, where we know them; every package is also checked generically. */
const expectedExports = {
  '@ipc/core': ['IpcError', 'IpcErrorCodes', 'waitFor', 'FrameDecoder', 'structuredCodec', 'ConnectionBase', 'registerHandleKind'],
};

function fail(message) {
  console.error(`\ncheck-pack: FAILED: ${message}`);
  process.exitCode = 1;
}

function run(cmd, cmdArgs, options = {}) {
  try {
    return execFileSync(cmd, cmdArgs, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024, ...options });
  } catch (err) {
    const out = `${err.stdout ?? ''}${err.stderr ?? ''}`.trim();
    throw new Error(`\`${cmd} ${cmdArgs.join(' ')}\` failed (exit ${err.status ?? err.signal})${options.cwd ? ` in ${options.cwd}` : ''}\n${out.slice(-6000)}`, { cause: err });
  }
}

/**
 * Non-private packages under packages/*, or the ones named on the command line plus the workspace
 * packages they depend on (they must come from tarballs too, never from the registry).
 */
function findPackages() {
  const dir = join(root, 'packages');
  const all = [];
  for (const name of readdirSync(dir).sort()) {
    const manifest = join(dir, name, 'package.json');
    if (!existsSync(manifest)) continue;
    const pkg = JSON.parse(readFileSync(manifest, 'utf8'));
    if (!pkg.private) all.push({ dir: join(dir, name), pkg });
  }
  if (only.length === 0) return all;
  const byName = new Map(all.map((p) => [p.pkg.name, p]));
  const wanted = new Set();
  const add = (name) => {
    const p = byName.get(name);
    if (!p) throw new Error(`no publishable package named ${name} in packages/*`);
    if (wanted.has(name)) return;
    wanted.add(name);
    for (const deps of [p.pkg.dependencies, p.pkg.peerDependencies]) {
      for (const [dep, spec] of Object.entries(deps ?? {})) if (String(spec).startsWith('workspace:')) add(dep);
    }
  };
  for (const name of only) add(name);
  return all.filter((p) => wanted.has(p.pkg.name));
}

/** True when an exports target can be require()d: it is a plain path or has a require/default/node condition. */
function requirable(target) {
  if (typeof target === 'string') return true;
  if (Array.isArray(target)) return target.some(requirable);
  if (!target || typeof target !== 'object') return false;
  return Object.entries(target).some(([cond, t]) => ['require', 'default', 'node'].includes(cond) && requirable(t));
}

/**
 * Subpath specifiers a consumer can load: '@ipc/x', '@ipc/x/testing', ... (not ./package.json or
 * patterns). For `kind` 'cjs', subpaths published ESM-only (no require/default condition) are left out.
 */
function entryPoints(pkg, kind = 'esm') {
  const { exports } = pkg;
  if (exports === undefined || typeof exports === 'string' || Array.isArray(exports)) return [pkg.name];
  const keys = Object.keys(exports);
  if (!keys.some((k) => k.startsWith('.'))) return kind === 'cjs' && !requirable(exports) ? [] : [pkg.name];
  return keys
    .filter((k) => k !== './package.json' && !k.includes('*') && !k.endsWith('.json'))
    .filter((k) => kind !== 'cjs' || requirable(exports[k]))
    .map((k) => (k === '.' ? pkg.name : `${pkg.name}/${k.slice(2)}`));
}

/** Optional peer dependencies: a subpath that needs one (e.g. vitest for /testing) may fail to load without it. */
function optionalPeers(pkg) {
  const meta = pkg.peerDependenciesMeta ?? {};
  return Object.keys(pkg.peerDependencies ?? {}).filter((p) => meta[p]?.optional);
}

/** Every file the exports map (and main/module/types) points at, relative to the package dir. */
function exportTargets(pkg) {
  const targets = new Set();
  const walk = (node) => {
    if (typeof node === 'string') {
      if (node.startsWith('./') && !node.includes('*')) targets.add(node);
    } else if (node && typeof node === 'object') {
      for (const v of Object.values(node)) walk(v);
    }
  };
  walk(pkg.exports);
  for (const field of ['main', 'module', 'types']) if (typeof pkg[field] === 'string') targets.add(pkg[field].startsWith('./') ? pkg[field] : `./${pkg[field]}`);
  return [...targets];
}

function consumerSource(kind, packages) {
  const checks = packages.map(({ pkg }) => ({
    name: pkg.name,
    entries: entryPoints(pkg, kind),
    expected: expectedExports[pkg.name] ?? [],
  }));
  const load = kind === 'esm' ? 'await import(spec)' : 'require(spec)';
  const header = kind === 'esm' ? '' : "'use strict';\n";
  const body = `${header}
const checks = ${JSON.stringify(checks, null, 2)};
const results = {};
let failed = 0;
${kind === 'esm' ? '' : '(async () => {'}
for (const check of checks) {
  for (const spec of check.entries) {
    let mod;
    try {
      mod = ${load};
    } catch (err) {
      console.error('  ${kind}: ' + spec + ': cannot be loaded: ' + (err && err.message || err));
      failed++;
      continue;
    }
    const keys = Object.keys(mod).filter((k) => k !== 'default' && k !== '__esModule' && k !== 'module.exports').sort();
    const problems = [];
    if (keys.length === 0) problems.push('exports nothing');
    for (const name of spec === check.name ? check.expected : []) {
      if (mod[name] === undefined) problems.push('missing export ' + name);
    }
    for (const k of keys) if (mod[k] === undefined) problems.push('export ' + k + ' is undefined');
    if (problems.length) {
      console.error('  ${kind}: ' + spec + ': ' + problems.join(', '));
      failed++;
    } else {
      console.log('  ${kind}: ' + spec + ': ok (' + keys.length + ' exports)');
    }
    results[spec] = keys;
  }
}
${
  kind === 'esm'
    ? `// The dual-package hazard: an error made by the CJS copy must be recognised by the ESM copy.
if (results['@ipc/core']) {
  const { createRequire } = await import('node:module');
  const cjs = createRequire(import.meta.url)('@ipc/core');
  const esm = await import('@ipc/core');
  const err = new cjs.IpcError('ERR_IPC_CLOSED', 'from the CJS copy');
  if (!esm.IpcError.is(err, 'ERR_IPC_CLOSED') || !(err instanceof esm.IpcError)) {
    console.error('  esm: IpcError.is does not recognise an error from the CJS build');
    failed++;
  } else {
    console.log('  esm: IpcError from the CJS build is recognised by the ESM build: ok');
  }
}`
    : ''
}
const { writeFileSync } = ${kind === 'esm' ? "await import('node:fs')" : "require('node:fs')"};
writeFileSync(${JSON.stringify(`exports-${kind}.json`)}, JSON.stringify(results));
if (failed) process.exitCode = 1;
${kind === 'esm' ? '' : '})().catch((err) => { console.error(err); process.exitCode = 1; });'}
`;
  return body;
}

async function main() {
  const packages = findPackages();
  if (packages.length === 0) throw new Error('no publishable packages found in packages/*');
  console.log(`check-pack: ${packages.map((p) => p.pkg.name).join(', ')}`);

  if (!noBuild) {
    console.log('check-pack: building (turbo, cached)...');
    const filters = packages.flatMap((p) => ['--filter', `${p.pkg.name}...`]);
    run('pnpm', ['exec', 'turbo', 'run', 'build', ...filters, '--output-logs=errors-only'], { cwd: root, env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1' } });
  }

  const tmp = mkdtempSync(join(tmpdir(), 'ipc-check-pack-'));
  const cleanup = () => {
    if (keep) console.log(`check-pack: kept ${tmp}`);
    else rmSync(tmp, { recursive: true, force: true });
  };
  process.once('SIGINT', () => {
    cleanup();
    process.exit(130);
  });
  process.once('SIGTERM', () => {
    cleanup();
    process.exit(143);
  });
  try {
    const tarballs = join(tmp, 'tarballs');
    mkdirSync(tarballs);
    const deps = {};
    for (const { dir, pkg } of packages) {
      const missing = exportTargets(pkg).filter((t) => !existsSync(join(dir, t)));
      if (missing.length) {
        throw new Error(`${pkg.name}: ${missing.join(', ')} missing in ${dir}: its exports point at files that are not built${noBuild ? ' (drop --no-build)' : ''}`);
      }
      const before = new Set(readdirSync(tarballs));
      run('pnpm', ['pack', '--pack-destination', tarballs], { cwd: dir });
      const made = readdirSync(tarballs).filter((f) => !before.has(f) && f.endsWith('.tgz'));
      if (made.length !== 1) throw new Error(`pnpm pack in ${dir} made ${made.length} tarballs`);
      deps[pkg.name] = `file:${join(tarballs, made[0])}`;
      console.log(`check-pack: packed ${pkg.name} -> ${made[0]}`);
    }

    // A blank project outside the workspace (no pnpm, no workspace node_modules above it).
    const consumer = join(tmp, 'consumer');
    mkdirSync(consumer);
    // Optional peers (vitest for @ipc/core/testing) are installed too, at the version the workspace
    // pins, so that the subpaths needing them are loaded like a user who has them would.
    const rootPkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    const peers = {};
    for (const { pkg } of packages) {
      for (const peer of optionalPeers(pkg)) {
        if (deps[peer]) continue;
        peers[peer] = pkg.devDependencies?.[peer] ?? rootPkg.devDependencies?.[peer] ?? pkg.peerDependencies[peer];
      }
    }
    writeFileSync(
      join(consumer, 'package.json'),
      JSON.stringify({ name: 'ipc-pack-consumer', version: '1.0.0', private: true, dependencies: { ...peers, ...deps }, overrides: deps }, null, 2),
    );
    // Our packages depend on each other by version: the overrides above make npm take them from the
    // tarballs, never from the registry. Third-party dependencies come from the registry (or cache).
    const env = { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' };
    for (const key of Object.keys(env)) {
      // pnpm exports its own npm_config_* settings (workspace dir, store...): a user's npm has none.
      if (key.startsWith('npm_config_') && !['npm_config_update_notifier', 'npm_config_fund', 'npm_config_audit', 'npm_config_cache', 'npm_config_registry'].includes(key)) delete env[key];
      if (key.startsWith('PNPM_') || key === 'npm_package_json' || key.startsWith('npm_lifecycle') || key.startsWith('npm_package_')) delete env[key];
    }
    // A native addon is compiled by npm's bundled node-gyp; point it at this node's own headers when
    // they are installed (they are in the official tarballs), so no header download is needed.
    const headers = join(dirname(dirname(process.execPath)), 'include', 'node', 'node.h');
    if (!env.npm_config_nodedir && existsSync(headers)) env.npm_config_nodedir = dirname(dirname(process.execPath));
    console.log('check-pack: npm install of the tarballs into a blank project...');
    const t0 = Date.now();
    run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: consumer, env });
    console.log(`check-pack: installed in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

    writeFileSync(join(consumer, 'consumer.mjs'), consumerSource('esm', packages));
    writeFileSync(join(consumer, 'consumer.cjs'), consumerSource('cjs', packages));
    const plainEnv = { PATH: process.env.PATH, HOME: process.env.HOME, TMPDIR: process.env.TMPDIR ?? tmpdir() };
    let ok = true;
    for (const file of ['consumer.mjs', 'consumer.cjs']) {
      try {
        const out = run(process.execPath, [file], { cwd: consumer, env: plainEnv });
        process.stdout.write(out);
      } catch (err) {
        ok = false;
        console.error(err.message);
      }
    }
    if (ok) {
      // ESM and CJS must expose the same names.
      const esm = JSON.parse(readFileSync(join(consumer, 'exports-esm.json'), 'utf8'));
      const cjs = JSON.parse(readFileSync(join(consumer, 'exports-cjs.json'), 'utf8'));
      for (const spec of Object.keys(esm)) {
        if (!cjs[spec]) continue;
        const a = esm[spec].join(',');
        const b = cjs[spec].join(',');
        if (a !== b) {
          ok = false;
          const onlyEsm = esm[spec].filter((k) => !cjs[spec].includes(k));
          const onlyCjs = cjs[spec].filter((k) => !esm[spec].includes(k));
          console.error(`  ${spec}: ESM and CJS export different names (only ESM: ${onlyEsm.join(', ') || '-'}; only CJS: ${onlyCjs.join(', ') || '-'})`);
        }
      }
    }
    if (!ok) fail('a consumer could not use an installed package (see above)');
    else console.log(`check-pack: ok, ${packages.length} package(s) installed from tarballs and loaded from ESM and CJS`);
  } finally {
    cleanup();
  }
}

main().catch((err) => fail(err.message));
