// Bench peer for the process.send baseline (bench/baselines.mjs forkPeer): plays a sink or an echo
// over the fork channel. argv: <sink|echo>. The count goes back as 4 big-endian bytes, like every
// other sink's.
const role = process.argv[2];
let n = 0;
process.on('message', (m) => {
  if (role === 'echo') process.send(m);
  else if (m.length === 0) {
    const r = Buffer.alloc(4);
    r.writeUInt32BE(n);
    n = 0;
    process.send(r);
  } else n++;
});
process.on('disconnect', () => process.exit(0));
