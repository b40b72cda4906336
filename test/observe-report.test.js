// record(executor): what it keeps of a run, and the self-contained HTML report it writes.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Cluster, LocalExecutor, ThreadPool, record } from 'forkjoin';
import { Executors, crash, tasks, tempDir, using } from './fixtures/helpers.js';

const T = { timeout: 120_000 };

for (const E of Executors) {
  test(`${E.name}: record() keeps each call, the workers and the counts until stop(), then stops listening`, T, async (t) => {
    const executor = using(t, E.make());
    const recorder = record(executor);
    await executor.map(tasks.square, [1, 2, 3, 4, 5, 6], { chunksize: 2 });
    await assert.rejects(executor.run(tasks.fail, ['bad']));
    const run = recorder.stop();
    await executor.run(tasks.square, [7]);
    assert.equal(recorder.stop(), run, 'stop() again gives the same record');
    assert.equal(run.executor, E.name);
    assert.deepEqual(run.counts.calls, 4);
    assert.deepEqual(run.counts.inputs, 7);
    assert.deepEqual(run.counts.failed, 1);
    assert.equal(run.tasks.length, 4);
    assert.ok(run.tasks.every((task) => task.start <= task.end && run.workers.some((w) => w.worker === task.worker)));
    assert.deepEqual(run.byTask.map((s) => [s.task, s.calls, s.inputs, s.failed]).sort(), [['fail', 1, 1, 1], ['square', 3, 6, 0]]);
    assert.ok(run.start <= run.end);
    assert.equal(run.stats.done, 6);
    assert.equal(run.stats.failed, 1);
    if (E.isPool) assert.ok(run.counts.workersStarted >= 1 && run.workers.every((w) => w.start !== undefined));
  });
}

test('the HTML report is one self-contained file (no script, nothing fetched) that escapes task names and error messages', T, async (t) => {
  const pool = using(t, Executors[0].make());
  const local = using(t, new LocalExecutor());
  const recorder = record(pool);
  const localRecorder = record(local);
  await pool.map(tasks.square, [1, 2, 3], { chunksize: 1 });
  await assert.rejects(pool.run(tasks.fail, ['<script>alert("message")</script> & <img src=x onerror=alert(1)>']));
  await assert.rejects(pool.run(crash.exit, [2]));
  const hostile = { ['<script>alert("name")</script>']: (x) => x * 2 }['<script>alert("name")</script>'];
  assert.equal(await local.run(hostile, [2]), 4);
  await pool.close();
  const dir = tempDir(t);
  const file = join(dir, 'report.html');
  await recorder.save(file);
  for (const html of [readFileSync(file, 'utf8'), localRecorder.html()]) {
    assert.match(html, /^<!doctype html>/);
    assert.doesNotMatch(html, /<script/i, 'no script element, not even one from a name or a message');
    assert.doesNotMatch(html, /<img/i);
    assert.doesNotMatch(html, /\b(src|href)=["']?(https?:)?\/\//i, 'nothing fetched');
    assert.match(html, /Content-Security-Policy" content="default-src 'none'/);
    assert.match(html, /<svg /);
  }
  const html = readFileSync(file, 'utf8');
  assert.match(html, /&#60;script&#62;alert\(&#34;message&#34;\)&#60;\/script&#62; &#38; &#60;img src=x onerror=alert\(1\)&#62;/, 'the message is there, escaped');
  assert.match(html, /FJ_WORKER_EXITED/);
  assert.match(html, /crashed/);
  assert.match(localRecorder.html(), /&#60;script&#62;alert\(&#34;name&#34;\)&#60;\/script&#62;/, 'the name is there, escaped');
});

test('a run of 100,000 calls gives a report of a few MB: neighbouring calls are merged into at most 20,000 bars', T, async (t) => {
  const local = using(t, new LocalExecutor({ concurrency: 4 }));
  const recorder = record(local);
  const inputs = Array.from({ length: 100_000 }, (_, i) => i);
  await local.map((x) => x + 1, inputs, { chunksize: 1 });
  const run = recorder.stop();
  assert.equal(run.counts.calls, 100_000);
  const html = recorder.html();
  assert.ok(html.length < 10_000_000, `${html.length} characters`);
  assert.ok((html.match(/<rect /g) ?? []).length <= 20_000 + run.workers.length);
  assert.match(html, /100,000 calls drawn as [\d,]+ bars/);
});

test('a run of many short-lived workers draws a lane per slot, not per worker: the report stays small however many workers came and went', T, async (t) => {
  const pool = using(t, new ThreadPool({ workers: 2, maxTasksPerWorker: 1 }));
  const recorder = record(pool);
  await pool.map(tasks.square, Array.from({ length: 120 }, (_, i) => i), { chunksize: 1 });
  await pool.close();
  const run = recorder.stop();
  assert.ok(run.workers.length >= 120, `${run.workers.length} workers`);
  const html = recorder.html();
  const lanes = (html.match(/text-anchor="end">/g) ?? []).length;
  // Lanes are as many as the workers alive at once (2, and a few more while one exits as the next starts).
  assert.ok(lanes >= 1 && lanes <= 8, `${lanes} lanes`);
  assert.match(html, /worker 120\b/, 'each worker is still named (in its tooltip)');
});

test('record() keeps at most maxTasks calls one by one and counts the rest', T, async (t) => {
  const local = using(t, new LocalExecutor());
  const recorder = record(local, { maxTasks: 5 });
  await local.map((x) => x, [1, 2, 3, 4, 5, 6, 7, 8], { chunksize: 1 });
  const run = recorder.stop();
  assert.equal(run.tasks.length, 5);
  assert.equal(run.dropped, 3);
  assert.equal(run.counts.calls, 8);
  assert.match(recorder.html(), /3 more are counted above but not drawn/);
  assert.throws(() => record(local, { maxTasks: -1 }), { code: 'FJ_INVALID_ARG_VALUE' });
  assert.throws(() => record(local, { max: 1 }), { code: 'FJ_INVALID_ARG_TYPE' });
});

test('record() of a Cluster, which emits no events yet, says so', () => {
  assert.throws(() => record(Object.create(Cluster.prototype)), { code: 'FJ_INVALID_ARG_TYPE', message: /Cluster emits no events yet/ });
});
