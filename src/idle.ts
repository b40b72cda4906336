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

/**
 * Maps started before close(): they may still submit work after it, and close()
 * waits for the last of them. Shared by every executor.
 */
export class OpenMaps {
  #open = 0;
  readonly #done = new IdleWaiters();
  readonly #onClosing = new Set<(cancelPending?: boolean) => void>();

  /**
   * Registers a map starting now; call the returned function (once or more) when it ends.
   * `onClosing` runs once close() begins, if the map is still open, told whether close() cancels
   * pending work (an imap then stops waiting for its consumer; a map cancels what it has not sent).
   */
  open(onClosing?: (cancelPending?: boolean) => void): () => void {
    this.#open++;
    let open = true;
    if (onClosing !== undefined) this.#onClosing.add(onClosing);
    return () => {
      if (!open) return;
      open = false;
      if (onClosing !== undefined) this.#onClosing.delete(onClosing);
      this.#open--;
      this.#done.check(this.#open === 0);
    };
  }

  /** How many maps are open. */
  get size(): number {
    return this.#open;
  }

  /** Tells every open map that the executor is closing, and whether it cancels pending work. */
  closing(cancelPending = false): void {
    const notices = [...this.#onClosing];
    this.#onClosing.clear();
    for (const notice of notices) notice(cancelPending);
  }

  /** Resolves once no map is open. */
  drained(): Promise<void> {
    return this.#done.wait(this.#open === 0);
  }
}
