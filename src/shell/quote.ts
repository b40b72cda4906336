/**
 * Quoting for Bourne shells, exactly as GNU parallel quotes a replacement: a word of
 * letters, digits and `-_.+/` is left alone, anything else goes in single quotes (a
 * quote inside becomes '"'"'), and the empty word becomes ''. The same quoting keeps
 * `--dry-run` output and the joblog byte-identical to GNU parallel's.
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
