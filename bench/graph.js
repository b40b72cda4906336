// `node bench/graph.js` (the last step of `npm run bench`): task graphs, forkjoin beside Dask.
//
// The graph: 8,192 leaf tasks inc(i), reduced pairwise by add to one root (16,383 nodes).
// Each run times the graph's construction plus its computation; the cost per node is that
// time over 16,383. forkjoin runs it on a LocalExecutor (in this thread), a ThreadPool(2) and
// a ProcessPool(2); Dask (Debian's /usr/bin/python3, python3-dask, python3-distributed) on
// its sync, threads and processes schedulers and a dask.distributed LocalCluster of 2
// workers. Runs go in rounds — each forkjoin executor a few times (order rotating), then
// each Dask scheduler once — so the drift of a shared machine hits every runner alike; the
// report shows medians and ratios. Then the cached second run: the same graph computed twice with a
// cache (a fresh DiskCache directory; a MemoryCache), the second run against the first.
//
// Environment: BENCH_QUICK=1 (fewer rounds), BENCH_DASK=0 (forkjoin only).
// Missing Dask packages are installed with apt-get when this runs as root; otherwise the
// report says so plainly and still gives forkjoin's numbers. Samples: bench/results/graph-*.json.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DiskCache, LocalExecutor, MemoryCache, ProcessPool, ThreadPool, compute, delayed, taskModule,
} from 'forkjoin';
import { collect, median, ratio, sig, table, withTimeout } from './lib/stats.js';

const QUICK = process.env.BENCH_QUICK === '1';
const WITH_DASK = process.env.BENCH_DASK !== '0';
const LEAVES = 8_192;
const NODES = 2 * LEAVES - 1;
const EXPECTED = (LEAVES * (LEAVES + 1)) / 2;
const config = {
  quick: QUICK,
  leaves: LEAVES,
  nodes: NODES,
  rounds: QUICK ? 3 : 7,
  /** forkjoin's runs are short (tens of ms): several per round make its medians as steady as Dask's. */
  runsPerRound: QUICK ? 2 : 3,
  /** dask.distributed takes about a minute per run here: it joins the first rounds only. */
  distributedRounds: QUICK ? 1 : 3,
  cachedReps: QUICK ? 1 : 3,
  warmups: 2,
  workers: 2,
};
const PYTHON = '/usr/bin/python3';
const DASK_SCRIPT = fileURLToPath(new URL('./graph/dask_tree.py', import.meta.url));
const RUN_TIMEOUT_MS = 600_000;
const log = (message) => process.stderr.write(`${message}\n`);
const rotate = (list, by) => list.map((_, i) => list[(i + by) % list.length]);
const startedAt = new Date();

const tasks = taskModule(new URL('./graph/tasks.js', import.meta.url));
const inc = delayed(tasks.inc);
const add = delayed(tasks.add);

/** The tree: LEAVES inc nodes, added pairwise, level by level, to one root. */
function build() {
  let level = new Array(LEAVES);
  for (let i = 0; i < LEAVES; i++) level[i] = inc(i);
  while (level.length > 1) {
    const next = new Array(level.length >> 1);
    for (let i = 0; i < next.length; i++) next[i] = add(level[2 * i], level[2 * i + 1]);
    level = next;
  }
  return level[0];
}

/** One run: construction plus computation, in ms. */
async function once(options) {
  const start = performance.now();
  const value = await compute(build(), options);
  const ms = performance.now() - start;
  if (value !== EXPECTED) throw new Error(`the graph computed ${value}, expected ${EXPECTED}`);
  return ms;
}

// ---- Dask ---------------------------------------------------------------------

function daskAvailable() {
  const probe = spawnSync(PYTHON, ['-c', 'import dask, distributed; print(dask.__version__, distributed.__version__)'], { encoding: 'utf8' });
  return probe.status === 0 ? { ok: true, versions: probe.stdout.trim() } : { ok: false, why: (probe.stderr || String(probe.error ?? '')).trim().split('\n').at(-1) };
}

