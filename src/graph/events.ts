/** What compute() reports about each node of a graph, for listeners and the progress bar. */

/**
 * - `queued`: its inputs exist; it waits for a place among the calls in flight.
 * - `started`: handed to the executor (which may still hold it until a worker is free).
 * - `finished`: its result arrived; `ms` counts from `started`.
 * - `failed`: it failed for good (after its retries); `error` says why.
 * - `cached`: its result came from the cache; it did not run, nor did anything below it.
 */
export type GraphEventType = 'queued' | 'started' | 'finished' | 'failed' | 'cached';

/**
 * One event of one node: `key` is the node's key (`inc-3f2a…`), `task` its task as error messages
 * name it (`tasks.js#inc`). `type` says which other fields it has; the fields other types have are
 * undefined, so `e.ms` reads without checking `e.type` first.
 */
export type GraphEvent =
  | { type: 'queued' | 'cached'; key: string; task: string; ms?: undefined; error?: undefined; attempt?: undefined }
  | {
      type: 'started'; key: string; task: string;
      /** After a failure: how many times it ran before. */
      attempt?: number;
      ms?: undefined; error?: undefined;
    }
  | {
      type: 'finished'; key: string; task: string;
      /** Milliseconds since `started`. */
      ms: number;
      error?: undefined; attempt?: undefined;
    }
  | {
      type: 'failed'; key: string; task: string;
      /** Milliseconds since `started`. */
      ms: number;
      /** The error the node failed with. */
      error: unknown;
      attempt?: undefined;
    };

export type GraphEventListener = (event: GraphEvent) => void;
