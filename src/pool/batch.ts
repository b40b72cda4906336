/** What goes into a Run message: the calls, the function definitions the worker lacks, and how many to send. */
import { nowMs } from '../clock.js';
import { withoutRepeats, type Transferable } from '../transfer.js';
import { MOVE_MIN_BYTES, copyOut } from './copy-out.js';
import { Msg, TaskFlag, type FnDef, type InitMessage, type RunMessage } from './protocol.js';
import { CallState, type Call, type PoolWorker } from './records.js';
import type { Claims } from './claims.js';
import type { TaskSpec } from '../task.js';
import type { NormalizedPoolOptions } from './options.js';
import type { PoolObserver } from './observe.js';

export interface EncodedBatch {
  message: RunMessage;
  transfer: Transferable[];
}

/**
 * One message for `calls`; `known` is what the worker was already sent, `defs` every function
 * by id; `moves` when the worker is a thread, which a transferred buffer moves to (copyOut);
 * with `claims`, each call that could be sent again elsewhere is marked, so it can be taken back.
 */
export function encodeBatch(calls: readonly Call[], known: ReadonlySet<number>, defs: readonly FnDef[], moves = false, claims?: Claims): EncodedBatch {
  let added: FnDef[] | null = null;
  const tasks: unknown[] = [];
  let transfer: Transferable[] = [];
  for (const call of calls) {
    if (!known.has(call.fnId) && !(added?.includes(defs[call.fnId]) ?? false)) (added ??= []).push(defs[call.fnId]);
    const o = call.options;
    const moved = moves && o.transfer === undefined && call.bytes >= MOVE_MIN_BYTES ? copyOut(call.args) : null;
    let flags = call.reportsStart ? o.flags | TaskFlag.Watched : o.flags;
    if (call.timed) flags |= TaskFlag.Timed;
    // Not one whose copy moves to the worker: sent again, it would be copied anew from what the caller holds now.
    call.claimable = claims !== undefined && o.transfer === undefined && claims.mark(call.id);
    if (call.claimable) flags |= TaskFlag.Claimed;
    tasks.push(call.id, call.fnId, flags, moved === null ? call.args : moved.args);
    if (o.transfer !== undefined) transfer = transfer.concat(o.transfer);
    else if (moved !== null) transfer = transfer.concat(moved.transfer);
  }
  return { message: { k: Msg.Run, defs: added, tasks }, transfer: withoutRepeats(transfer) };
}

/** Sends calls in one message; returns what went wrong, or null. */
function trySend(w: PoolWorker, calls: readonly Call[], defs: readonly FnDef[]): { error: unknown } | null {
  const { message, transfer } = encodeBatch(calls, w.known, defs, w.link.moves === true, w.link.claims);
  try {
    w.link.send(message, transfer);
  } catch (error) {
    // Not sent: their slots are free again.
    for (const call of calls) if (call.claimable) w.link.claims?.take(call.id);
    return { error };
  }
  if (message.defs !== null) for (const def of message.defs) w.known.add(def[0]);
  return null;
}

/**
 * Sends `calls` to `w` in one message. When something in it cannot be cloned, sends them
 * one by one instead and returns the calls refused, each with the send error.
 */
export function sendBatch(w: PoolWorker, calls: readonly Call[], defs: readonly FnDef[], observer: PoolObserver): Array<[Call, unknown]> {
  if (observer.events.timed) observer.sending(calls);
  if (trySend(w, calls, defs) === null) return [];
  const refused: Array<[Call, unknown]> = [];
  for (const call of calls) {
    const failure = trySend(w, [call], defs);
    if (failure !== null) refused.push([call, failure.error]);
  }
  return refused;
}

/** The message that starts a worker: its concurrency, and its setup task (defined in `fns`). */
export function initMessage(o: NormalizedPoolOptions, fns: FnTable): InitMessage {
  const setup = o.setup;
  const init = setup === null ? null : { def: fns.defs[fns.idOf(setup.spec)], args: setup.args, sync: setup.sync === true };
  return { k: Msg.Init, concurrency: o.concurrentTasksPerWorker, setup: init };
}

/** Every function a pool has been asked to run, by id: what a Run message's defs refer to. */
export class FnTable {
  readonly #ids = new Map<string, number>();
  readonly defs: FnDef[] = [];

  idOf(spec: TaskSpec): number {
    let id = this.#ids.get(spec.key);
    if (id === undefined) {
      id = this.defs.length;
      this.#ids.set(spec.key, id);
      this.defs.push([id, spec.kind, spec.code, spec.name]);
    }
    return id;
  }
}

/** Whether `w` holds a call sent marked that it has not begun. */
function holdsUnbegun(w: PoolWorker, claims: Claims): boolean {
  for (const call of w.inflight.values()) if (call.claimable && call.state === CallState.Sent && claims.waiting(call.id)) return true;
  return false;
}

