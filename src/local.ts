/**
 * LocalExecutor: bounded async concurrency in the calling thread, for
 * I/O-bound work where awaiting is cheap and a worker would only add copies.
 */
import { nowMs } from './clock.js';
import { AbortError, ErrorCodes, ForkJoinError, InvalidTypeError, TaskError, TaskTimeoutError, isCallOutcome, withFacts } from './errors.js';
import { BaseExecutor, parseCallOptions, type CallOptions } from './executor.js';
import { jobControl, newJob, type Job } from './job.js';
import type { ChunkRunner } from './map.js';
import { closeOptions, durationOption, integerOption, knownKeys, objectOption } from './options.js';
import { IdleWaiters, OpenMaps } from './idle.js';
import { WaitQueue } from './pool/call-queue.js';
import type { ChunkResult } from './pool/protocol.js';
import { TaskFlag } from './pool/protocol.js';
import { kSoftAbort, SignalRegistry } from './pool/signals.js';
import { ownList } from './pool/snapshot.js';
import { Tally, type ExecutorStats } from './stats.js';
import { directTaskSpec, isTaskRef, type Task, type TaskSpec } from './task.js';
import { isThenable, untransferred } from './transfer.js';
import { toWire, wireMessage } from './wire-error.js';
import { callExport, chunkTask, type ChunkFn, type Fn } from './local-calls.js';
import { LocalObserver, type Watched } from './observe/local-observer.js';
import { keepOrigin } from './rerun.js';
import type { ExecutorEventListener, ExecutorEventType, ObservableExecutor } from './observe/events.js';

export interface LocalExecutorOptions {
  /**
   * Tasks running at once.
   * @default 16
   * @example new LocalExecutor({ concurrency: 64 })
   */
  concurrency?: number | undefined;
  /**
   * Default time limit of each task in ms. The caller stops waiting; the work itself cannot be
   * interrupted in this thread, so pass a `signal` to tasks that can stop.
   * @default Infinity
   */
  timeout?: number | undefined;
  /**
   * Tasks allowed to wait; one more is rejected with FJ_QUEUE_FULL.
   * @default Infinity
   */
  maxQueue?: number | undefined;
}

interface Entry {
  task: Task;
  spec: TaskSpec;
  args: unknown[];
  timeout: number;
  signal: AbortSignal | undefined;
  settle: (ok: boolean, value: unknown) => void;
  onRunning: (() => void) | null;
  state: 'queued' | 'running' | 'settled';
  /** Whether it holds one of the `concurrency` slots: from its start until it settles or its caller stops waiting. */
  holding: boolean;
  submitted: number;
  timer: NodeJS.Timeout | null;
  /** A map chunk's TaskFlags (0 for a call of run or submit). */
  flags: number;
  /** A map's chunk: taken while closing, and not counted against maxQueue (the map bounds its chunks). */
  admitted: boolean;
  /** Begun while a task listener was attached: its events' facts. */
  watched: Watched | null;
}

/** `finished`: the task kept the thread past its timeout and then returned; its result is dropped. */
function localTimeoutError(entry: Entry, finished: boolean): TaskTimeoutError {
  const what = finished ? '; it held the thread all along (a LocalExecutor cannot interrupt a task), and its result was dropped' : '';
  return new TaskTimeoutError(`${entry.spec.label} ran longer than its timeout of ${entry.timeout} ms${what}`, { timeout: entry.timeout, task: entry.spec.label });
}

/** Runs tasks in this thread with at most `concurrency` in flight. */
export class LocalExecutor extends BaseExecutor implements ObservableExecutor {
  readonly #concurrency: number;
  readonly #timeout: number;
  readonly #maxQueue: number;
  readonly #queue = new WaitQueue<Entry>((entry) => entry.state === 'queued');
  readonly #active = new Set<Entry>();
  readonly #signals = new SignalRegistry<Entry>((entry, reason) => this.#cancel(entry, reason));
  readonly #tally = new Tally();
  readonly #started = nowMs();
  #running = 0;
  #busyMs = 0;
  /** The time tasks' calls (their synchronous parts, and the calls a map's chunk makes) held this thread, in all. */
  #callsHeldMs = 0;
  /** A task's call is on the stack: what it calls is timed with it. */
  #inCall = false;
  #closing = false;
  #terminated = false;
  #pumping = false;
  readonly #maps = new OpenMaps();
  readonly #idleWaiters = new IdleWaiters();
  readonly #observer = new LocalObserver();

