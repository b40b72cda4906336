/**
 * How an engine runs one job on its pool. A crashed pool worker runs the job again while
 * its `retries` allow; a timeout fails it at once, as the time limit promises (the pool
 * itself retries nothing). (An inline function that reads a variable of its enclosing
 * scope fails with FJ_INLINE_CLOSURE: the pool's workers explain it, in chunks too.)
 */
import { ErrorCodes, isForkJoinError } from '../errors.js';
import type { CancelHandle, ChunkRunner } from '../map.js';
import type { ChunkResult } from '../pool/protocol.js';
import { kSoftAbort } from '../pool/signals.js';
import { codedError } from '../task-loader.js';
import type { TaskRef, TaskSpec } from '../task.js';
import type { TurnBatch } from './turn-batch.js';
import { decodeItems, type JobData } from './wire.js';

const handedBack = codedError(ErrorCodes.ABORTED, 'The job was handed back to the queue');
const abandoned = codedError(ErrorCodes.ABORTED, 'The caller of this job cancelled it, or is gone');

/**
 * A held job's pool call, cancelled before it reached the pool (it never does) or after
 * (the pool drops it), without an AbortSignal per job.
 */
export class JobCancel implements CancelHandle {
  cancel: ((reason: unknown) => void) | null = null;
  requested = false;

  request(): void {
    this.requested = true;
    this.cancel?.(handedBack);
  }

  /** Its caller cancelled it, or is gone: counted neither done nor failed, and not answered. */
  aborted = false;

  /** Stops the job for good: its caller cancelled it, or is gone. */
  abort(): void {
    this.requested = true;
    this.aborted = true;
    this.cancel?.(abandoned);
  }

  /** Its caller no longer awaits it (a failed map, an imap left): dropped if not begun, else left to finish, unobserved and not answered. */
  soften(): void {
    this.requested = true;
    this.aborted = true;
    this.cancel?.(kSoftAbort);
  }
}

/** What the pool gives for a worker lost under a job: the job runs again while retries allow. */
const crashed = (error: unknown): boolean =>
  isForkJoinError(error, ErrorCodes.WORKER_EXITED) || isForkJoinError(error, ErrorCodes.WORKER_OUT_OF_MEMORY);

/** Runs a job's items on the pool, its start batched with the others of this turn (`starts`). */
export async function runJob(
  runner: ChunkRunner, starts: TurnBatch<() => void>, job: { spec: TaskSpec; task: TaskRef }, data: JobData, cancel: JobCancel,
): Promise<ChunkResult> {
  const items = decodeItems(data);
  // Watched (it reports its start), so that a cancel stops it where it runs, its worker replaced.
  const call = { task: job.task, signal: undefined, timeout: data.t, stopsRunning: true, retries: 0, handle: cancel };
  for (let attempt = 0; ; attempt++) {
    try {
      return await new Promise<ChunkResult>((resolve, reject) => {
        starts.add(() => {
          if (cancel.requested) reject(handedBack);
          else runner.runChunk(job.spec, items, data.f, call).then(resolve, reject);
        });
      });
    } catch (error) {
      if (attempt >= data.r || cancel.requested || !crashed(error)) throw error;
    }
  }
}
