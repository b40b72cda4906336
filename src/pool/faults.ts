/** The errors a pool raises when something goes wrong around a task, each saying what happened and what to do. */
import { AbortError, CloneError, ErrorCodes, ForkJoinError, TaskTimeoutError, WorkerError } from '../errors.js';
import { isDetached } from '../transfer.js';
import { fromWire, type WireValue } from '../wire-error.js';
import { argumentsOf, describeUncloneable, findUncloneableIn, inputsOf } from './clone.js';
import type { Call } from './records.js';
import type { ExitInfo, Transport } from './transport.js';

function howItEnded(info: ExitInfo): string {
  if (info.signal !== null) return `was killed by ${info.signal}`;
  // A process that never started (spawn EMFILE): there is no code, only why.
  if (info.code === null) return `could not be started (${(info.error as Error | null)?.message ?? 'no reason given'})`;
  return `exited with code ${info.code}`;
}

/** The task a dead worker was running: out of memory, or exited/crashed. */
export function deathError(call: Call, info: ExitInfo, maxHeapMb: number | undefined): WorkerError | ForkJoinError {
  const attempts = call.attempts > 0 ? ` (after ${call.attempts + 1} attempts)` : '';
  if (info.unreadable !== undefined) {
    return new ForkJoinError(ErrorCodes.RESULT_NOT_CLONEABLE, `The results of the worker running ${call.spec.label} could not be read by the calling thread` +
      ` (${(info.unreadable as Error)?.message ?? String(info.unreadable)}: a result nested too deeply for its stack?)${attempts}; the worker was replaced,` +
      ' failing the calls it was running. Return a flatter structure (say, a list of nodes that name their parent by index)', { cause: info.unreadable, task: call.spec.label });
  }
  const cause = info.error ?? undefined;
  if (info.oom) {
    const limit = maxHeapMb === undefined ? '' : ` of ${maxHeapMb} MiB (maxHeapMb)`;
    return new WorkerError(ErrorCodes.WORKER_OUT_OF_MEMORY, `The worker running ${call.spec.label} ran out of memory${limit}${attempts}; the worker was replaced`, { cause, task: call.spec.label });
  }
  return new WorkerError(ErrorCodes.WORKER_EXITED, `The worker running ${call.spec.label} ${howItEnded(info)}${attempts}; the worker was replaced`, {
    cause, exitCode: info.code, signal: info.signal, task: call.spec.label,
  });
}

/** A call that never started, whose buffers moved with `transfer` to a worker that then ended: they went with it. */
export function movedAwayError(call: Call, transport: Transport): WorkerError {
  return new WorkerError(ErrorCodes.WORKER_EXITED, `${call.spec.label} did not start: ${transport.where} it was sent to ended first, and the buffers it moved there with \`transfer\` ended with it, so it cannot be sent again (pass them without transfer, or with retries, to keep a copy)`, {
    exitCode: null, signal: null, task: call.spec.label,
  });
}

/** A call that was running beside one the pool stopped its worker for. */
export function stoppedError(call: Call, reason: string): WorkerError {
  return new WorkerError(ErrorCodes.WORKER_EXITED, `The worker running ${call.spec.label} was stopped because ${reason}; ${call.spec.label} did not finish and was not run again (retries allow no more)`, {
    exitCode: null, signal: null, task: call.spec.label,
  });
}

export function timeoutError(call: Call): TaskTimeoutError {
  const timeout = call.options.timeout;
  const attempts = call.attempts > 0 ? ` (after ${call.attempts + 1} attempts)` : '';
  return new TaskTimeoutError(`${call.spec.label} ran longer than its timeout of ${timeout} ms${attempts}; its worker was replaced`, { timeout, task: call.spec.label });
}

