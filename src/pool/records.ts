/** What the pool core keeps per task (Call) and per worker (PoolWorker). */
import { nowMs } from '../clock.js';
import type { Transferable } from '../transfer.js';
import type { TaskSpec } from '../task.js';
import type { WorkerLink } from './transport.js';
import { Msg, TaskFlag } from './protocol.js';
import { refresh } from './snapshot.js';
import type { WorkerExitReason } from '../observe/events.js';

export const CallState = Object.freeze({ Queued: 0, Sent: 1, Running: 2, Settled: 3 });
export type CallState = (typeof CallState)[keyof typeof CallState];

export type Settle = (ok: boolean, value: unknown) => void;
/** A promise's resolve function: a failure is handed to it as a rejected promise. */
export type Resolve = (value: unknown) => void;

export interface CallOptionsInternal {
  /** Report it when it begins: needed for a timeout, a Job's state, or a signal that stops running work. */
  watched: boolean;
  timeout: number;
  retries: number;
  signal: AbortSignal | undefined;
  transfer: Transferable[] | undefined;
  flags: number;
  onRunning: (() => void) | null;
  /** A map chunk's first input index: an input that cannot be sent is named `inputs[i]`. */
  firstInput?: number;
}

let nextCallId = 1;

export class Call {
  readonly id = nextCallId++;
  readonly submitted = nowMs();
  state: CallState = CallState.Queued;
  attempts = 0;
  /** When it was last sent to a worker (nowMs). */
  sentAt = 0;
  /** It was held by a worker that died running nobody knew what: the worker reports it when it starts. */
  careful = false;
  /** Sent marked in its worker's claims: it can be taken back until the worker begins it (claims.ts). */
  claimable = false;
  /** Its worker, a child, was asked to give it back if it has not begun it (rebalance.ts). */
  askedBack = false;
  /** It ran beside others on a worker that crashed, any of them to blame: it runs again on a worker holding nothing else. */
  alone = false;
  /** Sent while the pool had task listeners: its worker times it (observe.ts); `reportStart` for taskStart listeners. */
  timed = false;
  reportStart = false;
  /** When its worker began it, in epoch ms, as the worker reported (0: not reported). */
  began = 0;

  /** Whether its worker says when it starts (its outcome, or an abort, is then blamed on it alone). */
  get reportsStart(): boolean {
    return this.options.watched || this.careful || this.reportStart;
  }
  /** A map's chunk: taken even while the pool closes, and not counted against maxQueue (the map bounds its chunks). */
  admitted = false;
  worker: PoolWorker | null = null;
  timer: NodeJS.Timeout | null = null;
  /** Watches that its worker begins it (stalls.ts). */
  stall: NodeJS.Timeout | null = null;
  /** A rough size of the arguments, so one message never carries hundreds of MiB. */
  readonly bytes: number;
  /** Makes the call's copy anew from the caller's arguments, when its copy moves to its worker (see snapshot.ts refresh). */
  recopy: (() => { args: unknown[]; transfer: Transferable[] } | null) | null = null;

  constructor(
    readonly spec: TaskSpec,
    readonly fnId: number,
    public args: unknown[],
    public options: CallOptionsInternal,
    readonly settle: Settle | Resolve,
    /** Whether `settle` is a promise's resolve function (the lighter way to wait for a call). */
    readonly promised: boolean,
    /** What rerunLocally() runs: its copy, or the values passed when its copy's buffers move to the worker (snapshot.ts). */
    private readonly passed: readonly unknown[],
  ) {
    this.bytes = options.transfer === undefined ? safeEstimate(args) : 64;
  }

  /** Starts its timeout, unless it runs already (from when its module began to load): `expired` runs once it passes. */
  time(expired: () => void): void {
    this.#unwatch();
    const timeout = this.options.timeout;
    if (this.timer !== null || timeout === Number.POSITIVE_INFINITY) return;
    // Decided once the loop read what came in: after this thread was busy, the call's result may be waiting.
    this.timer = setTimeout(() => setImmediate(expired), timeout);
    this.timer.unref();
  }

  /** The arguments rerunLocally() runs (`passed`); none for a map chunk (its inputs fail one by one) or arguments sent encoded (locks). */
  get callerArgs(): readonly unknown[] | undefined {
    return (this.options.flags & (TaskFlag.Chunk | TaskFlag.Sync)) === 0 ? this.passed : undefined;
  }

  /** Queued again (its worker died before it ended); false when it cannot be sent again (see refresh). */
  again(): boolean {
    this.stopTimers();
    this.state = CallState.Queued;
    this.worker = null;
    this.claimable = false;
    this.askedBack = false;
    return refresh(this);
  }

  stopTimers(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.#unwatch();
  }

  #unwatch(): void {
    if (this.stall !== null) clearTimeout(this.stall);
    this.stall = null;
  }
}

/** estimateBytes, or a guess when reading the arguments throws (a getter, a Proxy): sending them fails and says why. */
function safeEstimate(args: unknown): number {
  try {
    return estimateBytes(args, 0);
  } catch {
    return 64;
  }
}

