/**
 * Every error forkjoin raises, each with a stable `code` from one registry.
 *
 * forkjoin's own transports (pools, cluster) carry an error's code and name across a thread or
 * process. `instanceof` fails for an error of another realm (a vm context) or one revived from
 * another thread as a plain Error, so `isForkJoinError(err, code)` checks the code instead. A
 * user's own structuredClone() of a forkjoin error keeps its message, stack and cause, not its
 * code or name.
 */
import { util } from './builtins.js';
import type { GraphError } from './graph/error.js';

export const ErrorCodes = Object.freeze({
  /** The task threw; `cause` is its error, revived with name, message, code, props and stack. */
  TASK_FAILED: 'FJ_TASK_FAILED',
  /** The task ran longer than its `timeout`; its worker was replaced. */
  TASK_TIMEOUT: 'FJ_TASK_TIMEOUT',
  /** The task was cancelled by `job.cancel()` or an aborted `signal`. */
  ABORTED: 'FJ_ABORTED',
  /** The worker running the task exited or crashed (`process.exit`, a fatal error, a signal). */
  WORKER_EXITED: 'FJ_WORKER_EXITED',
  /** The worker running the task reached its heap limit (`maxHeapMb`). */
  WORKER_OUT_OF_MEMORY: 'FJ_WORKER_OUT_OF_MEMORY',
  /** New workers fail to start (bad `execArgv`, a `setup` task that throws, ...). */
  WORKER_START_FAILED: 'FJ_WORKER_START_FAILED',
  /** The task module could not be imported; the message is the loader's. */
  MODULE_LOAD_FAILED: 'FJ_MODULE_LOAD_FAILED',
  /** The task module does not export the named function. */
  TASK_NOT_EXPORTED: 'FJ_TASK_NOT_EXPORTED',
  /** An inline function reads a variable of its enclosing scope. */
  INLINE_CLOSURE: 'FJ_INLINE_CLOSURE',
  /** A function that cannot be shipped by source (native, bound, or unparsable). */
  INLINE_UNSUPPORTED: 'FJ_INLINE_UNSUPPORTED',
  /** An argument cannot be cloned to the worker; `path` names it. */
  ARG_NOT_CLONEABLE: 'FJ_ARG_NOT_CLONEABLE',
  /** A task's result cannot be cloned back to the caller. */
  RESULT_NOT_CLONEABLE: 'FJ_RESULT_NOT_CLONEABLE',
  /** `maxQueue` tasks are already waiting. */
  QUEUE_FULL: 'FJ_QUEUE_FULL',
  /** The executor is closed (or closing) and accepts no new work. */
  EXECUTOR_CLOSED: 'FJ_EXECUTOR_CLOSED',
  /** The executor was terminated while the task was pending. */
  EXECUTOR_TERMINATED: 'FJ_EXECUTOR_TERMINATED',
  /** An argument of a forkjoin function has the wrong type. */
  INVALID_ARG_TYPE: 'FJ_INVALID_ARG_TYPE',
  /** An argument of a forkjoin function is out of range. */
  INVALID_ARG_VALUE: 'FJ_INVALID_ARG_VALUE',
  /** A lock wait would close a cycle of waits between threads; `cycle` names its locks and threads. */
  DEADLOCK: 'FJ_DEADLOCK',
  /** A lock, permit, barrier or latch was not obtained within its `timeout`. */
  LOCK_TIMEOUT: 'FJ_LOCK_TIMEOUT',
  /** A barrier's round broke: a party's thread died while it waited (its worker exited, crashed or was stopped). */
  BARRIER_BROKEN: 'FJ_BARRIER_BROKEN',
  /** unlock() by a thread that does not hold the mutex. */
  LOCK_NOT_OWNER: 'FJ_LOCK_NOT_OWNER',
  /** A blocking wait (lockSync, acquireSync, waitSync) on the main thread, which must never block. */
  SYNC_WOULD_BLOCK: 'FJ_SYNC_WOULD_BLOCK',
  /** Too many mutexes or threads for the shared lock registry. */
  SYNC_LIMIT: 'FJ_SYNC_LIMIT',
  /** A lock was created in a thread that has no shared lock registry (not a ThreadPool worker). */
  SYNC_NO_REGISTRY: 'FJ_SYNC_NO_REGISTRY',
  /** A message on the wire that the other side does not understand: a forkjoin bug, or two forkjoin versions. */
  PROTOCOL: 'FJ_PROTOCOL',
  /** A shell command template that cannot be used (empty, or holding a NUL byte). */
  SHELL_TEMPLATE: 'FJ_SHELL_TEMPLATE',
  /** An input of `runCommands` cannot be read or cannot reach a command line (a NUL byte). */
  SHELL_INPUT: 'FJ_SHELL_INPUT',
  /** The joblog cannot be written, or cannot be read to resume (`--resume`). */
  SHELL_JOBLOG: 'FJ_SHELL_JOBLOG',
  /** The process that starts shell jobs failed (fork failed, or it died), or the jobs' `cwd` went away. */
  SHELL_SPAWN: 'FJ_SHELL_SPAWN',
  /** A job's output cannot be read: it was released, or its temporary file failed (disk full). */
  SHELL_OUTPUT: 'FJ_SHELL_OUTPUT',
  /** A node of a task graph failed; `key` and `task` name it, `cause` is the task's own error. */
  GRAPH_NODE_FAILED: 'FJ_GRAPH_NODE_FAILED',
  /** A cache entry was damaged (truncated, altered); it was dropped and its value recomputed. */
  CACHE_CORRUPT: 'FJ_CACHE_CORRUPT',
  /** A cache's get() threw or rejected; it was taken as a miss and the value recomputed. */
  CACHE_READ_FAILED: 'FJ_CACHE_READ_FAILED',
  /**
   * A value could not be stored in a cache (not cloneable, disk full); the computation went on.
   * Also a DiskCache whose directory cannot be created (a file in the way, no permission).
   */
  CACHE_WRITE_FAILED: 'FJ_CACHE_WRITE_FAILED',
  /** A cluster engine refused a task module outside its `--root` (or not a file: URL). */
  ENGINE_MODULE_REFUSED: 'FJ_ENGINE_MODULE_REFUSED',
  /** A cluster engine refused an inline function: it was not started with `--allow-inline`. */
  ENGINE_INLINE_REFUSED: 'FJ_ENGINE_INLINE_REFUSED',
  /** The engines running a task stopped more often than its `retries` allow, or a broadcast's engine left. */
  ENGINE_LOST: 'FJ_ENGINE_LOST',
  /** A cluster engine was started with the name of a live engine of its cluster (`--name`, or the default host-pid). */
  ENGINE_NAME_TAKEN: 'FJ_ENGINE_NAME_TAKEN',
  /** Redis cannot be reached or started (no redis-server installed, refused connection, bad URL), or refuses to store a call for lack of memory. */
  REDIS_UNAVAILABLE: 'FJ_REDIS_UNAVAILABLE',
  /**
   * Redis no longer holds a pending cluster call's job: it lost the cluster's data (restarted
   * without persistence, or flushed), or the client's liveness lapsed and engines took it for dead.
   */
  REDIS_DATA_LOST: 'FJ_REDIS_DATA_LOST',
});

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

