/**
 * How a lock crosses to a worker: before sending, the caller replaces each
 * primitive found in a task's arguments (alone or inside plain objects and
 * arrays) by a record of its shared memory; the worker turns each record back
 * into a working instance of the same primitive. Only programs that created a
 * primitive pay for the walk. A Proxy is neither searched nor copied: left as it is,
 * it is refused as the argument that cannot be cloned that it is, lock or no lock.
 */

import { isProxy } from '../builtins.js';
import { CloneError, ErrorCodes, type ErrorCode } from '../errors.js';
import { children, namedKeys } from '../pool/clone.js';
import { RESULT_ENCODER, type ResultEncoder, type ResultsMessage } from '../pool/protocol.js';
import { toWire } from '../wire-error.js';
import { registryToken } from './registry.js';
import { LOCK_TAG } from './tag.js';

const kRecord = '__forkjoinSync';
const kToken = '__forkjoinSyncToken';

export interface SyncRecord {
  [kRecord]: string;
  [kToken]: string;
  [key: string]: unknown;
}

/** Implemented by every primitive: the record that stands for it on the wire. */
export interface Shareable {
  /** @internal */
  toRecord(): SyncRecord;
}

const revivers = new Map<string, (record: SyncRecord) => unknown>();
const shareables = new Set<Function>();
let inUse = false;

/** Passed to a primitive's constructor to rebuild it around shared memory it received. */
export class Adopted {
  constructor(readonly record: SyncRecord) {}
}

/** Registers a primitive class and how to revive it. */
export function registerKind(kind: string, cls: Function, revive: (record: SyncRecord) => unknown): void {
  revivers.set(kind, revive);
  shareables.add(cls);
  Object.defineProperty(cls.prototype, LOCK_TAG, { value: true });
}

/** Called by each primitive's constructor: from now on, arguments are searched for primitives. */
export function markInUse(): void {
  if (inUse) return;
  inUse = true;
  Object.defineProperty(globalThis, RESULT_ENCODER, { value: encodeResult, configurable: true });
}

/** Whether this process ever made a primitive (else no argument can hold one). */
export function syncInUse(): boolean {
  return inUse;
}

export function makeRecord(kind: string, fields: Record<string, unknown>): SyncRecord {
  return { [kRecord]: kind, [kToken]: registryToken(), ...fields };
}


function isShareable(value: object): value is Shareable {
  return shareables.has(value.constructor);
}

