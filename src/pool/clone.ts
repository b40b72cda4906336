/**
 * Finding the value that cannot cross a thread or process boundary, and
 * naming its path. Only runs after a send failed, so the fast path pays nothing.
 */
import { isProxy } from '../builtins.js';
import { isDetached } from '../transfer.js';

export interface Uncloneable {
  /** Path of the offending value, e.g. `args[1].socket`. */
  path: string;
  /** What it is, e.g. `a Socket` or `a function`. */
  what: string;
  /** The deeper property that made it fail, when the path names a container. */
  detail: string;
  /** Set when nothing in it fails but its nesting (this many levels) is too deep for the serializer's stack. */
  depth?: number;
  /** Set when what fails is a buffer (or a view of one) whose memory was transferred away. */
  detached?: true;
}

type CanClone = (value: unknown) => boolean;

function kind(value: unknown): string {
  if (value instanceof ThrowingGetter) return `a getter that throws (${String((value.thrown as Error)?.message ?? value.thrown)})`;
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'symbol') return 'a symbol';
  if (typeof value !== 'object' || value === null) return typeof value;
  if (isProxy(value)) return 'a Proxy';
  const proto = Object.getPrototypeOf(value);
  const name = proto?.constructor?.name;
  const what = name ? `${/^(?!Uint)[AEIOU]/.test(name) ? 'an' : 'a'} ${name}` : 'an object';
  if (isDetached(value)) return ArrayBuffer.isView(value) ? `${what} over a detached ArrayBuffer` : 'a detached ArrayBuffer';
  // Shared memory is why a view cannot go to a process: a bare "an Int32Array" would not say so.
  return ArrayBuffer.isView(value) && value.buffer instanceof SharedArrayBuffer ? `${what} over a SharedArrayBuffer` : what;
}

