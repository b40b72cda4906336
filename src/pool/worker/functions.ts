/** How a worker makes a task function usable: an inline one from its source, a module's export by importing it. */
import { ErrorCodes } from '../../errors.js';
import { inlineMarker } from '../../inline-closure.js';
import { codedError, loadExport } from '../../task-loader.js';
import { ownWire, type WireValue } from '../../wire-error.js';
import type { FnDef } from '../protocol.js';

export type Fn = (...args: unknown[]) => unknown;
/** A function ready to call, or the error every call of it fails with. */
export type FnEntry = Fn | { error: WireValue };

const indirectEval = eval;

/** An inline function from its source, or the error every call of it fails with. */
export function compile([, , code, name]: FnDef): FnEntry {
  try {
    // Strict, as the module it was written in most likely was: a write to a variable of its
    // enclosing scope throws (FJ_INLINE_CLOSURE) instead of making a global here. Evaluated in
    // the global scope, its frames give the lines of its own source (new Function adds two),
    // and it may import() (vm's scripts may not, without an experimental flag).
    const fn = indirectEval(`'use strict'; (${code}\n)\n//# sourceURL=${inlineMarker}:${encodeURIComponent(name)}`) as unknown;
    if (typeof fn !== 'function') throw new TypeError(`the source of ${name} does not evaluate to a function`);
    return fn as Fn;
  } catch (thrown) {
    return { error: ownWire(codedError(ErrorCodes.INLINE_UNSUPPORTED, `The inline function ${name} cannot be compiled in a worker: ${String(thrown)}`, thrown)) };
  }
}

/** A module's export, or the error every call of it fails with. */
export async function load([, , url, name]: FnDef): Promise<FnEntry> {
  try {
    return await loadExport(url, name);
  } catch (thrown) {
    // loadExport throws only its own errors (module load failed, not exported).
    return { error: ownWire(thrown) };
  }
}
