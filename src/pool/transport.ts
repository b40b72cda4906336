/**
 * Where a pool's workers live. ThreadPool and ProcessPool share one pool core
 * and differ only in the transport that starts workers and carries messages.
 */
import type { Transferable } from '../transfer.js';
import type { Claims } from './claims.js';
import type { PoolMessage, WorkerMessage } from './protocol.js';

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The worker reached its heap limit. */
  oom: boolean;
  /** The error that ended it, when there was one. */
  error: unknown;
  /**
   * Why a message of its could not be read here, if that is why it was stopped (a result nested
   * too deeply for this thread's stack: the worker's is larger).
   */
  unreadable?: unknown;
  /** The end of what a child process wrote to its stderr (Node's own complaint about a bad flag, say). */
  lastWords?: string;
  /** A thread that did not exit after it was terminated: the pool stopped waiting for it (thread-transport.ts). */
  stuck?: boolean;
}

export interface LinkEvents {
  message(message: WorkerMessage): void;
  exit(info: ExitInfo): void;
}

/** One live worker, as the pool sees it. */
export interface WorkerLink {
  /** Sends a message; throws synchronously when part of it cannot be cloned. */
  send(message: PoolMessage, transfer: Transferable[]): void;
  /** Whether a transferred buffer moves to the worker (a thread) rather than being copied. */
  readonly moves?: boolean;
  /** Words shared with the worker, by which a call sent ahead can be taken back (threads only). */
  readonly claims?: Claims;
  /** Asks the worker to exit; forces it after a grace period. */
  stop(): void;
  /** Ends the worker now, whatever it is doing; `why` (what the pool ends it for) goes into a warning if it cannot be stopped. */
  kill(why?: string): void;
  /** Whether the worker keeps the caller's event loop alive. */
  ref(): void;
  unref(): void;
}

const watchedAtExit = new WeakSet<Set<unknown>>();

/** When this process exits, `end` is called for each member `live` holds then (what the pools' workers leave running); installed once per set. */
export function endAtExit<T>(live: Set<T>, end: (member: T) => void): void {
  if (watchedAtExit.has(live)) return;
  watchedAtExit.add(live);
  process.on('exit', () => {
    for (const member of live) end(member);
  });
}

/** How long a worker asked to exit may take (to end its last writes to stdout and stderr) before it is forced. */
export const STOP_GRACE_MS = 2_000;

export interface TransportOptions {
  /** The pool's size: a ThreadPool sets aside at most this many threads it could not stop (thread-transport.ts). */
  workers?: number;
  env: Record<string, string | undefined> | undefined;
  execArgv: string[] | undefined;
  maxHeapMb: number | undefined;
}

export interface Transport {
  /** How messages name the far side: "a worker thread", "a child process". */
  readonly where: string;
  /** Whether a transferred buffer moves to a worker (threads) rather than being copied (processes). */
  readonly moves: boolean;
  spawn(events: LinkEvents): WorkerLink;
  canClone(value: unknown): boolean;
  /** Extra advice when a value cannot be sent (`what` describes the innermost value that failed), or ''. */
  cloneHint(what: string): string;
}

/** Flags whose next argument is their value. */
const TAKES_VALUE = new Set(['-e', '--eval', '-p', '--print', '--input-type']);

/**
 * The caller's Node flags that a worker should share. Left out: a debugger port (bound
 * once), and the script given with -e/-p and its --input-type (a worker runs forkjoin's
 * entry, not the caller's script).
 */
export function inheritableExecArgv(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (TAKES_VALUE.has(arg)) {
      i++;
      continue;
    }
    if (/^--(inspect|debug)/.test(arg) || /^--(eval|print|input-type)=/.test(arg) || arg === '-pe' || arg === '-ep') continue;
    out.push(arg);
  }
  return out;
}
