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
import { PLAIN_PLACE, ShellReader, quoteFor, type Place } from './quote.js';

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
  const reader = new ShellReader();
  let last = 0;
  for (const match of bytes.matchAll(REPLACEMENT)) {
    const at = match.index ?? 0;
    if (at > last) parts.push({ kind: 'text', text: bytes.slice(last, at) });
    reader.advance(bytes.slice(last, at));
    last = at + match[0].length;
    if (match[1] !== undefined || match[2] !== undefined) {
      parts.push({ kind: match[1] !== undefined ? 'seq' : 'slot' });
      reader.number();
    } else {
      const place = reader.place();
      if (place === null) {
        throw new ForkJoinError(ErrorCodes.SHELL_TEMPLATE, `${where}: ${match[0]} stands right after an unpaired backslash or a $, in a here-document (its body or its <<WORD), in arithmetic ($((…)) or ((…))) or in bash's $'…', where no quoting can keep its value from running; write \\\\${match[0]} for a backslash before the value, and pass the value as an argument elsewhere: sh -c 'echo $(( $1 + 1 ))' sh {}`);
      }
      parts.push({ kind: 'values', index: match[3] === undefined ? 0 : Number(match[3]), modifier: (match[4] ?? '') as Modifier, place });
    }
  }
  const appendValues = parts.length === 0 || parts.every((p) => p.kind === 'text');
  if (last < bytes.length) parts.push({ kind: 'text', text: bytes.slice(last) });
  reader.advance(bytes.slice(last));
  if (reader.lost && (appendValues || parts.some((p) => p.kind === 'values'))) {
    throw new ForkJoinError(ErrorCodes.SHELL_TEMPLATE, `${where}: cannot tell where the values land in this template (it holds a \${…} with quotes or parentheses, a # it cannot place, backticks inside backticks, a backslash-newline inside a word, a here-document it cannot follow, or a quote left open), so no quoting is sure to keep them from running; pass them as arguments instead: sh -c '… "$1" …' sh {}`);
  }
  const end = reader.place();
  if (appendValues && end === null) {
    throw new ForkJoinError(ErrorCodes.SHELL_TEMPLATE, `${where}: the template ends with an unpaired backslash or in a here-document (its body or its <<WORD), where the values it gets appended could run; put {} where they belong`);
  }
  const endPlace = end ?? PLAIN_PLACE;
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
