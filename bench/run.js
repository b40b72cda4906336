// `npm run bench`: forkjoin's ThreadPool and ProcessPool beside piscina,
// tinypool, workerpool and poolifier, 2 workers each, in one run.
//
//   (a) 20,000 tiny tasks submitted at once                      tasks/s
//   (b) the same 20,000 through forkjoin map(chunksize: 'auto')   tasks/s
//   (c) 32 equal CPU tasks of ~25 ms                              speedup over sequential
//   (d) 200 tasks each receiving a 4 MiB Float64Array             copied vs transferred
//   (e) cold start: a whole process creates a pool, runs one task, closes
//   (f) per-task cost of (a) at 1k, 10k, 100k and 1M tasks
//
// Every measurement is repeated and the libraries take turns (the order rotates
// each repetition), so drift on a shared machine hits all of them alike; the
// tables show medians and ratios to the best peer. Full samples go to
// bench/results/<timestamp>.json.
//
// Environment: BENCH_QUICK=1 (fewer repetitions, no 1M run),
//              BENCH_ONLY=a,c,e (run only some scenarios, for development).
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { adapterById, allAdapters, WORKERS } from './lib/adapters.js';
import { collect, fmt, median, ratio, sig, sleep, summarize, table, withTimeout } from './lib/stats.js';
import { probe, spin } from './tasks/tasks.js';

const QUICK = process.env.BENCH_QUICK === '1';
const ONLY = new Set((process.env.BENCH_ONLY ?? 'a,b,c,d,e,f').split(',').map((s) => s.trim()).filter(Boolean));
const config = {
  quick: QUICK,
  workers: WORKERS,
  warmupTasks: 500,
  tinyTasks: 20_000,
  // (c) and (e) compare near-equal medians on a noisy machine: more repetitions for them
  // (bench/README.md says what 9 repetitions of (c) did).
  reps: QUICK ? { a: 3, b: 3, c: 3, d: 3, e: 3 } : { a: 7, b: 7, c: 25, d: 5, e: 21 },
  cpu: { tasks: 32, targetMs: 25 },
  arrays: { tasks: 200, bytes: 4 * 1024 * 1024 },
  // [tasks, repetitions]; the best peer runs sizes up to peerMaxTasks.
  scaling: QUICK ? [[1_000, 5], [10_000, 3], [100_000, 1]] : [[1_000, 15], [10_000, 15], [100_000, 5], [1_000_000, 3]],
  peerMaxTasks: 100_000,
};
const MEASURE_TIMEOUT_MS = 180_000;
const startedAt = new Date();
const t0 = performance.now();

const log = (message) => process.stderr.write(`${message}\n`);
const rotate = (list, by) => list.map((_, i) => list[(i + by) % list.length]);

function versionOf(pkg) {
  try {
    const url = pkg === 'forkjoin' ? new URL('../package.json', import.meta.url) : new URL(`../node_modules/${pkg}/package.json`, import.meta.url);
    return JSON.parse(readFileSync(url, 'utf8')).version;
  } catch {
    return null;
  }
}

const meta = {
  date: startedAt.toISOString(),
  node: process.version,
  v8: process.versions.v8,
  platform: `${process.platform} ${os.release()} ${process.arch}`,
  cpus: os.availableParallelism(),
  cpuModel: os.cpus()[0]?.model ?? null,
  totalMemMb: Math.round(os.totalmem() / 2 ** 20),
  loadavgStart: os.loadavg(),
  versions: Object.fromEntries(['forkjoin', 'piscina', 'tinypool', 'workerpool', 'poolifier'].map((p) => [p, versionOf(p)])),
};

// Scenario results: scenario -> id -> { label, samples[], median, min, max }.
const scenarios = {};
const errors = [];
function record(key, adapter, value) {
  const s = (scenarios[key] ??= {});
  const entry = (s[adapter.id] ??= { label: adapter.label, group: adapter.group, samples: [] });
  entry.samples.push(value);
}
function finish(key) {
  for (const entry of Object.values(scenarios[key] ?? {})) Object.assign(entry, summarize(entry.samples));
}
const med = (key, id) => scenarios[key]?.[id]?.median ?? null;

