/**
 * The in-worker runtime, shared by threads and child processes: it compiles or
 * imports task functions once, runs the tasks it receives in order (up to
 * `concurrency` at a time for async tasks), and sends results back in batches.
 */
import { nowMs } from '../../clock.js';
import type { Transferable } from '../../transfer.js';
import type { RuntimePort } from './port.js';
import { ErrorCodes } from '../../errors.js';
import { codedError } from '../../task-loader.js';
import { decodeLocks, listenForLocks, loadLockSupport, lockSupportLoaded, releaseLocksLeft, resultWithLocks } from './locks.js';
import { compile, load, wireOfThrown, type FnEntry } from './functions.js';
import { awaitable, untransferred, withoutRepeats } from '../../transfer.js';
import { ownWire, type WireValue } from '../../wire-error.js';
import { copyOut } from '../copy-out.js';
import { runChunk, type ChunkContext } from './chunk.js';
import { salvage } from './salvage.js';
import { runSetup } from './setup.js';
import { Timings } from './timings.js';
import { claim, waiting } from '../claims.js';
import {
  Msg, TaskFlag, protocolError, type FnDef, type InitMessage, type RunMessage, type WorkerMessage,
} from '../protocol.js';

export type { RuntimePort } from './port.js';

const FLUSH_AFTER_MS = 1;
const NONE_STARTED: number[] = [];

