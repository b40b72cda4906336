/** Workers as threads of this process (worker_threads). */
import { Worker, type WorkerOptions } from 'node:worker_threads';
import { threadEntry as entry } from '../paths.js';
import { recheckBarriers } from '../sync/barrier.js';
import { WORKER_DATA_KEY, registry } from '../sync/registry.js';
import { STOP_GRACE_MS, endAtExit, inheritableExecArgv, type ExitInfo, type LinkEvents, type Transport, type TransportOptions, type WorkerLink } from './transport.js';
import { Msg, type PoolMessage, type ThreadMessage } from './protocol.js';
import { CLAIMS_KEY, Claims } from './claims.js';
import { writeAroundBars } from '../progress.js';
import { OS_THREAD_KEY, killAll, killStartedBy, startedBy, threadRuns } from './thread-children.js';

/**
 * How long a terminated thread may take to exit before the pool stops waiting for it. Node cannot
 * stop a thread blocked in a system call (a synchronous read of a pipe nobody writes): it would
 * hold its slot, and every call queued behind it, until that call returned.
 */
const ABANDON_AFTER_MS = STOP_GRACE_MS;

/** Said once per pool for a thread set aside, and once for one kept in its place at the limit. */
function warnStuck(what: string, setAside: number, limit: number): void {
  const more = setAside < limit
    ? 'The pool no longer counts it and starts another in its place'
    : `The pool has already set aside as many such threads as it has workers (${limit}): it keeps this one in its place, and waits for it, rather than start threads without end`;
  process.emitWarning(`A ThreadPool worker thread did not stop within ${ABANDON_AFTER_MS / 1000} s of being terminated (${what}): `
    + `it is blocked in a call JavaScript cannot interrupt, such as a synchronous read of a pipe or file that does not answer. ${more}; `
    + 'this process cannot exit until that call returns. Run such tasks on a ProcessPool, whose workers can always be killed.', { code: 'FORKJOIN_WORKER_STUCK' });
}

/** The OS ids of the live worker threads of every pool: what their tasks started is killed if this process exits first. */
const liveThreads = new Set<Int32Array>();

/** The process's own flags that a worker thread accepts, once known (see spawnThread). */
let threadFlags: string[] | null = null;

/** The flags Node named in an ERR_WORKER_INVALID_EXEC_ARGV error, or null for any other error. */
function refusedFlags(error: unknown): Set<string> | null {
  if ((error as { code?: unknown } | null)?.code !== 'ERR_WORKER_INVALID_EXEC_ARGV') return null;
  const listed = /flags: (.*)$/.exec(String((error as Error).message))?.[1];
  return listed === undefined ? null : new Set(listed.split(', '));
}

/**
 * A worker thread with `execArgv`, or, when none is given, with the process's own flags.
 * Node refuses V8 and per-process flags in a thread (--expose-gc, --max-old-space-size):
 * the thread shares the process's settings for those, so they are dropped, once.
 */
function spawnThread(options: WorkerOptions, execArgv: string[] | undefined): Worker {
  if (execArgv !== undefined) return new Worker(entry, { ...options, execArgv });
  threadFlags ??= inheritableExecArgv(process.execArgv);
  for (;;) {
    try {
      return new Worker(entry, { ...options, execArgv: threadFlags });
    } catch (error) {
      const refused = refusedFlags(error);
      const kept: string[] = threadFlags.filter((flag) => refused === null || !refused.has(flag));
      if (refused === null || kept.length === threadFlags.length) throw error;
      threadFlags = kept;
    }
  }
}

export class ThreadTransport implements Transport {
  readonly where = 'a worker thread';
  readonly moves = true;
  #options: TransportOptions;
  /** Threads it stopped waiting for that have not exited yet; at most `workers` (warnStuck). */
  #setAside = 0;
  /** Whether it warned of a thread set aside, and of one kept in its place at the limit: once each. */
  readonly #warned = { aside: false, atLimit: false };

  constructor(options: TransportOptions) {
    this.#options = options;
  }

