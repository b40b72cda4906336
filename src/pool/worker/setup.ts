/** A pool's `setup` task, run once in each new worker before it takes calls (like multiprocessing's initializer). */
import { toWire, type WireValue } from '../../wire-error.js';
import type { FnDef, InitMessage } from '../protocol.js';
import type { FnEntry } from './functions.js';
import { decodeLocks, loadLockSupport } from './locks.js';

/** Runs `setup` once its function is defined; resolves to the error to report, or null once it ran. */
export async function runSetup(
  setup: NonNullable<InitMessage['setup']>,
  define: (defs: FnDef[]) => Promise<void> | null,
  fns: readonly FnEntry[],
): Promise<WireValue | null> {
  try {
    await define([setup.def]);
    if (setup.sync) {
      await loadLockSupport();
      decodeLocks(setup.args);
    }
    const entry = fns[setup.def[0]];
    if (typeof entry !== 'function') return entry.error;
    await entry(...setup.args);
    return null;
  } catch (thrown) {
    return toWire(thrown);
  }
}
