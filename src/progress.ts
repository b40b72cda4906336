/** Progress of a map: a bar on stderr (only when it is a terminal) or a listener. */
import { nowMs } from './clock.js';
import { endBar, printBarLine, showBar, updateBar, type BarLine } from './terminal-bars.js';

export interface ProgressEvent {
  /** Inputs finished, successfully or not. */
  done: number;
  /** Of those, how many failed. */
  failed: number;
  /** Inputs in all, when known (arrays and sized collections). */
  total: number | undefined;
  elapsedMs: number;
  /** Inputs finished per second so far. */
  rate: number;
  /** Estimated milliseconds left, when `total` is known. */
  etaMs: number | undefined;
}

export type ProgressListener = (event: ProgressEvent) => void;

const REDRAW_MS = 100;
const WIDTH = 24;

function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** The rate as tqdm gives it: per second, or seconds each when that is under one a second. */
function formatRate(rate: number): string {
  if (rate >= 100) return `${Math.round(rate).toLocaleString('en-US')}/s`;
  if (rate >= 1 || rate === 0) return `${rate.toFixed(1)}/s`;
  return `${(1 / rate).toFixed(1)}s/it`;
}

/** One line that says how far a run is, with its rate and ETA. */
export function formatProgress(event: ProgressEvent, label: string): string {
  const rate = formatRate(event.rate);
  const failed = event.failed > 0 ? ` ${event.failed} failed` : '';
  if (event.total === undefined || event.total === 0) {
    return `${label} ${event.done.toLocaleString('en-US')} done${failed} ${rate} ${formatDuration(event.elapsedMs)}`;
  }
  const share = Math.min(1, event.done / event.total);
  const filled = Math.round(share * WIDTH);
  const bar = '█'.repeat(filled) + '░'.repeat(WIDTH - filled);
  const eta = event.etaMs === undefined ? '' : ` ETA ${formatDuration(event.etaMs)}`;
  return `${label} ${bar} ${(share * 100).toFixed(0).padStart(3)}% ${event.done.toLocaleString('en-US')}/${event.total.toLocaleString('en-US')}${failed} ${rate}${eta}`;
}

/**
 * Writes `data` to stdout (1) or stderr (2) so that a progress bar on the terminal does not run
 * into it: while a bar is shown, the streams' writes clear its lines first and draw it again below.
 */
export function writeAroundBars(fd: 1 | 2, data: string | Uint8Array): void {
  (fd === 1 ? process.stdout : process.stderr).write(data);
}

export class Progress {
  #listener: ProgressListener | null;
  #bar: boolean;
  #line: BarLine | null = null;
  #label: string;
  #start = nowMs();
  #lastDraw = 0;
  #done = 0;
  #failed = 0;
  #total: number | undefined;
  #finished = false;
  /** The bar's redraw due once REDRAW_MS has passed since the last. */
  #later: NodeJS.Timeout | null = null;
  /** The counts the listener was last given, or the bar last drawn (-1: none yet). */
  #toldDone = -1;
  #toldFailed = -1;
  /** What an async listener returned, until it settles. */
  #pending = new Set<Promise<void>>();
  /** What the listener threw first: the work it reports on fails with it, and the listener is not called again. */
  failure: { thrown: unknown } | null = null;
  #onFailure: ((thrown: unknown) => void) | null = null;

  private constructor(listener: ProgressListener | null, bar: boolean, label: string, total: number | undefined) {
    this.#listener = listener;
    this.#bar = bar;
    this.#label = label;
    this.#total = total;
  }

  /** A progress reporter for `option`, or null when there is nothing to report to. */
  static create(option: boolean | ProgressListener | undefined, label: string, total: number | undefined): Progress | null {
    if (typeof option === 'function') return new Progress(option, false, label, total);
    if (option === true && process.stderr.isTTY) return new Progress(null, true, label, total);
    return null;
  }