  constructor(options?: LocalExecutorOptions) {
    super();
    const where = 'new LocalExecutor()';
    const o = objectOption(where, options) as LocalExecutorOptions & Record<string, unknown>;
    knownKeys(where, o, ['concurrency', 'timeout', 'maxQueue']);
    // A finite bound: an imap pulls a few chunks ahead per slot.
    this.#concurrency = o.concurrency === undefined ? 16 : integerOption(where, 'concurrency', o.concurrency, 1, 0x7fffffff);
    this.#timeout = o.timeout === undefined ? Number.POSITIVE_INFINITY : durationOption(where, 'timeout', o.timeout);
    this.#maxQueue = o.maxQueue === undefined ? Number.POSITIVE_INFINITY : integerOption(where, 'maxQueue', o.maxQueue, 0);
  }

  run<A extends unknown[], R>(task: Task<A, R>, args: Readonly<A>, options?: CallOptions): Promise<Awaited<R>> {
    return new Promise((resolve, reject) => {
      // Inside the executor function, a bad argument rejects instead of throwing.
      this.#enqueue('run', task, args, options, (ok, value) => (ok ? resolve(value as Awaited<R>) : reject(value)), null);
    });
  }

  submit<A extends unknown[], R>(task: Task<A, R>, args: Readonly<A>, options?: CallOptions): Job<Awaited<R>> {
    let entry: Entry | null = null;
    const job = newJob<Awaited<R>>((reason) => entry !== null && this.#cancel(entry, reason));
    const control = jobControl(job);
    entry = this.#enqueue('submit', task, args, options, control.settle, control.running);
    control.accepted();
    return job;
  }

  /** `spec` names the task in errors: a map's chunk runs a wrapper, named after the map's task. */
  #enqueue(method: string, task: Task, args: unknown, options: CallOptions | undefined, settle: Entry['settle'], onRunning: Entry['onRunning'], admitted = false, flags = 0, spec = directTaskSpec(task)): Entry {
    const where = `LocalExecutor.${method}`;
    if (!Array.isArray(args)) throw new InvalidTypeError(`${where}: args must be an array of the task's arguments; received ${typeof args}`);
    const o = options === undefined ? null : parseCallOptions(where, options, { timeout: this.#timeout, retries: 0 });
    const entry: Entry = {
      // The values passed, in an array of the call's own: a caller may reuse its array for the next call.
      task, spec, args: flags === 0 ? ownList(args) : args, settle, onRunning,
      timeout: o === null ? this.#timeout : o.timeout,
      signal: o?.signal,
      state: 'queued',
      holding: false,
      submitted: nowMs(),
      timer: null,
      flags,
      admitted,
      watched: null,
    };
    // A call refused here never ran: it is neither done nor failed, and has no latency.
    if (this.#terminated) this.#finish(entry, false, new ForkJoinError(ErrorCodes.EXECUTOR_TERMINATED, 'The LocalExecutor was terminated and accepts no new tasks'), false);
    else if (this.#closing && !admitted) this.#finish(entry, false, new ForkJoinError(ErrorCodes.EXECUTOR_CLOSED, 'The LocalExecutor is closed and accepts no new tasks'), false);
    // A map's chunks (admitted) do not count: the map bounds them itself. Nor does a task a free slot starts at once.
    else if (!admitted && this.#queue.tasks + this.#running - this.#concurrency >= this.#maxQueue) this.#finish(entry, false, new ForkJoinError(ErrorCodes.QUEUE_FULL, `The LocalExecutor queue is full (maxQueue: ${this.#maxQueue})`), false);
    else if (entry.signal?.aborted) this.#finish(entry, false, new AbortError('The task was aborted', { cause: entry.signal.reason }));
    else {
      this.#signals.add(entry.signal, entry);
      this.#queue.push(entry);
      this.#pump();
    }
    return entry;
  }

  #pump(): void {
    // A synchronous task finishes inside #start and calls #pump again: let the outer loop
    // go on instead of recursing once per queued task.
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      while (this.#running < this.#concurrency) {
        const entry = this.#queue.shift();
        if (entry === undefined) break;
        this.#start(entry);
      }
    } finally {
      this.#pumping = false;
    }
    this.#settleIdle();
  }

  #start(entry: Entry): void {
    entry.state = 'running';
    entry.holding = true;
    this.#running++;
    this.#active.add(entry);
    entry.onRunning?.();
    if (this.#observer.events.timed) entry.watched = this.#observer.started(entry.spec.name, entry.flags & TaskFlag.Chunk ? (entry.args[0] as ArrayLike<unknown>).length : 1);
    const began = nowMs();
    // The time every task's calls held this thread at the start, and this one's share since:
    // an async task's time counts without what the others held the thread for meanwhile.
    const base = this.#callsHeldMs;
    let ownHeld = 0;
    const hold = (ms: number): void => {
      if (this.#inCall) return; // timed with the call that made it
      ownHeld += ms;
      this.#callsHeldMs += ms;
    };
    const ownMs = (): number => nowMs() - began - (this.#callsHeldMs - base - ownHeld);
    // A timer that fires late, after others held the thread, gives the task the time it lost.
    const arm = (ms: number): void => {
      entry.timer = setTimeout(() => {
        const left = entry.timeout - ownMs();
        if (left > 0) arm(left);
        else this.#giveUp(entry, localTimeoutError(entry, false));
      }, ms);
    };
    if (entry.timeout !== Number.POSITIVE_INFINITY) arm(entry.timeout);
    const done = (ok: boolean, value: unknown): void => {
      this.#busyMs += nowMs() - began;
      // Its slot is free before listeners hear of it.
      if (this.#release(entry) && entry.watched !== null) this.#observer.ended(entry.watched, ok, value);
      // A task that kept this thread past its timeout (its timer could not fire) timed out all the same.
      const own = thenable ? ownMs() : ownHeld;
      if (own > entry.timeout) this.#finish(entry, false, localTimeoutError(entry, true));
      else this.#finish(entry, ok, ok ? value : this.#taskError(entry, value));
      this.#pump();
    };
    let result: unknown;
    let thenable = false;
    this.#inCall = true;
    try {
      // A plain call, as a worker makes it: `this` is not the queue's entry (which could settle the call).
      result = entry.flags & TaskFlag.Chunk ? (entry.task as ChunkFn)(entry.args[0], hold)
        : isTaskRef(entry.task) ? callExport(entry.spec, entry.args, hold) : Reflect.apply(entry.task as Fn, undefined, entry.args);
      thenable = isThenable(result);
    } catch (thrown) {
      thenable = false;
      this.#inCall = false;
      hold(nowMs() - began);
      done(false, thrown);
      return;
    }
    this.#inCall = false;
    hold(nowMs() - began);
    if (thenable) {
      Promise.resolve(result).then((value) => done(true, untransferred(value)), (thrown: unknown) => done(false, thrown));
    } else done(true, untransferred(result));
  }

  /** Frees the slot `entry` held; whether it held one. */
  #release(entry: Entry): boolean {
    if (!entry.holding) return false;
    entry.holding = false;
    if (entry.timer !== null) clearTimeout(entry.timer);
    this.#running--;
    this.#active.delete(entry);
    return true;
  }

  /** forkjoin's own failure (the task's module did not load, a lock's deadlock) as is; anything else the task threw, as a TaskError. */
  #taskError({ spec, args, task }: Entry, thrown: unknown): Error {
    // forkjoin's own error (a module that failed to load, a missing export) names the task, as on a pool;
    // a copy, unmarked, so that a task which lets it escape fails with a TaskError.
    if (isCallOutcome(thrown)) return withFacts(thrown as Error, { task: spec.label });
    const error = new TaskError(wireMessage(toWire(thrown)), { cause: thrown, task: spec.label });
    keepOrigin(error, spec, args, undefined, typeof task === 'function' ? task as Fn : undefined);
    return error;
  }

  #cancel(entry: Entry, reason: unknown): boolean {
    if (entry.state === 'settled') return false;
    if (entry.state === 'queued') this.#queue.cancelled(entry);
    const error = reason instanceof AbortError ? reason : new AbortError('The task was aborted', { cause: reason });
    if (reason === kSoftAbort) this.#finish(entry, false, error);
    else this.#giveUp(entry, error);
    return true;
  }

  #finish(entry: Entry, ok: boolean, value: unknown, counted = true): void {
    if (entry.state === 'settled') return;
    const neverStarted = entry.state === 'queued';
    entry.state = 'settled';
    // A task still running keeps its timer: one a failed map stopped observing gives up its slot
    // when its timeout passes, if it has not ended by then.
    if (entry.timer !== null && !entry.holding) clearTimeout(entry.timer);
    this.#signals.delete(entry.signal, entry);
    if (counted) this.#tally.settled(entry.flags, entry.args, ok, value, neverStarted, entry.submitted);
    entry.settle(ok, value);
  }

  /**
   * A running task whose caller stopped waiting for it (timed out, aborted) gives its slot to the
   * next: one that never settles would hold it for good. It may still be running, no longer counted.
   * (One a failed map or a left imap stopped observing keeps it: close() waits for it.)
   */
  #giveUp(entry: Entry, error: Error): void {
    if (entry.watched !== null && entry.holding) this.#observer.ended(entry.watched, false, error);
    this.#finish(entry, false, error);
    if (this.#release(entry)) this.#pump();
  }

  /** Fails every queued entry with `error`. */
  #dropQueued(error: Error): void {
    for (const entry of this.#queue.drain()) this.#finish(entry, false, error);
  }

  /** Any function: it is called here, not shipped. */
  protected override taskSpec(task: unknown): TaskSpec {
    return directTaskSpec(task);
  }

  protected chunkRunner(): ChunkRunner {
    return {
      parallelism: this.#concurrency,
      chunksPayOff: false,
      defaultTimeout: this.#timeout,
      openMap: (onClosing) => {
        if (this.#terminated) throw new ForkJoinError(ErrorCodes.EXECUTOR_TERMINATED, 'The LocalExecutor was terminated and accepts no new tasks');
        if (this.#closing) throw new ForkJoinError(ErrorCodes.EXECUTOR_CLOSED, 'The LocalExecutor is closed and accepts no new tasks');
        return this.#maps.open(onClosing);
      },
      runChunk: (spec, items, flags, chunk) => new Promise<ChunkResult>((resolve, reject) => {
        const task = chunkTask(chunk.task, spec, flags);
        this.#enqueue('map', task, [items], { signal: chunk.signal, timeout: chunk.timeout > 0 ? chunk.timeout : undefined },
          (ok, value) => (ok ? resolve(value as ChunkResult) : reject(value)), null, true, flags | TaskFlag.Chunk, spec);
      }),
    };
  }

  /** Calls `listener` with each event of `type`: taskStart and taskEnd (`worker` is the task's concurrency slot; no worker events). */
  on<T extends ExecutorEventType>(type: T, listener: ExecutorEventListener<T>): this {
    this.#observer.events.add('LocalExecutor.on', type, listener);
    return this;
  }

  /** Stops calling `listener` for events of `type`. */
  off<T extends ExecutorEventType>(type: T, listener: ExecutorEventListener<T>): this {
    this.#observer.events.remove('LocalExecutor.off', type, listener);
    return this;
  }

  /** Resolves when nothing is queued or running. */
  onIdle(): Promise<void> {
    return this.#idleWaiters.wait(this.#isIdle());
  }

  /** Nothing queued or running; after terminate(), what still runs here is no one's to wait for. */
  #isIdle(): boolean {
    return this.#terminated || (this.#queue.size === 0 && this.#running === 0);
  }

  #settleIdle(): void {
    this.#idleWaiters.check(this.#isIdle());
  }

  async close(options?: { cancelPending?: boolean | undefined }): Promise<void> {
    const cancelPending = closeOptions('LocalExecutor.close', options);
    this.#closing = true;
    if (cancelPending) {
      this.#dropQueued(new ForkJoinError(ErrorCodes.EXECUTOR_CLOSED, 'The LocalExecutor was closed before the task started'));
    }
    this.#maps.close(cancelPending);
    await this.#maps.drained();
    await this.onIdle();
  }

  async terminate(): Promise<void> {
    this.#closing = true;
    this.#terminated = true;
    const error = new ForkJoinError(ErrorCodes.EXECUTOR_TERMINATED, 'The LocalExecutor was terminated before the task finished');
    this.#dropQueued(error);
    // Work already running in this thread cannot be interrupted; its callers stop waiting.
    for (const entry of this.#active) {
      if (entry.watched !== null) this.#observer.ended(entry.watched, false, error); // and its lane is free
      this.#finish(entry, false, error);
      this.#release(entry); // and its timer: nothing of this executor's keeps the process
    }
    this.#maps.closing('terminate');
    this.#settleIdle();
  }

  stats(): ExecutorStats {
    const elapsed = nowMs() - this.#started;
    return {
      // Once closing, only the slots still running calls are left, none idle.
      workers: this.#closing ? this.#running : this.#concurrency,
      idleWorkers: this.#closing ? 0 : this.#concurrency - this.#running,
      queued: this.#queue.size,
      running: this.#running,
      done: this.#tally.done,
      failed: this.#tally.failed,
      workersReplaced: 0,
      utilisation: elapsed > 0 ? Math.min(1, this.#busyMs / (elapsed * this.#concurrency)) : 0,
      latency: this.#tally.latency.snapshot(),
    };
  }
}
