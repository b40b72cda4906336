/**
 * Recognising an inline function that reads or writes a variable of the scope it was written in:
 * shipped by source and compiled in a worker, it finds no such variable there, and the
 * ReferenceError comes from its own code (whose frames carry `inlineMarker`).
 */
import { ErrorCodes } from './errors.js';
import { codedError } from './task-loader.js';

/** The sourceURL under which a worker compiles inline functions. */
export const inlineMarker = 'forkjoin-inline';

/** FJ_INLINE_CLOSURE, saying what to pass, when `thrown` is such a ReferenceError of the inline function `name`; else `thrown`. */
export function explainInline(thrown: unknown, name: string): unknown {
  if (!(thrown instanceof ReferenceError)) return thrown;
  const match = /^(\S+) is not defined$/.exec(thrown.message);
  const frame = (thrown.stack ?? '').split('\n')[1] ?? '';
  if (match === null || !frame.includes(inlineMarker)) return thrown;
  return codedError(
    ErrorCodes.INLINE_CLOSURE,
    `The inline function ${name} uses \`${match[1]}\`, a variable of its enclosing scope. ` +
      'Inline functions are shipped by source and run in a worker, where that variable does not exist: ' +
      `pass ${match[1]} as an argument, or export the function from a module and use taskModule()`,
    thrown,
  );
}
