// Cluster benchmark: 5,000 tiny tasks and 64 CPU tasks of ~25 ms over 2 engines, beside
// ipyparallel, dask.distributed and raw BullMQ on the same Redis. Prints a table with
// PASS/FAIL per target of issue 5 and writes JSON to bench/results/.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Cluster, taskModule } from 'forkjoin';
import { Redis } from 'ioredis';
import { rawBullmq, startRawBullmq } from './cluster/raw-bullmq.mjs';
import { startEngine, startRedis, stop, tasksUrl } from '../test/fixtures/cluster/harness.js';
import { spin } from '../test/fixtures/cluster/tasks.js';

const N = 5_000;
const N_CPU = 64;
const CPU_MS = 25;
const REPS = Number(process.env.BENCH_REPS ?? 3);
/** The one-per-job comparison with raw BullMQ is close: more alternating repetitions. */
const TINY_REPS = Math.max(REPS, 9);
const tasks = taskModule(tasksUrl);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function rate(n, fn) {
  const rates = [];
  for (let i = 0; i < REPS; i++) {
    const t = performance.now();
    await fn();
    rates.push(n / ((performance.now() - t) / 1000));
  }
  return median(rates);
}

async function seconds(fn) {
  const times = [];
  for (let i = 0; i < REPS; i++) {
    const t = performance.now();
    await fn();
    times.push((performance.now() - t) / 1000);
  }
  return median(times);
}

function hasPython(module) {
  return spawnSync('/usr/bin/python3', ['-c', `import ${module}`], { stdio: 'ignore' }).status === 0;
}

function peer(which) {
  const module = which === 'ipyparallel' ? 'ipyparallel' : 'distributed';
  if (!hasPython(module)) {
    console.log(`${which}: missing (install python3-${which === 'ipyparallel' ? 'ipyparallel' : 'distributed'} with apt-get); forkjoin is still reported`);
    return null;
  }
  try {
    const out = execFileSync('/usr/bin/python3', [fileURLToPath(new URL('./cluster/peers.py', import.meta.url)), which, String(N), String(N_CPU), String(CPU_MS), String(REPS)],
      { encoding: 'utf8', timeout: 600_000, stdio: ['ignore', 'pipe', 'ignore'] });
    const line = out.split('\n').find((l) => l.startsWith('RESULT '));
    return line === undefined ? null : JSON.parse(line.slice(7));
  } catch (error) {
    console.log(`${which}: failed (${error.message.split('\n')[0]})`);
    return null;
  }
}

/**
 * The cluster's keys (less the engines' own), the bytes they hold (MEMORY USAGE, summed), and
 * Redis's used_memory. used_memory also counts connection buffers: between two readings a
 * second apart on an idle cluster it moved by 40 KB here, so the verdict uses the keys' bytes.
 */
async function keyCounts(url) {
  const conn = new Redis(url);
  try {
    const keys = (await conn.keys('*')).filter((k) => !/:engine:|:engines$/.test(k)).sort();
    let held = 0;
    for (const key of keys) held += Number(await conn.memory('USAGE', key, 'SAMPLES', '0') ?? 0);
    const mem = Number(/used_memory:(\d+)/.exec(await conn.info('memory'))?.[1] ?? 0);
    return { keys, held, mem };
  } finally {
    conn.disconnect();
  }
}

