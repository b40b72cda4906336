/**
 * How a lock crosses to a worker: before sending, the caller replaces each
 * primitive found in a task's arguments (alone or inside plain objects and
 * arrays) by a record of its shared memory; the worker turns each record back
 * into a working instance of the same primitive. Only programs that created a
 * primitive pay for the walk.
 */

import { CloneError, ErrorCodes } from '../errors.js';
import { children } from '../pool/clone.js';

const kRecord = '__forkjoinSync';
const MAX_NODES = 10_000;

export interface SyncRecord {
  [kRecord]: string;
  [key: string]: unknown;
}

/** Implemented by every primitive: the record that stands for it on the wire. */
export interface Shareable {
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
}

/** Called by each primitive's constructor: from now on, arguments are searched for primitives. */
export function markInUse(): void {
  inUse = true;
}

/** Whether this process ever made a primitive (else no argument can hold one). */
export function syncInUse(): boolean {
  return inUse;
}

export function makeRecord(kind: string, fields: Record<string, unknown>): SyncRecord {
  return { [kRecord]: kind, ...fields };
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
 * A primitive inside a container this does not rebuild (a Map, a Set, a class instance)
 * would arrive as an empty object: that throws FJ_ARG_NOT_CLONEABLE naming its path (the
 * path is worked out only then, off the per-call path).
 */
export function encodeSync(args: unknown[], root = 'args', first = 0): unknown[] {
  if (!inUse) return args;
  const budget = { nodes: 0 };
  let out: unknown[] | null = null;
  for (let i = 0; i < args.length; i++) {
    let item: unknown;
    try {
      item = encode(args[i], budget, 1);
    } catch (thrown) {
      if (!(thrown instanceof Misplaced)) throw thrown;
      throw misplaced(findShareable(args[i], `${root}[${first + i}]`), thrown.container);
    }
    if (item !== args[i]) (out ??= args.slice())[i] = item;
  }
  return out ?? args;
}

/** Thrown inside encode() when a primitive sits in `container`, which is not rebuilt on the other side. */
class Misplaced {
  constructor(readonly container: object) {}
}

function encode(value: unknown, budget: { nodes: number }, depth: number): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (++budget.nodes > MAX_NODES || depth > 16) return value;
  if (isShareable(value)) return value.toRecord();
  if (!isPlain(value)) {
    if (holdsShareable(value, budget, depth + 1)) throw new Misplaced(value);
    return value;
  }
  if (Array.isArray(value)) {
    let out: unknown[] | null = null;
    for (let i = 0; i < value.length; i++) {
      const item = encode(value[i], budget, depth + 1);
      if (item !== value[i]) (out ??= value.slice())[i] = item;
    }
    return out ?? value;
  }
  let out: Record<string, unknown> | null = null;
  for (const key of Object.keys(value)) {
    let item: unknown;
    try {
      item = (value as Record<string, unknown>)[key];
    } catch {
      return value; // a getter that throws: sending fails on it, and says where
    }
    const encoded = encode(item, budget, depth + 1);
    if (encoded !== item) (out ??= { ...(value as Record<string, unknown>) })[key] = encoded;
  }
  return out ?? value;
}

/** Whether a primitive sits anywhere inside `value`: no copies, no paths, within the budget. */
function holdsShareable(value: object, budget: { nodes: number }, depth: number): boolean {
  if (++budget.nodes > MAX_NODES || depth > 16) return false;
  if (isShareable(value)) return true;
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer || value instanceof SharedArrayBuffer || value instanceof Date) return false;
  const holds = (child: unknown): boolean => typeof child === 'object' && child !== null && holdsShareable(child, budget, depth + 1);
  try {
    if (value instanceof Map) {
      for (const [key, item] of value) if (++budget.nodes > MAX_NODES || holds(key) || holds(item)) return budget.nodes <= MAX_NODES;
    } else if (value instanceof Set) {
      for (const item of value) if (++budget.nodes > MAX_NODES || holds(item)) return budget.nodes <= MAX_NODES;
    } else {
      for (const key of Object.keys(value)) if (holds((value as Record<string, unknown>)[key])) return true;
    }
  } catch { /* a hostile object: sending it fails on its own */ }
  return false;
}

/** The path below `value` to the first primitive inside it, and its class; off the per-call path. */
function shareableInside(value: object, depth: number): { path: string; what: string } | null {
  if (isShareable(value)) return { path: '', what: value.constructor.name };
  if (depth > 16 || ArrayBuffer.isView(value) || value instanceof ArrayBuffer || value instanceof SharedArrayBuffer || value instanceof Date) return null;
  let entries: Array<[string, unknown]>;
  try {
    entries = children(value);
  } catch {
    return null;
  }
  for (const [step, child] of entries) {
    if (typeof child !== 'object' || child === null) continue;
    const found = shareableInside(child, depth + 1);
    if (found !== null) return { path: `${step}${found.path}`, what: found.what };
  }
  return null;
}

/**
 * The first primitive anywhere under `root` (in plain objects and arrays, or in a Map, a Set,
 * a class instance), as its path from `path` and its class; null when there is none, at once
 * while no primitive was ever made in this process.
 */
export function findShareable(root: unknown, path: string): { path: string; what: string } | null {
  if (!inUse || typeof root !== 'object' || root === null || !holdsShareable(root, { nodes: 0 }, 0)) return null;
  const found = shareableInside(root, 0);
  return found === null ? null : { path: `${path}${found.path}`, what: found.what };
}

function misplaced(found: { path: string; what: string } | null, container: object): CloneError {
  const path = found?.path ?? 'args';
  const holder = container.constructor?.name ?? 'object';
  return new CloneError(
    ErrorCodes.ARG_NOT_CLONEABLE,
    `${path} is a ${found?.what ?? 'lock'} inside a ${holder}, where it would arrive as an empty object: ` +
      'a lock reaches a worker as an argument, or inside plain objects and arrays',
    { path },
  );
}

/** Turns records back into primitives, in place (the arguments are this thread's own copy). */
export function decodeSync(value: unknown, depth = 0): unknown {
  if (typeof value !== 'object' || value === null || depth > 16) return value;
  const kind = (value as Partial<SyncRecord>)[kRecord];
  if (typeof kind === 'string') {
    const revive = revivers.get(kind);
    return revive === undefined ? value : revive(value as SyncRecord);
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = decodeSync(value[i], depth + 1);
  } else if (isPlain(value)) {
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) record[key] = decodeSync(record[key], depth + 1);
  }
  return value;
}
