// Bench peer for @ipc/pipe: started by Process with a pipe end and a role ('sink' or 'echo', the
// protocol of bench/baselines.mjs).
import '@ipc/pipe';
import { serveConnection } from '../../../bench/baselines.mjs';

export async function main(conn, role) {
  await serveConnection(conn, role);
  return 0;
}
