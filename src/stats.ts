/** Counters and a latency histogram every executor keeps for `stats()`. */
import { nowMs } from './clock.js';
import { settledInputs } from './pool/protocol.js';

export interface LatencyStats {
  /** Milliseconds from submission to settlement. */
  mean: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export interface ExecutorStats {
  /** Live workers (threads or processes); the concurrency limit for LocalExecutor. */
  workers: number;
  /** Workers ready and holding nothing (not one still starting or being stopped). */
  idleWorkers: number;
  /** Tasks waiting for a worker. */
  queued: number;
  /** Tasks handed to a worker and not yet settled. */
  running: number;
  /** Tasks (a map's inputs) that fulfilled. */
  done: number;
  /** Tasks (a map's inputs) that rejected, timed out included; a cancelled one counts neither here nor in `done`. */
  failed: number;
  /** Workers lost to a crash, an exit, running out of memory, a timeout or an aborted task. */
  workersReplaced: number;
  /** Share of worker time spent running tasks since the executor started, 0 to 1. */
  utilisation: number;
  latency: LatencyStats;
}

const BUCKETS = 96; // 2^(i/4) microseconds: 1 µs .. ~16 000 s, about 19% resolution

/** A fixed-size log histogram: recording is O(1) and never allocates. */
export class LatencyHistogram {
  #counts = new Float64Array(BUCKETS);
  #total = 0;
  #sum = 0;
  #max = 0;

  record(ms: number): void {
    const us = ms * 1000;
    const bucket = us <= 1 ? 0 : Math.min(BUCKETS - 1, Math.ceil(Math.log2(us) * 4));
    this.#counts[bucket]++;
    this.#total++;
    this.#sum += ms;
    if (ms > this.#max) this.#max = ms;
  }

  #quantile(q: number): number {
    if (this.#total === 0) return 0;
    const rank = q * this.#total;
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.#counts[i];
      if (seen >= rank) return Math.min(this.#max, 2 ** (i / 4) / 1000);
    }
    return this.#max;
  }

  snapshot(): LatencyStats {
    return {
      mean: this.#total === 0 ? 0 : this.#sum / this.#total,
      p50: this.#quantile(0.5),
      p95: this.#quantile(0.95),
      p99: this.#quantile(0.99),
      max: this.#max,
    };
  }
}

/** What an executor counts of its settled calls for `stats()`: inputs done and failed, and their latency. */
export class Tally {
  done = 0;
  failed = 0;
  readonly latency = new LatencyHistogram();

  /** A call settled (see settledInputs for what counts); `submitted` is when it was made (nowMs). */
  settled(flags: number, args: readonly unknown[], ok: boolean, value: unknown, neverStarted: boolean, submitted: number): void {
    const [done, failed] = settledInputs(flags, args, ok, value, neverStarted);
    this.done += done;
    this.failed += failed;
    if (done + failed > 0) this.latency.record(nowMs() - submitted);
  }
}