/** Runs one timed measurement; a failure is logged, recorded and skipped. */
async function measure(what, fn, timeoutMs = MEASURE_TIMEOUT_MS) {
  collect();
  try {
    return await withTimeout(fn(), timeoutMs, what);
  } catch (error) {
    errors.push({ what, error: String(error?.stack ?? error) });
    log(`  ! ${what}: ${error?.message ?? error}`);
    return null;
  }
}

// ---- the measurements ---------------------------------------------------------

/** `n` tiny tasks submitted at once, then awaited together; returns ms. */
async function burst(adapter, n) {
  const promises = new Array(n);
  const start = performance.now();
  for (let i = 0; i < n; i++) promises[i] = adapter.square(i);
  const results = await Promise.all(promises);
  const ms = performance.now() - start;
  checkSquares(adapter, results, n);
  return ms;
}

function checkSquares(adapter, results, n) {
  if (results.length !== n) throw new Error(`${adapter.id}: ${results.length} results for ${n} tasks`);
  for (let i = 0; i < n; i++) {
    if (results[i] !== i * i) throw new Error(`${adapter.id}: result ${i} is ${results[i]}, expected ${i * i}`);
  }
}

async function warm(adapter) {
  const ps = [];
  for (let i = 0; i < config.warmupTasks; i++) ps.push(adapter.square(i));
  checkSquares(adapter, await Promise.all(ps), config.warmupTasks);
  return true;
}

/** Finds the loop count for which spin() takes ~targetMs on this thread. */
function calibrate(targetMs) {
  for (let i = 0; i < 20; i++) spin(100_000);
  let n = 1_000_000;
  for (let round = 0; round < 6; round++) {
    const start = performance.now();
    spin(n);
    const ms = performance.now() - start;
    n = Math.max(1_000, Math.round((n * targetMs) / Math.max(ms, 0.01)));
  }
  const samples = [];
  for (let i = 0; i < 7; i++) {
    const start = performance.now();
    spin(n);
    samples.push(performance.now() - start);
  }
  return { iterations: n, targetMs, measuredMs: median(samples), samples };
}

function makeArrays(count, bytes) {
  const length = bytes / Float64Array.BYTES_PER_ELEMENT;
  const arrays = new Array(count);
  for (let i = 0; i < count; i++) {
    const a = new Float64Array(length);
    a.fill(i + 0.5); // touch every page, so no copy reads untouched zero pages
    arrays[i] = a;
  }
  return arrays;
}

async function sendArrays(adapter, arrays, transfer) {
  const length = arrays[0].length;
  const expected = arrays.map((a) => length + a[0] + a[length - 1]);
  const start = performance.now();
  const results = await Promise.all(arrays.map((a) => adapter.probe(a, transfer)));
  const ms = performance.now() - start;
  for (let i = 0; i < results.length; i++) {
    if (results[i] !== expected[i]) throw new Error(`${adapter.id}: probe ${i} returned ${results[i]}, expected ${expected[i]}`);
  }
  if (transfer && arrays[0].buffer.byteLength !== 0) throw new Error(`${adapter.id}: the buffer was copied, not transferred`);
  return ms;
}

// ---- scenarios (a)-(d): every pool open at once, taking turns -------------------

