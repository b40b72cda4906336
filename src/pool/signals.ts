/**
 * One abort listener per AbortSignal, however many calls share it, so a map of
 * a million items over one signal adds one listener, not a million.
 */

/** Aborting with this reason cancels what has not started and lets running work finish unobserved. */
export const kSoftAbort = Symbol('forkjoin.softAbort');

export class SignalRegistry<T> {
  readonly #entries = new Map<AbortSignal, { items: Set<T>; listener: () => void }>();
  readonly #onAbort: (item: T, reason: unknown) => void;

  constructor(onAbort: (item: T, reason: unknown) => void) {
    this.#onAbort = onAbort;
  }

  /** Watches `item` under `signal`; no signal, nothing to watch. */
  add(signal: AbortSignal | undefined, item: T): void {
    if (signal === undefined) return;
    let entry = this.#entries.get(signal);
    if (entry === undefined) {
      const items = new Set<T>();
      const listener = (): void => {
        this.#entries.delete(signal);
        for (const each of [...items]) this.#onAbort(each, signal.reason);
      };
      entry = { items, listener };
      this.#entries.set(signal, entry);
      signal.addEventListener('abort', listener, { once: true });
    }
    entry.items.add(item);
  }

  delete(signal: AbortSignal | undefined, item: T): void {
    if (signal === undefined) return;
    const entry = this.#entries.get(signal);
    if (entry === undefined) return;
    entry.items.delete(item);
    if (entry.items.size === 0) {
      this.#entries.delete(signal);
      signal.removeEventListener('abort', entry.listener);
    }
  }
}
