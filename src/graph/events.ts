/** What compute() reports about each node of a graph, for listeners and the progress bar. */

/**
 * - `queued`: its inputs exist; it waits for a place among the calls in flight.
 * - `started`: handed to the executor (which may still hold it until a worker is free).
 * - `finished`: its result arrived; `ms` counts from `started`.
 * - `failed`: it failed for good (after its retries); `error` says why.
 * - `cached`: its result came from the cache; it did not run, nor did anything below it.
 */
export type GraphEventType = 'queued' | 'started' | 'finished' | 'failed' | 'cached';

export interface GraphEvent {
  type: GraphEventType;
  /** The node's key (`inc-3f2a…`). */
  key: string;
  /** The node's task, as error messages name it (`tasks.js#inc`). */
  task: string;
  /** `finished` and `failed`: milliseconds since `started`. */
  ms?: number;
  /** `failed`: the error the node failed with. */
  error?: unknown;
  /** `started` after a failure: how many times it ran before. */
  attempt?: number;
}

export type GraphEventListener = (event: GraphEvent) => void;