const knownCodes: ReadonlySet<string> = new Set(Object.values(ErrorCodes));

/** What an error's constructor takes besides its message: its `cause`, and facts that become its properties. */
export interface ErrorExtras {
  cause?: unknown;
  [key: string]: unknown;
}

/** The base of every forkjoin error that is not a TypeError or RangeError. */
export class ForkJoinError extends Error {
  readonly code: ErrorCode;
  /** The input of a map, starmap or imap the error is for. */
  declare readonly index?: number;
  /** The cluster engine the error happened on, and its host. */
  declare readonly engine?: string;
  declare readonly host?: string;
  /** The error this one is about, where there is one (the task's own error, a system error...). */
  declare readonly cause?: unknown;

  constructor(code: ErrorCode, message: string, extras: ErrorExtras = {}) {
    const { cause, ...props } = extras;
    super(message, cause === undefined ? undefined : { cause });
    this.code = code;
    Object.assign(this, props);
  }

  override get name(): string {
    return this.constructor.name;
  }
}

/**
 * A copy of `error` with more facts (the map input it failed: `index`; its task: `task`). One
 * error may fail many calls at once (terminate(), close(), a module that failed to load), so
 * it is never marked itself.
 *
 * The copy is what a call gives its caller, so it drops callOutcome()'s mark: that mark is for
 * the call the error was raised in, and a task that lets the copy escape fails with it as its
 * own error (a TaskError), as it would with an inner pool's.
 */
