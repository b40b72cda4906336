/**
 * Where each value of a template lands, or FJ_SHELL_TEMPLATE where that cannot be told for sure.
 *
 * A replacement of one source or column ({2}, {-2}, {3.} …) gives nothing at all for an input
 * that has fewer (as in GNU parallel), and then what stands on its two sides meets: `{2}#` is
 * a comment, `<{2}<` a here-document, `{2} case` a keyword. So the template is read once with
 * every value there and once more for each way such replacements can be missing, and each
 * value must land in the same place in every reading. A replacement inside quotes, one that is a
 * whole argument between blanks, or one right after {} or {1}, changes nothing by missing and is
 * read as always there.
 */
import { ErrorCodes, ForkJoinError } from '../errors.js';
import { PLAIN_PLACE, type Place } from './quote.js';
import { NUMBER, ShellReader, VALUE, type Reading } from './reader.js';

export type Piece = { kind: 'text'; text: string } | { kind: 'number' } | { kind: 'value'; name: string; mayBeMissing: boolean };

/** At most this many readings, and this many characters read in all. */
const MAX_READINGS = 1024;
const MAX_CHARACTERS = 20_000_000;

function fail(message: string): never {
  throw new ForkJoinError(ErrorCodes.SHELL_TEMPLATE, message);
}

/** The place of each value piece in order, and of values appended at the end; throws FJ_SHELL_TEMPLATE. */
export function placesOf(pieces: readonly Piece[], where: string): { places: Place[]; end: Place } {
  const values = pieces.flatMap((p, at) => (p.kind === 'value' ? [{ piece: p, at }] : []));
  const full = read(pieces, new Set());
  if (full.lost !== '' && (values.length > 0 || pieces.every((p) => p.kind === 'text'))) {
    fail(`${where}: cannot tell where the values land in this template, which holds ${full.lost}, so no quoting is sure to keep them from running; pass them as arguments instead: sh -c '… "$1" …' sh {}`);
  }
  full.values.forEach((landing, k) => {
    if (landing.place === null) fail(`${where}: ${values[k].piece.name} ${landing.why}`);
  });
  const places = full.values.map((landing) => landing.place as Place);
  if (values.length === 0) {
    if (full.end.place === null && pieces.every((p) => p.kind === 'text')) {
      fail(`${where}: the values this template gets appended would land where a value ${full.end.why.replace(/; .*/, '')}; put {} where they belong`);
    }
    return { places, end: full.end.place ?? PLAIN_PLACE };
  }
  // The replacements that may be missing where that could change how the rest reads. One read as
  // always there must stay a whole argument between blanks when others are missing ({3} {2} case):
  // if it does not, it joins them and the readings begin again.
  const mayJoin = (k: number): boolean => values[k].piece.mayBeMissing && places[k].quotes === 'none';
  const open = values.flatMap((v, k) => (mayJoin(k) && !(full.values[k].neutral && betweenBlanks(pieces, v.at)) && !afterValue(pieces, v.at) ? [k] : []));
  const length = pieces.reduce((n, p) => n + (p.kind === 'text' ? p.text.length : 1), 0);
  for (let round = 0; ; round++) {
    const readings = 2 ** open.length;
    if (open.length > 20 || readings > MAX_READINGS || readings * length * (round + 1) > MAX_CHARACTERS) {
      fail(`${where}: ${open.length} replacements of one source or column (${open.slice(0, 3).map((k) => values[k].piece.name).join(', ')} …) may each give nothing and join what stands beside them, too many ways to check; put a blank on both sides of each, or quote them ("{2}")`);
    }
    const joined = new Set<number>();
    for (let mask = 1; mask < readings; mask++) {
      const missing = new Set(open.filter((_, bit) => (mask & (1 << bit)) !== 0).map((k) => values[k].at));
      const reading = read(pieces, missing);
      const names = values.filter(({ at }) => missing.has(at)).map(({ piece }) => piece.name).join(' and ');
      const then = `${names} may give nothing (for an input with fewer sources or columns), and then`;
      const first = names.split(' and ')[0];
      const advice = `put a blank after ${first}, or quote it ("${first}")`;
      if (reading.lost !== '') fail(`${where}: ${then} the template holds ${reading.lost}; ${advice}`);
      let n = 0;
      values.forEach(({ piece, at }, k) => {
        if (missing.has(at)) return;
        const landing = reading.values[n++];
        if (landing.place === null) fail(`${where}: ${then} ${piece.name} ${landing.why.replace(/; .*/, '')}; ${advice}`);
        if (!samePlace(landing.place, places[k])) fail(`${where}: ${then} ${piece.name} lands elsewhere (a # after it starts a comment, or a (, < or keyword is joined); ${advice}`);
        if (mayJoin(k) && !open.includes(k) && !landing.neutral) joined.add(k);
      });
    }
    if (joined.size === 0) break;
    open.push(...joined);
  }
  return { places, end: full.end.place ?? PLAIN_PLACE };
}

function read(pieces: readonly Piece[], missing: ReadonlySet<number>): Reading {
  let text = '';
  pieces.forEach((p, at) => {
    if (p.kind === 'text') text += p.text;
    else if (p.kind === 'number') text += NUMBER;
    else if (!missing.has(at)) text += VALUE;
  });
  return ShellReader.read(text);
}

/** The piece at `at` follows {}, {1} or {-1} (through others like it): a word goes on there whether it gives anything or not. */
function afterValue(pieces: readonly Piece[], at: number): boolean {
  for (let i = at - 1; i >= 0; i--) {
    const piece = pieces[i];
    if (piece.kind !== 'value') return false;
    if (!piece.mayBeMissing) return true;
  }
  return false;
}

/** The piece at `at` has a blank before it (not one a backslash escapes, or the template's start) and after it (or the end). */
function betweenBlanks(pieces: readonly Piece[], at: number): boolean {
  const before = pieces[at - 1];
  const after = pieces[at + 1];
  const blankBefore = before === undefined || (before.kind === 'text' && /(?:^|[^\\])[ \t\n]$/.test(before.text));
  return blankBefore && (after === undefined || (after.kind === 'text' && /^[ \t\n]/.test(after.text)));
}

function samePlace(a: Place, b: Place): boolean {
  return a.quotes === b.quotes && a.inBackticks === b.inBackticks && a.ticksInDouble === b.ticksInDouble;
}
