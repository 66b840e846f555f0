// Bench peer for the hand-written framed socket baseline (bench/baselines.mjs rawSocketPeer):
// listens on a Unix socket, TCP or TLS, plays a sink or an echo on every connection, and reports
// its address over the fork channel. argv: <unix|tcp|tls> <sink|echo> <path>; env KEY, CERT (TLS).
import net from 'node:net';
import tls from 'node:tls';
import { serveFramed } from '../baselines.mjs';

const [transport, role, path] = process.argv.slice(2);
const onSocket = (socket) => {
  if (transport !== 'unix') socket.setNoDelay(true);
  serveFramed(socket, role);
  socket.on('error', () => {});
};
const server = transport === 'tls'
  ? tls.createServer({ key: process.env.KEY, cert: process.env.CERT }, onSocket)
  : net.createServer(onSocket);
server.listen(transport === 'unix' ? path : { host: '127.0.0.1', port: 0 }, () => {
  const a = server.address();
  process.send({ address: typeof a === 'string' ? a : { host: '127.0.0.1', port: a.port } });
});
process.on('disconnect', () => process.exit(0));
