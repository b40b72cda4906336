/**
 * Loading a task module's export, wherever the task runs (a worker, or the
 * calling thread for LocalExecutor), with errors that say what went wrong.
 */
import { ErrorCodes, ForkJoinError, type ErrorCode } from './errors.js';
import { util } from './builtins.js';
import { importModule } from './host.js';

type Fn = (...args: unknown[]) => unknown;

const modules = new Map<string, Promise<Record<string, unknown>>>();

/** A ForkJoinError raised where the task runs; its code survives cloning (a plain property). */
export function codedError(code: ErrorCode, message: string, cause?: unknown): ForkJoinError {
  return new ForkJoinError(code, message, cause === undefined ? {} : { cause });
}

/** The function `name` exported by the module at `url`, imported once per thread. */
export async function loadExport(url: string, name: string): Promise<Fn> {
  let pending = modules.get(url);
  if (pending === undefined) {
    pending = importModule(url) as Promise<Record<string, unknown>>;
    modules.set(url, pending);
  }
  let mod: Record<string, unknown>;
  try {
    mod = await pending;
  } catch (thrown) {
    const message = thrown instanceof Error ? thrown.message : String(thrown);
    throw codedError(ErrorCodes.MODULE_LOAD_FAILED, `Cannot load the task module ${url}: ${message}`, thrown);
  }
  const file = url.slice(url.lastIndexOf('/') + 1);
  if (!util().types.isModuleNamespaceObject(mod)) {
    // import() resolves to the module, and a module with a `then` export is taken for a promise.
    throw codedError(ErrorCodes.MODULE_LOAD_FAILED, `Cannot load the task module ${url}: it exports \`then\`, so import() takes it for a promise and resolves to what its then() gives; rename that export`);
  }
  const fn = mod[name];
  if (typeof fn === 'function') return fn as Fn;
  const exported = Object.keys(mod).filter((key) => typeof mod[key] === 'function');
  const why = fn === undefined ? 'is not exported by' : `is not a function (it is ${typeof fn}) in`;
  throw codedError(
    ErrorCodes.TASK_NOT_EXPORTED,
    `\`${name}\` ${why} ${file} (exported functions: ${exported.length > 0 ? exported.join(', ') : 'none'})`,
  );
}