function isPlainContainer(value: object): boolean {
  if (Array.isArray(value)) return true;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** The parts of a container to look into, each with the step of its path (`[1]`, `.name`, `.get("k")`). */
/** Arrays up to this long are searched for properties besides their items (Object.keys of a long array costs more than copying it). */
const NAMED_CHECK_MAX = 1024;

const INDEX = /^(?:0|[1-9]\d*)$/;

/** An array's own enumerable properties besides its items (a clone sends them); none looked for past NAMED_CHECK_MAX items. */
export function namedKeys(array: readonly unknown[]): string[] {
  if (array.length > NAMED_CHECK_MAX) return [];
  const keys = Object.keys(array);
  // An array's own keys list its indices first, in order: properties besides them, if any, come last.
  let first = keys.length;
  while (first > 0 && !INDEX.test(keys[first - 1])) first--;
  return first === keys.length ? [] : keys.slice(first);
}

export function children(value: object): Array<[string, unknown]> {
  // An array's own keys, not map(): that skips the holes of a sparse array and leaves them in its result.
  if (Array.isArray(value)) return Object.keys(value).map((key) => [INDEX.test(key) ? `[${key}]` : step(key), read(value, key)]);
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
  return Object.keys(value).map((key) => [step(key), read(value, key)]);
}

/**
 * How a path names property `key`: `.name`, or `["odd key"]`. No regular expression: this runs
 * while a walk that ran out of stack unwinds, where compiling one can abort the process.
 */
export function step(key: string): string {
  return isIdentifier(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

/** Whether `key` is an ASCII identifier: a letter, `_` or `$`, then those or digits. */
function isIdentifier(key: string): boolean {
  if (key.length === 0) return false;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    const letter = (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 36;
    if (!letter && !(i > 0 && c >= 48 && c <= 57)) return false;
  }
  return true;
}

function read(value: object, key: string): unknown {
  try {
    return (value as Record<string, unknown>)[key];
  } catch (thrown) {
    return new ThrowingGetter(thrown);
  }
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
  const steps: string[] = [];
  let value = root;
  let reported: { steps: number; value: unknown } | null = null;
  for (;;) {
    if (reported === null && typeof value === 'object' && value !== null && !isPlainContainer(value)) {
      reported = { steps: steps.length, value };
    }
    if (typeof value !== 'object' || value === null || seen.has(value)) break;
    seen.add(value);
    const links = chainBelow(value, seen);
    const last = lastFailing(links, canClone);
    if (last >= 0) {
      for (let i = 0; i < last; i++) {
        const node = links[i][1];
        steps.push(links[i][0]);
        if (reported === null && !isPlainContainer(node)) reported = { steps: steps.length, value: node };
        seen.add(node);
      }
      steps.push(links[last][0]);
      value = links[last][1];
      continue;
    }
    // A child already on the path (a cycle) fails for what else it holds: look past it.
    const bad = children(value).find(([, child]) => !(typeof child === 'object' && child !== null && seen.has(child)) && !canClone(child));
    if (bad === undefined) {
      // Nothing in it fails alone: deep nesting made the serializer run out of stack.
      const depth = isProxy(value) ? 0 : height(value);
      if (depth >= DEEP) return { path: rootPath + shortened(steps), what: 'nested too deeply', detail: '', depth: steps.length + depth - 1 };
      break;
    }
    steps.push(bad[0]);
    value = bad[1];
  }
  const path = rootPath + steps.join('');
  const detached = isDetached(value) ? { detached: true as const } : {};
  if (reported === null) return { path, what: kind(value), detail: '', ...detached };
  const shown = rootPath + steps.slice(0, reported.steps).join('');
  const detail = reported.steps === steps.length ? '' : `its ${steps.slice(reported.steps).join('').replace(/^\./, '')} is ${kind(value)}`;
  return { path: shown, what: kind(reported.value), detail, ...detached };
}

/**
 * The objects below `value` that each hold one object beside primitives only (a linked list, a
 * deep nesting), in order, with the step to each: a chain the walk bisects instead of cloning each.
 */
function chainBelow(value: object, seen: ReadonlySet<object>): Array<[string, object]> {
  const links: Array<[string, object]> = [];
  const linked = new Set<object>([value]);
  for (let node = value; ;) {
    let only: [string, unknown] | null = null;
    for (const entry of children(node)) {
      const child = entry[1];
      if (child === null || (typeof child !== 'object' && typeof child !== 'function' && typeof child !== 'symbol')) continue;
      if (only !== null) return links;
      only = entry;
    }
    const next = only?.[1];
    if (only === null || typeof next !== 'object' || next === null || !isContainer(next) || linked.has(next) || seen.has(next)) return links;
    linked.add(next);
    links.push([only[0], next]);
    node = next;
  }
}

/** The last of `links` that `canClone` rejects, or -1: each holds the next, so those that fail come first. */
function lastFailing(links: ReadonlyArray<readonly [string, object]>, canClone: CanClone): number {
  let fails = -1;
  let passes = links.length;
  while (passes - fails > 1) {
    const mid = (fails + passes) >>> 1;
    if (canClone(links[mid][1])) passes = mid;
    else fails = mid;
  }
  return fails;
}

/** A value nested at least this deep, nothing in which fails alone, failed for its depth (V8's serializer recurses). */
const DEEP = 100;
/** The steps of a too deeply nested value's path that are shown. */
const SHOWN_STEPS = 8;

function shortened(steps: readonly string[]): string {
  return steps.length <= SHOWN_STEPS ? steps.join('') : `${steps.slice(0, SHOWN_STEPS).join('')}…`;
}

/** Levels of objects in `root`, itself included: the longest chain of containers down from it. */
function height(root: object): number {
  let most = 0;
  const seen = new Set<object>([root]);
  const stack: Array<[object, number]> = [[root, 1]];
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    const [node, level] = top;
    if (level > most) most = level;
    for (const [, child] of children(node)) {
      if (typeof child !== 'object' || child === null || seen.has(child) || !isContainer(child)) continue;
      seen.add(child);
      stack.push([child, level + 1]);
    }
  }
  return most;
}

/** An object structured clone copies part by part (not bytes, a date or a host object). */
function isContainer(value: object): boolean {
  return !ArrayBuffer.isView(value) && !(value instanceof ArrayBuffer) && !(value instanceof SharedArrayBuffer)
    && !(value instanceof Date) && !(value instanceof RegExp) && !(value instanceof ThrowingGetter) && !isProxy(value);
}

/** A map chunk's inputs, each named by its index in the whole map (`inputs[7]`); a hole is an undefined input. */
export function inputsOf(items: unknown, first: number): Array<[unknown, string]> {
  return Array.isArray(items) ? Array.from(items, (item, i): [unknown, string] => [item, `inputs[${first + i}]`]) : [];
}

/** A call's arguments, each named by its place (`args[1]`); the whole list when it is no plain array (a Proxy, holes, other keys). */
export function argumentsOf(args: unknown): Array<[unknown, string]> {
  if (!Array.isArray(args) || isProxy(args) || Object.keys(args).length !== args.length) return [[args, 'args']];
  return args.map((arg, i): [unknown, string] => [arg, `args[${i}]`]);
}

/** The first value `canClone` rejects under any of `roots`, each given with its path (`inputs[7]`); `root` is its root's position. */
export function findUncloneableIn(roots: ReadonlyArray<readonly [unknown, string]>, canClone: CanClone): (Uncloneable & { root: number }) | null {
  for (let i = 0; i < roots.length; i++) {
    const found = findUncloneable(roots[i][0], roots[i][1], canClone);
    if (found !== null) return { ...found, root: i };
  }
  return null;
}

/** A sentence that names the value and says what to do. */
export function describeUncloneable(found: Uncloneable, where: string): string {
  if (found.depth !== undefined) {
    return (
      `${found.path} is nested too deeply (${found.depth} levels) to be sent to ${where}. ` +
      'Send a flatter structure (say, a list of nodes that name their parent by index), or build it inside the task.'
    );
  }
  const why = found.detail ? ` (${found.detail})` : '';
  if (found.detached) {
    return (
      `${found.path} is ${found.what}${why}, which cannot be sent to ${where}: a detached buffer's memory was transferred ` +
      'away earlier (with `transfer`, or by postMessage). Transfer a buffer once, or pass a copy made before it moved (buffer.slice()).'
    );
  }
  return (
    `${found.path} is ${found.what}${why}, which cannot be sent to ${where}. ` +
    'Pass plain data (objects, arrays, numbers, strings, typed arrays, Map, Set, Date), ' +
    'or create the object inside the task.'
  );
}
