// Bench peer for @ipc/pipe: started by Process with a pipe end and a role.
// sink: counts messages; an empty message asks for the count (a 4-byte reply). echo: echoes.
import '@ipc/pipe';

export async function main(conn, role) {
  let n = 0;
  for (;;) {
    let b;
    try {
      b = await conn.recvBytes();
    } catch {
      break;
    }
    if (role === 'echo') {
      await conn.sendBytes(b);
    } else if (b.byteLength === 0) {
      const r = Buffer.alloc(4);
      r.writeUInt32BE(n);
      n = 0;
      await conn.sendBytes(r);
    } else {
      n++;
    }
  }
  await conn.close();
  return 0;
}
