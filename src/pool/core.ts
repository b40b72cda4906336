/**
 * The pool core shared by ThreadPool and ProcessPool: a queue, workers started
 * on demand, tasks sent in batches sized from measured task time, and the
 * fault handling that replaces a dead worker, blames only the calls it knew were
 * running and re-queues the rest.
 */
import { nowMs } from '../clock.js';
import { reviveTaskError } from '../revive.js';
import { Tally, type ExecutorStats } from '../stats.js';
import type { TaskSpec } from '../task.js';
import { IdleWaiters, OpenMaps, type Closing } from '../idle.js';
import { FnTable, Pacer, initMessage, sendBatch } from './batch.js';
import { CallQueue } from './call-queue.js';
import {
  abortError, closedError, deathError, stoppedError, queueFullError, setupFailedError, spawnFailedError, startFailedError,
  movedAwayError, terminatedError, timeoutError, uncloneableError,
} from './faults.js';
import type { NormalizedPoolOptions } from './options.js';
import { Msg, protocolError, type ResultsMessage, type WorkerMessage } from './protocol.js';
import { ownArguments } from './snapshot.js';
import { Call, CallState, PoolWorker, type CallOptionsInternal, type Resolve, type Settle } from './records.js';
import { SignalRegistry, kSoftAbort } from './signals.js';
import { WarmUp } from './warm-up.js';
import { Rebalancer } from './rebalance.js';
import { Stalls } from './stalls.js';
import { WorkerSet } from './workers.js';
import { PoolObserver } from './observe.js';
import { reviveResults } from '../sync/wire.js';
import type { ExitInfo, Transport } from './transport.js';

export class PoolCore {
  readonly #transport: Transport;
  readonly #options: NormalizedPoolOptions;
  readonly #name: string;
  readonly #queue = new CallQueue();
  readonly #workers: WorkerSet;
  readonly #fns = new FnTable();
  readonly #pacer = new Pacer();
  readonly #signals = new SignalRegistry<Call>((call, reason) => this.cancel(call, reason));
  readonly #tally = new Tally();
  #replaced = 0;
  #dispatchPending = false;
  #closing = false;
  #terminated = false;
  readonly #maps = new OpenMaps();
  readonly #idleWaiters = new IdleWaiters();
  readonly #warmUp = new WarmUp(() => this.#startMinWorker());
  readonly #rebalancer: Rebalancer;
  readonly observer = new PoolObserver();
  readonly #stalls = new Stalls({ replace: (w, why, reason) => this.#replace(w, why, reason), fail: (call, error) => this.#finish(call, false, error) });

