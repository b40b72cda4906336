/** What a cluster client counts for `stats()`: its settled calls, and its engines' heartbeats. */
import { Tally, type ExecutorStats } from '../stats.js';
import type { EngineInfo } from './wire.js';

export class ClientTally {
  readonly #tally = new Tally();

  /**
   * A call (`items`: its job's items, a map chunk's inputs) submitted at `submitted` (nowMs)
   * settled: counted as the pools count theirs (see settledInputs). The client does not learn
   * when an engine starts a task, so a call closed or terminated away is taken as never started.
   */
  settled(flags: number, items: unknown, ok: boolean, value: unknown, submitted: number): void {
    this.#tally.settled(flags, [items], ok, value, true, submitted);
  }

  /** The executor's stats, `pending` calls waiting among the `engines` last heard of. */
  stats(engines: readonly EngineInfo[], pending: number): ExecutorStats {
    const workers = engines.reduce((n, e) => n + e.workers, 0);
    const busy = engines.reduce((n, e) => n + e.busy, 0);
    // What the live engines replaced since each started, for every client's tasks (an older engine reports none).
    const workersReplaced = engines.reduce((n, e) => n + (typeof e.replaced === 'number' ? e.replaced : 0), 0);
    return {
      workers, idleWorkers: Math.max(0, workers - busy), queued: Math.max(0, pending - busy), running: Math.min(busy, pending),
      done: this.#tally.done, failed: this.#tally.failed, workersReplaced, utilisation: workers === 0 ? 0 : Math.min(1, busy / workers),
      latency: this.#tally.latency.snapshot(),
    };
  }
}
