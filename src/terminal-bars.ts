/**
 * Progress bars on the terminal (stderr), each on a line of its own below everything else the
 * program writes. While one is shown, process.stderr.write (and process.stdout.write when stdout
 * is the same terminal) clears the bars' lines before each write and draws them again after it,
 * as tqdm's write() does, so nothing written runs into a bar; both are put back when the last
 * bar ends. A line left unfinished (a write without a newline) hides the bars until it ends.
 */
import { fstatSync } from 'node:fs';

type Write = NodeJS.WriteStream['write'];

/** One bar's line; `text` is what it shows. */
export interface BarLine {
  text: string;
}

const lines: BarLine[] = [];
/** Lines of bars on the screen now, the cursor at the end of the last (0: none shown). */
let drawn = 0;
/** Whether the last write outside the bars ended its line: the bars may only be drawn then. */
let atLineStart = true;
/** Set while the bars themselves are written: the wrapped write passes them through. */
let drawing = false;
let pending: NodeJS.Immediate | null = null;
const hooks: Array<{ stream: NodeJS.WriteStream; original: Write; wrapper: Write }> = [];

/** Writes the bars' own bytes to stderr, through whatever write function it has now. */
function raw(data: string): void {
  drawing = true;
  try {
    process.stderr.write(data);
  } finally {
    drawing = false;
  }
}

/** Clears the bars' lines, leaving the cursor at the start of the first. */
function eraseCode(): string {
  return drawn === 0 ? '' : `\r\x1b[2K${'\x1b[1A\x1b[2K'.repeat(drawn - 1)}`;
}

/** The text cut to the terminal's width, so that a bar never wraps onto a second line. */
function fit(text: string): string {
  const columns = process.stderr.columns;
  if (!(columns > 1) || text.length < columns) return text;
  return Array.from(text).slice(0, columns - 1).join('');
}

/** Draws every bar again, now. */
function render(): void {
  if (pending !== null) {
    clearImmediate(pending);
    pending = null;
  }
  if (!atLineStart) return;
  if (lines.length === 0 && drawn === 0) return;
  raw(eraseCode() + lines.map((line) => fit(line.text)).join('\n'));
  drawn = lines.length;
}

/** Draws the bars again once the writes of this turn are done (a burst of lines redraws them once). */
function renderSoon(): void {
  pending ??= setImmediate(render);
}

/** Whether `chunk`, written with `encoding`, ends a line (undefined when it is empty). */
function endsLine(chunk: unknown, encoding: unknown): boolean | undefined {
  if (typeof chunk === 'string') {
    if (chunk.length === 0) return undefined;
    if (typeof encoding === 'string' && !/^(utf-?8|ascii|latin1|binary|ucs-?2|utf-?16le)$/i.test(encoding)) {
      const bytes = Buffer.from(chunk, encoding as BufferEncoding);
      return bytes.length === 0 ? undefined : bytes[bytes.length - 1] === 0x0a;
    }
    return chunk.endsWith('\n');
  }
  if (chunk instanceof Uint8Array) return chunk.length === 0 ? undefined : chunk[chunk.length - 1] === 0x0a;
  return undefined;
}

/**
 * Ends the bars' line when the program exits or dies while they are shown (Node prints a fatal
 * error without the streams' write functions, after the monitor hears of it): what follows, the
 * error or the shell's prompt, starts a line of its own.
 */
function endLineNow(): void {
  if (drawn === 0 && atLineStart) return;
  raw('\n');
  drawn = 0;
  atLineStart = true;
}

function hook(stream: NodeJS.WriteStream): void {
  const original = stream.write;
  const wrapper = function write(this: unknown, chunk: unknown, ...rest: unknown[]): boolean {
    if (drawing || (lines.length === 0 && drawn === 0)) return Reflect.apply(original, this, [chunk, ...rest]) as boolean;
    if (drawn > 0) {
      raw(eraseCode());
      drawn = 0;
    }
    const written = Reflect.apply(original, this, [chunk, ...rest]) as boolean;
    atLineStart = endsLine(chunk, rest[0]) ?? atLineStart;
    renderSoon();
    return written;
  } as Write;
  stream.write = wrapper;
  hooks.push({ stream, original, wrapper });
}

/** Whether stdout is the terminal the bars are drawn on. */
function stdoutIsTheTerminal(): boolean {
  if (process.stdout.isTTY !== true) return false;
  try {
    return fstatSync(1).rdev === fstatSync(2).rdev;
  } catch {
    return true;
  }
}

/** Puts the streams' own write functions back (one another wrapper replaced since stays, passing writes through). */
function unhook(): void {
  process.off('exit', endLineNow).off('uncaughtExceptionMonitor', endLineNow);
  for (const { stream, original, wrapper } of hooks.splice(0)) {
    if (stream.write === wrapper) stream.write = original;
  }
}

/** Shows a new bar below the others (the first one wraps the streams' writes). */
export function showBar(text: string): BarLine {
  if (hooks.length === 0) {
    atLineStart = true;
    process.on('exit', endLineNow).on('uncaughtExceptionMonitor', endLineNow);
    hook(process.stderr);
    if (stdoutIsTheTerminal()) hook(process.stdout);
  }
  const line = { text };
  lines.push(line);
  render();
  return line;
}

/** Draws `line` with new text. */
export function updateBar(line: BarLine, text: string): void {
  line.text = text;
  render();
}

/**
 * Ends `line`: its last text stays on the screen as an ordinary line, above the bars still shown
 * (the line before it ended first, if it was left unfinished); the last bar to end puts the writes back.
 */
export function endBar(line: BarLine, text: string): void {
  const at = lines.indexOf(line);
  if (at < 0) return;
  const unchanged = fit(text) === fit(line.text) && drawn === lines.length && at === lines.length - 1 && lines.length === 1;
  lines.splice(at, 1);
  // The bar on the screen already says it: only its line ends.
  if (unchanged) raw('\n');
  else raw(`${eraseCode()}${atLineStart ? '' : '\n'}${fit(text)}\n`);
  drawn = 0;
  atLineStart = true;
  if (lines.length === 0) {
    if (pending !== null) clearImmediate(pending);
    pending = null;
    unhook();
  } else render();
}

/** Writes a bar that was never shown, then ended: one line. */
export function printBarLine(text: string): void {
  endBar(showBar(text), text);
}
