// Coordination between threads: primitives crossing to workers as arguments and results, and where they are refused.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  AtomicCounter, ErrorCodes, Mutex, ProcessPool, Semaphore, isForkJoinError,
} from 'forkjoin';
import { hasCode, pool, sync } from './fixtures/sync-setup.js';

test('a primitive passed alone or nested in objects and arrays arrives as a working instance', async (t) => {
  const p = pool(t, { workers: 1 });
  const kinds = await p.run(sync.kinds, [new Semaphore(1), { inside: { mutex: new Mutex() }, list: [new AtomicCounter()] }]);
  assert.deepEqual(kinds, ['Semaphore', 'Mutex', 'AtomicCounter']);
});

test('data of the caller\'s with a key named like a lock\'s record stays data, as a result or an argument, beside real locks', async (t) => {
  const p = pool(t, { workers: 1 });
  const lookalike = { __forkjoinSync: 'Mutex', registry: 1, base: 2 };
  const back = await p.run((mutex, data) => ({ mutex, data, semaphore: { __forkjoinSync: 'Semaphore', buffer: 16 } }), [new Mutex({ name: 'real' }), lookalike]);
  assert.ok(back.mutex instanceof Mutex);
  assert.equal(back.mutex.name, 'real');
  assert.deepEqual(back.data, lookalike);
  assert.deepEqual(back.semaphore, { __forkjoinSync: 'Semaphore', buffer: 16 });
  const arrived = await p.run((latch, mutex) => [Object.getPrototypeOf(latch) === Object.prototype, latch.buffer, typeof mutex.lockSync], [{ __forkjoinSync: 'Latch', buffer: 4 }, new Mutex()]);
  assert.deepEqual(arrived, [true, 4, 'function']);
});

test('locks in a setup\'s arguments arrive working in each worker; a ProcessPool refuses them when made, naming where', async (t) => {
  const counter = new AtomicCounter();
  const p = pool(t, { workers: 2, setup: { task: sync.setupWithLocks, args: [counter, new Mutex({ name: 'setup' })] } });
  await p.run((x) => x, [1]);
  assert.ok(counter.get() >= 1);
  assert.throws(() => new ProcessPool({ setup: { task: sync.setupWithLocks, args: [counter, new Mutex()] } }), (err) => {
    assert.ok(isForkJoinError(err, ErrorCodes.ARG_NOT_CLONEABLE));
    assert.match(err.message, /setup\.args\[0\]/);
    return true;
  });
});

test('an array holding a lock keeps its own properties besides its items, and a lock in such a property arrives working', async (t) => {
  const p = pool(t, { workers: 1 });
  const mutex = new Mutex();
  const holding = [mutex, 2];
  holding.meta = 'kept';
  const inProperty = [1, 2];
  inProperty.lock = mutex;
  const seen = await p.run((a, b) => [a[0].constructor.name, a.meta, typeof b.lock.lockSync, b.length], [holding, inProperty]);
  assert.deepEqual(seen, ['Mutex', 'kept', 'function', 2]);
});

test('a primitive in every one of 50,000 map inputs arrives working, whatever the chunk size', async (t) => {
  const p = pool(t, { workers: 2 });
  const counter = new AtomicCounter();
  const inputs = Array.from({ length: 50_000 }, (_, i) => ({ i, counter }));
  const arrived = await p.map(sync.addThrough, inputs);
  assert.equal(arrived.filter((ok) => ok === true).length, 50_000);
  assert.equal(counter.get(), 50_000);
});

test('a primitive beside 20,000 objects, 200 levels deep, or twice in a cyclic argument arrives working', async (t) => {
  const p = pool(t, { workers: 1 });
  const counter = new AtomicCounter();
  const rows = Array.from({ length: 20_000 }, (_, i) => ({ i }));
  assert.deepEqual(await p.run(sync.kinds, [counter, { inside: { mutex: new Mutex(), rows }, list: [counter] }]), ['AtomicCounter', 'Mutex', 'AtomicCounter']);
  let chain = { counter };
  for (let i = 0; i < 200; i++) chain = { next: chain };
  assert.equal(await p.run(sync.addAtDepth, [chain]), 1);
  const mutex = new Mutex();
  const box = { a: mutex, b: mutex, rows: rows.slice(0, 100) };
  box.self = box;
  assert.deepEqual(await p.run(sync.sameTwice, [box]), { same: true, isMutex: true, cycle: true, rowsAreObjects: true });
  assert.equal(box.a, mutex, "the caller's argument is left as it was");
});

test('a primitive a task returns, made there or received, arrives working in the caller', async (t) => {
  const p = pool(t, { workers: 1 });
  const counter = new AtomicCounter(5);
  const back = await p.run(sync.giveBack, [counter]);
  assert.ok(back.made instanceof Mutex);
  assert.equal(back.made.name, 'made in a worker');
  const held = await back.made.lock();
  held.release();
  assert.ok(back.counter instanceof AtomicCounter);
  assert.equal(back.counter, back.list[0], 'one counter, referred to twice');
  back.counter.add(1);
  assert.equal(counter.get(), 6, 'the same shared memory as the counter passed in');
  const mapped = await p.map(sync.giveBack, [counter, counter], { chunksize: 2 });
  assert.ok(mapped.every((r) => r.counter instanceof AtomicCounter && r.made instanceof Mutex));
});

