/** The error compute() rejects with when a node fails. */
import { AbortError, ErrorCodes, ForkJoinError } from '../errors.js';

/** A node of a task graph failed: `key` and `task` name it; `cause` is the task's own error. */
export class GraphError extends ForkJoinError {
  declare readonly code: typeof ErrorCodes.GRAPH_NODE_FAILED;
  declare readonly key: string;
  declare readonly task: string;
  constructor(message: string, extras: { cause: unknown; key: string; task: string }) {
    super(ErrorCodes.GRAPH_NODE_FAILED, message, extras);
  }
}

/** The error a stopped computation rejects with. */
export function abortedError(reason: unknown): AbortError {
  return reason instanceof AbortError ? reason : new AbortError('The computation was aborted', { cause: reason });
}