/** Dask, or the reason it is missing (after trying to install it with apt-get as root). */
function ensureDask() {
  let found = daskAvailable();
  if (found.ok) return found;
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!root) return { ok: false, why: `${found.why}; not root, so apt-get install python3-dask python3-distributed was not tried` };
  log('Dask is missing: apt-get update && apt-get install -y python3-dask python3-distributed');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const update = spawnSync('apt-get', ['update', '-qq'], { stdio: ['ignore', 'ignore', 'inherit'], env });
  const install = spawnSync('apt-get', ['install', '-y', '-qq', 'python3-dask', 'python3-distributed'], { stdio: ['ignore', 'ignore', 'inherit'], env });
  found = daskAvailable();
  if (found.ok) return found;
  return { ok: false, why: `${found.why} (apt-get update exited ${update.status}, apt-get install exited ${install.status})` };
}

/** One round of Dask: one run per scheduler, in one Python process (schedulers warmed on a small graph first). */
function daskRound(schedulers) {
  const run = spawnSync(PYTHON, [DASK_SCRIPT, String(LEAVES), '1', schedulers.join(',')], {
    encoding: 'utf8', timeout: RUN_TIMEOUT_MS * 2, maxBuffer: 1 << 24,
  });
  if (run.status !== 0) return { error: `python exited ${run.status ?? run.signal}: ${(run.stderr || '').trim().split('\n').slice(-3).join(' | ')}` };
  try {
    return JSON.parse(run.stdout.trim().split('\n').at(-1));
  } catch {
    return { error: `unreadable output: ${run.stdout.slice(0, 200)}` };
  }
}

// ---- the run ------------------------------------------------------------------

const runners = [
  { id: 'fj-local', label: 'forkjoin LocalExecutor (in-thread)', make: () => new LocalExecutor() },
  // Warm pools, as Dask's are: workers stay alive while Dask's rounds run (minWorkers), not respawned each round.
  { id: 'fj-thread', label: `forkjoin ThreadPool(${config.workers})`, make: () => new ThreadPool({ workers: config.workers, minWorkers: config.workers }) },
  { id: 'fj-process', label: `forkjoin ProcessPool(${config.workers})`, make: () => new ProcessPool({ workers: config.workers, minWorkers: config.workers }) },
];
const daskRunners = [
  { id: 'dask-sync', scheduler: 'sync', label: 'Dask sync' },
  { id: 'dask-threads', scheduler: 'threads', label: 'Dask threads (2)' },
  { id: 'dask-processes', scheduler: 'processes', label: 'Dask processes (2)' },
  { id: 'dask-distributed', scheduler: 'distributed', label: 'dask.distributed LocalCluster (2 workers)' },
];
const samples = Object.fromEntries([...runners, ...daskRunners].map((r) => [r.id, []]));
const errors = [];

