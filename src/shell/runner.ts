/**
 * runCommands: GNU parallel's job runner as an API. It fills a command template with each
 * input's values (quoted: data, never code), runs the commands `jobs` at a time, each in a
 * process group of its own, and yields one record per job as it ends (in input order with
 * `keepOrder`). Output is collected whole per job, in bounded memory.
 */
import { nowMs } from '../clock.js';
import { AbortError } from '../errors.js';
import { Progress } from '../progress.js';
import { GroupStopper, SIGCONT, SIGKILL, SIGSTOP, SIGTERM, groupAlive, signalGroup } from './groups.js';
import { HaltTracker } from './halt.js';
import { JoblogWriter, readJoblog } from './joblog.js';
import { JobTimeouts } from './median.js';
import type { NormalizedRunOptions } from './options.js';
import { OutputBudget } from './output.js';
import { JobSlots, fillCommand, markStarted, newJob, resultOf, retryJob, type Job, type StopReason } from './job.js';
import { openSpawner } from './open-spawner.js';
import { Outbox } from './outbox.js';
import type { CommandResult, RunSummary } from './result.js';
import { warnWhenLimited, type Spawner } from './spawner.js';
import type { CompiledTemplate } from './template.js';
import type { CommandInputs } from './run-commands.js';
import { InputReader } from './input-reader.js';

/** What a CommandRun runs once it is iterated (loaded on first use: see run-commands.ts). */
export class CommandRunner implements AsyncIterator<CommandResult> {
  readonly #where: string;
  readonly #template: CompiledTemplate;
  readonly #inputs: CommandInputs;
  readonly #o: NormalizedRunOptions;
  readonly #budget: OutputBudget;
  readonly #timeouts: JobTimeouts;
  readonly #inFlight = new Map<number, Job>();
  readonly #outbox: Outbox;
  readonly #slots = new JobSlots();
  readonly #lingering = new Set<number>();
  readonly #stopper: GroupStopper;
  readonly #lookahead: number;
  readonly #halt: HaltTracker;
  #total: number | undefined;
  #started = false;
  #inputDone = false;
  #stop: StopReason | null = null;
  #error: unknown = undefined;
  /** An input that could not be read, or was not valid: it ended the input, and fails the run once the jobs before it ended. */
  #inputError: unknown = undefined;
  #closing: Promise<void> | null = null;
  readonly #closed: Promise<void>;
  #markClosed: () => void = () => {};
  #nextId = 1;
  #seq = 0;
  #skipped = 0;
  #reported = 0;
  #skip: Set<number> | null = null;
  #paused = false; // by Ctrl-Z (signalJobs)
  #joblog: JoblogWriter | null = null;
  #spawner: Spawner | null = null;
  #progress: Progress | null = null;
  #capacity: (() => void) | null = null;
  #onAbort: (() => void) | null = null;

  constructor(where: string, template: CompiledTemplate, inputs: CommandInputs, options: NormalizedRunOptions) {
    this.#where = where;
    this.#template = template;
    this.#inputs = inputs;
    this.#o = options;
    this.#budget = new OutputBudget(options.spillBytes, options.tmpdir, options.jobs, () => this.#wake());
    this.#timeouts = new JobTimeouts(options.timeoutMs, options.timeoutPercent);
    this.#outbox = new Outbox(options.keepOrder, () => this.#wake());
    this.#stopper = new GroupStopper(options.killGraceMs, () => this.#maybeClose());
    this.#total = Array.isArray(inputs) ? inputs.length : undefined;
    this.#halt = new HaltTracker(options.halt, () => this.#total ?? this.#seq);
    this.#closed = new Promise((resolve) => { this.#markClosed = resolve; });
    // Jobs queued in the spawner beyond those running, for a successor to start at once (not when {%} or a halt forbids).
    this.#lookahead = template.usesSlot || options.halt !== null ? 0 : options.jobs;
  }

  /** Counts so far, and GNU parallel's exit status for them (final once the iteration ended). */
  get summary(): RunSummary {
    return Object.freeze({
      jobs: this.#reported,
      succeeded: this.#halt.succeeded,
      failed: this.#halt.failed,
      skipped: this.#skipped,
      halted: this.#halt.halted,
      haltedBy: this.#halt.haltedBy,
      exitCode: this.#stop === 'error' || this.#inputError !== undefined ? 255 : this.#halt.exitStatus(), // 255: an error of forkjoin itself
    });
  }

