/** The results a run has ready for its reader, handed out as an async iterator does. */

interface Waiter<T> {
  resolve: (r: IteratorResult<T>) => void;
  reject: (e: unknown) => void;
}

export class ResultQueue<T> {
  readonly #items: (T | undefined)[] = [];
  readonly #waiters: Waiter<T>[] = [];
  readonly #taken: (item: T) => void;
  #head = 0;
  #ended = false;
  #error: unknown = undefined;

  /** `taken` is called as each item leaves the queue for the reader. */
  constructor(taken: (item: T) => void) {
    this.#taken = taken;
  }

  /** Items waiting for the reader. */
  get length(): number {
    return this.#items.length - this.#head;
  }

  push(item: T): void {
    const waiter = this.#waiters.shift();
    if (waiter === undefined) {
      this.#items.push(item);
      return;
    }
    this.#taken(item);
    waiter.resolve({ value: item, done: false });
  }

  /** No more items; with `error`, the next read after the items fails with it (once). */
  end(error?: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#error = error;
    for (const waiter of this.#waiters.splice(0)) this.#last().then(waiter.resolve, waiter.reject);
  }

  next(): Promise<IteratorResult<T>> {
    if (this.length > 0) return Promise.resolve({ value: this.#shift(), done: false });
    if (this.#ended) return this.#last();
    return new Promise((resolve, reject) => { this.#waiters.push({ resolve, reject }); });
  }

  /** Takes every waiting item (to release them), leaving the queue empty. */
  drain(): T[] {
    const items: T[] = [];
    while (this.length > 0) items.push(this.#shift());
    return items;
  }

  #last(): Promise<IteratorResult<T>> {
    const error = this.#error;
    this.#error = undefined;
    return error === undefined ? Promise.resolve({ value: undefined, done: true }) : Promise.reject(error);
  }

  #shift(): T {
    const item = this.#items[this.#head] as T;
    this.#items[this.#head++] = undefined;
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items.splice(0, this.#head);
      this.#head = 0;
    }
    this.#taken(item);
    return item;
  }
}
