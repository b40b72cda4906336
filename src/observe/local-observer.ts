/**
 * A LocalExecutor's task events. It has no workers: a task's `worker` is the concurrency slot
 * it holds (the lowest free one, from 1), so a task stream draws one lane per slot.
 */
import type { WireValue } from '../wire-error.js';
import { ExecutorEvents, epochMs, errorFacts, wireFacts } from './events.js';

/** A task being watched: its id, lane and start. */
export interface Watched {
  id: number;
  lane: number;
  start: number;
  task: string;
  inputs: number;
}

export class LocalObserver {
  readonly events = new ExecutorEvents();
  readonly #taken: boolean[] = [];
  #ids = 0;

  /** A task begins (while a task listener is attached). */
  started(task: string, inputs: number): Watched {
    let lane = this.#taken.indexOf(false);
    if (lane < 0) lane = this.#taken.length;
    this.#taken[lane] = true;
    const watched = { id: ++this.#ids, lane: lane + 1, start: epochMs(), task, inputs };
    if (this.events.starts) this.events.emit({ type: 'taskStart', id: watched.id, task, worker: watched.lane, at: watched.start, inputs });
    return watched;
  }

  /** It ended, or its caller stopped waiting for it (its slot goes to the next task). */
  ended(w: Watched, ok: boolean, value: unknown): void {
    this.#taken[w.lane - 1] = false;
    const end = epochMs();
    const base = { type: 'taskEnd', id: w.id, task: w.task, worker: w.lane, start: w.start, end, ms: end - w.start, inputs: w.inputs } as const;
    // A map chunk's result names its inputs' errors.
    const first = ok ? (value as { errors?: Array<[number, WireValue]> } | null)?.errors?.[0] : undefined;
    if (ok && first === undefined) this.events.emit({ ...base, ok: true });
    else this.events.emit({ ...base, ok: false, error: first !== undefined ? wireFacts(first[1]) : errorFacts(value) });
  }
}
