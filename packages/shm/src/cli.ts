#!/usr/bin/env node
import { cleanSegments, listSegments, type SegmentInfo } from './lib/leftovers.js';

const USAGE = `usage: ipc-shm list [--json]
       ipc-shm clean [--all] [--even-if-mapped] [--dry-run] [--prefix=NAME] [--json]

list   shows the shared-memory segments @ipc/shm created in /dev/shm and whether their creator lives
clean  removes those whose creator is dead (crashed or killed before it could unlink them);
       never one whose creator is alive. --all also removes segments made with unlinkOnExit: false;
       --even-if-mapped also removes segments other live processes still have mapped;
       --prefix=NAME only considers names starting with NAME.`;

function row(s: SegmentInfo): string {
  const state = s.creatorAlive ? 'alive' : 'dead';
  const mapped = s.mappedBy.length ? ` mapped-by=${s.mappedBy.join(',')}` : '';
  return `${s.name}\t${s.size}\tcreator=${s.pid} (${state})${s.unlinkOnExit ? '' : ' keep'}${s.kind ? ` ${s.kind}` : ''}${mapped}`;
}

function main(argv: string[]): number {
  const [cmd, ...rest] = argv;
  const prefixArg = rest.find((a) => a.startsWith('--prefix='));
  const prefix = prefixArg?.slice('--prefix='.length);
  const flags = new Set(rest.filter((a) => a !== prefixArg));
  for (const f of flags) {
    if (!['--json', '--all', '--dry-run', '--even-if-mapped'].includes(f)) {
      process.stderr.write(`ipc-shm: unknown option ${f}\n${USAGE}\n`);
      return 2;
    }
  }
  const json = flags.has('--json');
  if (cmd === 'list') {
    const segs = listSegments();
    process.stdout.write(json ? `${JSON.stringify(segs)}\n` : segs.map(row).join('\n') + (segs.length ? '\n' : ''));
    return 0;
  }
  if (cmd === 'clean') {
    const removed = cleanSegments({ all: flags.has('--all'), dryRun: flags.has('--dry-run'), evenIfMapped: flags.has('--even-if-mapped'), prefix });
    if (json) process.stdout.write(`${JSON.stringify(removed)}\n`);
    else for (const s of removed) process.stdout.write(`${flags.has('--dry-run') ? 'would remove' : 'removed'} ${s.name}\n`);
    return 0;
  }
  process.stdout.write(`${USAGE}\n`);
  return cmd === undefined || cmd === '--help' || cmd === '-h' ? 0 : 2;
}

process.exitCode = main(process.argv.slice(2));
