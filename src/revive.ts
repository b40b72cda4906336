/** Turning an error that crossed from a worker back into what the caller sees. */
import {
  AbortError, CloneError, DeadlockError, ErrorCodes, ForkJoinError, TaskError, TaskTimeoutError, WorkerError, isForkJoinError, withFacts,
} from './errors.js';
import type { TaskSpec } from './task.js';
import { keepOrigin } from './rerun.js';
import { fromWire, toWire, wireMessage, type WireValue } from './wire-error.js';

/** What a LocalExecutor's map chunks threw, by the wire form they report it in. */
const thrownInThisThread = new WeakMap<WireValue, unknown>();

/**
 * The wire form of what a task threw in this thread (a LocalExecutor's map chunk): revived,
 * it is the thrown value itself, as a LocalExecutor's run() gives it, not a copy.
 */
export function thrownHere(thrown: unknown): WireValue {
  const wire = toWire(thrown);
  thrownInThisThread.set(wire, thrown);
  return wire;
}

/**
 * A task's failure as the caller sees it: forkjoin's own errors raised in the
 * worker (module not found, closure, ...), marked `own` on the wire, keep their
 * code; anything the task threw, whatever its code, becomes a TaskError whose
 * cause is the revived original. With the call's `args`, rerunLocally() can run it again.
 */
export function reviveTaskError(wire: WireValue, spec: TaskSpec, extras: Record<string, unknown> = {}, args?: readonly unknown[]): Error {
  const here = thrownInThisThread.has(wire);
  const original = here ? thrownInThisThread.get(wire) : fromWire(wire);
  if (wire.error && wire.own === true && isForkJoinError(original) && original.code !== ErrorCodes.TASK_FAILED) {
    // forkjoin's own error raised in this thread (a LocalExecutor): itself, as run() gives it.
    if (here) return withFacts(original as Error, { task: spec.label, ...extras });
    // Raised in a worker: same code, message and facts (path, cycle, timeout, ...).
    const { code: _code, ...facts } = original as unknown as Record<string, unknown>;
    const cause = (original as { cause?: unknown }).cause;
    const err = Reflect.construct(ForkJoinError, [original.code, original.message, { ...facts, cause, task: spec.label, ...extras }], classOf(original)) as ForkJoinError;
    if (wire.error && wire.stack !== undefined) err.stack = `${err.name} [${err.code}]: ${err.message}\n${framesOf(wire.stack)}`;
    return err;
  }
  const err = new TaskError(wireMessage(wire), { cause: original, task: spec.label, ...extras });
  if (args !== undefined) keepOrigin(err, spec, args, here ? undefined : original);
  if (wire.error && wire.stack !== undefined) {
    err.stack = `TaskError: ${err.message}\n${framesOf(wire.stack)}${here ? '' : `\n    at <${spec.label} in a worker>`}`;
  }
  return err;
}

/** forkjoin's error classes a worker may raise, by name: the caller's error is of the same class. */
const OWN_CLASSES = new Map<string, typeof ForkJoinError>([
  ['DeadlockError', DeadlockError], ['TaskTimeoutError', TaskTimeoutError], ['CloneError', CloneError], ['WorkerError', WorkerError],
  ['AbortError', AbortError],
] as Array<[string, typeof ForkJoinError]>);

function classOf(original: unknown): typeof ForkJoinError {
  const name = (original as { name?: unknown }).name;
  return (typeof name === 'string' ? OWN_CLASSES.get(name) : undefined) ?? ForkJoinError;
}

function framesOf(stack: string): string {
  return stack.split('\n').filter((line) => /^\s+at /.test(line)).join('\n');
}
