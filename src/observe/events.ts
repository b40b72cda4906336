/**
 * What an executor tells listeners of the work it runs: each task's start and end, each
 * worker's start and exit. The types, and the registry every local executor keeps them in.
 */
import { InvalidTypeError, InvalidValueError } from '../errors.js';
import type { Executor } from '../executor.js';
import type { WireValue } from '../wire-error.js';

/**
 * Why a worker exited: `idle` (idleTimeout), `recycled` (maxTasksPerWorker), `crashed` (it exited
 * or threw on its own), `out-of-memory`, `timeout` / `aborted` (a task on it ran too long / was
 * aborted), `stuck` (busy outside any task), `setup-failed`, `closed` (close()), `terminated`.
 */
export type WorkerExitReason =
  | 'idle' | 'recycled' | 'crashed' | 'out-of-memory' | 'timeout' | 'aborted' | 'stuck' | 'setup-failed' | 'closed' | 'terminated';

/** A task's error as events carry it: the task's own error (not the TaskError wrapping it), or forkjoin's. */
export interface TaskEventError {
  code?: string;
  name: string;
  message: string;
}

export interface TaskStartEvent {
  type: 'taskStart';
  /** The call's id in this executor, the same in its taskEnd (not the Job's id). */
  id: number;
  /** The task's name: its export name, or the inline function's name. */
  task: string;
  /** The worker running it, numbered from 1 in this executor; on a LocalExecutor, its concurrency slot. */
  worker: number;
  /** When it began, in epoch ms (sub-millisecond; measured where it runs). */
  at: number;
  /** 1, or the number of inputs of a map chunk. */
  inputs: number;
}

export interface TaskEndEvent {
  type: 'taskEnd';
  id: number;
  task: string;
  worker: number;
  /** Epoch ms, measured where it ran (performance.timeOrigin + performance.now()); for a task whose worker died, `end` is when the pool saw it. */
  start: number;
  end: number;
  ms: number;
  inputs: number;
  /** False when it threw (a map chunk: when one of its inputs did), timed out, was aborted, or its worker died. */
  ok: boolean;
  error?: TaskEventError;
}

export interface WorkerStartEvent {
  type: 'workerStart';
  worker: number;
  /** When the pool started it, in epoch ms. */
  at: number;
}

export interface WorkerExitEvent {
  type: 'workerExit';
  worker: number;
  at: number;
  reason: WorkerExitReason;
}

export interface ExecutorEventMap {
  taskStart: TaskStartEvent;
  taskEnd: TaskEndEvent;
  workerStart: WorkerStartEvent;
  workerExit: WorkerExitEvent;
}
export type ExecutorEventType = keyof ExecutorEventMap;
export type ExecutorEvent = ExecutorEventMap[ExecutorEventType];
export type ExecutorEventListener<T extends ExecutorEventType = ExecutorEventType> = (event: ExecutorEventMap[T]) => unknown;

/** An executor that emits events: ThreadPool, ProcessPool and LocalExecutor (not Cluster, yet). */
export interface ObservableExecutor extends Executor {
  /** Calls `listener` with each event of `type`; returns the executor. */
  on<T extends ExecutorEventType>(type: T, listener: ExecutorEventListener<T>): this;
  /** Stops calling `listener`; returns the executor. */
  off<T extends ExecutorEventType>(type: T, listener: ExecutorEventListener<T>): this;
}

const TYPES: readonly ExecutorEventType[] = ['taskStart', 'taskEnd', 'workerStart', 'workerExit'];
type AnyListener = (event: ExecutorEvent) => unknown;
type Listeners = Record<ExecutorEventType, readonly AnyListener[]>;