/** `setupOverdueMs`: the timeout the last one's setup ran past (0: none did). */
export function startFailedError(pool: string, info: ExitInfo, times: number, setupOverdueMs = 0): WorkerError {
  const what = setupOverdueMs > 0
    ? `were stopped because their setup ran past its timeout of ${setupOverdueMs} ms, ${times} times in a row; check setup, or give it a longer timeout of its own: setup: { task, timeout }`
    : info.oom
      ? `ran out of memory (maxHeapMb) before they were ready, ${times} times in a row; check setup, or raise maxHeapMb`
      : `${howItEnded(info).replace('was', 'were')} before they were ready, ${times} times in a row; check execArgv, env and setup` +
        (info.lastWords === undefined ? '' : `. The last one's stderr ended with: ${info.lastWords}`);
  return new WorkerError(
    ErrorCodes.WORKER_START_FAILED,
    `${pool} workers ${what}`,
    { cause: info.error ?? undefined, exitCode: info.code, signal: info.signal },
  );
}

export function spawnFailedError(pool: string, transport: Transport, cause: unknown): WorkerError {
  return new WorkerError(ErrorCodes.WORKER_START_FAILED, `${pool} cannot start ${transport.where}: ${(cause as Error)?.message ?? String(cause)}`, { cause });
}

export function setupFailedError(pool: string, wire: WireValue): WorkerError {
  const cause = fromWire(wire);
  return new WorkerError(ErrorCodes.WORKER_START_FAILED, `The setup task of ${pool} failed: ${(cause as Error)?.message ?? String(cause)}`, { cause });
}

/**
 * A map chunk's error names the input by its `index` too: the map fails that input alone and sends the others again.
 * A call's `transfer` list is searched after its arguments, for a buffer already moved away (anything else listed, a
 * MessagePort, cannot be sent but with the list it is in).
 */
export function uncloneableError(call: Call, transport: Transport, cause: unknown): CloneError {
  const canClone = (v: unknown): boolean => transport.canClone(v);
  const first = call.options.firstInput;
  const listed = (call.options.transfer ?? []).map((item, i): [unknown, string] => [item, `transfer[${i}]`]);
  const found = findUncloneableIn(first === undefined ? argumentsOf(call.args) : inputsOf(call.args[0], first), canClone)
    ?? (first === undefined ? findUncloneableIn(listed, (item) => !isDetached(item)) : null);
  const message = found === null
    ? `The arguments of ${call.spec.label} cannot be sent to ${transport.where}: ${(cause as Error)?.message ?? String(cause)}`
    : describeUncloneable(found, transport.where) + transport.cloneHint(found.detail === '' ? found.what : found.detail);
  const index = first === undefined || found === null ? {} : { index: first + found.root };
  return new CloneError(ErrorCodes.ARG_NOT_CLONEABLE, message, { cause, path: found?.path ?? (first === undefined ? 'args' : 'inputs'), task: call.spec.label, ...index });
}

export function closedError(pool: string, pending: boolean): ForkJoinError {
  return new ForkJoinError(ErrorCodes.EXECUTOR_CLOSED, pending ? `The ${pool} was closed before the task started` : `The ${pool} is closed and accepts no new tasks`);
}

export function queueFullError(pool: string, maxQueue: number): ForkJoinError {
  return new ForkJoinError(ErrorCodes.QUEUE_FULL, `The ${pool} queue is full (maxQueue: ${maxQueue}); wait for tasks to finish, or raise maxQueue`);
}

/** The error of calls terminate() dropped, or (`late`) of one submitted after it. */
export function terminatedError(pool: string, late = false): ForkJoinError {
  return new ForkJoinError(ErrorCodes.EXECUTOR_TERMINATED, late ? `The ${pool} was terminated and accepts no new tasks` : `The ${pool} was terminated before the task finished`);
}

/** The error of a cancelled call: the reason itself when it is one, else an AbortError caused by it. */
export function abortError(reason: unknown): AbortError {
  if (reason instanceof AbortError) return reason;
  return new AbortError('The task was aborted', { cause: reason });
}