  constructor(transport: Transport, options: NormalizedPoolOptions, name: string) {
    this.#transport = transport;
    this.#options = options;
    this.#name = name;
    this.#workers = new WorkerSet(options);
    const hooks = { requeue: (call: Call) => this.#requeue(call), dispatch: () => this.#dispatch(), queueEmpty: () => this.#queue.size === 0 };
    this.#rebalancer = new Rebalancer(this.#workers, this.#pacer, hooks);
    // Without a setup, minWorkers start one after another (warm-up.ts); with one, its own time dominates.
    for (let i = 0; i < (options.setup === null ? 1 : options.minWorkers); i++) this.#startMinWorker();
  }

  /** Starts one more worker towards minWorkers, unless one is starting or the pool is closing. */
  #startMinWorker(): void {
    if (this.#closing || this.#workers.startsHalted || this.#workers.size >= this.#options.minWorkers) return;
    if (this.#options.setup === null && this.#workers.countStarting() > 0) return;
    const w = this.#spawn();
    if (w !== null) this.#workers.idle(w);
  }

  /** Registers a map that starts now (see OpenMaps); its chunks are accepted even after close(). Throws once the pool is closing. */
  openMap(onClosing?: (how: Closing) => void): () => void {
    if (this.#closing) throw this.#terminated ? terminatedError(this.#name, true) : closedError(this.#name, false);
    return this.#maps.open(onClosing);
  }

  /** Queues a call whose promise keeps only its resolve function: half the memory of a settle callback. */
  submitPromise(spec: TaskSpec, args: unknown[], options: CallOptionsInternal, admitted = false): Promise<unknown> {
    return new Promise((resolve) => { this.submit(spec, args, options, resolve, admitted, true); });
  }

  /** Queues a call; `settle` is a Settle, or (promised) a promise's resolve function, given a rejected promise on failure. */
  submit(spec: TaskSpec, args: unknown[], options: CallOptionsInternal, settle: Settle | Resolve, admitted = false, promised = false): Call {
    // The call's own copy of its arguments, taken now: the caller may reuse what it passed, the array too.
    const own = ownArguments(args, options, this.#transport.moves);
    const call = new Call(spec, this.#fns.idOf(spec), own.args, own.options, settle, promised, own.passed);
    call.recopy = own.recopy;
    call.admitted = admitted;
    const uncloneable = own.uncloneable;
    // A call refused here for the executor's state never ran: it is neither done nor failed, and
    // has no latency. One whose arguments cannot be sent failed (in a map, that input did).
    if (uncloneable !== null) {
      this.#finish(call, false, uncloneableError(call, this.#transport, uncloneable.cause));
    } else if (this.#terminated || (this.#closing && !admitted)) {
      this.#finish(call, false, this.#terminated ? terminatedError(this.#name, true) : closedError(this.#name, false), false);
    } else if (!admitted && this.#queue.tasks >= this.#options.maxQueue && this.#queue.tasks - this.#workers.freeSlots() >= this.#options.maxQueue) {
      this.#finish(call, false, queueFullError(this.#name, this.#options.maxQueue), false);
    } else if (options.signal?.aborted) {
      this.#finish(call, false, abortError(options.signal.reason));
    } else {
      this.#signals.add(options.signal, call);
      this.#queue.push(call);
      this.#scheduleDispatch();
    }
    return call;
  }

  /**
   * Cancels a call wherever it is. A running call's worker is replaced, unless
   * the reason is a soft cancel (a failed map): then it finishes unobserved.
   */
  cancel(call: Call, reason: unknown): boolean {
    if (call.state === CallState.Settled) return false;
    const soft = reason === kSoftAbort;
    const w = call.worker;
    if (call.state === CallState.Queued) {
      this.#queue.cancelled(call);
      this.#settleIdle();
    } else if (w !== null) {
      if (w.withdraw(call, soft)) this.#replace(w, 'another task on it was aborted', 'aborted');
      this.#afterProgress(w);
    }
    this.#finish(call, false, abortError(reason));
    return true;
  }

  #finish(call: Call, ok: boolean, value: unknown, counted = true): void {
    if (call.state === CallState.Settled) return;
    // Queued, or sent and not reported running by a worker that reports it (as its Job sees it).
    const neverStarted = call.state === CallState.Queued || (call.state === CallState.Sent && call.reportsStart);
    if (call.timed && !ok) this.observer.failed(call.worker, call, value, false);
    call.state = CallState.Settled;
    call.worker = null;
    call.stopTimers();
    this.#signals.delete(call.options.signal, call);
    if (counted) this.#tally.settled(call.options.flags, call.args, ok, value, neverStarted, call.submitted);
    if (call.promised) (call.settle as Resolve)(ok ? value : Promise.reject(value));
    else (call.settle as Settle)(ok, value);
  }

  /** Dispatches once the current synchronous burst of submissions is done, so they share messages. */
  #scheduleDispatch(): void {
    if (this.#dispatchPending) return;
    this.#dispatchPending = true;
    queueMicrotask(() => this.#dispatch());
  }

  #dispatch(): void {
    this.#dispatchPending = false;
    if (this.#terminated) return;
    // Calls go only to ready workers; the rest wait for the first starting worker to be ready,
    // and more start while the waiting calls outnumber the starting workers' slots.
    for (const w of this.#workers) {
      if (this.#queue.size === 0) break;
      if (w.ready && !w.retiring) this.#fill(w);
    }
    const perWorker = this.#options.concurrentTasksPerWorker;
    let slots = this.#workers.holdStarting(this.#queue.size > 0) * perWorker;
    while (this.#queue.size > slots && this.#workers.size < this.#options.workers) {
      const w = this.#spawn();
      if (w === null) break;
      this.#workers.holdNew(w);
      slots += perWorker;
    }
    this.#settleIdle();
  }

  /** Sends a worker as many queued calls as it should hold: in one message, or a few when their arguments are large (CallQueue.moreFor). */
  #fill(w: PoolWorker): void {
    for (let room = this.#pacer.capacity(this.#queue.peek(), w, this.#queue.size, this.#options); room > 0; ) {
      const batch = this.#send(w, room);
      if (batch.length === 0 || !this.#queue.moreFor(w, batch)) return;
      room -= batch.length;
    }
  }

  /** Sends `w` up to `room` queued calls in one message; returns them. */
  #send(w: PoolWorker, room: number): Call[] {
    const batch = this.#queue.take(w, room);
    if (batch.length === 0) return batch;
    w.assigned += batch.length;
    if (w.assigned >= this.#options.maxTasksPerWorker) w.retiring = true;
    this.#workers.busy(w);
    const refused = sendBatch(w, batch, this.#fns.defs, this.observer);
    this.#stalls.watch(batch);
    for (const [call, cause] of refused) {
      w.inflight.delete(call.id);
      w.assigned--;
      this.#finish(call, false, uncloneableError(call, this.#transport, cause));
    }
    if (refused.length > 0) this.#scheduleDispatch();
    return batch;
  }

  #spawn(): PoolWorker | null {
    const w = new PoolWorker();
    try {
      w.link = this.#transport.spawn({
        message: (message) => this.#onMessage(w, message),
        exit: (info) => this.#onExit(w, info),
      });
    } catch (cause) {
      this.#failWith(spawnFailedError(this.#name, this.#transport, cause));
      return null;
    }
    this.#workers.add(w);
    this.observer.workerStarted(w);
    if (this.#options.setup !== null) this.#workers.limitSetup(w, this.#options.setup.timeout);
    w.link.send(initMessage(this.#options, this.#fns), []);
    return w;
  }

  #onMessage(w: PoolWorker, message: WorkerMessage): void {
    switch (message.k) {
      case Msg.Results: this.#onResults(w, message); break;
      case Msg.Ready:
        this.#workers.ready(w);
        this.#afterProgress(w);
        break;
      case Msg.SetupFailed: {
        this.#failWith(setupFailedError(this.#name, message.error), w.takeAll());
        // A start that failed: past a few in a row, minWorkers stops starting more (calls still do).
        this.#workers.failedToStart();
        this.#workers.end(w, true, 'setup-failed');
        break;
      }
      default: throw protocolError('pool', message);
    }
  }

  #onResults(w: PoolWorker, message: ResultsMessage): void {
    // Calls given back alone say nothing of when the call it runs began (Pacer.overdueAt).
    if (message.returned === undefined || message.done.length > 0 || message.failed.length > 0) w.answeredAt = nowMs();
    if (message.begun !== undefined || message.ended !== undefined) this.observer.results(w, message);
    for (const id of message.started) this.#onStarted(w, id);
    // Calls waiting for their module to load: the import is part of a call, timed from now.
    for (const id of message.loading ?? []) {
      const call = w.inflight.get(id);
      if (call?.state === CallState.Sent) call.time(() => this.#timedOut(w, call));
    }
    if (message.returned !== undefined) this.#rebalancer.givenBack(w, message.returned);
    if (message.revive !== undefined) reviveResults(message);
    const answered = this.#answer(w, message.done, true) + this.#answer(w, message.failed, false);
    w.busyMs += message.busy;
    this.#pacer.record(message.busy, answered);
    this.#afterProgress(w);
  }

  /** Settles the calls `w` answered in `list` (flat: id, value, ...); returns how many were still awaited. */
  #answer(w: PoolWorker, list: unknown[], ok: boolean): number {
    let answered = 0;
    for (let i = 0; i < list.length; i += 2) {
      const call = w.take(list[i] as number);
      if (call === undefined) continue;
      answered++;
      this.#pacer.tally(call);
      this.#finish(call, ok, ok ? list[i + 1] : reviveTaskError(list[i + 1] as never, call.spec, undefined, call.callerArgs));
    }
    return answered;
  }

  #onStarted(w: PoolWorker, id: number): void {
    const call = w.inflight.get(id);
    if (call === undefined) {
      // Cancelled while on its way; it started anyway, so stop it where it runs (a soft cancel lets it finish).
      if (w.cancelled.get(id) === true) this.#replace(w, 'another task on it was aborted', 'aborted');
      return;
    }
    if (call.state === CallState.Running) return; // named again in a dying worker's last words
    call.state = CallState.Running;
    call.options.onRunning?.();
    call.time(() => this.#timedOut(w, call));
  }

  /** A call ran (or waited for its module) past its timeout: its worker is replaced. */
  #timedOut(w: PoolWorker, call: Call): void {
    if (call.worker !== w || w.inflight.get(call.id) !== call || (call.state !== CallState.Running && call.state !== CallState.Sent)) return;
    w.inflight.delete(call.id);
    this.#replace(w, 'another task on it timed out', 'timeout');
    const error = timeoutError(call);
    if (!this.#retry(call, w, error)) this.#finish(call, false, error);
  }

  /** Puts a call that crashed its worker `w` (with `error`) back at the head of the queue while retries allow. */
  #retry(call: Call, w: PoolWorker, error: Error): boolean {
    this.observer.failed(w, call, error, true);
    if (call.attempts >= call.options.retries || this.#terminated) return false;
    call.attempts++;
    this.#requeue(call);
    return true;
  }

  #requeue(call: Call): void {
    // Its buffers, moved with `transfer`, went to the worker that died: nothing is left to send.
    if (!call.again()) this.#finish(call, false, movedAwayError(call, this.#transport));
    else this.#queue.unshift(call);
  }

  /** Stops a worker now; its exit re-queues whatever it still held. */
  #replace(w: PoolWorker, why: string, reason: PoolWorker['exitReason']): void {
    w.stopReason = why;
    this.#replaced++;
    this.#workers.end(w, true, reason);
  }

  #onExit(w: PoolWorker, info: ExitInfo): void {
    this.#workers.remove(w);
    const [blamed, rest] = w.release(!w.ending && w.ready);
    if (!w.ending) {
      this.#replaced++;
      if (!w.ready) this.#startFailed(info, rest, w.setupOverdueMs);
    }
    for (let i = rest.length - 1; i >= 0; i--) this.#requeue(rest[i]);
    for (const call of blamed) {
      const error = w.ending ? stoppedError(call, w.stopReason) : deathError(call, info, this.#options.maxHeapMb);
      // A result this thread cannot read would be as unreadable again: no retry.
      if (info.unreadable === undefined && this.#retry(call, w, error)) continue;
      this.#finish(call, false, error);
    }
    this.observer.workerExited(w, info);
    w.markExited();
    if (this.#terminated) return;
    if (this.#queue.size > 0) this.#dispatch();
    // A worker that crashed, timed out or retired leaves minWorkers short: another starts.
    if (!this.#closing && this.#workers.size < this.#options.minWorkers) this.#warmUp.poke(true);
    this.#settleIdle();
  }

  /** Workers that keep dying before they are ready fail what waits, instead of restarting forever. */
  #startFailed(info: ExitInfo, held: Call[], setupOverdueMs: number): void {
    const times = this.#workers.failedToStart();
    if (times === 0) return;
    this.#failWith(startFailedError(this.#name, info, times, setupOverdueMs), held.splice(0));
  }

  /** Fails `calls` (a worker's), then every queued call, with `error`. */
  #failWith(error: Error, calls: Iterable<Call> = []): void {
    for (const call of calls) this.#finish(call, false, error);
    for (const call of this.#queue.drain()) this.#finish(call, false, error);
  }

  /** After a worker finished or lost calls: refill it, retire it, or let it idle. */
  #afterProgress(w: PoolWorker): void {
    if (w.exited) return;
    if (w.load === 0 && w.retiring) this.#workers.end(w, false, 'recycled');
    else if (this.#queue.size > 0 && !w.retiring) this.#fill(w);
    if (this.#queue.size > 0 && !this.#dispatchPending) this.#dispatch();
    else if (this.#queue.size === 0 && this.#workers.hasRoom(w)) this.#rebalancer.run();
    if (w.load === 0 && !w.exited) this.#workers.idle(w);
    if (this.#workers.size < this.#options.minWorkers && !this.#closing) this.#warmUp.poke(w.load === 0);
    this.#settleIdle();
  }

  #isIdle(): boolean {
    return this.#queue.size === 0 && !this.#workers.holdsCalls;
  }

  #settleIdle(): void {
    if (this.#queue.size === 0) this.#workers.holdStarting(false);
    if (this.#idleWaiters.waiting) this.#idleWaiters.check(this.#isIdle());
  }

  /** Resolves when nothing is queued or running. */
  onIdle(): Promise<void> {
    return this.#idleWaiters.wait(this.#isIdle());
  }

  async close(cancelPending: boolean): Promise<void> {
    this.#closing = true;
    this.#warmUp.cancel();
    if (cancelPending) this.#failWith(closedError(this.#name, true));
    this.#maps.close(cancelPending);
    await this.#maps.drained();
    await this.onIdle();
    await this.#workers.endAll(false);
  }

  async terminate(): Promise<void> {
    this.#closing = true;
    this.#terminated = true;
    this.#warmUp.cancel();
    this.#rebalancer.cancel();
    const error = terminatedError(this.#name);
    this.#failWith(error);
    for (const w of this.#workers) {
      this.#failWith(error, this.observer.terminating(w, w.takeAll(true), error, this.#options.concurrentTasksPerWorker));
      w.cancelled.clear(); // calls running unobserved are stopped with their worker: close() and onIdle() wait no more
    }
    this.#maps.closing('terminate');
    this.#settleIdle();
    await this.#workers.endAll(true);
  }

  stats(): ExecutorStats {
    return this.#workers.stats(this.#queue.size, this.#tally, this.#replaced);
  }
}
