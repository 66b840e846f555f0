// Polling is judged by what it buys: epochs of EPOCH cycles (an eligible receive to the next one,
// clipped at CLIP_US) with polling and without are compared, and the better mode is kept for a while.
const EPOCH = 32;
const CLIP_US = 1000;
const MIN_EXPLOIT = 4;
const MAX_EXPLOIT = 64;

/**
 * Decides whether a connection's receives poll before they park: an epoch polling (ended early when
 * its median wait passes the window, the polls miss, or when its median cycle is a quarter over
 * the parking median it is compared with: parking stays), an epoch parking, then the faster mode
 * by median cycle (polling needing a 10% edge) for a run of epochs that doubles while the same
 * mode keeps winning, cut short when the median doubles while polling or halves while parking.
 *
 * A cycle runs from one eligible receive (the first after a send) to the next, so it holds the
 * wait for the reply and this side's own work until it asks again. Judging by the wait alone would
 * miss what polling costs on a busy machine: a poller uses up its share of the CPU, so the
 * scheduler later preempts it while it works (in its peer's wait, not its own), and it delays the
 * peer it shares a CPU with.
 * @internal
 */
export class SpinJudge {
  /** Whether receives poll now. */
  polling = true;
  #phase: 'poll' | 'park' | 'keep' = 'poll';
  readonly #cycles = new Float64Array(EPOCH);
  readonly #waits = new Float64Array(EPOCH);
  #count = 0;
  #pollMedian = 0;
  #keptMedian = 0; // the winner's median when it was chosen
  #exploit = MIN_EXPLOIT;
  #exploitLeft = 0;
  #lastWinner: boolean | undefined;
  #waitStart = -1; // when an eligible receive began waiting (performance.now() ms), until a frame
  #cycleStart = -1; // when the last eligible receive whose frame came began waiting
  #cyclePolled = false; // the mode of that receive

  /** @param windowUs - the most microseconds a receive polls */
  constructor(readonly windowUs: number) {}

  /**
   * An eligible receive (the first after a send) begins to wait, at `now` (ms); this ends the cycle
   * begun by the previous one, if its frame came.
   */
  waitStarted(now: number): void {
    const start = this.#cycleStart;
    this.#waitStart = now;
    this.#cycleStart = -1;
    if (start < 0) return;
    // A cycle counts for the mode its receive waited in (the judge may have switched since).
    if (this.#cyclePolled !== this.polling) return;
    const n = ++this.#count;
    this.#cycles[n - 1] = Math.min(CLIP_US, (now - start) * 1000);
    // A spinning epoch ends early when its spins miss (median wait over the window) or when it is
    // already clearly slower than parking was: exploring then costs 8 cycles, not 32.
    const early = this.#phase === 'poll' && n >= 8 && n % 4 === 0;
    const missing = early && median(this.#waits, n) > this.windowUs;
    const losing = early && !missing && this.#lastWinner === false && median(this.#cycles, n) > this.#keptMedian * 1.25;
    if (n < EPOCH && !missing && !losing) return;
    const cycle = median(this.#cycles, n);
    this.#count = 0;
    if (losing) {
      // Parking stays (its median as measured before), for twice as long.
      this.#keep(false, this.#keptMedian);
    } else if (this.#phase === 'poll') {
      this.#pollMedian = cycle;
      this.#phase = 'park';
      this.polling = false;
    } else if (this.#phase === 'park') {
      const poll = this.#pollMedian < cycle * 0.9;
      this.#keep(poll, poll ? this.#pollMedian : cycle);
    } else if (--this.#exploitLeft === 0 || (this.polling ? cycle > this.#keptMedian * 2 : cycle * 2 < this.#keptMedian)) {
      // Time to look again, or the cycles changed so that the other mode may win now (spinning
      // got slower; parking got faster: a lighter load, shorter messages): look now, against the
      // kept mode's latest median.
      if (this.#exploitLeft > 0) this.#exploit = MIN_EXPLOIT;
      this.#keptMedian = cycle;
      this.#phase = 'poll';
      this.polling = true;
    }
  }

  // Keeps a mode for a run of epochs that doubles while the same mode keeps winning.
  #keep(poll: boolean, median: number): void {
    this.#exploit = poll === this.#lastWinner ? Math.min(MAX_EXPLOIT, this.#exploit * 2) : MIN_EXPLOIT;
    this.#lastWinner = poll;
    this.#keptMedian = median;
    this.#exploitLeft = this.#exploit;
    this.#phase = 'keep';
    this.polling = poll;
  }

  /** A frame arrived, at `now` (ms; default: the clock): ends the wait begun by {@link waitStarted}, if any. */
  frameArrived(now?: number): void {
    const start = this.#waitStart;
    if (start < 0) return; // (most frames: no clock read for them)
    now ??= performance.now();
    this.#waitStart = -1;
    this.#cycleStart = start;
    this.#cyclePolled = this.polling;
    // The wait goes where the cycle will (count + 1), for the poll phase's early miss check.
    if (this.#count < EPOCH) this.#waits[this.#count] = Math.min(CLIP_US, (now - start) * 1000);
  }
}

function median(values: Float64Array, n: number): number {
  const sorted = values.slice(0, n).sort();
  return n % 2 ? sorted[n >> 1]! : (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2;
}
