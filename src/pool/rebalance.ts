/**
 * Calls sent ahead to a worker wait behind the call it runs. When that call runs
 * far past its kind's measured time (a 5 s call among 10 ms ones) while another
 * worker is free and nothing is queued, the calls waiting behind it are taken
 * back and run elsewhere, instead of waiting for it to end: from a thread at
 * once (claims.ts), even while it is blocked in synchronous code; from a child,
 * by asking it (TakeBack), which it answers when its event loop is free (the
 * long call awaits something), giving back those it has not begun.
 */
import { nowMs } from '../clock.js';
import type { Pacer } from './batch.js';
import type { Claims } from './claims.js';
import { Msg } from './protocol.js';
import { CallState, type Call, type PoolWorker } from './records.js';
import type { WorkerSet } from './workers.js';

export interface RebalanceHooks {
  /** Puts a call taken back at the head of the queue (they come newest first). */
  requeue(call: Call): void;
  /** Sends queued calls to the workers with room. */
  dispatch(): void;
  queueEmpty(): boolean;
}

export class Rebalancer {
  #timer: NodeJS.Timeout | null = null;
  #timerAt = Number.POSITIVE_INFINITY;

  constructor(
    private readonly workers: WorkerSet,
    private readonly pacer: Pacer,
    private readonly hooks: RebalanceHooks,
  ) {}

  /** Takes back what waits on overdue workers; looks again when the next worker holding waiting calls would be overdue. */
  run(): void {
    const now = nowMs();
    let wake = Number.POSITIVE_INFINITY;
    let taken = false;
    for (const w of this.workers) {
      const claims = w.link.claims;
      // Even one holding no more calls than it runs at once: a call stuck in synchronous code blocks the others.
      if (w.ending || w.exited || w.load === 0) continue;
      const at = this.pacer.overdueAt(w);
      if (at > now) wake = Math.min(wake, at);
      else if (claims === undefined) askBack(w);
      else if (takeBack(w, claims, this.hooks)) taken = true;
    }
    if (taken) this.hooks.dispatch();
    else if (wake !== Number.POSITIVE_INFINITY) this.#wakeAt(wake);
  }

  /** Queues again the calls a child gave back unbegun (askBack); one cancelled meanwhile is forgotten. */
  givenBack(w: PoolWorker, ids: readonly number[]): void {
    requeueFrom(w, ids.flatMap((id) => w.take(id) ?? []), this.hooks);
  }

  cancel(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#timerAt = Number.POSITIVE_INFINITY;
  }

  #wakeAt(at: number): void {
    if (this.#timer !== null && this.#timerAt <= at) return;
    this.cancel();
    this.#timerAt = at;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#timerAt = Number.POSITIVE_INFINITY;
      // Still worth it: nothing queued, and a worker with room.
      if (this.hooks.queueEmpty() && this.workers.anyWithRoom()) this.run();
    }, Math.max(0, at - nowMs()) + 1);
    this.#timer.unref();
  }
}

/** Takes back from `w` every call it has not begun (one sent unmarked stays); returns whether it took any. */
function takeBack(w: PoolWorker, claims: Claims, hooks: RebalanceHooks): boolean {
  const taken: Call[] = [];
  for (const call of w.inflight.values()) {
    if (call.claimable && call.state === CallState.Sent && claims.take(call.id)) taken.push(call);
  }
  requeueFrom(w, taken, hooks);
  return taken.length > 0;
}

/** Calls `w` no longer holds, queued again at the head, newest first, so that they keep their order. */
function requeueFrom(w: PoolWorker, calls: readonly Call[], hooks: RebalanceHooks): void {
  for (let i = calls.length - 1; i >= 0; i--) {
    w.inflight.delete(calls[i].id);
    w.assigned--;
    hooks.requeue(calls[i]);
  }
}

/** Asks a child for every call it holds not begun, once each; those it gives back return with its next results (PoolCore). */
function askBack(w: PoolWorker): void {
  const ids: number[] = [];
  for (const call of w.inflight.values()) {
    if (call.state !== CallState.Sent || call.askedBack) continue;
    call.askedBack = true;
    ids.push(call.id);
  }
  if (ids.length > 0) w.link.send({ k: Msg.TakeBack, ids }, []);
}