async function main() {
  const meta = {
    date: startedAt.toISOString(), node: process.version, platform: `${process.platform} ${os.release()} ${process.arch}`,
    cpus: os.availableParallelism(), cpuModel: os.cpus()[0]?.model ?? null, loadavgStart: os.loadavg(),
  };
  const dask = WITH_DASK ? ensureDask() : { ok: false, why: 'BENCH_DASK=0' };
  meta.dask = dask.ok ? dask.versions : null;
  if (!dask.ok) log(`Dask is not available (${dask.why}): reporting forkjoin's numbers only`);

  log(`graph benchmark: ${LEAVES.toLocaleString('en')} inc leaves reduced pairwise by add (${NODES.toLocaleString('en')} nodes), ${config.rounds} rounds`);
  for (const r of runners) {
    r.executor = r.make();
    for (let i = 0; i < config.warmups; i++) await withTimeout(once({ executor: r.executor }), RUN_TIMEOUT_MS, `${r.id} warm-up`);
  }
  for (let round = 0; round < config.rounds; round++) {
    const line = [];
    for (const r of rotate(runners, round)) {
      // No forced GC before a run: V8 shrinks its young generation after one, which a running
      // program does not see; the rotating order shares each runner's leftover garbage out evenly.
      try {
        const runs = [];
        for (let i = 0; i < config.runsPerRound; i++) runs.push(await withTimeout(once({ executor: r.executor }), RUN_TIMEOUT_MS, r.id));
        samples[r.id].push(...runs);
        line.push(`${r.id} ${runs.map((ms) => sig((ms * 1000) / NODES)).join('/')} µs/node`);
      } catch (error) {
        errors.push({ what: r.id, error: String(error?.stack ?? error) });
        line.push(`${r.id} failed`);
      }
    }
    if (dask.ok) {
      const schedulers = daskRunners.filter((d) => d.scheduler !== 'distributed' || round < config.distributedRounds).map((d) => d.scheduler);
      const out = daskRound(schedulers);
      if (out.error !== undefined) errors.push({ what: `dask round ${round + 1}`, error: out.error });
      for (const d of daskRunners) {
        const s = out.samples?.[d.scheduler]?.[0];
        if (s !== undefined) {
          samples[d.id].push(s * 1000);
          line.push(`${d.id} ${sig((s * 1e6) / NODES)} µs/node`);
        }
        if (out.errors?.[d.scheduler] !== undefined) errors.push({ what: d.id, error: out.errors[d.scheduler] });
      }
    }
    log(`  round ${round + 1}: ${line.join(', ')}`);
  }

  // Construction alone: hashing every node's task and arguments into its key.
  const builds = [];
  for (let i = 0; i < 9; i++) {
    const start = performance.now();
    build();
    builds.push(performance.now() - start);
  }

  // The cached second run: the same graph, built again and computed with the cache the first run filled.
  const cached = { disk: { first: [], second: [] }, memory: { first: [], second: [] } };
  const pool = runners.find((r) => r.id === 'fj-thread').executor;
  log(`cached second run on the ThreadPool, ${config.cachedReps} repetition(s): a DiskCache (one file per node), then a MemoryCache`);
  for (let rep = 0; rep < config.cachedReps; rep++) {
    const dir = mkdtempSync(join(os.tmpdir(), 'forkjoin-bench-cache-'));
    try {
      collect();
      cached.disk.first.push(await withTimeout(once({ executor: pool, cache: new DiskCache(dir) }), RUN_TIMEOUT_MS, 'disk first'));
      collect();
      cached.disk.second.push(await withTimeout(once({ executor: pool, cache: new DiskCache(dir) }), RUN_TIMEOUT_MS, 'disk second'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const memory = new MemoryCache();
    collect();
    cached.memory.first.push(await once({ executor: pool, cache: memory }));
    collect();
    cached.memory.second.push(await once({ executor: pool, cache: memory }));
    log(`  rep ${rep + 1}: DiskCache ${sig(cached.disk.first.at(-1))} ms then ${sig(cached.disk.second.at(-1))} ms; ` +
      `MemoryCache ${sig(cached.memory.first.at(-1))} ms then ${sig(cached.memory.second.at(-1))} ms`);
  }
  for (const r of runners) await r.executor.close();

  report(meta, dask, cached, builds);
}

function report(meta, dask, cached, builds) {
  const perNode = (id) => {
    const m = median(samples[id]);
    return m === null ? null : (m * 1000) / NODES;
  };
  const all = [...runners, ...daskRunners];
  const rows = all.map((r) => {
    const xs = samples[r.id];
    const us = perNode(r.id);
    const missing = WITH_DASK ? 'Dask missing' : 'not run (BENCH_DASK=0)';
    const note = r.id.startsWith('dask') && !dask.ok ? missing : xs.length === 0 ? 'no run' : `${xs.length} runs`;
    return [r.label, sig(us), us === null ? '—' : sig((us * NODES) / 1000), note];
  });
  console.log(`\nTask graph: ${LEAVES.toLocaleString('en')} inc leaves reduced pairwise by add, ${NODES.toLocaleString('en')} nodes; ` +
    'time per node including the graph\'s construction (median)\n');
  console.log(table(['runner', 'µs/node', 'ms/graph', ''], rows));
  console.log(`(building the graph alone: ${sig((median(builds) * 1000) / NODES)} µs/node, included above)`);

  const speedup = (fj, dk) => {
    const a = perNode(fj);
    const b = perNode(dk);
    return a === null || b === null ? null : b / a;
  };
  const ratioRows = runners.map((r) => [r.label, ...daskRunners.map((d) => ratio(speedup(r.id, d.id)))]);
  console.log('\nforkjoin\'s speed-up per node over each Dask scheduler (Dask µs/node ÷ forkjoin µs/node)\n');
  console.log(table(['', ...daskRunners.map((d) => d.label.replace(' LocalCluster (2 workers)', ''))], ratioRows));

  const ratioOf = (pair) => {
    const a = median(pair.first);
    const b = median(pair.second);
    return a === null || b === null ? null : b / a;
  };
  const diskRatio = ratioOf(cached.disk);
  const memoryRatio = ratioOf(cached.memory);
  // Beside the target's ratio, the second run against a run with no cache at all (the rounds above).
  const uncached = median(samples['fj-thread']);
  const against = (ms) => (ms === null || uncached === null ? null : ms / uncached);
  console.log('\nCached second run on the ThreadPool: the same graph built again, computed with the cache the first run filled (median ms)\n');
  console.log(table(['cache', 'first run', 'second run', 'second / first', 'second / no-cache run'], [
    ['DiskCache (fresh directory)', sig(median(cached.disk.first)), sig(median(cached.disk.second)), sig(diskRatio), sig(against(median(cached.disk.second)))],
    ['MemoryCache', sig(median(cached.memory.first)), sig(median(cached.memory.second)), sig(memoryRatio), sig(against(median(cached.memory.second)))],
  ]));
  console.log(`(no-cache run: ${sig(uncached)} ms, the ThreadPool's median above; a DiskCache's first run writes a file per node)`);

  const target = (name, value, goal, unit = 'x', better = 'higher') => {
    if (value === null) return { name, value: null, goal, pass: null };
    return { name, value, goal, pass: better === 'higher' ? value >= goal : value < goal, unit };
  };
  const targets = [
    target('LocalExecutor vs Dask sync: at least 20x faster per node', speedup('fj-local', 'dask-sync'), 20),
    target('ThreadPool vs Dask threads: at least 10x faster per node', speedup('fj-thread', 'dask-threads'), 10),
    target('ThreadPool vs dask.distributed: at least 50x faster per node', speedup('fj-thread', 'dask-distributed'), 50),
    target('cached second run (DiskCache) under 1/10 of the first', diskRatio, 0.1, '', 'lower'),
    target('cached second run (MemoryCache) under 1/10 of the first', memoryRatio, 0.1, '', 'lower'),
  ];
  console.log('\nTargets (issue 3)\n');
  for (const t of targets) {
    const verdict = t.pass === null ? 'n/a ' : t.pass ? 'PASS' : 'FAIL';
    const shown = t.value === null ? (dask.ok ? 'no measurement' : `Dask missing: ${dask.why}`) : t.unit === 'x' ? ratio(t.value) : sig(t.value);
    console.log(`  ${verdict}  ${t.name}: ${shown}`);
  }
  if (errors.length > 0) {
    console.log(`\n${errors.length} error(s):`);
    for (const e of errors) console.log(`  ${e.what}: ${e.error.split('\n')[0]}`);
  }

  meta.loadavgEnd = os.loadavg();
  const out = {
    meta, config, dask: dask.ok ? { versions: dask.versions } : { missing: dask.why }, samplesMs: samples, buildMs: builds,
    cachedMs: cached, targets, errors,
  };
  const dir = fileURLToPath(new URL('./results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `graph-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
  console.log(`\nsamples: ${file}`);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
