/**
 * The live workers of a pool and their lifecycle: whether each holds the
 * caller's event loop, when an idle one is retired, how one is ended, and the
 * time they spent busy and alive (for utilisation).
 */
import { nowMs } from '../clock.js';
import { CallState, type PoolWorker } from './records.js';
import type { ExecutorStats, Tally } from '../stats.js';
import type { WorkerExitReason } from '../observe/events.js';

export interface WorkerSetOptions {
  workers: number;
  minWorkers: number;
  idleTimeout: number;
  concurrentTasksPerWorker: number;
  maxTasksPerWorker: number;
}

/** The workers' part of stats(). */
export interface WorkerUsage {
  workers: number;
  idleWorkers: number;
  running: number;
  utilisation: number;
  /** Calls sent to workers that report when they begin, not begun yet: they wait, as queued ones do. */
  waiting: number;
}

/** Not ready yet, and not being retired: it will take calls once ready. */
function starting(w: PoolWorker): boolean {
  return !w.ready && !w.retiring;
}

/** What a worker is killed for, as a warning says it when the worker cannot be stopped. */
const KILLED_FOR: Partial<Record<WorkerExitReason, string>> = {
  timeout: 'a task on it timed out',
  aborted: 'a task on it was aborted',
  stuck: 'it was stuck outside any task',
  terminated: 'the pool was terminated',
  'out-of-memory': 'it reached its heap limit',
  'setup-failed': 'its setup failed',
};

/** Workers dying before they are ready this many times in a row means they cannot start. */
const MAX_START_FAILURES = 3;

export class WorkerSet implements Iterable<PoolWorker> {
  readonly #all = new Set<PoolWorker>();
  readonly #options: WorkerSetOptions;
  #startFailures = 0;
  #startsHalted = false;
  #holdingStarting = false;
  #deadBusyMs = 0;
  #deadAliveMs = 0;

  constructor(options: WorkerSetOptions) {
    this.#options = options;
  }

  get size(): number {
    return this.#all.size;
  }

  [Symbol.iterator](): Iterator<PoolWorker> {
    return this.#all.values();
  }

  add(w: PoolWorker): void {
    this.#all.add(w);
  }

  /** A setup that outlives its timeout kills its worker: a failed start, like a setup that throws. */
  limitSetup(w: PoolWorker, timeout: number): void {
    if (timeout === Number.POSITIVE_INFINITY) return;
    w.setupTimer = setTimeout(() => {
      if (w.ready) return;
      w.setupOverdueMs = timeout;
      w.link.kill(`its setup outlived its timeout of ${timeout} ms`);
    }, timeout);
    w.setupTimer.unref();
  }

  /** It finished starting (and its setup): starts are healthy again. */
  ready(w: PoolWorker): void {
    if (w.setupTimer !== null) clearTimeout(w.setupTimer);
    w.ready = true;
    this.#startFailures = 0;
    this.#startsHalted = false;
  }

