// Coordination benchmark: forkjoin's Mutex beside async-mutex (one thread) and a lock
// brokered by messages through the main thread. Medians of several runs; ratios, not times.
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { Worker } from 'node:worker_threads';
import { Mutex as AsyncMutex } from 'async-mutex';
import { Mutex, ThreadPool } from 'forkjoin';
import { fmt, median, table } from './lib/stats.js';

const QUICK = process.env.BENCH_QUICK === '1';
const REPS = QUICK ? 3 : 7;
const UNCONTENDED_OPS = 2_000_000;
const CONTENDED_ROUNDS = QUICK ? 20_000 : 50_000;
const BROKERED_ROUNDS = QUICK ? 2_000 : 5_000;

function perSecond(ops, ms) {
  return (ops * 1000) / ms;
}

/** Uncontended lock + unlock on the main thread: tryLock() and release(). */
function forkjoinUncontended() {
  const mutex = new Mutex();
  const t0 = performance.now();
  for (let i = 0; i < UNCONTENDED_OPS; i++) mutex.tryLock().release();
  return perSecond(UNCONTENDED_OPS, performance.now() - t0);
}

/** The same in a worker thread with the blocking lockSync(). */
async function forkjoinUncontendedInWorker(pool) {
  const mutex = new Mutex();
  return pool.run((m, n) => {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) m.lockSync().release();
    return (n * 1000) / (performance.now() - t0);
  }, [mutex, UNCONTENDED_OPS]);
}

/** async-mutex, the usual choice within one thread: acquire() resolves a promise each time. */
async function asyncMutexUncontended() {
  const mutex = new AsyncMutex();
  const n = UNCONTENDED_OPS / 4;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) (await mutex.acquire())();
  return perSecond(n, performance.now() - t0);
}

/** Two threads taking one forkjoin Mutex in turn, each round incrementing a shared cell. */
async function forkjoinContended(pool) {
  const mutex = new Mutex();
  const cell = new Int32Array(new SharedArrayBuffer(4));
  const round = (m, c, n) => {
    for (let i = 0; i < n; i++) {
      const held = m.lockSync();
      c[0] = c[0] + 1;
      held.release();
    }
  };
  const t0 = performance.now();
  await Promise.all([pool.run(round, [mutex, cell, CONTENDED_ROUNDS]), pool.run(round, [mutex, cell, CONTENDED_ROUNDS])]);
  const ms = performance.now() - t0;
  if (cell[0] !== 2 * CONTENDED_ROUNDS) throw new Error(`contended: lost updates (${cell[0]})`);
  return perSecond(2 * CONTENDED_ROUNDS, ms);
}

/**
 * Strict hand-off: the lock changes hands every round. A turn word says whose
 * round it is; the thread whose turn it is takes the lock as the other lets go.
 */
async function forkjoinHandoff(pool) {
  const mutex = new Mutex();
  const cell = new Int32Array(new SharedArrayBuffer(4));
  const turn = new Int32Array(new SharedArrayBuffer(4));
  const player = (m, c, t, me, n) => {
    for (let i = 0; i < n; i++) {
      // Wait for this thread's turn the way lockSync waits: spin briefly, then sleep.
      for (let spin = 0; Atomics.load(t, 0) !== me; spin++) if (spin > 100_000) Atomics.wait(t, 0, 1 - me);
      const held = m.lockSync();
      c[0] = c[0] + 1;
      Atomics.store(t, 0, 1 - me);
      Atomics.notify(t, 0);
      held.release();
    }
  };
  const t0 = performance.now();
  await Promise.all([pool.run(player, [mutex, cell, turn, 0, BROKERED_ROUNDS]), pool.run(player, [mutex, cell, turn, 1, BROKERED_ROUNDS])]);
  const ms = performance.now() - t0;
  if (cell[0] !== 2 * BROKERED_ROUNDS) throw new Error(`hand-off: lost updates (${cell[0]})`);
  return perSecond(2 * BROKERED_ROUNDS, ms);
}