function isPlain(value: object): boolean {
  if (Array.isArray(value)) return true;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * `args` with every primitive replaced by its record, or `args` itself when it holds none.
 * Every plain object and array is searched, however large, deep or cyclic: a primitive the
 * search missed would arrive as an empty object. Where one is found, the plain containers are
 * copied (shared and cyclic references kept as they were) with records in its place. A
 * primitive inside a container that is not rebuilt (a Map, a Set, a class instance) throws
 * FJ_ARG_NOT_CLONEABLE naming its path; so does any primitive when `to` is a child process.
 */
export function encodeSync(
  args: unknown[],
  to: 'thread' | 'process' = 'thread',
  pathOf: (i: number) => string = (i) => `args[${i}]`,
  code: ErrorCode = ErrorCodes.ARG_NOT_CLONEABLE,
): unknown[] {
  if (!inUse) return args;
  const found = search(args);
  if (found === Found.None) return args;
  if (found === Found.Misplaced || to === 'process') {
    for (let i = 0; i < args.length; i++) {
      const at = findShareable(args[i], pathOf(i), to === 'thread');
      if (at !== null) throw to === 'process' ? inProcess(at, code) : misplaced(at, code);
    }
    // Never sent with a lock turned into an empty object, even if its place could not be named.
    throw misplaced({ path: pathOf(0).replace(/\[0\]$/, ''), what: 'lock', holder: 'container' }, code);
  }
  return copyWithRecords(args) as unknown[];
}

/**
 * What a task returned, with its primitives replaced by records for the caller to revive
 * (decodeSync), or `value` itself when it holds none. Set on globalThis once a primitive
 * exists in this thread, for the worker's runtime (a separate script) to call.
 */
const encodeResult: ResultEncoder = (value, to) => {
  return encodeSync([value], to, () => 'result', ErrorCodes.RESULT_NOT_CLONEABLE)[0];
};


const enum Found { None, Placed, Misplaced }

/** Whether a primitive is reachable from `root`, and whether one sits where it would not be rebuilt; no copies, no recursion. */
function search(root: object): Found {
  /** Each object met, and whether every time in plain containers only. */
  const seen = new Map<object, boolean>();
  // Each value, and whether it sits in plain containers only (where a primitive is rebuilt).
  const values: object[] = [root];
  const placed: boolean[] = [true];
  let result = Found.None;
  while (values.length > 0) {
    const value = values.pop() as object;
    const inPlain = placed.pop() as boolean;
    // Met before: skip it, unless it was met only where it is rebuilt and now is where it is not.
    const before = seen.get(value);
    if (before !== undefined && (before === false || inPlain)) continue;
    seen.set(value, inPlain);
    if (isProxy(value)) continue;
    if (isShareable(value)) {
      if (!inPlain) return Found.Misplaced;
      result = Found.Placed;
      continue;
    }
    const plain = inPlain && isPlain(value);
    try {
      for (const child of contents(value)) {
        if (typeof child !== 'object' || child === null) continue;
        values.push(child);
        placed.push(plain);
      }
    } catch { /* a getter that throws: sending fails on it, and says where */ }
  }
  return result;
}

/** What a value holds that a structured clone carries: items, entries, own properties. */
function contents(value: object): Iterable<unknown> {
  if (Array.isArray(value)) {
    const named = namedKeys(value);
    return named.length === 0 ? value : [...value, ...named.map((key) => (value as unknown as Record<string, unknown>)[key])];
  }
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer || value instanceof SharedArrayBuffer || value instanceof Date || value instanceof RegExp) return [];
  if (value instanceof Map) return [...value].flat();
  if (value instanceof Set) return value;
  return Object.keys(value).map((key) => (value as Record<string, unknown>)[key]);
}

/** A copy of an array with its properties besides its items (see namedKeys). */
function withNamed(array: unknown[]): unknown[] {
  const copy = array.slice();
  for (const key of namedKeys(array)) (copy as unknown as Record<string, unknown>)[key] = (array as unknown as Record<string, unknown>)[key];
  return copy;
}

/** `root`'s plain objects and arrays copied, primitives replaced by records, shared references and cycles kept. */
function copyWithRecords(root: object): unknown {
  const copies = new Map<object, object>();
  const copyOf = (value: object): object => {
    let copy = copies.get(value);
    if (copy !== undefined) return copy;
    if (isProxy(value)) copy = value;
    else if (isShareable(value)) copy = value.toRecord();
    else {
      try {
        copy = Array.isArray(value) ? withNamed(value) : { ...value };
        pending.push(copy);
      } catch {
        copy = value; // a getter that throws: sending fails on it, and says where
      }
    }
    copies.set(value, copy);
    return copy;
  };
  const pending: object[] = [];
  const out = copyOf(root);
  while (pending.length > 0) {
    const copy = pending.pop() as Record<string, unknown>;
    for (const key of Object.keys(copy)) {
      const item = copy[key];
      if (typeof item === 'object' && item !== null && (isShareable(item) || isPlain(item))) copy[key] = copyOf(item);
    }
  }
  return out;
}

