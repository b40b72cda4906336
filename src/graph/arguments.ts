/**
 * The two uses of the canonical walk: a graph node's arguments (hashed into its
 * key, their arrays and plain objects copied, their Delayed values collected as
 * its inputs) and a memoized call's key (hashed only).
 */
import { InvalidTypeError } from '../errors.js';
import { T, Walk, type DepOf, type FunctionContent } from './canonical.js';
import { DepList } from './dep-list.js';
import { MisplacedDelayed, Unreadable, within } from './walk-error.js';
import { Hasher, type Digest } from './hash.js';

/** What walking a call's arguments found besides the hash. */
export interface ArgsWalk<N> {
  /** The distinct dependencies, in order of first appearance; null when none. */
  deps: N[] | null;
  /** The copies of arrays and plain objects that hold a Delayed somewhere inside; null when none. */
  holders: Set<object> | null;
  /** False when some value has no content a key sees (a function, a symbol, shared memory, a class instance, an error). */
  cacheable: boolean;
}

/**
 * Hashes a call's arguments into `h` and collects its dependencies. Delayed
 * values may stand as arguments and inside arrays and plain objects. Each array
 * and plain object in `args` (the caller's own list, a rest parameter) is
 * replaced by its copy, made in the same walk. Numbers, strings and Delayed
 * arguments, the common case, take a path that allocates nothing but the list
 * of dependencies.
 */
export function walkArgs<N>(h: Hasher, args: unknown[], depOf: DepOf<N>, where: string): ArgsWalk<N> {
  let deps: DepList<N> | null = null;
  let walk: Walk<N> | null = null;
  h.word(args.length);
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (typeof arg === 'number') {
      h.number(arg);
      continue;
    }
    if (typeof arg === 'string') {
      h.word(T.STRING);
      h.string(arg);
      continue;
    }
    try {
      const dep = typeof arg === 'object' && arg !== null ? depOf(arg) : undefined;
      if (dep !== undefined && walk === null) {
        h.word(T.DEP);
        h.word((deps ??= new DepList()).indexOf(dep));
        continue;
      }
      if (walk === null) {
        walk = new Walk<N>(h, depOf, true);
        walk.deps = deps;
      }
      args[i] = walk.value(arg, true);
    } catch (error) {
      if (error instanceof MisplacedDelayed) {
        throw new InvalidTypeError(
          `${where}: args[${i}]${error.path} is a Delayed inside ${error.where}; Delayed values may stand as arguments ` +
            'or inside arrays and plain objects only (pass it as an argument of its own)',
        );
      }
      throw within(error, `args[${i}]`); // an Unreadable, naming its place
    }
  }
  // A pushed-to array keeps room for 17; a graph keeps its nodes' lists alive, so keep them exact.
  const found = walk === null ? deps : walk.deps;
  const exact = found === null ? null : found.items.slice();
  return walk === null ? { deps: exact, holders: null, cacheable: true } : { deps: exact, holders: walk.holders, cacheable: walk.cacheable };
}

/**
 * The canonical digest of a value that holds no Delayed (`isLazy` recognises one),
 * and whether it may be cached across processes. A function is hashed by its
 * `contentOf` when it has one, else by identity (not cacheable), as is a class instance or an error (not walked into when `skipOpaque`).
 */
export function hashValue(
  value: unknown, isLazy: (value: object) => boolean, where: string, h = new Hasher(), contentOf: FunctionContent | null = null, skipOpaque = false,
): { digest: Digest; cacheable: boolean } {
  const walk = new Walk<true>(h, (v) => (isLazy(v) ? true : undefined), false, contentOf, skipOpaque);
  try {
    walk.value(value, false);
  } catch (error) {
    if (error instanceof MisplacedDelayed) {
      throw new InvalidTypeError(`${where}: a Delayed cannot be passed here (at ${error.path || 'the top level'}); compute it first`);
    }
    throw error;
  }
  return { digest: h.digest(), cacheable: walk.cacheable };
}
