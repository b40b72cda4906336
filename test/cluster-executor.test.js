// Cluster against the Executor contract the pools keep: cancellation, closing, stats().
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { taskModule } from 'forkjoin';
import { goGate, needRedis, startCluster, tasksUrl, until } from './fixtures/cluster/harness.js';
import { tempDir } from './fixtures/helpers.js';

const T = { timeout: 120_000 };
const tasks = taskModule(tasksUrl);

test('job.cancel(reason) rejects with FJ_ABORTED caused by the reason, and the job reads cancelled', T, async (t) => {
  if (!needRedis(t)) return;
  const { connect } = await startCluster(t, ['x1']);
  const cluster = await connect();
  const job = cluster.submit(tasks.sleep, [5_000, 1]);
  const why = new Error('why');
  assert.equal(job.cancel(why), true);
  await assert.rejects(job, (e) => e.code === 'FJ_ABORTED' && e.name === 'AbortError' && e.cause === why);
  assert.equal(job.state, 'cancelled');
});

test('a call made after terminate() rejects with FJ_EXECUTOR_TERMINATED, as on the pools', T, async (t) => {
  if (!needRedis(t)) return;
  const { connect } = await startCluster(t, ['x1']);
  const cluster = await connect();
  await cluster.terminate();
  await assert.rejects(cluster.run(tasks.square, [2]), (e) => e.code === 'FJ_EXECUTOR_TERMINATED');
  await assert.rejects(cluster.submit(tasks.square, [2]), (e) => e.code === 'FJ_EXECUTOR_TERMINATED');
  await assert.rejects(cluster.map(tasks.square, [2, 3]), (e) => e.code === 'FJ_EXECUTOR_TERMINATED');
  await assert.rejects((async () => { for await (const x of cluster.imap(tasks.square, [2])) assert.fail(`yielded ${x}`); })(), (e) => e.code === 'FJ_EXECUTOR_TERMINATED');
});

test('stats(): a cancelled call (job.cancel, its signal, close({ cancelPending }), terminate) is neither done nor failed, and its latency is not counted', T, async (t) => {
  if (!needRedis(t)) return;
  const { connect } = await startCluster(t, ['x1']);
  const cluster = await connect();
  const job = cluster.submit(tasks.sleep, [5_000, 1]);
  job.cancel();
  const controller = new AbortController();
  const aborted = cluster.run(tasks.sleep, [5_000, 1], { signal: controller.signal });
  controller.abort();
  const outcomes = await Promise.allSettled([job, aborted]);
  assert.deepEqual(outcomes.map((o) => o.reason?.code), ['FJ_ABORTED', 'FJ_ABORTED']);
  const closing = await connect();
  const closed = assert.rejects(closing.run(tasks.sleep, [5_000, 1]), (e) => e.code === 'FJ_EXECUTOR_CLOSED');
  await closing.close({ cancelPending: true });
  await closed;
  const ending = await connect();
  const ended = assert.rejects(ending.run(tasks.sleep, [5_000, 1]), (e) => e.code === 'FJ_EXECUTOR_TERMINATED');
  await ending.terminate();
  await ended;
  for (const each of [cluster, closing, ending]) {
    const stats = each.stats();
    assert.deepEqual([stats.done, stats.failed, stats.latency.max], [0, 0, 0]);
  }
});

