/**
 * From the requested nodes to what must run. Without a cache, every node the
 * roots need. With one, lookups go from the roots down, level by level: a hit
 * ends the descent there, so the subgraph below a cached node is never read,
 * loaded or run; only below a miss are the inputs looked up in turn.
 *
 * A plan numbers the nodes of one computation and keeps what it knows of them
 * in arrays indexed by that number, not in an object per node: a graph of
 * 16,000 nodes is a few dozen arrays, which the garbage collector barely sees.
 */
import { readCache, type Cache } from '../cache/cache.js';
import type { Task, TaskSpec } from '../task.js';
import { taskCode, type TaskCode } from './code.js';
import type { GraphNode } from './delayed.js';
import { digestText, Hasher, type Digest } from './hash.js';
import type { TaskSet } from './task-set.js';

/** Where a run is; a Uint8Array per plan holds one per run. */
export const RunState = Object.freeze({ Pending: 0, Ready: 1, Running: 2, Done: 3 });

/** Run numbers by node identity (equal digests): the same call made twice is one run. */
class RunIndex {
  readonly #map = new Map<number, number | number[]>();

  constructor(private readonly nodes: GraphNode[]) {}

  get(node: GraphNode): number {
    const found = this.#map.get(node.d0);
    if (found === undefined) return -1;
    if (typeof found === 'number') return this.nodes[found].same(node) ? found : -1;
    for (const id of found) if (this.nodes[id].same(node)) return id;
    return -1;
  }

  add(id: number): void {
    const d0 = this.nodes[id].d0;
    const found = this.#map.get(d0);
    if (found === undefined) this.#map.set(d0, id);
    else if (typeof found === 'number') this.#map.set(d0, [found, id]);
    else found.push(id);
  }
}

/** What one computation knows of its nodes, by run number. */
export class Plan {
  /** The node of each run. */
  readonly nodes: GraphNode[];
  /** Each run's inputs (run numbers, in the order of its node's `deps`): `inputs[inputStart[i] .. inputStart[i + 1])`. */
  readonly inputStart: number[];
  readonly inputs: number[];
  /** The run of each requested root, in order. */
  readonly roots: number[];
  readonly state: Uint8Array;
  /** A result, while a root or a pending dependent needs it. */
  readonly values: unknown[];
  /** Inputs not yet available. */
  readonly missing: Int32Array;
  /** Dependents not yet started, plus one per request as a root: at zero the result is dropped. */
  readonly refs: Int32Array;
  /** Who waits for each run: `dependents[dependentStart[i] .. dependentStart[i + 1])`. */
  readonly dependentStart: Int32Array;
  readonly dependents: Int32Array;
  /** Cache keys, when there is a cache (null: not cacheable). */
  readonly cacheKeys: Array<string | null> | null;
  /** Runs to execute, and runs answered by the cache. */
  readonly toRun: number;
  readonly cached: number[];

  /** Tasks that run under another reference than their nodes', by spec key (see code.ts); null when none. */
  readonly #runAs: Map<string, Task> | null;

  constructor(
    nodes: GraphNode[], inputStart: number[], inputs: number[], roots: number[],
    done: Map<number, unknown> | null, cacheKeys: Array<string | null> | null, runAs: Map<string, Task> | null,
  ) {
    this.#runAs = runAs;
    this.nodes = nodes;
    this.inputStart = inputStart;
    this.inputs = inputs;
    this.roots = roots;
    this.cacheKeys = cacheKeys;
    const n = nodes.length;
    this.state = new Uint8Array(n);
    this.values = new Array<unknown>(n);
    this.missing = new Int32Array(n);
    this.refs = new Int32Array(n);
    this.cached = [];
    if (done !== null) {
      for (const [id, value] of done) {
        this.state[id] = RunState.Done;
        this.values[id] = value;
        this.cached.push(id);
      }
    }
    this.toRun = n - this.cached.length;
    // Dependents: counted, then filled (compressed rows, as inputs are).
    const counts = new Int32Array(n + 1);
    for (let e = 0; e < inputs.length; e++) counts[inputs[e] + 1]++;
    for (let i = 0; i < n; i++) counts[i + 1] += counts[i];
    this.dependentStart = counts.slice();
    this.dependents = new Int32Array(inputs.length);
    const fill = counts;
    for (let i = 0; i < n; i++) {
      for (let e = inputStart[i]; e < inputStart[i + 1]; e++) {
        const input = inputs[e];
        this.dependents[fill[input]++] = i;
        this.refs[input]++;
        if (this.state[input] !== RunState.Done) this.missing[i]++;
      }
    }
    for (const root of roots) this.refs[root]++;
  }

  /** What to run for a run: its node's task, or the version of it that the node's key describes. */
  taskOf(id: number): Task {
    const fn = this.nodes[id].fn;
    return this.#runAs?.get(fn.spec.key) ?? fn.task;
  }
}

