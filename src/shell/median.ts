/** A running median (two heaps): `--timeout N%` times jobs against the median runtime so far. */
import { nowMs } from '../clock.js';
import { MAX_TIMER_MS } from '../options.js';

class Heap {
  readonly #items: number[] = [];
  readonly #before: (a: number, b: number) => boolean;

  constructor(before: (a: number, b: number) => boolean) {
    this.#before = before;
  }

  get size(): number { return this.#items.length; }
  peek(): number { return this.#items[0]; }

  push(value: number): void {
    const items = this.#items;
    let i = items.push(value) - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#before(items[i], items[parent])) break;
      [items[i], items[parent]] = [items[parent], items[i]];
      i = parent;
    }
  }

  pop(): number {
    const items = this.#items;
    const top = items[0];
    const last = items.pop() as number;
    if (items.length > 0) {
      items[0] = last;
      for (let i = 0; ;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let best = i;
        if (l < items.length && this.#before(items[l], items[best])) best = l;
        if (r < items.length && this.#before(items[r], items[best])) best = r;
        if (best === i) break;
        [items[i], items[best]] = [items[best], items[i]];
        i = best;
      }
    }
    return top;
  }
}

export class RunningMedian {
  readonly #low = new Heap((a, b) => a > b);  // the smaller half, largest on top
  readonly #high = new Heap((a, b) => a < b); // the larger half, smallest on top

  add(value: number): void {
    if (this.#low.size === 0 || value <= this.#low.peek()) this.#low.push(value);
    else this.#high.push(value);
    if (this.#low.size > this.#high.size + 1) this.#high.push(this.#low.pop());
    else if (this.#high.size > this.#low.size) this.#low.push(this.#high.pop());
  }

  /** The median so far, or undefined before any value. */
  get value(): number | undefined {
    if (this.#low.size === 0) return undefined;
    return this.#low.size > this.#high.size ? this.#low.peek() : (this.#low.peek() + this.#high.peek()) / 2;
  }
}

/** `--timeout`: a fixed limit, or N% of the median runtime of the jobs that succeeded so far. */
export class JobTimeouts {
  readonly #fixedMs: number;
  readonly #percent: number | undefined;
  readonly #median = new RunningMedian();

  constructor(fixedMs: number, percent: number | undefined) {
    this.#fixedMs = fixedMs;
    this.#percent = percent;
  }

  /** Ms left for a job that started at `t0` (nowMs), or null: no limit (yet). */
  left(t0: number): number | null {
    if (this.#percent === undefined) return Number.isFinite(this.#fixedMs) ? this.#fixedMs : null;
    const median = this.#median.value;
    return median === undefined ? null : Math.min(MAX_TIMER_MS, Math.max(0, (median * this.#percent) / 100 - (nowMs() - t0)));
  }

  /** Notes a succeeded job's runtime; true when this gave the first median (running jobs can now be timed). */
  learn(durationMs: number): boolean {
    if (this.#percent === undefined) return false;
    const first = this.#median.value === undefined;
    this.#median.add(durationMs);
    return first;
  }
}
