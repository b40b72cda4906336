/**
 * Input sources as GNU parallel reads them: `:::` lists, `::::` files (one value a line, or
 * NUL-separated with -0) and standard input, combined into one tuple of values per job:
 * every combination, the first source slowest; sources linked with `:::+` / `::::+` advance
 * together instead (the shortest ends them). The first source is read lazily, so an endless
 * stdin is processed in bounded memory; the others are read whole, as a product needs.
 */
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { ErrorCodes, ForkJoinError } from '../errors.js';

/** Where one source's values come from. */
export type InputSource =
  | { kind: 'values'; values: ReadonlyArray<string | Buffer> }
  | { kind: 'file'; path: string | Buffer }   // '-' is standard input; bytes for a name that is not UTF-8
  | { kind: 'stdin' };

/** Sources that advance together (`:::+`); a job's tuple takes one value from each. */
export type SourceGroup = readonly InputSource[];

export interface ReadOptions {
  /** Values are separated by NUL bytes instead of newlines (`-0`). */
  nul?: boolean | undefined;
  /** Standard input, when a source names it. @default process.stdin */
  stdin?: Readable | undefined;
  /**
   * Called for each line holding a NUL byte (no command line can carry one), which is replaced
   * with the two characters `\0` as GNU parallel replaces it; `where` names the line.
   */
  onNul?: ((where: string) => void) | undefined;
}

/** Splits a byte stream into values at `separator`; a last value without one still counts. */
export async function* splitRecords(stream: AsyncIterable<Buffer | string>, separator: number): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  for await (const piece of stream) {
    const chunk = typeof piece === 'string' ? Buffer.from(piece) : piece;
    let start = 0;
    let at = chunk.indexOf(separator);
    while (at >= 0) {
      if (pending.length === 0) {
        yield Buffer.from(chunk.subarray(start, at)); // a copy: a short line must not pin a 64 KiB chunk
      } else {
        pending.push(chunk.subarray(start, at));
        yield Buffer.concat(pending);
        pending = [];
      }
      start = at + 1;
      at = chunk.indexOf(separator, start);
    }
    if (start < chunk.length) pending.push(Buffer.from(chunk.subarray(start)));
  }
  if (pending.length > 0) yield Buffer.concat(pending);
}

function inputError(what: string, error: unknown): ForkJoinError {
  const reason = error instanceof Error ? error.message : String(error);
  return new ForkJoinError(ErrorCodes.SHELL_INPUT, `cannot read ${what}: ${reason}`, { cause: error });
}

async function* readSource(source: InputSource, options: ReadOptions): AsyncGenerator<string | Buffer> {
  if (source.kind === 'values') {
    yield* source.values;
    return;
  }
  const separator = options.nul === true ? 0 : 0x0a;
  const useStdin = source.kind === 'stdin' || source.path === '-';
  const what = useStdin ? 'standard input' : `the input file ${JSON.stringify(source.kind === 'file' ? source.path.toString() : '')}`;
  const stream = useStdin ? (options.stdin ?? process.stdin) : createReadStream(source.kind === 'file' ? source.path : '');
  try {
    let line = 0;
    for await (const record of splitRecords(stream, separator)) {
      line++;
      if (separator === 0 || !record.includes(0)) yield record;
      else {
        options.onNul?.(`line ${line} of ${what}`);
        yield Buffer.from(record.toString('latin1').replaceAll('\0', '\\0'), 'latin1');
      }
    }
  } catch (error) {
    throw inputError(what, error);
  } finally {
    if (!useStdin) stream.destroy();
  }
}

async function* zip(iterators: AsyncIterator<string | Buffer>[]): AsyncGenerator<(string | Buffer)[]> {
  try {
    for (let first = true; ; first = false) {
      const steps = await Promise.all(iterators.map((it) => it.next()));
      const ended = steps.filter((s) => s.done === true).length;
      // As GNU parallel: a linked source without any value counts as one empty value (the shortest, it ends the pairs).
      if (first && ended > 0 && ended < steps.length) {
        yield steps.map((s) => (s.done === true ? '' : (s.value as string | Buffer)));
        return;
      }
      if (ended > 0) return;
      yield steps.map((s) => s.value as string | Buffer);
    }
  } finally {
    await Promise.all(iterators.map((it) => it.return?.()));
  }
}

async function* readGroup(group: SourceGroup, options: ReadOptions): AsyncGenerator<(string | Buffer)[]> {
  if (group.length !== 1) {
    yield* zip(group.map((source) => readSource(source, options)[Symbol.asyncIterator]()));
    return;
  }
  for await (const value of readSource(group[0], options)) yield [value];
}

/**
 * Every combination of the groups' values, the first group slowest, as one array of values
 * per job (ready for `runCommands`). Only the first group is streamed.
 */
export async function* combineSources(groups: readonly SourceGroup[], options: ReadOptions = {}): AsyncGenerator<(string | Buffer)[]> {
  if (groups.length === 0) return;
  // As GNU parallel does, a source without values beside others counts as one empty value
  // (`::: a b :::` runs a and b); when every source is empty, nothing runs.
  const nothing = (group: SourceGroup): string[] => group.map(() => '');
  const rest: (string | Buffer)[][][] = [];
  let anyValues = false;
  for (const group of groups.slice(1)) {
    const tuples: (string | Buffer)[][] = [];
    for await (const tuple of readGroup(group, options)) tuples.push(tuple);
    if (tuples.length > 0) anyValues = true;
    else tuples.push(nothing(group));
    rest.push(tuples);
  }
  const odometer = new Array<number>(rest.length).fill(0);
  function* across(head: (string | Buffer)[]): Generator<(string | Buffer)[]> {
    odometer.fill(0);
    for (;;) {
      const tuple = head.slice();
      for (let i = 0; i < rest.length; i++) tuple.push(...rest[i][odometer[i]]);
      yield tuple;
      let i = rest.length - 1;
      while (i >= 0 && ++odometer[i] === rest[i].length) odometer[i--] = 0;
      if (i < 0) break;
    }
  }
  let heads = 0;
  for await (const head of readGroup(groups[0], options)) {
    heads++;
    yield* across(head);
  }
  if (heads === 0 && anyValues) yield* across(nothing(groups[0]));
}