/** The path below `value` to the first primitive inside it, and its class; breadth first, no recursion, off the per-call path. */
function shareableInside(value: object, misplacedOnly: boolean): FoundAt | null {
  const seen = new Map<object, boolean>([[value, true]]);
  // Each value, its path, the class of the container it sits in, and whether it sits in plain containers only.
  let level: Array<[object, string, string, boolean]> = [[value, '', '', true]];
  while (level.length > 0) {
    const next: Array<[object, string, string, boolean]> = [];
    for (const [item, path, holder, inPlain] of level) {
      if (isProxy(item)) continue;
      if (isShareable(item)) {
        if (!misplacedOnly || !inPlain) return { path, what: item.constructor.name, holder };
        continue;
      }
      if (ArrayBuffer.isView(item) || item instanceof ArrayBuffer || item instanceof SharedArrayBuffer || item instanceof Date) continue;
      let entries: Array<[string, unknown]>;
      try {
        entries = children(item);
      } catch {
        continue;
      }
      const name = Array.isArray(item) ? 'Array' : (Object.getPrototypeOf(item) as { constructor?: { name?: unknown } } | null)?.constructor?.name;
      const plain = inPlain && isPlain(item);
      for (const [step, child] of entries) {
        if (typeof child !== 'object' || child === null) continue;
        const before = seen.get(child);
        if (before !== undefined && (before === false || plain)) continue;
        seen.set(child, plain);
        next.push([child, `${path}${step}`, typeof name === 'string' && name !== '' ? name : 'object', plain]);
      }
    }
    level = next;
  }
  return null;
}

/**
 * The first primitive anywhere under `root` (in plain objects and arrays, or in a Map, a Set,
 * a class instance), as its path from `path` and its class; null when there is none, at once
 * while no primitive was ever made in this process.
 */
export function findShareable(root: unknown, path: string, misplacedOnly = false): FoundAt | null {
  if (!inUse || typeof root !== 'object' || root === null) return null;
  const found = shareableInside(root, misplacedOnly);
  return found === null ? null : { path: `${path}${found.path}`, what: found.what, holder: found.holder };
}

/** Where a primitive was found: its path, its class, and the class of the container holding it. */
interface FoundAt { path: string; what: string; holder: string }

const article = (name: string): string => (/^[AEIOU]/.test(name) ? 'an' : 'a');

function misplaced(found: FoundAt, code: ErrorCode): CloneError {
  return new CloneError(
    code,
    `${found.path} is ${article(found.what)} ${found.what} inside ${article(found.holder)} ${found.holder}, where it would arrive as an empty object: ` +
      'a lock crosses between threads as an argument or a result, or inside plain objects and arrays',
    { path: found.path },
  );
}

function inProcess(found: FoundAt, code: ErrorCode): CloneError {
  return new CloneError(
    code,
    `${found.path} is ${article(found.what)} ${found.what}, which cannot cross between processes: locks, counters, barriers and latches ` +
      'live in memory shared by the threads of one process; use a ThreadPool (or a LocalExecutor)',
    { path: found.path },
  );
}

/** Turns records back into primitives, in place (the arguments are this thread's own copy): one per record, at any depth, cycles kept. */
export function decodeSync(root: unknown): unknown {
  if (typeof root !== 'object' || root === null) return root;
  const revived = new Map<object, unknown>();
  const reviveRecord = (value: object): unknown => {
    const kind = (value as Partial<SyncRecord>)[kRecord];
    const revive = typeof kind === 'string' ? revivers.get(kind) : undefined;
    // The caller's own data with a key of that name is data: a record carries the registry's token.
    if (revive === undefined || (value as Partial<SyncRecord>)[kToken] !== registryToken()) return value;
    if (!revived.has(value)) revived.set(value, revive(value as SyncRecord));
    return revived.get(value);
  };
  const whole = reviveRecord(root);
  if (whole !== root) return whole;
  const seen = new Set<object>([root]);
  const stack: object[] = [root];
  while (stack.length > 0) {
    const value = stack.pop() as Record<string, unknown>;
    for (const key of Object.keys(value)) {
      const item = value[key];
      if (typeof item !== 'object' || item === null || seen.has(item)) continue;
      const again = reviveRecord(item);
      if (again !== item) value[key] = again;
      else if (isPlain(item)) {
        seen.add(item);
        stack.push(item);
      }
    }
  }
  return root;
}

/** Revives the locks in the results a worker sent as records (decodeSync); one that cannot be revived fails its call instead. */
export function reviveResults(message: ResultsMessage): void {
  for (const at of message.revive ?? []) {
    try {
      message.done[at] = decodeSync(message.done[at]);
    } catch (thrown) {
      message.failed.push(message.done[at - 1], toWire(thrown));
      message.done[at - 1] = -1; // no call has this id: the failure pushed answers it
    }
  }
}
