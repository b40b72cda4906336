/**
 * `delayed(task)`: Dask's delayed for forkjoin. Calling the returned function
 * runs nothing; it builds a node whose key is a hash of the task and of its
 * arguments' canonical encoding, so the same call made twice is one node.
 */
import { crypto } from '../builtins.js';
import { CloneError, ErrorCodes, InvalidTypeError, isForkJoinError } from '../errors.js';
import { booleanOption, knownKeys, objectOption } from '../options.js';
import { toTaskSpec, type Task, type TaskSpec } from '../task.js';
import { walkArgs } from './arguments.js';
import { Unreadable, isTooDeep } from './walk-error.js';
import { TaskSet, type TaskInfo } from './task-set.js';
import { digestText, Hasher, hashString, type Digest } from './hash.js';
import { compute, type ComputeOptions } from './compute.js';

/** A value, or a Delayed that will produce it, at any depth of arrays and plain objects. */
export type Lazy<T> =
  | T
  | Delayed<T>
  | (T extends readonly unknown[] ? { [K in keyof T]: Lazy<T[K]> } : never)
  | (T extends (...args: never[]) => unknown ? never : T extends object ? { [K in keyof T]: Lazy<T[K]> } : never);

/** The arguments a delayed task accepts: each may be (or contain) a Delayed of the right type. */
export type LazyArgs<A extends unknown[]> = { [K in keyof A]: Lazy<A[K]> };

export interface DelayedOptions {
  /**
   * Whether the task always returns the same result for the same arguments. `false` makes every
   * call a node of its own (no de-duplication) and keeps it, and what depends on it, out of any cache.
   * @default true
   * @example delayed(tasks.random, { pure: false })
   */
  pure?: boolean | undefined;
}

const NO_DEPS: readonly GraphNode[] = Object.freeze([]);

/** A node of a task graph: the result of a task that has not run yet. Made by the functions `delayed()` returns. */
export abstract class Delayed<T = unknown> {
  /** Carries the result type for the type checker; never set. */
  declare readonly __result?: T;

  /** Nodes are made by the functions delayed() returns. */
  protected constructor() {}

  /** Deterministic: `<task name>-<24 base-32 digits>`; equal for equal calls. */
  abstract get key(): string;

  /** How error messages and pictures name the task: `tasks.js#inc`, `inline function inc`. */
  get task(): string {
    return (this as unknown as GraphNode).fn.spec.label;
  }

  /** The nodes whose results this one needs (compare nodes by `key`: equal calls made apart are equal nodes). */
  get dependencies(): Array<Delayed<unknown>> {
    return [...(this as unknown as GraphNode).deps];
  }

  /** Runs the graph that ends here; the same as `compute(this, options)`. */
  compute(options?: ComputeOptions): Promise<T> {
    return compute(this, options);
  }

  toString(): string {
    return `Delayed(${this.key})`;
  }

  get [Symbol.toStringTag](): string {
    return 'Delayed';
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}

/**
 * @internal What the scheduler knows of a node. A graph holds thousands of
 * these until it has run, so a node is one object (the Delayed itself, its
 * fields internal to forkjoin) and its digests are small-integer fields.
 */
export class GraphNode extends Delayed<unknown> {
  /** The node's identity: its task, its arguments, its inputs' identities. */
  readonly d0: number;
  readonly d1: number;
  readonly d2: number;
  readonly d3: number;
  #key: string | null = null;

  constructor(
    h: Hasher,
    readonly fn: TaskInfo,
    /** The arguments as they were when the node was built: the arrays and plain objects in them are copies of the caller's. */
    readonly args: readonly unknown[],
    readonly deps: readonly GraphNode[],
    /** Those copies that hold a Delayed deeper down, to be copied again with the values filled in. */
    readonly holders: ReadonlySet<object> | null,
    /** Pure, every argument has content that outlives the process, and so has every input. */
    readonly cacheable: boolean,
    /** The tasks of this node and of every node below it: their code is part of its cache key. */
    readonly tasks: TaskSet,
  ) {
    super();
    this.d0 = h.o0;
    this.d1 = h.o1;
    this.d2 = h.o2;
    this.d3 = h.o3;
  }

