// The shared benchmark harness. Every package's bench/run.mjs calls runBench() with its cases; the
// harness runs them interleaved, takes medians, compares each case to its baseline measured in the
// same run, writes bench/results/<package>.json and prints a Markdown table.
//
// Env: BENCH_RUNS=<n> overrides the number of runs; BENCH_QUICK=1 is a smoke run (1 run unless
// BENCH_RUNS says otherwise, and `quick` / scale() tell cases to shrink their counts).

import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';

/** True for a fast smoke run (BENCH_QUICK=1): cases should shrink their counts, e.g. with scale(). */
export const quick = process.env.BENCH_QUICK === '1' || process.env.BENCH_QUICK === 'true';

/** The folder results are written to: <repo>/bench/results. */
export const resultsDir = fileURLToPath(new URL('./results/', import.meta.url));

/**
 * An iteration count scaled for the run: `n` normally, `n / 10` (at least `min`) when quick.
 * @param {number} n
 * @param {number} [min]
 */
export function scale(n, min = 1) {
  return quick ? Math.max(min, Math.floor(n / 10)) : n;
}

/**
 * The median of some numbers (the mean of the two middle ones for an even count).
 * @param {number[]} values
 */
export function median(values) {
  if (values.length === 0) throw new RangeError('median of no values');
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/**
 * The p-th percentile (p in 0..100) with linear interpolation between closest ranks.
 * @param {number[]} values
 * @param {number} p
 */
export function percentile(values, p) {
  if (values.length === 0) throw new RangeError('percentile of no values');
  if (typeof p !== 'number' || !(p >= 0 && p <= 100)) throw new RangeError(`p must be between 0 and 100, got ${p}`);
  const s = [...values].sort((a, b) => a - b);
  const rank = (p / 100) * (s.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return s[lo] + (s[hi] - s[lo]) * (rank - lo);
}

/**
 * Milliseconds `fn` takes (awaited).
 * @param {() => unknown} fn
 */
export async function timeIt(fn) {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

/**
 * Calls `fn(i)` `count` times one after another (awaiting it when it returns a promise) and returns
 * operations per second, or MB/s (10^6 bytes) when `bytesPerOp` is given.
 * @param {(i: number) => unknown} fn
 * @param {{ count: number, bytesPerOp?: number }} options
 */
export async function measureThroughput(fn, { count, bytesPerOp } = {}) {
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`count must be a positive integer, got ${count}`);
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    const r = fn(i);
    if (r !== null && typeof r === 'object' && typeof r.then === 'function') await r;
  }
  const seconds = (performance.now() - t0) / 1000;
  const opsPerSec = count / seconds;
  return bytesPerOp === undefined ? opsPerSec : (opsPerSec * bytesPerOp) / 1e6;
}

const pythonBin = process.env.PYTHON || 'python3';
let pythonChecked;

/** True when a Python 3 interpreter (`$PYTHON` or `python3`) runs here. Cached. */
export function python3Available() {
  if (pythonChecked === undefined) {
    const r = spawnSync(pythonBin, ['-c', 'import sys; print(sys.version_info[0])'], { encoding: 'utf8', timeout: 10_000 });
    pythonChecked = r.status === 0 && r.stdout.trim() === '3';
  }
  return pythonChecked;
}

/**
 * Runs Python code (`python3 -c code args...`) and returns the JSON it prints on stdout (the whole
 * output, or else its last non-empty line). Rejects on a non-zero exit (with stderr), on a timeout
 * (the interpreter is killed) and on output that is not JSON.
 * @param {string} code
 * @param {{ timeout?: number, args?: string[], env?: Record<string, string>, input?: string }} [options]
 */
export function runPython(code, { timeout = 120_000, args = [], env, input } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(pythonBin, ['-c', code, ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: env ? { ...process.env, ...env } : process.env,
    });
    let out = '';
    let err = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (d) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (err += d));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeout);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) return reject(new Error(`python timed out after ${timeout} ms\n${err}`));
      if (code !== 0) return reject(new Error(`python exited with ${code ?? signal}\n${err}`));
      const text = out.trim();
      try {
        return resolve(JSON.parse(text));
      } catch {
        const last = text.split('\n').filter((l) => l.trim()).pop();
        try {
          return resolve(JSON.parse(last ?? ''));
        } catch {
          return reject(new Error(`python printed no JSON: ${text.slice(0, 500)}`));
        }
      }
    });
    child.stdin.on('error', () => {});
    child.stdin.end(input ?? '');
  });
}

/**
 * Formats a number for a table: thousands separators from 1000 up, else three significant digits.
 * @param {number} n
 */
export function formatNumber(n) {
  if (typeof n !== 'number' || !Number.isFinite(n)) return String(n);
  if (Math.abs(n) >= 1000) return Math.round(n).toLocaleString('en-US');
  if (n === 0) return '0';
  return Number(n.toPrecision(3)).toString();
}

/**
 * A Markdown table of result rows: case, median, unit, min, max, baseline, ratio.
 * @param {Array<{ name: string, unit: string, median: number, min: number, max: number, baseline?: string | null, ratio?: number | null }>} rows
 */
