// @ipc/core benchmarks: codec encode/decode throughput (small objects, 1 MiB buffers; structured vs
// JSON vs MessagePack against the JSON a user would otherwise write) and FrameDecoder throughput on
// random chunkings of 64 B and 4 KiB frames against a plain Buffer.concat parser.
// Runs the built dist: `pnpm --filter @ipc/core build` first (turbo does it for `pnpm bench`).

import { FrameDecoder, encodeFrame, jsonCodec, msgpackCodec, structuredCodec } from '@ipc/core';
import { measureThroughput, runBench, scale } from '../../../bench/lib.mjs';

// A deterministic PRNG so every run sees the same chunkings.
function mulberry32(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---- codecs ---------------------------------------------------------------------------------

// A typical small message, JSON-compatible so that every codec carries the same thing.
const small = {
  id: 48213,
  kind: 'order.created',
  price: 19.99,
  qty: 3,
  tags: ['priority', 'eu', 'retail'],
  customer: { name: 'Ada Lovelace', email: 'ada@example.com', vip: true },
  createdAt: 1_764_000_000_000,
};
const SMALL_COUNT = scale(100_000);

// The baseline a user writes without us: JSON text turned into bytes and back.
const jsonEncodeBaseline = (v) => Buffer.from(JSON.stringify(v));
const jsonDecodeBaseline = (b) => JSON.parse(Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8'));

const smallBytes = {
  baseline: jsonEncodeBaseline(small),
  json: jsonCodec.encode(small),
  structured: structuredCodec.encode(small),
  msgpack: msgpackCodec.encode(small),
};
// msgpack decodes maps as Map (codec option mapsAsObjects: false); compare the data, not the shape.
const plain = (x) =>
  x instanceof Map ? Object.fromEntries([...x].map(([k, v]) => [k, plain(v)])) : Array.isArray(x) ? x.map(plain) : x;
for (const [name, bytes] of Object.entries(smallBytes)) {
  const back = name === 'baseline' ? jsonDecodeBaseline(bytes) : { json: jsonCodec, structured: structuredCodec, msgpack: msgpackCodec }[name].decode(bytes);
  if (JSON.stringify(plain(back)) !== JSON.stringify(small)) throw new Error(`${name} codec did not round-trip the small object`);
}

// 1 MiB of binary data. Without a binary codec a user would base64 it into JSON.
const MIB = 1024 * 1024;
const big = Buffer.alloc(MIB);
{
  const rnd = mulberry32(7);
  for (let i = 0; i < MIB; i++) big[i] = (rnd() * 256) | 0;
}
const bigValue = new Uint8Array(big.buffer, big.byteOffset, big.byteLength);
const BIG_COUNT = scale(60, 3);
const bigJsonEncode = (u8) => Buffer.from(JSON.stringify({ data: Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength).toString('base64') }));
const bigJsonDecode = (b) => new Uint8Array(Buffer.from(JSON.parse(Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8')).data, 'base64'));
// Note: v8.deserialize returns typed arrays as views into its input when aligned, so "structured
// decode" of 1 MiB copies nothing and shows an unreal rate until the codec copies (core fix #3).
const bigBytes = {
  baseline: bigJsonEncode(bigValue),
  structured: structuredCodec.encode(bigValue),
  msgpack: msgpackCodec.encode(bigValue),
};
for (const [name, bytes] of Object.entries(bigBytes)) {
  const back = name === 'baseline' ? bigJsonDecode(bytes) : { structured: structuredCodec, msgpack: msgpackCodec }[name].decode(bytes);
  if (!(back instanceof Uint8Array) || Buffer.compare(Buffer.from(back.buffer, back.byteOffset, back.byteLength), big) !== 0) {
    throw new Error(`${name} codec did not round-trip 1 MiB`);
  }
}

let sink = 0; // keeps results alive so nothing is optimised away
const keep = (x) => {
  sink ^= x.byteLength ?? (typeof x === 'object' ? 1 : 0);
};

const smallCase = (name, fn, baseline) => ({
  name,
  unit: 'ops/s',
  baseline,
  fn: () => measureThroughput(() => keep(fn()), { count: SMALL_COUNT }),
});
const bigCase = (name, fn, baseline) => ({
  name,
  unit: 'MB/s',
  baseline,
  fn: () => measureThroughput(() => keep(fn()), { count: BIG_COUNT, bytesPerOp: MIB }),
});

const codecCases = [
  smallCase('small encode: JSON.stringify -> Buffer (baseline)', () => jsonEncodeBaseline(small)),
  smallCase('small encode: json codec', () => jsonCodec.encode(small), 'small encode: JSON.stringify -> Buffer (baseline)'),
  smallCase('small encode: structured codec', () => structuredCodec.encode(small), 'small encode: JSON.stringify -> Buffer (baseline)'),
  smallCase('small encode: msgpack codec', () => msgpackCodec.encode(small), 'small encode: JSON.stringify -> Buffer (baseline)'),
  smallCase('small decode: Buffer -> JSON.parse (baseline)', () => jsonDecodeBaseline(smallBytes.baseline)),
  smallCase('small decode: json codec', () => jsonCodec.decode(smallBytes.json), 'small decode: Buffer -> JSON.parse (baseline)'),
  smallCase('small decode: structured codec', () => structuredCodec.decode(smallBytes.structured), 'small decode: Buffer -> JSON.parse (baseline)'),
  smallCase('small decode: msgpack codec', () => msgpackCodec.decode(smallBytes.msgpack), 'small decode: Buffer -> JSON.parse (baseline)'),
  bigCase('1 MiB encode: JSON + base64 (baseline)', () => bigJsonEncode(bigValue)),
  bigCase('1 MiB encode: structured codec', () => structuredCodec.encode(bigValue), '1 MiB encode: JSON + base64 (baseline)'),
  bigCase('1 MiB encode: msgpack codec', () => msgpackCodec.encode(bigValue), '1 MiB encode: JSON + base64 (baseline)'),
  bigCase('1 MiB decode: JSON + base64 (baseline)', () => bigJsonDecode(bigBytes.baseline)),
  bigCase('1 MiB decode: structured codec', () => structuredCodec.decode(bigBytes.structured), '1 MiB decode: JSON + base64 (baseline)'),
  bigCase('1 MiB decode: msgpack codec', () => msgpackCodec.decode(bigBytes.msgpack), '1 MiB decode: JSON + base64 (baseline)'),
];

// ---- framing --------------------------------------------------------------------------------

/** A byte stream of `count` frames of `size` bytes, cut into chunks of 1..maxChunk bytes. */
function chunkedStream(count, size, maxChunk, seed) {
  const rnd = mulberry32(seed);
  const payload = Buffer.alloc(size, 0x61);
  const stream = Buffer.concat(Array.from({ length: count }, () => encodeFrame(payload)));
  const chunks = [];
  for (let off = 0; off < stream.length; ) {
    const n = Math.min(stream.length - off, 1 + Math.floor(rnd() * maxChunk));
    // Copies, as a socket hands out fresh buffers.
    chunks.push(Buffer.from(stream.subarray(off, off + n)));
    off += n;
  }
  return { count, chunks };
}

/** What people write by hand: concatenate whatever is pending with the new chunk, then slice frames. */
function concatParse({ count, chunks }) {
  let pending = Buffer.alloc(0);
  let frames = 0;
  for (const chunk of chunks) {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    while (pending.length >= 4) {
      const len = pending.readUInt32BE(0);
      if (pending.length < 4 + len) break;
      keep(pending.subarray(4, 4 + len));
      frames++;
      pending = pending.subarray(4 + len);
    }
  }
  if (frames !== count) throw new Error(`concat parser found ${frames} frames, expected ${count}`);
}

function decoderParse({ count, chunks }) {
  const decoder = new FrameDecoder();
  let frames = 0;
  const onFrame = (f) => {
    keep(f);
    frames++;
  };
  for (const chunk of chunks) decoder.push(chunk, onFrame);
  decoder.end();
  if (frames !== count) throw new Error(`FrameDecoder found ${frames} frames, expected ${count}`);
}

// Socket-like reads (up to 64 KiB) and small reads (up to 256 B, a slow or chatty peer).
const streams = {
  '64 B frames, reads <= 64 KiB': chunkedStream(scale(200_000, 1000), 64, 65_536, 1),
  '64 B frames, reads <= 256 B': chunkedStream(scale(100_000, 1000), 64, 256, 2),
  '4 KiB frames, reads <= 64 KiB': chunkedStream(scale(20_000, 200), 4096, 65_536, 3),
  '4 KiB frames, reads <= 256 B': chunkedStream(scale(4_000, 100), 4096, 256, 4),
};
const framingCases = [];
for (const [label, stream] of Object.entries(streams)) {
  const base = `framing ${label}: Buffer.concat parser (baseline)`;
  const time = (parse) => () => {
    const t0 = performance.now();
    parse(stream);
    return stream.count / ((performance.now() - t0) / 1000);
  };
  framingCases.push({ name: base, unit: 'msg/s', fn: time(concatParse) });
  framingCases.push({ name: `framing ${label}: FrameDecoder`, unit: 'msg/s', baseline: base, fn: time(decoderParse) });
}

await runBench({ package: '@ipc/core', runs: 5, cases: [...codecCases, ...framingCases] });
if (sink === 0.5) console.log(sink);