  get key(): string {
    return (this.#key ??= this.fn.prefix + digestText(this.d0, this.d1, this.d2, this.d3));
  }

  get spec(): TaskSpec {
    return this.fn.spec;
  }

  /** Whether `other` is the same call (equal digests). */
  same(other: GraphNode): boolean {
    return this.d0 === other.d0 && this.d1 === other.d1 && this.d2 === other.d2 && this.d3 === other.d3;
  }
}

function nodeOf(value: object): GraphNode | undefined {
  return value instanceof GraphNode ? value : undefined;
}

/** @internal The node behind a Delayed, or undefined when `value` is no Delayed. */
export function graphNodeOf(value: unknown): GraphNode | undefined {
  return typeof value === 'object' && value !== null ? nodeOf(value) : undefined;
}

/** Whether `value` is a Delayed (works for any Delayed made by this copy of forkjoin). */
export function isDelayed(value: unknown): value is Delayed<unknown> {
  return graphNodeOf(value) !== undefined;
}

const specDigests = new WeakMap<TaskSpec, Digest>();
const nodeHasher = new Hasher();
/** Set while arguments are walked: a getter that builds a Delayed meanwhile gets hashers of its own. */
let walking = false;
/** Impure nodes' keys: unique in this process, and unlike any other process's. */
let salt = -1;
let impureCount = 0;

function specDigest(spec: TaskSpec): Digest {
  let digest = specDigests.get(spec);
  if (digest === undefined) {
    digest = hashString(spec.key);
    specDigests.set(spec, digest);
  }
  return digest;
}

/**
 * A call whose arguments could not be read to make its key (a getter or a Proxy trap threw, at
 * the place `path` names, or they nest deeper than the stack): FJ_ARG_NOT_CLONEABLE, as a pool
 * says of arguments it cannot send. forkjoin's own errors (a Delayed where it cannot go, ...) pass unchanged.
 */
function unreadableArgs(where: string, error: unknown): unknown {
  const path = error instanceof Unreadable ? error.path : 'args';
  const thrown = error instanceof Unreadable ? error.thrown : error;
  if (isForkJoinError(thrown)) return thrown;
  const deep = isTooDeep(thrown);
  const why = deep ? 'they are nested too deeply' : `reading ${path} threw ${thrown instanceof Error ? thrown.message : String(thrown)}`;
  return new CloneError(ErrorCodes.ARG_NOT_CLONEABLE, `${where}: its arguments cannot be read to make the node's key: ${why}`, { cause: thrown, path });
}

/** The functions delayed() made: delayed() of one is that function (as Dask's delayed of a Delayed is it). */
const madeByDelayed = new WeakSet<Function>();

/**
 * Wraps a task so that calling it builds a graph node instead of running:
 * `const inc = delayed(tasks.inc); const total = add(inc(1), inc(2));`
 */
export function delayed<A extends unknown[], R>(task: Task<A, R>, options?: DelayedOptions): (...args: LazyArgs<A>) => Delayed<Awaited<R>> {
  if (typeof task === 'function' && madeByDelayed.has(task)) {
    if (options !== undefined) throw new InvalidTypeError('delayed(): the task is already a delayed function; give the options where it was first made delayed');
    return task as unknown as (...args: LazyArgs<A>) => Delayed<Awaited<R>>;
  }
  const o = objectOption('delayed', options) as DelayedOptions & Record<string, unknown>;
  knownKeys('delayed', o, ['pure']);
  const pure = o.pure === undefined ? true : booleanOption('delayed', 'pure', o.pure);
  const spec = toTaskSpec(task);
  const ofSpec = specDigest(spec);
  const info: TaskInfo = Object.freeze({ task, spec, prefix: `${spec.name.replace(/[^\w$.]/g, '_') || 'task'}-` });
  const own = TaskSet.of(info);
  const where = `${spec.name} (delayed)`;
  const made = (...args: LazyArgs<A>): Delayed<Awaited<R>> => {
    const nested = walking;
    const h = nested ? new Hasher() : nodeHasher.reset();
    h.digestOf(ofSpec);
    walking = true;
    let walk;
    try {
      walk = walkArgs(h, args, nodeOf, where);
    } catch (thrown) {
      throw unreadableArgs(where, thrown);
    } finally {
      walking = nested;
    }
    if (!pure) {
      if (salt < 0) salt = crypto().randomBytes(4).readUInt32LE(0);
      h.word(salt);
      h.word(++impureCount);
    }
    const deps = walk.deps;
    let cacheable = pure && walk.cacheable;
    let tasks = own;
    if (deps !== null) {
      let below = deps[0].tasks;
      for (let i = 0; i < deps.length; i++) {
        const dep = deps[i];
        h.word(dep.d0);
        h.word(dep.d1);
        h.word(dep.d2);
        h.word(dep.d3);
        if (!dep.cacheable) cacheable = false;
        if (dep.tasks !== below) below = below.union(dep.tasks);
      }
      tasks = below.with(info);
    }
    h.finish();
    return new GraphNode(h, info, args, deps ?? NO_DEPS, walk.holders, cacheable, tasks) as unknown as Delayed<Awaited<R>>;
  };
  madeByDelayed.add(made);
  return made;
}
