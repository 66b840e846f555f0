// @ipc/pipe benchmarks: one-way throughput and round trip for 64 B, 4 KiB and 1 MiB messages
// between two processes, for a Pipe end against the baselines a user would otherwise pick: a
// hand-written length-framed net socket (the baseline of every ratio), process.send on the fork
// channel (serialization 'advanced', Buffers), and Python's multiprocessing Pipe (send_bytes); and
// a Pipe end with `spin: 0` (no spinning before a receive parks), to show what the default spin buys.
// The baselines and the measurements are shared with other packages: bench/baselines.mjs.
// Runs the built dist: turbo builds before `pnpm bench`.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Process } from '@ipc/core';
import { Pipe } from '@ipc/pipe';
import { forkPeer, messageCases, peerContender, pythonPipeContender, rawSocketPeer, warm } from '../../../bench/baselines.mjs';
import { python3Available, runBench, scale } from '../../../bench/lib.mjs';

const SIZES = [
  { label: '64 B', size: 64, count: scale(100_000), rt: scale(4000) },
  { label: '4 KiB', size: 4096, count: scale(30_000), rt: scale(3000) },
  { label: '1 MiB', size: 1 << 20, count: scale(300, 20), rt: scale(200, 20) },
];

const dir = mkdtempSync(join(tmpdir(), 'ipc-pipe-bench-'));
const stops = [];
/** Remembers how to stop a peer (and the child behind it) once the bench is done. */
const track = (peer, stop = () => peer.close()) => (stops.push(stop), peer);

/** A Pipe end whose other end was passed to a child playing `role`. */
async function pipePeer(role, options) {
  const [mine, theirs] = await Pipe(options);
  const p = new Process(new URL('./pipe-child.mjs', import.meta.url), { args: [theirs, role] }).start();
  return track(mine, async () => {
    await mine.close();
    await p.join({ timeout: 5000 }).catch(() => p.kill());
  });
}

try {
  const contenders = [
    // Every Node peer is warmed first (as in the socket bench): no contender's first run is a cold start.
    peerContender('raw net framed', ...(await warm(track(await rawSocketPeer('unix', 'sink', { dir })), track(await rawSocketPeer('unix', 'echo', { dir }))))),
    peerContender('pipe', ...(await warm(await pipePeer('sink'), await pipePeer('echo')))),
    // The same without spinning before a receive parks (the default spins up to 64 us).
    peerContender('pipe spin 0', ...(await warm(await pipePeer('sink', { spin: 0 }), await pipePeer('echo', { spin: 0 })))),
    peerContender('process.send', ...(await warm(track(await forkPeer('sink')), track(await forkPeer('echo'))))),
  ];
  if (python3Available()) contenders.push(pythonPipeContender);
  await runBench({ package: '@ipc/pipe', runs: 5, cases: SIZES.flatMap((s) => messageCases(s, contenders)) });
} finally {
  for (const stop of stops) await stop();
  rmSync(dir, { recursive: true, force: true });
}
