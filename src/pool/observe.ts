/**
 * A pool's events: calls sent while someone listens are timed by their worker (and report
 * their start, for taskStart listeners); what the workers report, and what the pool itself
 * sees (a worker's death, a timeout, an abort), becomes taskStart, taskEnd, workerStart and
 * workerExit events. Nothing here runs while nobody listens.
 */
import { nowMs } from '../clock.js';
import { ExecutorEvents, epochMs, errorFacts, wireFacts, type TaskEventError } from '../observe/events.js';
import type { WireValue } from '../wire-error.js';
import { TaskFlag, type ChunkResult, type ResultsMessage } from './protocol.js';
import { CallState, type Call, type PoolWorker } from './records.js';
import type { ExitInfo } from './transport.js';

/** How many inputs a call runs: a map chunk's count, or 1. */
function inputsOf(call: Call): number {
  return (call.options.flags & TaskFlag.Chunk) === 0 ? 1 : (call.args[0] as ArrayLike<unknown>).length;
}

export class PoolObserver {
  readonly events = new ExecutorEvents();
  #workers = 0;

  /** Calls about to be sent while a task listener is attached: their worker times them (and reports their start for taskStart). */
  sending(batch: readonly Call[]): void {
    const starts = this.events.starts;
    for (const call of batch) {
      call.timed = true;
      call.reportStart = starts;
    }
  }

  /** A worker was started: it gets its number in this pool. */
  workerStarted(w: PoolWorker): void {
    w.number = ++this.#workers;
    if (this.events.workers) this.events.emit({ type: 'workerStart', worker: w.number, at: epochMs() });
  }

  workerExited(w: PoolWorker, info: ExitInfo): void {
    if (!this.events.workers) return;
    // A setup past its timeout was killed by the pool, though not ended as the others (it is a failed start).
    const reason = w.ending ? w.exitReason : w.setupOverdueMs > 0 ? 'setup-failed' : info.oom ? 'out-of-memory' : 'crashed';
    this.events.emit({ type: 'workerExit', worker: w.number, at: epochMs(), reason });
  }

  /** What a Results message says of timed calls, read before the pool settles them. */
  results(w: PoolWorker, message: ResultsMessage): void {
    const begun = message.begun ?? [];
    for (let i = 0; i < begun.length; i += 2) {
      const call = w.inflight.get(begun[i]);
      if (call === undefined) continue;
      call.began = begun[i + 1];
      if (this.events.starts) this.events.emit({ type: 'taskStart', id: call.id, task: call.spec.name, worker: w.number, at: call.began, inputs: inputsOf(call) });
    }
    const ended = message.ended;
    if (ended === undefined) return;
    const outcomes = new Map<number, { failed: boolean; value: unknown }>();
    for (let i = 0; i < message.done.length; i += 2) outcomes.set(message.done[i] as number, { failed: false, value: message.done[i + 1] });
    for (let i = 0; i < message.failed.length; i += 2) outcomes.set(message.failed[i] as number, { failed: true, value: message.failed[i + 1] });
    for (let i = 0; i < ended.length; i += 3) {
      const call = w.inflight.get(ended[i]);
      const outcome = outcomes.get(ended[i]);
      if (call === undefined || outcome === undefined || !call.timed) continue;
      let error: TaskEventError | undefined;
      if (outcome.failed) error = wireFacts(outcome.value as WireValue);
      else if ((call.options.flags & TaskFlag.Chunk) !== 0) {
        const first = (outcome.value as ChunkResult).errors[0];
        if (first !== undefined) error = wireFacts(first[1]);
      }
      this.#ended(w, call, ended[i + 1], ended[i + 2], error);
    }
  }

  /**
   * A timed call failed by the pool, not by its worker's answer (a timeout, an abort), or
   * `blamed` for its worker's death: a taskEnd, if it was running (known, or blamed).
   */
  failed(w: PoolWorker | null, call: Call, error: unknown, blamed: boolean): void {
    if (w === null || !call.timed || (!blamed && call.state !== CallState.Running && call.began === 0)) return;
    const end = epochMs();
    // When it began, as its worker said, or no earlier than it was sent and its worker last answered.
    const start = call.began > 0 ? call.began : end - (nowMs() - Math.max(call.sentAt, w.answeredAt));
    this.#ended(w, call, start, end, errorFacts(error));
  }

  /**
   * terminate() takes `held` from `w` (those it took back unbegun are Queued): each timed call the pool
   * knows `w` was running gets its taskEnd now, with the `error` it rejects with, whatever listeners are
   * attached. Known running: its worker reported its start, or a thread claimed it; a call whose start
   * is not reported counts as running when it is among the first `perWorker` that `w` still held (a
   * worker runs its calls in the order they were sent). Returns `held`.
   */
  terminating(w: PoolWorker, held: Call[], error: unknown, perWorker: number): Call[] {
    let first = 0;
    for (const call of held) {
      if (call.state === CallState.Queued) continue;
      const rank = first++;
      if (!call.timed) continue;
      const known = call.state === CallState.Running || call.began > 0 || call.claimable;
      if (known || (!call.reportsStart && rank < perWorker)) this.failed(w, call, error, true);
    }
    return held;
  }

  #ended(w: PoolWorker, call: Call, start: number, end: number, error: TaskEventError | undefined): void {
    call.timed = false; // one taskEnd per attempt
    call.began = 0;
    if (!this.events.has('taskEnd')) return;
    const base = { type: 'taskEnd', id: call.id, task: call.spec.name, worker: w.number, start, end, ms: end - start, inputs: inputsOf(call) } as const;
    this.events.emit(error === undefined ? { ...base, ok: true } : { ...base, ok: false, error });
  }
}
