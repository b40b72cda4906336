/**
 * When the calls sent timed (TaskFlag.Timed, while the pool has task listeners) began and
 * ended here, in epoch ms, for the next Results message. Untimed calls never reach it.
 */
import { epochMs } from '../../observe/events.js';
import type { ResultsMessage } from '../protocol.js';

export class Timings {
  readonly #began = new Map<number, number>();
  #begun: number[] = [];
  #ended: number[] = [];

  /** Timed calls running here: none, and answers skip end(). */
  get open(): number {
    return this.#began.size;
  }

  /** Call `id` begins; `report`: it is reported started with the next message. */
  begin(id: number, report: boolean): void {
    const at = epochMs();
    this.#began.set(id, at);
    if (report) this.#begun.push(id, at);
  }

  /** Call `id` was answered (if it was timed). */
  end(id: number): void {
    const start = this.#began.get(id);
    if (start === undefined) return;
    this.#began.delete(id);
    this.#ended.push(id, start, epochMs());
  }

  /** Puts what was timed since the last message into `message`. */
  into(message: ResultsMessage): void {
    if (this.#begun.length > 0) {
      message.begun = this.#begun;
      this.#begun = [];
    }
    if (this.#ended.length > 0) {
      message.ended = this.#ended;
      this.#ended = [];
    }
  }
}
