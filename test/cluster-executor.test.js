// Cluster against the Executor contract the pools keep: cancellation, closing, stats().
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { taskModule } from 'forkjoin';
import { needRedis, startCluster, tasksUrl, until } from './fixtures/cluster/harness.js';
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
});
