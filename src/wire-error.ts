/**
 * Errors as they cross a thread or process boundary: serialized to plain data
 * on one side, revived on the other with name, message, code, own properties,
 * cause chain and the stack of the side that threw.
 */
import { util, v8 } from './builtins.js';

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
  readonly props: Record<string, unknown>;
  readonly cause?: WireValue;
}
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
    return readThrown(thrown, depth);
  } catch (reading) {
    const text = `a thrown value that could not be read (reading it threw ${safeText(reading)})`;
    return { error: false, value: text, text };
  }
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
  const props: Record<string, unknown> = {};
  for (const key of Object.keys(err)) {
    if (key === 'name' || key === 'message' || key === 'stack' || key === 'cause') continue;
    try {
      const value = err[key];
      props[key] = cloneable(value) ? value : describe(value);
    } catch (reading) {
      props[key] = `(reading it threw ${safeText(reading)})`;
    }
  }
  let name = 'Error';
  let message = '';
  let stack: string | undefined;
  try {
    name = String(err.name);
    message = String(err.message);
    stack = typeof err.stack === 'string' ? err.stack : undefined;
  } catch { /* a hostile getter: keep the defaults */ }
  const wire: { -readonly [K in keyof WireError]: WireError[K] } = { error: true, name, message, stack, props };
  try {
    if ('cause' in err && err.cause !== undefined && depth < 8) wire.cause = toWire(err.cause, depth + 1);
  } catch { /* a cause that cannot be read is left out */ }
  return wire;
}

function isErrorLike(value: unknown): boolean {
  return Object.prototype.toString.call(value) === '[object Error]';
}

/** The Error (or thrown value) that `wire` describes. */
export function fromWire(wire: WireValue): unknown {
  if (!wire.error) return wire.value;
  const Ctor = standardErrors[wire.name] ?? Error;
  const err = new Ctor(wire.message) as Error & Record<string, unknown>;
  if (err.name !== wire.name) {
    Object.defineProperty(err, 'name', { value: wire.name, writable: true, configurable: true, enumerable: false });
  }
  Object.defineProperty(err, 'stack', { value: wire.stack ?? `${wire.name}: ${wire.message}`, writable: true, configurable: true, enumerable: false });
  Object.assign(err, wire.props);
  if (wire.cause !== undefined) {
    Object.defineProperty(err, 'cause', { value: fromWire(wire.cause), writable: true, configurable: true, enumerable: false });
  }
  return err;
}

/** The message a thrown value would print. */
export function wireMessage(wire: WireValue): string {
  return wire.error ? wire.message : wire.text;
}
