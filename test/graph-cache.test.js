// compute() with a cache: what is cached is skipped, from the roots down; a changed task re-runs
// exactly the nodes that use it and the nodes downstream of them.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DiskCache, ErrorCodes, LocalExecutor, MemoryCache, ThreadPool, compute, delayed, taskModule } from 'forkjoin';
import { runNode, tempDir, using } from './fixtures/helpers.js';

const T = { timeout: 120_000 };
const tasks = taskModule(new URL('./fixtures/graph/tasks.js', import.meta.url));
const inc = delayed(tasks.inc);
const add = delayed(tasks.add);

const Caches = [
  { name: 'MemoryCache', make: () => new MemoryCache() },
  { name: 'DiskCache', make: (t) => new DiskCache(tempDir(t)) },
];

/** A tree of `leaves` inc nodes summed pairwise by add. */
function tree(leaves) {
  let level = Array.from({ length: leaves }, (_, i) => inc(i));
  while (level.length > 1) {
    const next = [];
    for (let i = 0; i < level.length; i += 2) next.push(add(level[i], level[i + 1]));
    level = next;
  }
  return level[0];
}

function recorder() {
  const events = [];
  return { events, onEvent: (e) => events.push(e), keys: (type) => new Set(events.filter((e) => e.type === type).map((e) => e.key)) };
}

/** A cache that records the keys looked up in it. */
function spying(cache) {
  const looked = [];
  return {
    looked,
    get: (key) => {
      looked.push(key);
      return cache.get(key);
    },
    set: (key, value) => cache.set(key, value),
    delete: (key) => cache.delete(key),
    clear: () => cache.clear(),
  };
}

for (const C of Caches) {
  describe(`compute with a ${C.name}`, () => {
    test('the same graph run twice executes no task the second time', T, async (t) => {
      const cache = C.make(t);
      const first = using(t, new ThreadPool({ workers: 2 }));
      assert.equal(await compute(tree(64), { executor: first, cache }), (64 * 65) / 2);
      assert.equal(first.stats().done, 127);
      const second = using(t, new ThreadPool({ workers: 2 }));
      assert.equal(await compute(tree(64), { executor: second, cache }), (64 * 65) / 2);
      assert.equal(second.stats().done, 0);
    });

    test('a cached root is the only lookup: the graph below it is never read, loaded or run', T, async (t) => {
      const cache = spying(C.make(t));
      const executor = using(t, new LocalExecutor());
      await compute(tree(32), { executor, cache });
      cache.looked.length = 0;
      const rec = recorder();
      await compute(tree(32), { executor, cache, onEvent: rec.onEvent });
      assert.equal(cache.looked.length, 1);
      assert.deepEqual(rec.events.map((e) => [e.type, e.key]), [['cached', tree(32).key]]);
    });
  });
}

