/**
 * Here-documents, as a POSIX shell reads them, for ShellReader: `<<WORD` (`<<-WORD` strips the
 * tabs that start each line) queues a body that begins after the end of the line holding the
 * operator and ends at a line that is WORD alone; several on one line have their bodies one
 * after the other. No value may land in a body: a newline in it could end the body early, and
 * an unquoted WORD makes the shell expand `$(…)` there whatever quotes surround it. What this
 * cannot follow for sure makes it `lost`: a WORD holding `$` or a backquote, a backslash-newline
 * in WORD, and a line ending where the shell could begin the bodies elsewhere (inside `$(…)` or
 * another frame than the operator's).
 *
 * A line that is WORD alone ends the body only as bash and dash agree it does: with WORD
 * unquoted, dash reads `$(…)`, `${…}` and backquotes in the body as it goes, so a line inside
 * one of them ends nothing (and a backslash joins lines). Such a body (a backquote, a
 * backslash, or a `$` that is not `$name`, `$1`, `$?` …) sets `unfollowed`: where the body
 * ends can no longer be told.
 */

interface Doc {
  readonly word: string;
  /** Part of WORD was quoted: the body is taken as it is (no expansion, no line joining). */
  readonly quoted: boolean;
  /** `<<-`: tabs starting a line are stripped before it is compared with WORD. */
  readonly strip: boolean;
  /** The frame the operator was read in, where the line ending that starts the bodies must be. */
  readonly owner: object;
}

interface Word {
  text: string;
  quoted: boolean;
  quote: '' | "'" | '"';
  escaped: boolean;
  strip: boolean;
  owner: object;
}

const METACHARACTER = /[ \t\n;&|<>()]/;

export class HereDocs {
  readonly #pending: Doc[] = [];
  #word: Word | null = null;
  /** The current line of a body, while in one; digits ({#}, {%}) stand as \0. */
  #line: string | null = null;
  /** The last character of an unquoted body was a `$` that begins a parameter. */
  #dollar = false;
  lost = false;
  unfollowed = false;

  /** Inside a body: every character belongs to it. */
  get inBody(): boolean {
    return this.#line !== null;
  }

  /** Reading the WORD after `<<`. */
  get inWord(): boolean {
    return this.#word !== null;
  }

  /** Bodies wait for the end of the line. */
  get waiting(): boolean {
    return this.#pending.length > 0 && this.#line === null;
  }

  /** `<<` (or `<<-`: `strip`) was read in frame `owner`: its WORD comes next. */
  begin(strip: boolean, owner: object): void {
    this.#word = { text: '', quoted: false, quote: '', escaped: false, strip, owner };
  }

  /** A character of the WORD (true), or the metacharacter that ends it (false: the caller reads it). */
  wordChar(c: string): boolean {
    const word = this.#word as Word;
    if (word.escaped) {
      word.escaped = false;
      if (c === '\n') this.lost = true; // a backslash-newline: the shell joins the lines into WORD
      word.text += c;
    } else if (word.quote !== '') {
      if (c === word.quote) word.quote = '';
      else if (c === '\n' || (word.quote === '"' && /[\\$`]/.test(c))) this.lost = true;
      else word.text += c;
    } else if (METACHARACTER.test(c)) {
      if (word.text === '' && !word.quoted) {
        if (c === ' ' || c === '\t') return true; // blanks before WORD
        this.lost = true; // no WORD at all: a syntax error
      }
      this.#pending.push({ word: word.text, quoted: word.quoted, strip: word.strip, owner: word.owner });
      this.#word = null;
      return false;
    } else if (c === '\\' || c === "'" || c === '"') {
      word.quoted = true;
      if (c === '\\') word.escaped = true;
      else word.quote = c;
    } else if (c === '$' || c === '`') {
      this.lost = true;
    } else {
      word.text += c;
    }
    return true;
  }

  /**
   * A line ends in frame `frame` while bodies wait: they begin on the next line if it is the
   * operator's frame. A newline inside quotes in that frame is part of a word; anywhere else
   * shells differ on where the bodies begin.
   */
  lineEnd(frame: object, inQuotesOf: object | undefined): void {
    const owner = this.#pending[0].owner;
    if (frame === owner) this.#line = '';
    else if (inQuotesOf !== owner) this.lost = true;
  }

  /** A character of a body (digits of {#} or {%} come as \0). */
  bodyChar(c: string): void {
    const doc = this.#pending[0];
    if (!doc.quoted) {
      if ((this.#dollar && !/[\w@*#?$!\-\0]/.test(c)) || c === '`' || c === '\\') this.unfollowed = true;
      this.#dollar = c === '$' && !this.#dollar;
    }
    if (c !== '\n') {
      this.#line += c;
      return;
    }
    const raw = this.#line as string;
    const line = doc.strip ? raw.replace(/^\t+/, '') : raw;
    let ends = line === doc.word;
    if (line.includes('\0')) {
      // Digits of {#} or {%}: a line that could read as WORD for some number cannot be placed for sure.
      const pattern = new RegExp(`^${line.split('\0').map((part) => part.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&')).join('\\d+')}$`);
      if (pattern.test(doc.word)) this.lost = true;
      ends = false;
    }
    this.#line = '';
    if (ends) {
      this.#pending.shift();
      if (this.#pending.length === 0) this.#line = null;
    }
  }

  /** A number ({#}, {%}) in a body or a WORD. */
  number(): void {
    if (this.#line !== null) this.#line += '\0';
    else if (this.#word !== null) this.lost = true;
  }
}
