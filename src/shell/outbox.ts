/**
 * The records of a run on their way to its reader. With keepOrder a job's record waits for
 * those of the inputs before it; a job's output counts against the run's memory budget until
 * the reader takes its record, and records nobody will read release their output at once.
 */
import { Deque } from '../pool/deque.js';
import type { Job } from './job.js';
import { ResultQueue } from './queue.js';
import type { CommandResult } from './result.js';

export class Outbox {
  readonly #keepOrder: boolean;
  /** keepOrder: jobs in input order, until their record is handed out. */
  readonly #order = new Deque<Job>();
  readonly #results: ResultQueue<CommandResult>;
  readonly #jobOf = new WeakMap<CommandResult, Job>();

  /** `taken` is called as the reader takes each record. */
  constructor(keepOrder: boolean, taken: () => void) {
    this.#keepOrder = keepOrder;
    this.#results = new ResultQueue((result) => {
      this.#handOver(result);
      taken();
    });
  }

  /** Records ready and not yet read. */
  get ready(): number {
    return this.#results.length;
  }

  /** keepOrder: jobs whose records are not handed out yet. */
  get ordered(): number {
    return this.#order.length;
  }

  next(): Promise<IteratorResult<CommandResult>> {
    return this.#results.next();
  }

  /** A job is launched for the first time: with keepOrder, it takes its place in the order. */
  launched(job: Job): void {
    if (this.#keepOrder) this.#order.push(job);
  }

  /** A job ended with its record. */
  ended(job: Job, result: CommandResult): void {
    this.#jobOf.set(result, job);
    if (this.#keepOrder) this.flush();
    else this.#results.push(result);
  }

  /** keepOrder: hands out the records at the head of the input order, as far as they are done. */
  flush(): void {
    for (let job = this.#order.peek(); job !== undefined; job = this.#order.peek()) {
      if (job.state === 'ended' && job.result !== null) this.#results.push(job.result);
      else if (job.state !== 'dropped') break;
      this.#order.shift();
    }
  }

  /**
   * keepOrder, at a halt `now`: drops the records waiting behind a job that has not ended, as GNU
   * parallel, which prints a job's output only after the output of every job before it, never
   * prints them; what the reader got stays a head of the input order.
   */
  cut(): void {
    if (!this.#keepOrder) return;
    this.flush();
    for (let job = this.#order.shift(); job !== undefined; job = this.#order.shift()) {
      if (job.result === null) continue;
      this.#handOver(job.result);
      job.result.stdout.release();
      job.result.stderr.release();
    }
  }

  /** Ends the iteration: after the records not read yet (`keep`), or at once (dropping them) with `error`. */
  end(error?: unknown, keep = error === undefined): void {
    if (keep) this.flush();
    else this.#discard();
    this.#results.end(error);
  }

  /** The reader stopped reading: drops the records not read yet, and ends the iteration. */
  abandon(): void {
    this.#discard();
    this.#results.end();
  }

  /** Drops the records not read yet, releasing their output. */
  #discard(): void {
    for (const result of this.#results.drain()) {
      result.stdout.release();
      result.stderr.release();
    }
  }

  /** A record leaves for the reader: its output no longer counts against the run's budget. */
  #handOver(result: CommandResult): void {
    const job = this.#jobOf.get(result);
    if (job === undefined) return;
    this.#jobOf.delete(result);
    job.stdout.handOver();
    job.stderr.handOver();
  }
}