/** A lock held by the main thread and lent by message: acquire and release are one message each way. */
async function brokeredContended() {
  const source = `
    const { parentPort, workerData } = require('node:worker_threads');
    const cell = new Int32Array(workerData.buffer);
    let left = workerData.rounds;
    parentPort.on('message', (message) => {
      if (message === 'start') {
        parentPort.postMessage('acquire');
        return;
      }
      // 'granted': this thread holds the lock until it says 'release'.
      Atomics.store(cell, 0, Atomics.load(cell, 0) + 1);
      parentPort.postMessage('release');
      parentPort.postMessage(--left > 0 ? 'acquire' : 'done');
    });`;
  const cell = new Int32Array(new SharedArrayBuffer(4));
  const workers = [0, 1].map(() => new Worker(source, { eval: true, workerData: { buffer: cell.buffer, rounds: BROKERED_ROUNDS } }));
  await Promise.all(workers.map((w) => new Promise((resolve) => w.once('online', resolve))));
  const t0 = performance.now();
  await new Promise((resolve) => {
    let holder = null;
    const waiting = [];
    let done = 0;
    const grant = () => {
      if (holder !== null || waiting.length === 0) return;
      holder = waiting.shift();
      holder.postMessage('granted');
    };
    for (const w of workers) {
      w.on('message', (m) => {
        if (m === 'acquire') waiting.push(w);
        else if (m === 'release') holder = null;
        else if (m === 'done' && ++done === workers.length) resolve();
        grant();
      });
      w.postMessage('start');
    }
  });
  const ms = performance.now() - t0;
  await Promise.all(workers.map((w) => w.terminate()));
  if (cell[0] !== 2 * BROKERED_ROUNDS) throw new Error(`brokered: lost updates (${cell[0]})`);
  return perSecond(2 * BROKERED_ROUNDS, ms);
}

async function repeat(fn) {
  const samples = [];
  for (let i = 0; i < REPS; i++) samples.push(await fn());
  return { samples, median: median(samples) };
}

async function main() {
  const pool = new ThreadPool({ workers: 2, minWorkers: 2 });
  await pool.run((x) => x, [0]);
  await forkjoinContended(pool);
  const results = {
    forkjoinUncontended: await repeat(forkjoinUncontended),
    forkjoinUncontendedInWorker: await repeat(() => forkjoinUncontendedInWorker(pool)),
    asyncMutexUncontended: await repeat(asyncMutexUncontended),
    forkjoinContended: await repeat(() => forkjoinContended(pool)),
    forkjoinHandoff: await repeat(() => forkjoinHandoff(pool)),
    brokeredContended: await repeat(brokeredContended),
  };
  await pool.close();
  const m = (k) => results[k].median;
  console.log(`\nforkjoin coordination benchmark — ${new Date().toISOString()}, Node ${process.version}, ${availableParallelism()} CPUs, medians of ${REPS}\n`);
  console.log(table(['measure', 'ops/s', 'ratio'], [
    ['uncontended lock+unlock, forkjoin Mutex (main thread, tryLock)', fmt(m('forkjoinUncontended')), `${fmt(m('forkjoinUncontended') / m('asyncMutexUncontended'), 1)}x async-mutex`],
    ['uncontended lock+unlock, forkjoin Mutex (worker, lockSync)', fmt(m('forkjoinUncontendedInWorker')), `${fmt(m('forkjoinUncontendedInWorker') / m('asyncMutexUncontended'), 1)}x async-mutex`],
    ['uncontended acquire+release, async-mutex (one thread)', fmt(m('asyncMutexUncontended')), '1.0x'],
    ['2 threads contending, forkjoin Mutex', fmt(m('forkjoinContended')), `${fmt(m('forkjoinContended') / m('brokeredContended'), 1)}x brokered`],
    ['2 threads, strict hand-off every round, forkjoin Mutex', fmt(m('forkjoinHandoff')), `${fmt(m('forkjoinHandoff') / m('brokeredContended'), 1)}x brokered`],
    ['2 threads contending, lock brokered by messages (a hand-off each round)', fmt(m('brokeredContended')), '1.0x'],
  ]));
  const targets = [
    [m('forkjoinUncontended') >= 10e6, `uncontended lock + unlock >= 10,000,000/s: ${fmt(m('forkjoinUncontended'))}/s`],
    [m('forkjoinHandoff') >= 10 * m('brokeredContended'), `contended hand-off >= 10x a message-brokered lock: strict hand-off ${fmt(m('forkjoinHandoff') / m('brokeredContended'), 1)}x (free contention ${fmt(m('forkjoinContended') / m('brokeredContended'), 1)}x)`],
  ];
  console.log('\nTargets (issue 6), from this run\'s medians:');
  for (const [ok, text] of targets) console.log(`  ${ok ? 'PASS' : 'FAIL'}  ${text}`);
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  const file = new URL(`./results/sync-${new Date().toISOString().replace(/[:.]/g, '-')}.json`, import.meta.url);
  writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), node: process.version, cpus: cpus().length, reps: REPS, results }, null, 2));
  console.log(`\nsamples: ${file.pathname}`);
}

await main();