describe('cache keys', () => {
  /** Writes a task module exporting `name` with `body`, in `dir`. */
  const writeTask = (dir, name, params, body) => {
    const file = join(dir, `${name}.js`);
    writeFileSync(file, `export function ${name}(${params}) {\n  ${body}\n}\n`);
    return taskModule(pathToFileURL(file))[name];
  };

  test('changing one task\'s code re-runs exactly the nodes that use it and those downstream', T, async (t) => {
    const dir = tempDir(t);
    const cache = new DiskCache(tempDir(t));
    const leaf = delayed(writeTask(dir, 'leaf', 'x', 'return x * 10;'));
    const combine = delayed(writeTask(dir, 'combine', 'a, b', 'return a + b;'));
    const finish = delayed(writeTask(dir, 'finish', 'x', 'return `total ${x}`;'));
    const other = delayed(writeTask(dir, 'other', 'x', 'return -x;'));
    const graph = () => {
      const a = leaf(1);
      const b = leaf(2);
      const c = combine(a, b);
      return { a, b, c, d: other(a), e: finish(c) };
    };
    const g = graph();
    const firstPool = using(t, new ThreadPool({ workers: 2 }));
    assert.deepEqual(await compute([g.e, g.d], { executor: firstPool, cache }), ['total 30', -10]);

    writeTask(dir, 'combine', 'a, b', 'return a * b; // changed');
    const rec = recorder();
    const secondPool = using(t, new ThreadPool({ workers: 2 }));
    const again = graph();
    assert.deepEqual(await compute([again.e, again.d], { executor: secondPool, cache, onEvent: rec.onEvent }), ['total 200', -10]);
    assert.deepEqual(rec.keys('started'), new Set([g.c.key, g.e.key]));
    assert.deepEqual(rec.keys('cached'), new Set([g.a.key, g.b.key, g.d.key]));
  });

  test('a task module edited while a pool holds it: graphs run the new code, and the cache keeps its result under its key', T, async (t) => {
    const file = join(tempDir(t), 'edited.js');
    const cacheDir = tempDir(t);
    writeFileSync(file, 'export function f(x) { return x + 1; }\n');
    const f = delayed(taskModule(pathToFileURL(file)).f);
    const pool = using(t, new ThreadPool({ workers: 1 }));
    assert.equal(await compute(f(1), { executor: pool, cache: new DiskCache(cacheDir) }), 2);
    writeFileSync(file, 'export function f(x) { return x + 100; }\n');
    assert.equal(await compute(f(1), { executor: pool, cache: new DiskCache(cacheDir) }), 101, 'the pool imported the first version');
    assert.equal(await compute(f(2), { executor: pool }), 102, 'without a cache too');
    const rec = recorder();
    assert.equal(await compute(f(1), { executor: using(t, new LocalExecutor()), cache: new DiskCache(cacheDir), onEvent: rec.onEvent }), 101);
    assert.deepEqual(rec.keys('cached'), new Set([f(1).key]), 'the cache holds the new code\'s result under the new code\'s key');
    writeFileSync(file, 'export function f(x) { return x + 1; }\n');
    assert.equal(await compute(f(5), { executor: pool, cache: new DiskCache(cacheDir) }), 6, 'the first version again');
  });

  test('a module a pool imported before any graph read it, then edited: graphs run the new code', T, async (t) => {
    const file = join(tempDir(t), 'early.js');
    writeFileSync(file, 'export function f(x) { return x + 1; }\n');
    const tasksOf = taskModule(pathToFileURL(file));
    const pool = using(t, new ThreadPool({ workers: 1 }));
    assert.equal(await pool.run(tasksOf.f, [1]), 2, 'the worker imports the first version');
    writeFileSync(file, 'export function f(x) { return x + 100; }\n');
    assert.equal(await compute(delayed(tasksOf.f)(1), { executor: pool, cache: new MemoryCache() }), 101);
  });

  test('a module never edited runs graph nodes in the module instance its pool\'s setup prepared', T, async (t) => {
    const file = join(tempDir(t), 'stateful.js');
    writeFileSync(file, 'let state = "not set up";\nexport function init(v) { state = v; }\nexport function read(x) { return `${state} ${x}`; }\n');
    const tasksOf = taskModule(pathToFileURL(file));
    const pool = using(t, new ThreadPool({ workers: 1, setup: { task: tasksOf.init, args: ['set up'] } }));
    const read = delayed(tasksOf.read);
    assert.equal(await compute(read(1), { executor: pool, cache: new DiskCache(tempDir(t)) }), 'set up 1');
    assert.equal(await compute(read(2), { executor: pool }), 'set up 2');
    assert.equal(await pool.run(tasksOf.read, [3]), 'set up 3');
  });

  test('a TypeScript task module run under tsx is keyed by its .ts source, so its nodes are cached', T, async (t) => {
    const script = fileURLToPath(new URL('./fixtures/graph/ts-cache.ts', import.meta.url));
    const result = await runNode(['--import', 'tsx', script, tempDir(t)], { cwd: fileURLToPath(new URL('..', import.meta.url)) });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout.trim().split('\n').at(-1)), { ran: [2, 0] });
  });

  test('an inline function\'s source is part of the key', T, async (t) => {
    const cache = new MemoryCache();
    const executor = using(t, new LocalExecutor());
    const v1 = delayed(function scale(x) { return x * 2; });
    const v2 = delayed(function scale(x) { return x * 3; });
    assert.equal(await compute(v1(5), { executor, cache }), 10);
    assert.equal(await compute(v2(5), { executor, cache }), 15);
  });

  test('impure nodes, and what is computed from them, run again', T, async (t) => {
    const cache = new MemoryCache();
    const executor = using(t, new LocalExecutor());
    const random = delayed(tasks.random, { pure: false });
    const r = random();
    const fromIt = delayed(tasks.identity)(r);
    const rec = recorder();
    await compute(fromIt, { executor, cache });
    await compute(fromIt, { executor, cache, onEvent: rec.onEvent });
    assert.deepEqual(rec.keys('started'), new Set([r.key, fromIt.key]));
  });

  test('a damaged entry is recomputed, never returned', T, async (t) => {
    const dir = tempDir(t);
    const executor = using(t, new LocalExecutor());
    const root = add(inc(1), inc(2));
    await compute(root, { executor, cache: new DiskCache(dir) });
    for (const sub of readdirSync(join(dir, 'v1'))) {
      for (const name of readdirSync(join(dir, 'v1', sub))) {
        const file = join(dir, 'v1', sub, name);
        const bytes = readFileSync(file);
        bytes[bytes.length - 1] ^= 0xff;
        writeFileSync(file, bytes);
      }
    }
    const warned = new Promise((resolve) => process.once('warning', resolve));
    const rec = recorder();
    assert.equal(await compute(root, { executor, cache: new DiskCache(dir), onEvent: rec.onEvent }), 5);
    assert.equal((await warned).code, ErrorCodes.CACHE_CORRUPT);
    assert.deepEqual(rec.keys('started'), new Set([root.key, inc(1).key, inc(2).key]));
  });

  test('a result that cannot be stored is still returned, with a warning', T, async (t) => {
    const executor = using(t, new LocalExecutor());
    const warned = new Promise((resolve) => process.once('warning', resolve));
    const makeFn = delayed(function makeFn() {
      return { fn() { return 1; } };
    });
    const value = await compute(makeFn(), { executor, cache: new MemoryCache() });
    assert.equal(value.fn(), 1);
    assert.equal((await warned).code, ErrorCodes.CACHE_WRITE_FAILED);
  });
});