async function warmScenarios() {
  const adapters = allAdapters();
  log(`opening ${adapters.length} pools of ${WORKERS} workers and warming each with ${config.warmupTasks} tasks`);
  for (const a of adapters) {
    a.open();
    await measure(`warm-up ${a.id}`, () => warm(a));
  }
  // A pool whose warm-up for a scenario fails is left out of that scenario (the error is reported).
  const ready = async (what, list, fn) => {
    const ok = [];
    for (const a of list) if ((await measure(`${what} warm-up ${a.id}`, () => fn(a))) !== null) ok.push(a);
    return ok;
  };

  if (ONLY.has('a')) {
    log(`(a) ${fmt(config.tinyTasks)} tiny tasks submitted at once, ${config.reps.a} repetitions`);
    for (let rep = 0; rep < config.reps.a; rep++) {
      const line = [];
      for (const a of rotate(adapters, rep)) {
        const ms = await measure(`(a) ${a.id}`, () => burst(a, config.tinyTasks));
        record('a', a, ms === null ? null : (config.tinyTasks * 1000) / ms);
        line.push(`${a.id} ${ms === null ? 'failed' : `${fmt((config.tinyTasks * 1000) / ms)}/s`}`);
      }
      log(`  rep ${rep + 1}: ${line.join(', ')}`);
    }
    finish('a');
  }

  if (ONLY.has('b')) {
    const fj = adapters.filter((a) => a.map);
    const inputs = Array.from({ length: config.tinyTasks }, (_, i) => i);
    log(`(b) forkjoin map over ${fmt(config.tinyTasks)} inputs, chunksize 'auto', ${config.reps.b} repetitions`);
    const mappers = await ready('(b)', fj, async (a) => checkSquares(a, await a.map(inputs), config.tinyTasks) ?? true);
    for (let rep = 0; rep < config.reps.b; rep++) {
      const line = [];
      for (const a of rotate(mappers, rep)) {
        const ms = await measure(`(b) ${a.id}`, async () => {
          const start = performance.now();
          const results = await a.map(inputs);
          const ms = performance.now() - start;
          checkSquares(a, results, config.tinyTasks);
          return ms;
        });
        record('b', a, ms === null ? null : (config.tinyTasks * 1000) / ms);
        line.push(`${a.id} ${ms === null ? 'failed' : `${fmt((config.tinyTasks * 1000) / ms)}/s`}`);
      }
      log(`  rep ${rep + 1}: ${line.join(', ')}`);
    }
    finish('b');
  }

  let calibration = null;
  if (ONLY.has('c')) {
    calibration = calibrate(config.cpu.targetMs);
    const n = calibration.iterations;
    log(`(c) ${config.cpu.tasks} CPU tasks of spin(${fmt(n)}) ≈ ${calibration.measuredMs.toFixed(1)} ms each, ${config.reps.c} repetitions`);
    const spinners = await ready('(c)', adapters, (a) => Promise.all(Array.from({ length: 2 * WORKERS }, () => a.spin(n))));
    const sequential = {
      id: 'sequential', label: 'sequential (main thread)', group: 'baseline',
      spin: (k) => Promise.resolve(spin(k)),
    };
    const runners = [sequential, ...spinners];
    for (let rep = 0; rep < config.reps.c; rep++) {
      const line = [];
      for (const a of rotate(runners, rep)) {
        const ms = await measure(`(c) ${a.id}`, async () => {
          const start = performance.now();
          if (a === sequential) for (let i = 0; i < config.cpu.tasks; i++) spin(n);
          else await Promise.all(Array.from({ length: config.cpu.tasks }, () => a.spin(n)));
          return performance.now() - start;
        });
        record('c_ms', a, ms);
        line.push(`${a.id} ${ms === null ? 'failed' : `${fmt(ms)} ms`}`);
      }
      log(`  rep ${rep + 1}: ${line.join(', ')}`);
    }
    finish('c_ms');
    // Speedup of each pool: the sequential median over the pool's median.
    const seq = med('c_ms', 'sequential');
    scenarios.c = {};
    for (const [id, entry] of Object.entries(scenarios.c_ms)) {
      if (id === 'sequential') continue;
      scenarios.c[id] = {
        label: entry.label, group: entry.group,
        samples: entry.samples.map((ms) => (ms ? seq / ms : null)),
        median: entry.median ? seq / entry.median : null,
      };
    }
  }

  if (ONLY.has('d')) {
    const { tasks, bytes } = config.arrays;
    log(`(d) ${tasks} tasks each receiving a ${bytes / 2 ** 20} MiB Float64Array, copied and transferred, ${config.reps.d} repetitions`);
    const copySet = makeArrays(tasks, bytes);
    const senders = await ready('(d)', adapters, async (a) => {
      await sendArrays(a, copySet.slice(0, 4), false);
      if (a.transfer) await sendArrays(a, makeArrays(4, bytes), true);
      return true;
    });
    for (let rep = 0; rep < config.reps.d; rep++) {
      const line = [];
      for (const a of rotate(senders, rep)) {
        const copyMs = await measure(`(d) ${a.id} copy`, () => sendArrays(a, copySet, false));
        record('d_copy', a, copyMs);
        let note = `${a.id} copy ${copyMs === null ? 'failed' : `${fmt(copyMs)} ms`}`;
        if (a.transfer) {
          collect();
          const fresh = makeArrays(tasks, bytes); // built before the clock starts: transfer detaches them
          const transferMs = await measure(`(d) ${a.id} transfer`, () => sendArrays(a, fresh, true));
          record('d_transfer', a, transferMs);
          note += ` / transfer ${transferMs === null ? 'failed' : `${fmt(transferMs, 1)} ms`}`;
        }
        line.push(note);
      }
      log(`  rep ${rep + 1}: ${line.join(', ')}`);
    }
    finish('d_copy');
    finish('d_transfer');
    scenarios.d_speed = {};
    for (const [id, entry] of Object.entries(scenarios.d_transfer ?? {})) {
      const copy = scenarios.d_copy[id];
      scenarios.d_speed[id] = {
        label: entry.label, group: entry.group,
        samples: entry.samples.map((ms, i) => (ms && copy.samples[i] ? copy.samples[i] / ms : null)),
        median: copy.median && entry.median ? copy.median / entry.median : null,
      };
    }
  }

  log('closing the pools');
  await closeAll(adapters);
  return calibration;
}