/** Roughly how many bytes cloning `value` copies; shared memory counts nothing. Looks a few levels deep, samples long arrays. */
export function estimateBytes(value: unknown, depth: number): number {
  if (typeof value === 'string') return value.length;
  if (typeof value !== 'object' || value === null) return 8;
  if (ArrayBuffer.isView(value)) return value.buffer instanceof SharedArrayBuffer ? 8 : value.byteLength;
  if (value instanceof ArrayBuffer) return value.byteLength;
  if (value instanceof SharedArrayBuffer || depth >= 3) return 64;
  if (Array.isArray(value)) {
    const n = value.length;
    const sample = Math.min(n, 16);
    let sum = 0;
    for (let i = 0; i < sample; i++) sum += estimateBytes(value[i], depth + 1);
    return sample === 0 ? 8 : (sum / sample) * n;
  }
  let sum = 64;
  let keys = 0;
  for (const key in value) {
    if (++keys > 32) break;
    sum += key.length + estimateBytes((value as Record<string, unknown>)[key], depth + 1);
  }
  return sum;
}

let nextWorkerId = 1;

export class PoolWorker {
  readonly id = nextWorkerId++;
  /** Its number in its pool, from 1, as events name it. */
  number = 0;
  /** Why the pool ended it (events' workerExit); one that exits by itself crashed. */
  exitReason: WorkerExitReason = 'closed';
  readonly spawnedAt = nowMs();
  link!: WorkerLink;
  /** Calls sent to this worker, in the order they were sent. */
  readonly inflight = new Map<number, Call>();

  /** Roughly the bytes of arguments of the calls it holds (asked only while it is sent calls with large ones). */
  heldBytes(): number {
    let bytes = 0;
    for (const call of this.inflight.values()) bytes += call.bytes;
    return bytes;
  }
  /** Functions this worker has been sent the definition of. */
  readonly known = new Set<number>();
  /** Calls cancelled after they were sent, each with whether to replace the worker if it starts anyway. */
  readonly cancelled = new Map<number, boolean>();
  ready = false;
  /** When it last sent results (nowMs): the call it holds first began no earlier. */
  answeredAt = 0;
  assigned = 0;
  busyMs = 0;
  /** No new work: it is being recycled, retired or replaced. */
  retiring = false;
  /** We ended it on purpose (stop or kill); its exit is no crash. */
  ending = false;
  /** Why the pool stopped it while it ran other calls ("another task on it timed out"). */
  stopReason = 'it was stopped';
  setupTimer: NodeJS.Timeout | null = null;
  /** The timeout its setup ran past, which killed it (0: none). */
  setupOverdueMs = 0;
  idleTimer: NodeJS.Timeout | null = null;
  referenced = true;
  exited = false;
  readonly exit: Promise<void>;
  markExited!: () => void;

  constructor() {
    this.exit = new Promise((resolve) => { this.markExited = resolve; });
  }

  /** Calls it holds: those in flight, and those cancelled on their way that it has not answered yet (they may be running). */
  get load(): number {
    return this.inflight.size + this.cancelled.size;
  }

  /** The first call it still holds, the one it runs (undefined when it holds none). */
  get oldest(): Call | undefined {
    return this.inflight.values().next().value;
  }

  /**
   * Forgets a call cancelled after it was sent to it; true when it runs it and must be replaced to
   * stop it (a soft cancel lets it run on, unobserved). One it has not begun is taken back or
   * dropped by a Cancel; should it start anyway and `soft` is false, the pool replaces it then.
   */
  withdraw(call: Call, soft: boolean): boolean {
    this.inflight.delete(call.id);
    if (call.state === CallState.Running && !soft) return true;
    if (call.state !== CallState.Sent) this.cancelled.set(call.id, false); // the worker is busy until it answers
    else if (call.claimable && this.link.claims?.take(call.id) === true) this.assigned--;
    else {
      this.cancelled.set(call.id, !soft);
      this.link.send({ k: Msg.Cancel, id: call.id }, []);
    }
    return false;
  }

  /**
   * Every call in flight, no longer held here (the pool settles them). With `reclaim`, those a thread
   * has not begun are taken back first (claims.ts): they count as never started (queued).
   */
  takeAll(reclaim = false): Call[] {
    const calls = [...this.inflight.values()];
    const claims = reclaim ? this.link.claims : undefined;
    if (claims !== undefined) {
      for (const call of calls) if (call.claimable && call.state === CallState.Sent && claims.take(call.id)) call.state = CallState.Queued;
    }
    this.inflight.clear();
    return calls;
  }

  /** Empties it once it exited: the calls to blame (those known to be running), and the others in the order sent. */
  release(crashed: boolean): [blamed: Call[], rest: Call[]] {
    const calls = this.takeAll();
    const blamed = calls.filter((call) => call.state === CallState.Running);
    // Several ran when it crashed: each runs again alone, so that a second crash names the one to blame.
    if (crashed && blamed.length > 1) for (const call of blamed) call.alone = true;
    if (!crashed || blamed.length > 0) return [blamed, calls.filter((call) => call.state !== CallState.Running)];
    // None known: those held report their start from now on. Blamed are those held through such a crash
    // before, or else the first call of a worker that answered none: a module that kills workers on import.
    let again = calls.filter((call) => call.careful);
    if (again.length === 0 && this.assigned === calls.length) again = calls.slice(0, 1);
    for (const call of calls) call.careful = true;
    return [again, calls.filter((call) => !again.includes(call))];
  }

  /**
   * The call `id` this worker answered, no longer in flight; undefined for a call cancelled
   * on its way, which the worker ran anyway or dropped unstarted (now forgotten).
   */
  take(id: number): Call | undefined {
    const call = this.inflight.get(id);
    if (call === undefined) {
      this.cancelled.delete(id);
      return undefined;
    }
    this.inflight.delete(id);
    return call;
  }
}