test('stats(): map inputs that fail with a forkjoin error or a timeout, and calls whose argument cannot be sent, each count as failed', T, async (t) => {
  if (!needRedis(t)) return;
  const { connect } = await startCluster(t, ['x1']);
  const cluster = await connect();
  const missing = await cluster.map(tasks.nope, [1, 2, 3], { settle: true });
  assert.deepEqual(missing.map((o) => o.reason?.code), Array(3).fill('FJ_TASK_NOT_EXPORTED'));
  assert.equal(cluster.stats().failed, 3);
  const late = await cluster.starmap(tasks.sleep, [[5_000, 1], [5_000, 2], [5_000, 3], [5_000, 4]], { timeout: 50, settle: true });
  assert.deepEqual(late.map((o) => o.reason?.code), Array(4).fill('FJ_TASK_TIMEOUT'));
  assert.equal(cluster.stats().failed, 7);
  await assert.rejects(cluster.run(tasks.square, [() => 1]), (e) => e.code === 'FJ_ARG_NOT_CLONEABLE');
  assert.equal(cluster.stats().failed, 8);
  const unsent = await cluster.map(tasks.square, [2, () => 1], { settle: true });
  assert.deepEqual(unsent.map((o) => o.status), ['fulfilled', 'rejected']);
  assert.deepEqual([cluster.stats().done, cluster.stats().failed], [1, 9]);
  assert.equal(await cluster.run(tasks.square, [3]), 9);
  assert.deepEqual([cluster.stats().done, cluster.stats().failed], [2, 9]);
});

test('an input an engine held but had not begun when its imap was left never starts; the one running finishes', T, async (t) => {
  if (!needRedis(t)) return;
  // One engine of one worker: it runs one input and holds the next in its pool's queue.
  const { connect } = await startCluster(t, ['x1']);
  const cluster = await connect();
  const dir = tempDir(t);
  const starts = () => (existsSync(join(dir, 'starts')) ? readFileSync(join(dir, 'starts'), 'utf8').split('\n').filter(Boolean) : []);
  const busy = async () => (await cluster.engines())[0].busy;
  const inputs = [{ dir, label: 'A', hold: false }, { dir, label: 'B', hold: true }, { dir, label: 'C', hold: false }];
  for await (const label of cluster.imap(tasks.logThenHold, inputs, { chunksize: 1, ordered: false })) {
    assert.equal(label, 'A');
    await until(() => starts().includes('B'), 30_000, 'B to start');
    await until(async () => (await busy()) === 2, 30_000, 'the engine to hold C behind B');
    break;
  }
  await until(async () => (await busy()) < 2, 20_000, 'the engine to drop C');
  writeFileSync(join(dir, 'go'), '');
  // Had the engine kept C, C would start before D; had it stopped B, B would not have ended.
  assert.equal(await cluster.run(tasks.logThenHold, [{ dir, label: 'D', hold: false }]), 'D');
  assert.deepEqual(starts(), ['A', 'B', 'D']);
  assert.ok(existsSync(join(dir, 'ended-B')), 'B ran to its end');
});

test('close({ cancelPending }) rejects a call an engine runs with FJ_EXECUTOR_CLOSED, and the engine stops it: it serves the next call', T, async (t) => {
  if (!needRedis(t)) return;
  const { engines, connect } = await startCluster(t, ['x1']);
  const closing = await connect();
  const gate = goGate(t);
  const held = assert.rejects(closing.run(tasks.markThenHold, [gate.dir]), (e) => e.code === 'FJ_EXECUTOR_CLOSED');
  await gate.started(engines[0].pid, 'the task to start');
  await closing.close({ cancelPending: true });
  await held;
  // One engine of one worker, and the gate never opens: the next call runs only once the held task was stopped.
  const next = await connect();
  assert.equal(await next.run(tasks.square, [7]), 49);
});

test('stats().workersReplaced sums the pool workers the engines replaced (here after a timeout)', T, async (t) => {
  if (!needRedis(t)) return;
  const { connect } = await startCluster(t, ['x1']);
  const cluster = await connect();
  assert.equal(cluster.stats().workersReplaced, 0);
  await assert.rejects(cluster.run(tasks.spin, [5_000], { timeout: 50 }), (e) => e.code === 'FJ_TASK_TIMEOUT');
  await until(() => cluster.stats().workersReplaced === 1, 20_000, 'the engine to report its replaced worker');
  assert.equal((await cluster.engines())[0].replaced, 1);
});
