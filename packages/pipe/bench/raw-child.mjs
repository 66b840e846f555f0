// Bench peer for the baselines: a hand-written framed net socket (argv: net <role> <path>) or the
// fork channel with process.send (argv: fork <role>). Same sink/echo protocol as pipe-child.mjs.
import net from 'node:net';

const [kind, role, path] = process.argv.slice(2);

if (kind === 'net') {
  const socket = net.connect(path);
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
  socket.on('error', () => process.exit(0));
  socket.on('close', () => process.exit(0));
} else {
  let n = 0;
  process.on('message', (m) => {
    if (role === 'echo') process.send(m);
    else if (m.length === 0) {
      process.send(n);
      n = 0;
    } else n++;
  });
  process.on('disconnect', () => process.exit(0));
}