export function withFacts<E extends Error>(error: E, facts: Record<string, unknown>): E {
  const copy = Reflect.construct(Error, [error.message], error.constructor) as E;
  for (const key of Reflect.ownKeys(error)) {
    const own = key === kCallOutcome ? undefined : Object.getOwnPropertyDescriptor(error, key);
    if (own !== undefined) Object.defineProperty(copy, key, own);
  }
  return Object.assign(copy, facts);
}

/** A task threw. `cause` is the task's own error; `task` names the task. */
export class TaskError extends ForkJoinError {
  declare readonly code: typeof ErrorCodes.TASK_FAILED;
  declare readonly task: string;
  declare readonly worker?: number;
  constructor(message: string, extras: ErrorExtras & { task: string }) {
    super(ErrorCodes.TASK_FAILED, message, extras);
  }
}

/** A task outlived its `timeout`. */
export class TaskTimeoutError extends ForkJoinError {
  declare readonly code: typeof ErrorCodes.TASK_TIMEOUT;
  declare readonly timeout: number;
  constructor(message: string, extras: ErrorExtras & { timeout: number }) {
    super(ErrorCodes.TASK_TIMEOUT, message, extras);
  }
}

/** A task was cancelled or its signal aborted. Named `AbortError`, like the platform's. */
export class AbortError extends ForkJoinError {
  declare readonly code: typeof ErrorCodes.ABORTED;
  constructor(message = 'The task was aborted', extras: ErrorExtras = {}) {
    super(ErrorCodes.ABORTED, message, extras);
  }
  override get name(): string {
    return 'AbortError';
  }
}

/**
 * Whether a call that ended with `error` was cancelled rather than failed: aborted, or accepted
 * and dropped before it started by close({ cancelPending }) or terminate(). Job states and
 * stats() both go by it.
 */
export function isCancellation(error: unknown, neverStarted: boolean): boolean {
  if (error instanceof AbortError) return true;
  const code = (error as { code?: unknown } | null)?.code;
  return neverStarted && (code === ErrorCodes.EXECUTOR_CLOSED || code === ErrorCodes.EXECUTOR_TERMINATED);
}

/** The worker holding the task died: exited, crashed or ran out of memory. */
export class WorkerError extends ForkJoinError {
  declare readonly exitCode?: number | null;
  declare readonly signal?: string | null;
}

/** An argument could not be sent to a worker; `path` names it, e.g. `args[1].socket`. */
export class CloneError extends ForkJoinError {
  declare readonly path: string;
}

/** A lock wait that would close a cycle of waits between threads. */
export class DeadlockError extends ForkJoinError {
  declare readonly code: typeof ErrorCodes.DEADLOCK;
  declare readonly cycle: ReadonlyArray<{ thread: number; waitsFor: string; heldBy: number }>;
  constructor(message: string, extras: ErrorExtras & { cycle: ReadonlyArray<{ thread: number; waitsFor: string; heldBy: number }> }) {
    super(ErrorCodes.DEADLOCK, message, extras);
  }
}