  /** Calls `stop` with what the listener throws (at once if it already threw): the work it reports on stops. */
  onListenerFailure(stop: (thrown: unknown) => void): void {
    this.#onFailure = stop;
    if (this.failure !== null) stop(this.failure.thrown);
  }

  /** Starts the clock of the rate and ETA: an imap's when its iteration begins, not when imap() was called. */
  start(): void {
    this.#start = nowMs();
  }

  add(done: number, failed: number): void {
    if (this.#finished) return;
    this.#done += done;
    this.#failed += failed;
    this.#emit(false);
  }

  /**
   * Ends the report: the listener hears the last counts (if it has not yet), the bar leaves its last
   * line. Resolves once every promise the listener returned has settled; rejects with what the
   * listener threw or rejected with from here on, which the work could not hear of through `onListenerFailure`.
   */
  finish(): Promise<void> {
    const before = this.failure;
    if (!this.#finished) {
      this.#finished = true;
      this.#emit(true);
    }
    if (this.#pending.size === 0 && this.failure === before) return Promise.resolve();
    return Promise.all(this.#pending).then(() => {
      if (this.failure !== before && this.failure !== null) throw this.failure.thrown;
    });
  }

  #listenerFailed(thrown: unknown): void {
    if (this.failure !== null) return;
    this.failure = { thrown };
    // Once finished, the work hears of it from finish().
    if (!this.#finished) this.#onFailure?.(thrown);
  }

  #event(): ProgressEvent {
    const elapsedMs = nowMs() - this.#start;
    const rate = elapsedMs > 0 ? (this.#done * 1000) / elapsedMs : 0;
    const left = this.#total === undefined ? undefined : Math.max(0, this.#total - this.#done);
    const etaMs = left === undefined || rate === 0 ? undefined : (left / rate) * 1000;
    return { done: this.#done, failed: this.#failed, total: this.#total, elapsedMs, rate, etaMs };
  }

  #emit(final: boolean): void {
    if (this.#listener !== null) {
      if (this.failure !== null) return;
      // The last add() already told the listener the final counts: no second event with the same ones.
      if (final && this.#toldDone === this.#done && this.#toldFailed === this.#failed) return;
      this.#toldDone = this.#done;
      this.#toldFailed = this.#failed;
      try {
        const returned: unknown = this.#listener(this.#event());
        // An async listener that rejects fails the work as one that throws does (never an unhandled rejection).
        if (typeof (returned as PromiseLike<unknown> | null)?.then === 'function') this.#watch(returned as PromiseLike<unknown>);
      } catch (thrown) {
        this.#listenerFailed(thrown);
      }
      return;
    }
    if (!this.#bar) return;
    const now = nowMs();
    if (!final && now - this.#lastDraw < REDRAW_MS) {
      // Drawn once the interval is over, so that counts that came in a burst show before the next input ends.
      this.#later ??= setTimeout(() => {
        this.#later = null;
        if (!this.#finished) this.#emit(false);
      }, REDRAW_MS - (now - this.#lastDraw)).unref();
      return;
    }
    if (this.#later !== null) clearTimeout(this.#later);
    this.#later = null;
    this.#lastDraw = now;
    // The bar shown already has the last counts: it stays as it is (only its rate would change).
    const text = final && this.#line !== null && this.#toldDone === this.#done && this.#toldFailed === this.#failed ? this.#line.text : formatProgress(this.#event(), this.#label);
    this.#toldDone = this.#done;
    this.#toldFailed = this.#failed;
    if (!final) {
      if (this.#line === null) this.#line = showBar(text);
      else updateBar(this.#line, text);
    } else if (this.#line === null) printBarLine(text);
    else endBar(this.#line, text);
  }

  /** Holds the work until `returned` settles (finish() waits for it); a rejection fails the work. */
  #watch(returned: PromiseLike<unknown>): void {
    const watched: Promise<void> = Promise.resolve(returned).then(
      () => { this.#pending.delete(watched); },
      (thrown: unknown) => {
        this.#pending.delete(watched);
        this.#listenerFailed(thrown);
      },
    );
    this.#pending.add(watched);
  }
}
