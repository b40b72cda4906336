/**
 * What stops a walk over a call's arguments, and where: each level of the walk that catches one
 * puts its own step (`.list`, `[1]`) in front of the path, so the call names the exact place.
 */
import { isForkJoinError } from '../errors.js';

/** A Delayed that sits where it cannot be replaced (inside a Map, a Set, a class instance). */
export class MisplacedDelayed extends Error {
  constructor(readonly where: string, public path: string) {
    super(where);
  }
}

/** Reading a value threw (a getter, a Proxy trap): what it threw, and where. */
export class Unreadable extends Error {
  constructor(readonly thrown: unknown, public path: string) {
    super('unreadable');
  }
}

/**
 * A stack overflow is reported as such (too deep), never as one place's failure. Tested without a
 * regular expression: compiling one with the stack nearly exhausted can abort the process.
 */
export function isTooDeep(error: unknown): boolean {
  return error instanceof RangeError && typeof error.message === 'string' && error.message.includes('call stack');
}

/**
 * `error`, raised below step `key` (inside `container`, a Map, a Set or a class instance, when
 * given), with `key` in front of its path. A value's own throw becomes Unreadable here, at its place.
 */
export function within(error: unknown, key: string, container?: string): unknown {
  if (error instanceof Unreadable) {
    error.path = key + error.path;
    return error;
  }
  if (!(error instanceof MisplacedDelayed)) return isForkJoinError(error) || isTooDeep(error) ? error : new Unreadable(error, key);
  if (container !== undefined && error.where === '') return new MisplacedDelayed(container, key + error.path);
  error.path = key + error.path;
  return error;
}
