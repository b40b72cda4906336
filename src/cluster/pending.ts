/** The calls a cluster client waits for, by job id: each settles once, however many results its job yields. */
import type { TaskSpec } from '../task.js';
import type { ResultMessage } from './wire.js';

/** A call waiting for its result. */
export interface Pending {
  spec: TaskSpec;
  /** Set for a broadcast job: the engine that must run it. */
  engine: string | null;
  submitted: number;
  settle(message: ResultMessage | null, error?: unknown): void;
}

export class PendingCalls {
  readonly #calls = new Map<string, Pending>();

  get size(): number {
    return this.#calls.size;
  }

  add(id: string, call: Pending): void {
    this.#calls.set(id, call);
  }

  /** Removes and returns the call of job `id`, for the caller to settle; none once settled (a re-run's second result finds none). */
  take(id: string): Pending | undefined {
    const call = this.#calls.get(id);
    if (call !== undefined) this.#calls.delete(id);
    return call;
  }

  /** Fails each pending call that `why` gives an error for (null: it stays pending). */
  fail(why: (call: Pending) => Error | null): void {
    const failed: Array<[Pending, Error]> = [];
    for (const [id, call] of this.#calls) {
      const error = why(call);
      if (error === null) continue;
      this.#calls.delete(id);
      failed.push([call, error]);
    }
    // Settled once all are out: a call made meanwhile is not among them.
    for (const [call, error] of failed) call.settle(null, error);
  }
}
