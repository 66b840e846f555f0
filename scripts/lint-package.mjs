#!/usr/bin/env node
// `pnpm lint:package`: lints what we publish, i.e. the packed tarball of every non-private package in
// packages/* (pnpm pack, so workspace:^ is rewritten and only `files` ship), with
//   - publint --strict (package.json fields, exports, files; warnings count as errors), and
//   - @arethetypeswrong/cli --profile node16 (types resolve for each entry point, ESM and CJS alike).
//
// Why --profile node16: our packages are ESM-first with dual `exports` (import/require, each with its
// own .d.ts/.d.cts) and need Node >= 20. attw's default "strict" profile also checks TypeScript's
// legacy `moduleResolution: node10`, which ignores `exports` and so can never resolve a subpath such
// as `@ipc/core/testing`. node16/nodenext and bundler resolution (what every TS user on Node 20
// should use) are all still checked, from both ESM and CJS.
// A subpath published ESM-only (an exports entry with no require/default condition, e.g. a vitest kit,
// since vitest cannot be require()d) is checked with --profile esm-only instead.
//
// Usage: node scripts/lint-package.mjs [--no-build] [@ipc/name ...]

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const noBuild = args.includes('--no-build');
const only = args.filter((a) => !a.startsWith('--'));
const bin = (name) => join(root, 'node_modules', '.bin', name);

function run(cmd, cmdArgs, options = {}) {
  try {
    return { ok: true, out: execFileSync(cmd, cmdArgs, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024, ...options }) };
  } catch (err) {
    return { ok: false, out: `${err.stdout ?? ''}${err.stderr ?? ''}`.trim() || String(err.message) };
  }
}

/** True when an exports target can be require()d: a plain path or a require/default/node condition. */
function requirable(target) {
  if (typeof target === 'string') return true;
  if (Array.isArray(target)) return target.some(requirable);
  if (!target || typeof target !== 'object') return false;
  return Object.entries(target).some(([cond, t]) => ['require', 'default', 'node'].includes(cond) && requirable(t));
}

/** Subpaths ('./testing') whose exports entry is ESM-only. */
function esmOnlySubpaths(pkg) {
  const { exports } = pkg;
  if (!exports || typeof exports !== 'object' || Array.isArray(exports)) return [];
  if (!Object.keys(exports).some((k) => k.startsWith('.'))) return [];
  return Object.keys(exports).filter((k) => !k.includes('*') && !requirable(exports[k]));
}

function findPackages() {
  const dir = join(root, 'packages');
  const found = [];
  for (const name of readdirSync(dir).sort()) {
    const manifest = join(dir, name, 'package.json');
    if (!existsSync(manifest)) continue;
    const pkg = JSON.parse(readFileSync(manifest, 'utf8'));
    if (pkg.private) continue;
    if (only.length && !only.includes(pkg.name)) continue;
    found.push({ dir: join(dir, name), pkg });
  }
  for (const name of only) {
    if (!found.some((p) => p.pkg.name === name)) throw new Error(`no publishable package named ${name} in packages/*`);
  }
  return found;
}

function main() {
  const packages = findPackages();
  if (packages.length === 0) throw new Error('no publishable packages found in packages/*');
  const env = { ...process.env, TURBO_TELEMETRY_DISABLED: '1', FORCE_COLOR: '0', NO_COLOR: '1' };
  if (!noBuild) {
    console.log('lint:package: building (turbo, cached)...');
    const filters = packages.flatMap((p) => ['--filter', `${p.pkg.name}...`]);
    const built = run('pnpm', ['exec', 'turbo', 'run', 'build', ...filters, '--output-logs=errors-only'], { cwd: root, env });
    if (!built.ok) {
      console.error(built.out);
      throw new Error('the build failed');
    }
  }

  const tmp = mkdtempSync(join(tmpdir(), 'ipc-lint-package-'));
  const failures = [];
  try {
    for (const { dir, pkg } of packages) {
      const dest = join(tmp, pkg.name.replace(/^@/, '').replace('/', '-'));
      mkdirSync(dest);
      const packed = run('pnpm', ['pack', '--pack-destination', dest], { cwd: dir, env });
      const tarball = readdirSync(dest).find((f) => f.endsWith('.tgz'));
      if (!packed.ok || !tarball) {
        failures.push(`${pkg.name}: pnpm pack failed`);
        console.error(`\n## ${pkg.name}: pnpm pack failed\n${packed.out}`);
        continue;
      }
      const file = join(dest, tarball);

      const publint = run(bin('publint'), ['run', '--strict', file], { cwd: dest, env });
      console.log(`\n## ${pkg.name}: publint ${publint.ok ? 'ok' : 'FAILED'}`);
      if (!publint.ok || /warning|error/i.test(publint.out)) console.log(publint.out);
      if (!publint.ok) failures.push(`${pkg.name}: publint`);

      const esmOnly = esmOnlySubpaths(pkg);
      const attwRuns = [['node16', esmOnly.length ? ['--exclude-entrypoints', ...esmOnly] : []]];
      if (esmOnly.length) attwRuns.push(['esm-only', ['--entrypoints', ...esmOnly]]);
      for (const [profile, extra] of attwRuns) {
        const attw = run(bin('attw'), [file, '--profile', profile, ...extra, '--no-color', '--no-emoji', '--format', 'table'], { cwd: dest, env });
        const what = `attw --profile ${profile}${extra.length ? ` ${extra.join(' ')}` : ''}`;
        console.log(`## ${pkg.name}: ${what} ${attw.ok ? 'ok' : 'FAILED'}`);
        if (!attw.ok) {
          console.log(attw.out);
          failures.push(`${pkg.name}: ${what}`);
        }
      }
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  if (failures.length) {
    console.error(`\nlint:package: FAILED: ${failures.join('; ')}`);
    process.exitCode = 1;
  } else {
    console.log(`\nlint:package: ok, ${packages.length} package(s): publint --strict and attw are clean`);
  }
}

try {
  main();
} catch (err) {
  console.error(`lint:package: FAILED: ${err.message}`);
  process.exitCode = 1;
}
