/**
 * Finding the value that cannot cross a thread or process boundary, and
 * naming its path. Only runs after a send failed, so the fast path pays nothing.
 */
import { util } from '../builtins.js';

export interface Uncloneable {
  /** Path of the offending value, e.g. `args[1].socket`. */
  path: string;
  /** What it is, e.g. `a Socket` or `a function`. */
  what: string;
  /** The deeper property that made it fail, when the path names a container. */
  detail: string;
}

type CanClone = (value: unknown) => boolean;

function kind(value: unknown): string {
  if (value instanceof ThrowingGetter) return `a getter that throws (${String((value.thrown as Error)?.message ?? value.thrown)})`;
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'symbol') return 'a symbol';
  if (typeof value !== 'object' || value === null) return typeof value;
  if (util().types.isProxy(value)) return 'a Proxy';
  const proto = Object.getPrototypeOf(value);
  const name = proto?.constructor?.name;
  return name ? `${/^[AEIOU]/.test(name) ? 'an' : 'a'} ${name}` : 'an object';
}

function isPlainContainer(value: object): boolean {
  if (Array.isArray(value)) return true;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** The parts of a container to look into, each with the step of its path (`[1]`, `.name`, `.get("k")`). */
export function children(value: object): Array<[string, unknown]> {
  if (Array.isArray(value)) return value.map((item, i) => [`[${i}]`, item]);
  if (value instanceof Map) {
    const out: Array<[string, unknown]> = [];
    let i = 0;
    for (const [key, item] of value) {
      out.push([`<map key ${i}>`, key], [`.get(${typeof key === 'string' ? JSON.stringify(key) : `<key ${i}>`})`, item]);
      i++;
    }
    return out;
  }
  if (value instanceof Set) return [...value].map((item, i) => [`<set item ${i}>`, item]);
  return Object.keys(value).map((key) => {
    const path = /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
    try {
      return [path, (value as Record<string, unknown>)[key]];
    } catch (thrown) {
      return [path, new ThrowingGetter(thrown)];
    }
  });
}

/** Stands for a property whose getter throws: reading it is what failed. */
class ThrowingGetter {
  constructor(readonly thrown: unknown) {}
}

/**
 * The first value under `root` that `canClone` rejects, or null. The path
 * stops at the outermost object that is not a plain object or array (a class
 * instance such as a Socket): that is what the caller passed.
 */
export function findUncloneable(root: unknown, rootPath: string, canClone: CanClone): Uncloneable | null {
  try {
    return walk(root, rootPath, (value) => !(value instanceof ThrowingGetter) && canClone(value));
  } catch {
    return null; // a Proxy or a hostile object defeated the walk: the caller reports the whole value
  }
}

function walk(root: unknown, rootPath: string, canClone: CanClone): Uncloneable | null {
  if (canClone(root)) return null;
  const seen = new Set<object>();
  let path = rootPath;
  let value = root;
  let reported: { path: string; value: unknown } | null = null;
  for (;;) {
    if (reported === null && typeof value === 'object' && value !== null && !isPlainContainer(value)) {
      reported = { path, value };
    }
    if (typeof value !== 'object' || value === null || seen.has(value)) break;
    seen.add(value);
    const bad = children(value).find(([, child]) => !canClone(child));
    if (bad === undefined) break;
    path += bad[0];
    value = bad[1];
  }
  const shown = reported ?? { path, value };
  const detail = shown.path === path ? '' : `its ${path.slice(shown.path.length).replace(/^\./, '')} is ${kind(value)}`;
  return { path: shown.path, what: kind(shown.value), detail };
}

/** A sentence that names the value and says what to do. */
/** A map chunk's inputs, each named by its index in the whole map (`inputs[7]`). */
export function inputsOf(items: unknown, first: number): Array<[unknown, string]> {
  return Array.isArray(items) ? items.map((item, i): [unknown, string] => [item, `inputs[${first + i}]`]) : [];
}

/** The first value `canClone` rejects under any of `roots`, each given with its path (`inputs[7]`). */
export function findUncloneableIn(roots: ReadonlyArray<readonly [unknown, string]>, canClone: CanClone): Uncloneable | null {
  for (const [root, path] of roots) {
    const found = findUncloneable(root, path, canClone);
    if (found !== null) return found;
  }
  return null;
}

export function describeUncloneable(found: Uncloneable, where: string): string {
  const why = found.detail ? ` (${found.detail})` : '';
  return (
    `${found.path} is ${found.what}${why}, which cannot be sent to ${where}. ` +
    'Pass plain data (objects, arrays, numbers, strings, typed arrays, Map, Set, Date), ' +
    'or create the object inside the task'
  );
}
