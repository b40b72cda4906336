/**
 * Option validation with one wording everywhere: a TypeError for a wrong type,
 * a RangeError for a value out of range, each naming the option and the value.
 */
import { InvalidTypeError, InvalidValueError } from './errors.js';
import { describeType } from './task.js';

function received(value: unknown): string {
  return `received ${describeType(value)}`;
}

/** An integer in [min, max]; `Infinity` is allowed when `max` is Infinity. */
export function integerOption(where: string, name: string, value: unknown, min: number, max = Number.POSITIVE_INFINITY): number {
  if (typeof value !== 'number') {
    throw new InvalidTypeError(`${where}: the "${name}" option must be a number; ${received(value)}`);
  }
  const whole = Number.isInteger(value) || (value === Number.POSITIVE_INFINITY && max === Number.POSITIVE_INFINITY);
  if (!whole || value < min || value > max) { // NaN too: a number, out of every range
    const range = max === Number.POSITIVE_INFINITY ? `an integer >= ${min}` : `an integer from ${min} to ${max}`;
    throw new InvalidValueError(`${where}: the "${name}" option must be ${range}; ${received(value)}`);
  }
  return value;
}

/** A count passed as an argument (`release(count)`): a whole number from 1 to `max`. */
export function countArgument(where: string, value: unknown, max: number): number {
  if (typeof value !== 'number') throw new InvalidTypeError(`${where}: the count must be a number; ${received(value)}`);
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new InvalidValueError(`${where}: the count must be an integer from 1 to ${max}; ${received(value)}`);
  }
  return value;
}

/** The longest delay a Node timer keeps: a longer one fires after 1 ms (with a TimeoutOverflowWarning). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A duration in milliseconds: a number > 0 up to MAX_TIMER_MS, or Infinity for none. */
export function durationOption(where: string, name: string, value: unknown): number {
  if (typeof value !== 'number') {
    throw new InvalidTypeError(`${where}: the "${name}" option must be a number of milliseconds; ${received(value)}`);
  }
  if (!(value > 0) || (value > MAX_TIMER_MS && value !== Number.POSITIVE_INFINITY)) {
    throw new InvalidValueError(`${where}: the "${name}" option must be a positive number of milliseconds up to ${MAX_TIMER_MS} (about 24.8 days), or Infinity for none; ${received(value)}`);
  }
  return value;
}

export function booleanOption(where: string, name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new InvalidTypeError(`${where}: the "${name}" option must be a boolean; ${received(value)}`);
  return value;
}

/** A progress option: true or false (a bar on stderr when it is a terminal), or a listener function. */
export function progressOption<L>(where: string, value: unknown): boolean | L {
  if (typeof value === 'function') return value as L;
  if (typeof value !== 'boolean') throw new InvalidTypeError(`${where}: the "progress" option must be true, false or a listener function; ${received(value)}`);
  return value;
}

export function signalOption(where: string, value: unknown): AbortSignal | undefined {
  if (value === undefined) return undefined;
  if (!(value instanceof AbortSignal)) throw new InvalidTypeError(`${where}: the "signal" option must be an AbortSignal; ${received(value)}`);
  return value;
}

/** Node flags for a worker or child process: an array of strings, copied. */
export function execArgvOption(where: string, argv: unknown): string[] {
  if (!Array.isArray(argv)) throw new InvalidTypeError(`${where}: the "execArgv" option must be an array of strings; received ${describeType(argv)}`);
  const bad = argv.findIndex((arg) => typeof arg !== 'string');
  if (bad >= 0) throw new InvalidTypeError(`${where}: the "execArgv" option must be an array of strings; execArgv[${bad}] is ${describeType(argv[bad])}`);
  return argv.slice() as string[];
}

export function objectOption(where: string, value: unknown): Record<string, unknown> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidTypeError(`${where}: options must be an object; ${received(value)}`);
  }
  return value as Record<string, unknown>;
}

/**
 * An option error in a command's words: `the "jobs" option` and `the "a" and "b" options` said
 * as the flags `flag` gives (a name it has no flag for stays as it is).
 */
export function inFlagWords(message: string, flag: (name: string) => string | undefined): string {
  return message
    .replace(/the "(\w+)" and "(\w+)" options/g, (whole, a: string, b: string) => {
      const [fa, fb] = [flag(a), flag(b)];
      return fa === undefined || fb === undefined ? whole : `${fa} and ${fb}`;
    })
    .replace(/the "(\w+)" option/g, (whole, name: string) => flag(name) ?? whole);
}

/** Rejects option names that do not exist, so a typo never passes silently. */
export function knownKeys(where: string, options: Record<string, unknown>, known: readonly string[]): void {
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new InvalidTypeError(`${where}: unknown option "${key}" (known options: ${known.join(', ')})`);
    }
  }
}

/** close()'s options: `{ cancelPending?: boolean }`; returns cancelPending. */
export function closeOptions(where: string, options: unknown): boolean {
  const o = objectOption(where, options);
  knownKeys(where, o, ['cancelPending']);
  return o.cancelPending === undefined ? false : booleanOption(where, 'cancelPending', o.cancelPending);
}
