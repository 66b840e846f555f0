#!/usr/bin/env node
// Gathers bench/results/*.json (written by bench/lib.mjs runBench) into bench/results/README.md, one
// table per package, and prints it. Run by `pnpm bench` after every package's bench.

import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { formatNumber } from '../bench/lib.mjs';

const dir = fileURLToPath(new URL('../bench/results/', import.meta.url));
const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')).sort() : [];
if (files.length === 0) {
  console.error(`bench-report: no results in ${dir}; run \`pnpm bench\` first`);
  process.exit(1);
}

const results = [];
for (const f of files) {
  try {
    const r = JSON.parse(readFileSync(dir + f, 'utf8'));
    if (typeof r.package !== 'string' || !Array.isArray(r.rows)) throw new Error('not a runBench result');
    results.push(r);
  } catch (err) {
    console.error(`bench-report: skipping ${f}: ${err.message}`);
  }
}
// core first, then by name
results.sort((a, b) => (a.package === '@ipc/core' ? -1 : b.package === '@ipc/core' ? 1 : a.package.localeCompare(b.package)));

const out = [
  '# Benchmark results',
  '',
  'Written by `scripts/bench-report.mjs` from `bench/results/*.json` (`pnpm bench`). Medians of several',
  'interleaved runs on a small shared machine: absolute numbers move by up to 2x between runs, so read',
  'the ratio to the baseline measured in the same run. **A ratio > 1 means better than the baseline**',
  '(faster, or lower latency for `us` rows).',
  '',
];
for (const r of results) {
  const note = [`${r.runs} run${r.runs === 1 ? '' : 's'}`, r.node && `node ${r.node}`, r.cpus && `${r.cpus} CPUs`, r.date && r.date.slice(0, 16).replace('T', ' ') + ' UTC'];
  if (r.quick) note.push('**quick smoke run, not representative**');
  out.push(`## ${r.package}`, '', `_${note.filter(Boolean).join(', ')}_`, '');
  out.push('| case | median | unit | baseline | ratio |', '|---|---:|---|---|---:|');
  for (const row of r.rows) {
    const better = row.higherIsBetter === false ? ' (lower is better)' : '';
    const ratio = row.ratio == null ? '' : `${row.ratio.toFixed(2)}x`;
    out.push(`| ${row.name} | ${formatNumber(row.median)} | ${row.unit}${better} | ${row.baseline ?? ''} | ${ratio} |`);
  }
  out.push('');
}
const text = out.join('\n');
writeFileSync(dir + 'README.md', text);
console.log(text);