/** Every node the roots need. */
export function planAll(rootNodes: readonly GraphNode[]): Plan {
  const nodes: GraphNode[] = [];
  const index = new RunIndex(nodes);
  const inputStart = [0];
  const inputs: number[] = [];
  const idOf = (node: GraphNode): number => {
    let id = index.get(node);
    if (id < 0) {
      id = nodes.push(node) - 1;
      index.add(id);
    }
    return id;
  };
  const roots = rootNodes.map(idOf);
  for (let i = 0; i < nodes.length; i++) {
    const deps = nodes[i].deps;
    for (let j = 0; j < deps.length; j++) inputs.push(idOf(deps[j]));
    inputStart.push(inputs.length);
  }
  return new Plan(nodes, inputStart, inputs, roots, null, null, new TaskCodes().runAs(rootNodes));
}

/** The code of each task of one computation, read once: a file is checked at each computation, so an edit between two is seen. */
export class TaskCodes {
  readonly #codes = new Map<TaskSpec, TaskCode | null>();

  of(spec: TaskSpec): TaskCode | null {
    let code = this.#codes.get(spec);
    if (code === undefined) {
      code = taskCode(spec);
      this.#codes.set(spec, code);
    }
    return code;
  }

  /**
   * The tasks of the graphs under `roots` that run under another reference, by spec key: those
   * whose module's file changed since this process first read it or named it for an executor
   * (see code.ts). Null when none did (the common case).
   */
  runAs(roots: readonly GraphNode[]): Map<string, Task> | null {
    const sets = new Set<TaskSet>();
    for (const root of roots) sets.add(root.tasks);
    let runAs: Map<string, Task> | null = null;
    for (const set of sets) {
      for (const info of set.tasks) {
        const code = this.of(info.spec);
        if (code?.runAs) (runAs ??= new Map()).set(info.spec.key, code.runAs);
      }
    }
    return runAs;
  }
}

/**
 * Cache keys: a node's identity (its task, arguments and inputs, all the way
 * down) and the code of every task its subgraph uses. So an edited task
 * changes the keys of exactly the nodes that use it and of those downstream.
 * Null for what must not be cached: impure nodes, arguments without lasting
 * content, tasks whose code cannot be read, and everything computed from them.
 * Each task's code is read once per computation.
 */
export class CacheKeys {
  readonly #codes: TaskCodes;
  readonly #sets = new Map<TaskSet, Digest | null>();
  readonly #h = new Hasher();

  constructor(codes: TaskCodes) {
    this.#codes = codes;
  }

  keyOf(node: GraphNode): string | null {
    if (!node.cacheable) return null;
    const code = this.#codeOf(node.tasks);
    if (code === null) return null;
    const h = this.#h.reset();
    h.word(0x67726170); // "grap": a namespace apart from memoize's keys
    h.word(node.d0);
    h.word(node.d1);
    h.word(node.d2);
    h.word(node.d3);
    h.digestOf(code);
    h.finish();
    return digestText(h.o0, h.o1, h.o2, h.o3);
  }

  /** The digest of the code of every task in `set`, or null if one cannot be read. */
  #codeOf(set: TaskSet): Digest | null {
    let digest = this.#sets.get(set);
    if (digest !== undefined) return digest;
    const h = new Hasher();
    digest = null;
    let readable = true;
    for (const info of set.tasks) {
      const code = this.#codes.of(info.spec);
      if (code === null) {
        readable = false;
        break;
      }
      h.digestOf(code.digest);
    }
    if (readable) digest = h.digest();
    this.#sets.set(set, digest);
    return digest;
  }
}

/** The roots-down plan against `cache`; `stopped` is checked between levels (null: stopped). */
export async function planCached(rootNodes: readonly GraphNode[], cache: Cache, stopped: () => boolean, stop: Promise<void>): Promise<Plan | null> {
  const codes = new TaskCodes();
  const keys = new CacheKeys(codes);
  const nodes: GraphNode[] = [];
  const cacheKeys: Array<string | null> = [];
  const index = new RunIndex(nodes);
  const inputStart = [0];
  const inputs: number[] = [];
  const done = new Map<number, unknown>();
  const warned = new Set<string>();
  const idOf = (node: GraphNode): number => {
    let id = index.get(node);
    if (id < 0) {
      id = nodes.push(node) - 1;
      cacheKeys.push(keys.keyOf(node));
      index.add(id);
    }
    return id;
  };
  const roots = rootNodes.map(idOf);
  // Runs are looked up a level at a time: [from, to) are the runs found by the level above.
  let from = 0;
  while (from < nodes.length && !stopped()) {
    const to = nodes.length;
    const lookups = Promise.all(cacheKeys.slice(from, to).map((key) => (key === null ? undefined : readCache(cache, key, warned, 'compute'))));
    const hits = await Promise.race([lookups, stop]);
    if (hits === undefined) return null;
    for (let i = from; i < to; i++) {
      const hit = hits[i - from];
      if (hit !== undefined) done.set(i, hit.value);
      else {
        const deps = nodes[i].deps;
        for (let j = 0; j < deps.length; j++) inputs.push(idOf(deps[j]));
      }
      inputStart.push(inputs.length);
    }
    from = to;
  }
  if (stopped()) return null;
  return new Plan(nodes, inputStart, inputs, roots, done, cacheKeys, codes.runAs(rootNodes));
}
