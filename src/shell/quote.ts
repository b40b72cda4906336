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
 * A template whose places cannot be told for sure (see ShellReader), and a value right after
 * an unpaired backslash, in a here-document's body, in arithmetic ($((…)), ((…))) or in bash's
 * $'…', are refused: no quoting is sure to hold there.
 */
import { HereDocs } from './heredoc.js';

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
const COMMENT_PLACE: Place = Object.freeze({ quotes: 'comment', inBackticks: false, ticksInDouble: false });

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

/** `inDouble`: backticks opened inside "…", where \" also stands for " in their text. */
/** `cases`: `case` commands open in this frame, whose patterns end with a `)` that closes nothing. */
/** `arith`: $((…)) or ((…)), where a shell expands $(…) even inside quotes; `ansi`: bash's $'…', where \' does not end it. */
type Frame = { kind: 'command'; closer: '' | ')' | '`'; parens: number; cases: number; inDouble: boolean } | { kind: 'single' } | { kind: 'double' }
  | { kind: 'arith'; parens: number } | { kind: 'ansi' };

/**
 * Reads a shell command line in pieces: `advance(text)` moves past literal text, `place()`
 * says where the next piece lands. It follows quotes, backslashes, comments, `$(…)` and
 * backticks, `case` patterns and here-documents as a POSIX shell reads them. What it does not
 * follow (`${…}` holding quotes or parentheses, a `#` it cannot place, backticks inside
 * backticks, quotes left open, see also HereDocs) makes it `lost`: its places are then not to
 * be trusted.
 */
export class ShellReader {
  readonly #stack: Frame[] = [{ kind: 'command', closer: '', parens: 0, cases: 0, inDouble: false }];
  #escaped = false;
  #comment = false;
  readonly #docs = new HereDocs();
  #lost = false;
  /** The last character read, to tell a word's start (where `#` begins a comment). */
  #previous = '\n';

  /** Whether the command line holds something this reader does not follow, or ends inside quotes. */
  get lost(): boolean {
    return this.#lost || this.#docs.lost || this.#stack.length > 1;
  }

