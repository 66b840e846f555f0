/**
 * The layout of a queue segment (docs/decisions/005-queue-ring.md). All offsets are Int32 word
 * indexes into the header; words written by producers, by consumers and by waiters sit on separate
 * 64-byte cache lines so that the two ends do not slow each other down.
 *
 * @internal
 */

/** 'QUE1' */
export const MAGIC = 0x31455551;
/**
 * 4: HEAD and GET_COUNT on the consumers' line, and the ends' shared views of the other end
 * (SEEN_HEAD, SEEN_GET_COUNT, SEEN_TAIL). 3: attachment slots of 8 words with the kernel's thread id.
 */
export const VERSION = 4;

// line 0: configuration, written once by the creator (MAGIC last), and the closed flag
export const H_MAGIC = 0;
export const H_VERSION = 1;
export const H_HEADER_BYTES = 2;
export const H_CAPACITY = 3;
export const H_MAXSIZE = 4;
export const H_MAX_ITEM_BYTES = 5;
export const H_CODEC = 6;
export const H_KIND = 7;
export const H_SLOTS = 8;
export const H_CLOSED = 9;
export const H_INLINE_MAX = 10;

// line 1: the producers' own words (consumers never touch this line)
export const H_PUT_LOCK = 16;
export const H_PUT_LOCK_WAITERS = 17;
export const H_PUT_COUNT = 19;
export const H_OOL_SEQ = 20;
// redo journal of the commit in progress: rolled forward when its writer died holding the lock
export const H_JP_VALID = 21;
export const H_JP_TAIL = 22;
export const H_JP_COUNT = 23;
// What the producers last read of HEAD and GET_COUNT (any of them, under the put lock): lower
// bounds that the room and maxsize checks use, reading HEAD or GET_COUNT only when these say no.
// Shared, so that producers taking turns do not each read the consumers' line on every put.
export const H_SEEN_HEAD = 24;
export const H_SEEN_GET_COUNT = 25;

// line 2: the consumers' words: the lock, HEAD and GET_COUNT (written together once per take,
// under the lock: producers read them only when what they saw says the ring or maxsize is full),
// the journal of the take in progress
export const H_GET_LOCK = 32;
export const H_GET_LOCK_WAITERS = 33;
export const H_HEAD = 34;
export const H_GET_COUNT = 35;
// journal of the take in progress: HEAD decides whether it committed (see recoverGet)
export const H_JG_VALID = 36;
export const H_JG_OLD_HEAD = 37;
export const H_JG_OLD_COUNT = 38;
export const H_JG_NEW_HEAD = 39;
export const H_JG_NEW_COUNT = 40;
// What the consumers last read of TAIL (any of them, under the get lock): HEAD <= SEEN_TAIL <= TAIL.
// A take reads TAIL only when HEAD has caught up with it.
export const H_SEEN_TAIL = 41;

// line 3: consumers waiting for items: ARMED is set by a consumer about to sleep, and exchanged
// to 0 by the producer that then bumps NOT_EMPTY and wakes them (one wake-up per sleep, not per put)
export const H_GET_ARMED = 48;
export const H_NOT_EMPTY = 49;

// line 4: producers waiting for room, the same way
export const H_PUT_ARMED = 64;
export const H_NOT_FULL = 65;

// line 5: JoinableQueue: unfinished = PUT_COUNT - DONE_COUNT
export const H_DONE_COUNT = 80;
export const H_JOIN_SEQ = 81;
export const H_JOIN_WAITERS = 82;

// line 6: statistics
export const H_OWNER_DIED = 96;

// line 7: TAIL alone, the word a waiting consumer polls; written once per commit
export const H_TAIL = 112;

/**
 * Where the attachment table starts (word index), eight words per attachment: the process (pid and
 * start time), the Node thread id + 1, and the kernel's id of the thread with the low 32 bits of its
 * start time (0: not recorded), so that a lock held by a worker thread that ended is recovered.
 */
export const SLOT_BASE = 256;
export const SLOT_WORDS = 8;
export const S_PID = 0;
export const S_START_LO = 1;
export const S_START_HI = 2;
export const S_TID = 3;
export const S_OSTID = 4;
export const S_TSTART = 5;
/** How many threads can be attached at once (dead ones are reclaimed). */
export const SLOT_COUNT = 1024;

/** Bytes before the ring: the header and attachment table, rounded to a page. */
export const HEADER_BYTES = align((SLOT_BASE + SLOT_COUNT * SLOT_WORDS) * 4, 4096);

// A record in the ring: [length u32][kind u32][payload, padded to 8 bytes].
export const RECORD_HEADER = 8;
export const KIND_DATA = 1;
export const KIND_OUT_OF_LINE = 2;
export const KIND_PAD = 3;

// Queue kinds, stored so that Queue.open returns the right class.
export const QUEUE_PLAIN = 0;
export const QUEUE_SIMPLE = 1;
export const QUEUE_JOINABLE = 2;

/** Rounds `n` up to a multiple of `to` (a power of two). */
export function align(n: number, to: number): number {
  return (n + to - 1) & ~(to - 1);
}

/** Bytes a record with `payload` bytes takes in the ring. */
export function recordBytes(payload: number): number {
  return align(RECORD_HEADER + payload, 8);
}
