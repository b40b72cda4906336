/**
 * Collects what arrives within one turn of the event loop and hands it over at once:
 * jobs that BullMQ delivers one by one then reach the pool in one message, and their
 * results reach Redis in one command.
 */
export class TurnBatch<T> {
  readonly #flush: (items: T[]) => void;
  #items: T[] = [];

  constructor(flush: (items: T[]) => void) {
    this.#flush = flush;
  }

  add(item: T): void {
    if (this.#items.push(item) !== 1) return;
    setImmediate(() => {
      const items = this.#items;
      this.#items = [];
      this.#flush(items);
    });
  }
}
