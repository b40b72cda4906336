/**
 * Values travel as "byte strings": one char per byte (latin1), so any input - a file name
 * that is not UTF-8 included - reaches a command line byte for byte, and the path
 * operations and quoting of GNU parallel (which work on bytes) apply unchanged.
 */
import { ErrorCodes, ForkJoinError, InvalidTypeError } from '../errors.js';
import { describeType } from '../task.js';

/** One input value: text, a number, or raw bytes (a line of a file, say). */
export type InputValue = string | number | Uint8Array;

const ASCII = /^[\x00-\x7f]*$/;

/** The bytes of `value` as a byte string. */
export function toByteString(value: InputValue, where: string): string {
  let bytes: string;
  if (typeof value === 'string') bytes = ASCII.test(value) ? value : Buffer.from(value, 'utf8').toString('latin1');
  else if (typeof value === 'number') bytes = String(value);
  else if (value instanceof Uint8Array) bytes = Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('latin1');
  else throw new InvalidTypeError(`${where}: each input value must be a string, a number or a Uint8Array (or an array of them); received ${describeType(value)}`);
  if (bytes.includes('\0')) {
    throw new ForkJoinError(ErrorCodes.SHELL_INPUT, `${where}: the input value ${JSON.stringify(fromByteString(bytes))} holds a NUL byte, which no command line can carry`);
  }
  return bytes;
}

/** Text for people: the byte string decoded as UTF-8. */
export function fromByteString(bytes: string): string {
  return ASCII.test(bytes) ? bytes : Buffer.from(bytes, 'latin1').toString('utf8');
}
