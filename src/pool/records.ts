/** What the pool core keeps per task (Call) and per worker (PoolWorker). */
import type { Transferable } from '../transfer.js';
import { performance } from 'node:perf_hooks';
import type { TaskSpec } from '../task.js';
import type { WorkerLink } from './transport.js';

export const CallState = Object.freeze({ Queued: 0, Sent: 1, Running: 2, Settled: 3 });
export type CallState = (typeof CallState)[keyof typeof CallState];

export type Settle = (ok: boolean, value: unknown) => void;

export interface CallOptionsInternal {
  timeout: number;
  retries: number;
  signal: AbortSignal | undefined;
  transfer: Transferable[] | undefined;
  flags: number;
  onRunning: (() => void) | null;
}

let nextCallId = 1;

export class Call {
  readonly id = nextCallId++;
  readonly submitted = performance.now();
  state: CallState = CallState.Queued;
  attempts = 0;
  worker: PoolWorker | null = null;
  timer: NodeJS.Timeout | null = null;

  constructor(
    readonly spec: TaskSpec,
    readonly fnId: number,
    readonly args: unknown[],
    readonly options: CallOptionsInternal,
    readonly settle: Settle,
  ) {}
}

let nextWorkerId = 1;

export class PoolWorker {
  readonly id = nextWorkerId++;
  readonly spawnedAt = performance.now();
  link!: WorkerLink;
  /** Calls sent to this worker, in the order they were sent. */
  readonly inflight = new Map<number, Call>();
  /** Functions this worker has been sent the definition of. */
  readonly known = new Set<number>();
  /** Calls cancelled after they were sent; if one starts anyway, the worker is replaced. */
  readonly cancelled = new Set<number>();
  ready = false;
  assigned = 0;
  busyMs = 0;
  /** No new work: it is being recycled, retired or replaced. */
  retiring = false;
  /** We ended it on purpose (stop or kill); its exit is no crash. */
  ending = false;
  idleTimer: NodeJS.Timeout | null = null;
  referenced = true;
  exited = false;
  readonly exit: Promise<void>;
  markExited!: () => void;

  constructor() {
    this.exit = new Promise((resolve) => { this.markExited = resolve; });
  }
}
