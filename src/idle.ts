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