/** Pools whose close did not settle: reported, and the process is ended explicitly at the end. */
const hungPools = [];

async function closeAll(adapters) {
  for (const a of adapters) {
    try {
      await withTimeout(Promise.resolve(a.close()), 10_000, `closing ${a.id}`);
    } catch (error) {
      hungPools.push(a.id);
      const state = a.state ? ` (pool state: ${a.state()})` : '';
      errors.push({ what: `close ${a.id}`, error: `${String(error?.stack ?? error)}${state}` });
      log(`  ! ${error.message}${state}`);
    }
  }
}

// ---- (e) cold start ---------------------------------------------------------------

function coldStart() {
  const scripts = [
    { id: 'node-empty', label: 'node, empty script (baseline)', group: 'baseline' },
    { id: 'fj-thread', label: 'forkjoin ThreadPool', group: 'forkjoin' },
    { id: 'fj-process', label: 'forkjoin ProcessPool', group: 'forkjoin' },
    { id: 'piscina', label: 'piscina', group: 'peer' },
    { id: 'tinypool', label: 'tinypool', group: 'peer' },
    { id: 'workerpool', label: 'workerpool', group: 'peer' },
    { id: 'poolifier', label: 'poolifier', group: 'peer' },
  ];
  const file = (id) => fileURLToPath(new URL(`./cold/${id === 'fj-thread' ? 'forkjoin-thread' : id === 'fj-process' ? 'forkjoin-process' : id}.js`, import.meta.url));
  log(`(e) cold start: a whole process creates a pool, runs one task and closes it, ${config.reps.e} repetitions (wall clock)`);
  // One unrecorded round warms the file system cache.
  for (const s of scripts) spawnSync(process.execPath, [file(s.id)], { stdio: 'ignore', timeout: 30_000 });
  for (let rep = 0; rep < config.reps.e; rep++) {
    const line = [];
    for (const s of rotate(scripts, rep)) {
      const start = performance.now();
      const child = spawnSync(process.execPath, [file(s.id)], { encoding: 'utf8', timeout: 30_000 });
      const ms = performance.now() - start;
      const ok = child.status === 0 && child.stdout.trim() === '9';
      if (!ok) {
        errors.push({ what: `(e) ${s.id}`, error: `exit ${child.status} signal ${child.signal} stdout ${JSON.stringify(child.stdout)} stderr ${JSON.stringify(child.stderr?.slice(-2000))}` });
        log(`  ! (e) ${s.id}: exit ${child.status} ${child.signal ?? ''} ${child.stderr?.slice(-300) ?? ''}`);
      }
      record('e', s, ok ? ms : null);
      line.push(`${s.id} ${ok ? `${fmt(ms)} ms` : 'failed'}`);
    }
    log(`  rep ${rep + 1}: ${line.join(', ')}`);
  }
  finish('e');
}