  /** Counts a worker that died before it was ready; returns the count once it reaches the limit, else 0. */
  failedToStart(): number {
    if (++this.#startFailures < MAX_START_FAILURES) return 0;
    const times = this.#startFailures;
    this.#startFailures = 0;
    this.#startsHalted = true;
    return times;
  }

  /**
   * Starts failed MAX_START_FAILURES times in a row and no worker got ready since: workers
   * start again for calls, which then learn why they fail, but not to keep minWorkers.
   */
  get startsHalted(): boolean {
    return this.#startsHalted;
  }

  /** How many workers are still starting (not ready, not retiring). */
  countStarting(): number {
    let count = 0;
    for (const w of this.#all) if (starting(w)) count++;
    return count;
  }

  /**
   * While calls wait for the workers still starting (`waiting`), those hold the event loop;
   * once none wait, the ones holding no call let it go: a starting worker nobody needs must
   * not keep the process alive through its start and setup. Returns how many are starting.
   */
  holdStarting(waiting: boolean): number {
    if (!waiting && !this.#holdingStarting) return 0;
    let count = 0;
    for (const w of this.#all) {
      if (!starting(w)) continue;
      count++;
      if (waiting) this.busy(w);
      else if (w.load === 0) this.idle(w);
    }
    this.#holdingStarting = waiting && count > 0;
    return count;
  }

  /** A worker just started for calls that wait for it: it holds the event loop until they need it no more. */
  holdNew(w: PoolWorker): void {
    this.busy(w);
    this.#holdingStarting = true;
  }

  /** It has work: it holds the event loop and is not retired for idleness. */
  busy(w: PoolWorker): void {
    if (w.idleTimer !== null) {
      clearTimeout(w.idleTimer);
      w.idleTimer = null;
    }
    if (!w.referenced) {
      w.referenced = true;
      w.link.ref();
    }
  }

  /** It has nothing to do: it lets the event loop go, and above minWorkers it is retired after idleTimeout. */
  idle(w: PoolWorker): void {
    if (w.ending) return; // it stays referenced until its exit is seen
    if (w.referenced) {
      w.referenced = false;
      w.link.unref();
    }
    const { minWorkers, idleTimeout } = this.#options;
    if (w.idleTimer !== null || w.retiring || this.#all.size <= minWorkers || idleTimeout === Number.POSITIVE_INFINITY) return;
    w.idleTimer = setTimeout(() => {
      w.idleTimer = null;
      if (w.load === 0 && this.#all.size > minWorkers) this.end(w, false, 'idle');
    }, idleTimeout);
    w.idleTimer.unref();
  }

  /** Stops it (now, with `kill`) for `reason`; it takes no new work and holds the event loop until its exit is seen. */
  end(w: PoolWorker, kill: boolean, reason: WorkerExitReason): void {
    w.retiring = true;
    if (w.ending) return;
    w.ending = true;
    w.exitReason = reason;
    this.busy(w);
    if (kill) w.link.kill(KILLED_FOR[reason] ?? reason);
    else w.link.stop();
  }

  /** Forgets a worker that exited, keeping its busy and alive time. */
  remove(w: PoolWorker): void {
    this.#all.delete(w);
    w.exited = true;
    if (w.idleTimer !== null) clearTimeout(w.idleTimer);
    if (w.setupTimer !== null) clearTimeout(w.setupTimer);
    this.#deadBusyMs += w.busyMs;
    this.#deadAliveMs += nowMs() - w.spawnedAt;
  }

  /** Ends every worker and resolves once all have exited. */
  async endAll(kill: boolean): Promise<void> {
    const exits: Array<Promise<void>> = [];
    for (const w of this.#all) {
      this.end(w, kill, kill ? 'terminated' : 'closed');
      exits.push(w.exit);
    }
    await Promise.all(exits);
  }

  /** Whether any worker holds a call (sent, running, or waiting for its result). */
  get holdsCalls(): boolean {
    // Cancelled calls still running, unobserved, count: close() waits for them as for any other.
    for (const w of this.#all) if (w.load > 0) return true;
    return false;
  }

  /** Whether `w` could take another call now. */
  hasRoom(w: PoolWorker): boolean {
    const o = this.#options;
    return w.ready && !w.retiring && !w.exited && w.load < o.concurrentTasksPerWorker && w.assigned < o.maxTasksPerWorker;
  }

  anyWithRoom(): boolean {
    for (const w of this.#all) if (this.hasRoom(w)) return true;
    return false;
  }

  /** Free slots for calls: of the workers not retiring (ready or starting), and of those yet to start. */
  freeSlots(): number {
    const perWorker = this.#options.concurrentTasksPerWorker;
    let room = Math.max(0, this.#options.workers - this.#all.size) * perWorker;
    for (const w of this.#all) if (!w.retiring) room += Math.max(0, perWorker - w.load);
    return room;
  }

  /** The pool's stats(): the workers' usage, `queued` calls waiting beside those sent and not begun, and the `tally` of settled ones. */
  stats(queued: number, tally: Tally, replaced: number): ExecutorStats {
    const { waiting, ...usage } = this.usage();
    const counts = { queued: queued + waiting, done: tally.done, failed: tally.failed, workersReplaced: replaced };
    return { ...usage, ...counts, latency: tally.latency.snapshot() };
  }

  usage(): WorkerUsage {
    const now = nowMs();
    let running = 0;
    let idle = 0;
    let busyMs = this.#deadBusyMs;
    let aliveMs = this.#deadAliveMs;
    let waiting = 0;
    for (const w of this.#all) {
      running += w.load;
      for (const call of w.inflight.values()) if (call.state === CallState.Sent && call.reportsStart) waiting++;
      if (w.ready && w.load === 0 && !w.retiring) idle++;
      busyMs += w.busyMs;
      aliveMs += now - w.spawnedAt;
    }
    return { workers: this.#all.size, idleWorkers: idle, running: running - waiting, waiting, utilisation: aliveMs > 0 ? Math.min(1, busyMs / aliveMs) : 0 };
  }
}
