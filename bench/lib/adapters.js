// One small adapter per pool, so every scenario drives every library the same
// way: open(), square(x), spin(n), probe(arr, transfer), close() — plus map()
// for forkjoin. Each adapter calls the library's own documented API directly.
import { fileURLToPath } from 'node:url';
import { ProcessPool, ThreadPool, taskModule } from 'forkjoin';
import { Piscina } from 'piscina';
import { Tinypool } from 'tinypool';
import workerpool from 'workerpool';
import { FixedThreadPool, PoolEvents } from 'poolifier';
import { once } from 'node:events';

export const WORKERS = 2;

const tasksUrl = new URL('../tasks/tasks.js', import.meta.url);
const workerpoolFile = fileURLToPath(new URL('../tasks/workerpool-worker.js', import.meta.url));
const poolifierFile = fileURLToPath(new URL('../tasks/poolifier-worker.js', import.meta.url));
const fj = taskModule(tasksUrl);

/**
 * group: 'forkjoin' (the subject), 'peer' (the thread-pool peers the targets
 * compare against), 'process-peer' (peers in child-process mode, a fairer
 * reference for ProcessPool; informational only).
 */
function forkjoin(id, label, Pool) {
  let pool;
  return {
    id, label, group: 'forkjoin', transfer: Pool === ThreadPool,
    // minWorkers keeps both workers alive between repetitions, like the peers'
    // minThreads/minWorkers below (the default idleTimeout would retire them).
    open() { pool = new Pool({ workers: WORKERS, minWorkers: WORKERS }); },
    square: (x) => pool.run(fj.square, [x]),
    spin: (n) => pool.run(fj.spin, [n]),
    probe: (arr, transfer) => (transfer ? pool.run(fj.probe, [arr], { transfer: [arr.buffer] }) : pool.run(fj.probe, [arr])),
    map: (inputs) => pool.map(fj.square, inputs, { chunksize: 'auto' }),
    close: () => pool.close(),
  };
}

function piscina() {
  let pool;
  return {
    id: 'piscina', label: 'piscina', group: 'peer', transfer: true,
    open() { pool = new Piscina({ filename: tasksUrl.href, minThreads: WORKERS, maxThreads: WORKERS }); },
    square: (x) => pool.run(x, { name: 'square' }),
    spin: (n) => pool.run(n, { name: 'spin' }),
    probe: (arr, transfer) => (transfer ? pool.run(arr, { name: 'probe', transferList: [arr.buffer] }) : pool.run(arr, { name: 'probe' })),
    close: () => pool.destroy(),
  };
}

function tinypool(runtime) {
  let pool;
  const threads = runtime === 'worker_threads';
  return {
    id: threads ? 'tinypool' : 'tinypool-process',
    label: threads ? 'tinypool' : 'tinypool (child_process)',
    group: threads ? 'peer' : 'process-peer',
    transfer: threads,
    open() {
      // 'advanced' serialization (structured clone) carries typed arrays, as forkjoin's ProcessPool does.
      const extra = threads ? {} : { serialization: 'advanced' };
      pool = new Tinypool({ filename: tasksUrl.href, minThreads: WORKERS, maxThreads: WORKERS, runtime, ...extra });
    },
    square: (x) => pool.run(x, { name: 'square' }),
    spin: (n) => pool.run(n, { name: 'spin' }),
    probe: (arr, transfer) => (transfer ? pool.run(arr, { name: 'probe', transferList: [arr.buffer] }) : pool.run(arr, { name: 'probe' })),
    close: () => pool.destroy(),
  };
}

function workerpoolAdapter(workerType) {
  let pool;
  const threads = workerType === 'thread';
  return {
    id: threads ? 'workerpool' : 'workerpool-process',
    label: threads ? 'workerpool' : 'workerpool (process)',
    group: threads ? 'peer' : 'process-peer',
    transfer: threads,
    open() {
      const extra = threads ? {} : { forkOpts: { serialization: 'advanced' } };
      pool = workerpool.pool(workerpoolFile, { minWorkers: WORKERS, maxWorkers: WORKERS, workerType, ...extra });
    },
    square: (x) => pool.exec('square', [x]),
    spin: (n) => pool.exec('spin', [n]),
    probe: (arr, transfer) => (transfer ? pool.exec('probe', [arr], { transfer: [arr.buffer] }) : pool.exec('probe', [arr])),
    close: () => pool.terminate(),
  };
}

function poolifier() {
  let pool;
  return {
    id: 'poolifier', label: 'poolifier', group: 'peer', transfer: true,
    open() { pool = new FixedThreadPool(WORKERS, poolifierFile, { errorHandler: (e) => console.error('poolifier worker error:', e) }); },
    square: (x) => pool.execute(x, 'square'),
    spin: (n) => pool.execute(n, 'spin'),
    probe: (arr, transfer) => (transfer ? pool.execute(arr, 'probe', undefined, [arr.buffer]) : pool.execute(arr, 'probe')),
    async close() {
      // poolifier's destroy() never settles if a worker is still starting (it
      // waits for a kill acknowledgement the worker cannot send yet), so wait
      // for the pool to be ready first.
      if (!pool.info.ready) await once(pool.emitter, PoolEvents.ready);
      await pool.destroy();
    },
    /** For the report when destroy() does not settle. */
    state: () => JSON.stringify(pool.info),
  };
}

/** Every pool of the run, forkjoin first. */
export function allAdapters({ processPeers = true } = {}) {
  const list = [
    forkjoin('fj-thread', 'forkjoin ThreadPool', ThreadPool),
    forkjoin('fj-process', 'forkjoin ProcessPool', ProcessPool),
    piscina(),
    tinypool('worker_threads'),
    workerpoolAdapter('thread'),
    poolifier(),
  ];
  if (processPeers) list.push(tinypool('child_process'), workerpoolAdapter('process'));
  return list;
}

/** A fresh adapter by id (for scenario (f), which opens its own pools). */
export function adapterById(id) {
  const found = allAdapters().find((a) => a.id === id);
  if (!found) throw new Error(`no adapter ${id}`);
  return found;
}
