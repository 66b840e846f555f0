// Polling is judged by what it buys: epochs of EPOCH waits (receive to frame, clipped at CLIP_US)
// with polling and without are compared, and the better mode is kept for a while.
const EPOCH = 32;
const CLIP_US = 1000;
const MIN_EXPLOIT = 4;
const MAX_EXPLOIT = 64;

/**
 * Decides whether a connection's receives poll before they park: an epoch polling (ended early when
 * its median wait passes the window: the polls miss), an epoch parking, then the faster mode by
 * median wait (polling needing a 10% edge) for a run of epochs that doubles while the same mode
 * keeps winning, cut short when the median halves or doubles. Polling steals CPU from the peer on a
 * busy machine (or one sharing our CPU), which this sees as longer waits.
 * @internal
 */
export class SpinJudge {
  /** Whether receives poll now. */
  polling = true;
  #phase: 'poll' | 'park' | 'keep' = 'poll';
  readonly #waits = new Float64Array(EPOCH);
  #count = 0;
  #pollMedian = 0;
  #keptMedian = 0; // the winner's median when it was chosen
  #exploit = MIN_EXPLOIT;
  #exploitLeft = 0;
  #lastWinner: boolean | undefined;
  #waitStart = -1; // when an eligible receive began waiting (performance.now() ms), until a frame

  /** @param windowUs - the most microseconds a receive polls */
  constructor(readonly windowUs: number) {}

  /** An eligible receive (the first after a send) begins to wait, at `now` (ms). */
  waitStarted(now: number): void {
    this.#waitStart = now;
  }

  /** A frame arrived: ends the wait begun by {@link waitStarted}, if any, and counts it. */
  frameArrived(): void {
    if (this.#waitStart < 0) return;
    const ms = performance.now() - this.#waitStart;
    this.#waitStart = -1;
    const n = ++this.#count;
    this.#waits[n - 1] = Math.min(CLIP_US, ms * 1000);
    const missing = this.#phase === 'poll' && n >= 8 && n % 4 === 0 && this.#median(n) > this.windowUs;
    if (n < EPOCH && !missing) return;
    const median = this.#median(n);
    this.#count = 0;
    if (this.#phase === 'poll') {
      this.#pollMedian = median;
      this.#phase = 'park';
      this.polling = false;
    } else if (this.#phase === 'park') {
      const poll = this.#pollMedian < median * 0.9;
      this.#exploit = poll === this.#lastWinner ? Math.min(MAX_EXPLOIT, this.#exploit * 2) : MIN_EXPLOIT;
      this.#lastWinner = poll;
      this.#keptMedian = poll ? this.#pollMedian : median;
      this.#exploitLeft = this.#exploit;
      this.#phase = 'keep';
      this.polling = poll;
    } else if (--this.#exploitLeft === 0 || median * 2 < this.#keptMedian || median > this.#keptMedian * 2) {
      // Time to look again, or the waits changed (other messages, another load): look now.
      if (this.#exploitLeft > 0) this.#exploit = MIN_EXPLOIT;
      this.#phase = 'poll';
      this.polling = true;
    }
  }

  #median(n: number): number {
    const sorted = this.#waits.slice(0, n).sort();
    return n % 2 ? sorted[n >> 1]! : (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2;
  }
}
