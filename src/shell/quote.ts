/**
 * Quoting for Bourne shells. A value in plain command text is quoted exactly as GNU parallel
 * quotes a replacement: a word of letters, digits and `-_.+/` is left alone, anything else
 * goes in single quotes (a quote inside becomes '"'"'), and the empty word becomes ''. That
 * keeps `--dry-run` output and the joblog byte-identical to GNU parallel's.
 *
 * A value the template puts inside quotes or backticks is quoted for that place instead
 * (GNU parallel's quoting would run `$(…)` inside "…", and split words inside '…'):
 *   "…{}…"  backslash before \ $ ` "        '…{}…'  a quote inside becomes '"'"'
 *   # …{}  a comment: a newline becomes a space, which is all that could end it
 *   `…{}…`  quoted for its place within the backticks, then a backslash before \ $ ` (and " when
 *           the backticks are inside "…")
 * Where a value lands is ShellReader's to tell; where it cannot tell, the template is refused.
 */
const SAFE = /^[-_.+a-zA-Z0-9/]+$/;

/** `word` (a byte string) quoted so that a shell reads it back unchanged and runs nothing. */
export function shellQuote(word: string): string {
  if (word === '') return "''";
  if (SAFE.test(word)) return word;
  let quoted = `'${word.replaceAll("'", `'"'"'`)}'`;
  if (quoted.startsWith("''")) quoted = quoted.slice(2);
  if (quoted.endsWith("''")) quoted = quoted.slice(0, -2);
  return quoted;
}

/** Where in a command line a value lands: which quotes it is inside, and whether inside backticks. */
export interface Place {
  readonly quotes: 'none' | 'single' | 'double' | 'comment';
  readonly inBackticks: boolean;
  /** The innermost backticks are inside "…" (where their text also reads \" as "). */
  readonly ticksInDouble: boolean;
}

export const PLAIN_PLACE: Place = Object.freeze({ quotes: 'none', inBackticks: false, ticksInDouble: false });
export const COMMENT_PLACE: Place = Object.freeze({ quotes: 'comment', inBackticks: false, ticksInDouble: false });

/** `word` quoted for `place`, so that the shell reads it back unchanged there and runs nothing. */
export function quoteFor(word: string, place: Place): string {
  let quoted = place.quotes === 'none' ? shellQuote(word)
    : place.quotes === 'double' ? word.replace(/[\\$`"]/g, '\\$&')
      : place.quotes === 'single' ? word.replaceAll("'", `'"'"'`)
        : shellQuote(word.replaceAll('\n', ' ')); // in a comment only a newline counts: it would end it
  // Inside backticks the shell first reads \\ \$ \` (and \" inside "…") as the bare character: one more backslash.
  if (place.inBackticks) quoted = quoted.replace(place.ticksInDouble ? /[\\$`"]/g : /[\\$`]/g, '\\$&');
  return quoted;
}
