/**
 * A call with a timeout is timed from when its worker reports it begins. A worker stuck outside any
 * call (a timer a task left spinning, a task that stopped it listening) begins nothing and reports
 * nothing, so that timeout would never start and the call would wait forever. Each call with a
 * timeout is watched from when it is sent: once it is first in its worker's line and has waited its
 * timeout and STALL_GRACE_MS more, counted from when it was sent and from when the worker last
 * answered, without beginning, its worker is replaced and the call runs elsewhere, not blamed.
 */
import { nowMs } from '../clock.js';
import { TaskTimeoutError } from '../errors.js';
import { MAX_TIMER_MS } from '../options.js';
import { CallState, type Call, type PoolWorker } from './records.js';

/** Beyond a call's timeout, how long a worker may leave the call first in its line unbegun. */
export const STALL_GRACE_MS = 1000;
/** A call that finds this many workers in a row stuck before it begins fails (it may be the cause). */
const MAX_STALLS = 3;

export interface StallHooks {
  /** Stops a worker now; its exit puts the calls it holds back in the queue. */
  replace(w: PoolWorker, why: string, reason: 'stuck'): void;
  fail(call: Call, error: Error): void;
}

export class Stalls {
  readonly #stalls = new WeakMap<Call, number>();

  constructor(private readonly hooks: StallHooks) {}

  /** Watches the calls just sent to a worker that are timed (those that report when they begin). */
  watch(batch: Call[]): void {
    for (const call of batch) {
      const w = call.worker;
      if (w !== null && call.reportsStart && call.options.timeout !== Number.POSITIVE_INFINITY) this.#arm(w, call, call.sentAt);
    }
  }

  #arm(w: PoolWorker, call: Call, from: number): void {
    const at = from + call.options.timeout + STALL_GRACE_MS;
    // A wait past a timer's reach looks again at the limit (Node would fire it at once).
    call.stall = setTimeout(() => this.#check(w, call), Math.min(MAX_TIMER_MS, Math.max(0, at - nowMs())));
    call.stall.unref();
  }

  #check(w: PoolWorker, call: Call, confirmed = false): void {
    call.stall = null;
    // Begun, loading its module (timed from then), settled, sent back, or its worker already going.
    if (call.worker !== w || call.state !== CallState.Sent || call.timer !== null || w.ending || w.exited) return;
    // Behind another call: looked at again a whole wait later, not before.
    if (w.oldest !== call) {
      this.#arm(w, call, nowMs());
      return;
    }
    const since = Math.max(call.sentAt, w.answeredAt);
    if (nowMs() < since + call.options.timeout + STALL_GRACE_MS) {
      this.#arm(w, call, since);
      return;
    }
    if (!confirmed) {
      // Timers run before the loop reads what came in meanwhile: after this thread was busy, the
      // worker's report that it began may be waiting. Decided once that is read.
      setImmediate(() => this.#check(w, call, true));
      return;
    }
    // A thread's call is taken back first, so it cannot begin there now; one the worker just claimed begins.
    if (call.claimable && w.link.claims?.take(call.id) !== true) {
      this.#arm(w, call, nowMs());
      return;
    }
    const stalls = (this.#stalls.get(call) ?? 0) + 1;
    this.#stalls.set(call, stalls);
    // Sent again by the stopped worker's exit, unless it found too many stuck: then it fails here.
    const fails = stalls >= MAX_STALLS;
    if (fails) w.inflight.delete(call.id);
    this.hooks.replace(w, 'it was stuck outside any task', 'stuck');
    if (fails) this.hooks.fail(call, new TaskTimeoutError(
      `${call.spec.label} never began: ${stalls} workers in a row, sent it, were stuck outside any task for longer than its ` +
      `timeout of ${call.options.timeout} ms; each was replaced`,
      { timeout: call.options.timeout, task: call.spec.label },
    ));
  }
}
