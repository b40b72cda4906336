/**
 * Command templates: GNU parallel's replacement strings, found once, then filled in per job.
 *
 *   {}  the value          {.}  without extension   {/}  basename   {//}  dirname
 *   {/.} basename without extension   {#}  job sequence number   {%}  job slot
 *   {n} {n.} {n/} {n//} {n/.}  the n-th input source's value ({-n}: n-th from the end)
 *
 * Every value is shell-quoted for the place it lands in (plain text, "…", '…', backticks),
 * so it is data, never code. A template with no replacement string gets the values appended,
 * each quoted, separated by spaces.
 */
import { ErrorCodes, ForkJoinError } from '../errors.js';
import { fromByteString, toByteString } from './bytes.js';
import { basename, basenameWithoutExtension, dirname, withoutExtension } from './paths.js';
import { placesOf, type Piece } from './places.js';
import { PLAIN_PLACE, quoteFor, type Place } from './quote.js';

type Modifier = '' | '.' | '/' | '//' | '/.';

type Part =
  | { kind: 'text'; text: string }
  | { kind: 'seq' }
  | { kind: 'slot' }
  | { kind: 'values'; index: number; modifier: Modifier; place: Place }; // index 0: every value, joined by spaces

const modify: Record<Modifier, (value: string) => string> = {
  '': (value) => value,
  '.': withoutExtension,
  '/': basename,
  '//': dirname,
  '/.': basenameWithoutExtension,
};

const REPLACEMENT = /\{(?:(#)|(%)|(-?\d+)?(\/\/|\/\.|\/|\.)?)\}/g;

export interface CompiledTemplate {
  /** The template as given. */
  readonly source: string;
  /** Whether {%} appears, so the slot must be known before the command is built. */
  readonly usesSlot: boolean;
  /** The command line (a byte string) for one job. */
  expand(values: readonly string[], seq: number, slot: number): string;
}

/** Finds the replacement strings of `template` once; throws FJ_SHELL_TEMPLATE if it cannot be run. */
export function compileTemplate(template: string | Uint8Array, where: string): CompiledTemplate {
  // Bytes as they are (a file name that is not UTF-8), or text as UTF-8: a byte string either way.
  let bytes = typeof template === 'string' ? template : Buffer.from(template.buffer, template.byteOffset, template.byteLength).toString('latin1');
  if (bytes.trim() === '') {
    throw new ForkJoinError(ErrorCodes.SHELL_TEMPLATE, `${where}: the command template is empty; give the command to run, e.g. 'gzip {}'`);
  }
  if (bytes.includes('\0')) {
    throw new ForkJoinError(ErrorCodes.SHELL_TEMPLATE, `${where}: the command template holds a NUL byte, which no command line can carry`);
  }
  if (typeof template === 'string') bytes = toByteString(template, where);
  const parts: Part[] = [];
  const pieces: Piece[] = [];
  const text = (t: string): void => {
    parts.push({ kind: 'text', text: t });
    pieces.push({ kind: 'text', text: t });
  };
  let last = 0;
  for (const match of bytes.matchAll(REPLACEMENT)) {
    const at = match.index ?? 0;
    if (at > last) text(bytes.slice(last, at));
    last = at + match[0].length;
    if (match[1] !== undefined || match[2] !== undefined) {
      parts.push({ kind: match[1] !== undefined ? 'seq' : 'slot' });
      pieces.push({ kind: 'number' });
    } else {
      const index = match[3] === undefined ? 0 : Number(match[3]);
      parts.push({ kind: 'values', index, modifier: (match[4] ?? '') as Modifier, place: PLAIN_PLACE });
      // Every input has a value, so {}, {1} and {-1} always give a word; {2}, {-2} … may give nothing.
      pieces.push({ kind: 'value', name: match[0], mayBeMissing: Math.abs(index) >= 2 });
    }
  }
  if (last < bytes.length) text(bytes.slice(last));
  const appendValues = parts.every((p) => p.kind === 'text');
  const { places, end: endPlace } = placesOf(pieces, where);
  let k = 0;
  for (const [i, part] of parts.entries()) if (part.kind === 'values') parts[i] = { ...part, place: places[k++] };
  const usesSlot = parts.some((p) => p.kind === 'slot');

  function expand(values: readonly string[], seq: number, slot: number): string {
    if (appendValues) return `${bytes} ${values.map((v) => quoteFor(v, endPlace)).join(' ')}`;
    let out = '';
    for (const part of parts) {
      switch (part.kind) {
        case 'text': out += part.text; break;
        case 'seq': out += String(seq); break;
        case 'slot': out += String(slot); break;
        case 'values': {
          const change = modify[part.modifier];
          if (part.index === 0) {
            out += values.map((v) => quoteFor(change(v), part.place)).join(' ');
          } else {
            const value = values[part.index > 0 ? part.index - 1 : values.length + part.index];
            // A source that does not exist gives nothing at all (not ''), as in GNU parallel.
            if (value !== undefined) out += quoteFor(change(value), part.place);
          }
          break;
        }
        default: {
          const never: never = part;
          throw new Error(`unknown template part ${JSON.stringify(never)}`);
        }
      }
    }
    return out;
  }
  return Object.freeze({ source: typeof template === 'string' ? template : fromByteString(bytes), usesSlot, expand });
}