export function markdownTable(rows) {
  const lines = ['| case | median | unit | min | max | baseline | vs baseline |', '|---|---:|---|---:|---:|---|---:|'];
  for (const r of rows) {
    const ratio = r.ratio == null ? '' : `${r.ratio.toFixed(2)}x`;
    lines.push(
      `| ${r.name} | ${formatNumber(r.median)} | ${r.unit} | ${formatNumber(r.min)} | ${formatNumber(r.max)} | ${r.baseline ?? ''} | ${ratio} |`,
    );
  }
  return lines.join('\n');
}

function validateCases(cases) {
  if (!Array.isArray(cases) || cases.length === 0) throw new TypeError('cases must be a non-empty array');
  const names = new Set();
  for (const c of cases) {
    if (!c || typeof c.name !== 'string' || !c.name) throw new TypeError('every case needs a name');
    if (names.has(c.name)) throw new TypeError(`duplicate case name '${c.name}'`);
    names.add(c.name);
    if (typeof c.fn !== 'function') throw new TypeError(`case '${c.name}' needs fn: async () => number`);
    if (typeof c.unit !== 'string' || !c.unit) throw new TypeError(`case '${c.name}' needs a unit`);
  }
  for (const c of cases) {
    if (c.baseline !== undefined && c.baseline !== null && !names.has(c.baseline)) {
      throw new TypeError(`case '${c.name}' names baseline '${c.baseline}', which is not a case`);
    }
  }
}

/**
 * Runs benchmark cases `runs` times, interleaved (case 1 run 1, case 2 run 1, ..., so noise hits all
 * alike), takes medians and compares each case with its baseline measured in the same run: the ratio
 * is value/baseline when higher is better and baseline/value otherwise, so > 1 always means the case
 * beats its baseline; the reported ratio is the median of the per-run ratios. Writes
 * bench/results/<package without scope>.json and prints a Markdown table.
 *
 * @param {{
 *   package: string,
 *   runs?: number,
 *   cases: Array<{ name: string, unit: string, higherIsBetter?: boolean, baseline?: string, fn: () => number | Promise<number> }>,
 *   write?: boolean,
 *   print?: boolean,
 * }} options
 * @returns {Promise<{ package: string, date: string, node: string, cpus: number, runs: number, quick: boolean, rows: object[] }>}
 */
export async function runBench({ package: pkg, runs = 5, cases, write = true, print = true }) {
  if (typeof pkg !== 'string' || !pkg) throw new TypeError('package must be the package name, e.g. @ipc/core');
  validateCases(cases);
  const envRuns = process.env.BENCH_RUNS;
  if (envRuns !== undefined && envRuns !== '') {
    runs = Number(envRuns);
  } else if (quick) {
    runs = 1;
  }
  if (!Number.isInteger(runs) || runs < 1) throw new RangeError(`runs must be a positive integer, got ${runs}`);

  const values = new Map(cases.map((c) => [c.name, []]));
  for (let run = 0; run < runs; run++) {
    for (const c of cases) {
      // With node --expose-gc, start every measurement from a collected heap.
      if (typeof globalThis.gc === 'function') globalThis.gc();
      let v;
      try {
        v = await c.fn();
      } catch (err) {
        throw new Error(`${pkg} bench case '${c.name}' failed in run ${run + 1}: ${err?.message ?? err}`, { cause: err });
      }
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
        throw new TypeError(`${pkg} bench case '${c.name}' returned ${String(v)}, not a finite number >= 0`);
      }
      values.get(c.name).push(v);
      process.stderr.write(`  ${pkg} run ${run + 1}/${runs} ${c.name}: ${formatNumber(v)} ${c.unit}\n`);
    }
  }

  const rows = cases.map((c) => {
    const vs = values.get(c.name);
    const higherIsBetter = c.higherIsBetter !== false;
    let ratio = null;
    let ratios = null;
    if (c.baseline != null) {
      const bs = values.get(c.baseline);
      ratios = vs.map((v, i) => {
        const b = bs[i];
        const r = higherIsBetter ? v / b : b / v;
        return Number.isFinite(r) ? r : null;
      });
      const finite = ratios.filter((r) => r !== null);
      ratio = finite.length ? median(finite) : null;
    }
    return {
      name: c.name,
      unit: c.unit,
      higherIsBetter,
      median: median(vs),
      min: Math.min(...vs),
      max: Math.max(...vs),
      values: vs,
      baseline: c.baseline ?? null,
      ratio,
      ratios,
    };
  });

  const result = {
    package: pkg,
    date: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    cpu: cpus()[0]?.model ?? 'unknown',
    runs,
    quick,
    rows,
  };
  if (write) {
    mkdirSync(resultsDir, { recursive: true });
    const file = `${resultsDir}${pkg.replace(/^@[^/]+\//, '')}.json`;
    writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  }
  if (print) {
    console.log(`\n### ${pkg} (median of ${runs} run${runs === 1 ? '' : 's'}${quick ? ', quick' : ''}; node ${process.version}, ${result.cpus} CPUs)\n`);
    console.log(markdownTable(rows));
    console.log('');
  }
  return result;
}
