/** An engine's verdict on each task module (or inline function) a job names, and the pool's description of its task. */
import { inlineSpecOf, moduleSpec, taskRef, type TaskRef, type TaskSpec } from '../task.js';
import { refusal } from './guard.js';
import type { JobData } from './wire.js';

/** Remembers, per task, whether this engine refuses it and how its pool names it (each made once). */
export class EngineTasks {
  readonly #root: string;
  readonly #allowInline: boolean;
  readonly #engine: string;
  /** Each task module's (or inline function's) verdict: refused or not. */
  readonly #rules = new Map<string, Error | null>();
  readonly #tasks = new Map<string, { spec: TaskSpec; task: TaskRef }>();

  constructor(root: string, allowInline: boolean, engine: string) {
    this.#root = root;
    this.#allowInline = allowInline;
    this.#engine = engine;
  }

  /** Why this engine refuses the job's task (outside its root, inline not allowed), or null. */
  refusal(data: JobData): Error | null {
    const ruleKey = `${data.k}:${data.m}`;
    let refused = this.#rules.get(ruleKey);
    if (refused === undefined) {
      refused = refusal(data, this.#root, this.#allowInline, this.#engine);
      if (this.#rules.size > 1_000) this.#rules.clear();
      this.#rules.set(ruleKey, refused);
    }
    return refused;
  }

  /** The pool's description of a job's task. */
  taskOf(data: JobData): { spec: TaskSpec; task: TaskRef } {
    const key = `${data.k}:${data.m}#${data.n}`;
    let known = this.#tasks.get(key);
    if (known === undefined) {
      const spec = data.k === 'module' ? moduleSpec(data.m, data.n) : inlineSpecOf(data.m, data.n);
      // The pools read only `spec`; `task` is for LocalExecutor.
      known = { spec, task: taskRef('file:///', data.n) };
      if (this.#tasks.size > 1_000) this.#tasks.clear();
      this.#tasks.set(key, known);
    }
    return known;
  }
}
