// msgpackr ships this subpath (an unpacker that never compiles code) without its own types.
declare module 'msgpackr/unpack-no-eval' {
  export { Unpackr } from 'msgpackr';
}