  spawn(events: LinkEvents): WorkerLink {
    const { env, execArgv, maxHeapMb } = this.#options;
    const claims = new Claims();
    const osThread = new Int32Array(new SharedArrayBuffer(4));
    const worker = spawnThread({
      env: env ?? process.env,
      resourceLimits: maxHeapMb === undefined ? undefined : { maxOldGenerationSizeMb: maxHeapMb },
      workerData: { [WORKER_DATA_KEY]: registry().buffer, [CLAIMS_KEY]: claims.words, [OS_THREAD_KEY]: osThread },
    }, execArgv);
    const tid = worker.threadId;
    endAtExit(liveThreads, (word) => { killStartedBy(Atomics.load(word, 0)); });
    liveThreads.add(osThread);
    let error: unknown = null;
    let unreadable: unknown = null;
    let gone = false;
    let setAside = false;
    let abandon: NodeJS.Timeout | null = null;
    /** The thread is gone for the pool: its locks are released, and their next owners told it died. */
    const exited = (info: ExitInfo): void => {
      if (gone) return;
      gone = true;
      if (abandon !== null) clearTimeout(abandon);
      registry().threadExited(tid);
      recheckBarriers();
      events.exit(info);
    };
    /** Past ABANDON_AFTER_MS, a thread still running (not one whose exit is on its way) is set aside, within the limit. */
    const checkStopped = (why: string, warned: boolean): void => {
      abandon = null;
      if (gone || !threadRuns(Atomics.load(osThread, 0))) return;
      const limit = Math.max(1, this.#options.workers ?? 1);
      const kind = this.#setAside < limit ? 'aside' : 'atLimit';
      if (!warned && !this.#warned[kind]) {
        this.#warned[kind] = true;
        warnStuck(why, this.#setAside, limit);
      }
      if (this.#setAside >= limit) {
        abandon = setTimeout(() => checkStopped(why, true), ABANDON_AFTER_MS);
        abandon.unref();
        return;
      }
      this.#setAside++;
      setAside = true;
      worker.unref();
      exited({ code: null, signal: null, oom: false, error, unreadable: unreadable ?? undefined, stuck: true });
    };
    /**
     * Ends the thread now, and the processes its tasks started and left running (which also frees a
     * thread waiting for one in execSync). Listed before terminate() too: a thread may exit, and its
     * children pass to another thread, before terminate() returns.
     */
    const terminate = (why: string): void => {
      if (gone) return;
      const before = startedBy(Atomics.load(osThread, 0));
      void worker.terminate();
      killAll([...before, ...startedBy(Atomics.load(osThread, 0))]);
      if (abandon === null) abandon = setTimeout(() => checkStopped(why, false), ABANDON_AFTER_MS);
    };
    worker.on('message', (message: ThreadMessage) => {
      if (message.k === Msg.Output) writeAroundBars(message.fd, message.data);
      else if (!gone) events.message(message);
    });
    worker.on('error', (err) => { error = err; });
    // A message this thread cannot read is lost, and the results it carried with it: the worker
    // is stopped as if it had crashed, so the calls it held end (the one to blame fails) or run again.
    worker.on('messageerror', (err) => {
      if (unreadable !== null) return;
      unreadable = err;
      registry().threadStopping(tid);
      recheckBarriers();
      terminate('a message from it could not be read');
    });
    worker.on('exit', (code) => {
      liveThreads.delete(osThread);
      if (setAside) this.#setAside--;
      const oom = (error as { code?: unknown } | null)?.code === 'ERR_WORKER_OUT_OF_MEMORY';
      exited({ code, signal: null, oom, error, unreadable: unreadable ?? undefined });
    });
    return {
      send: (message, transfer) => worker.postMessage(message, transfer),
      moves: true,
      claims,
      // Asked to exit, it first ends its writes to stdout and stderr (terminate() would drop them).
      stop: () => {
        worker.postMessage({ k: Msg.Shutdown } satisfies PoolMessage);
        const force = setTimeout(() => terminate('it did not exit when asked to'), STOP_GRACE_MS);
        worker.once('exit', () => clearTimeout(force));
      },
      kill: (why = 'the pool ended it') => {
        // A thread stopped while it waits at a barrier never arrives again: its parties are told now.
        registry().threadStopping(tid);
        recheckBarriers();
        terminate(why);
      },
      ref: () => { if (!gone) worker.ref(); },
      unref: () => worker.unref(),
    };
  }

  canClone(value: unknown): boolean {
    try {
      structuredClone(value);
      return true;
    } catch {
      return false;
    }
  }

  cloneHint(): string {
    return '';
  }
}
