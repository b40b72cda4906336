/**
 * When a pool starts the workers `minWorkers` asks for beyond the first. Workers starting
 * together share the cores with each other: on 2 cores, the first of two threads started at
 * once is ready about 20 % later than a thread started alone (median 40 against 32 ms, bench
 * notes in bench/README.md). A pool without a `setup` therefore starts one worker, and the next
 * once the one before is ready and has nothing to run, or has been running calls for
 * WARM_UP_DELAY_MS. Calls that wait for a worker never wait for this: the pool starts workers
 * for them at once.
 */

/** How long a ready worker's first calls may delay the next warm-up start. */
const WARM_UP_DELAY_MS = 20;

export class WarmUp {
  readonly #startNext: () => void;
  #timer: NodeJS.Timeout | null = null;
  #immediate: NodeJS.Immediate | null = null;

  /** `startNext` starts one more worker if the pool still wants one and none is starting. */
  constructor(startNext: () => void) {
    this.#startNext = startNext;
  }

  /**
   * A ready worker went idle (`idle`) or took calls. The next start waits for the current
   * macrotask, so that a caller who closes the pool on its first result closes it first.
   */
  poke(idle: boolean): void {
    if (idle) {
      if (this.#immediate !== null) return;
      this.#clearTimer();
      this.#immediate = setImmediate(() => {
        this.#immediate = null;
        this.#startNext();
      });
      this.#immediate.unref();
    } else if (this.#timer === null && this.#immediate === null) {
      this.#timer = setTimeout(() => {
        this.#timer = null;
        this.#startNext();
      }, WARM_UP_DELAY_MS);
      this.#timer.unref();
    }
  }

  cancel(): void {
    this.#clearTimer();
    if (this.#immediate !== null) clearImmediate(this.#immediate);
    this.#immediate = null;
  }

  #clearTimer(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }
}
