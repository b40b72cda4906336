// Cluster as an Executor: real redis-server, real engine processes, results and errors across them.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { deserialize } from 'node:v8';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { AtomicCounter, Barrier, Cluster, Job, Latch, Mutex, Semaphore, TaskError, isForkJoinError, taskModule } from 'forkjoin';
import { freePort, needRedis, startEngine, startRedis, stop, tasksUrl } from './fixtures/cluster/harness.js';

const T = { timeout: 60_000 };
const tasks = taskModule(tasksUrl);

describe('Cluster', () => {
  let redis = null;
  let engines = [];
  let cluster = null;

  before(async (t) => {
    if (!needRedis(t)) return;
    redis = await startRedis();
    engines = await Promise.all(['e1', 'e2', 'e3'].map((name) => startEngine(redis.url, { name, workers: 1, allowInline: true })));
    cluster = await Cluster.connect({ redis: redis.url, minEngines: 3 });
  });

  after(async () => {
    await cluster?.close();
    for (const e of engines) await stop(e);
    await redis?.stop();
  });

  const skip = (t) => {
    if (redis === null) t.skip('redis-server is not installed');
    return redis === null;
  };

  test('run resolves to the result of a task module export on an engine', T, async (t) => {
    if (skip(t)) return;
    assert.ok(cluster instanceof Cluster, 'a connected cluster is an instance of Cluster');
    assert.ok(!({} instanceof Cluster));
    assert.equal(await cluster.run(tasks.square, [7]), 49);
    assert.equal(await cluster.run(tasks.add, [2, 3]), 5);
  });

  test('arguments and results cross with structured clone (Map, Date, typed arrays, BigInt)', T, async (t) => {
    if (skip(t)) return;
    const value = { m: new Map([[1, 'a']]), d: new Date(5), big: 10n ** 20n, arr: new Float32Array([1.5]) };
    const back = await cluster.run((v) => v, [value]);
    assert.deepEqual(back, value);
    const bytes = await cluster.run(tasks.bytes, [1000]);
    assert.ok(bytes instanceof Uint8Array);
    assert.equal(bytes.length, 1000);
  });

  test('plain arguments keep their exact values: -0, NaN, holes, lone surrogates, extra array properties', T, async (t) => {
    if (skip(t)) return;
    const echo = (...args) => args;
    const cases = [
      [1, 'two', true, null], [-0], [NaN], [Infinity, -Infinity], ['\ud800', 'a\u0000b'], [2 ** 53, -1.5e-300],
      [[1, , 3]], [Object.assign([1, 2], { note: 'kept' })], [[1, [2, [3]]]], Array.from({ length: 20 }, (_, i) => i),
    ];
    for (const args of cases) assert.deepStrictEqual(await cluster.run(echo, args), args);
    // Each argument is read once, as structured clone reads it.
    let reads = 0;
    const getter = Object.defineProperty([], 0, { get: () => (reads++ === 0 ? 1 : undefined), enumerable: true });
    assert.deepStrictEqual(await cluster.run(echo, getter), [1]);
    // The arguments are taken when run() is called, not when the job is sent.
    const args = [1, 2];
    const pending = cluster.run(echo, args);
    args[0] = 99;
    assert.deepStrictEqual(await pending, [1, 2]);
  });

  test('an argument that cannot be sent rejects with FJ_ARG_NOT_CLONEABLE naming it, and leaves nothing pending', T, async (t) => {
    if (skip(t)) return;
    const echo = (...args) => args;
    const notCloneable = (path) => (err) => err.code === 'FJ_ARG_NOT_CLONEABLE' && err.path === path;
    await assert.rejects(cluster.run(echo, [1, () => 2]), notCloneable('args[1]'));
    await assert.rejects(cluster.run(echo, new Proxy([1], {})), notCloneable('args'));
    // A view over shared memory would arrive as a copy, the task's writes through it lost.
    await assert.rejects(cluster.run(echo, [{ words: new Int32Array(new SharedArrayBuffer(8)) }]), notCloneable('args[0].words'));
    await cluster.onIdle();
    assert.deepStrictEqual(await cluster.run(echo, [3]), [3]);
  });

  test('with chunks of several inputs, an input that cannot be sent fails alone with its index; the others of its chunk run', T, async (t) => {
    if (skip(t)) return;
    const echo = (x) => x;
    const outcomes = await cluster.map(echo, [1, { f: () => 2 }, 3], { chunksize: 3, settle: true });
    assert.deepStrictEqual([outcomes[0], outcomes[2]], [{ status: 'fulfilled', value: 1 }, { status: 'fulfilled', value: 3 }]);
    assert.equal(outcomes[1].reason.code, 'FJ_ARG_NOT_CLONEABLE');
    assert.equal(outcomes[1].reason.path, 'inputs[1].f');
    assert.equal(outcomes[1].reason.index, 1);
  });

  test('a lock in the arguments is refused before sending with FJ_ARG_NOT_CLONEABLE naming its path', T, async (t) => {
    if (skip(t)) return;
    const echo = (...args) => args;
    const notCloneable = (path) => (err) => err.code === 'FJ_ARG_NOT_CLONEABLE' && err.path === path;
    await assert.rejects(cluster.run(echo, [new Mutex()]), notCloneable('args[0]'));
    await assert.rejects(cluster.run(echo, [1, { locks: [new Semaphore(2)] }]), notCloneable('args[1].locks[0]'));
    for (const lock of [new Barrier(2), new Latch(1), new AtomicCounter()]) {
      await assert.rejects(cluster.submit(echo, [lock]), notCloneable('args[0]'));
    }
    await assert.rejects(cluster.map(echo, [1, 2, new Mutex()], { chunksize: 2 }), notCloneable('inputs[2]'));
    await cluster.onIdle();
    assert.deepStrictEqual(await cluster.run(echo, [{ plain: true }]), [{ plain: true }]);
  });

  test('a job an engine cannot read fails with FJ_PROTOCOL at the client it names, instead of being dropped', T, async (t) => {
    if (skip(t)) return;
    // As a client of another forkjoin version might send it: a job without the inputs this engine knows.
    const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
    const queue = new Queue('tasks', { connection, prefix: 'fj:default' });
    t.after(async () => { await queue.close(); connection.disconnect(); });
    await queue.add('square', { c: 'another-client', k: 'module', m: tasksUrl.href, n: 'square', f: 0, t: 0, r: 0, x: [2] }, { jobId: 'another-client-1', removeOnComplete: true });
    const [, element] = await connection.blpopBuffer('fj:default:results:another-client', 30);
    const message = deserialize(element.subarray(4));
    assert.equal(message.id, 'another-client-1');
    assert.match(JSON.stringify(message.fail), /FJ_PROTOCOL/);
  });

  test('an inline function runs on engines started with --allow-inline', T, async (t) => {
    if (skip(t)) return;
    assert.equal(await cluster.run((a, b) => a * b + 1, [6, 7]), 43);
  });

  test('an inline function that reads a variable of its enclosing scope fails with FJ_INLINE_CLOSURE naming it', T, async (t) => {
    if (skip(t)) return;
    const y = 2;
    const closure = (err) => err.code === 'FJ_INLINE_CLOSURE' && /\by\b/.test(err.message);
    await assert.rejects(cluster.run((x) => x * y, [1]), closure);
    await assert.rejects(cluster.map((x) => x * y, [1, 2]), closure);
  });

  test('a task that runs past its timeout fails with FJ_TASK_TIMEOUT once, without running again', T, async (t) => {
    if (skip(t)) return;
    const dir = mkdtempSync(join(tmpdir(), 'fj-test-timeout-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const log = join(dir, 'starts');
    // Each start of the task appends a line; the task then outlives its timeout.
    const slow = async (file) => {
      process.getBuiltinModule('node:fs').appendFileSync(file, 'started\n');
      await new Promise((resolve) => setTimeout(resolve, 60_000));
    };
    await assert.rejects(cluster.run(slow, [log], { timeout: 300 }), (e) => e.code === 'FJ_TASK_TIMEOUT');
    assert.equal(readFileSync(log, 'utf8'), 'started\n', 'retries are for crashed workers and lost engines, not timeouts');
  });

  test('submit returns a Job that resolves to the result', T, async (t) => {
    if (skip(t)) return;
    const job = cluster.submit(tasks.square, [9]);
    assert.ok(job instanceof Job);
    assert.equal(await job, 81);
    assert.equal(job.state, 'fulfilled');
  });

  test('map with chunksize auto returns every result in input order', T, async (t) => {
    if (skip(t)) return;
    const inputs = Array.from({ length: 5000 }, (_, i) => i);
    const out = await cluster.map(tasks.square, inputs);
    assert.equal(out.length, 5000);
    assert.ok(out.every((v, i) => v === i * i));
  });

  test('map with a fixed chunksize, starmap and imap give the same results as locally', T, async (t) => {
    if (skip(t)) return;
    assert.deepEqual(await cluster.map(tasks.square, [1, 2, 3, 4, 5], { chunksize: 2 }), [1, 4, 9, 16, 25]);
    assert.deepEqual(await cluster.starmap(tasks.add, [[1, 2], [3, 4]]), [3, 7]);
    const seen = [];
    for await (const v of cluster.imap(tasks.square, (function* () { for (let i = 0; i < 50; i++) yield i; })())) seen.push(v);
    assert.deepEqual(seen, Array.from({ length: 50 }, (_, i) => i * i));
  });

  test('tasks are spread over several engines', T, async (t) => {
    if (skip(t)) return;
    const pids = await Promise.all(Array.from({ length: 30 }, () => cluster.run(tasks.sleep, [20, null]).then(() => cluster.run(tasks.whoami, []))));
    assert.ok(new Set(pids).size >= 2, `all tasks ran on ${[...new Set(pids)]}`);
  });

  test('a task that throws rejects with a TaskError carrying the remote stack, the engine and its host', T, async (t) => {
    if (skip(t)) return;
    const err = await cluster.run(tasks.fail, ['boom']).then(() => null, (e) => e);
    assert.ok(err instanceof TaskError);
    assert.ok(isForkJoinError(err, 'FJ_TASK_FAILED'));
    assert.equal(err.cause.code, 'E_TASK');
    assert.match(err.stack, /tasks\.js/);
    assert.ok(['e1', 'e2', 'e3'].includes(err.engine));
    assert.equal(typeof err.host, 'string');
  });

  test('map with settle gives one outcome per input, errors tagged with their engine', T, async (t) => {
    if (skip(t)) return;
    const out = await cluster.starmap((x) => { if (x === 2) throw new Error('two'); return x; }, [[1], [2], [3]], { settle: true });
    assert.equal(out[0].status, 'fulfilled');
    assert.equal(out[1].status, 'rejected');
    assert.equal(out[1].reason.code, 'FJ_TASK_FAILED');
    assert.ok(['e1', 'e2', 'e3'].includes(out[1].reason.cause.engine));
    assert.equal(out[2].value, 3);
  });

  test('a missing export keeps its forkjoin code', T, async (t) => {
    if (skip(t)) return;
    const missing = taskModule(tasksUrl).nope;
    await assert.rejects(cluster.run(missing, []), (e) => e.code === 'FJ_TASK_NOT_EXPORTED');
  });

  test('broadcast runs the task once on every live engine, one outcome per engine', T, async (t) => {
    if (skip(t)) return;
    const out = await cluster.broadcast(tasks.whoami, []);
    assert.deepEqual(out.map((o) => o.engine), ['e1', 'e2', 'e3']);
    assert.ok(out.every((o) => o.status === 'fulfilled'));
    assert.deepEqual(out.map((o) => o.value).sort(), engines.map((e) => e.pid).sort());
    const failed = await cluster.broadcast(tasks.fail, ['no']);
    assert.ok(failed.every((o) => o.status === 'rejected' && o.reason.code === 'FJ_TASK_FAILED'));
  });

  test('engines() lists each live engine with host, pid, workers and counters', T, async (t) => {
    if (skip(t)) return;
    const list = await cluster.engines();
    assert.deepEqual(list.map((e) => e.name), ['e1', 'e2', 'e3']);
    for (const e of list) {
      assert.equal(e.workers, 1);
      assert.equal(typeof e.host, 'string');
      assert.equal(typeof e.heartbeat, 'number');
      assert.ok(engines.some((c) => c.pid === e.pid));
    }
    const stats = cluster.stats();
    assert.equal(stats.workers, 3);
    assert.ok(stats.done > 0);
  });

  test('a cancelled job rejects with an AbortError', T, async (t) => {
    if (skip(t)) return;
    const job = cluster.submit(tasks.sleep, [2000, 1]);
    assert.equal(job.cancel(), true);
    await assert.rejects(job, (e) => e.code === 'FJ_ABORTED');
  });

  test('many large results finishing together all arrive whole (result elements are split by size)', T, async (t) => {
    if (skip(t)) return;
    // 24 results of 1.5 MiB: an engine's results of one turn exceed one list element's 4 MiB.
    const results = await Promise.all(Array.from({ length: 24 }, () => cluster.run(tasks.bytes, [1_572_864])));
    for (const r of results) {
      assert.ok(r instanceof Uint8Array);
      assert.equal(r.length, 1_572_864);
      assert.equal(r[r.length - 1], 7);
    }
  });

  test('typed arrays, Buffers and DataViews come back owning exactly their bytes; a SharedArrayBuffer result is FJ_RESULT_NOT_CLONEABLE', T, async (t) => {
    if (skip(t)) return;
    const echo = (x) => x;
    const views = [new Uint8Array([1, 2, 3]), new Float64Array([0.5, -1]), Buffer.from('abc'), new DataView(new ArrayBuffer(4))];
    const mapped = await cluster.map(echo, views, { chunksize: 4 });
    for (const back of [...await Promise.all(views.map((v) => cluster.run(echo, [v]))), ...mapped]) {
      assert.equal(back.byteOffset, 0, back.constructor.name);
      assert.equal(back.buffer.byteLength, back.byteLength, `${back.constructor.name}: its buffer holds only its bytes`);
    }
    assert.ok(mapped[3] instanceof DataView);
    const floats = await cluster.run(echo, [new Float64Array([0.25, 8])]);
    assert.deepEqual([...new Float64Array(floats.buffer)], [0.25, 8]);
    await assert.rejects(cluster.run(() => new SharedArrayBuffer(8), []), (e) => e.code === 'FJ_RESULT_NOT_CLONEABLE');
    await assert.rejects(cluster.run(() => new Float64Array(new SharedArrayBuffer(8)), []), (e) => e.code === 'FJ_RESULT_NOT_CLONEABLE');
  });

  test('jobs aborted in the turn they were submitted never reach an engine', T, async (t) => {
    if (skip(t)) return;
    const doneSoFar = async () => (await cluster.engines()).reduce((sum, e) => sum + e.done, 0);
    // Heartbeats carry the counters, and earlier tests may still be finishing: wait until steady.
    const settled = async () => {
      let last = await doneSoFar();
      for (;;) {
        await new Promise((r) => setTimeout(r, 2_500));
        const now = await doneSoFar();
        if (now === last) return now;
        last = now;
      }
    };
    const before = await settled();
    const warnings = [];
    const onWarning = (w) => warnings.push(w.name);
    process.on('warning', onWarning);
    t.after(() => process.off('warning', onWarning));
    const controller = new AbortController();
    const jobs = Array.from({ length: 1_500 }, (_, i) => cluster.submit(tasks.square, [i], { signal: controller.signal }));
    controller.abort();
    const outcomes = await Promise.allSettled(jobs);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(warnings, [], 'one abort listener serves every call sharing the signal');
    assert.ok(outcomes.every((o) => o.status === 'rejected' && o.reason.code === 'FJ_ABORTED'));
    assert.equal(await cluster.run(tasks.square, [3]), 9);
    // Only the control task ran.
    assert.equal(await settled() - before, 1);
  });

  test('close({ cancelPending: true }) rejects pending calls with FJ_EXECUTOR_CLOSED', T, async (t) => {
    if (skip(t)) return;
    const other = await Cluster.connect({ redis: redis.url });
    const sent = other.submit(tasks.sleep, [500, 'late']);
    await new Promise((resolve) => setImmediate(resolve));
    const job = other.submit(tasks.sleep, [500, 'late']);
    const ran = other.run(tasks.sleep, [500, 'late']);
    const mapped = other.map(tasks.sleep, [500, 500]);
    const outcomes = Promise.allSettled([sent, job, ran, mapped]);
    await other.close({ cancelPending: true });
    assert.deepEqual((await outcomes).map((o) => o.reason?.code), Array(4).fill('FJ_EXECUTOR_CLOSED'));
  });

  test('broadcast and engines on a closed cluster reject with FJ_EXECUTOR_CLOSED', T, async (t) => {
    if (skip(t)) return;
    const other = await Cluster.connect({ redis: redis.url });
    await other.close();
    await assert.rejects(other.broadcast(tasks.whoami, []), (e) => e.code === 'FJ_EXECUTOR_CLOSED');
    await assert.rejects(other.engines(), (e) => e.code === 'FJ_EXECUTOR_CLOSED');
    const ended = await Cluster.connect({ redis: redis.url });
    await ended.terminate();
    await assert.rejects(ended.engines(), (e) => e.code === 'FJ_EXECUTOR_CLOSED');
  });

  test('close waits for pending tasks, and a closed cluster refuses new ones', T, async (t) => {
    if (skip(t)) return;
    const other = await Cluster.connect({ redis: redis.url });
    const pending = other.run(tasks.sleep, [100, 'late']);
    await other.close();
    assert.equal(await pending, 'late');
    await assert.rejects(other.run(tasks.square, [1]), (e) => e.code === 'FJ_EXECUTOR_CLOSED');
    await other.close();
  });
});

describe('Cluster.connect', () => {
  test('a URL that is not redis:// is an invalid value, named without its password', T, async () => {
    for (const url of ['http://user:s3cret-pw@localhost', 'redis://:s3cret-pw@localhost:no-port']) {
      const err = await Cluster.connect({ redis: url }).then(() => null, (e) => e);
      assert.equal(err?.code, 'FJ_INVALID_ARG_VALUE');
      assert.ok(err instanceof RangeError);
      assert.doesNotMatch(err.message, /s3cret-pw/);
    }
    assert.match((await Cluster.connect({ redis: 'http://localhost' }).catch((e) => e)).message, /http:\/\/localhost/);
  });

  test('a cluster name with a bad value is FJ_INVALID_ARG_VALUE; one that is not a string is FJ_INVALID_ARG_TYPE', T, async () => {
    for (const cluster of ['a b', '', 'x/y']) {
      await assert.rejects(Cluster.connect({ redis: 'redis://127.0.0.1:1', cluster }), (e) => e.code === 'FJ_INVALID_ARG_VALUE' && e instanceof RangeError);
    }
    for (const cluster of [5, null, ['a']]) {
      await assert.rejects(Cluster.connect({ redis: 'redis://127.0.0.1:1', cluster }), (e) => e.code === 'FJ_INVALID_ARG_TYPE' && e instanceof TypeError);
    }
  });

  test('a Redis that does not answer fails with FJ_REDIS_UNAVAILABLE within connectTimeout', T, async () => {
    const port = await freePort();
    await assert.rejects(Cluster.connect({ redis: `redis://127.0.0.1:${port}`, connectTimeout: 500 }), (e) => e.code === 'FJ_REDIS_UNAVAILABLE');
  });

  test('a Redis URL naming a database the server does not have fails client and engine at once with FJ_REDIS_UNAVAILABLE; one it has is used', T, async (t) => {
    if (!needRedis(t)) return;
    const redis = await startRedis({ extra: ['--databases', '4'] });
    const started = [];
    t.after(async () => {
      for (const e of started) await stop(e, 'SIGKILL');
      await redis.stop();
    });
    // A connectTimeout far beyond any test's time limit: only the refusal itself can end the wait.
    const err = await Cluster.connect({ redis: `${redis.url}/4`, connectTimeout: 600_000 }).then(async (c) => { await c.close(); return null; }, (e) => e);
    assert.equal(err?.code, 'FJ_REDIS_UNAVAILABLE');
    assert.match(err.message, /database 4/);
    const refused = await startEngine(`${redis.url}/4`, { name: 'no-db' }).then((e) => { started.push(e); return null; }, (e) => e);
    assert.match(String(refused?.message), /FJ_REDIS_UNAVAILABLE/);
    started.push(await startEngine(`${redis.url}/3`, { name: 'db3' }));
    const cluster = await Cluster.connect({ redis: `${redis.url}/3`, minEngines: 1 });
    t.after(() => cluster.close());
    assert.equal(await cluster.run(tasks.square, [7]), 49);
    const db0 = new Redis(redis.url);
    t.after(() => db0.quit());
    assert.deepEqual(await db0.keys('fj:*'), [], 'nothing went to database 0');
  });

  test('new Cluster() is a TypeError with FJ_INVALID_ARG_TYPE that says to use Cluster.connect() or Cluster.local()', () => assert.throws(() => new Cluster(),
    (e) => e instanceof TypeError && isForkJoinError(e, 'FJ_INVALID_ARG_TYPE') && /Cluster\.connect/.test(e.message) && /Cluster\.local/.test(e.message)));

  test('an unknown option is a TypeError with a code', T, async () => {
    await assert.rejects(Cluster.connect({ redis: 'redis://x', nope: 1 }), (e) => e.code === 'FJ_INVALID_ARG_TYPE');
  });

  test('a tls option that is not an object is a TypeError naming it, before any connection', T, async () => {
    for (const tls of [5, 'yes-please', null, [1]]) {
      await assert.rejects(Cluster.connect({ redis: 'redis://127.0.0.1:1', tls }), (e) => e.code === 'FJ_INVALID_ARG_TYPE' && e instanceof TypeError && e.message.includes('"tls"'), String(tls));
    }
  });

  test('Cluster.local refuses an execArgv that is not an array of strings, naming the bad item, before it starts anything', T, async () => {
    for (const [execArgv, says] of [['--inspect', 'received string'], [['--no-warnings', 7], 'execArgv[1] is number 7']]) {
      await assert.rejects(Cluster.local({ engines: 1, execArgv }), (e) => e.code === 'FJ_INVALID_ARG_TYPE' && e instanceof TypeError && e.message.includes(says), String(execArgv));
    }
  });
});
