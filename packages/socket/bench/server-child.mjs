// Bench peer for @ipc/socket: listens with our Listener on unix/tcp/tls, plays a sink or an echo
// (the protocol of bench/baselines.mjs) on every connection, and reports its address over the fork
// channel. argv: <unix|tcp|tls> <sink|echo> <path>; env KEY, CERT (TLS). The hand-written socket
// it is compared with is bench/children/framed-server.mjs.
import { Listener } from '@ipc/socket';
import { serveConnection } from '../../../bench/baselines.mjs';

const [transport, role, path] = process.argv.slice(2);
const tls = transport === 'tls' ? { key: process.env.KEY, cert: process.env.CERT } : undefined;
const address = transport === 'unix' ? path : { host: '127.0.0.1', port: 0 };
const listener = await Listener.listen(address, { authkey: 'bench', tls, codec: 'bytes' });
process.send({ address: listener.address });
process.on('disconnect', () => process.exit(0));
for await (const conn of listener) void serveConnection(conn, role);