  next(): Promise<IteratorResult<CommandResult>> {
    if (!this.#started) this.#start();
    return this.#outbox.next();
  }

  /** Stops the run (running jobs get SIGTERM, then SIGKILL) and resolves once every job is gone. */
  async return(): Promise<IteratorResult<CommandResult>> {
    if (this.#started) {
      if (this.#closing === null) this.#stopNow('return', undefined);
      await this.#closed;
    }
    this.#started = true;
    this.#outbox.abandon();
    return { value: undefined, done: true };
  }

  /** Sends `signal` to every running job's process group (the CLI's job control: Ctrl-Z, then fg); after SIGSTOP, jobs that start are stopped too until SIGCONT. */
  signalJobs(signal: number): void {
    if (signal === SIGSTOP || signal === SIGCONT) this.#paused = signal === SIGSTOP;
    for (const job of this.#inFlight.values()) if (job.state === 'running') signalGroup(job.pid, signal);
  }

  // ---- reading the inputs and starting jobs ---------------------------------

  #start(): void {
    this.#started = true;
    const signal = this.#o.signal;
    if (signal?.aborted === true) {
      this.#stopNow('abort', new AbortError('The run was aborted before it started', { cause: signal.reason }));
      return;
    }
    if (signal !== undefined) {
      this.#onAbort = () => this.#stopNow('abort', new AbortError('The run was aborted', { cause: signal.reason }));
      signal.addEventListener('abort', this.#onAbort, { once: true });
    }
    try {
      const log = this.#o.joblog;
      if (log !== null && !this.#o.dryRun) {
        if (this.#o.resume !== 'none') this.#skip = readJoblog(log.path, this.#o.resume);
        this.#joblog = JoblogWriter.open(log.path, log.append, this.#o.resume !== 'none');
      }
      if (this.#o.progress !== false) {
        this.#progress = Progress.create(this.#o.progress, 'run', this.#total);
        this.#progress?.onListenerFailure((thrown) => this.#stopNow('error', thrown));
      }
      // The spawner starts up while the first inputs are read.
      if (!this.#o.dryRun) this.#spawner = this.#makeSpawner();
    } catch (error) {
      this.#stopNow('error', error);
      return;
    }
    void this.#feed();
  }

  /** Whether another job may be sent: slots (plus the look-ahead) free, and readers keeping up. */
  #hasCapacity(): boolean {
    return this.#stop === null
      && this.#inFlight.size < this.#o.jobs + this.#lookahead
      && this.#outbox.ready < 2 * this.#o.jobs + 64
      && this.#outbox.ordered < 16 * this.#o.jobs + 1024
      && !this.#budget.filesFull;
  }

  #wake(): void {
    const capacity = this.#capacity;
    if (capacity !== null && (this.#hasCapacity() || this.#stop !== null)) {
      this.#capacity = null;
      capacity();
    }
  }

  async #feed(): Promise<void> {
    const reader = new InputReader(this.#inputs, this.#where);
    try {
      // A percentage of all jobs needs to know how many there are.
      if (this.#o.halt?.percent !== undefined) this.#total = await reader.readAll();
      for (;;) {
        if (!this.#hasCapacity()) await new Promise<void>((resolve) => { this.#capacity = resolve; this.#wake(); });
        if (this.#stop !== null) break;
        const next = reader.next();
        const step = next instanceof Promise ? await next : next;
        if (step === null || this.#stop !== null) break;
        this.#seq = step.seq;
        if (this.#skip?.has(step.seq) === true) {
          this.#skipped++;
          if (this.#total !== undefined) this.#total--;
          this.#progress?.add(1, 0);
          continue;
        }
        this.#launch(newJob(step.seq, step.values, step.bytes, this.#budget));
      }
    } catch (error) {
      this.#stopNow('error', error);
    } finally {
      reader.close();
      this.#inputError = reader.error;
      this.#inputDone = true;
      if (this.#total === undefined || reader.finished) this.#total = this.#seq - this.#skipped;
      this.#maybeClose();
    }
  }

  #launch(job: Job): void {
    job.id = this.#nextId++;
    job.attempts++;
    job.state = 'queued';
    // A dry run gives the slots jobs of equal length would take (GNU parallel's depend on when its `true`s end).
    if (this.#o.dryRun) job.slot = (this.#reported % this.#o.jobs) + 1;
    else if (this.#template.usesSlot) job.slot = this.#slots.take();
    fillCommand(job, this.#template);
    if (job.attempts === 1) this.#outbox.launched(job);
    if (this.#o.dryRun) {
      job.startedAt = new Date();
      this.#finish(job, 0, null, 0);
      return;
    }
    this.#inFlight.set(job.id, job);
    this.#spawner ??= this.#makeSpawner();
    this.#spawner.run(job.id, job.command, job.attempts > 1);
  }

  #makeSpawner(): Spawner {
    return openSpawner({
      started: (id, pid, at) => this.#onStarted(id, pid, at),
      output: (id, stream, chunk) => this.#onOutput(id, stream, chunk),
      ended: (id, code, signal, at, groupLeft) => this.#onEnded(id, code, signal, at, groupLeft),
      dropped: (id) => this.#onDropped(id),
      limited: warnWhenLimited(this.#o.jobs),
      failed: (error) => this.#spawnerFailed(error),
    }, { shell: this.#o.shell, cwd: this.#o.cwd, env: this.#o.env ?? process.env, concurrency: this.#o.jobs });
  }

  // ---- what the spawner reports ------------------------------------------

  #onStarted(id: number, pid: number, at: number | undefined): void {
    const job = this.#inFlight.get(id);
    if (job === undefined) return;
    markStarted(job, pid, at);
    if (!this.#template.usesSlot) job.slot = this.#slots.take();
    this.#halt.started();
    if (this.#paused) signalGroup(pid, SIGSTOP);
    // Started as the run stopped (its start was on its way): a halt `now` stops it too, a halt `soon` lets it run.
    if (this.#stop !== null && (this.#stop !== 'halt' || this.#halt.halted === 'now')) this.#terminate(job, this.#stop);
    else this.#armTimeout(job);
  }

  #armTimeout(job: Job): void {
    const ms = this.#timeouts.left(job.t0);
    if (ms !== null) job.timer = setTimeout(() => { job.timer = null; this.#terminate(job, 'timeout'); }, ms);
  }

  #onOutput(id: number, stream: 1 | 2, chunk: Buffer): void {
    const job = this.#inFlight.get(id);
    if (job === undefined) return;
    try {
      (stream === 1 ? job.stdout : job.stderr).append(chunk);
    } catch (error) {
      this.#stopNow('error', error);
    }
  }

  #onDropped(id: number): void {
    const job = this.#inFlight.get(id);
    if (job === undefined) return;
    this.#inFlight.delete(id);
    if (this.#template.usesSlot) this.#slots.free(job.slot);
    this.#drop(job);
  }

  #onEnded(id: number, exitCode: number | null, signal: number | null, at: number | undefined, groupLeft: boolean | undefined): void {
    const job = this.#inFlight.get(id);
    if (job === undefined) return;
    this.#inFlight.delete(id);
    const durationMs = at === undefined ? nowMs() - job.t0 : Math.max(0, at - job.startedAt.getTime());
    if (job.timer !== null) clearTimeout(job.timer);
    job.timer = null;
    this.#slots.free(job.slot);
    // Its stop is settled last: settling may close the run, which must first see a retry launched.
    const stopping = job.stopping;
    if (stopping === null && this.#stop === null && groupLeft !== false && groupAlive(job.pid)) this.#lingering.add(job.pid);
    try {
      this.#settleEnded(job, exitCode, signal, durationMs);
    } finally {
      stopping?.ended();
    }
  }

  /** Retries a failed job while its retries allow, or reports it. */
  #settleEnded(job: Job, exitCode: number | null, signal: number | null, durationMs: number): void {
    const failed = exitCode !== 0 || job.killedBy === 'timeout';
    if (this.#stop !== null && this.#stop !== 'halt') return this.#drop(job);
    if (job.killedBy === 'halt') return this.#drop(job); // as GNU parallel: a job halted `now` is not reported
    if (failed && job.attempts <= this.#o.retries && this.#stop === null) {
      retryJob(job, this.#budget);
      this.#launch(job);
      return;
    }
    if (!failed && this.#timeouts.learn(durationMs)) {
      // The first median: jobs already running get their limit now.
      for (const running of this.#inFlight.values()) {
        if (running.state === 'running' && running.timer === null && running.killedBy === null) this.#armTimeout(running);
      }
    }
    this.#finish(job, exitCode, signal, durationMs);
  }

  #drop(job: Job): void {
    job.state = 'dropped';
    job.stdout.discard();
    job.stderr.discard();
    this.#outbox.flush();
    this.#wake();
    this.#maybeClose();
  }

  // ---- results -------------------------------------------------------------

  #finish(job: Job, exitCode: number | null, signal: number | null, durationMs: number): void {
    const result = resultOf(job, exitCode, signal, durationMs);
    const { timedOut, failed } = result;
    job.state = 'ended';
    job.result = result;
    this.#reported++;
    try {
      this.#joblog?.write({
        seq: job.seq, startedAt: job.startedAt, durationMs, stdoutBytes: result.stdout.byteLength,
        exitval: timedOut ? -1 : (exitCode ?? 0), signal: signal ?? 0, command: job.command,
      });
    } catch (error) {
      this.#stopNow('error', error);
      return;
    }
    this.#progress?.add(1, failed ? 1 : 0);
    const halt = this.#halt.record({ failed, status: timedOut ? -1 : exitCode ?? 128 + (signal ?? 0), seq: job.seq, command: job.commandText });
    this.#outbox.ended(job, result);
    if (halt !== null && this.#stop === null) this.#halting(halt);
    this.#wake();
    this.#maybeClose();
  }

  // ---- stopping ------------------------------------------------------------

  #halting(when: 'now' | 'soon'): void {
    this.#stop = 'halt';
    this.#spawner?.cancelQueued();
    if (when === 'now') {
      this.#outbox.cut();
      for (const job of this.#inFlight.values()) if (job.state === 'running') this.#terminate(job, 'halt');
    }
    this.#wake();
  }

  /** Stops everything now: an abort, an error, or the reader leaving the loop. */
  #stopNow(reason: Exclude<StopReason, 'halt'>, error: unknown): void {
    if (this.#stop !== null && this.#stop !== 'halt') return;
    this.#stop = reason;
    if (reason !== 'return') this.#error = error ?? new Error('the run stopped');
    this.#spawner?.cancelQueued();
    for (const job of this.#inFlight.values()) if (job.state === 'running') this.#terminate(job, reason);
    for (const pgid of this.#lingering) this.#stopper.stopGroup(pgid);
    this.#lingering.clear();
    this.#wake();
    this.#maybeClose();
  }

  /** The spawner can report nothing more: stop the groups it started ourselves. */
  #spawnerFailed(error: Error): void {
    this.#stopNow('error', error);
    for (const job of [...this.#inFlight.values()]) {
      this.#inFlight.delete(job.id);
      if (job.state === 'running') this.#stopper.stopGroup(job.pid);
      this.#drop(job);
    }
  }

  /** SIGTERM to the job's process group now, SIGKILL after the grace period. */
  #terminate(job: Job, why: NonNullable<Job['killedBy']>): void {
    if (job.killedBy === null || why === 'abort' || why === 'error' || why === 'return') job.killedBy = why;
    if (job.timer !== null) clearTimeout(job.timer);
    job.timer = null;
    if (job.stopping !== null) return;
    const spawner = this.#spawner as Spawner;
    job.stopping = this.#stopper.stop(job.pid,
      () => spawner.kill(job.id, SIGTERM),
      () => { if (this.#inFlight.has(job.id)) spawner.kill(job.id, SIGKILL); });
  }

  /** Closes the run once its input is read (or it stopped) and every job and grace period is over. */
  #maybeClose(): void {
    if (this.#closing !== null || !this.#started) return;
    if (!this.#inputDone && (this.#stop === null || this.#stop === 'halt')) return;
    if (this.#inFlight.size > 0 || this.#stopper.pending > 0) return;
    this.#closing = this.#close();
  }

  async #close(): Promise<void> {
    if (this.#onAbort !== null) this.#o.signal?.removeEventListener('abort', this.#onAbort);
    const closing: Promise<void>[] = [];
    if (this.#spawner !== null) closing.push(this.#spawner.close());
    if (this.#joblog !== null) closing.push(this.#joblog.close());
    for (const outcome of await Promise.allSettled(closing)) {
      if (outcome.status === 'rejected' && this.#error === undefined && this.#stop !== 'return') this.#error = outcome.reason;
    }
    // An async listener's rejection, after the last job too, fails the run as a listener that throws does.
    await this.#progress?.finish().catch((thrown: unknown) => { this.#error ??= thrown; });
    this.#outbox.end(this.#error ?? this.#inputError, this.#error === undefined); // after an input error, the records before it first
    this.#markClosed();
  }
}
