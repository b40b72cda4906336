/**
 * Whether a cache can give a value back as it is. A cache stores by structured clone, which keeps
 * plain data (arrays, plain objects, Maps, Sets, Dates, buffers and views) but turns a class
 * instance into a plain object of its own properties, without its class, methods or private
 * fields, and an error into one without its code. A result holding either is not stored: the
 * caller gets it as it is, and a later call computes it again instead of getting a stripped copy.
 */
import { ErrorCodes, ForkJoinError } from '../errors.js';
import { isData } from '../graph/identity.js';
import { namedKeys } from '../pool/clone.js';

/** How a value that is not plain data is named in a message: `an instance of Point`, `a TypeError`. */
function describe(v: object): string {
  if (v instanceof Error) return `an error (${v.name})`;
  const name: unknown = (v as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof name === 'string' && name !== '' ? `an instance of ${name}` : 'an object with a prototype of its own';
}

/**
 * The first part of `value` a cache would not give back as it is (a class instance, an error, at
 * any depth), named for a message; undefined when there is none. A value that cannot be read
 * (a Proxy, a getter that throws) is left to the write, which reports it.
 */
export function unstorablePart(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const seen = new Set<object>();
  const pending: unknown[] = [value];
  try {
    while (pending.length > 0) {
      const v = pending.pop();
      if (typeof v !== 'object' || v === null || seen.has(v)) continue;
      seen.add(v);
      if (!isData(v)) return describe(v);
      if (ArrayBuffer.isView(v)) continue;
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) if (typeof v[i] === 'object') pending.push(v[i]);
        for (const key of namedKeys(v)) pending.push((v as unknown as Record<string, unknown>)[key]);
      } else if (v instanceof Map) {
        for (const [key, item] of v) pending.push(key, item);
      } else if (v instanceof Set) {
        for (const item of v) pending.push(item);
      } else {
        for (const key of Object.keys(v)) pending.push((v as Record<string, unknown>)[key]);
      }
    }
  } catch {
    return undefined;
  }
  return undefined;
}

/** FJ_CACHE_WRITE_FAILED for a result holding `part`, as memoize and compute report it (a warning; the value is still returned). */
export function unstorableError(part: string): ForkJoinError {
  return new ForkJoinError(
    ErrorCodes.CACHE_WRITE_FAILED,
    `it holds ${part}, which a cache would give back as a plain object without its class, methods or private fields; ` +
      'it is returned as it is and computed again next time (return plain data to have it cached)',
  );
}