/** Keep about this much work (ms) sent ahead to each worker. */
const TARGET_INFLIGHT_MS = 2;
const MAX_INFLIGHT = 1024;
/** A call is overdue once it ran twice its kind's measured time and this much more (a kind never measured: as if 10 ms). */
const OVERDUE_SLACK_MS = 10;

/**
 * How many calls a worker should hold: about TARGET_INFLIGHT_MS of work by the
 * measured time of that kind of call (a task, or a map chunk of it), never more
 * than its fair share of the queue. A kind never measured goes one at a time,
 * so long tasks are never piled on one worker on the strength of short ones.
 * A measured long kind gets one call waiting behind the running one while the
 * queue holds at least two per worker: the worker starts it the moment the
 * other ends, without waiting for this thread to answer its result; nearer the
 * end of the queue nothing waits, so no worker idles while another holds work.
 */
export class Pacer {
  readonly #avgMs = new Map<number, number>();

  /** The kind of a call: its function, and whether it is a map chunk. */
  static kindOf(call: Call): number {
    return call.fnId * 2 + ((call.options.flags & TaskFlag.Chunk) === 0 ? 0 : 1);
  }

  // The kinds of call settled by the Results message being read: nearly always one.
  #kind = -1;
  #kinds: Set<number> | null = null;

  /** Notes a call the Results message being read settled. */
  tally(call: Call): void {
    const kind = Pacer.kindOf(call);
    if (this.#kind === -1) this.#kind = kind;
    else if (kind !== this.#kind) (this.#kinds ??= new Set([this.#kind])).add(kind);
  }

  /** Learns from a Results message: `busyMs` spent on its `count` calls, of the kinds tallied. */
  record(busyMs: number, count: number): void {
    const kinds = this.#kinds ?? (this.#kind === -1 ? [] : [this.#kind]);
    this.#kind = -1;
    this.#kinds = null;
    if (count === 0) return;
    // Longer calls than expected pull the estimate up fast, so few are sent ahead behind them.
    const sample = Math.max(busyMs / count, 0.0001);
    for (const kind of kinds) {
      const avg = this.#avgMs.get(kind);
      this.#avgMs.set(kind, avg === undefined || sample > avg * 4 ? sample : avg * 0.8 + sample * 0.2);
    }
  }

  /**
   * When the first call `w` holds (the one it runs) is overdue: it began no earlier than it was
   * sent nor than `w` last answered, and takes about its kind's measured time. Infinity when `w` holds none.
   */
  overdueAt(w: PoolWorker): number {
    const oldest = w.oldest;
    if (oldest === undefined) return Number.POSITIVE_INFINITY;
    const avg = this.#avgMs.get(Pacer.kindOf(oldest)) ?? OVERDUE_SLACK_MS;
    return Math.max(oldest.sentAt, w.answeredAt) + 2 * avg + OVERDUE_SLACK_MS;
  }

  /** How many more calls `w` should hold, `next` being first in the queue: room() for its kind, within maxTasksPerWorker. */
  capacity(next: Call | undefined, w: PoolWorker, queued: number, o: NormalizedPoolOptions): number {
    if (w.oldest?.alone === true) return 0; // it runs a call alone (CallQueue.take)
    const kind = next === undefined ? -1 : Pacer.kindOf(next);
    return Math.min(this.room(kind, w, queued, o.workers, o.concurrentTasksPerWorker), o.maxTasksPerWorker - w.assigned);
  }

  /**
   * Calls of `kind` to add to worker `w`, given `queued` waiting over `workers`. When the first
   * call `w` holds (the one it runs) is of another kind, never measured or longer than
   * TARGET_INFLIGHT_MS, or of this kind but overdue, nothing waits behind it beyond its free
   * slots, so short calls never queue behind a long one while another worker idles.
   */
  room(kind: number, w: PoolWorker, queued: number, workers: number, perWorker: number): number {
    const inflight = w.load;
    const oldest = w.oldest;
    const overdue = nowMs() >= this.overdueAt(w);
    // An overdue worker gets none while it is full, nor (a thread) while it leaves one sent unbegun (stuck
    // in synchronous code): they would be taken back, or given back by a child, again (rebalance.ts).
    if (overdue && (inflight >= perWorker || (w.link.claims !== undefined && holdsUnbegun(w, w.link.claims)))) return 0;
    if (oldest !== undefined) {
      const held = Pacer.kindOf(oldest);
      const long = held === kind ? overdue : !((this.#avgMs.get(held) ?? Number.POSITIVE_INFINITY) <= TARGET_INFLIGHT_MS);
      if (long) return perWorker - inflight;
    }
    const avg = this.#avgMs.get(kind);
    const ahead = Math.ceil(TARGET_INFLIGHT_MS / (avg ?? Number.POSITIVE_INFINITY));
    let cap = Math.max(perWorker, Math.min(MAX_INFLIGHT, ahead));
    if (avg !== undefined && ahead <= perWorker && queued >= 2 * workers) cap = perWorker + 1;
    const fairShare = Math.max(perWorker, Math.ceil(queued / workers));
    return Math.min(cap - inflight, fairShare);
  }
}
