/**
 * The scheduler: runs a plan on an executor. Every node whose inputs exist is
 * handed over at once (the pools batch what arrives in one tick), up to a
 * bound on calls in flight; an input's result is dropped as soon as the last
 * node needing it has started; the first failure stops everything.
 */
import { nowMs } from '../clock.js';
import { isThenable } from '../transfer.js';
import { warnWriteFailed, type Cache } from '../cache/cache.js';
import { unstorableError, unstorablePart } from '../cache/storable.js';
import { ErrorCodes, isForkJoinError } from '../errors.js';
import type { CallOptions, Executor, Settled } from '../executor.js';
import type { Progress } from '../progress.js';
import type { GraphNode } from './delayed.js';
import { fillInputs } from './fill.js';
import { GraphError } from './error.js';
import { sameOrigin } from '../rerun.js';
import type { GraphEvent, GraphEventListener, GraphEventType } from './events.js';
import { RunState, type Plan } from './plan.js';

/** Settles per speed measurement. */
const WINDOW = 256;
/**
 * When the calls in flight would all be done within this many ms at the
 * measured pace, calls go without the stop signal: a signal makes each call
 * report its start, which costs more than letting such calls finish after a
 * failure. Otherwise (and until the pace is known) every call carries it.
 */
const DRAIN_MS = 200;
/** Cache writes allowed to be pending before no new node starts: bounds the memory they hold. */
const MAX_PENDING_WRITES = 64;
/**
 * Tiny calls of one task that are ready together go out as one starmap of at
 * most this many, which the executor runs in chunks: one message per chunk
 * instead of one per node (joblib's automatic batching, for a graph).
 */
const MAX_BATCH = 1024;
/** Fewer ready calls of one task than this go out one by one: a starmap has a cost of its own. */
const MIN_BATCH = 16;
/** How soon a graph whose executor is full of other work tries again. */
const NO_ROOM_RETRY_MS = 10;

/** What compute() hands the scheduler. */
export interface SchedulerOptions {
  executor: Executor;
  /** The executor runs calls in this thread (a LocalExecutor): chunks are not split for parallelism, single calls are bounded. */
  inThread: boolean;
  cache: Cache | null;
  retries: number;
  maxInFlight: number;
  onEvent: GraphEventListener | null;
  progress: Progress | null;
}

/** Runs one plan to its end, or to its first failure. */
export class Scheduler {
  readonly #executor: Executor;
  readonly #inThread: boolean;
  /**
   * Single calls in flight, and their bound: an in-thread executor's queue holds
   * what it cannot start, and more than a few per slot would only wait there.
   */
  #singles = 0;
  readonly #singleLimit: number;
  readonly #cache: Cache | null;
  readonly #retries: number;
  readonly #maxInFlight: number;
  readonly #onEvent: GraphEventListener | null;
  readonly #progress: Progress | null;
  readonly #stop = new AbortController();
  readonly #watched: CallOptions = { signal: this.#stop.signal };
  /** Runs whose inputs exist, last in first out: finishing what was started frees memory soonest. */
  readonly #ready: number[] = [];
  readonly #warned = new Set<string>();
  #plan: Plan | null = null;
  /** The arguments each running call was given, kept for a retry. */
  #args: Array<unknown[] | undefined> = [];
  #attempts: Map<number, number> | null = null;
  #started: Float64Array | null = null;
  #inflight = 0;
  /** Calls the executor takes at once, once it refused one for its maxQueue (see #noRoom). */
  #room = Number.POSITIVE_INFINITY;
  #pumpScheduled = false;
  #remaining = 0;
  #pendingWrites = 0;
  /** Async onEvent listeners not settled yet. */
  #listening = 0;
  #finished = false;
  /**
   * Until calls are known to be tiny, few go out at once, each carrying the stop
   * signal (a slow call needs no deep queue to keep a worker busy).
   */
  readonly #cautiousLimit: number;
  #tiny = false;
  /** Batches need room: with a small maxInFlight, calls go one by one. */
  readonly #batching: boolean;
  #settles = 0;
  #windowStart = nowMs();
  #resolve: () => void = () => undefined;
  #reject: (error: unknown) => void = () => undefined;

