/** What a cluster client counts for `stats()`: its settled calls, and its engines' heartbeats. */
import { nowMs } from '../clock.js';
import { LatencyHistogram, type ExecutorStats } from '../stats.js';
import type { EngineInfo } from './wire.js';

export class ClientTally {
  #done = 0;
  #failed = 0;
  readonly #latency = new LatencyHistogram();

  /** A call submitted at `submitted` (nowMs) settled, accounting for `done` and `failed` inputs. */
  settled(submitted: number, done: number, failed: number): void {
    this.#latency.record(nowMs() - submitted);
    this.#done += done;
    this.#failed += failed;
  }

  /** The executor's stats, `pending` calls waiting among the `engines` last heard of. */
  stats(engines: readonly EngineInfo[], pending: number): ExecutorStats {
    const workers = engines.reduce((n, e) => n + e.workers, 0);
    const busy = engines.reduce((n, e) => n + e.busy, 0);
    return {
      workers, idleWorkers: Math.max(0, workers - busy), queued: Math.max(0, pending - busy), running: Math.min(busy, pending),
      done: this.#done, failed: this.#failed, workersReplaced: 0, utilisation: workers === 0 ? 0 : Math.min(1, busy / workers),
      latency: this.#latency.snapshot(),
    };
  }
}
