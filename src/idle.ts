/** Promise waiters for "nothing queued or running", so callers never poll. */
export class IdleWaiters {
  #waiters: Array<() => void> = [];

  /** Resolves at once when `idle`, else at the next `check(true)`. */
  wait(idle: boolean): Promise<void> {
    if (idle) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Call whenever work finishes; releases the waiters once `idle`. */
  check(idle: boolean): void {
    if (!idle || this.#waiters.length === 0) return;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const resolve of waiters) resolve();
  }

  get waiting(): boolean {
    return this.#waiters.length > 0;
  }
}

/** What an executor tells its open maps: close() begins (draining, or cancelling pending work), or terminate() stops now. */
export type Closing = 'drain' | 'cancel' | 'terminate';
const rank: Record<Closing, number> = { drain: 1, cancel: 2, terminate: 3 };

/**
 * Maps started before close(): they may still submit work after it, and close()
 * waits for the last of them. Shared by every executor.
 */
export class OpenMaps {
  #open = 0;
  readonly #done = new IdleWaiters();
  readonly #listeners = new Set<{ notify: (how: Closing) => void; told: number }>();

  /**
   * Registers a map starting now; call the returned function (once or more) when it ends.
   * `onClosing` runs when close() begins, if the map is still open (an imap then stops waiting
   * for its consumer; under cancelPending a map cancels what it has not sent), and again when a
   * later call stops more (close({ cancelPending }), terminate()).
   */
  open(onClosing?: (how: Closing) => void): () => void {
    this.#open++;
    let open = true;
    const listener = onClosing === undefined ? null : { notify: onClosing, told: 0 };
    if (listener !== null) this.#listeners.add(listener);
    return () => {
      if (!open) return;
      open = false;
      if (listener !== null) this.#listeners.delete(listener);
      this.#open--;
      this.#done.check(this.#open === 0);
    };
  }

  /** How many maps are open. */
  get size(): number {
    return this.#open;
  }

  /** Tells every open map how the executor is closing, unless it was told as much already. */
  closing(how: Closing): void {
    for (const listener of [...this.#listeners]) {
      if (listener.told >= rank[how]) continue;
      listener.told = rank[how];
      listener.notify(how);
    }
  }

  /** What close() tells the open maps: to finish what they were given, or to cancel what has not started. */
  close(cancelPending: boolean): void {
    this.closing(cancelPending ? 'cancel' : 'drain');
  }

  /** Resolves once no map is open. */
  drained(): Promise<void> {
    return this.#done.wait(this.#open === 0);
  }
}
