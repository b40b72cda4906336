/**
 * The words of one command frame, for ShellReader: which word is a command's first (where
 * `case` and `esac` are keywords, not arguments), and the `case` commands open in it, whose
 * patterns end with a `)` that closes nothing. Inside `$(…)` a `)` closes the substitution
 * unless it ends a pattern, so reading `echo case` or `echo esac` as a keyword there would put
 * the end of the substitution, and the quotes after it, elsewhere than the shell does.
 *
 * Where a keyword's place is not sure (after a word that may be a keyword itself, such as
 * `do` in `for x do`, after `)` or `}`, or a `case` written in a way this does not follow),
 * `problem` says why; ShellReader trusts no place after it inside `$(…)`.
 */

/** The next word: a command's first (keywords count), an argument (they do not), or either. */
type Position = 'command' | 'argument' | 'unknown';

/** Where a `case` is: before its subject, before `in`, before a pattern, after one, after `|`, in a body. */
type CaseState = 'subject' | 'in' | 'pattern' | 'patternEnd' | 'patternAlt' | 'body';

interface Case {
  /** The frame's parenthesis depth where `case` stood: a `)` deeper is a subshell's. */
  readonly depth: number;
  state: CaseState;
  /** The pattern began with its optional `(`. */
  opened: boolean;
}

/** Reserved words after which a command's first word comes: `then case …` opens a case. */
const LEADING = new Set(['if', 'then', 'else', 'elif', 'do', 'while', 'until', '!', '{']);
/** Words that may be reserved where they stand (`do` in `for x do`) or that bash and dash read apart (`time`). */
const RESERVED = new Set(['case', 'esac', 'in', 'do', 'done', 'then', 'else', 'elif', 'fi', 'if', 'while', 'until', 'for', 'select',
  '{', '}', '!', 'time', 'coproc', 'function', '[[', ']]']);

export class Words {
  /** The words of bash's a=( … ), each of which may be `[i]=value`. */
  readonly #compound: boolean;

  constructor(compound = false) {
    this.#compound = compound;
  }

  #position: Position = 'command';
  readonly #cases: Case[] = [];
  /** The word being read: its text while it is plain characters only, null once it holds quotes or expansions. */
  #word: string | null = null;
  #inWord = false;
  /** Where a word now may assign (`a=1`, `a[i]=1`): where a command begins, after assignments, in `a=( … )`. */
  #assignable = true;
  /** After time, coproc or function: no word of this command is sure to be an argument. */
  #sticky = false;
  /** The word being read is a redirection's target, after which assignments may still come. */
  #target = false;
  /** How the word read so far begins: a name (or nothing), `name[…` (a subscript, if it may assign), `name[…]`, `name=`, or otherwise. */
  #head: 'name' | 'subscript' | 'closed' | 'plus' | 'assign' | 'other' = 'other';
  /** Why the places of keywords can no longer be told: '' while they can. */
  problem = '';
  /** A word `alias` or `shopt`: an alias, or bash's extglob, changes how the lines after it read. */
  aliased = false;

  /**
   * The next word stands where a whole word may be added or left out without changing what the
   * words around it are: an argument, where no assignment (`a[…]=`) may follow.
   */
  get neutral(): boolean {
    const top = this.#cases[this.#cases.length - 1];
    return !this.#inWord && this.#position === 'argument' && !this.#assignable && (top === undefined || top.state === 'body');
  }

  /** A word is being read. */
  get inWord(): boolean {
    return this.#inWord;
  }

  /** The word read so far assigns to an array element and its `]` has not come: bash reads the subscript as arithmetic. */
  get inSubscript(): boolean {
    return this.#inWord && this.#head === 'subscript';
  }

