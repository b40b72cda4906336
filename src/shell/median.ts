/** A running median (two heaps): `--timeout N%` times jobs against the median runtime so far. */

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