/** A TypeError with a stable code: an option or argument of the wrong type. */
export class InvalidTypeError extends TypeError {
  readonly code = ErrorCodes.INVALID_ARG_TYPE;
  override get name(): string {
    return 'TypeError';
  }
}

/** A RangeError with a stable code: an option or argument out of range. */
export class InvalidValueError extends RangeError {
  readonly code = ErrorCodes.INVALID_ARG_VALUE;
  override get name(): string {
    return 'RangeError';
  }
}

/** The class the Errors table gives each code, for the type checker. */
type ErrorClassOf<C extends ErrorCode> =
  C extends typeof ErrorCodes.TASK_FAILED ? TaskError
  : C extends typeof ErrorCodes.TASK_TIMEOUT ? TaskTimeoutError
  : C extends typeof ErrorCodes.ABORTED ? AbortError
  : C extends typeof ErrorCodes.WORKER_EXITED | typeof ErrorCodes.WORKER_OUT_OF_MEMORY | typeof ErrorCodes.WORKER_START_FAILED ? WorkerError
  : C extends typeof ErrorCodes.ARG_NOT_CLONEABLE ? CloneError
  : C extends typeof ErrorCodes.DEADLOCK ? DeadlockError
  : C extends typeof ErrorCodes.GRAPH_NODE_FAILED ? GraphError
  : C extends typeof ErrorCodes.INVALID_ARG_TYPE ? InvalidTypeError
  : C extends typeof ErrorCodes.INVALID_ARG_VALUE ? InvalidValueError
  : ForkJoinError;

/**
 * A forkjoin error with `code`, typed as the class the Errors table names (its properties: a
 * CloneError's `path`, a TaskTimeoutError's `timeout`...), whatever realm or thread made it.
 * For a union of codes, the union of each code's error, so checking `err.code` narrows it.
 */
export type ForkJoinErrorWith<C extends ErrorCode> = C extends ErrorCode ? ErrorClassOf<C> & { readonly code: C } : never;

/**
 * Whether `err` is a forkjoin error (optionally with `code`): an Error with one of forkjoin's
 * codes. Works across realms and after forkjoin carried an error across a thread or process.
 */
export function isForkJoinError<C extends ErrorCode>(err: unknown, code: C): err is ForkJoinErrorWith<C>;
export function isForkJoinError(err: unknown, code?: ErrorCode): err is ForkJoinErrorWith<ErrorCode>;
export function isForkJoinError(err: unknown, code?: ErrorCode): err is ForkJoinErrorWith<ErrorCode> {
  // A real Error of any realm, not an object that only looks like one ({ code: 'FJ_TASK_FAILED' }),
  // which the type this narrows to would misdescribe.
  if (!util().types.isNativeError(err)) return false;
  let value: unknown;
  try {
    value = (err as { code?: unknown }).code;
  } catch {
    return false; // a getter that throws, a revoked Proxy: no error of forkjoin's (the caller keeps what it caught)
  }
  if (typeof value !== 'string' || !knownCodes.has(value)) return false;
  return code === undefined || value === code;
}

const kCallOutcome = Symbol.for('forkjoin.callOutcome');

/**
 * Marks an error that forkjoin raises inside a task as the outcome of the call itself (a lock's
 * deadlock, a wait's timeout): the caller gets it with its own code, not as a TaskError.
 */
export function callOutcome<E extends Error>(err: E): E {
  Object.defineProperty(err, kCallOutcome, { value: true });
  return err;
}

/** Whether `err` was marked by callOutcome(); never throws, even for a hostile Proxy. */
export function isCallOutcome(err: unknown): boolean {
  try {
    return typeof err === 'object' && err !== null && (err as Record<symbol, unknown>)[kCallOutcome] === true;
  } catch {
    return false;
  }
}