// ---- (f) per-task cost against the number of tasks --------------------------------

async function scaling() {
  const peers = ['piscina', 'tinypool', 'workerpool', 'poolifier'];
  const bestPeer = bestOf('a', peers)?.id ?? 'poolifier';
  const subjects = [adapterById('fj-thread'), adapterById(bestPeer)];
  log(`(f) per-task cost of (a) by number of tasks: forkjoin ThreadPool, and ${bestPeer} (the fastest peer in (a)) up to ${fmt(config.peerMaxTasks)}`);
  for (const a of subjects) {
    a.open();
    await measure(`(f) warm-up ${a.id}`, () => warm(a));
  }
  for (const [n, reps] of config.scaling) {
    const runners = subjects.filter((a) => a.group === 'forkjoin' || n <= config.peerMaxTasks);
    for (let rep = 0; rep < reps; rep++) {
      const line = [];
      for (const a of rotate(runners, rep)) {
        const ms = await measure(`(f) ${a.id} ${n}`, () => burst(a, n), n >= 1_000_000 ? 600_000 : MEASURE_TIMEOUT_MS);
        record(`f_${n}`, a, ms === null ? null : (ms * 1000) / n);
        line.push(`${a.id} ${ms === null ? 'failed' : `${sig((ms * 1000) / n)} µs/task`}`);
      }
      log(`  ${fmt(n)} tasks, rep ${rep + 1}: ${line.join(', ')}`);
    }
    finish(`f_${n}`);
  }
  await closeAll(subjects);
  return bestPeer;
}

// ---- the report ------------------------------------------------------------------------

const PEERS = ['piscina', 'tinypool', 'workerpool', 'poolifier'];
const PROCESS_PEERS = ['tinypool-process', 'workerpool-process'];

/** The peer with the best median of a scenario: higher is better unless `lower`. */
function bestOf(key, ids, lower = false) {
  let best = null;
  for (const id of ids) {
    const m = med(key, id);
    if (m === null) continue;
    if (best === null || (lower ? m < best.median : m > best.median)) best = { id, median: m, label: scenarios[key][id].label };
  }
  return best;
}

/** How many times better `value` is than `reference` (>1 means better). */
const better = (value, reference, lower) => (value === null || reference === null || value === undefined || reference === undefined
  ? null
  : lower ? reference / value : value / reference);