  constructor(options: SchedulerOptions) {
    this.#executor = options.executor;
    this.#inThread = options.inThread;
    this.#cache = options.cache;
    this.#retries = options.retries;
    this.#maxInFlight = options.maxInFlight;
    this.#onEvent = options.onEvent;
    this.#progress = options.progress;
    // A progress listener that throws stops the run, as an onEvent listener does.
    this.#progress?.onListenerFailure((thrown) => this.abort(thrown));
    this.#cautiousLimit = Math.min(this.#maxInFlight, Math.max(WINDOW, 4 * this.#parallelism()));
    this.#singleLimit = this.#inThread ? Math.max(64, 4 * this.#parallelism()) : Number.POSITIVE_INFINITY;
    this.#batching = this.#maxInFlight >= 4 * MIN_BATCH;
  }

  /** Runs the plan; resolves once every node ran and every cache write ended. */
  run(plan: Plan): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
      this.#plan = plan;
      this.#args = new Array<unknown[] | undefined>(plan.nodes.length);
      if (this.#onEvent !== null) this.#started = new Float64Array(plan.nodes.length);
      this.#remaining = plan.toRun;
      const { state, missing } = plan;
      for (let id = 0; id < plan.nodes.length; id++) {
        if (state[id] === RunState.Pending && missing[id] === 0) this.#enqueue(id);
      }
      if (this.#remaining === 0) this.#complete();
      else this.#pump();
    });
  }

  /** Stops the graph: nothing new starts, calls in flight are cancelled, run() rejects with `error`. */
  abort(error: unknown): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#ready.length = 0;
    this.#stop.abort(error);
    this.#reject(error);
  }

  #parallelism(): number {
    try {
      return Math.max(1, this.#executor.stats().workers);
    } catch {
      return 1;
    }
  }

  /** Tells the onEvent listener; one that throws (or an async one that rejects) stops the run, which rejects with its error. */
  #emit(type: GraphEventType, id: number, extra?: { ms?: number; error?: unknown; attempt?: number }): void {
    const node = (this.#plan as Plan).nodes[id];
    try {
      // `extra` holds the fields of `type`'s variant of GraphEvent: each caller gives them.
      const event = { type, key: node.key, task: node.fn.spec.label, ...extra } as GraphEvent;
      const out: unknown = (this.#onEvent as GraphEventListener)(event);
      if (isThenable(out)) {
        // The run ends once every async listener has settled (one that rejects on the last event still fails it).
        this.#listening++;
        Promise.resolve(out).then(() => {
          this.#listening--;
          if (this.#remaining === 0) this.#complete();
        }, (thrown: unknown) => {
          this.#listening--;
          this.abort(thrown);
        });
      }
    } catch (thrown) {
      this.abort(thrown);
    }
  }



  #enqueue(id: number): void {
    (this.#plan as Plan).state[id] = RunState.Ready;
    this.#ready.push(id);
    if (this.#onEvent !== null) this.#emit('queued', id);
  }

  /** Pumps once the current burst of settlements has been taken in, so that what became ready together goes out together. */
  #schedulePump(): void {
    if (this.#pumpScheduled) return;
    this.#pumpScheduled = true;
    queueMicrotask(() => {
      this.#pumpScheduled = false;
      this.#pump();
    });
  }

  #pump(): void {
    const limit = Math.min(this.#tiny ? this.#maxInFlight : this.#cautiousLimit, this.#room);
    const ready = this.#ready;
    while (this.#inflight < limit && ready.length > 0 && this.#pendingWrites < MAX_PENDING_WRITES && !this.#finished) {
      const room = limit - this.#inflight;
      if (this.#tiny && this.#batching && ready.length > 1) {
        // Wait for room for a whole batch rather than trickle tiny calls out one by one.
        if (room < MIN_BATCH && this.#inflight > 0) break;
        this.#startBatch(room);
      } else if (this.#singles < this.#singleLimit) this.#start(ready.pop() as number);
      else break;
    }
  }

  /** Marks a run started and returns its arguments (kept for a retry). */
  #begin(plan: Plan, id: number): unknown[] {
    const node = plan.nodes[id];
    let args = this.#args[id];
    if (args === undefined) {
      args = node.deps.length === 0 ? (node.args as unknown[]) : fillInputs(plan, id, node);
      this.#args[id] = args;
    }
    plan.state[id] = RunState.Running;
    this.#inflight++;
    if (this.#started !== null) {
      this.#started[id] = nowMs();
      const attempt = this.#attempts?.get(id);
      this.#emit('started', id, attempt === undefined ? undefined : { attempt });
    }
    return args;
  }

  #start(id: number): void {
    const plan = this.#plan as Plan;
    const args = this.#begin(plan, id);
    this.#singles++;
    let pending: Promise<unknown>;
    try {
      pending = this.#executor.run(plan.taskOf(id), args, this.#tiny ? undefined : this.#watched);
    } catch (error) {
      pending = Promise.reject(error);
    }
    pending.then((value) => {
      this.#singles--;
      this.#done(id, value);
    }, (error: unknown) => {
      this.#singles--;
      this.#failed(id, error);
    });
  }

  /** Ready runs of the task on top of the stack, as one starmap; outcomes come back one per run. */
  #startBatch(room: number): void {
    const plan = this.#plan as Plan;
    const ready = this.#ready;
    const first = ready.pop() as number;
    const spec = plan.nodes[first].fn.spec;
    const ids = [first];
    while (ids.length < room && ids.length < MAX_BATCH && ready.length > 0 && plan.nodes[ready[ready.length - 1]].fn.spec === spec) {
      ids.push(ready.pop() as number);
    }
    if (ids.length < MIN_BATCH) {
      for (const id of ids) this.#start(id);
      return;
    }
    const argLists = ids.map((id) => this.#begin(plan, id));
    const chunksize = this.#inThread ? ids.length : Math.ceil(ids.length / (2 * this.#parallelism()));
    let pending: Promise<Array<Settled<unknown>>>;
    try {
      pending = this.#executor.starmap(plan.taskOf(first), argLists, { settle: true, chunksize });
    } catch (error) {
      pending = Promise.reject(error);
    }
    pending.then((outcomes) => {
      for (let i = 0; i < ids.length; i++) {
        const outcome = outcomes[i];
        if (outcome.status === 'fulfilled') this.#done(ids[i], outcome.value);
        else if (isForkJoinError(outcome.reason, ErrorCodes.ARG_NOT_CLONEABLE) && !this.#finished) {
          // Its error names the batch's input (inputs[742][1]): sent alone, it names the node's own arguments.
          this.#inflight--;
          this.#start(ids[i]);
        } else this.#failed(ids[i], outcome.reason);
      }
    }, (error: unknown) => {
      for (const id of ids) this.#failed(id, error);
    });
  }

  /** Measures the pace of calls, to decide whether they are worth a stop signal. */
  #measure(): void {
    if (++this.#settles < WINDOW) return;
    const now = nowMs();
    const perSettle = (now - this.#windowStart) / this.#settles;
    this.#tiny = perSettle * this.#maxInFlight < DRAIN_MS;
    this.#settles = 0;
    this.#windowStart = now;
  }

  #done(id: number, value: unknown): void {
    this.#inflight--;
    if (this.#room !== Number.POSITIVE_INFINITY) this.#room++;
    this.#measure();
    if (this.#finished) return;
    const plan = this.#plan as Plan;
    plan.state[id] = RunState.Done;
    this.#args[id] = undefined;
    if (this.#started !== null) this.#emit('finished', id, { ms: nowMs() - this.#started[id] });
    this.#progress?.add(1, 0);
    if (this.#finished) return;
    const key = plan.cacheKeys?.[id];
    if (key !== undefined && key !== null && this.#cache !== null) this.#write(key, value);
    if (plan.refs[id] > 0) plan.values[id] = value;
    const { dependents, missing } = plan;
    for (let e = plan.dependentStart[id]; e < plan.dependentStart[id + 1]; e++) {
      const dependent = dependents[e];
      if (--missing[dependent] === 0) this.#enqueue(dependent);
    }
    if (--this.#remaining === 0) this.#complete();
    else this.#schedulePump();
  }

  #failed(id: number, error: unknown): void {
    this.#inflight--;
    if (this.#finished) return;
    if (isForkJoinError(error, ErrorCodes.QUEUE_FULL)) return this.#noRoom(id);
    const attempts = this.#attempts?.get(id) ?? 0;
    if (attempts < this.#retries && !isForkJoinError(error, ErrorCodes.ABORTED)) {
      (this.#attempts ??= new Map()).set(id, attempts + 1);
      this.#enqueue(id);
      this.#schedulePump();
      return;
    }
    if (this.#started !== null) this.#emit('failed', id, { ms: nowMs() - this.#started[id], error });
    this.#progress?.add(1, 1);
    const node = (this.#plan as Plan).nodes[id];
    // The executor wraps a task's throw in a TaskError; the graph's error carries the task's own.
    const cause = isForkJoinError(error, ErrorCodes.TASK_FAILED) && (error as Error).cause !== undefined ? (error as Error).cause : error;
    const message = error instanceof Error ? error.message : String(error);
    const tries = attempts > 0 ? ` after ${attempts + 1} attempts` : '';
    const failure = new GraphError(`The node ${node.key} (${node.fn.spec.label}) failed${tries}: ${message}`, {
      cause, key: node.key, task: node.fn.spec.label,
    });
    sameOrigin(failure, error); // rerunLocally(failure) runs the call that failed, whatever its task threw
    this.abort(failure);
  }

  /**
   * The executor refused a call, its queue full (`maxQueue`): the node waits on the stack for a call
   * to end, and no more of the graph's calls go out at once than it holds now (one more after each
   * that ends). With none of its own running (the executor is full of other work), it looks again soon.
   */
  #noRoom(id: number): void {
    (this.#plan as Plan).state[id] = RunState.Ready;
    this.#ready.push(id);
    this.#room = Math.max(1, this.#inflight);
    if (this.#inflight === 0) setTimeout(() => this.#schedulePump(), NO_ROOM_RETRY_MS);
  }

  #write(key: string, value: unknown): void {
    // A thread's result arrives cloned, as a cache keeps it; one computed here may hold a class instance, which it would not.
    const part = this.#inThread ? unstorablePart(value) : undefined;
    if (part !== undefined) return warnWriteFailed(this.#warned, 'compute', unstorableError(part));
    const cache = this.#cache as Cache;
    this.#pendingWrites++;
    let pending: Promise<void>;
    try {
      // A cache of one's own may store at once and return nothing, or a value that is no promise.
      pending = Promise.resolve(cache.set(key, value));
    } catch (error) {
      pending = Promise.reject(error);
    }
    pending.then(() => this.#written(), (error: unknown) => {
      warnWriteFailed(this.#warned, 'compute', error);
      this.#written();
    });
  }

  #written(): void {
    this.#pendingWrites--;
    if (this.#finished) return;
    if (this.#remaining === 0) this.#complete();
    else this.#schedulePump();
  }

  #complete(): void {
    if (this.#pendingWrites > 0 || this.#listening > 0 || this.#finished) return;
    this.#finished = true;
    this.#resolve();
  }
}
