/**
 * Reads a command template as the shell will, to tell where each value lands. The template
 * comes whole, each value as VALUE and each number ({#}, {%}) as NUMBER (characters no byte
 * string holds), so that what stands on both sides of a value is seen as the shell sees it.
 * It follows quotes, backslashes, comments, `$(…)`, backquotes, bash's `<(…)` and `a=( … )`, `${name}`,
 * `$((…))` holding plain arithmetic, `case` patterns (see Words) and here-documents at the top
 * level (see HereDocs), as both dash and bash read them.
 *
 * What it cannot follow either makes the whole template `lost` (a `${…}` holding quotes or
 * parentheses, a `#` it cannot place, backquotes inside backquotes, a backslash-newline
 * joining `$(` or `<<`, a quote left open), or leaves no place after it sure (`unfollowed`):
 * bash's `((…))` and `$[…]`, a `$((…))` holding quotes or expansions, a `$'…'` that dash ends
 * elsewhere than bash, a here-document inside `$(…)` or whose body dash may read past its end,
 * a `case` inside `$(…)` it cannot place, an alias or shopt command.
 */
import { HereDocs } from './heredoc.js';
import { COMMENT_PLACE, PLAIN_PLACE, type Place } from './quote.js';
import { Words } from './words.js';

export const VALUE = '\u0100';
export const NUMBER = '\u0101';

/** `compound`: bash's array assignment a=( … ), which holds words only. */
type Command = { kind: 'command'; closer: '' | ')' | '`'; parens: number; inDouble: boolean; words: Words; compound: boolean };
/** `inDouble`: backquotes opened inside "…", where \" also stands for ". `ansi`: $'…', `escaped` after its backslash. */
type Frame = Command | { kind: 'single' } | { kind: 'double' } | { kind: 'ansi'; escaped: boolean };

/** Where a value lands: `place`, or null and `why` not (why no quoting holds there). `neutral`: see Words. */
export interface Landing { readonly place: Place | null; readonly why: string; readonly neutral: boolean }

export interface Reading {
  readonly values: readonly Landing[];
  /** Why no value in the template can be placed for sure; '' when they can. */
  readonly lost: string;
  /** Where values appended at the end would land. */
  readonly end: Landing;
}

const ADVICE = "pass the value as an argument instead: sh -c '… \"$1\" …' sh {}";
const WHY = {
  escaped: 'stands right after an unpaired backslash, which would apply to its first byte; write two backslashes for a backslash before the value',
  dollar: "stands right after a $, where its quotes would make $'…' or $name of it; escape the $ or put it elsewhere",
  heredoc: `is in a here-document (its body or its <<WORD), where a newline in it could end the body and an unquoted WORD makes the shell expand $(…) in it whatever its quotes; ${ADVICE}`,
  arithmetic: "is in arithmetic ($((…))), where the shell expands $(…) inside quotes too; pass the value as an argument instead: sh -c 'echo $(( $1 + 1 ))' sh {}",
  subscript: `is in an array subscript (a[…]), which bash reads as arithmetic, where quotes keep no $(…) from running; ${ADVICE}`,
  ansi: `is in bash's $'…', where \\' does not end the quotes (and dash has no such quotes); ${ADVICE}`,
  doubleParen: `comes after a ((, which dash reads as two subshells and bash as arithmetic (where quotes keep no $(…) from running), so where values after it land cannot be told; write ( ( for two subshells, and pass values to arithmetic as arguments: bash -c '(( $1 > 2 ))' bash {}`,
  bracket: `comes after $[, bash's arithmetic (where quotes keep no $(…) from running) and dash's text, so where values after it land cannot be told; ${ADVICE}`,
  arithmeticText: `comes after a $((…)) holding quotes, a backslash, a #, $(…), \${…} or backquotes, which shells read inside arithmetic in ways forkjoin does not follow; ${ADVICE}`,
  ansiQuote: `comes after a $'…' holding \\', which bash reads as a quote inside it and dash as its end; ${ADVICE}`,
  heredocFrame: `comes after a here-document inside $(…), backquotes or <(…), whose body bash and dash end in different places; put the here-document at the top level of the command, or ${ADVICE}`,
  heredocBody: `comes after a here-document whose body holds a backquote, a backslash or a $ that is no $name while its WORD is unquoted: dash reads $(…) and backquotes there as it goes, past a line that would end the body; quote the WORD (<<'EOF') if the body needs no expansion, or ${ADVICE}`,
  compound: `comes after a ; & | < > or ( inside bash's array assignment a=( … ), where bash reports an error and goes on reading at the next line, which may be inside a value; ${ADVICE}`,
  alias: `comes after an alias or shopt command: an alias, or bash's extglob, changes how the lines after it read; ${ADVICE}`,
  keyword: (why: string) => `comes after ${why} inside $(…) or <(…), where a ) may close it or end a case pattern, so where values after it land cannot be told; ${ADVICE}`,
};