  /**
   * Where the next piece lands; null where no quoting can hold it: right after an unpaired
   * backslash (which would apply to its first byte), in a here-document's body or its `<<WORD`
   * (a newline could end the body, which expands `$(…)` whatever quotes surround it), in
   * arithmetic (which expands `$(…)` inside quotes too) or in bash's `$'…'` (where `\'` does not end it).
   */
  place(): Place | null {
    if (this.#escaped || this.#docs.inBody || this.#docs.inWord || this.#stack.some((f) => f.kind === 'arith' || f.kind === 'ansi')) return null;
    // Right after a `$`, the value's quote would make `$'…'` (bash reads escapes in it) or `$name`.
    if (this.#previous === '$' && !this.#comment && this.#stack[this.#stack.length - 1].kind !== 'single') return null;
    this.#previous = 'x'; // the value placed here is a word, or part of one
    if (this.#comment) return COMMENT_PLACE;
    const top = this.#stack[this.#stack.length - 1];
    if (top.kind === 'arith' || top.kind === 'ansi') return null;
    const ticks = this.#innerBackticks();
    if (top.kind === 'command' && ticks === null) return PLAIN_PLACE;
    return { quotes: top.kind === 'command' ? 'none' : top.kind, inBackticks: ticks !== null, ticksInDouble: ticks?.inDouble ?? false };
  }

  /** Moves past a number ({#} or {%}): digits, which only matter in a here-document. */
  number(): void {
    if (this.#docs.inBody || this.#docs.inWord) this.#docs.number();
    else this.advance('0');
  }

  advance(text: string): void {
    for (let i = 0; i < text.length; i++) {
      let c = text[i];
      if (this.#docs.inBody) {
        this.#docs.bodyChar(c);
        this.#previous = c;
        continue;
      }
      if (this.#docs.inWord && this.#docs.wordChar(c)) {
        this.#previous = 'x';
        continue;
      }
      const top = this.#stack[this.#stack.length - 1];
      const previous = this.#previous;
      this.#previous = c;
      if (this.#escaped) {
        this.#escaped = false;
        this.#previous = 'x'; // an escaped character is part of a word
        continue;
      }
      if (c === '\n' && this.#docs.waiting) {
        // The line holding `<<` ends: the bodies begin after it (unless this newline is inside quotes).
        const quoted = top.kind === 'single' || top.kind === 'double';
        this.#docs.lineEnd(top, quoted ? this.#stack[this.#stack.length - 2] : undefined);
        if (this.#docs.inBody) {
          this.#comment = false;
          continue;
        }
      }
      if (this.#comment) {
        if (c === '\n') this.#comment = false;
        continue;
      }
      // A backslash before a newline, outside single quotes, is no character at all: the shell joins
      // the lines before it reads them. Where it would join `$` and `(`, `{` or `'`, `(` and `(`, or
      // `<` and `<`, which this reader sees apart, it is lost.
      if (c === '\\' && text[i + 1] === '\n' && top.kind !== 'single' && top.kind !== 'ansi') {
        const next = text[i + 2] ?? '';
        if ((previous === '$' && /[({']/.test(next)) || (previous === '(' && next === '(') || (previous === '<' && next === '<')) this.#lost = true;
        this.#previous = previous;
        i++;
        continue;
      }
      // The text of backticks is read once with \\ \$ \` (and \" inside "…") standing for the bare
      // character, then parsed: read such a pair as that character.
      const ticks = this.#innerBackticks();
      if (c === '\\' && ticks !== null && (/[\\$`]/.test(text[i + 1] ?? '') || (ticks.inDouble && text[i + 1] === '"'))) {
        c = text[++i];
        if (c === '`') this.#lost = true; // backticks inside backticks
      }
      // A closing quote, backquote or $(…)'s parenthesis leaves the word going on: a `#` after it is no comment.
      if (top.kind === 'single') {
        if (c === "'") this.#close();
        continue;
      }
      if (top.kind === 'ansi') {
        if (c === '\\') i++;
        else if (c === "'") this.#close();
        continue;
      }
      if (top.kind === 'arith') {
        if (c === '(') top.parens++;
        else if (c === ')' && top.parens > 0) top.parens--;
        else if (c === ')' && text[i + 1] === ')') {
          this.#stack.pop();
          i++;
        } else if (c === ')') this.#lost = true;
        continue;
      }
      const wordStart = /[\s;&|<>(]/.test(previous);
      if (c === '$' && previous === '$') this.#previous = 'x'; // $$ is whole: what follows is not joined to a `$`
      if (c === '\\') {
        this.#escaped = true;
      } else if (c === '`') {
        if (top.kind === 'command' && top.closer === '`') this.#close();
        else this.#stack.push({ kind: 'command', closer: '`', parens: 0, cases: 0, inDouble: top.kind === 'double' });
      } else if (c === '$' && text[i + 1] === '(' && text[i + 2] === '(') {
        this.#stack.push({ kind: 'arith', parens: 0 });
        i += 2;
      } else if (c === '(' && text[i + 1] === '(' && wordStart && top.kind === 'command') {
        this.#stack.push({ kind: 'arith', parens: 0 }); // bash's (( … ))
        i++;
      } else if (c === '$' && text[i + 1] === "'" && top.kind === 'command') {
        this.#stack.push({ kind: 'ansi' });
        i++;
      } else if (c === '$' && text[i + 1] === '(') {
        this.#stack.push({ kind: 'command', closer: ')', parens: 0, cases: 0, inDouble: false });
        i++;
        this.#previous = '(';
      } else if (c === '$' && text[i + 1] === '{') {
        // ${name} and ${name:-word} are followed; one holding quotes, parentheses or expansions is not.
        const close = text.indexOf('}', i + 2);
        if (close < 0 || /['"`()$\\{]/.test(text.slice(i + 2, close))) this.#lost = true;
        else {
          i = close;
          this.#previous = '}'; // a value right after ${name} is joined to its value, not to a `$`
        }
      } else if (top.kind === 'double') {
        if (c === '"') this.#close();
      } else if (c === '#') {
        // A comment runs to the end of its line; one this reader cannot place for sure makes it lost.
        if (previous === '$') this.#previous = 'x'; // $#, the number of arguments
        else if (wordStart && this.#stack.length === 1) this.#comment = true;
        else if (wordStart || !/[\w\-./:=@%+,]/.test(previous)) this.#lost = true;
      } else if (c === '<' && text[i + 1] === '<') {
        if (text[i + 2] === '<') {
          i += 2; // bash's here-string <<< WORD: a word, as after <
        } else {
          const strip = text[i + 2] === '-';
          i += strip ? 2 : 1;
          if (ticks !== null) this.#lost = true; // inside backquotes, a body's backslashes are read twice
          else this.#docs.begin(strip, top);
        }
      } else if (wordStart && /^(?:case|esac)(?![\w-])/.test(text.slice(i, i + 5))) {
        if (c === 'c') top.cases++;
        else if (top.cases > 0) top.cases--;
        i += 3;
        this.#previous = 'x';
      } else if (c === "'") {
        this.#stack.push({ kind: 'single' });
      } else if (c === '"') {
        this.#stack.push({ kind: 'double' });
      } else if (c === '(') {
        top.parens++;
      } else if (c === ')') {
        if (top.parens > 0) top.parens--;
        else if (top.cases === 0 && top.closer === ')') this.#close(); // else a case pattern ends
      }
    }
  }

  /** Leaves quotes, backquotes or $(…): the word they are part of goes on. */
  #close(): void {
    this.#stack.pop();
    this.#previous = 'x';
  }

  #innerBackticks(): (Frame & { kind: 'command' }) | null {
    for (let i = this.#stack.length - 1; i >= 0; i--) {
      const f = this.#stack[i];
      if (f.kind === 'command' && f.closer === '`') return f;
    }
    return null;
  }
}
