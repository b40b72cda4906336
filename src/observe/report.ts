/**
 * The HTML report of a recorded run: one self-contained file (inline CSS and SVG, no script,
 * nothing fetched), with a task stream per worker, counts, utilisation, the slowest tasks and
 * the failures. Every text from the run is escaped, and a Content-Security-Policy forbids scripts.
 */
import type { RunRecord, WorkerRecord } from './record.js';
import type { TaskEndEvent } from './events.js';

/** Tasks drawn one by one up to this; past it, neighbours on a worker closer than a pixel are merged. */
const DRAW_EACH = 5_000;
/** At most this many bars, however many tasks: the file stays a few MB. */
export const MAX_BARS = 20_000;
/** At most this many lanes: past it (more slots than that were busy at once), slots share lanes and their bars may overlap. */
export const MAX_LANES = 64;
/** Workers' lives drawn one by one up to this; past it, those less than a pixel apart in a lane are merged, as bars are. */
const MAX_LIVES = 2_000;
/** Workers marked ✕ (crashed, timed out...) at most. */
const MAX_MARKS = 1_000;
const FAILURES_LISTED = 100;
const WIDTH = 1000;
const LEFT = 80;
const LANE = 18;
const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#b07aa1', '#76b7b2', '#edc948', '#9c755f', '#bab0ac', '#ff9da7', '#86bcb6'];
const FAIL = '#d62728';