/** Plain arithmetic: names, numbers, operators, parentheses, blanks (and $name). */
const ARITHMETIC = /^[\w \t\n+\-*/%<>=!&|^~?:,.[\]\u0101]$/;

export class ShellReader {
  readonly #stack: Frame[] = [newCommand('', false)];
  #escaped = false;
  #comment = false;
  readonly #docs = new HereDocs();
  #lost = '';
  #unfollowed = '';
  /** The last character read, to tell a word's start (where `#` begins a comment). */
  #previous = '\n';
  readonly #values: Landing[] = [];

  static read(text: string): Reading {
    const reader = new ShellReader();
    reader.#read(text);
    const stack = reader.#stack;
    const lost = reader.#lost || (reader.#docs.lost ? 'a here-document it cannot follow (whose WORD holds $ or a backquote or is joined by a backslash-newline, whose body would begin inside $(…), or has a line that reads as WORD for some {#})' : '')
      || (stack.length > 1 && reader.#unfollowed === '' ? 'a quote, $(…) or backquote left open' : '');
    return { values: reader.#values, lost, end: reader.#place() };
  }

  #top(): Frame {
    return this.#stack[this.#stack.length - 1];
  }

  #place(): Landing {
    const refuse = (why: string): Landing => ({ place: null, why, neutral: false });
    const top = this.#top();
    if (this.#unfollowed !== '') return refuse(this.#unfollowed);
    if (this.#escaped) return refuse(WHY.escaped);
    if (this.#docs.inBody || this.#docs.inWord) return refuse(WHY.heredoc);
    if (top.kind === 'ansi') return refuse(WHY.ansi);
    if (this.#comment) return { place: COMMENT_PLACE, why: '', neutral: true };
    if (this.#previous === '$' && top.kind !== 'single') return refuse(WHY.dollar);
    if (top.kind === 'command' && top.words.inSubscript) return refuse(WHY.subscript);
    const ticks = this.#innerBackticks();
    if (top.kind === 'command' && ticks === null) return { place: PLAIN_PLACE, why: '', neutral: top.words.neutral };
    const place: Place = { quotes: top.kind === 'command' ? 'none' : top.kind, inBackticks: ticks !== null, ticksInDouble: ticks?.inDouble ?? false };
    return { place, why: '', neutral: top.kind !== 'command' || top.words.neutral };
  }

  #read(text: string): void {
    for (let i = 0; i < text.length; i++) {
      let c = text[i];
      if (this.#unfollowed !== '') {
        if (c === VALUE) this.#values.push(this.#place());
        continue;
      }
      if (c === VALUE) {
        this.#values.push(this.#place());
        const top = this.#top();
        if (top.kind === 'command' && !this.#comment && !this.#escaped) top.words.part(null);
        this.#escaped = false;
        this.#previous = 'x'; // a value is a word, or part of one
        continue;
      }
      if (c === NUMBER) {
        if (this.#docs.inWord) {
          this.#docs.number();
          continue;
        }
        c = this.#docs.inBody ? '\0' : '0';
      }
      if (this.#docs.inBody) {
        this.#docs.bodyChar(c);
        if (this.#docs.unfollowed) this.#unfollowed = WHY.heredocBody;
        this.#previous = c;
        continue;
      }
      if (this.#docs.inWord && this.#docs.wordChar(c)) {
        this.#previous = 'x';
        continue;
      }
      const top = this.#top();
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
          if (top.kind === 'command') this.#operator(top, c, '');
          continue;
        }
      }
      if (this.#comment) {
        if (c === '\n') {
          this.#comment = false;
          this.#operator(top as Command, c, '');
        }
        continue;
      }
      // A backslash before a newline, outside single quotes, is no character at all: the shell joins
      // the lines before it reads them. Where it would join what this reader reads apart, it is lost.
      if (c === '\\' && text[i + 1] === '\n' && top.kind !== 'single' && top.kind !== 'ansi') {
        const next = text[i + 2] ?? '';
        if ((previous === '$' && /[({'[]/.test(next)) || (previous === '(' && next === '(') || (previous === '<' && next === '<')
          || (previous === ';' && /[;&]/.test(next))) {
          this.#lost = 'a backslash-newline inside a word or an operator';
        }
        this.#previous = previous;
        i++;
        continue;
      }
      // The text of backquotes is read once with \\ \$ \` (and \" inside "…") standing for the bare
      // character, then parsed: read such a pair as that character.
      const ticks = this.#innerBackticks();
      if (c === '\\' && ticks !== null && (/[\\$`]/.test(text[i + 1] ?? '') || (ticks.inDouble && text[i + 1] === '"'))) {
        c = text[++i];
        if (c === '`') this.#lost = 'backquotes inside backquotes';
      }
      if (top.kind === 'single') {
        if (c === "'") this.#close();
        continue;
      }
      if (top.kind === 'ansi') {
        if (top.escaped) {
          top.escaped = false;
          if (c === "'") this.#unfollowed = WHY.ansiQuote;
        } else if (c === '\\') top.escaped = true;
        else if (c === "'") this.#close();
        continue;
      }
      i = this.#word(top, c, previous, text, i);
    }
  }

  /** Reads `c` (at `i` in `text`) in a command frame or "…"; returns the index of the last character it took. */
  #word(top: Command | { kind: 'double' }, c: string, previous: string, text: string, i: number): number {
    const words = top.kind === 'command' ? top.words : null;
    const next = text[i + 1] ?? '';
    if (c === '$' && previous === '$') {
      this.#previous = 'x'; // $$ is whole: what follows is not joined to a `$`
      words?.part(null);
      return i;
    }
    if (c === '$' && /[('{[]/.test(next)) {
      words?.part(null);
      if (next === '(' && text[i + 2] === '(') return this.#arithmetic(text, i);
      if (next === '[') {
        this.#unfollowed = WHY.bracket;
      } else if (next === "'") {
        if (top.kind === 'double') return i; // "$'" is a $ and a quote in "…"
        this.#stack.push({ kind: 'ansi', escaped: false });
      } else if (next === '(') {
        this.#stack.push(newCommand(')', false));
        this.#previous = '(';
      } else {
        // ${name} and ${name:-word} are followed; one holding quotes, parentheses or expansions is not.
        const close = text.indexOf('}', i + 2);
        if (close < 0 || /['"`()$\\{\u0100\u0101]/.test(text.slice(i + 2, close))) this.#lost = 'a ${…} holding quotes, parentheses, expansions or values';
        else {
          this.#previous = '}'; // a value right after ${name} is joined to its value, not to a `$`
          return close;
        }
      }
      return i + 1;
    }
    if (c === '`') {
      words?.part(null);
      if (top.kind === 'command' && top.closer === '`') this.#close();
      else this.#stack.push(newCommand('`', top.kind === 'double'));
      return i;
    }
    if (top.kind === 'double') {
      if (c === '"') this.#close();
      else if (c === '\\') this.#escaped = true;
      return i;
    }
    const wordStart = /[ \t\n;&|<>(]/.test(previous);
    if (top.compound && /[;&|<>(]/.test(c)) {
      // In a=( … ) bash reads words only; on any other it reports an error and goes on at the next line, maybe inside a value.
      this.#unfollowed = WHY.compound;
      return i;
    }
    if (c === '#') {
      // A comment runs to the end of its line; one this reader cannot place for sure makes it lost.
      if (previous === '$') this.#previous = 'x'; // $#, the number of arguments
      else if (wordStart && this.#stack.length === 1) {
        this.#comment = true;
        return i;
      } else if (wordStart || !/[\w\-./:=@%+,]/.test(previous)) this.#lost = 'a # that may or may not start a comment';
      top.words.part('#');
    } else if (c === '\\') {
      this.#escaped = true;
      top.words.part(null);
    } else if (c === "'" || c === '"') {
      top.words.part(null);
      this.#stack.push({ kind: c === "'" ? 'single' : 'double' });
    } else if (c === '<' && next === '<') {
      this.#operator(top, c, next);
      if (text[i + 2] === '<') return i + 2; // bash's here-string <<< WORD: a word, as after <
      const strip = text[i + 2] === '-';
      if (this.#stack.length > 1) this.#unfollowed = WHY.heredocFrame;
      else this.#docs.begin(strip, top);
      return i + (strip ? 2 : 1);
    } else if (c === '(' && next === '(') {
      this.#unfollowed = WHY.doubleParen;
    } else if (c === '(' && previous === '=' && top.words.inWord) {
      top.words.part(null); // bash's array assignment a=( … ) (or declare a=( … )): words in parentheses
      this.#stack.push(newCommand(')', false, true));
    } else if (c === '(' && (previous === '<' || previous === '>')) {
      top.words.part(null); // bash's process substitution <(…): a word, holding commands as $(…) does
      this.#stack.push(newCommand(')', false));
    } else if ((c === '&' || c === '|') && (previous === '<' || previous === '>')) {
      // >& <& >| are one redirection operator
    } else if (/[ \t\n;&|<>()]/.test(c)) {
      const role = this.#operator(top, c, c === ';' && next === ';' ? (text[i + 2] === '&' ? '&' : ';') : next);
      if (c === ';' && next === ';') return i + 1;
      if (role === 'pattern') return i;
      if (c === '(') top.parens++;
      else if (c === ')' && top.parens > 0) top.parens--;
      else if (c === ')' && top.closer === ')') this.#close();
    } else {
      top.words.part(c);
    }
    return i;
  }

  /** An operator or blank in a command frame, for its Words; a keyword it cannot place inside $(…) leaves places unsure. */
  #operator(top: Command, c: string, next: string): 'pattern' | 'paren' {
    const role = top.words.operator(c, next, top.parens);
    if (top.words.aliased) this.#unfollowed = WHY.alias;
    else if (top.words.problem !== '' && top.closer === ')') this.#unfollowed = WHY.keyword(top.words.problem);
    return role;
  }

  /** `$((` at `i`: plain arithmetic up to its `))` is skipped (returns the index of its last `)`); anything else leaves places unsure. */
  #arithmetic(text: string, i: number): number {
    let depth = 0;
    for (let j = i + 3; j < text.length; j++) {
      const c = text[j];
      if (c === VALUE) {
        this.#unfollowed = WHY.arithmetic;
        return j - 1;
      }
      if (c === '(') depth++;
      else if (c === ')' && depth > 0) depth--;
      else if (c === ')' && text[j + 1] === ')') {
        this.#previous = 'x';
        return j + 1;
      } else if (c === '$' && /^[\w@*#?$!\-\u0101]$/.test(text[j + 1] ?? '')) j++;
      else if (c === ')' || !ARITHMETIC.test(c)) break; // `) )` makes bash read $( (…) …) instead
    }
    this.#unfollowed = WHY.arithmeticText;
    return i + 2;
  }

  /** Leaves quotes, backquotes or $(…): the word they are part of goes on. */
  #close(): void {
    this.#stack.pop();
    this.#previous = 'x';
  }

  #innerBackticks(): Command | null {
    for (let i = this.#stack.length - 1; i >= 0; i--) {
      const f = this.#stack[i];
      if (f.kind === 'command' && f.closer === '`') return f;
    }
    return null;
  }
}

function newCommand(closer: Command['closer'], inDouble: boolean, compound = false): Command {
  return { kind: 'command', closer, parens: 0, inDouble, words: new Words(compound), compound };
}
