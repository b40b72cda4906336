/**
 * The handle `submit()` returns: a promise-like result plus an id, a state,
 * and `cancel()`. A job whose outcome nobody reads never raises an
 * unhandled rejection: its promise exists only once someone awaits it.
 */
import { AbortError, isCancellation } from './errors.js';

export type JobState = 'queued' | 'running' | 'fulfilled' | 'rejected' | 'cancelled';

let nextJobId = 1;

/** Internal: what an executor uses to drive a job. */
export interface JobControl {
  /** The executor took it (a failure before this is a refusal, never a cancellation). */
  accepted(): void;
  running(): void;
  settle(ok: boolean, value: unknown): void;
}

let control: <R>(job: Job<R>) => JobControl;
let make: <R>(cancel: (reason: unknown) => boolean) => Job<R>;

/** A submitted task: await it for the result, or cancel it. */
export class Job<R> implements PromiseLike<R> {
  readonly id: number;
  #state: JobState = 'queued';
  #accepted = false;
  #value: unknown = undefined;
  #promise: Promise<R> | null = null;
  #resolve: ((value: R) => void) | null = null;
  #reject: ((reason: unknown) => void) | null = null;
  #cancel: (reason: unknown) => boolean;

  /** Jobs are made by executors (newJob). */
  private constructor(cancel: (reason: unknown) => boolean) {
    this.id = nextJobId++;
    this.#cancel = cancel;
  }

  static {
    // `this`, as a class that names itself in its body loses its name in the bundle (scripts/build.mjs).
    make = <R>(cancel: (reason: unknown) => boolean): Job<R> => new this<R>(cancel);
    control = <R>(job: Job<R>): JobControl => ({
      accepted: () => { job.#accepted = true; },
      running: () => {
        if (job.#state === 'queued') job.#state = 'running';
      },
      settle: (ok, value) => job.#settle(ok, value),
    });
  }

  /** Where the job is: queued, running, or finished (fulfilled, rejected or cancelled). */
  get state(): JobState {
    return this.#state;
  }

  /**
   * Cancels the job: removes it from the queue, or stops it where it runs (its
   * worker is replaced). Returns false when it had already finished.
   */
  cancel(reason: unknown = new AbortError('The job was cancelled')): boolean {
    if (this.#state !== 'queued' && this.#state !== 'running') return false;
    return this.#cancel(reason);
  }

  #settle(ok: boolean, value: unknown): void {
    if (this.#state !== 'queued' && this.#state !== 'running') return;
    this.#state = ok ? 'fulfilled' : isCancellation(value, this.#accepted && this.#state === 'queued') ? 'cancelled' : 'rejected';
    this.#value = value;
    if (ok) this.#resolve?.(value as R);
    else this.#reject?.(value);
  }

  #result(): Promise<R> {
    if (this.#promise === null) {
      if (this.#state === 'fulfilled') this.#promise = Promise.resolve(this.#value as R);
      else if (this.#state === 'rejected' || this.#state === 'cancelled') this.#promise = Promise.reject(this.#value);
      else {
        this.#promise = new Promise<R>((resolve, reject) => {
          this.#resolve = resolve;
          this.#reject = reject;
        });
      }
    }
    return this.#promise;
  }

  then<T1 = R, T2 = never>(
    onfulfilled?: ((value: R) => T1 | PromiseLike<T1>) | null,
    onrejected?: ((reason: unknown) => T2 | PromiseLike<T2>) | null,
  ): Promise<T1 | T2> {
    return this.#result().then(onfulfilled, onrejected);
  }

  catch<T = never>(onrejected?: ((reason: unknown) => T | PromiseLike<T>) | null): Promise<R | T> {
    return this.#result().catch(onrejected);
  }

  finally(onfinally?: (() => void) | null): Promise<R> {
    return this.#result().finally(onfinally);
  }

  get [Symbol.toStringTag](): string {
    return 'Job';
  }
}

/** @internal A job that `cancel` cancels, for an executor to drive. */
export function newJob<R>(cancel: (reason: unknown) => boolean): Job<R> {
  return make(cancel);
}

/** @internal */
export function jobControl<R>(job: Job<R>): JobControl {
  return control(job);
}
