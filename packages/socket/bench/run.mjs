// @ipc/socket benchmarks: one-way throughput and round trip for 64 B, 4 KiB and 1 MiB messages
// from this process to a listener in a child, over a Unix socket, TCP and TLS, for our
// Listener/connect (with an authkey handshake at connect) against a hand-written length-framed
// net/tls socket on the same transport (the baseline of each ratio, from bench/baselines.mjs).
// Runs the built dist: turbo builds before `pnpm bench`.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@ipc/socket';
import { forkServer, messageCases, peerContender, rawSocketPeer, warm } from '../../../bench/baselines.mjs';
import { runBench, scale } from '../../../bench/lib.mjs';

// Round trips of small messages last ~25 us: 10 000 of them (a quarter second) per measurement, so
// one scheduler hiccup or GC pause on this shared 2-core machine does not decide a run.
const SIZES = [
  { label: '64 B', size: 64, count: scale(100_000), rt: scale(10_000) },
  { label: '4 KiB', size: 4096, count: scale(30_000), rt: scale(5000) },
  { label: '1 MiB', size: 1 << 20, count: scale(200, 20), rt: scale(100, 10) },
];
const dir = mkdtempSync(join(tmpdir(), 'ipc-socket-bench-'));
execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
  '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=localhost',
  '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore' });
const key = readFileSync(join(dir, 'key.pem'), 'utf8');
const cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
const stops = [];
/** Remembers how to stop a peer (and the child behind it) once the bench is done. */
const track = (peer, stop = () => peer.close()) => (stops.push(stop), peer);

/** A client of our Listener in a child (server-child.mjs) playing `role`. */
async function ours(transport, role) {
  const server = await forkServer(new URL('./server-child.mjs', import.meta.url), [transport, role, join(dir, `ours-${transport}-${role}.sock`)], { KEY: key, CERT: cert });
  const c = await connect(server.address, { authkey: 'bench', codec: 'bytes', tls: transport === 'tls' ? { ca: cert } : undefined });
  return track(c, async () => {
    await c.close();
    await server.stop();
  });
}

try {
  const cases = [];
  for (const transport of ['unix', 'tcp', 'tls']) {
    const raw = (role) => rawSocketPeer(transport, role, { dir, key, cert });
    const contenders = [
      peerContender(`raw ${transport}`, ...(await warm(track(await raw('sink')), track(await raw('echo'))))),
      peerContender(`socket ${transport}`, ...(await warm(await ours(transport, 'sink'), await ours(transport, 'echo')))),
    ];
    for (const s of SIZES) cases.push(...messageCases(s, contenders));
  }
  await runBench({ package: '@ipc/socket', runs: 7, cases });
} finally {
  for (const stop of stops) await stop();
  rmSync(dir, { recursive: true, force: true });
}
