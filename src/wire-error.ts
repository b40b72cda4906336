/**
 * Errors as they cross a thread or process boundary: serialized to plain data
 * on one side, revived on the other with name, message, code, own properties,
 * cause chain and the stack of the side that threw.
 */
import { util, v8 } from './builtins.js';
import { isCallOutcome } from './errors.js';

// Needed only when an error crosses a boundary: loaded on first use, not at import.
const lazy = {
  serialize: (value: unknown): Buffer => v8().serialize(value),
  inspect: (value: unknown, options: import('node:util').InspectOptions): string => util().inspect(value, options),
};

export interface WireError {
  readonly error: true;
  readonly name: string;
  readonly message: string;
  readonly stack: string | undefined;
  /** Own enumerable properties. */
  readonly props: Record<string, unknown>;
  /** Own properties that are not enumerable, and a `code` the error's class defines: revived not enumerable. */
  readonly hidden?: Record<string, unknown>;
  readonly cause?: WireValue;
  /** Raised by forkjoin itself for the call (not thrown by the task): it keeps its code. */
  readonly own?: true;
  /** A standard class that `name` alone does not tell (a DOMException is named AbortError, ...). */
  readonly kind?: 'AggregateError' | 'DOMException';
  /** An AggregateError's errors. */
  readonly errors?: WireValue[];
}
/** How deep causes and AggregateError errors are followed. */
const MAX_DEPTH = 8;

/** A thrown value that is not an Error: kept as is when it can be cloned. */
export interface WireThrown {
  readonly error: false;
  readonly value: unknown;
  readonly text: string;
}
export type WireValue = WireError | WireThrown;

const standardErrors: Record<string, ErrorConstructor> = {
  Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError,
};

function cloneable(value: unknown): boolean {
  try {
    lazy.serialize(value);
    return true;
  } catch {
    return false;
  }
}

