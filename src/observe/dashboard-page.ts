/**
 * The dashboard's page: one HTML document with its CSS and script inline. It reads the
 * server's event stream (/events) and draws the last minute's task stream on a canvas, a
 * lane per worker, beside stats(). Data reaches the page only as text (textContent) or pixels.
 */
import { escapeHtml } from './report.js';

const SCRIPT = String.raw`
const WINDOW_MS = 60000, LANE = 16, LEFT = 70;
const palette = ['#4e79a7','#f28e2b','#59a14f','#b07aa1','#76b7b2','#edc948','#9c755f','#bab0ac','#ff9da7','#86bcb6'];
const colours = new Map();
const colour = (task) => { if (!colours.has(task)) colours.set(task, palette[colours.size % palette.length]); return colours.get(task); };
let tasks = [], workers = new Map(), failures = [], offset = 0, dropped = 0;
const $ = (id) => document.getElementById(id);
const set = (id, text) => { $(id).textContent = text; };
function fmt(ms) { return ms < 1 ? (ms * 1000).toFixed(0) + ' µs' : ms < 1000 ? ms.toFixed(1) + ' ms' : (ms / 1000).toFixed(2) + ' s'; }
function onMessage(m) {
  offset = Date.now() - m.now;
  dropped += m.dropped;
  for (const e of m.events) {
    if (e.type === 'taskEnd') {
      tasks.push(e);
      if (!workers.has(e.worker)) workers.set(e.worker, { alive: true });
      if (!e.ok) { failures.unshift(e); failures.length = Math.min(failures.length, 20); }
    } else if (e.type === 'workerStart') workers.set(e.worker, { alive: true });
    else if (e.type === 'workerExit') workers.set(e.worker, { alive: false, reason: e.reason, at: e.at });
  }
  const s = m.stats;
  set('done', s.done.toLocaleString()); set('failed', s.failed.toLocaleString()); set('queued', s.queued.toLocaleString());
  set('running', s.running.toLocaleString()); set('workers', s.workers + ' (' + s.idleWorkers + ' idle)');
  set('utilisation', (s.utilisation * 100).toFixed(0) + ' %'); set('latency', 'p50 ' + fmt(s.latency.p50) + ', p95 ' + fmt(s.latency.p95));
  const all = s.done + s.failed + s.queued + s.running;
  $('progress').value = all === 0 ? 0 : (s.done + s.failed) / all;
  set('dropped', dropped > 0 ? dropped.toLocaleString() + ' events were dropped (too many to send)' : '');
  const list = $('failures');
  list.replaceChildren(...failures.map((f) => { const li = document.createElement('li'); li.textContent = f.task + ' (worker ' + f.worker + '): ' + (f.error ? (f.error.code ? f.error.code + ' ' : '') + f.error.name + ': ' + f.error.message : 'failed'); return li; }));
}
function draw() {
  const canvas = $('stream'), ctx = canvas.getContext('2d');
  const now = Date.now() - offset, from = now - WINDOW_MS;
  tasks = tasks.filter((t) => t.end >= from);
  for (const [w, info] of workers) if (!info.alive && info.at < from && !tasks.some((t) => t.worker === w)) workers.delete(w);
  const lanes = [...workers.keys()].sort((a, b) => a - b);
  const width = canvas.clientWidth, height = Math.max(40, 20 + lanes.length * (LANE + 4));
  canvas.width = width * devicePixelRatio; canvas.height = height * devicePixelRatio; canvas.style.height = height + 'px';
  ctx.scale(devicePixelRatio, devicePixelRatio);
  ctx.clearRect(0, 0, width, height); ctx.font = '11px system-ui, sans-serif';
  const x = (t) => LEFT + ((t - from) / WINDOW_MS) * (width - LEFT - 10);
  ctx.fillStyle = '#888';
  for (let i = 0; i <= 6; i++) { const at = from + i * WINDOW_MS / 6; ctx.fillText('-' + ((now - at) / 1000).toFixed(0) + ' s', x(at) - 10, 12); }
  const y = new Map(lanes.map((w, i) => [w, 20 + i * (LANE + 4)]));
  for (const w of lanes) {
    const info = workers.get(w);
    ctx.fillStyle = '#f3f3f3'; ctx.fillRect(LEFT, y.get(w), width - LEFT - 10, LANE);
    ctx.fillStyle = info.alive ? '#444' : '#d62728';
    ctx.fillText('worker ' + w + (info.alive ? '' : ' ✕'), 4, y.get(w) + 12);
  }
  for (const t of tasks) {
    const top = y.get(t.worker); if (top === undefined) continue;
    const left = Math.max(LEFT, x(t.start));
    ctx.fillStyle = colour(t.task); ctx.fillRect(left, top + 2, Math.max(1, x(t.end) - left), LANE - 4);
    if (!t.ok) { ctx.strokeStyle = '#d62728'; ctx.lineWidth = 2; ctx.strokeRect(left, top + 2, Math.max(1, x(t.end) - left), LANE - 4); }
  }
  const legend = $('legend');
  legend.replaceChildren(...[...colours].map(([task, c]) => { const span = document.createElement('span'); span.className = 'key'; const sw = document.createElement('i'); sw.style.background = c; span.append(sw, document.createTextNode(task)); return span; }));
}
const source = new EventSource('events');
source.onmessage = (e) => onMessage(JSON.parse(e.data));
source.onerror = () => set('state', 'disconnected: the dashboard or its program has stopped');
source.onopen = () => set('state', 'live');
setInterval(draw, 500);
`;

const CSS = `body{font:14px/1.4 system-ui,sans-serif;margin:20px;color:#222}h1{font-size:18px}.cards{display:flex;gap:10px;flex-wrap:wrap}
.card{border:1px solid #ddd;border-radius:6px;padding:6px 12px}.card b{display:block;font-size:17px}progress{width:100%;height:14px}
canvas{width:100%;display:block}.key{margin-right:14px;font-size:12px}.key i{display:inline-block;width:11px;height:11px;margin-right:5px;border-radius:2px}
#failures{color:#d62728;font-size:13px}.note{color:#666;font-size:12px}`;

/** The page for an executor of class `name`. */
export function dashboardPage(name: string): string {
  const card = (id: string, label: string): string => `<div class="card">${label}<b id="${id}">–</b></div>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>forkjoin: ${escapeHtml(name)}</title><style>${CSS}</style></head><body>
<h1>forkjoin: ${escapeHtml(name)} <span class="note" id="state">connecting</span></h1>
<div class="cards">${card('done', 'done')}${card('failed', 'failed')}${card('queued', 'queued')}${card('running', 'running')}${card('workers', 'workers')}${card('utilisation', 'utilisation')}${card('latency', 'latency')}</div>
<p><progress id="progress" max="1" value="0"></progress></p>
<h2>Task stream (last minute)</h2><canvas id="stream"></canvas><div id="legend"></div><p class="note" id="dropped"></p>
<h2>Recent failures</h2><ul id="failures"></ul>
<script>${SCRIPT}</script></body></html>
`;
}
