// Task graphs: delayed() keys, compute() on every executor, failures, cancellation, events, pictures.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  AtomicCounter, Delayed, ErrorCodes, LocalExecutor, MemoryCache, Mutex, ThreadPool, compute, delayed, isDelayed, isForkJoinError, taskModule, toDot, toMermaid,
} from 'forkjoin';
import { Executors, fileAppears, runNode, tempDir, using } from './fixtures/helpers.js';

const T = { timeout: 120_000 };
const tasks = taskModule(new URL('./fixtures/graph/tasks.js', import.meta.url));
const inc = delayed(tasks.inc);
const add = delayed(tasks.add);
const sum = delayed(tasks.sum);
const identity = delayed(tasks.identity);
const fixture = (name) => fileURLToPath(new URL(`./fixtures/graph/${name}`, import.meta.url));
const code = (c) => (err) => {
  assert.equal(err.code, c, `expected ${c}, got ${err.code}: ${err.message}`);
  return true;
};

/** The events of one computation, and the keys that reached a given state. */
function recorder() {
  const events = [];
  const keysOf = (type) => events.filter((e) => e.type === type).map((e) => e.key);
  return { events, keysOf, onEvent: (e) => events.push(e) };
}

describe('delayed keys', () => {
  test('building a node runs nothing and gives a Delayed with a task-named key', () => {
    const node = inc(1);
    assert.ok(node instanceof Delayed);
    assert.ok(isDelayed(node));
    assert.match(node.key, /^inc-[0-9a-v]{24}$/);
    assert.equal(node.task, 'tasks.js#inc');
  });

  test('the same call made twice has the same key; other arguments give another', () => {
    assert.equal(inc(1).key, inc(1).key);
    assert.notEqual(inc(1).key, inc(2).key);
    assert.notEqual(inc(1).key, inc('1').key);
    assert.notEqual(inc(1).key, inc(1n).key);
    assert.notEqual(inc(1).key, delayed(tasks.identity)(1).key);
  });

  test('keys are canonical across object key order, Map and Set insertion order', () => {
    assert.equal(identity({ a: 1, b: [2, 3] }).key, identity({ b: [2, 3], a: 1 }).key);
    assert.equal(identity(new Map([['x', 1], ['y', 2]])).key, identity(new Map([['y', 2], ['x', 1]])).key);
    assert.equal(identity(new Set([1, 2, 3])).key, identity(new Set([3, 1, 2])).key);
    assert.notEqual(identity(new Map([['x', 1]])).key, identity(new Map([['x', 2]])).key);
    assert.notEqual(identity(new Set([1])).key, identity([1]).key);
  });

  test('keys follow the contents of typed arrays, bigints and Dates', () => {
    assert.equal(identity(new Float64Array([1, 2])).key, identity(new Float64Array([1, 2])).key);
    assert.notEqual(identity(new Float64Array([1, 2])).key, identity(new Float64Array([1, 3])).key);
    assert.notEqual(identity(new Float64Array([1, 2])).key, identity(new Float32Array([1, 2])).key);
    assert.equal(identity(2n ** 70n).key, identity(2n ** 70n).key);
    assert.notEqual(identity(2n ** 70n).key, identity(2n ** 71n).key);
    assert.equal(identity(new Date(5)).key, identity(new Date(5)).key);
    assert.notEqual(identity(new Date(5)).key, identity(new Date(6)).key);
  });

  test('the keys of plain data do not change between versions, so existing caches stay valid', () => {
    const keyed = delayed(function keyed(...a) { return a.length; });
    const one = delayed(function one(x) { return x; });
    assert.deepEqual([
      keyed(1, 'x', [1, , undefined, -0], { b: 2, a: [null, 2.5] }),
      keyed(new Uint8Array([1, 2, 3]), Buffer.from([1, 2, 3]), new Float64Array([1.5]), new Map([[1, new Set(['s'])]])),
      keyed(new Date(5), /a+/gi, 10n, Object.assign([1], { p: 2 }), true, null),
      keyed(one(1), [one(2), { x: one(1) }]),
      // A null-prototype object (querystring.parse gives one) and views of part of a buffer (a file read into a pooled Buffer).
      keyed(Object.assign(Object.create(null), { a: 1 }), new Uint8Array(new Uint8Array([9, 1, 2]).buffer, 1), new Float32Array(new ArrayBuffer(16), 4, 2)),
    ].map((node) => node.key), ['keyed-7pn5trvvm9a1qvh5blc3ljde', 'keyed-uq8rn0hav7u76378ut1jke69', 'keyed-bmk4bntmt13h7mjifg78jjkn', 'keyed-fi2p8ckoo2urilp5kapm5umt', 'keyed-d49je7660ddoftsk2n046fg8']);
  });

  test('a class instance or an error counts by identity: two that differ only in what no key sees are two nodes, one passed twice is one', () => {
    class Account {
      #balance;
      constructor(balance) { this.#balance = balance; }
      get balance() { return this.#balance; }
    }
    const account = new Account(1);
    assert.equal(identity(account).key, identity(account).key);
    assert.notEqual(identity(new Account(1)).key, identity(new Account(2)).key);
    const [A, B] = [class Same { constructor() { this.x = 1; } }, class Same { constructor() { this.x = 1; } }];
    assert.notEqual(identity(new A()).key, identity(new B()).key, 'two classes with one name');
    class Tagged extends Map { constructor(tag) { super(); this.tag = tag; } }
    assert.notEqual(identity(new Tagged('a')).key, identity(new Tagged('b')).key, 'a subclass of Map');
    const failure = new Error('failed', { cause: 'disk' });
    assert.equal(identity(failure).key, identity(failure).key);
    assert.notEqual(identity(Object.assign(new Error('x'), { code: 'A' })).key, identity(Object.assign(new Error('x'), { code: 'B' })).key);
    assert.notEqual(identity(Object(Symbol('a'))).key, identity(Object(Symbol('b'))).key);
  });

  test('plain data a task could tell apart has two keys: a RegExp\'s lastIndex, a Map\'s own property; a view is its bytes, wherever it lies in its buffer', () => {
    const part = new Uint8Array(new Uint8Array([9, 1, 2]).buffer, 1);
    assert.equal(identity(part).key, identity(new Uint8Array([1, 2])).key);
    assert.equal(identity(part).key, identity(new Uint8Array(new Uint8Array([7, 7, 7, 1, 2]).buffer, 3)).key);
    assert.notEqual(identity(Object.assign(/a/g, { lastIndex: 3 })).key, identity(/a/g).key);
    assert.notEqual(identity(Object.assign(new Map(), { tag: 'a' })).key, identity(Object.assign(new Map(), { tag: 'b' })).key);
  });

  test('on a LocalExecutor each instance reaches its own node: accounts that differ only in a private field give their own balances', T, async (t) => {
    class Account {
      #balance;
      constructor(balance) { this.#balance = balance; }
      get balance() { return this.#balance; }
    }
    class Tagged extends Map { constructor(tag) { super(); this.tag = tag; } }
    const executor = using(t, new LocalExecutor());
    const balance = delayed((account) => account.balance);
    const tag = delayed((map) => map.tag);
    assert.deepEqual(await compute([balance(new Account(100)), balance(new Account(200)), tag(new Tagged('a')), tag(new Tagged('b'))], { executor }), [100, 200, 'a', 'b']);
    const codeOf = delayed((error) => error.code);
    assert.deepEqual(await compute([codeOf(Object.assign(new Error('x'), { code: 'A' })), codeOf(Object.assign(new Error('x'), { code: 'B' }))], { executor }), ['A', 'B']);
  });

  test('the same symbol passed twice is one node; two symbols with one description are two', () => {
    const symbol = Symbol('s');
    assert.equal(identity(symbol).key, identity(symbol).key);
    assert.equal(identity(Symbol.for('registered')).key, identity(Symbol.for('registered')).key);
    assert.equal(identity(Symbol.iterator).key, identity(Symbol.iterator).key);
    assert.notEqual(identity(symbol).key, identity(Symbol('s')).key);
  });

  test('a node with many inputs is built in linear work: each input is compared with a few others at most, not with every earlier one', () => {
    const leaves = Array.from({ length: 20_000 }, (_, i) => inc(i));
    const variadic = delayed(function count(...xs) { return xs.length; });
    const { indexOf } = Array.prototype;
    let scanned = 0;
    // Counts the items Array.prototype.indexOf may look at while the nodes are built.
    Array.prototype.indexOf = function (...args) {
      scanned += this.length;
      return indexOf.apply(this, args);
    };
    let nodes;
    try {
      nodes = [sum(leaves), variadic(...leaves), sum([...leaves, ...leaves])];
    } finally {
      Array.prototype.indexOf = indexOf;
    }
    assert.deepEqual(nodes.map((node) => node.dependencies.length), [20_000, 20_000, 20_000]);
    assert.equal(nodes[2].dependencies[19_999].key, leaves[19_999].key);
    assert.ok(scanned <= 3 * 16 * 40_000, `indexOf looked at ${scanned} items`);
  });

  test('a lock counts by identity: calls with two mutexes or two counters are two nodes, and computing them runs both', async (t) => {
    const mutex = new Mutex({ name: 'one' });
    assert.equal(identity(mutex).key, identity(mutex).key);
    assert.notEqual(identity(new Mutex()).key, identity(new Mutex()).key);
    assert.notEqual(identity(new AtomicCounter(1)).key, identity(new AtomicCounter(1)).key);
    const pool = using(t, new ThreadPool({ workers: 2 }));
    const nameOf = delayed((m) => m.name);
    assert.deepEqual(await compute([nameOf(new Mutex({ name: 'first' })), nameOf(new Mutex({ name: 'second' }))], { executor: pool }), ['first', 'second']);
    const [c1, c2] = [new AtomicCounter(0), new AtomicCounter(100)];
    const bump = delayed((c) => c.add(1));
    assert.deepEqual(await compute([bump(c1), bump(c2)], { executor: pool }), [1, 101]);
  });

  test('an array\'s own properties besides its items count in its key and reach the task (a RegExp match\'s index)', async (t) => {
    const [far, near] = ['xxb'.match(/b/), 'b'.match(/b/)];
    assert.notEqual(identity(far).key, identity(near).key);
    assert.notEqual(identity(Object.assign([1], { p: 2 })).key, identity([1]).key);
    const pool = using(t, new ThreadPool({ workers: 1 }));
    const where = delayed((m) => m.index);
    assert.deepEqual(await compute([where(far), where(near)], { executor: pool }), [2, 0]);
    const held = [inc(1), 5];
    held.extra = inc(10);
    assert.deepEqual(await compute(delayed((a) => [a[0], a[1], a.extra])(held), { executor: pool }), [2, 5, 11]);
  });

  test('a node among many tiny ones whose argument cannot be sent names its own argument (args[1]), not a place in a batch', T, async (t) => {
    const pool = using(t, new ThreadPool({ workers: 2 }));
    const pick = delayed(function pick(i, extra) { return i; });
    await compute(sum(Array.from({ length: 3000 }, (_, i) => pick(i, 0))), { executor: pool }); // now known as tiny: batched
    const nodes = Array.from({ length: 3000 }, (_, i) => pick(i, i === 1234 ? Symbol('no') : 1));
    await assert.rejects(compute(sum(nodes), { executor: pool }), (err) => {
      assert.equal(err.key, nodes[1234].key);
      assert.equal(err.cause.code, ErrorCodes.ARG_NOT_CLONEABLE);
      assert.equal(err.cause.path, 'args[1]');
      return true;
    });
  });

  test('delayed() of a delayed function is that function; with options it is refused', async (t) => {
    assert.equal(delayed(inc), inc);
    assert.equal(delayed(inc)(1).key, inc(1).key);
    assert.equal(await compute(delayed(inc)(1), { executor: using(t, new LocalExecutor()) }), 2);
    assert.throws(() => delayed(inc, { pure: false }), (err) => err instanceof TypeError && err.code === ErrorCodes.INVALID_ARG_TYPE);
  });

  test('a node\'s key follows its inputs\' keys', () => {
    assert.equal(add(inc(1), inc(2)).key, add(inc(1), inc(2)).key);
    assert.notEqual(add(inc(1), inc(2)).key, add(inc(2), inc(1)).key);
  });

  test('pure: false gives every call a key of its own', () => {
    const random = delayed(tasks.random, { pure: false });
    assert.notEqual(random().key, random().key);
  });

  test('a Delayed inside a Map is refused, naming its place', () => {
    assert.throws(() => identity({ m: new Map([['k', inc(1)]]) }), (err) => {
      assert.equal(err.code, ErrorCodes.INVALID_ARG_TYPE);
      assert.match(err.message, /args\[0\]\.m/);
      return true;
    });
  });

  test('a Delayed put into an argument after the node was built is not one of its inputs', async () => {
    const list = [inc(4)];
    const node = identity(list);
    list.push(inc(6));
    assert.deepEqual(node.dependencies.map((d) => d.key), [inc(4).key]);
    assert.deepEqual(await compute(node, { executor: new LocalExecutor() }), [5]);
  });

  test('the task gets copies of argument arrays and plain objects, exactly: holes, undefined, -0, key order, cycles, sharing', async () => {
    const shared = [1];
    const cycle = { name: 'c' };
    cycle.self = cycle;
    const bytes = new Uint8Array([1, 2]);
    const arg = {
      list: [1, , undefined, -0], // eslint-disable-line no-sparse-arrays
      order: { z: 1, a: 2, m: 3 },
      bare: Object.assign(Object.create(null), { b: 1 }),
      proto: JSON.parse('{"__proto__": 7, "b": 1}'),
      cycle,
      pair: [shared, shared],
      bytes,
    };
    const executor = new LocalExecutor(); // calls the task with the node's own arguments: nothing cloned on the way
    // Without a Delayed inside, the task gets the node's copy; with one, a copy of it with the value filled in.
    for (const [node, lazy] of [[identity(arg), undefined], [identity({ ...arg, lazy: inc(1) }), 2]]) {
      const got = await compute(node, { executor });
      assert.notEqual(got, arg);
      assert.equal(got.lazy, lazy);
      assert.notEqual(got.list, arg.list);
      assert.deepEqual([got.list.length, 1 in got.list, 2 in got.list, got.list[2], Object.is(got.list[3], -0)], [4, false, true, undefined, true]);
      assert.deepEqual(Object.keys(got.order), ['z', 'a', 'm']);
      assert.equal(Object.getPrototypeOf(got.bare), null);
      assert.equal(Object.getPrototypeOf(got.proto), Object.prototype);
      assert.deepEqual(Object.entries(got.proto), [['__proto__', 7], ['b', 1]]);
      assert.ok(got.cycle !== cycle && got.cycle.self === got.cycle);
      assert.ok(got.pair[0] !== shared && got.pair[0] === got.pair[1]);
      assert.equal(got.bytes, bytes, 'a typed array is held as it is, not copied');
    }
  });

  test('dependencies lists the inputs of a node', () => {
    const a = inc(1);
    const b = inc(2);
    assert.deepEqual(add(a, b).dependencies.map((d) => d.key), [a.key, b.key]);
  });
});

for (const E of Executors) {
  describe(`compute on ${E.name}`, () => {
    test('computes the classic inc/add graph', T, async (t) => {
      const executor = using(t, E.make());
      assert.equal(await compute(add(inc(1), inc(2)), { executor }), 5);
    });

    test('computes a list, passing other values through', T, async (t) => {
      const executor = using(t, E.make());
      assert.deepEqual(await compute([inc(1), 'as is', add(inc(1), 10)], { executor }), [2, 'as is', 12]);
    });

    test('a node runs on its arguments as they were when it was built, and caches its value under their key', T, async (t) => {
      const executor = using(t, E.make());
      const cache = new MemoryCache();
      const xs = [1, 2];
      const built = sum(xs);
      xs.push(100);
      assert.equal(built.key, sum([1, 2]).key);
      assert.equal(await compute(built, { executor, cache }), 3);
      assert.equal(await compute(sum([1, 2]), { executor, cache }), 3, 'what the cache holds under the key of sum([1, 2])');
      assert.deepEqual(await compute([built, sum(xs)], { executor }), [3, 103]);
    });

    test('fills in Delayed values nested in arrays and plain objects', T, async (t) => {
      const executor = using(t, E.make());
      const nested = delayed(tasks.sumValues)({ list: [inc(1), inc(2)], one: inc(0), plain: 10 });
      assert.equal(await compute(nested, { executor }), 2 + 3 + 1 + 10);
    });

    test('rejects naming the failing node\'s key and task, with the task\'s own error as cause', T, async (t) => {
      const executor = using(t, E.make());
      const failing = delayed(tasks.fail)('boom');
      await assert.rejects(compute(add(failing, inc(1)), { executor }), (err) => {
        assert.equal(err.code, ErrorCodes.GRAPH_NODE_FAILED);
        assert.equal(err.key, failing.key);
        assert.equal(err.task, 'tasks.js#fail');
        assert.ok(err.message.includes(failing.key));
        assert.equal(err.cause.code, 'E_FIXTURE');
        return true;
      });
    });
  });
}

describe('the graph', () => {
  test('an onEvent or progress listener that throws rejects compute with its error; nothing crashes', T, async (t) => {
    const executor = using(t, new ThreadPool({ workers: 2 }));
    for (const type of ['queued', 'started', 'finished']) {
      const thrown = new Error(`listener bug on ${type}`);
      const onEvent = (e) => { if (e.type === type) throw thrown; };
      await assert.rejects(compute(add(inc(1), inc(2)), { executor, onEvent }), (err) => err === thrown, type);
    }
    const thrown = new Error('progress bug');
    await assert.rejects(compute(add(inc(3), inc(4)), { executor, progress: () => { throw thrown; } }), (err) => err === thrown);
    assert.equal(await compute(add(inc(5), inc(6)), { executor }), 13, 'the executor still works');
  });

  test('compute on an executor with a maxQueue holds nodes back until it has room, instead of failing with FJ_QUEUE_FULL', T, async (t) => {
    const total = (n) => sum(Array.from({ length: n }, (_, i) => inc(i)));
    const pool = using(t, new ThreadPool({ workers: 2, maxQueue: 2 }));
    assert.equal(await compute(total(300), { executor: pool }), 45_150);
    const local = using(t, new LocalExecutor({ concurrency: 1, maxQueue: 0 }));
    // The executor full of other work: the graph waits for it.
    let open;
    const busy = local.run(() => new Promise((resolve) => { open = resolve; }), []);
    let started;
    const first = new Promise((resolve) => { started = resolve; });
    const computing = compute(total(50), { executor: local, onEvent: (e) => { if (e.type === 'started') started(); } });
    await first;
    open('done');
    assert.equal(await busy, 'done');
    assert.equal(await computing, 1275);
  });

  test('an async onEvent listener that rejects rejects compute with its error, for a node run or one read from the cache; nothing crashes', T, async (t) => {
    const executor = using(t, new ThreadPool({ workers: 2 }));
    const thrown = new Error('async listener bug');
    await assert.rejects(compute(add(inc(1), inc(2)), { executor, onEvent: async (e) => { if (e.type === 'started') throw thrown; } }), (err) => err === thrown);
    // On the last node's `finished` too: compute waits for the listener before it resolves.
    await assert.rejects(compute(add(inc(3), inc(4)), { executor, onEvent: async (e) => { if (e.type === 'finished' && e.key.startsWith('add')) throw thrown; } }), (err) => err === thrown);
    const cache = new MemoryCache();
    assert.equal(await compute(add(inc(7), inc(8)), { executor, cache }), 17);
    await assert.rejects(compute(add(inc(7), inc(8)), { executor, cache, onEvent: async () => { throw thrown; } }), (err) => err === thrown);
    assert.equal(await compute(add(inc(5), inc(6)), { executor }), 13, 'the executor still works');
  });

  test('delayed arguments that cannot be read (a throwing getter, a Proxy, too deep) fail at the call with FJ_ARG_NOT_CLONEABLE', () => {
    let deep = [];
    for (let i = 0; i < 20_000; i++) deep = [deep];
    const hostile = new Proxy({}, { get() { throw new Error('trap'); }, ownKeys() { throw new Error('trap'); }, getPrototypeOf() { throw new Error('trap'); } });
    for (const arg of [{ get x() { throw new Error('getter'); } }, hostile, deep]) {
      assert.throws(() => identity(arg), (err) => err.code === 'FJ_ARG_NOT_CLONEABLE' && err instanceof Error);
    }
  });

  test('a getter or a Proxy trap that throws is named by its exact place in the arguments, the thrown error as cause', () => {
    const getter = { get x() { throw new Error('getter'); } };
    const placed = (path, message) => (err) => {
      assert.equal(err.code, ErrorCodes.ARG_NOT_CLONEABLE);
      assert.equal(err.path, path);
      assert.equal(err.cause.message, message);
      assert.ok(err.message.includes(path), err.message);
      return true;
    };
    assert.throws(() => identity({ list: [1, getter] }), placed('args[0].list[1].x', 'getter'));
    assert.throws(() => add(1, { inner: new Proxy({}, { ownKeys() { throw new Error('trap'); } }) }), placed('args[1].inner', 'trap'));
    assert.throws(() => add(new Proxy({}, { getPrototypeOf() { throw new Error('proto'); } }), 1), placed('args[0]', 'proto'));
  });

  test('toDot and toMermaid take a list as compute does: plain values in it draw nothing', () => {
    const node = inc(41);
    assert.equal(toDot([node, 'as is']), toDot([node]));
    assert.equal(toMermaid([node, 7]), toMermaid(node));
    assert.throws(() => toDot('x'), code('FJ_INVALID_ARG_TYPE'));
  });

  test('the same call made twice runs once', T, async (t) => {
    const executor = using(t, new ThreadPool({ workers: 2 }));
    const rec = recorder();
    assert.equal(await compute(add(inc(1), inc(1)), { executor, onEvent: rec.onEvent }), 4);
    assert.equal(rec.keysOf('started').length, 2);
    assert.equal(executor.stats().done, 2);
  });

  test('a node no root needs never runs', T, async (t) => {
    const executor = using(t, new ThreadPool({ workers: 2 }));
    const rec = recorder();
    const unused = inc(100);
    const used = inc(1);
    await compute(add(used, used), { executor, onEvent: rec.onEvent });
    assert.ok(!rec.keysOf('started').includes(unused.key));
    assert.deepEqual(new Set(rec.keysOf('started')), new Set([used.key, add(used, used).key]));
  });

  test('pure: false nodes run once per call', T, async (t) => {
    const executor = using(t, new LocalExecutor());
    const random = delayed(tasks.random, { pure: false });
    const [a, b] = await compute([random(), random()], { executor });
    assert.notEqual(a, b);
  });

  test('nodes that depend on a failed node never run', T, async (t) => {
    const executor = using(t, new ThreadPool({ workers: 2 }));
    const dir = tempDir(t);
    const rec = recorder();
    const after = delayed(tasks.markRan)(join(dir, 'ran'), delayed(tasks.fail)('boom'));
    await assert.rejects(compute(after, { executor, onEvent: rec.onEvent }), code(ErrorCodes.GRAPH_NODE_FAILED));
    await executor.close();
    assert.ok(!rec.keysOf('started').includes(after.key));
    assert.equal(existsSync(join(dir, 'ran')), false);
  });

  test('a failure cancels nodes still running', T, async (t) => {
    const executor = using(t, new ThreadPool({ workers: 2 }));
    const dir = tempDir(t);
    const started = join(dir, 'spinning');
    const spinning = delayed(tasks.markThenSpin)(started);
    const failing = delayed(tasks.failOnceExists)(started);
    await assert.rejects(compute([spinning, failing], { executor }), (err) => {
      assert.equal(err.code, ErrorCodes.GRAPH_NODE_FAILED);
      assert.equal(err.key, failing.key);
      return true;
    });
    // The spinning task ends only when its worker is replaced; close() could not finish otherwise.
    await executor.close();
    assert.equal(executor.stats().workersReplaced, 1);
  });

  test('aborting the signal stops the whole graph', T, async (t) => {
    const executor = using(t, new ThreadPool({ workers: 2 }));
    const dir = tempDir(t);
    const started = join(dir, 'hanging');
    const rec = recorder();
    const controller = new AbortController();
    const hanging = delayed(tasks.markThenHang)(started);
    const later = delayed(tasks.markRan)(join(dir, 'later'), hanging);
    const running = compute(later, { executor, signal: controller.signal, onEvent: rec.onEvent });
    await fileAppears(started);
    controller.abort(new Error('enough'));
    await assert.rejects(running, (err) => {
      assert.equal(err.code, ErrorCodes.ABORTED);
      assert.equal(err.cause.message, 'enough');
      return true;
    });
    await executor.close();
    assert.equal(executor.stats().workersReplaced, 1);
    assert.ok(!rec.keysOf('started').includes(later.key));
  });

  test('an already aborted signal rejects at once', T, async () => {
    await assert.rejects(compute(inc(1), { executor: new LocalExecutor(), signal: AbortSignal.abort() }), code(ErrorCodes.ABORTED));
  });

  test('retries runs a failed node again', T, async (t) => {
    const executor = using(t, new ThreadPool({ workers: 1 }));
    const dir = tempDir(t);
    const flaky = delayed(tasks.flaky)(join(dir, 'attempted'));
    assert.equal(await compute(flaky, { executor, retries: 1 }), 'second attempt');
  });

  test('without retries a failed node fails the graph', T, async (t) => {
    const executor = using(t, new ThreadPool({ workers: 1 }));
    const dir = tempDir(t);
    const flaky = delayed(tasks.flaky)(join(dir, 'attempted'));
    await assert.rejects(compute(flaky, { executor }), (err) => err.code === ErrorCodes.GRAPH_NODE_FAILED && err.cause.code === 'E_FLAKY');
  });

  test('each node is reported queued, started, then finished', T, async (t) => {
    const executor = using(t, new ThreadPool({ workers: 2 }));
    const rec = recorder();
    const root = add(inc(1), inc(2));
    await compute(root, { executor, onEvent: rec.onEvent });
    for (const key of [inc(1).key, inc(2).key, root.key]) {
      assert.deepEqual(rec.events.filter((e) => e.key === key).map((e) => e.type), ['queued', 'started', 'finished']);
    }
    const last = rec.events.at(-1);
    assert.equal(last.key, root.key);
    assert.equal(last.task, 'tasks.js#add');
    assert.equal(typeof last.ms, 'number');
  });

  test('a failed node is reported failed with its error', T, async (t) => {
    const executor = using(t, new ThreadPool({ workers: 1 }));
    const rec = recorder();
    const failing = delayed(tasks.fail)('boom');
    await assert.rejects(compute(failing, { executor, onEvent: rec.onEvent }), code(ErrorCodes.GRAPH_NODE_FAILED));
    const failed = rec.events.find((e) => e.type === 'failed');
    assert.equal(failed.key, failing.key);
    assert.ok(isForkJoinError(failed.error, ErrorCodes.TASK_FAILED));
  });

  test('an async progress listener that rejects after the last node finished rejects compute with its error', T, async (t) => {
    const executor = using(t, new ThreadPool({ workers: 2 }));
    const thrown = new Error('the listener failed after the graph was done');
    const progress = async (p) => {
      if (p.done < p.total) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
      throw thrown;
    };
    await assert.rejects(compute(add(inc(1), inc(2)), { executor, progress }), (err) => err === thrown);
    // One that rejects at once, as the last node finishes.
    await assert.rejects(compute([inc(3), inc(4)], { executor, progress: async (p) => { if (p.done === p.total) throw thrown; } }), (err) => err === thrown);
  });

  test('a progress listener counts every node up to the total', T, async (t) => {
    const executor = using(t, new LocalExecutor());
    const seen = [];
    await compute(add(inc(1), inc(2)), { executor, progress: (p) => seen.push(p) });
    assert.deepEqual([...new Set(seen.map((p) => p.done))], [1, 2, 3]);
    assert.ok(seen.every((p) => p.total === 3 && p.failed === 0));
  });

  test('a node that needs many inputs runs once they all exist', T, async (t) => {
    const executor = using(t, new ThreadPool({ workers: 2 }));
    const leaves = Array.from({ length: 1_000 }, (_, i) => inc(i));
    assert.equal(await compute(sum(leaves), { executor }), (1_000 * 1_001) / 2);
  });

  test('tiny nodes ready together go out in batches: fewer calls than nodes', T, async (t) => {
    const pool = using(t, new ThreadPool({ workers: 2 }));
    // The pool as compute sees it, counting what compute asks of it.
    let calls = 0;
    const executor = new Proxy(pool, {
      get(target, name) {
        const value = Reflect.get(target, name);
        if (typeof value !== 'function') return value;
        return (...args) => {
          if (['run', 'submit', 'map', 'starmap', 'imap'].includes(name)) calls++;
          return value.apply(target, args);
        };
      },
    });
    const leaves = Array.from({ length: 4_000 }, (_, i) => inc(i));
    // Calls batch once all those in flight would end within 200 ms at the measured pace: with 64 in
    // flight, a pace any machine keeps (the default 4,096 needs 20,000 calls a second).
    assert.equal(await compute(sum(leaves), { executor, maxInFlight: 64 }), (4_000 * 4_001) / 2);
    assert.ok(calls < 4_001, `${calls} calls for 4,001 nodes`);
    assert.equal(pool.stats().done, 4_001, 'stats() counts every node run');
  });

  test('a failure inside a batch names the node that failed', T, async (t) => {
    const executor = using(t, new ThreadPool({ workers: 2 }));
    const failAt = delayed(tasks.failAt);
    // The last node is started first (ready nodes go last in, first out): node 0 goes out in a late batch.
    const nodes = Array.from({ length: 4_000 }, (_, i) => failAt(i, 0));
    await assert.rejects(compute(sum(nodes), { executor }), (err) => {
      assert.equal(err.code, ErrorCodes.GRAPH_NODE_FAILED);
      assert.equal(err.key, nodes[0].key);
      assert.equal(err.cause.code, 'E_FIXTURE');
      return true;
    });
    assert.ok(executor.stats().done < 4_000, 'the nodes went out in batches');
  });

  test('a deep chain runs without exhausting the stack', T, async (t) => {
    const executor = using(t, new LocalExecutor());
    let node = inc(0);
    for (let i = 0; i < 20_000; i++) node = inc(node);
    assert.equal(await compute(node, { executor }), 20_001);
  });

  test('maxInFlight bounds the nodes handed to the executor at once', T, async (t) => {
    const executor = using(t, new ThreadPool({ workers: 2 }));
    let inFlight = 0;
    let most = 0;
    const onEvent = (e) => {
      if (e.type === 'started') most = Math.max(most, ++inFlight);
      if (e.type === 'finished') inFlight--;
    };
    const leaves = Array.from({ length: 500 }, (_, i) => inc(i));
    await compute(sum(leaves), { executor, maxInFlight: 7, onEvent });
    assert.equal(most, 7);
  });

  test('options of the wrong type are refused', async () => {
    await assert.rejects(compute(inc(1), { retries: 'x' }), code(ErrorCodes.INVALID_ARG_TYPE));
  });

  test('a progress option of the wrong type is refused with a message that names both kinds it takes', async () => {
    await assert.rejects(compute(inc(1), { executor: new LocalExecutor(), progress: 'x' }), (err) => {
      assert.equal(err.code, ErrorCodes.INVALID_ARG_TYPE);
      assert.match(err.message, /true, false or a listener function/, 'the message is what is under test here');
      return true;
    });
  });
});

describe('the default executor', () => {
  test('compute without an executor runs on a ThreadPool it closes: the process exits by itself', T, async () => {
    const result = await runNode([fixture('default-executor.js')]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout), { value: 5 });
  });
});

describe('memory', () => {
  for (const kind of ['LocalExecutor', 'ThreadPool']) {
    test(`a chain of 10,000 nodes returning 1 MiB each keeps a few MiB alive (${kind})`, { timeout: 300_000 }, async () => {
      const result = await runNode(['--expose-gc', '--no-concurrent-array-buffer-sweeping', fixture('chain-memory.js'), kind, '10000'], { deadlineMs: 280_000 });
      assert.equal(result.code, 0, result.stdout + result.stderr);
      const out = JSON.parse(result.stdout.trim().split('\n').at(-1));
      assert.equal(out.finished, 10_001);
      assert.equal(out.length, 1 << 20);
      assert.equal(out.first, 10_000 & 255);
      // 10 GiB were produced; at most a few results may be alive at once. A ThreadPool's
      // worker gets each 1 MiB input as a copy made here and moved to it, which this process
      // counts until the worker's GC frees it: V8 collects for such memory at the latest past
      // 64 MiB (its external memory soft limit), so that much more may be counted.
      const workerGarbage = kind === 'ThreadPool' ? 64 * 2 ** 20 : 0;
      assert.ok(out.peak - out.base < 16 * 2 ** 20 + workerGarbage, `peak live ArrayBuffers ${(out.peak - out.base) / 2 ** 20} MiB`);
    });
  }
});

describe('pictures', () => {
  const root = add(inc(1), inc(2));

  test('toDot describes every node once and every input edge', () => {
    const dot = toDot(root);
    assert.match(dot, /^digraph forkjoin \{/);
    for (const node of [inc(1), inc(2), root]) assert.equal(dot.split(`"${node.key}" [label=`).length, 2);
    assert.equal(dot.match(/ -> /g).length, 2);
    assert.ok(dot.includes(`"${inc(1).key}" -> "${root.key}"`));
  });

  test('toMermaid describes the same graph as a flowchart', () => {
    const mermaid = toMermaid([root, inc(1)]);
    const lines = mermaid.trim().split('\n');
    assert.equal(lines[0], 'flowchart BT');
    assert.equal(lines.filter((l) => /^\s+n\d+\[/.test(l)).length, 3);
    assert.equal(lines.filter((l) => l.includes('-->')).length, 2);
  });
});