function describe(value: unknown): string {
  try {
    return typeof value === 'object' && value !== null ? lazy.inspect(value, { depth: 2, breakLength: Number.POSITIVE_INFINITY }) : String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/**
 * Plain, cloneable data that describes `thrown`, however odd it is: even a value whose
 * every read throws (a hostile Proxy) becomes a description, never an exception here.
 */
export function toWire(thrown: unknown, depth = 0): WireValue {
  try {
    const wire = readThrown(thrown, depth);
    // An error forkjoin raised in the task's thread as the call's outcome (a deadlock, ...).
    return wire.error && depth === 0 && isCallOutcome(thrown) ? { ...wire, own: true } : wire;
  } catch (reading) {
    const text = `a thrown value that could not be read (reading it threw ${safeText(reading)})`;
    return { error: false, value: text, text };
  }
}

/** The wire form of an error forkjoin raised for the call: revived with its own code, never as the task's error. */
export function ownWire(err: unknown): WireValue {
  const wire = toWire(err);
  return wire.error ? { ...wire, own: true } : wire;
}

/** What `value` says of itself, or what kind of thing it is when even that throws. */
function safeText(value: unknown): string {
  try {
    return value instanceof Error ? `${value.name}: ${value.message}` : String(value);
  } catch {
    return typeof value;
  }
}

function readThrown(thrown: unknown, depth: number): WireValue {
  if (!(thrown instanceof Error) && !isErrorLike(thrown)) {
    return { error: false, value: cloneable(thrown) ? thrown : describe(thrown), text: describe(thrown) };
  }
  const err = thrown as Error & Record<string, unknown>;
  // Each read on its own: a `name` getter that throws must not cost the message.
  const name = textOf(err, 'name', 'Error');
  const message = textOf(err, 'message', '');
  const stack = read(err, 'stack');
  const props: Record<string, unknown> = {};
  const hidden: Record<string, unknown> = {};
  const wire: { -readonly [K in keyof WireError]: WireError[K] } = {
    error: true, name, message, stack: typeof stack === 'string' ? stack : undefined, props, hidden,
  };
  try {
    if ('cause' in err && err.cause !== undefined && depth < MAX_DEPTH) wire.cause = toWire(err.cause, depth + 1);
  } catch { /* a cause that cannot be read is left out */ }
  try {
    if (thrown instanceof DOMException) wire.kind = 'DOMException';
    else if (thrown instanceof AggregateError) {
      wire.kind = 'AggregateError';
      const errors: unknown = err.errors;
      if (Array.isArray(errors) && depth < MAX_DEPTH) wire.errors = errors.map((item) => toWire(item, depth + 1));
    }
  } catch { /* an odd AggregateError: sent as a plain error */ }
  for (const key of Object.getOwnPropertyNames(err)) {
    if (SENT_APART.has(key) || (key === 'errors' && wire.kind === 'AggregateError')) continue;
    const value = read(err, key);
    if (value === unread) continue; // a getter that throws: left out, the other properties kept
    putOwn(Object.prototype.propertyIsEnumerable.call(err, key) ? props : hidden, key, value);
  }
  // `code` as `err.code` reads it: a class may define it as a getter (a DOMException's comes with its name).
  if (!Object.hasOwn(err, 'code') && wire.kind !== 'DOMException') {
    const code = read(err, 'code');
    if (code !== undefined && code !== unread) putOwn(hidden, 'code', code);
  }
  return wire;
}

/** Properties the wire carries in fields of their own. */
const SENT_APART: ReadonlySet<string> = new Set(['name', 'message', 'stack', 'cause']);
const unread = Symbol('unread');

/** `err[key]`, or `unread` when reading it throws. */
function read(err: Record<string, unknown>, key: string): unknown {
  try {
    return err[key];
  } catch {
    return unread;
  }
}

/** `err[key]` as text, or `fallback` when reading or converting it throws. */
function textOf(err: Record<string, unknown>, key: string, fallback: string): string {
  try {
    return String(err[key]);
  } catch {
    return fallback;
  }
}

/** Sets `record[key]` as an own property, even for a key such as `__proto__`; a value that cannot be cloned is described. */
function putOwn(record: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(record, key, { value: cloneable(value) ? value : describe(value), writable: true, enumerable: true, configurable: true });
}

function isErrorLike(value: unknown): boolean {
  return Object.prototype.toString.call(value) === '[object Error]';
}

/** The Error (or thrown value) that `wire` describes. */
export function fromWire(wire: WireValue): unknown {
  if (!wire.error) return wire.value;
  const err = construct(wire) as Error & Record<string, unknown>;
  if (err.name !== wire.name) {
    Object.defineProperty(err, 'name', { value: wire.name, writable: true, configurable: true, enumerable: false });
  }
  Object.defineProperty(err, 'stack', { value: wire.stack ?? `${wire.name}: ${wire.message}`, writable: true, configurable: true, enumerable: false });
  // Defined, not assigned: a key such as `__proto__` stays a property.
  defineAll(err, wire.props, true);
  defineAll(err, wire.hidden ?? {}, false);
  if (wire.cause !== undefined) {
    Object.defineProperty(err, 'cause', { value: fromWire(wire.cause), writable: true, configurable: true, enumerable: false });
  }
  return err;
}

function defineAll(err: Error, props: Record<string, unknown>, enumerable: boolean): void {
  for (const [key, value] of Object.entries(props)) Object.defineProperty(err, key, { value, writable: true, enumerable, configurable: true });
}

function construct(wire: WireError): Error {
  if (wire.kind === 'DOMException') return new DOMException(wire.message, wire.name);
  if (wire.kind === 'AggregateError') return new AggregateError((wire.errors ?? []).map(fromWire), wire.message);
  const Ctor = standardErrors[wire.name] ?? Error;
  return new Ctor(wire.message);
}

/** The message a thrown value would print. */
export function wireMessage(wire: WireValue): string {
  return wire.error ? wire.message : wire.text;
}
