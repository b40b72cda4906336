/**
 * The set of tasks a node's subgraph uses, kept by every node. A node's cache
 * key is its identity plus the code of each task in this set, so editing one
 * task changes the keys of exactly the nodes that use it and of the nodes
 * downstream of them, and no traversal is needed to know a node's key. Sets
 * are shared and memoized: a graph of two tasks holds three sets in all.
 */
import type { Task, TaskSpec } from '../task.js';

/** Set in TaskSet's static block, which may call the private constructor. */
let merge: (a: readonly TaskInfo[], b: readonly TaskInfo[]) => TaskSet;

/** What all the nodes of one delayed task share. */
export interface TaskInfo {
  readonly task: Task;
  readonly spec: TaskSpec;
  /** The start of its nodes' keys: `inc-`. */
  readonly prefix: string;
}

export class TaskSet {
  /** One task per distinct spec key, sorted by it: the same order in every process. */
  readonly tasks: readonly TaskInfo[];
  readonly #withTask = new Map<TaskInfo, TaskSet>();
  readonly #withSet = new Map<TaskSet, TaskSet>();

  private constructor(tasks: readonly TaskInfo[]) {
    this.tasks = tasks;
  }

  static #singles = new WeakMap<TaskInfo, TaskSet>();

  /** The set of one task. */
  static of(info: TaskInfo): TaskSet {
    let set = TaskSet.#singles.get(info);
    if (set === undefined) {
      set = new TaskSet([info]);
      TaskSet.#singles.set(info, set);
    }
    return set;
  }

  has(info: TaskInfo): boolean {
    return this.tasks.includes(info);
  }

  /** This set plus `info`. */
  with(info: TaskInfo): TaskSet {
    if (this.tasks.includes(info)) return this;
    let set = this.#withTask.get(info);
    if (set === undefined) {
      set = merge(this.tasks, [info]);
      if (set.tasks.length === this.tasks.length) set = this; // an equal task under another function object
      this.#withTask.set(info, set);
    }
    return set;
  }

  /** The union of this set and `other`. */
  union(other: TaskSet): TaskSet {
    if (other === this) return this;
    let set = this.#withSet.get(other);
    if (set === undefined) {
      set = merge(this.tasks, other.tasks);
      if (set.tasks.length === this.tasks.length) set = this;
      this.#withSet.set(other, set);
    }
    return set;
  }

  static {
    merge = (a, b) => {
      const byKey = new Map<string, TaskInfo>();
      for (const info of [...a, ...b]) if (!byKey.has(info.spec.key)) byKey.set(info.spec.key, info);
      const keys = [...byKey.keys()].sort();
      return new TaskSet(keys.map((key) => byKey.get(key) as TaskInfo));
    };
  }
}
