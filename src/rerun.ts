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
 * Notes that `error` (and `cause`, the task's own error it wraps) came from calling the task of
 * `spec` with `args`; `fn` is the task itself when the caller's thread ran it.
 */
export function keepOrigin(error: unknown, spec: TaskSpec, args: readonly unknown[], cause?: unknown, fn?: (...args: unknown[]) => unknown): void {
  const origin: Origin = { spec, fn: fn ?? inlineFunctions.get(spec), args };
  if (typeof error === 'object' && error !== null) origins.set(error, origin);
  if (typeof cause === 'object' && cause !== null && !origins.has(cause)) origins.set(cause, origin);
}

/** The origin of `error`, or of the first error in its chain of causes that has one (a GraphError's task error). */
function originOf(error: unknown): Origin | undefined {
  const seen = new Set<unknown>();
  for (let e = error; typeof e === 'object' && e !== null && !seen.has(e); e = (e as { cause?: unknown }).cause) {
    seen.add(e);
    const origin = origins.get(e);
    if (origin !== undefined) return origin;
  }
  return undefined;
}

/**
 * Runs the task that threw `error` once more, in this thread, with the same arguments, and
 * resolves to its result, or rejects with what it throws: the task's own error, thrown here.
 * `error` is a TaskError from a ThreadPool, ProcessPool or LocalExecutor (run, submit, map,
 * starmap, imap), its `cause`, or an error whose chain of causes holds one (a GraphError).
 * Arguments are those the caller passed: one transferred to a worker is empty here.
 */
export async function rerunLocally(error: unknown): Promise<unknown> {
  const origin = originOf(error);
  if (origin === undefined) {
    throw new InvalidValueError('rerunLocally(): this error did not come from a task that threw on a ThreadPool, ProcessPool or LocalExecutor of this process '
      + '(a TaskError from run, submit, map, starmap or imap, its cause, or an error caused by one); a timeout, a crashed worker, or a Cluster\'s error cannot be re-run here');
  }
  const { spec, args } = origin;
  let fn = origin.fn;
  if (fn === undefined) {
    if (spec.kind !== 'module') throw new InvalidValueError(`rerunLocally(): the function of ${spec.label} is no longer known here`);
    fn = (await loadExport(spec.code, spec.name)) as (...args: unknown[]) => unknown;
  }
  return await fn(...args);
}
