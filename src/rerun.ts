/**
 * rerunLocally(error): runs the task that threw `error` again, in the calling thread, with the
 * arguments it was called with, so that a debugger stops where it throws and its stack is the
 * caller's own, as Dask's recreate_error_locally does. What a failure needs for that (its task
 * and arguments) is kept beside the error in a WeakMap: nothing on the error itself, and
 * nothing once the error is garbage.
 */
import { InvalidValueError } from './errors.js';
import { loadExport } from './task-loader.js';
import type { TaskSpec } from './task.js';
import { untransferred } from './transfer.js';

interface Origin {
  spec: TaskSpec;
  /** The function itself, for an inline task (its source runs in a worker; here, the original). */
  fn: ((...args: unknown[]) => unknown) | undefined;
  args: readonly unknown[];
}

const origins = new WeakMap<object, Origin>();
/** The function of each inline task spec, as the caller passed it. */
const inlineFunctions = new WeakMap<TaskSpec, (...args: unknown[]) => unknown>();

/** Notes the function an inline task spec was made from (task.ts). */
export function noteInlineFunction(spec: TaskSpec, fn: (...args: unknown[]) => unknown): void {
  inlineFunctions.set(spec, fn);
}

/**
 * Notes that `error` came from calling the task of `spec` with `args`; so did `copy`, the task's
 * own error revived from a worker (a fresh object: never the task's own, which it may throw
 * again for another call). `fn` is the task itself when the caller's thread ran it.
 */
export function keepOrigin(error: object, spec: TaskSpec, args: readonly unknown[], copy?: unknown, fn?: (...args: unknown[]) => unknown): void {
  const origin: Origin = { spec, fn: fn ?? inlineFunctions.get(spec), args };
  origins.set(error, origin);
  if (typeof copy === 'object' && copy !== null) origins.set(copy, origin);
}

/** `error` (a GraphError) came from the same call as `from` (the executor's error). */
export function sameOrigin(error: object, from: unknown): void {
  const origin = typeof from === 'object' && from !== null ? origins.get(from) : undefined;
  if (origin !== undefined) origins.set(error, origin);
}

/** The origin of `error`, or of the first error in its chain of causes that has one; a cause that cannot be read ends the chain. */
function originOf(error: unknown): Origin | undefined {
  const seen = new Set<unknown>();
  let e = error;
  try {
    while (typeof e === 'object' && e !== null && !seen.has(e)) {
      seen.add(e);
      const origin = origins.get(e);
      if (origin !== undefined) return origin;
      e = (e as { cause?: unknown }).cause;
    }
  } catch {
    // A getter or a Proxy trap that throws: no origin beyond it.
  }
  return undefined;
}

/**
 * Runs the task that threw `error` once more, in this thread, with the same arguments, and
 * resolves to its result, or rejects with what it throws: the task's own error, thrown here.
 * `error` is a TaskError from a ThreadPool, ProcessPool or LocalExecutor (run, submit, map,
 * starmap, imap), on a pool its `cause`, or compute()'s GraphError.
 * Arguments are those the caller passed: one transferred to a worker is empty here.
 */
export async function rerunLocally(error: unknown): Promise<unknown> {
  const origin = originOf(error);
  if (origin === undefined) {
    throw new InvalidValueError('rerunLocally(): this error did not come from a task that threw on a ThreadPool, ProcessPool or LocalExecutor of this process '
      + '(a TaskError from run, submit, map, starmap or imap, on a pool its cause, or the GraphError of compute); a timeout, a crashed worker, or a Cluster\'s error cannot be re-run here');
  }
  const { spec, args } = origin;
  let fn = origin.fn;
  if (fn === undefined) {
    if (spec.kind !== 'module') throw new InvalidValueError(`rerunLocally(): the function of ${spec.label} is no longer known here`);
    fn = (await loadExport(spec.code, spec.name)) as (...args: unknown[]) => unknown;
  }
  return untransferred(await fn(...args));
}