/** `text` safe in HTML text and in a quoted attribute. */
export function escapeHtml(text: unknown): string {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function formatMs(ms: number): string {
  if (ms < 1) return `${(ms * 1000).toFixed(0)} µs`;
  if (ms < 1000) return `${ms.toFixed(ms < 10 ? 2 : 1)} ms`;
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

/** Colours by task name: the first names (in `order`) get the palette's, the others one from their name. */
export function colours(order: readonly string[]): (task: string) => string {
  const known = new Map(order.slice(0, PALETTE.length).map((task, i) => [task, PALETTE[i]]));
  return (task) => {
    const c = known.get(task);
    if (c !== undefined) return c;
    let h = 0;
    for (let i = 0; i < task.length; i++) h = (h * 31 + task.charCodeAt(i)) >>> 0;
    return `hsl(${h % 360} 45% 60%)`;
  };
}

/**
 * Lanes by slot, not by worker: each worker goes to the lowest lane free when it started, so workers
 * alive at once never share one and a pool that replaced 50,000 workers draws as many lanes as it had
 * workers at once (at most MAX_LANES). Returns each worker's lane and the lanes' workers.
 */
export function lanes(workers: readonly WorkerRecord[], t0: number, t1: number): { laneOf: Map<number, number>; byLane: WorkerRecord[][] } {
  const sorted = [...workers].sort((a, b) => (a.start ?? t0) - (b.start ?? t0) || a.worker - b.worker);
  const freeAt: number[] = [];
  const laneOf = new Map<number, number>();
  const byLane: WorkerRecord[][] = [];
  for (const w of sorted) {
    const start = w.start ?? t0;
    let lane = freeAt.findIndex((end) => end <= start);
    if (lane < 0) lane = freeAt.length;
    freeAt[lane] = w.end ?? t1;
    const shown = lane % MAX_LANES;
    laneOf.set(w.worker, shown);
    (byLane[shown] ??= []).push(w);
  }
  return { laneOf, byLane };
}

/** One bar: a task, or tasks of one name merged in one lane (from workers `worker` to `lastWorker`). */
interface Bar {
  lane: number;
  worker: number;
  lastWorker: number;
  task: string;
  start: number;
  end: number;
  count: number;
  busyMs: number;
  failed: TaskEndEvent | null;
  first: TaskEndEvent;
}

/** The bars to draw: each task while they are few; else each worker's neighbours of one name closer than `gapMs` merged (failures stay apart while they are few). */
export function bars(tasks: readonly TaskEndEvent[], spanMs: number, laneOf: ReadonlyMap<number, number>): { bars: Bar[]; merged: boolean } {
  const single = (t: TaskEndEvent): Bar => ({ lane: laneOf.get(t.worker) ?? 0, worker: t.worker, lastWorker: t.worker, task: t.task, start: t.start, end: t.end, count: 1, busyMs: t.ms, failed: t.ok ? null : t, first: t });
  if (tasks.length <= DRAW_EACH) return { bars: tasks.map(single), merged: false };
  const byWorker = new Map<number, TaskEndEvent[]>();
  for (const t of tasks) {
    const lane = laneOf.get(t.worker) ?? 0;
    const list = byWorker.get(lane);
    if (list === undefined) byWorker.set(lane, [t]);
    else list.push(t);
  }
  for (const list of byWorker.values()) list.sort((a, b) => a.start - b.start);
  const failures = tasks.reduce((n, t) => n + (t.ok ? 0 : 1), 0);
  for (let gapMs = spanMs / WIDTH; ; gapMs *= 4) {
    const out: Bar[] = [];
    for (const list of byWorker.values()) {
      let bar: Bar | null = null;
      for (const t of list) {
        const alone = !t.ok && failures <= 1000;
        if (bar !== null && !alone && bar.failed === null && bar.task === t.task && t.start - bar.end < gapMs) {
          bar.end = Math.max(bar.end, t.end);
          bar.lastWorker = t.worker;
          bar.count++;
          bar.busyMs += t.ms;
          if (!t.ok) bar.failed = t;
          continue;
        }
        bar = single(t);
        out.push(bar);
        if (alone) bar = null;
      }
    }
    if (out.length <= MAX_BARS || gapMs > spanMs) return { bars: out, merged: true };
  }
}

function barTitle(b: Bar): string {
  if (b.count === 1) {
    const t = b.first;
    const error = t.error === undefined ? '' : `\nfailed: ${t.error.code === undefined ? '' : `${t.error.code} `}${t.error.name}: ${t.error.message}`;
    return `${t.task} (call ${t.id}) on worker ${t.worker}\n${formatMs(t.ms)}${t.inputs > 1 ? `, ${t.inputs} inputs` : ''}${error}`;
  }
  const failed = b.failed === null ? '' : `\nincluding a failure: ${b.failed.error?.message ?? ''}`;
  const on = b.worker === b.lastWorker ? `worker ${b.worker}` : `workers ${b.worker} to ${b.lastWorker}`;
  return `${b.count} calls of ${b.task} on ${on}\n${formatMs(b.busyMs)} in all, over ${formatMs(b.end - b.start)}${failed}`;
}

function lifeTitle(w: WorkerRecord): string {
  const end = w.end === undefined ? 'alive at the end' : `exited (${w.reason ?? 'unknown'})`;
  return `worker ${w.worker}: ${w.start === undefined ? 'started before the recording' : 'started'}, ${end}`;
}

/** A worker's life in a lane, or lives merged there (less than a pixel apart). */
interface Life {
  first: WorkerRecord;
  last: WorkerRecord;
  count: number;
  start: number;
  end: number;
}

/** The lives to draw: each while they are few; else each lane's closer than a gap that grows until they are. */
function lives(byLane: readonly WorkerRecord[][], t0: number, t1: number): Life[] {
  const single = (w: WorkerRecord): Life => ({ first: w, last: w, count: 1, start: w.start ?? t0, end: w.end ?? t1 });
  const all = byLane.flat();
  if (all.length <= MAX_LIVES) return all.map(single);
  for (let gapMs = (t1 - t0) / WIDTH; ; gapMs *= 4) {
    const out: Life[] = [];
    for (const list of byLane) {
      let life: Life | null = null;
      for (const w of list) {
        const start = w.start ?? t0;
        if (life !== null && start - life.end < gapMs) {
          life.end = Math.max(life.end, w.end ?? t1);
          life.last = w;
          life.count++;
          continue;
        }
        life = single(w);
        out.push(life);
      }
    }
    if (out.length <= MAX_LIVES || gapMs > t1 - t0) return out;
  }
}

function livesTitle(l: Life): string {
  if (l.count === 1) return lifeTitle(l.first);
  return `${l.count} workers, one after another: ${l.first.worker} to ${l.last.worker}`;
}

/** Why a worker's end is marked ✕: it did not end as the pool or the caller asked. */
function died(w: WorkerRecord): boolean {
  return w.reason !== undefined && w.reason !== 'closed' && w.reason !== 'idle' && w.reason !== 'recycled' && w.reason !== 'terminated';
}

/**
 * The task stream: a lane per slot (workers alive at once; see lanes()) on one time axis, each task a bar
 * coloured by its name. Bounded whatever the run: at most MAX_LANES lanes, MAX_LIVES lives, MAX_BARS bars.
 */
export function taskStream(record: RunRecord, colour: (task: string) => string): { svg: string; note: string } {
  const t0 = Math.min(record.start, ...record.workers.map((w) => w.start ?? record.start), record.tasks.length > 0 ? record.tasks.reduce((m, t) => Math.min(m, t.start), Infinity) : record.start);
  const t1 = Math.max(record.end, t0 + 1);
  const span = t1 - t0;
  const x = (t: number): number => LEFT + ((t - t0) / span) * WIDTH;
  const { laneOf, byLane } = lanes(record.workers, t0, t1);
  const top = (lane: number): number => 24 + lane * (LANE + 4);
  const height = 24 + byLane.length * (LANE + 4) + 8;
  const out: string[] = [];
  for (let i = 0; i <= 5; i++) {
    const at = LEFT + (i * WIDTH) / 5;
    out.push(`<line x1="${at}" y1="16" x2="${at}" y2="${height}" class="tick"/><text x="${at}" y="12" text-anchor="middle">${escapeHtml(formatMs((span * i) / 5))}</text>`);
  }
  byLane.forEach((list, lane) => {
    const label = list.length === 1 ? `worker ${list[0].worker}` : `${list.length.toLocaleString('en-US')} workers`;
    out.push(`<text x="${LEFT - 6}" y="${top(lane) + 13}" text-anchor="end">${label}</text>`);
  });
  for (const l of lives(byLane, t0, t1)) {
    const from = x(l.start);
    const to = x(l.end);
    out.push(`<rect x="${from.toFixed(1)}" y="${top(laneOf.get(l.first.worker) ?? 0)}" width="${Math.max(1, to - from).toFixed(1)}" height="${LANE}" class="life"><title>${escapeHtml(livesTitle(l))}</title></rect>`);
  }
  const marked = record.workers.filter(died);
  for (const w of marked.slice(0, MAX_MARKS)) {
    out.push(`<text x="${x(w.end ?? t1).toFixed(1)}" y="${top(laneOf.get(w.worker) ?? 0) + 13}" class="died">✕<title>${escapeHtml(lifeTitle(w))}</title></text>`);
  }
  const drawn = bars(record.tasks, span, laneOf);
  for (const b of drawn.bars) {
    const from = x(b.start);
    const width = Math.max(0.5, x(b.end) - from);
    const failed = b.failed === null ? '' : ` class="failed" stroke="${FAIL}"`;
    // A merged bar is as opaque as the share of its span its calls were running.
    const share = b.count === 1 ? '' : ` fill-opacity="${Math.max(0.25, Math.min(1, b.busyMs / Math.max(b.end - b.start, 1e-9))).toFixed(2)}"`;
    out.push(`<rect x="${from.toFixed(1)}" y="${top(b.lane) + 2}" width="${width.toFixed(2)}" height="${LANE - 4}" fill="${escapeHtml(colour(b.task))}"${share}${failed}><title>${escapeHtml(barTitle(b))}</title></rect>`);
  }
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${LEFT + WIDTH + 20}" height="${height}" role="img" aria-label="task stream">${out.join('')}</svg>`;
  const shared = byLane.some((list) => list.length > 1)
    ? ` A lane is a slot: workers not alive at once share one, one after another (hover a life for its worker)${marked.length > MAX_MARKS ? `; the first ${MAX_MARKS.toLocaleString('en-US')} of ${marked.length.toLocaleString('en-US')} workers that died are marked` : ''}.`
    : '';
  const kept = record.dropped > 0 ? ` The first ${record.tasks.length.toLocaleString('en-US')} calls were kept; ${record.dropped.toLocaleString('en-US')} more are counted above but not drawn.` : '';
  const note = drawn.merged
    ? `${record.tasks.length.toLocaleString('en-US')} calls drawn as ${drawn.bars.length.toLocaleString('en-US')} bars: calls of one task in one lane with less than a pixel between them are merged into one bar, as opaque as the share of its span they were running (hover for how many).${shared}${kept}`
    : `Each call is one bar; hover for its details.${shared}${kept}`;
  return { svg, note };
}

/** Busy time of the tasks recorded over the time their workers were alive while recording. */
export function utilisation(record: RunRecord): number {
  let alive = 0;
  for (const w of record.workers) alive += Math.max(0, Math.min(w.end ?? record.end, record.end) - Math.max(w.start ?? record.start, record.start));
  let busy = 0;
  for (const t of record.tasks) busy += Math.max(0, Math.min(t.end, record.end) - Math.max(t.start, record.start));
  return alive > 0 ? Math.min(1, busy / alive) : 0;
}

const CSS = `body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;background:#fff}h1{font-size:20px}h2{font-size:16px;margin-top:28px}
table{border-collapse:collapse}td,th{padding:3px 10px;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}td.n{text-align:right;font-variant-numeric:tabular-nums}
.cards{display:flex;gap:12px;flex-wrap:wrap}.card{border:1px solid #ddd;border-radius:6px;padding:8px 14px}.card b{display:block;font-size:18px}
svg{font:11px system-ui,sans-serif;overflow:visible}.tick{stroke:#eee}.life{fill:#f3f3f3}.failed{stroke-width:2}.died{fill:${FAIL};font-weight:bold}
.swatch{display:inline-block;width:12px;height:12px;border-radius:2px;vertical-align:middle;margin-right:6px}.note{color:#666;font-size:12px}.err{color:${FAIL}}
.scroll{overflow-x:auto}`;

/** The report of `record` as one HTML document. */
export function renderReport(record: RunRecord): string {
  const colour = colours(record.byTask.map((s) => s.task));
  const { svg, note } = taskStream(record, colour);
  const c = record.counts;
  const card = (label: string, value: string): string => `<div class="card">${escapeHtml(label)}<b>${escapeHtml(value)}</b></div>`;
  const n = (v: number): string => v.toLocaleString('en-US');
  const cards = [
    card('duration', formatMs(record.end - record.start)),
    card('calls', n(c.calls)), card('inputs', n(c.inputs)), card('failed', n(c.failed)),
    card('workers seen', n(record.workers.length)), card('workers started / exited', `${n(c.workersStarted)} / ${n(c.workersExited)}`),
    card('utilisation (recorded)', `${(utilisation(record) * 100).toFixed(0)} %`),
    card('utilisation (stats())', `${(record.stats.utilisation * 100).toFixed(0)} %`),
  ].join('');
  const legend = record.byTask.map((s) => `<tr><td><span class="swatch" style="background:${escapeHtml(colour(s.task))}"></span>${escapeHtml(s.task)}</td>` +
    `<td class="n">${n(s.calls)}</td><td class="n">${n(s.inputs)}</td><td class="n">${n(s.failed)}</td><td class="n">${formatMs(s.totalMs)}</td><td class="n">${formatMs(s.totalMs / s.calls)}</td><td class="n">${formatMs(s.maxMs)}</td></tr>`).join('');
  const slowest = [...record.tasks].sort((a, b) => b.ms - a.ms).slice(0, 10).map((t) =>
    `<tr><td>${escapeHtml(t.task)}</td><td class="n">${t.id}</td><td class="n">${t.worker}</td><td class="n">${formatMs(t.ms)}</td><td class="n">${n(t.inputs)}</td><td>${t.ok ? 'ok' : '<span class="err">failed</span>'}</td></tr>`).join('');
  const failures = record.tasks.filter((t) => !t.ok);
  const failureRows = failures.slice(0, FAILURES_LISTED).map((t) =>
    `<tr><td>${escapeHtml(t.task)}</td><td class="n">${t.id}</td><td class="n">${t.worker}</td><td>${escapeHtml(t.error?.code ?? '')}</td><td>${escapeHtml(`${t.error?.name ?? 'Error'}: ${t.error?.message ?? ''}`)}</td></tr>`).join('');
  const moreFailures = failures.length > FAILURES_LISTED ? `<p class="note">The first ${FAILURES_LISTED} of ${n(failures.length)} failures.</p>` : '';
  const stats = record.stats;
  const title = `forkjoin report: ${record.executor}, ${new Date(record.start).toISOString()}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title><style>${CSS}</style></head><body>
<h1>${escapeHtml(title)}</h1>
<div class="cards">${cards}</div>
<h2>Task stream</h2>
<div class="scroll">${svg}</div>
<p class="note">${escapeHtml(note)} Failed calls have a red outline; ✕ marks a worker that crashed, ran out of memory, timed out, was stuck or aborted (hover for why).</p>
<h2>Tasks</h2>
<table><tr><th>task</th><th>calls</th><th>inputs</th><th>failed</th><th>time in all</th><th>mean</th><th>longest</th></tr>${legend}</table>
<h2>Slowest calls</h2>
<table><tr><th>task</th><th>call</th><th>worker</th><th>time</th><th>inputs</th><th></th></tr>${slowest}</table>
<h2>Failures (${n(c.failed)})</h2>
${failureRows === '' ? '<p>None.</p>' : `<table><tr><th>task</th><th>call</th><th>worker</th><th>code</th><th>error</th></tr>${failureRows}</table>${moreFailures}`}
<h2>stats() at the end</h2>
<p>${escapeHtml(`done ${n(stats.done)}, failed ${n(stats.failed)}, queued ${n(stats.queued)}, running ${n(stats.running)}, workers ${stats.workers}, replaced ${stats.workersReplaced}; latency mean ${formatMs(stats.latency.mean)}, p50 ${formatMs(stats.latency.p50)}, p95 ${formatMs(stats.latency.p95)}, p99 ${formatMs(stats.latency.p99)}, max ${formatMs(stats.latency.max)}`)}</p>
</body></html>
`;
}