  /** A character of a word: `c` if plain (a letter, a digit, …), null for a quote, `$`, a backslash or a value. */
  part(c: string | null): void {
    if (!this.#inWord) {
      this.#inWord = true;
      this.#word = '';
      this.#head = this.#assignable ? 'name' : 'other';
    }
    const head = this.#head;
    if (head === 'name' && c !== null && /^\w$/.test(c)) this.#head = 'name';
    else if (head === 'name' && c === '[') this.#head = 'subscript';
    else if (head === 'subscript') this.#head = c === ']' ? 'closed' : 'subscript';
    else if ((head === 'name' || head === 'closed') && c === '+') this.#head = 'plus';
    else if ((head === 'name' || head === 'closed' || head === 'plus') && c === '=' && this.#word !== '') this.#head = 'assign';
    else if (head !== 'assign') this.#head = 'other';
    this.#word = c === null || this.#word === null || this.#word.length > 8 ? null : this.#word + c;
  }

  /** The word being read ends (at a blank or an operator), at parenthesis depth `depth`. */
  end(depth: number): void {
    if (!this.#inWord) return;
    this.#inWord = false;
    const assigned = this.#assignable && (this.#head === 'assign' || this.#target);
    this.#target = false;
    const word = this.#word;
    if (word === 'alias' || word === 'shopt') this.aliased = true;
    const top = this.#cases[this.#cases.length - 1];
    switch (top?.state) {
      case 'subject': top.state = 'in'; return;
      case 'in': if (word === 'in') top.state = 'pattern'; else this.#fail('a case whose subject is not followed by in'); return;
      case 'pattern':
        if (word === 'esac' && !top.opened) this.#esac(depth);
        else top.state = 'patternEnd';
        return;
      case 'patternAlt': if (word === 'esac') this.#fail('a case pattern named esac'); else top.state = 'patternEnd'; return;
      case 'patternEnd': this.#fail('a case pattern of two words'); return;
      default: break;
    }
    if (this.#sticky || word === 'time' || word === 'coproc' || word === 'function') {
      // bash's time -p, coproc NAME and function NAME take a command after words of their own; dash has none of them.
      if (word === 'case' || word === 'esac') this.#fail(`${word} after time, coproc or function`);
      this.#sticky = true;
      this.#move('unknown');
    } else if (this.#position === 'command') {
      if (word === 'case') {
        this.#cases.push({ depth, state: 'subject', opened: false });
        this.#assignable = false;
      }
      else if (word === 'esac') this.#esac(depth);
      else if (word !== null && LEADING.has(word)) return;
      else this.#move(word !== null && RESERVED.has(word) && word !== '[[' ? 'unknown' : 'argument', assigned);
    } else if (this.#position === 'unknown' && (word === 'case' || word === 'esac')) {
      this.#fail(`${word} where it may or may not be a keyword`);
    } else if (word !== null && RESERVED.has(word) && word !== 'case' && word !== 'esac') {
      this.#move('unknown'); // `for x do case …`: do is a keyword there
    } else {
      this.#move('argument', assigned);
    }
  }

  /**
   * An operator character at parenthesis depth `depth` (`next`: the character after it). Returns
   * what a parenthesis is: 'pattern' (a case pattern's, which neither opens nor closes anything),
   * or 'paren' (a subshell's, or the `)` that may close the frame).
   */
  operator(c: string, next: string, depth: number): 'pattern' | 'paren' {
    // The digits of 2>f (bash's {fd}>f too) are no word; the word after a redirection may not assign, nor keep others from it.
    if ((c === '<' || c === '>') && this.#inWord && /^(?:\d+|\{\w+\})$/.test(this.#word ?? '')) this.#inWord = false;
    this.end(depth);
    const top = this.#cases[this.#cases.length - 1];
    const state = top?.state ?? 'body';
    if (c === ' ' || c === '\t') return 'paren';
    if (state !== 'body' && top !== undefined) {
      if (c === '\n' && (state === 'in' || state === 'pattern')) return 'paren';
      if (c === '(' && state === 'pattern' && !top.opened) top.opened = true;
      else if (c === '|' && state === 'patternEnd') top.state = 'patternAlt';
      else if (c === ')' && state === 'patternEnd') {
        top.state = 'body';
        top.opened = false;
        this.#move('command');
      } else this.#fail(`a case whose ${state === 'subject' || state === 'in' ? 'first line' : 'pattern'} holds ${JSON.stringify(c)}`);
      return 'pattern';
    }
    if (c === ';' && next === ';') {
      if (top !== undefined && top.depth === depth) top.state = 'pattern';
      else this.#fail(';; outside a case');
      return 'paren';
    }
    if (c === ';' && next === '&') this.#fail("bash's ;& or ;;&, which dash reads otherwise");
    if (c === ')' && top !== undefined && top.depth === depth) this.#fail('a ) in a case body');
    if (c === '<' || c === '>') {
      this.#position = 'argument'; // after a redirection no keyword is one (assignments may follow)
      this.#target = this.#assignable;
    }
    else if (c === ')') this.#move('unknown');
    else this.#move('command');
    return 'paren';
  }

  /** The next word stands at `position`; it may assign where a command begins, or after an assignment. */
  #move(position: Position, assigned = false): void {
    if (position === 'command') this.#sticky = false;
    this.#position = position;
    this.#assignable = position === 'command' || assigned || this.#compound;
  }

  #esac(depth: number): void {
    const top = this.#cases[this.#cases.length - 1];
    if (top === undefined || top.depth !== depth || (top.state !== 'body' && top.state !== 'pattern')) this.#fail('an esac that closes no case');
    else this.#cases.pop();
    this.#move('unknown');
  }

  #fail(why: string): void {
    if (this.problem === '') this.problem = why;
  }
}