test('a task can make a lock of its own inside a worker', async (t) => {
  const p = pool(t, { workers: 1 });
  assert.deepEqual(await p.run(sync.makeMutexHere, []), { isMutex: true, busyWhileHeld: true, freeAfter: true });
});

test('a lock inside a Map, a Set or a class instance is refused with FJ_ARG_NOT_CLONEABLE naming its path', async (t) => {
  const p = pool(t, { workers: 1 });
  class Box { constructor(value) { this.value = value; } }
  const mutex = new Mutex();
  const cases = [
    [[new Map([["k", mutex]])], "args[0].get(\"k\")"],
    [[{ list: [new Set([mutex])] }], 'args[0].list[0]<set item 0>'],
    [[1, new Box(new Semaphore(1))], 'args[1].value'],
  ];
  for (const [args, path] of cases) {
    await assert.rejects(p.run(sync.kinds, args), (err) => err.code === 'FJ_ARG_NOT_CLONEABLE' && err.path === path, path);
  }
  await assert.rejects(p.submit(sync.kinds, [new Box(mutex)]), (err) => err.code === 'FJ_ARG_NOT_CLONEABLE' && err.path === 'args[0].value');
  // The same lock also passed where it is rebuilt neither hides the one in the Map nor takes the blame.
  await assert.rejects(p.run(sync.kinds, [new Map([['k', mutex]]), mutex]), (err) => err.code === 'FJ_ARG_NOT_CLONEABLE' && err.path === 'args[0].get("k")');
  await assert.rejects(p.run(sync.kinds, [mutex, new Map([['k', mutex]])]), (err) => err.code === 'FJ_ARG_NOT_CLONEABLE' && err.path === 'args[1].get("k")' && /inside a Map/.test(err.message));
  await assert.rejects(p.map(sync.kinds, [mutex, new Box(mutex)]), (err) => err.code === 'FJ_ARG_NOT_CLONEABLE' && err.path === 'inputs[1].value');
});

test('a ProcessPool refuses primitives, naming the primitive and its path: processes share no memory', async (t) => {
  const p = new ProcessPool({ workers: 1 });
  t.after(() => p.terminate());
  await assert.rejects(p.run(sync.kinds, [new Mutex(), { inside: {}, list: [] }]), hasCode(ErrorCodes.ARG_NOT_CLONEABLE));
  await assert.rejects(p.run(sync.kinds, [1, { x: [1, { c: new AtomicCounter() }] }]), (err) => err.code === 'FJ_ARG_NOT_CLONEABLE' && err.path === 'args[1].x[1].c' && /is an AtomicCounter, which cannot cross between processes/.test(err.message));
  await assert.rejects(p.map(sync.kinds, [1, { m: new Mutex() }]), (err) => err.code === 'FJ_ARG_NOT_CLONEABLE' && err.path === 'inputs[1].m');
  await assert.rejects(p.run(sync.makeMutexAndReturn, []), (err) => err.code === 'FJ_RESULT_NOT_CLONEABLE' && /result\.made is a Mutex/.test(err.message));
});

test('a Proxy is refused with FJ_ARG_NOT_CLONEABLE naming its path, as any Proxy is, even one holding a lock or beside one', async (t) => {
  const p = pool(t, { workers: 1 });
  const mutex = new Mutex();
  const cases = [
    [[new Proxy({ mutex }, {})], 'args[0]'],
    [[1, { inside: new Proxy({ mutex }, {}) }], 'args[1].inside'],
    [[mutex, { list: new Proxy([mutex], {}) }], 'args[1].list'],
    [[mutex, new Proxy({ a: 1 }, {})], 'args[1]'],
  ];
  for (const [args, path] of cases) {
    await assert.rejects(p.run((...got) => got.length, args), (err) => err.code === 'FJ_ARG_NOT_CLONEABLE' && err.path === path, path);
  }
  await assert.rejects(p.map((x) => x, [mutex, new Proxy({ mutex }, {})]), (err) => err.code === 'FJ_ARG_NOT_CLONEABLE' && err.path === 'inputs[1]');
});

test('searching an argument for locks loads nothing per object it meets: the work grows with the objects, not the modules loaded', async (t) => {
  const { default: Module } = await import('node:module');
  const p = pool(t, { workers: 1 });
  new Mutex();
  const argOf = (n) => Array.from({ length: n }, (_, i) => ({ i, inner: { i } }));
  await p.run((arg) => arg.length, [argOf(10)]);
  // What the library loads on demand goes through Module.prototype.require (its require is a createRequire's).
  const real = Module.prototype.require;
  const loadsFor = async (n) => {
    let loads = 0;
    Module.prototype.require = function (id) {
      loads++;
      return real.apply(this, arguments);
    };
    try {
      assert.equal(await p.run((arg) => arg.length, [argOf(n)]), n);
    } finally {
      Module.prototype.require = real;
    }
    return loads;
  };
  assert.equal(await loadsFor(2_000), await loadsFor(10));
});