function summaryRows() {
  const rows = [];
  const add = (metric, unit, key, lower, options = {}) => {
    const peer = options.peer ?? bestOf(key, PEERS, lower);
    const processPeer = options.noProcessPeer ? null : bestOf(key, PROCESS_PEERS, lower);
    const thread = med(key, 'fj-thread');
    const proc = med(key, 'fj-process');
    rows.push({
      metric, unit, key, lowerIsBetter: lower,
      bestPeer: peer?.id ?? null, bestPeerMedian: peer?.median ?? null,
      threadPool: thread, threadPoolVsBestPeer: better(thread, peer?.median ?? null, lower),
      processPool: proc, processPoolVsBestPeer: better(proc, peer?.median ?? null, lower),
      bestProcessPeer: processPeer?.id ?? null, bestProcessPeerMedian: processPeer?.median ?? null,
      processPoolVsBestProcessPeer: better(proc, processPeer?.median ?? null, lower),
    });
  };
  if (scenarios.a) add(`(a) ${fmt(config.tinyTasks)} tiny tasks at once`, 'tasks/s', 'a', false);
  if (scenarios.b) {
    // Peers have no map: forkjoin's map against the best peer's (a).
    const peer = scenarios.a ? bestOf('a', PEERS) : null;
    const processPeer = scenarios.a ? bestOf('a', PROCESS_PEERS) : null;
    const thread = med('b', 'fj-thread');
    const proc = med('b', 'fj-process');
    rows.push({
      metric: `(b) map ${fmt(config.tinyTasks)}, chunksize auto (peer: its (a))`, unit: 'tasks/s', key: 'b', lowerIsBetter: false,
      bestPeer: peer?.id ?? null, bestPeerMedian: peer?.median ?? null,
      threadPool: thread, threadPoolVsBestPeer: better(thread, peer?.median ?? null, false),
      processPool: proc, processPoolVsBestPeer: better(proc, peer?.median ?? null, false),
      bestProcessPeer: processPeer?.id ?? null, bestProcessPeerMedian: processPeer?.median ?? null,
      processPoolVsBestProcessPeer: better(proc, processPeer?.median ?? null, false),
    });
  }
  if (scenarios.c) add(`(c) ${config.cpu.tasks} CPU tasks of ${config.cpu.targetMs} ms`, 'speedup', 'c', false);
  if (scenarios.d_copy) {
    const mib = config.arrays.bytes / 2 ** 20;
    add(`(d) ${config.arrays.tasks} × ${mib} MiB, copied`, 'ms', 'd_copy', true);
    add(`(d) ${config.arrays.tasks} × ${mib} MiB, transferred`, 'ms', 'd_transfer', true, { noProcessPeer: true });
    add('(d) transfer/copy speed ratio', 'ratio', 'd_speed', false, { noProcessPeer: true });
  }
  if (scenarios.e) add('(e) cold start, whole process', 'ms', 'e', true, { noProcessPeer: true });
  for (const [n] of config.scaling) {
    if (scenarios[`f_${n}`]) add(`(f) per task, ${fmt(n)} tasks at once`, 'µs', `f_${n}`, true, { noProcessPeer: true });
  }
  return rows;
}

function formatValue(value, unit) {
  if (value === null || value === undefined) return '—';
  if (unit === 'tasks/s' || unit === 'ms') return fmt(value);
  if (unit === 'speedup') return value.toFixed(2);
  return sig(value);
}

function growth(id) {
  const top = config.scaling[config.scaling.length - 1][0];
  const small = med('f_10000', id);
  const large = med(`f_${top}`, id);
  return { from: 10_000, to: top, value: small && large ? large / small : null };
}

