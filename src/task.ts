/**
 * Naming a task: a typed reference to a module's export, or an inline
 * function shipped by its source text.
 */
import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ErrorCodes, ForkJoinError, InvalidTypeError } from './errors.js';
import { resolveSpecifier } from './host.js';
import { noteModuleNamed } from './module-file.js';
import { noteInlineFunction } from './rerun.js';

const kTaskRef = Symbol.for('forkjoin.taskRef');

/** A reference to the export `name` of the module at `module` (a URL). */
export interface TaskRef<A extends unknown[] = any[], R = unknown> {
  readonly module: string;
  readonly name: string;
  /** Carries the task's signature for the type checker; never set at run time. */
  readonly __signature?: (...args: A) => R;
}

/** A self-contained function, shipped to the worker by its source text. */
export type TaskFunction<A extends unknown[] = any[], R = unknown> = (...args: A) => R | PromiseLike<R>;

/** Anything an executor can run. */
export type Task<A extends unknown[] = any[], R = unknown> = TaskRef<A, R> | TaskFunction<A, R>;

/** The typed references `taskModule()` returns: one per exported function. */
export type TaskModule<M> = {
  readonly [K in keyof M as M[K] extends (...args: any[]) => unknown ? K : never]:
    M[K] extends (...args: infer A) => infer R ? TaskRef<A, Awaited<R>> : never;
};

/** The result type a task promises. */
export type TaskResult<T> = T extends Task<any[], infer R> ? Awaited<R> : never;

/** What the pool and the worker runtime know of a task. */
export interface TaskSpec {
  /** Identity of the code: the same key is the same function in every worker. */
  readonly key: string;
  readonly kind: 'module' | 'inline';
  /** Module URL for `module`; function source for `inline`. */
  readonly code: string;
  readonly name: string;
  /** How error messages name the task. */
  readonly label: string;
}

/**
 * Typed references to the exports of a task module, for any executor.
 * `taskModule<typeof import('./tasks.js')>(new URL('./tasks.js', import.meta.url))`
 */
export function taskModule<M>(url: URL | string): TaskModule<M> {
  const href = moduleHref(url);
  const refs = new Map<string, TaskRef>();
  return new Proxy(Object.create(null) as TaskModule<M>, {
    get(_target, prop) {
      if (typeof prop !== 'string' || prop === 'then') return undefined;
      let ref = refs.get(prop);
      if (ref === undefined) {
        ref = Object.freeze({ module: href, name: prop, [kTaskRef]: true });
        refs.set(prop, ref);
      }
      return ref;
    },
    has: (_target, prop) => typeof prop === 'string' && prop !== 'then',
  });
}

/** A reference to one export of a module, without the typed module object. */
export function taskRef<A extends unknown[] = any[], R = unknown>(url: URL | string, name = 'default'): TaskRef<A, R> {
  return Object.freeze({ module: moduleHref(url), name, [kTaskRef]: true });
}

function moduleHref(url: URL | string): string {
  if (url instanceof URL) return url.href;
  if (typeof url !== 'string') {
    throw new InvalidTypeError(`taskModule(url): url must be a URL or a string, got ${typeof url}`);
  }
  if (isAbsolute(url)) return pathToFileURL(url).href;
  if (/^(file|data|node):/.test(url)) return url;
  if (url.startsWith('.')) {
    throw new InvalidTypeError(
      `taskModule(url): the relative path ${JSON.stringify(url)} is ambiguous in a worker; ` +
        `pass new URL(${JSON.stringify(url)}, import.meta.url)`,
    );
  }
  try {
    return resolveSpecifier(url);
  } catch (cause) {
    throw new ForkJoinError(ErrorCodes.MODULE_LOAD_FAILED, `taskModule(url): cannot resolve ${JSON.stringify(url)}`, { cause });
  }
}

/** Whether `value` is a task reference made by taskModule() or taskRef(). */
export function isTaskRef(value: unknown): value is TaskRef {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[kTaskRef] === true;
}

const specs = new WeakMap<object, TaskSpec>();

/** The spec of a task, checked once and cached per function or reference. */
export function toTaskSpec(task: unknown): TaskSpec {
  if ((typeof task !== 'function' && typeof task !== 'object') || task === null) {
    throw new InvalidTypeError(`task must be a function or a task reference from taskModule(), got ${describeType(task)}`);
  }
  let spec = specs.get(task);
  if (spec === undefined) {
    spec = typeof task === 'function' ? inlineSpec(task) : refSpec(task);
    specs.set(task, spec);
    if (typeof task === 'function') noteInlineFunction(spec, task as (...args: unknown[]) => unknown);
  }
  return spec;
}

/** The spec of a task called in this thread (LocalExecutor): any function will do, even one whose source cannot be shipped. */
export function directTaskSpec(task: unknown): TaskSpec {
  try {
    return toTaskSpec(task);
  } catch (error) {
    if (typeof task !== 'function' || (error as { code?: unknown }).code !== ErrorCodes.INLINE_UNSUPPORTED) throw error;
    const name = task.name || 'anonymous';
    const spec: TaskSpec = { key: `d:${name}`, kind: 'inline', code: '', name, label: `function ${name}` };
    noteInlineFunction(spec, task as (...args: unknown[]) => unknown);
    return spec;
  }
}

function refSpec(ref: object): TaskSpec {
  if (!isTaskRef(ref)) {
    throw new InvalidTypeError('task must be a function or a task reference from taskModule(), got an object');
  }
  noteModuleNamed(ref.module);
  return moduleSpec(ref.module, ref.name);
}

/** The spec of export `name` of the module at `url` (a cluster engine makes it from a job). */
export function moduleSpec(url: string, name: string): TaskSpec {
  return { key: `m:${url}#${name}`, kind: 'module', code: url, name, label: `${url.slice(url.lastIndexOf('/') + 1)}#${name}` };
}

/** The spec of an inline function shipped as the expression `code`. */
export function inlineSpecOf(code: string, name: string): TaskSpec {
  return { key: `i:${code}`, kind: 'inline', code, name, label: `inline function ${name}` };
}

function inlineSpec(fn: Function): TaskSpec {
  const source = Function.prototype.toString.call(fn);
  const name = fn.name || 'anonymous';
  if (/\{\s*\[native code\]\s*\}\s*$/.test(source)) {
    throw new ForkJoinError(
      ErrorCodes.INLINE_UNSUPPORTED,
      `The function ${/^(bound )*$/.test(fn.name) ? `${fn.name}(anonymous)` : fn.name} is native or bound, so its source cannot be shipped to a worker; ` +
        'write the task as a plain function, or export it from a module and use taskModule()',
    );
  }
  return inlineSpecOf(expressionOf(source, name), name);
}

/** Source text that evaluates to the function: methods become object-literal members. */
function expressionOf(source: string, name: string): string {
  const candidates = [`(${source})`, `({${source}})[${JSON.stringify(name)}]`];
  for (const candidate of candidates) {
    try {
      new Function(`return ${candidate}`);
      return candidate;
    } catch { /* try the next form */ }
  }
  throw new ForkJoinError(
    ErrorCodes.INLINE_UNSUPPORTED,
    `The source of the function ${name} cannot be compiled on its own; export it from a module and use taskModule()`,
  );
}

export function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return `an object (${Object.prototype.toString.call(value).slice(8, -1)})`;
  if (value === undefined) return 'undefined';
  if (typeof value === 'function') return `a function${value.name ? ` (${value.name})` : ''}`;
  if (typeof value === 'bigint') return `bigint ${value}n`;
  return `${typeof value} ${typeof value === 'string' ? JSON.stringify(value) : String(value)}`;
}