/** Milliseconds since the epoch, sub-millisecond: read only while someone listens (the first read loads perf_hooks). */
export function epochMs(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * `{ code, name, message }` of an error, of what a worker sent of one, or of a thrown value. Never
 * throws: a value with no string form (`Object.create(null)`, a getter that throws, a Proxy) is
 * described by its type.
 */
export function errorFacts(error: unknown): TaskEventError {
  try {
    const e = error as { code?: unknown; name?: unknown; message?: unknown } | null;
    const code = e?.code;
    const name = e?.name;
    const message = e?.message;
    if (typeof name === 'string' && typeof message === 'string') return { ...(typeof code === 'string' ? { code } : {}), name, message };
    return { name: 'Error', message: String(error) };
  } catch {
    return { name: 'Error', message: unprintable(error) };
  }
}

/** What a value whose own string form throws is. */
function unprintable(value: unknown): string {
  try {
    return `${Object.prototype.toString.call(value)} (it has no string form)`;
  } catch {
    return `a thrown ${typeof value} (it has no string form)`;
  }
}

/** errorFacts() of what a worker sent: a wire error (its own code kept), or a thrown value's text. */
export function wireFacts(wire: WireValue): TaskEventError {
  if (!wire.error) return { name: 'Error', message: wire.text };
  const code = wire.props.code ?? wire.hidden?.code;
  return { ...(typeof code === 'string' ? { code } : {}), name: wire.name, message: wire.message };
}

/**
 * The listeners of one executor. `timed` and `starts` are read where calls are sent: while
 * nobody listens to tasks, nothing is timed and workers report nothing more.
 */
export class ExecutorEvents {
  #listeners: Listeners = { taskStart: [], taskEnd: [], workerStart: [], workerExit: [] };
  readonly #warned = new WeakSet<object>();
  /** A taskStart or taskEnd listener is attached. */
  timed = false;
  /** A taskStart listener is attached: workers report each start as it happens. */
  starts = false;
  /** A workerStart or workerExit listener is attached. */
  workers = false;

  add(where: string, type: unknown, listener: unknown): void {
    const t = checked(where, type, listener);
    this.#set(t, [...this.#listeners[t], listener as AnyListener]);
  }

  remove(where: string, type: unknown, listener: unknown): void {
    const t = checked(where, type, listener);
    const list = this.#listeners[t];
    const at = list.lastIndexOf(listener as AnyListener);
    if (at >= 0) this.#set(t, list.filter((_, i) => i !== at));
  }

  #set(type: ExecutorEventType, list: readonly AnyListener[]): void {
    this.#listeners = { ...this.#listeners, [type]: list };
    const l = this.#listeners;
    this.starts = l.taskStart.length > 0;
    this.timed = this.starts || l.taskEnd.length > 0;
    this.workers = l.workerStart.length > 0 || l.workerExit.length > 0;
  }

  /** Whether anyone listens to `type`. */
  has(type: ExecutorEventType): boolean {
    return this.#listeners[type].length > 0;
  }

  /** Calls each listener of the event's type; one that throws or rejects is reported once as a process warning, and keeps listening. */
  emit(event: ExecutorEvent): void {
    for (const listener of this.#listeners[event.type]) {
      try {
        const returned = listener(event) as PromiseLike<unknown> | null | undefined;
        // Reading `then` of what it returned may throw too (a Proxy): caught below.
        if (typeof returned?.then === 'function') returned.then(undefined, (thrown: unknown) => this.#failed(listener, event.type, thrown));
      } catch (thrown) {
        this.#failed(listener, event.type, thrown);
      }
    }
  }

  /** Reports a listener's failure; it cannot throw, so a listener never changes a call's outcome or the executor's state. */
  #failed(listener: object, type: string, thrown: unknown): void {
    if (this.#warned.has(listener)) return;
    this.#warned.add(listener);
    try {
      const { message } = errorFacts(thrown);
      process.emitWarning(`A forkjoin '${type}' listener threw: ${message}. The executor carries on; this listener stays attached, and its next failures are not reported`, {
        code: 'FORKJOIN_LISTENER_FAILED',
      });
    } catch {
      // A 'warning' machinery patched to throw: the listener's failure goes unreported, the work carries on.
    }
  }
}

function checked(where: string, type: unknown, listener: unknown): ExecutorEventType {
  if (!TYPES.includes(type as ExecutorEventType)) {
    throw new InvalidValueError(`${where}: the event type must be one of ${TYPES.map((t) => `'${t}'`).join(', ')}; received ${typeof type === 'string' ? `'${type}'` : typeof type}`);
  }
  if (typeof listener !== 'function') throw new InvalidTypeError(`${where}: the listener must be a function; received ${listener === null ? 'null' : typeof listener}`);
  return type as ExecutorEventType;
}
