/** Progress of a map: a bar on stderr (only when it is a terminal) or a listener. */
import { nowMs } from './clock.js';

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

/** One line that says how far a run is, with its rate and ETA. */
export function formatProgress(event: ProgressEvent, label: string): string {
  const rate = event.rate >= 100 ? Math.round(event.rate).toLocaleString('en-US') : event.rate.toFixed(1);
  const failed = event.failed > 0 ? ` ${event.failed} failed` : '';
  if (event.total === undefined || event.total === 0) {
    return `${label} ${event.done.toLocaleString('en-US')} done${failed} ${rate}/s ${formatDuration(event.elapsedMs)}`;
  }
  const share = Math.min(1, event.done / event.total);
  const filled = Math.round(share * WIDTH);
  const bar = '█'.repeat(filled) + '░'.repeat(WIDTH - filled);
  const eta = event.etaMs === undefined ? '' : ` ETA ${formatDuration(event.etaMs)}`;
  return `${label} ${bar} ${(share * 100).toFixed(0).padStart(3)}% ${event.done.toLocaleString('en-US')}/${event.total.toLocaleString('en-US')}${failed} ${rate}/s${eta}`;
}

/** The bars drawn now: a worker's output clears their line before it is written, and they are drawn again after. */
const shown = new Set<Progress>();

/**
 * Writes `data` to stdout (1) or stderr (2) so that a progress bar on the terminal does not run
 * into it: the bar's line is cleared first and the bar drawn again below what was written.
 */
export function writeAroundBars(fd: 1 | 2, data: string | Uint8Array): void {
  const stream = fd === 1 ? process.stdout : process.stderr;
  if (shown.size === 0) {
    stream.write(data);
    return;
  }
  process.stderr.write('\r\x1b[2K');
  stream.write(data);
  for (const bar of shown) bar.redraw();
}

export class Progress {
  #listener: ProgressListener | null;
  #bar: NodeJS.WriteStream | null;
  #label: string;
  #start = nowMs();
  #lastDraw = 0;
  #done = 0;
  #failed = 0;
  #total: number | undefined;
  /** The counts the listener was last given (-1: none yet). */
  #toldDone = -1;
  #toldFailed = -1;
  /** What the listener threw first: the work it reports on fails with it, and the listener is not called again. */
  failure: { thrown: unknown } | null = null;
  #onFailure: ((thrown: unknown) => void) | null = null;

  private constructor(listener: ProgressListener | null, bar: NodeJS.WriteStream | null, label: string, total: number | undefined) {
    this.#listener = listener;
    this.#bar = bar;
    this.#label = label;
    this.#total = total;
  }

  /** A progress reporter for `option`, or null when there is nothing to report to. */
  static create(option: boolean | ProgressListener | undefined, label: string, total: number | undefined): Progress | null {
    if (typeof option === 'function') return new Progress(option, null, label, total);
    if (option === true && process.stderr.isTTY) return new Progress(null, process.stderr, label, total);
    return null;
  }

  /** Calls `stop` with what the listener throws (at once if it already threw): the work it reports on stops. */
  onListenerFailure(stop: (thrown: unknown) => void): void {
    this.#onFailure = stop;
    if (this.failure !== null) stop(this.failure.thrown);
  }

  add(done: number, failed: number): void {
    this.#done += done;
    this.#failed += failed;
    this.#emit(false);
  }

  finish(): void {
    this.#emit(true);
    shown.delete(this);
    if (this.#bar !== null) this.#bar.write('\n');
  }

  /** Draws the bar again (its line was cleared for other output). */
  redraw(): void {
    if (this.#bar !== null) this.#bar.write(`\r\x1b[2K${formatProgress(this.#event(), this.#label)}`);
  }

  #listenerFailed(thrown: unknown): void {
    if (this.failure !== null) return;
    this.failure = { thrown };
    this.#onFailure?.(thrown);
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
        if (typeof (returned as PromiseLike<unknown> | null)?.then === 'function') {
          Promise.resolve(returned).catch((thrown: unknown) => this.#listenerFailed(thrown));
        }
      } catch (thrown) {
        this.#listenerFailed(thrown);
      }
      return;
    }
    const now = nowMs();
    if (this.#bar === null || (!final && now - this.#lastDraw < REDRAW_MS)) return;
    this.#lastDraw = now;
    if (!final) shown.add(this);
    this.redraw();
  }
}