async function main() {
  const redis = await startRedis();
  const engines = [];
  let cluster = null;
  const r = {};
  try {
    for (const name of ['bench-1', 'bench-2']) engines.push(await startEngine(redis.url, { name, workers: 1 }));
    cluster = await Cluster.connect({ redis: redis.url, minEngines: 2 });
    const inputs = Array.from({ length: N }, (_, i) => i);
    await Promise.all(inputs.map((i) => cluster.run(tasks.square, [i]))); // warm-up: one untimed burst, as for raw BullMQ
    // Tiny tasks one per job, forkjoin and raw BullMQ (concurrency 50) in alternation, so that
    // both meet the same moments of a shared machine; each side idles while the other runs.
    const raw = await startRawBullmq(redis.url, 2, 50);
    const tinyRuns = [];
    const rawRuns = [];
    try {
      await raw.burst(N); // warm-up
      for (let i = 0; i < TINY_REPS; i++) {
        const t = performance.now();
        await Promise.all(inputs.map((x) => cluster.run(tasks.square, [x])));
        tinyRuns.push(N / ((performance.now() - t) / 1000));
        rawRuns.push(await raw.burst(N));
      }
    } finally {
      await raw.stop();
    }
    r.tinyPerJob = median(tinyRuns);
    r.rawC50 = median(rawRuns);
    r.tinyRuns = tinyRuns;
    r.rawC50Runs = rawRuns;
    const before = await keyCounts(redis.url);
    r.mapAuto = await rate(N, () => cluster.map(tasks.square, inputs, { chunksize: 'auto' }));
    r.map100 = await rate(N, () => cluster.map(tasks.square, inputs, { chunksize: 100 }));
    let t = performance.now();
    for (let i = 0; i < N_CPU; i++) spin(CPU_MS);
    r.cpuSequentialS = (performance.now() - t) / 1000;
    r.cpuClusterS = await seconds(() => Promise.all(Array.from({ length: N_CPU }, () => cluster.run(tasks.spin, [CPU_MS]))));
    r.cpuSpeedup = r.cpuSequentialS / r.cpuClusterS;
    // Bounded Redis: 100,000 more tasks (10,000 one per job, 90,000 through map), then
    // compare keys and memory with before.
    for (let k = 0; k < 10; k++) await Promise.all(inputs.slice(0, 1000).map((i) => cluster.run(tasks.square, [i])));
    const mapped = await cluster.map(tasks.square, Array.from({ length: 90_000 }, (_, i) => i), { chunksize: 'auto' });
    if (mapped.length !== 90_000 || mapped[89_999] !== 89_999 * 89_999) throw new Error('the 90,000-task map returned wrong results');
    await new Promise((res) => setTimeout(res, 1_500));
    const afterKeys = await keyCounts(redis.url);
    r.keysBefore = before.keys.length;
    r.keysAfter = afterKeys.keys.length;
    r.newKeys = afterKeys.keys.filter((k) => !before.keys.includes(k));
    r.memBefore = before.mem;
    r.memAfter = afterKeys.mem;
    r.heldBefore = before.held;
    r.heldAfter = afterKeys.held;
    await cluster.close();
    cluster = null;
    for (const e of engines) await stop(e);
    engines.length = 0;
    r.rawC1 = await rawBullmq(redis.url, N, 2, 1);
  } finally {
    await cluster?.terminate();
    for (const e of engines) await stop(e);
    await redis.stop();
  }
  const ipp = peer('ipyparallel');
  const dask = peer('dask');
  const rawBest = Math.max(r.rawC1, r.rawC50);
  const f = (x) => (x === undefined || x === null ? 'n/a' : x >= 100 ? Math.round(x).toLocaleString('en-US') : x.toFixed(2));
  const rows = [
    ['forkjoin Cluster, tiny, one per job (tasks/s)', f(r.tinyPerJob)],
    ['forkjoin Cluster, tiny, map chunksize auto (tasks/s)', f(r.mapAuto)],
    ['forkjoin Cluster, tiny, map chunksize 100 (tasks/s)', f(r.map100)],
    ['forkjoin Cluster, 64 x 25 ms CPU (s; sequential s)', `${f(r.cpuClusterS)} (${f(r.cpuSequentialS)}) speedup ${f(r.cpuSpeedup)}`],
    ['ipyparallel map_sync (tasks/s)', f(ipp?.tiny)],
    ['ipyparallel map_sync chunksize 100 (tasks/s)', f(ipp?.chunked)],
    ['ipyparallel 64 x 25 ms CPU (s)', f(ipp?.cpu_s)],
    ['dask.distributed client.map (tasks/s)', f(dask?.tiny)],
    ['dask.distributed 64 x 25 ms CPU (s)', f(dask?.cpu_s)],
    ['raw BullMQ concurrency 1 (tasks/s)', f(r.rawC1)],
    ['raw BullMQ concurrency 50 (tasks/s)', f(r.rawC50)],
    ['Redis keys before / after 100,000 more tasks', `${r.keysBefore} / ${r.keysAfter}`],
    ['Redis: bytes its keys hold before / after', `${r.heldBefore} / ${r.heldAfter}`],
    ['Redis used_memory before / after (bytes)', `${r.memBefore} / ${r.memAfter}`],
  ];
  const targets = [
    ['tiny one per job >= 5x ipyparallel', ipp ? r.tinyPerJob / ipp.tiny : null, 5],
    ['tiny one per job >= 2x dask.distributed', dask ? r.tinyPerJob / dask.tiny : null, 2],
    ['tiny one per job >= 0.8x raw BullMQ best', r.tinyPerJob / rawBest, 0.8],
    ['map chunksize auto >= 2.5x ipyparallel chunked', ipp ? r.mapAuto / ipp.chunked : null, 2.5],
    ['64 CPU tasks on 2 engines speedup >= 1.8', r.cpuSpeedup, 1.8],
    ['no keys left behind after 100,000 tasks', r.newKeys.length === 0 ? 1 : 0, 1],
    ['bytes held by keys after <= before (+64 KiB slack)', r.heldAfter <= r.heldBefore + 65_536 ? 1 : 0, 1],
  ];
  const width = Math.max(...rows.map((x) => x[0].length), ...targets.map((x) => x[0].length));
  console.log(`\ncluster benchmark: ${N} tiny tasks, ${N_CPU} x ${CPU_MS} ms CPU tasks, 2 engines x 1 worker, medians of ${REPS} (one per job vs raw BullMQ: ${TINY_REPS}, alternating)`);
  for (const [name, value] of rows) console.log(`  ${name.padEnd(width)}  ${value}`);
  console.log('\ntargets:');
  const verdicts = targets.map(([name, ratio, goal]) => ({ name, ratio, goal, pass: ratio === null ? null : ratio >= goal }));
  for (const v of verdicts) console.log(`  ${v.name.padEnd(width)}  ${v.ratio === null ? 'n/a (peer missing)' : `${v.ratio.toFixed(2)}  ${v.pass ? 'PASS' : 'FAIL'}`}`);
  if (r.newKeys.length > 0) console.log(`  keys left behind: ${r.newKeys.slice(0, 10).join(', ')}`);
  const dir = fileURLToPath(new URL('./results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  const file = `${dir}cluster-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
  writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), n: N, nCpu: N_CPU, cpuMs: CPU_MS, reps: REPS, forkjoin: r, ipyparallel: ipp, dask, targets: verdicts }, null, 2));
  console.log(`\nwritten ${file}`);
}

await main();
