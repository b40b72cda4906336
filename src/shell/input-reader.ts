/**
 * A run's inputs, read one job at a time from an iterable or an async iterable: each input a
 * value, or an array of values (one per input source), checked and turned into the byte
 * strings the template expands. A sync source is read without awaiting. An input that cannot
 * be read (the source threw) or is not valid (a NUL byte, a wrong type) ends the input there:
 * `error` holds why.
 */
import { InvalidTypeError } from '../errors.js';
import { toByteString, type InputValue } from './bytes.js';
import { isIterable, type CommandInput, type CommandInputs } from './run-commands.js';

export interface InputStep {
  seq: number;
  values: readonly InputValue[];
  bytes: string[];
}

export class InputReader {
  readonly #where: string;
  #source: CommandInputs;
  #iterator: Iterator<unknown> | AsyncIterator<unknown> | null = null;
  #sync = true;
  /** The seq of the last input read. */
  count = 0;
  /** Every input was read. */
  finished = false;
  /** Why the input ended before its source did, if it did. */
  error: unknown = undefined;

  constructor(source: CommandInputs, where: string) {
    this.#source = source;
    this.#where = where;
  }

  /** Reads the whole source first (a halt by percentage needs the total) and says how many inputs it holds (up to an error). */
  async readAll(): Promise<number> {
    if (Array.isArray(this.#source)) return this.#source.length;
    const all: CommandInput[] = [];
    try {
      for await (const input of this.#source as AsyncIterable<CommandInput>) all.push(input);
    } catch (error) {
      this.error = error;
    }
    this.#source = all;
    return all.length;
  }

  /** The next input, or null at the end of the source or at an input that cannot be read. */
  next(): InputStep | null | Promise<InputStep | null> {
    try {
      if (this.#iterator === null) {
        this.#sync = isIterable(this.#source);
        this.#iterator = this.#sync
          ? (this.#source as Iterable<unknown>)[Symbol.iterator]()
          : (this.#source as AsyncIterable<unknown>)[Symbol.asyncIterator]();
      }
      if (this.#sync) return this.#step((this.#iterator as Iterator<unknown>).next());
      return (this.#iterator as AsyncIterator<unknown>).next().then((result) => this.#step(result)).catch((error: unknown) => this.#fail(error));
    } catch (error) {
      return this.#fail(error);
    }
  }

  #fail(error: unknown): null {
    this.error = error;
    return null;
  }

  #step(result: IteratorResult<unknown>): InputStep | null {
    if (result.done === true) {
      this.finished = true;
      return null;
    }
    const seq = ++this.count;
    const values = Array.isArray(result.value) ? (result.value as readonly InputValue[]) : [result.value as InputValue];
    if (values.length === 0) throw new InvalidTypeError(`${this.#where}: input ${seq} is an empty array; give at least one value`);
    return { seq, values, bytes: values.map((v) => toByteString(v, this.#where)) };
  }

  /** Lets the source clean up when the run stops before its end. */
  close(): void {
    const iterator = this.#iterator;
    if (this.finished || iterator?.return === undefined) return;
    try {
      const closing = iterator.return();
      if (closing instanceof Promise) closing.catch(() => { /* the input's own cleanup failed: nothing to add */ });
    } catch { /* the same */ }
  }
}
