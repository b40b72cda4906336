/**
 * GNU parallel's --colsep and --trim: each value of a job split into columns at a regular
 * expression (Perl's `split /RE/, $value, -1`: empty columns kept, an empty value one empty
 * column), the columns of every source numbered in turn ({1} {2} …), then white space trimmed
 * from their ends. Text is split as text; bytes that are not UTF-8 as bytes (the expression's
 * own characters taken as their UTF-8 bytes).
 */

/** --trim: n none, l the start, r the end, lr (or rl) both ends. */
export type Trim = 'n' | 'l' | 'r' | 'lr' | 'rl';

export const TRIMS: readonly Trim[] = ['n', 'l', 'r', 'lr', 'rl'];

/** Perl's \s on bytes: ASCII white space only. */
const LEADING = /^[ \t\n\v\f\r]+/;
const TRAILING = /[ \t\n\v\f\r]+$/;

const utf8 = new TextDecoder('utf-8', { fatal: true });

function asText(value: Buffer): string | null {
  try {
    return utf8.decode(value);
  } catch {
    return null;
  }
}

function trimmed(text: string, trim: Trim): string {
  if (trim === 'l' || trim === 'lr' || trim === 'rl') text = text.replace(LEADING, '');
  if (trim === 'r' || trim === 'lr' || trim === 'rl') text = text.replace(TRAILING, '');
  return text;
}

/** The columns of each job's values: `colsep` splits them (null: each value is one column), `trim` trims each column. */
export function columnsOf(colsep: RegExp | null, trim: Trim): (values: ReadonlyArray<string | Buffer>) => Array<string | Buffer> {
  const bytePattern = colsep === null ? null : new RegExp(Buffer.from(colsep.source, 'utf8').toString('latin1'), colsep.flags);
  const split = (text: string, pattern: RegExp | null): string[] => {
    if (pattern === null || text === '') return [trimmed(text, trim)];
    // A capturing group that took no part in a match gives undefined, where Perl gives an empty column.
    return text.split(pattern).map((column: string | undefined) => trimmed(column ?? '', trim));
  };
  return (values) => values.flatMap((value): Array<string | Buffer> => {
    const text = typeof value === 'string' ? value : asText(value);
    if (text !== null) return split(text, colsep);
    return split(value.toString('latin1'), bytePattern).map((column) => Buffer.from(column, 'latin1'));
  });
}
