// Bench peer for @ipc/socket: listens with our Listener ("ours") or a hand-written framed net/tls
// server ("raw") on unix/tcp/tls, and runs a sink or an echo on every connection. Reports its
// address over the fork channel. argv: <ours|raw> <unix|tcp|tls> <sink|echo> <path> ; env KEY, CERT.
import net from 'node:net';
import tls from 'node:tls';
import { Listener } from '@ipc/socket';

const [kind, transport, role, path] = process.argv.slice(2);
const tlsOptions = transport === 'tls' ? { key: process.env.KEY, cert: process.env.CERT } : undefined;
const address = transport === 'unix' ? path : { host: '127.0.0.1', port: 0 };

if (kind === 'ours') {
  const listener = await Listener.listen(address, { authkey: 'bench', tls: tlsOptions, codec: 'bytes' });
  process.send({ address: listener.address });
  process.on('disconnect', () => process.exit(0));
  for await (const conn of listener) {
    void (async () => {
      let n = 0;
      for (;;) {
        let b;
        try {
          b = await conn.recvBytes();
        } catch {
          break;
        }
        if (role === 'echo') await conn.sendBytes(b);
        else if (b.byteLength === 0) {
          const r = Buffer.alloc(4);
          r.writeUInt32BE(n);
          n = 0;
          await conn.sendBytes(r);
        } else n++;
      }
      await conn.close();
    })();
  }
} else {
  const onSocket = (socket) => {
    if (transport !== 'unix') socket.setNoDelay(true);
    let buf = Buffer.alloc(0);
    let n = 0;
    socket.on('data', (chunk) => {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      let off = 0;
      while (buf.length - off >= 4) {
        const len = buf.readUInt32BE(off);
        if (buf.length - off < 4 + len) break;
        const frame = buf.subarray(off, off + 4 + len);
        off += 4 + len;
        if (role === 'echo') socket.write(frame);
        else if (len === 0) {
          const r = Buffer.alloc(8);
          r.writeUInt32BE(4, 0);
          r.writeUInt32BE(n, 4);
          n = 0;
          socket.write(r);
        } else n++;
      }
      buf = buf.subarray(off);
    });
    socket.on('error', () => {});
  };
  const server = tlsOptions ? tls.createServer(tlsOptions, onSocket) : net.createServer(onSocket);
  server.listen(address, () => {
    const a = server.address();
    process.send({ address: typeof a === 'string' ? a : { host: '127.0.0.1', port: a.port } });
  });
  process.on('disconnect', () => process.exit(0));
}
