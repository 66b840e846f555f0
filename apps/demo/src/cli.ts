#!/usr/bin/env node
import { Command } from 'commander';
import { childUrl } from './lib/section.js';
import { sections } from './sections/index.js';

async function runSections(names: string[]): Promise<void> {
  const chosen = names.length === 0 ? sections : names.map((n) => {
    const s = sections.find((x) => x.name === n);
    if (!s) throw new Error(`unknown section '${n}'; known: ${sections.map((x) => x.name).join(', ')}`);
    return s;
  });
  for (const s of chosen) {
    console.log(`\n== ${s.name}: ${s.title}`);
    const started = performance.now();
    await s.run({ say: (line) => console.log(`  ${line}`), child: childUrl });
    console.log(`  (${Math.round(performance.now() - started)} ms)`);
  }
}

const program = new Command()
  .name('ipc-demo')
  .description('A tour of the @ipc toolkit: each mechanism shown in real processes.')
  .showHelpAfterError();

program
  .command('tour', { isDefault: true })
  .description('run every section, or the ones named')
  .argument('[sections...]', `sections to run: ${sections.map((s) => s.name).join(', ')}`)
  .action(async (names: string[]) => runSections(names));

program
  .command('list')
  .description('list the sections')
  .action(() => {
    for (const s of sections) console.log(`${s.name.padEnd(10)} ${s.title}`);
  });

program.parseAsync().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
