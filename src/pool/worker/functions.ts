/** How a worker makes a task function usable: an inline one from its source, a module's export by importing it. */
import { ErrorCodes } from '../../errors.js';
import { explainInline, inlineMarker } from '../../inline-closure.js';
import { codedError, loadExport } from '../../task-loader.js';
import { ownWire, toWire, type WireValue } from '../../wire-error.js';
import type { FnDef } from '../protocol.js';

export type Fn = (...args: unknown[]) => unknown;
/** A function ready to call, or the error every call of it fails with. */
export type FnEntry = Fn | { error: WireValue };

const indirectEval = eval;

// esbuild (tsx) wraps named functions in __name(); inline sources may carry the call.
const g = globalThis as { __name?: (fn: unknown, name: string) => unknown };
g.__name ??= (fn, name) => Object.defineProperty(fn as object, 'name', { value: name, configurable: true });

/** An inline function from its source, or the error every call of it fails with. */
export function compile([, , code, name]: FnDef): FnEntry {
  // Strict, as the module it was written in most likely was: a write to a variable of its
  // enclosing scope throws (FJ_INLINE_CLOSURE) instead of making a global here. Evaluated in the
  // global scope, its frames give the lines of its own source (new Function adds two), and it may
  // import() (vm's scripts may not, without an experimental flag).
  const source = `(${code}\n)\n//# sourceURL=${inlineMarker}:${encodeURIComponent(name)}`;
  try {
    let fn: unknown;
    try {
      fn = indirectEval(`'use strict'; ${source}`);
    } catch (thrown) {
      // Sloppy-mode syntax (an octal literal, `with`, a repeated parameter): compiled as written.
      if (!(thrown instanceof SyntaxError)) throw thrown;
      fn = indirectEval(source);
    }
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

/** What a call of `def` threw, ready to send: a ReferenceError raised by an inline function's own code is explained (it reads a captured variable). */
export function wireOfThrown(thrown: unknown, def: FnDef | undefined): WireValue {
  let explained = thrown;
  try {
    if (def !== undefined && def[1] === 'inline') explained = explainInline(thrown, def[3]);
  } catch { /* a value whose prototype cannot be read: toWire describes it */ }
  return explained === thrown ? toWire(thrown) : ownWire(explained);
}