function targets() {
  const out = [];
  const push = (id, text, pass, measured, subject = 'fj-thread') => out.push({ id, subject, text, measured, pass });
  const peerA = bestOf('a', PEERS);
  for (const subject of ['fj-thread', 'fj-process']) {
    const name = subject === 'fj-thread' ? 'ThreadPool' : 'ProcessPool';
    if (scenarios.a) {
      const r = better(med('a', subject), peerA?.median ?? null, false);
      push('a', `(a) ${name} tasks/s >= 2x the fastest peer's`, r !== null && r >= 2,
        `${fmt(med('a', subject))}/s vs ${peerA?.id} ${fmt(peerA?.median)}/s = ${ratio(r)}`, subject);
    }
    if (scenarios.b && scenarios.a) {
      const pis = med('a', 'piscina');
      const r = better(med('b', subject), pis, false);
      push('b', `(b) ${name} map tasks/s >= 200x piscina's (a)`, r !== null && r >= 200,
        `${fmt(med('b', subject))}/s vs piscina ${fmt(pis)}/s = ${ratio(r)}`, subject);
    }
    if (scenarios.c) {
      const s = med('c', subject);
      const peer = bestOf('c', PEERS);
      push('c', `(c) ${name} speedup >= 1.9 and >= every peer's`, s !== null && s >= 1.9 && (peer === null || s >= peer.median),
        `${s === null ? '—' : s.toFixed(2)} (best peer ${peer?.id} ${peer ? peer.median.toFixed(2) : '—'}; limit 2.0)`, subject);
    }
    if (scenarios.d_speed && subject === 'fj-thread') {
      const r = med('d_speed', subject);
      push('d', `(d) ${name} transfer >= 5x faster than copy (4 MiB)`, r !== null && r >= 5,
        `copy ${fmt(med('d_copy', subject))} ms / transfer ${fmt(med('d_transfer', subject), 1)} ms = ${ratio(r)}`, subject);
    }
    if (scenarios.e) {
      const peer = bestOf('e', PEERS, true);
      const m = med('e', subject);
      push('e', `(e) ${name} cold start <= the fastest peer's median`, m !== null && peer !== null && m <= peer.median,
        `${fmt(m)} ms vs ${peer?.id} ${fmt(peer?.median)} ms (empty node: ${fmt(med('e', 'node-empty'))} ms)`, subject);
    }
    if (subject === 'fj-thread' && scenarios.f_10000) {
      const g = growth(subject);
      const full = g.to >= 1_000_000;
      push('f', `(f) ${name} per-task cost at 1,000,000 <= 1.2x its cost at 10,000`, full ? g.value !== null && g.value <= 1.2 : null,
        `cost(${fmt(g.to)})/cost(10,000) = ${ratio(g.value)}${full ? '' : ' (quick mode: 1,000,000 not run)'}`, subject);
    }
  }
  return out;
}