describe('values a cache cannot hold', () => {
  class Account {
    #balance;
    constructor(balance) { this.#balance = balance; }
    get balance() { return this.#balance; }
  }

  test('a node whose argument is a class instance is not cached, nor what is computed from it: another account is never served the first\'s result', T, async (t) => {
    const executor = using(t, new LocalExecutor());
    const cache = new MemoryCache();
    const balance = delayed((account) => account.balance);
    const doubled = delayed((x) => 2 * x);
    assert.equal(await compute(doubled(balance(new Account(1))), { executor, cache }), 2);
    assert.equal(await compute(doubled(balance(new Account(2))), { executor, cache }), 4);
    assert.equal(await compute(balance(new Account(3)), { executor, cache: new DiskCache(tempDir(t)) }), 3);
    assert.equal(cache.stats().entries, 0);
  });

  test('on a LocalExecutor a class instance result is not stored: each run gets an instance, with a warning, and what is computed from it is cached', T, async (t) => {
    class Point {
      constructor(x) { this.x = x; }
      norm() { return Math.abs(this.x); }
    }
    const executor = using(t, new LocalExecutor());
    const cache = new MemoryCache();
    const point = delayed((x) => new Point(x));
    const norm = delayed((p) => p.norm());
    const warnings = [];
    const listener = (w) => warnings.push(w);
    process.on('warning', listener);
    t.after(() => process.off('warning', listener));
    const [first, n] = await compute([point(-3), norm(point(-3))], { executor, cache });
    assert.ok(first instanceof Point);
    assert.equal(n, 3);
    const rec = recorder();
    const [again, m] = await compute([point(-3), norm(point(-3))], { executor, cache, onEvent: rec.onEvent });
    assert.ok(again instanceof Point, 'not a plain object from the cache');
    assert.equal(again.norm(), 3);
    assert.equal(m, 3);
    assert.deepEqual(rec.keys('cached'), new Set([norm(point(-3)).key]));
    await new Promise((resolve) => setImmediate(resolve));
    const told = warnings.filter((w) => w.code === ErrorCodes.CACHE_WRITE_FAILED);
    assert.equal(told.length, 2, 'once per compute');
    assert.match(told[0].message, /Point/);
  });
});

test('a cache of one\'s own whose set() stores at once and returns no promise (a Map) works with compute', T, async (t) => {
  const executor = using(t, new LocalExecutor());
  const store = new Map();
  const cache = { get: (key) => (store.has(key) ? { value: store.get(key) } : undefined), set: (key, value) => { store.set(key, value); }, delete: (key) => store.delete(key), clear: () => store.clear() };
  const node = delayed(tasks.inc)(delayed(tasks.inc)(1));
  assert.equal(await compute(node, { executor, cache }), 3);
  assert.equal(store.size, 2);
  assert.equal(await compute(node, { executor, cache: new Map() }), 3);
});

test('an aborted signal settles compute() while cache lookups it waits for never answer', T, async (t) => {
  const executor = using(t, new LocalExecutor());
  const stuck = { get: () => new Promise(() => {}), set: async () => {}, delete: async () => false, clear: async () => {} };
  const controller = new AbortController();
  const computing = compute(delayed(tasks.inc)(1), { executor, cache: stuck, signal: controller.signal });
  setImmediate(() => controller.abort(new Error('enough')));
  await assert.rejects(computing, (err) => err.code === ErrorCodes.ABORTED);
});