/** Runs tasks for one pool over `port` until told to shut down. */
export function startRuntime(port: RuntimePort): void {
  listenForLocks();
  const fns: FnEntry[] = [];
  /** The results of map chunks: salvage() handles their values one by one. */
  const chunkResults = new WeakSet<object>();
  const queue: unknown[] = []; // flat: id, fnId, flags, args
  let head = 0;
  let concurrency = 1;
  let running = 0;
  let blocked = 1; // until Init (and setup) are done; then while functions load
  let done: unknown[] = [];
  let failed: unknown[] = [];
  /** Positions in `done` of results holding locks, sent as records (see succeed). */
  let revive: number[] = [];
  /** Calls that would begin but for their module, still loading: to report, and reported (reportLoading). */
  let loading: number[] = [];
  const reportedLoading = new Set<number>();
  let transferList: Transferable[] = [];
  /** Calls the pool took back before they began (onTakeBack). */
  let returned: number[] = [];
  let busyMs = 0;
  let busySince = 0;
  let lastFlush = nowMs();
  let flushScheduled = false;
  /** Functions that returned at least once here; a call of another one is reported before it starts. */
  const proven: boolean[] = [];
  /** Calls running now (the sync one, the async ones); those not yet reported go out with the next results. */
  let current = -1;
  const active = new Set<number>();
  const unreported = new Set<number>();
  /** Calls the pool was told are running, until they end; and whether one ended with its result still held here. */
  const told = new Set<number>();
  let toldEnded = false;
  const timings = new Timings();

  function flush(): void {
    flushScheduled = false;
    if (done.length === 0 && failed.length === 0 && unreported.size === 0 && loading.length === 0 && returned.length === 0) return;
    const message: WorkerMessage = { k: Msg.Results, done, failed, busy: busyMs, started: unreported.size === 0 ? NONE_STARTED : [...unreported] };
    if (revive.length > 0) message.revive = revive;
    if (loading.length > 0) message.loading = loading;
    if (returned.length > 0) message.returned = returned;
    timings.into(message);
    revive = [];
    loading = [];
    returned = [];
    for (const id of unreported) told.add(id);
    unreported.clear();
    toldEnded = false;
    const list = withoutRepeats(transferList);
    done = [];
    failed = [];
    transferList = [];
    busyMs = 0;
    lastFlush = nowMs();
    try {
      port.post(message, list);
    } catch {
      port.post(salvage(message, port.canClone, port.peer, (value) => chunkResults.has(value as object)), []);
    }
  }

  function scheduleFlush(): void {
    if (flushScheduled) return;
    flushScheduled = true;
    setImmediate(flush);
  }

  /** A call ended: one the pool takes for running must be answered before another call begins (start). */
  function answered(id: unknown): void {
    if (timings.open > 0) timings.end(id as number);
    if (told.size > 0 && told.delete(id as number)) toldEnded = true;
  }

  /** A call ended with `value`; one that cannot even be looked at (a Proxy whose traps throw) fails the call with what it threw. */
  function succeed(id: unknown, value: unknown): void {
    answered(id);
    try { deliver(id, value); } catch (thrown) { failed.push(id, wireOfThrown(thrown, undefined)); }
  }

  function deliver(id: unknown, value: unknown): void {
    const out = untransferred(value, chunks.transfer);
    if (typeof out === 'object' && out !== null) {
      // A result holding a lock goes with records in its place, which the pool revives.
      const sent = resultWithLocks(out, port.moves === true);
      if ('error' in sent) {
        failed.push(id, sent.error);
        return;
      }
      if (sent.value !== out) {
        if (chunkResults.has(out)) chunkResults.add(sent.value as object);
        revive.push(done.length + 1);
        done.push(id, sent.value);
        return;
      }
    }
    const large = port.moves === true && out === value && (ArrayBuffer.isView(out) || out instanceof ArrayBuffer) ? copyOut([out]) : null;
    if (large !== null) transferList.push(...large.transfer);
    done.push(id, large === null ? out : large.args[0]);
  }

  function fail(id: unknown, thrown: unknown, fnId: number): void {
    answered(id);
    failed.push(id, wireOf(thrown, fnId));
  }

  /** What `fnId` threw, explained (an inline closure) and ready to send. */
  const wireOf = (thrown: unknown, fnId: number): WireValue => wireOfThrown(thrown, defs.get(fnId));

  /** A call ended; once none runs, no task can release a mutex still held here, so it is released. */
  function ended(): void {
    if (--running === 0) releaseLocksLeft();
  }

  function endBusy(): void {
    if (running === 0) busyMs += nowMs() - busySince;
  }

  const chunks: ChunkContext = {
    wireOf,
    transfer: (buffers) => { transferList.push(...buffers); },
    produced: (out) => { chunkResults.add(out); },
  };

  function pump(): void {
    if (blocked > 0) reportLoading();
    if (blocked > 0 || head === queue.length || running >= concurrency) return;
    if (running === 0) busySince = nowMs();
    while (head < queue.length && running < concurrency) {
      const takenBack = !claimedAt(head);
      const id = queue[head] as number;
      const fnId = queue[head + 1] as number;
      const flags = queue[head + 2] as number;
      const args = queue[head + 3] as unknown[];
      queue[head + 3] = undefined;
      head += 4;
      // Taken back by the pool, for another worker to run while this one was busy: skipped.
      if (takenBack) continue;
      start(id, fnId, flags, args);
      if (nowMs() - lastFlush > FLUSH_AFTER_MS) {
        // Count the time spent so far before reporting, so the pool learns real task times.
        endBusy();
        flush();
        if (running === 0) busySince = nowMs();
        // Let messages in before the next task starts: a Cancel drops a call queued here.
        if (head < queue.length) {
          resumeSoon();
          break;
        }
      }
    }
    if (head === queue.length) {
      queue.length = 0;
      head = 0;
    }
    endBusy();
    if (running === 0) flush();
    else scheduleFlush();
  }

  let resumeScheduled = false;
  /**
   * Runs pump() again after the event loop has read the messages waiting. An immediate set while a
   * message is handled runs before the loop polls again, and a Cancel that came in meanwhile would be
   * read only after the next call had started; an immediate set from an immediate runs after a poll.
   */
  function resumeSoon(): void {
    if (resumeScheduled) return;
    resumeScheduled = true;
    setImmediate(() => setImmediate(resume));
  }

  function resume(): void {
    resumeScheduled = false;
    pump();
  }

  function start(id: number, fnId: number, flags: number, args: unknown[]): void {
    const entry = fns[fnId];
    if (typeof entry !== 'function') {
      failed.push(id, entry === undefined ? ownWire(codedError(ErrorCodes.PROTOCOL, `unknown function ${fnId}`)) : entry.error);
      return;
    }
    const careful = (flags & TaskFlag.Watched) !== 0 || proven[fnId] !== true;
    if ((flags & TaskFlag.Timed) !== 0) timings.begin(id, careful);
    // Reported now, with the results held so far: if this call kills the worker, the pool blames it alone,
    // and not a call it was told of that ended here meanwhile (it would take that one for running still).
    if (careful || toldEnded) {
      if (careful) unreported.add(id);
      if (running === 0 && (done.length > 0 || failed.length > 0)) {
        endBusy(); // their time goes with them, so the pool learns real task times
        busySince = nowMs();
      }
      flush();
    }
    let result: unknown;
    running++;
    if (flags & TaskFlag.Sync) {
      try {
        decodeLocks(args);
      } catch (thrown) {
        ended();
        answered(id);
        failed.push(id, ownWire(thrown));
        return;
      }
    }
    current = id;
    try {
      result = flags & TaskFlag.Chunk ? runChunk(chunks, entry, fnId, args[0] as ArrayLike<unknown>, flags) : entry(...args);
    } catch (thrown) {
      ended();
      proven[fnId] = true;
      fail(id, thrown, fnId);
      return;
    } finally {
      current = -1;
    }
    // A result whose `then` (a getter, a Proxy trap) or a promise whose `constructor` cannot be read fails the task with that.
    const awaited = awaitable(result);
    if (awaited === null || 'thrown' in awaited) {
      ended();
      proven[fnId] = true;
      if (awaited === null) succeed(id, result);
      else fail(id, awaited.thrown, fnId);
      return;
    }
    active.add(id);
    if (!careful) unreported.add(id);
    awaited.promise.then(
      (value) => settleAsync(id, fnId, true, value),
      (thrown) => settleAsync(id, fnId, false, thrown),
    );
  }

  function settleAsync(id: number, fnId: number, ok: boolean, value: unknown): void {
    ended();
    active.delete(id);
    unreported.delete(id);
    proven[fnId] = true;
    if (ok) succeed(id, value);
    else fail(id, value, fnId);
    endBusy();
    if (running === 0 && head === queue.length) flush();
    else scheduleFlush();
    pump();
  }

  const defs = new Map<number, FnDef>();

  /** Compiles or imports each new function; resolves once all are usable. */
  function define(list: FnDef[]): Promise<void> | null {
    const loading: Array<Promise<void>> = [];
    for (const def of list) {
      defs.set(def[0], def);
      if (def[1] === 'inline') fns[def[0]] = compile(def);
      else loading.push(load(def).then((entry) => { fns[def[0]] = entry; }));
    }
    return loading.length === 0 ? null : Promise.all(loading).then(() => undefined);
  }

  function gate(pending: Promise<unknown>): void {
    blocked++;
    void pending.finally(() => {
      if (--blocked === 0) reportedLoading.clear();
      pump();
    });
  }

  function onInit(message: InitMessage): void {
    concurrency = message.concurrency;
    const ready = (): void => {
      blocked--;
      port.post({ k: Msg.Ready }, []);
      pump();
    };
    if (message.setup === null) ready();
    else void runSetup(message.setup, define, fns).then((error) => (error === null ? ready() : port.post({ k: Msg.SetupFailed, error }, [])));
  }

  function onRun(message: RunMessage): void {
    if (message.defs !== null) {
      const loading = define(message.defs);
      if (loading !== null) gate(loading);
    }
    const tasks = message.tasks;
    if (!lockSupportLoaded()) {
      for (let i = 2; i < tasks.length; i += 4) {
        if (((tasks[i] as number) & TaskFlag.Sync) !== 0) {
          gate(loadLockSupport());
          break;
        }
      }
    }
    for (let i = 0; i < tasks.length; i++) queue.push(tasks[i]);
    pump();
  }

  /**
   * Reports the calls that would begin now but for their module, still loading, claimed: the import is part
   * of a call, so its timeout runs from here (a top-level await that never settles times out like a task that
   * never ends). Not as started: a worker that dies meanwhile of something else does not take them with it.
   */
  function reportLoading(): void {
    for (let i = head, slots = concurrency - running; i < queue.length && slots > 0; i += 4, slots--) {
      const id = queue[i] as number;
      if (fns[queue[i + 1] as number] !== undefined || reportedLoading.has(id) || !claimedAt(i)) continue;
      reportedLoading.add(id);
      loading.push(id);
    }
    if (loading.length > 0) flush();
  }

  /** Claims the call at `i` in the queue from the pool, once; false when the pool took it back to run elsewhere. */
  function claimedAt(i: number): boolean {
    const flags = queue[i + 2] as number;
    if ((flags & TaskFlag.Claimed) === 0) return true;
    if (!claim(port.claims as Int32Array, queue[i] as number)) return false;
    queue[i + 2] = flags & ~TaskFlag.Claimed;
    return true;
  }

  /** Removes a call not begun from the queue; false when it began (or never came). */
  function unqueue(id: number): boolean {
    for (let i = head; i < queue.length; i += 4) {
      if (queue[i] !== id) continue;
      // A copy of a call taken back and sent here again, begun from its other copy: it runs.
      if (((queue[i + 2] as number) & TaskFlag.Claimed) !== 0 && !waiting(port.claims as Int32Array, id)) continue;
      queue.splice(i, 4);
      return true;
    }
    return false;
  }

  function onCancel(id: number): void {
    if (!unqueue(id)) return;
    // Tells the pool the call will never start, so it can forget it.
    failed.push(id, null);
    scheduleFlush();
  }

  /** The pool takes back calls waiting here behind a long one, to run them elsewhere (a child: rebalance.ts). */
  function onTakeBack(ids: number[]): void {
    for (const id of ids) if (unqueue(id)) returned.push(id);
    if (returned.length > 0) flush();
  }

  port.listen((message) => {
    switch (message.k) {
      case Msg.Init: onInit(message); break;
      case Msg.Run: onRun(message); break;
      case Msg.Cancel: onCancel(message.id); break;
      case Msg.TakeBack: onTakeBack(message.ids); break;
      // Results and output (output.ts) are out once posted: a thread's port queues them, a child's pipe has them (frames.ts).
      case Msg.Shutdown: flush(); process.exit(0); break;
      default: throw protocolError('worker', message);
    }
  });

  // A worker that calls process.exit() or throws from a timer still delivers the results finished
  // before, and names the calls running: the only ones to blame.
  process.on('exit', () => {
    if (current >= 0) unreported.add(current);
    for (const id of active) unreported.add(id);
    try { flush(); } catch { /* exiting anyway */ }
    port.onExit?.();
  });
}