function printReport(rows, targetList, bestPeerF) {
  const out = [];
  out.push('');
  out.push(`forkjoin benchmark — ${meta.date}, Node ${meta.node}, ${meta.cpus} CPUs (${meta.cpuModel}), ${WORKERS} workers per pool${QUICK ? ', QUICK mode' : ''}`);
  out.push('Medians of this run. "vs" columns: how many times better forkjoin is than the best peer (> 1 = forkjoin better).');
  out.push('Best peer = best of piscina, tinypool, workerpool, poolifier (worker threads); process peer = best of tinypool (child_process), workerpool (process).');
  out.push('');
  out.push(table(
    ['metric', 'unit', 'best peer', 'peer median', 'ThreadPool', 'vs peer', 'ProcessPool', 'vs peer', 'vs process peer'],
    rows.map((r) => [
      r.metric, r.unit, r.bestPeer ?? '—', formatValue(r.bestPeerMedian, r.unit),
      formatValue(r.threadPool, r.unit), ratio(r.threadPoolVsBestPeer),
      formatValue(r.processPool, r.unit), ratio(r.processPoolVsBestPeer),
      r.bestProcessPeer ? `${ratio(r.processPoolVsBestProcessPeer)} (${r.bestProcessPeer})` : '—',
    ]),
  ));
  if (scenarios.f_10000) {
    const g = growth('fj-thread');
    const gp = bestPeerF ? { value: med(`f_${config.peerMaxTasks}`, bestPeerF) && med('f_10000', bestPeerF) ? med(`f_${config.peerMaxTasks}`, bestPeerF) / med('f_10000', bestPeerF) : null } : null;
    out.push(`(f) growth: ThreadPool cost(${fmt(g.to)})/cost(10,000) = ${ratio(g.value)}` +
      (gp ? `; ${bestPeerF} cost(${fmt(config.peerMaxTasks)})/cost(10,000) = ${ratio(gp.value)}` : ''));
  }

  const detail = [
    ['a', '(a) tasks/s', false], ['b', '(b) map tasks/s', false], ['c', '(c) speedup', false], ['c_ms', '(c) ms', true],
    ['d_copy', '(d) copy ms', true], ['d_transfer', '(d) transfer ms', true], ['d_speed', '(d) xfer/copy', false], ['e', '(e) cold ms', true],
  ].filter(([key]) => scenarios[key]);
  if (detail.length) {
    const ids = [...new Set(detail.flatMap(([key]) => Object.keys(scenarios[key])))];
    const labelOf = (id) => detail.map(([key]) => scenarios[key][id]?.label).find(Boolean) ?? id;
    const cell = (key, id) => {
      const e = scenarios[key][id];
      if (!e || e.median === null || e.median === undefined) return '—';
      const unit = key === 'c' || key === 'd_speed' ? 'speedup' : key === 'a' || key === 'b' ? 'tasks/s' : 'ms';
      const spread = e.min !== undefined && e.min !== null && e.samples.length > 1 && unit !== 'speedup' ? ` [${formatValue(e.min, unit)}–${formatValue(e.max, unit)}]` : '';
      return `${formatValue(e.median, unit)}${spread}`;
    };
    out.push('');
    out.push('All pools (median [min–max] of each measurement):');
    out.push(table(['pool', ...detail.map(([, title]) => title)], ids.map((id) => [labelOf(id), ...detail.map(([key]) => cell(key, id))])));
  }
  const fKeys = config.scaling.map(([n]) => n).filter((n) => scenarios[`f_${n}`]);
  if (fKeys.length) {
    out.push('');
    const fIds = [...new Set(fKeys.flatMap((n) => Object.keys(scenarios[`f_${n}`])))];
    out.push(table(['(f) µs per task', ...fKeys.map((n) => `${fmt(n)} tasks`)],
      fIds.map((id) => [scenarios[`f_${fKeys[0]}`][id]?.label ?? id, ...fKeys.map((n) => {
        const e = scenarios[`f_${n}`][id];
        return e?.median ? `${sig(e.median)} [${sig(e.min)}–${sig(e.max)}]` : '—';
      })])));
  }

  out.push('');
  out.push('Targets (issue 2), from this run\'s medians:');
  for (const t of targetList) {
    const verdict = t.pass === null ? 'SKIP' : t.pass ? 'PASS' : 'FAIL';
    const info = t.subject === 'fj-process' ? '  [ProcessPool, informational]' : '';
    out.push(`  ${verdict}  ${t.text}: ${t.measured}${info}`);
  }
  if (errors.length) {
    out.push('');
    out.push(`${errors.length} measurement(s) failed (details in the JSON):`);
    for (const e of errors) out.push(`  ${e.what}: ${e.error.split('\n')[0]}`);
  }
  console.log(out.join('\n'));
}

// ---- main ---------------------------------------------------------------------------------

let calibration = null;
let bestPeerF = null;
if (['a', 'b', 'c', 'd'].some((k) => ONLY.has(k))) calibration = await warmScenarios();
await sleep(200);
if (ONLY.has('e')) coldStart();
if (ONLY.has('f')) bestPeerF = await scaling();

meta.loadavgEnd = os.loadavg();
meta.durationSec = Math.round((performance.now() - t0) / 100) / 10;
const rows = summaryRows();
const targetList = targets();
printReport(rows, targetList, bestPeerF);

const dir = new URL('./results/', import.meta.url);
mkdirSync(dir, { recursive: true });
const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
const file = new URL(`${stamp}.json`, dir);
writeFileSync(file, `${JSON.stringify({ meta, config, calibration, scenarios, summary: rows, targets: targetList, errors }, null, 2)}\n`);
console.log(`\nfull results: ${fileURLToPath(file)} (${meta.durationSec} s)`);
if (hungPools.length > 0) {
  // Every pool is closed normally; only a close that never settled (reported above) forces the exit.
  console.log(`closing ${hungPools.join(', ')} never settled: ending the process explicitly`);
  process.exit();
}
