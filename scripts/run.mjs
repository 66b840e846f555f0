#!/usr/bin/env node
// The README's two commands land here, on a machine with only Node and npm:
//   npm run demo   installs (pnpm via npx when missing), builds, runs the demo tour
//   npm test       installs, builds, lints, typechecks, checks the packed packages, runs every test,
//                  and ends with one line "N passed, N failed" taken from the test runners' JSON reports
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const PNPM = '10.34.9';
const env = { ...process.env, TURBO_TELEMETRY_DISABLED: '1', DO_NOT_TRACK: '1' };

function run(cmd, args, { allowFail = false } = {}) {
  console.log(`\n$ ${[cmd, ...args].join(' ')}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env });
  if (r.error) throw r.error;
  if (r.status !== 0 && !allowFail) {
    console.error(`\n✗ ${[cmd, ...args].join(' ')} exited with ${r.status ?? r.signal}`);
    process.exit(r.status || 1);
  }
  return r.status === 0;
}

function pnpmCommand() {
  const r = spawnSync('pnpm', ['--version'], { encoding: 'utf8', env });
  if (r.status === 0 && r.stdout.trim().startsWith('10.')) return ['pnpm'];
  return ['npx', '-y', `pnpm@${PNPM}`];
}

const [pnpmBin, ...pnpmPrefix] = pnpmCommand();
const pnpm = (args, opts) => run(pnpmBin, [...pnpmPrefix, ...args], opts);

function install() {
  pnpm(['install', '--frozen-lockfile']);
}

function packageDirs() {
  const dirs = [];
  for (const group of ['packages', 'apps']) {
    const base = join(root, group);
    if (!existsSync(base)) continue;
    for (const name of readdirSync(base)) {
      if (existsSync(join(base, name, 'package.json'))) dirs.push(join(base, name));
    }
  }
  return dirs;
}

function totals() {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  const missing = [];
  for (const dir of packageDirs()) {
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    if (!pkg.scripts?.test) continue;
    const report = join(dir, 'test-results', 'vitest.json');
    if (!existsSync(report)) {
      missing.push(pkg.name);
      continue;
    }
    const r = JSON.parse(readFileSync(report, 'utf8'));
    passed += r.numPassedTests ?? 0;
    failed += r.numFailedTests ?? 0;
    skipped += (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
    // A test file that failed before running any test (an import error) counts as one failure.
    for (const file of r.testResults ?? []) {
      const broke = file.status === 'failed' && !(file.assertionResults ?? []).some((a) => a.status === 'failed');
      if (broke) failed += 1;
    }
  }
  return { passed, failed, skipped, missing };
}

const command = process.argv[2] ?? 'test';
const rest = process.argv.slice(3);

if (command === 'demo') {
  install();
  pnpm(['turbo', 'run', 'build', '--filter=@ipc/demo...', '--output-logs=errors-only']);
  const ok = run(process.execPath, [join(root, 'apps/demo/dist/cli.js'), ...(rest.length ? rest : ['tour'])], { allowFail: true });
  process.exit(ok ? 0 : 1);
} else if (command === 'test') {
  install();
  pnpm(['turbo', 'run', 'build', 'lint', 'typecheck', '--output-logs=errors-only']);
  run(process.execPath, [join(root, 'scripts/lint-package.mjs')]);
  run(process.execPath, [join(root, 'scripts/check-pack.mjs')]);
  for (const dir of packageDirs()) rmSync(join(dir, 'test-results'), { recursive: true, force: true });
  // One package at a time: the suites start real processes and this machine has two cores.
  const ok = pnpm(['turbo', 'run', 'test', '--concurrency=1', '--continue', '--force'], { allowFail: true });
  const t = totals();
  if (t.missing.length) console.error(`no test report from: ${t.missing.join(', ')}`);
  console.log(`\n${t.passed} passed, ${t.failed} failed${t.skipped ? `, ${t.skipped} skipped` : ''}`);
  process.exit(ok && t.failed === 0 && t.missing.length === 0 && t.passed > 0 ? 0 : 1);
} else {
  console.error(`usage: node scripts/run.mjs demo|test [args]`);
  process.exit(2);
}
